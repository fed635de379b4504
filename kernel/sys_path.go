package kernel

import (
	"encoding/binary"
	"fmt"
	"path"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// pathMax is PATH_MAX: the longest path a system call reads.
const pathMax = 4096

func (t *Task) path(addr mm.Addr) (string, error) {
	if addr == 0 {
		return "", unix.EFAULT
	}
	return t.p.mm.CopyString(addr, pathMax)
}

// sysGetcwd implements getcwd(2).
func sysGetcwd(t *Task, a Args) (uint64, error) {
	cwd, err := t.p.fs.getcwd()
	if err != nil {
		return 0, err
	}
	cwd += "\x00"
	if uint64(len(cwd)) > a[1] {
		return 0, unix.ERANGE
	}
	return uint64(len(cwd)), t.p.mm.CopyOut(a.Ptr(0), []byte(cwd))
}

// searchableDir opens the directory the guest path at ptr names (O_PATH), as chdir and
// chroot find theirs: it must be a directory the caller may search.
func searchableDir(t *Task, ptr mm.Addr) (int, error) {
	h, err := t.pathAt(abi.AT_FDCWD, ptr, true)
	if err != nil {
		return -1, err
	}
	defer h.close()
	fd, err := unix.Openat(h.dir, h.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if fd, err = guardProcFd(fd); err != nil {
		return -1, err
	}
	if err := unix.Faccessat2(fd, ".", unix.X_OK, unix.AT_EACCESS); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// sysChdir implements chdir(2).
func sysChdir(t *Task, a Args) (uint64, error) {
	fd, err := searchableDir(t, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	t.p.fs.chdirFd(fd)
	return 0, nil
}

// sysFchdir implements fchdir(2).
func sysFchdir(t *Task, a Args) (uint64, error) {
	f, err := t.fileRaw(a.Fd(0))
	if err != nil {
		return 0, err
	}
	fd, err := unix.Openat(f.fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	t.p.fs.chdirFd(fd)
	return 0, nil
}

// pathAt reads a path argument and resolves it against a dirfd argument (see lookup).
func (t *Task) pathAt(dirfd int32, addr mm.Addr, follow bool) (hostPath, error) {
	p, err := t.path(addr)
	if err != nil {
		return hostPath{}, err
	}
	if p == "" {
		return hostPath{}, unix.ENOENT
	}
	return t.lookup(dirfd, p, follow)
}

// sysMkdir implements mkdir(2).
func sysMkdir(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Mkdirat(h.dir, h.name, a.Uint(1)&0o7777)
}

// sysMkdirat implements mkdirat(2).
func sysMkdirat(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(a.Fd(0), a.Ptr(1), false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Mkdirat(h.dir, h.name, a.Uint(2)&0o7777)
}

// sysRmdir implements rmdir(2).
func sysRmdir(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Unlinkat(h.dir, h.name, unix.AT_REMOVEDIR)
}

// sysUnlink implements unlink(2).
func sysUnlink(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Unlinkat(h.dir, h.name, 0)
}

// sysUnlinkat implements unlinkat(2).
func sysUnlinkat(t *Task, a Args) (uint64, error) {
	if a.Int(2)&^abi.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	h, err := t.pathAt(a.Fd(0), a.Ptr(1), false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Unlinkat(h.dir, h.name, hostAtFlags(a.Int(2)))
}

// twoPaths resolves the two (dirfd, path) pairs of rename and link, neither following
// its last component unless follow1 says the first does. The caller closes both.
func (t *Task) twoPaths(d1 int32, p1 mm.Addr, d2 int32, p2 mm.Addr, follow1 bool) (hostPath, hostPath, error) {
	o, err := t.pathAt(d1, p1, follow1)
	if err != nil {
		return hostPath{}, hostPath{}, err
	}
	n, err := t.pathAt(d2, p2, false)
	if err != nil {
		// Linux looks up the old path's directory before it reads the new path.
		if e := firstPathError(o, false, false); e != nil {
			err = e
		}
		o.close()
		return hostPath{}, hostPath{}, err
	}
	return o, n, nil
}

// firstPathError is the error Linux finds in the first path of a two-path call before
// it reads or looks up the second, which failed in vemu's lookup: with whole, in o
// itself (followed when follow); otherwise in o's directory (a file where a directory
// should be, a missing or looping component, no search permission).
func firstPathError(o hostPath, whole, follow bool) error {
	name, flags := o.name, 0
	switch {
	case name == "":
		return nil
	case whole && !follow:
		flags = unix.AT_SYMLINK_NOFOLLOW
	case !whole:
		// The directory of the last component: "a/b/" is in "a". Its "." is looked up
		// in it, which wants the search permission Linux's walk checks there.
		if trimmed := strings.TrimRight(name, "/"); trimmed != "" {
			name = path.Dir(trimmed)
		}
		name = strings.TrimSuffix(name, "/") + "/."
	}
	var st unix.Stat_t
	if err := unix.Fstatat(o.dir, name, &st, flags); err != nil {
		return err
	}
	if !whole && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	return nil
}

// sysRename implements rename(2).
func sysRename(t *Task, a Args) (uint64, error) {
	o, n, err := t.twoPaths(abi.AT_FDCWD, a.Ptr(0), abi.AT_FDCWD, a.Ptr(1), false)
	if err != nil {
		return 0, err
	}
	defer o.close()
	defer n.close()
	return 0, unix.Renameat(o.dir, o.name, n.dir, n.name)
}

// sysRenameat implements renameat(2).
func sysRenameat(t *Task, a Args) (uint64, error) {
	o, n, err := t.twoPaths(a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3), false)
	if err != nil {
		return 0, err
	}
	defer o.close()
	defer n.close()
	return 0, unix.Renameat(o.dir, o.name, n.dir, n.name)
}

// sysRenameat2 implements renameat2(2). As Linux's do_renameat2, unknown flags and
// RENAME_EXCHANGE with either other flag are EINVAL before the paths are looked at.
func sysRenameat2(t *Task, a Args) (uint64, error) {
	flags := a.Uint(4)
	if flags&^(abi.RENAME_NOREPLACE|abi.RENAME_EXCHANGE|abi.RENAME_WHITEOUT) != 0 ||
		flags&(abi.RENAME_NOREPLACE|abi.RENAME_WHITEOUT) != 0 && flags&abi.RENAME_EXCHANGE != 0 {
		return 0, unix.EINVAL
	}
	o, n, err := t.twoPaths(a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3), false)
	if err != nil {
		return 0, err
	}
	defer o.close()
	defer n.close()
	return 0, unix.Renameat2(o.dir, o.name, n.dir, n.name, uint(flags))
}

// sysLink implements link(2).
func sysLink(t *Task, a Args) (uint64, error) {
	o, n, err := t.twoPaths(abi.AT_FDCWD, a.Ptr(0), abi.AT_FDCWD, a.Ptr(1), false)
	if err != nil {
		return 0, err
	}
	defer o.close()
	defer n.close()
	return 0, unix.Linkat(o.dir, o.name, n.dir, n.name, 0)
}

// sysLinkat implements linkat(2).
//
// As Linux's do_linkat: unknown flags are EINVAL first; with AT_EMPTY_PATH an empty old
// path names olddirfd's file, which the host links if Linux would (it checks that the
// descriptor was opened with the caller's credentials, or CAP_DAC_READ_SEARCH).
func sysLinkat(t *Task, a Args) (uint64, error) {
	flags := a.Int(4)
	if flags&^(abi.AT_SYMLINK_FOLLOW|abi.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	follow := flags&abi.AT_SYMLINK_FOLLOW != 0
	o, err := t.pathOrEmpty(a.Fd(0), a.Ptr(1), flags&abi.AT_EMPTY_PATH != 0, follow)
	if err != nil {
		return 0, err
	}
	defer o.close()
	n, err := t.pathAt(a.Fd(2), a.Ptr(3), false)
	if err != nil {
		// Linux looks the old path up whole before it reads the new one.
		if e := firstPathError(o, true, follow); e != nil {
			return 0, e
		}
		return 0, err
	}
	defer n.close()
	host := 0
	var st unix.Stat_t
	if o.name == "" && unix.Fstat(o.dir, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		// A directory: through its /proc link, which fails as Linux's link of it (EEXIST,
		// EPERM) without the host's check of who opened vemu's descriptor, and without a
		// lookup in it (its "." would want the search permission Linux does not).
		return 0, unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", o.dir), n.dir, n.name, unix.AT_SYMLINK_FOLLOW)
	} else if o.name == "" {
		host = unix.AT_EMPTY_PATH
	} else if follow {
		host = unix.AT_SYMLINK_FOLLOW
	}
	return 0, unix.Linkat(o.dir, o.name, n.dir, n.name, host)
}

// sysSymlink implements symlink(2).
func sysSymlink(t *Task, a Args) (uint64, error) {
	return t.symlinkat(a.Ptr(0), abi.AT_FDCWD, a.Ptr(1))
}

// sysSymlinkat implements symlinkat(2).
func sysSymlinkat(t *Task, a Args) (uint64, error) {
	return t.symlinkat(a.Ptr(0), a.Fd(1), a.Ptr(2))
}

func (t *Task) symlinkat(target mm.Addr, dirfd int32, link mm.Addr) (uint64, error) {
	tp, err := t.path(target)
	if err != nil {
		return 0, err
	}
	if tp == "" {
		return 0, unix.ENOENT // as Linux's getname of the target, before the link's path
	}
	h, err := t.pathAt(dirfd, link, false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Symlinkat(tp, h.dir, h.name)
}

// sysReadlink implements readlink(2).
func sysReadlink(t *Task, a Args) (uint64, error) {
	return t.readlinkat(abi.AT_FDCWD, a.Ptr(0), a.Ptr(1), a.Int(2))
}

// sysReadlinkat implements readlinkat(2).
func sysReadlinkat(t *Task, a Args) (uint64, error) {
	return t.readlinkat(a.Fd(0), a.Ptr(1), a.Ptr(2), a.Int(3))
}

// fixedLink returns the target of the links whose target is the same for every process
// but names it: /proc/self and /proc/thread-self (the caller's pid, and task/tid below
// it), and /dev/stdin, stdout, stderr and fd, which lead into /proc/self/fd. vemu reads
// the /dev ones as the /proc/self/fd entries they lead to, so their links are answered
// here, as Linux's /dev has them.
func (t *Task) fixedLink(p string) (string, bool) {
	if !path.IsAbs(p) || hasComponent(p, "..") {
		return "", false // ".." after a link is the link's target's parent
	}
	switch path.Clean(p) {
	case "/proc/self":
		return strconv.Itoa(t.p.pid), true
	case "/proc/thread-self":
		return strconv.Itoa(t.p.pid) + "/task/" + strconv.Itoa(t.tid), true
	case "/dev/stdin":
		return "/proc/self/fd/0", true
	case "/dev/stdout":
		return "/proc/self/fd/1", true
	case "/dev/stderr":
		return "/proc/self/fd/2", true
	case "/dev/fd":
		return "/proc/self/fd", true
	}
	return "", false
}

// putLink copies a link's target to the guest's buffer as readlink(2) does: cut to size,
// without a NUL.
func (t *Task) putLink(target string, buf mm.Addr, size int32) (uint64, error) {
	out := []byte(target)
	if len(out) > int(size) {
		out = out[:size]
	}
	return uint64(len(out)), t.p.mm.CopyOut(buf, out)
}

func (t *Task) readlinkat(dirfd int32, pathAddr, buf mm.Addr, size int32) (uint64, error) {
	if size <= 0 {
		return 0, unix.EINVAL
	}
	p, err := t.path(pathAddr)
	if err != nil {
		return 0, err
	}
	return t.readlinkName(dirfd, p, buf, size, true)
}

// readlinkName is readlinkat for the path p; again as for openName.
func (t *Task) readlinkName(dirfd int32, p string, buf mm.Addr, size int32, again bool) (uint64, error) {
	if target, ok := t.fixedLink(p); ok {
		return t.putLink(target, buf, size)
	}
	var err error
	if dirfd, p, err = t.procLinks(dirfd, p); err != nil {
		return 0, err
	}
	var target string
	var peer bool // another guest process's link, read
	if e, ok := t.peerEntry(t.peerRelative(dirfd, p)); ok && strings.HasPrefix(e.name, "map_files/") && !strings.Contains(e.dir, "/") {
		return t.readlinkPeerMapFile(e, buf, size)
	} else if ok {
		s, link, err := t.peerLink(e)
		if err != nil {
			return 0, err
		}
		target, peer = s, link
	}
	if peer {
		// read above
	} else if name, ok := t.procEntry(devFd(p)); ok && strings.HasPrefix(name, "map_files/") {
		m, ok := t.p.mapFile(name[len("map_files/"):])
		if !ok {
			return 0, unix.ENOENT
		}
		target = m.Name
	} else if name, ok := t.procEntry(devFd(p)); ok && (name == "exe" || name == "cwd" || name == "root" || len(name) > 3 && name[:3] == "fd/") {
		// The guest's own links: what they stand for, as the guest names it.
		switch {
		case name == "root":
			target = "/" // the guest's root, inside a root too
		case name == "exe":
			target = t.p.k.guestPath(t.p.exe)
		case name == "cwd":
			target = t.p.fs.guestDir()
		default:
			h, err := t.lookup(dirfd, p, false)
			if err != nil {
				return 0, err
			}
			defer h.close()
			b := make([]byte, pathMax)
			n, err := unix.Readlink(h.name, b)
			if err != nil {
				return 0, err
			}
			target = t.p.k.guestPath(string(b[:n]))
		}
	} else {
		h, err := t.lookup(dirfd, p, false)
		if err != nil {
			return 0, err
		}
		defer h.close()
		if again && h.guest {
			// A link in the host's /proc that p does not name there (p goes through a
			// link of the guest's into it): the guest's /proc answers.
			var st unix.Stat_t
			if unix.Fstatat(h.dir, h.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && onHostProc(st.Dev) {
				if gp, ok := procBehind(h, p, false); ok {
					return t.readlinkName(abi.AT_FDCWD, gp, buf, size, false)
				}
			}
		}
		b := make([]byte, pathMax)
		n, err := unix.Readlinkat(h.dir, h.name, b)
		if err != nil {
			return 0, err
		}
		target = string(b[:n])
	}
	return t.putLink(target, buf, size)
}

// sysChmod implements chmod(2).
func sysChmod(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), true)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Fchmodat(h.dir, h.name, a.Uint(1)&0o7777, 0)
}

// sysFchmodat implements fchmodat(2).
func sysFchmodat(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(a.Fd(0), a.Ptr(1), true)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Fchmodat(h.dir, h.name, a.Uint(2)&0o7777, 0)
}

// sysFchmod implements fchmod(2).
func sysFchmod(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fchmod(f.fd, a.Uint(1)&0o7777)
}

// sysChown implements chown(2).
func sysChown(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), true)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Fchownat(h.dir, h.name, int(a.Int(1)), int(a.Int(2)), 0)
}

// sysLchown implements lchown(2).
func sysLchown(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Fchownat(h.dir, h.name, int(a.Int(1)), int(a.Int(2)), unix.AT_SYMLINK_NOFOLLOW)
}

// sysFchownat implements fchownat(2).
func sysFchownat(t *Task, a Args) (uint64, error) {
	if a.Int(4)&^(abi.AT_SYMLINK_NOFOLLOW|abi.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL // as Linux's do_fchownat, before the path
	}
	// An empty path with AT_EMPTY_PATH is dirfd's file (O_PATH too), AT_FDCWD's the
	// working directory.
	h, err := t.pathOrEmpty(a.Fd(0), a.Ptr(1), a.Int(4)&abi.AT_EMPTY_PATH != 0, a.Int(4)&abi.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	defer h.close()
	flags := hostAtFlags(a.Int(4))
	if h.name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	return 0, unix.Fchownat(h.dir, h.name, int(a.Int(2)), int(a.Int(3)), flags)
}

// sysFchown implements fchown(2).
func sysFchown(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fchown(f.fd, int(a.Int(1)), int(a.Int(2)))
}

// sysUtimensat implements utimensat(2).
func sysUtimensat(t *Task, a Args) (uint64, error) {
	// Linux's order: the times (both UTIME_OMIT: nothing to do, not even the path), then
	// for a NULL path with a descriptor the flags (none allowed) and the descriptor, and
	// otherwise the flags and the path (NULL is EFAULT); the host checks the times.
	var ts *[2]unix.Timespec
	if a[2] != 0 {
		var b [2 * abi.TimespecSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(2), b[:]); err != nil {
			return 0, err
		}
		ts = new([2]unix.Timespec)
		for i := range 2 {
			var g abi.Timespec
			g.Unmarshal(b[i*abi.TimespecSize:])
			ts[i] = unix.Timespec{Sec: g.Sec, Nsec: g.Nsec}
		}
		if ts[0].Nsec == abi.UTIME_OMIT && ts[1].Nsec == abi.UTIME_OMIT {
			return 0, nil
		}
	}
	flags := a.Int(3)
	if a[1] == 0 && a.Fd(0) != abi.AT_FDCWD {
		// A NULL path sets the times of dirfd itself.
		if flags != 0 {
			return 0, unix.EINVAL
		}
		f, err := t.file(a.Fd(0))
		if err != nil {
			return 0, err
		}
		return 0, hostUtimensat(f.fd, "", ts, unix.AT_EMPTY_PATH)
	}
	if flags&^(abi.AT_SYMLINK_NOFOLLOW|abi.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	h, err := t.pathOrEmpty(a.Fd(0), a.Ptr(1), flags&abi.AT_EMPTY_PATH != 0, flags&abi.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, hostUtimensat(h.dir, h.name, ts, hostAtFlags(flags))
}

// hostUtimensat is the host's utimensat; ts nil for the current time.
func hostUtimensat(dir int, name string, ts *[2]unix.Timespec, flags int) error {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return unix.EINVAL
	}
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	// SAFETY: p is a NUL-terminated copy of name and ts nil or two timespecs, both alive
	// for the call, which only reads them.
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(dir), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(ts)), uintptr(flags), 0, 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(ts)
	if e != 0 {
		return e
	}
	return nil
}

// sysMknod implements mknod(2).
func sysMknod(t *Task, a Args) (uint64, error) {
	return t.mknodat(abi.AT_FDCWD, a.Ptr(0), a.Uint(1), a[2])
}

// sysMknodat implements mknodat(2).
func sysMknodat(t *Task, a Args) (uint64, error) {
	return t.mknodat(a.Fd(0), a.Ptr(1), a.Uint(2), a[3])
}

// mknodat makes FIFOs, sockets, regular files and (where the host lets vemu) devices; the
// host applies the guest's umask (fs.go).
func (t *Task) mknodat(dirfd int32, pathAddr mm.Addr, mode uint32, dev uint64) (uint64, error) {
	// As Linux's may_mknod, before the path: a directory is EPERM, an unknown type
	// EINVAL (no type is a regular file).
	switch mode & unix.S_IFMT {
	case 0, unix.S_IFREG, unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFDIR:
		return 0, unix.EPERM
	default:
		return 0, unix.EINVAL
	}
	h, err := t.pathAt(dirfd, pathAddr, false)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.Mknodat(h.dir, h.name, mode, int(dev))
}

// sysUtimes implements utimes(2).
func sysUtimes(t *Task, a Args) (uint64, error) {
	return t.utimes(abi.AT_FDCWD, a.Ptr(0), a.Ptr(1))
}

// sysFutimesat implements futimesat(2).
func sysFutimesat(t *Task, a Args) (uint64, error) {
	return t.utimes(a.Fd(0), a.Ptr(1), a.Ptr(2))
}

// utimes sets times given as two timevals (NULL: now).
func (t *Task) utimes(dirfd int32, pathAddr, tvAddr mm.Addr) (uint64, error) {
	var ts []unix.Timespec
	if tvAddr != 0 {
		var b [2 * abi.TimevalSize]byte
		if err := t.p.mm.CopyIn(tvAddr, b[:]); err != nil {
			return 0, err
		}
		for i := range 2 {
			var tv abi.Timeval
			tv.Unmarshal(b[i*abi.TimevalSize:])
			if tv.Usec < 0 || tv.Usec >= 1e6 {
				return 0, unix.EINVAL
			}
			ts = append(ts, unix.Timespec{Sec: tv.Sec, Nsec: tv.Usec * 1000})
		}
	}
	h, err := t.pathAt(dirfd, pathAddr, true)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.UtimesNanoAt(h.dir, h.name, ts, 0)
}

// sysUtime implements utime(2): a struct utimbuf of whole seconds, or NULL for now.
func sysUtime(t *Task, a Args) (uint64, error) {
	var ts []unix.Timespec
	if a[1] != 0 {
		var b [16]byte
		if err := t.p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
		ts = []unix.Timespec{{Sec: int64(binary.LittleEndian.Uint64(b[0:]))}, {Sec: int64(binary.LittleEndian.Uint64(b[8:]))}}
	}
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), true)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, unix.UtimesNanoAt(h.dir, h.name, ts, 0)
}
