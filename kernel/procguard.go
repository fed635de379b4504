package kernel

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The host's /proc describes vemu, not the guest: /proc/<vemu's pid>/mem is vemu's own
// memory, its environ, fd and status are vemu's. The guest's /proc/self entries are
// answered by the kernel (procEntry, procFile); every other way to reach vemu's entries
// (the host's pid, a thread of vemu, /proc/thread-self, a symbolic link or a directory
// descriptor into them) is refused here, as if the entry did not exist.

var procHost struct {
	once sync.Once
	dev  uint64 // the device of the host's /proc
	ok   bool
}

func procDev() (uint64, bool) {
	procHost.once.Do(func() {
		var st unix.Stat_t
		if unix.Stat("/proc/self", &st) == nil {
			procHost.dev, procHost.ok = st.Dev, true
		}
	})
	return procHost.dev, procHost.ok
}

// isVemuID reports whether n is vemu's pid or one of its threads' ids on the host.
func isVemuID(n int) bool {
	if n == os.Getpid() {
		return true
	}
	return unix.Access("/proc/self/task/"+strconv.Itoa(n), unix.F_OK) == nil
}

// vemuProcPath reports whether a host path names vemu's own entries in the host's /proc:
// /proc/self, /proc/thread-self, /proc/<vemu pid or tid>, or anything below them.
func vemuProcPath(p string) bool {
	rest, ok := strings.CutPrefix(cleanAbs(p), "/proc/")
	if !ok {
		return false
	}
	head, tail, _ := strings.Cut(rest, "/")
	if namespaceWide(tail) {
		return false // as in isVemuProcFd
	}
	switch head {
	case "self", "thread-self":
		return true
	}
	n, err := strconv.Atoi(head)
	return err == nil && isVemuID(n)
}

// namespaceWide reports whether name, below /proc/PID, describes the namespaces a process
// lives in rather than the process, which are the guest's as much as vemu's: the
// network namespace's files (/proc/net is /proc/self/net) and the mount table
// (/proc/mounts is /proc/self/mounts, which df and findmnt read, as /etc/mtab), a thread's
// as well as its process's.
func namespaceWide(name string) bool {
	if rest, ok := strings.CutPrefix(name, "task/"); ok {
		// A thread's own: /proc/thread-self/mountinfo is /proc/PID/task/TID/mountinfo.
		if _, below, ok := strings.Cut(rest, "/"); ok {
			name = below
		}
	}
	switch name {
	case "net", "mounts", "mountinfo", "mountstats":
		return true
	}
	return strings.HasPrefix(name, "net/")
}

// cleanAbs cleans p lexically ("//proc/./self" is "/proc/self").
func cleanAbs(p string) string {
	if !strings.HasPrefix(p, "/") {
		return p
	}
	parts := strings.Split(p, "/")
	out := make([]string, 0, len(parts))
	for _, s := range parts {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// procFdPath looks at the host descriptor fd, just opened for the guest: whether it is on
// the host's /proc (onProc), and its host path then. known is false when fstat fails.
func procFdPath(fd int) (p string, onProc, known bool) {
	dev, ok := procDev()
	if !ok {
		return "", false, true
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return "", false, false
	}
	if st.Dev != dev {
		return "", false, true
	}
	return hostFdPath(fd), true, true
}

// vemuProcHostPath reports whether p, the host path of a descriptor on the host's /proc,
// is one of vemu's own entries. The host names procfs files by their real pid:
// /proc/1234/mem.
func vemuProcHostPath(p string) bool {
	if p == "" {
		return true
	}
	parts := strings.Split(p, "/")
	for i, c := range parts {
		if n, err := strconv.Atoi(c); err == nil {
			return isVemuID(n) && !namespaceWide(strings.Join(parts[i+1:], "/"))
		}
	}
	return false
}

// isVemuProcFd reports whether the host descriptor fd, just opened for the guest, is one
// of vemu's own /proc entries (however the path reached it).
func isVemuProcFd(fd int) bool {
	p, onProc, known := procFdPath(fd)
	if !known {
		return true // cannot tell: refuse
	}
	return onProc && vemuProcHostPath(p)
}

// guardProcFd closes fd and fails with ENOENT when it is one of vemu's /proc entries.
func guardProcFd(fd int) (int, error) {
	if isVemuProcFd(fd) {
		unix.Close(fd)
		return -1, unix.ENOENT
	}
	return fd, nil
}

// guestProcPath returns the path in the guest's /proc that p, the host path of a
// descriptor on the host's /proc, stands for: vemu's own entries are the calling
// process's, as the /proc/self a guest's symbolic link names resolves to vemu on the host
// (a thread of vemu's, to /proc/thread-self), and other processes' entries keep their pid.
func guestProcPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/proc/")
	if !ok {
		return p // /proc itself
	}
	head, tail, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(head)
	if err != nil || !isVemuID(n) {
		return p
	}
	self := "/proc/self"
	if n != os.Getpid() {
		self = "/proc/thread-self"
	} else if t, ok := strings.CutPrefix(tail, "task/"); ok {
		id, below, _ := strings.Cut(t, "/")
		if m, err := strconv.Atoi(id); err == nil && isVemuID(m) {
			self, tail = "/proc/thread-self", below
		}
	}
	if tail == "" {
		return self
	}
	return self + "/" + tail
}

// procReached reports, for fd just opened on the host for the guest's own path p (see
// hostPath.guest), the path in the guest's /proc to ask instead, when fd is on the
// host's /proc under another name than p: a symbolic link led there, or a relative path
// from a directory in /proc.
func procReached(fd int, p string) (string, bool) {
	hp, onProc, _ := procFdPath(fd)
	if !onProc {
		return "", false
	}
	if gp := guestProcPath(hp); gp != cleanAbs(p) {
		return gp, true
	}
	return "", false
}

// onHostProc reports whether dev is the host's /proc's device.
func onHostProc(dev uint64) bool {
	d, ok := procDev()
	return ok && d == dev
}

// procBehind is procReached for a path the host resolved without opening it: h is opened
// as a path only (following a last link when follow) to see what it names.
func procBehind(h hostPath, p string, follow bool) (string, bool) {
	if !h.guest {
		return "", false
	}
	flags := unix.O_PATH | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat(h.dir, h.name, flags, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	return procReached(fd, p)
}
