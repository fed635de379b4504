package kernel

import (
	"encoding/binary"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// File is an open file description: a host file descriptor shared by the guest fds that
// dup it.
type File struct {
	fd    int
	refs  int
	path  string
	flags uint32       // guest open flags, for F_GETFL of synthetic files
	vtfd  *virtTimerfd // a timerfd on the virtual clock; fd is its host eventfd

	blockKind uint8 // whether I/O may wait (see mayBlock), found on first use

	// fdDir is set for the guest's /proc/self/fd opened as a directory: listing it lists
	// that process's descriptors, not vemu's; dirPos is the listing's position.
	fdDir  *Process
	dirPos int64

	sigfd *signalFD // a signalfd; fd is its host eventfd
}

type fdEntry struct {
	f       *File
	cloexec bool
}

// FDTable maps guest file descriptors to open files.
type FDTable struct {
	fds []fdEntry
}

// maxFDs is the guest's RLIMIT_NOFILE ceiling.
const maxFDs = 1 << 16

// newFDTable gives the guest fds 0, 1 and 2, and those cfg.Inherit names, as duplicates
// of the host's, so the guest closing them never closes vemu's own.
func newFDTable(cfg Config) (*FDTable, error) {
	ft := &FDTable{}
	for i, f := range []*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr} {
		hfd := i
		if f != nil {
			hfd = int(f.Fd())
		}
		nfd, err := unix.FcntlInt(uintptr(hfd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			// A closed host stdio stays closed for the guest too.
			ft.fds = append(ft.fds, fdEntry{})
			continue
		}
		ft.fds = append(ft.fds, fdEntry{f: &File{fd: nfd, refs: 1, path: fmt.Sprintf("/dev/fd/%d", i)}})
	}
	for _, hfd := range cfg.Inherit {
		nfd, err := unix.FcntlInt(uintptr(hfd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			continue
		}
		if err := ft.installAt(hfd, &File{fd: nfd, refs: 1, path: hostFdPath(nfd)}, false); err != nil {
			unix.Close(nfd)
		}
	}
	return ft, nil
}

func (ft *FDTable) get(fd int32) (*File, error) {
	if fd < 0 || int(fd) >= len(ft.fds) || ft.fds[fd].f == nil {
		return nil, unix.EBADF
	}
	return ft.fds[fd].f, nil
}

// install puts f at the lowest free fd >= min.
func (ft *FDTable) install(f *File, cloexec bool, min int) (int, error) {
	for i := min; i < len(ft.fds); i++ {
		if ft.fds[i].f == nil {
			ft.fds[i] = fdEntry{f, cloexec}
			return i, nil
		}
	}
	n := max(len(ft.fds), min)
	if n >= maxFDs {
		return 0, unix.EMFILE
	}
	for len(ft.fds) <= n {
		ft.fds = append(ft.fds, fdEntry{})
	}
	ft.fds[n] = fdEntry{f, cloexec}
	return n, nil
}

// installAt puts f at fd, closing what was there (dup2).
func (ft *FDTable) installAt(fd int, f *File, cloexec bool) error {
	if fd < 0 || fd >= maxFDs {
		return unix.EBADF
	}
	for len(ft.fds) <= fd {
		ft.fds = append(ft.fds, fdEntry{})
	}
	old := ft.fds[fd].f
	f.refs++
	ft.fds[fd] = fdEntry{f, cloexec}
	if old != nil {
		old.release()
	}
	return nil
}

func (ft *FDTable) close(fd int32) error {
	f, err := ft.get(fd)
	if err != nil {
		return err
	}
	ft.fds[fd] = fdEntry{}
	return f.release()
}

func (ft *FDTable) closeAll() {
	for i := range ft.fds {
		if ft.fds[i].f != nil {
			ft.fds[i].f.release()
			ft.fds[i] = fdEntry{}
		}
	}
}

func (f *File) release() error {
	f.refs--
	if f.refs == 0 {
		if f.vtfd != nil {
			f.vtfd.release()
		}
		if f.sigfd != nil {
			f.sigfd.closed = true
		}
		return unix.Close(f.fd)
	}
	return nil
}

// fsContext is the process's view of the file system: its working directory, held open.
type fsContext struct {
	cwdFd int
	cwd   string
}

func newFSContext() (*fsContext, error) {
	fd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open working directory: %w", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = hostFdPath(fd)
	}
	return &fsContext{cwdFd: fd, cwd: wd}, nil
}

func (c *fsContext) close() { unix.Close(c.cwdFd) }

// chdirFd makes the open directory fd (which it takes) the working directory.
func (c *fsContext) chdirFd(fd int) {
	unix.Close(c.cwdFd)
	c.cwdFd = fd
	c.cwd = hostFdPath(fd)
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

// procEntry recognizes the guest's own /proc/self/NAME (also /proc/thread-self and
// /proc/PID with the guest's pid) and returns NAME.
func (t *Task) procEntry(p string) (string, bool) {
	if !strings.HasPrefix(p, "/proc/") {
		return "", false
	}
	rest := path.Clean(p)[len("/proc/"):]
	head, tail, _ := strings.Cut(rest, "/")
	switch head {
	case "self", "thread-self", strconv.Itoa(t.p.pid):
		return tail, true
	}
	return "", false
}

// devFd maps /dev/fd/N, /dev/stdin, /dev/stdout and /dev/stderr, which Linux makes
// symbolic links into /proc/self/fd, to the /proc/self entry they reach.
func devFd(p string) string {
	if !strings.HasPrefix(p, "/dev/") {
		return p
	}
	c := path.Clean(p)
	switch {
	case c == "/dev/fd":
		return "/proc/self/fd"
	case strings.HasPrefix(c, "/dev/fd/"):
		return "/proc/self/fd/" + c[len("/dev/fd/"):]
	case c == "/dev/stdin":
		return "/proc/self/fd/0"
	case c == "/dev/stdout":
		return "/proc/self/fd/1"
	case c == "/dev/stderr":
		return "/proc/self/fd/2"
	}
	return p
}

// resolve turns a guest (dirfd, path) into a host (dirfd, path) for the *at calls. The
// guest's own /proc entries, and the /dev links into them, become the files behind them.
func (t *Task) resolve(dirfd int32, p string) (int, string, error) {
	p = devFd(p)
	if name, ok := t.procEntry(p); ok {
		switch {
		case name == "exe":
			return unix.AT_FDCWD, t.p.exe, nil
		case name == "cwd":
			return unix.AT_FDCWD, t.p.fs.cwd, nil
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

// procFile returns the contents of a synthetic /proc/self file, or false.
func (t *Task) procFile(name string) ([]byte, bool) {
	switch name {
	case "maps":
		return []byte(t.p.maps()), true
	case "cmdline":
		return []byte(strings.Join(t.p.argv, "\x00") + "\x00"), true
	case "environ":
		if len(t.p.envp) == 0 {
			return nil, true
		}
		return []byte(strings.Join(t.p.envp, "\x00") + "\x00"), true
	case "auxv":
		b := make([]byte, 0, 16*(len(t.p.auxv)+1))
		for _, a := range t.p.auxv {
			b = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, a.Type), a.Val)
		}
		return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, 0), 0), true
	case "comm":
		return []byte(path.Base(t.p.exe) + "\n"), true
	}
	return nil, false
}

// memFile makes an in-memory host file holding b, for synthetic /proc files.
func memFile(name string, b []byte) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return 0, err
	}
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			unix.Close(fd)
			return 0, err
		}
		b = b[n:]
	}
	unix.Seek(fd, 0, 0)
	return fd, nil
}
