package kernel

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// fsContext is the process's view of the file system: its working directory, held open.
// Its path is never remembered: it is asked of the host each time (dir, getcwd), so that
// renames of the directory or of its parents show, as Linux's d_path shows them.
type fsContext struct {
	cwdFd int
}

// newFSContext starts in dir, or in vemu's own working directory when dir is "".
func newFSContext(dir string) (*fsContext, error) {
	open := dir
	if open == "" {
		open = "."
	}
	fd, err := unix.Open(open, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open working directory: %w", err)
	}
	return &fsContext{cwdFd: fd}, nil
}

func (c *fsContext) close() { unix.Close(c.cwdFd) }

// chdirFd makes the open directory fd (which it takes) the working directory.
func (c *fsContext) chdirFd(fd int) {
	unix.Close(c.cwdFd)
	c.cwdFd = fd
}

// dir is the working directory's host path now, as /proc/PID/cwd shows it (with
// " (deleted)" once it is removed).
func (c *fsContext) dir() string { return hostFdPath(c.cwdFd) }

// getcwd is the working directory's path as getcwd(2) gives it: the host's d_path of the
// directory held open, ENOENT once the directory is removed, ENAMETOOLONG when the path
// does not fit a page.
func (c *fsContext) getcwd() (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(c.cwdFd, &st); err != nil {
		return "", err
	}
	if st.Nlink == 0 {
		return "", unix.ENOENT
	}
	buf := make([]byte, pathMax)
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(c.cwdFd), buf)
	if err != nil {
		return "", err // ENAMETOOLONG: the host's d_path did not fit its page
	}
	if n >= len(buf) {
		return "", unix.ENAMETOOLONG
	}
	return string(buf[:n]), nil
}

// hostFdPath names what a host fd refers to, as the host's /proc does.
func hostFdPath(fd int) string {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(fd), buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// resolve turns a guest (dirfd, path) into a host (dirfd, path) for the *at calls. The
// guest's own /proc entries, and the /dev links into them, become the files behind them.
func (t *Task) resolve(dirfd int32, p string) (int, string, error) {
	p = devFd(p)
	if dirfd != abi.AT_FDCWD && !path.IsAbs(p) {
		// Relative to the guest's /proc/self/fd: its own descriptors.
		if f, err := t.p.files.get(dirfd); err == nil {
			if _, ok := f.ops.(*procFdDir); ok {
				p = "/proc/self/fd/" + p
			}
		}
	}
	if name, ok := t.procEntry(p); ok {
		switch {
		case path.Clean("/"+name) == "/fd":
			// The directory itself: its listing is the guest's (procFdDir), and the
			// host directory behind it is one that leads nowhere of vemu's.
			return unix.AT_FDCWD, "/", nil
		case name == "exe":
			return unix.AT_FDCWD, t.p.exe, nil
		case name == "cwd":
			return unix.AT_FDCWD, t.p.fs.dir(), nil
		case strings.HasPrefix(name, "fd/"):
			n, err := strconv.Atoi(name[3:])
			if err != nil {
				return 0, "", unix.ENOENT
			}
			f, err := t.p.files.get(int32(n))
			if err != nil {
				return 0, "", unix.ENOENT
			}
			return unix.AT_FDCWD, "/proc/self/fd/" + strconv.Itoa(f.fd), nil
		}
	}
	if path.IsAbs(p) {
		if vemuProcPath(p) {
			return 0, "", unix.ENOENT // vemu's own /proc entries (procguard.go)
		}
		return unix.AT_FDCWD, p, nil
	}
	if dirfd == abi.AT_FDCWD {
		return t.p.fs.cwdFd, p, nil
	}
	f, err := t.p.files.get(dirfd)
	if err != nil {
		return 0, "", err
	}
	return f.fd, p, nil
}

func (c *fsContext) fork() *fsContext {
	fd, err := unix.FcntlInt(uintptr(c.cwdFd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		fd, _ = unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	return &fsContext{cwdFd: fd}
}
