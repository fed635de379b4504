package kernel

import (
	"golang.org/x/sys/unix"
	"path"
	"strings"

	"vemu/abi"
	"vemu/kernel/mm"
)

func statFromHost(s *unix.Stat_t) abi.Stat {
	return abi.Stat{
		Dev: uint64(s.Dev), Ino: uint64(s.Ino), Nlink: uint64(s.Nlink), Mode: uint32(s.Mode),
		UID: s.Uid, GID: s.Gid, Rdev: uint64(s.Rdev), Size: s.Size, Blksize: int64(s.Blksize), Blocks: s.Blocks,
		Atime: abi.Timespec{Sec: int64(s.Atim.Sec), Nsec: int64(s.Atim.Nsec)},
		Mtime: abi.Timespec{Sec: int64(s.Mtim.Sec), Nsec: int64(s.Mtim.Nsec)},
		Ctime: abi.Timespec{Sec: int64(s.Ctim.Sec), Nsec: int64(s.Ctim.Nsec)},
	}
}

func (t *Task) putStat(addr mm.Addr, s *unix.Stat_t) error {
	st := statFromHost(s)
	var b [abi.StatSize]byte
	st.Marshal(b[:])
	return t.p.mm.CopyOut(addr, b[:])
}

// atFlagBits pairs guest AT_* flags with the host's.
var atFlagBits = [][2]int{
	{abi.AT_SYMLINK_NOFOLLOW, unix.AT_SYMLINK_NOFOLLOW}, {abi.AT_REMOVEDIR, unix.AT_REMOVEDIR},
	{abi.AT_SYMLINK_FOLLOW, unix.AT_SYMLINK_FOLLOW}, {abi.AT_NO_AUTOMOUNT, unix.AT_NO_AUTOMOUNT},
	{abi.AT_EMPTY_PATH, unix.AT_EMPTY_PATH}, {abi.AT_EACCESS, unix.AT_EACCESS},
	{abi.AT_STATX_FORCE_SYNC, unix.AT_STATX_FORCE_SYNC}, {abi.AT_STATX_DONT_SYNC, unix.AT_STATX_DONT_SYNC},
}

func hostAtFlags(g int32) int {
	var h int
	for _, b := range atFlagBits {
		if int(g)&b[0] != 0 {
			h |= b[1]
		}
	}
	return h
}

// fstatat is the one stat: by (dirfd, path) with AT flags; an empty path with
// AT_EMPTY_PATH stats dirfd itself.
func (t *Task) fstatat(dirfd int32, pathAddr mm.Addr, flags int32) (*unix.Stat_t, error) {
	p, err := t.path(pathAddr)
	if err != nil {
		return nil, err
	}
	return t.fstatatName(dirfd, p, flags, true)
}

// fstatatName is fstatat for the path p; again as for openName.
func (t *Task) fstatatName(dirfd int32, p string, flags int32, again bool) (*unix.Stat_t, error) {
	var err error
	// A path through /proc links becomes absolute: dirfd no longer matters.
	if _, p, err = t.procLinks(dirfd, p); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if p == "" {
		if flags&abi.AT_EMPTY_PATH == 0 {
			return nil, unix.ENOENT
		}
		if dirfd == abi.AT_FDCWD {
			return &st, unix.Fstat(t.p.fs.cwdFd, &st)
		}
		f, err := t.fileRaw(dirfd)
		if err != nil {
			return nil, err
		}
		if err := f.fstat(&st); err != nil {
			return nil, err
		}
		if m, ok := f.ops.(*mqFile); ok {
			m.mqStat(&st)
		}
		return &st, nil
	}
	if l, ok := t.ownProcLink(p, flags); ok {
		return &st, unix.Lstat(l, &st)
	}
	h, err := t.lookup(dirfd, p, flags&abi.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return nil, err
	}
	defer h.close()
	if err := unix.Fstatat(h.dir, h.name, &st, hostAtFlags(flags)); err != nil {
		return nil, err
	}
	if again && onHostProc(st.Dev) {
		if gp, ok := procBehind(h, p, flags&abi.AT_SYMLINK_NOFOLLOW == 0); ok {
			return t.fstatatName(abi.AT_FDCWD, gp, flags, false)
		}
	}
	t.procDirStat(dirfd, p, &st)
	return &st, nil
}

// ownProcLink returns, when flags say AT_SYMLINK_NOFOLLOW and p names a link of the
// guest's own /proc (/proc/self itself, the exe, cwd and root of its process or threads)
// or /dev's links into it, a host link to take its attributes from: a symbolic link
// there too. The descriptors' links (fd/N) are the host's own links already.
func (t *Task) ownProcLink(p string, flags int32) (string, bool) {
	if flags&abi.AT_SYMLINK_NOFOLLOW == 0 || strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") {
		return "", false // a trailing slash or "." follows the link before it
	}
	if selfLink(p) {
		return path.Clean(p), true
	}
	if l, ok := t.fixedLink(p); ok && strings.HasPrefix(l, "/proc/self/fd") {
		// /dev/stdin and its kin: the host's /dev has the same links.
		var st unix.Stat_t
		if c := path.Clean(p); unix.Lstat(c, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return c, true
		}
	}
	if e, ok := t.peerEntry(p); ok && (e.name == "exe" || e.name == "cwd" || e.name == "root") {
		return "/proc/thread-self/" + e.name, true // another process's links: links too
	} else if ok && strings.HasPrefix(e.name, "map_files/") && mapFilesName(e.name[len("map_files/"):]) && !strings.Contains(e.dir, "/") {
		return "/proc/thread-self/exe", true // a link (peerMapFileStat asked whether it exists)
	}
	switch name, ok := t.procEntry(p); {
	case ok && (name == "exe" || name == "cwd" || name == "root"):
		return "/proc/thread-self/" + name, true
	case ok && strings.HasPrefix(name, "map_files/"):
		if _, ok := t.p.mapFile(name[len("map_files/"):]); ok {
			return "/proc/thread-self/exe", true // a link too
		}
	}
	return "", false
}

// statAt is stat, lstat and newfstatat: the struct stat of the path at pathAddr
// (relative to dirfd), written to out.
func (t *Task) statAt(dirfd int32, pathAddr mm.Addr, flags int32, out mm.Addr) (uint64, error) {
	var p string
	if pathAddr != 0 || flags&abi.AT_EMPTY_PATH == 0 {
		var err error
		if p, err = t.path(pathAddr); err != nil {
			return 0, err
		}
	}
	stat := func(dirfd int32, p string) (uint64, error) {
		st, err := t.fstatatName(dirfd, p, flags, true)
		if err != nil {
			return 0, err
		}
		return 0, t.putStat(out, st)
	}
	if r, err, ok := t.peerMapFileStat(dirfd, p, flags&abi.AT_SYMLINK_NOFOLLOW == 0, stat); ok {
		return r, err
	}
	return stat(dirfd, p)
}

// sysStat implements stat(2).
func sysStat(t *Task, a Args) (uint64, error) {
	return t.statAt(abi.AT_FDCWD, a.Ptr(0), 0, a.Ptr(1))
}

// sysLstat implements lstat(2).
func sysLstat(t *Task, a Args) (uint64, error) {
	return t.statAt(abi.AT_FDCWD, a.Ptr(0), abi.AT_SYMLINK_NOFOLLOW, a.Ptr(1))
}

// sysNewfstatat implements newfstatat(2).
//
// As Linux 6.11's vfs_fstatat: with AT_EMPTY_PATH, a NULL or empty path and a descriptor
// is fstat of it, whatever the other flags; otherwise unknown flags are EINVAL before
// the path is read.
func sysNewfstatat(t *Task, a Args) (uint64, error) {
	flags := a.Int(3)
	if flags&abi.AT_EMPTY_PATH != 0 && a.Fd(0) >= 0 {
		var c [1]byte
		if a[1] == 0 || t.p.mm.CopyIn(a.Ptr(1), c[:]) == nil && c[0] == 0 {
			return sysFstat(t, Args{a[0], a[2]})
		}
	}
	if flags&^(abi.AT_SYMLINK_NOFOLLOW|abi.AT_NO_AUTOMOUNT|abi.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	if a[1] == 0 && flags&abi.AT_EMPTY_PATH != 0 {
		return t.statAt(a.Fd(0), 0, flags, a.Ptr(2)) // AT_FDCWD's: the working directory
	}
	return t.statAt(a.Fd(0), a.Ptr(1), flags, a.Ptr(2))
}

// sysFstat implements fstat(2).
func sysFstat(t *Task, a Args) (uint64, error) {
	f, err := t.fileRaw(a.Fd(0))
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if err := f.fstat(&st); err != nil {
		return 0, err
	}
	if m, ok := f.ops.(*mqFile); ok {
		m.mqStat(&st)
	}
	return 0, t.putStat(a.Ptr(1), &st)
}

// sysStatx implements statx(2).
func sysStatx(t *Task, a Args) (uint64, error) {
	// As Linux's: the flags and the mask before the path; a NULL path with AT_EMPTY_PATH
	// is an empty one (Linux 6.11).
	flags := a.Int(2)
	const syncType = abi.AT_STATX_SYNC_TYPE
	if flags&syncType == syncType || a.Uint(3)&statxReserved != 0 ||
		flags&^(abi.AT_SYMLINK_NOFOLLOW|abi.AT_NO_AUTOMOUNT|abi.AT_EMPTY_PATH|syncType) != 0 {
		return 0, unix.EINVAL
	}
	var p string
	if a[1] != 0 || flags&abi.AT_EMPTY_PATH == 0 {
		var err error
		if p, err = t.path(a.Ptr(1)); err != nil {
			return 0, err
		}
		if p == "" && flags&abi.AT_EMPTY_PATH == 0 {
			return 0, unix.ENOENT // before the descriptor
		}
	}
	if r, err, ok := t.peerMapFileStat(a.Fd(0), p, flags&abi.AT_SYMLINK_NOFOLLOW == 0, func(dirfd int32, p string) (uint64, error) {
		return t.statx(dirfd, p, flags, int(a.Uint(3)), a.Ptr(4), true)
	}); ok {
		return r, err
	}
	return t.statx(a.Fd(0), p, flags, int(a.Uint(3)), a.Ptr(4), true)
}

// statxReserved is STATX__RESERVED, a mask bit kept for a larger struct statx.
const statxReserved = 0x80000000

// statx is statx(2) for the path p; again as for openName.
func (t *Task) statx(dirfd int32, p string, flags int32, mask int, out mm.Addr, again bool) (uint64, error) {
	var err error
	// A path through /proc links becomes absolute: the dirfd no longer matters.
	if _, p, err = t.procLinks(dirfd, p); err != nil {
		return 0, err
	}
	var d int
	var mq *mqFile
	var link bool // /proc/self itself, not followed
	var h hostPath
	hp := p
	if p == "" && flags&abi.AT_EMPTY_PATH != 0 {
		if dirfd == abi.AT_FDCWD {
			d = t.p.fs.cwdFd
		} else {
			f, err := t.fileRaw(dirfd)
			if err != nil {
				return 0, err
			}
			d = f.fd
			mq, _ = f.ops.(*mqFile)
			if f.statAs != "" {
				d, hp = unix.AT_FDCWD, f.statAs
				flags &^= abi.AT_EMPTY_PATH
			}
		}
	} else if l, ok := t.ownProcLink(p, flags); ok {
		d, hp, link = unix.AT_FDCWD, l, true
	} else {
		if h, err = t.lookup(dirfd, p, flags&abi.AT_SYMLINK_NOFOLLOW == 0); err != nil {
			return 0, err
		}
		defer h.close()
		d, hp = h.dir, h.name
	}
	var sx unix.Statx_t
	if err := unix.Statx(d, hp, hostAtFlags(flags), mask, &sx); err != nil {
		return 0, err
	}
	if again && hp != "" && !link && onHostProc(unix.Mkdev(sx.Dev_major, sx.Dev_minor)) {
		if gp, ok := procBehind(h, p, flags&abi.AT_SYMLINK_NOFOLLOW == 0); ok {
			return t.statx(abi.AT_FDCWD, gp, flags, mask, out, false)
		}
	}
	if mode, uid, gid, ok := t.procDirOwner(dirfd, p); ok && p != "" && !link {
		sx.Mode, sx.Uid, sx.Gid = uint16(mode), uid, gid
	}
	if mq != nil {
		var st unix.Stat_t
		mq.mqStat(&st)
		sx.Mode, sx.Uid, sx.Gid, sx.Size, sx.Nlink = uint16(st.Mode), st.Uid, st.Gid, uint64(st.Size), uint32(st.Nlink)
	}
	ts := func(x unix.StatxTimestamp) abi.StatxTimestamp {
		return abi.StatxTimestamp{Sec: x.Sec, Nsec: x.Nsec}
	}
	st := abi.Statx{
		Mask: sx.Mask, Blksize: sx.Blksize, Attributes: sx.Attributes, Nlink: sx.Nlink, UID: sx.Uid, GID: sx.Gid,
		Mode: sx.Mode, Ino: sx.Ino, Size: sx.Size, Blocks: sx.Blocks, AttributesMask: sx.Attributes_mask,
		Atime: ts(sx.Atime), Btime: ts(sx.Btime), Ctime: ts(sx.Ctime), Mtime: ts(sx.Mtime),
		RdevMajor: sx.Rdev_major, RdevMinor: sx.Rdev_minor, DevMajor: sx.Dev_major, DevMinor: sx.Dev_minor,
	}
	var b [abi.StatxSize]byte
	st.Marshal(b[:])
	return 0, t.p.mm.CopyOut(out, b[:])
}

// sysAccess implements access(2).
func sysAccess(t *Task, a Args) (uint64, error) {
	return t.faccessat(abi.AT_FDCWD, a.Ptr(0), a.Uint(1), 0)
}

// sysFaccessat implements faccessat(2).
func sysFaccessat(t *Task, a Args) (uint64, error) {
	return t.faccessat(a.Fd(0), a.Ptr(1), a.Uint(2), 0)
}

// sysFaccessat2 implements faccessat2(2).
func sysFaccessat2(t *Task, a Args) (uint64, error) {
	return t.faccessat(a.Fd(0), a.Ptr(1), a.Uint(2), a.Int(3))
}

func (t *Task) faccessat(dirfd int32, pathAddr mm.Addr, mode uint32, flags int32) (uint64, error) {
	// As Linux's do_faccessat(): the mode and the flags first, then the path.
	if mode&^7 != 0 || flags&^(abi.AT_EACCESS|abi.AT_SYMLINK_NOFOLLOW|abi.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	// An empty path is ENOENT, before the descriptor, unless AT_EMPTY_PATH.
	h, err := t.pathOrEmpty(dirfd, pathAddr, flags&abi.AT_EMPTY_PATH != 0, flags&abi.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	defer h.close()
	if flags&abi.AT_EACCESS == 0 {
		// Checked with the real ids; the next call's entry acts as the guest again.
		t.p.actAs(t.p.accessCreds())
	}
	// The host checks with the ids its thread acts with: always AT_EACCESS.
	return 0, unix.Faccessat2(h.dir, h.name, mode, hostAtFlags(flags)|unix.AT_EACCESS)
}

// sysStatfs implements statfs(2): the host's answer for the file system the path is on.
func sysStatfs(t *Task, a Args) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), true)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return 0, withHostFile(h.dir, h.name, unix.O_PATH, func(fd int) error { return t.putStatfs(fd, a.Ptr(1)) })
}

// withHostFile opens (dirfd, path) on the host with flags for the length of f.
func withHostFile(dirfd int, path string, flags int, f func(fd int) error) error {
	fd, err := unix.Openat(dirfd, path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if fd, err = guardProcFd(fd); err != nil {
		return err
	}
	defer unix.Close(fd)
	return f(fd)
}

// sysFstatfs implements fstatfs(2).
func sysFstatfs(t *Task, a Args) (uint64, error) {
	f, err := t.fileRaw(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, t.putStatfs(f.fd, a.Ptr(1))
}

func (t *Task) putStatfs(hostFd int, addr mm.Addr) error {
	var h unix.Statfs_t
	if err := unix.Fstatfs(hostFd, &h); err != nil {
		return err
	}
	s := abi.Statfs{Type: h.Type, Bsize: h.Bsize, Blocks: h.Blocks, Bfree: h.Bfree, Bavail: h.Bavail, Files: h.Files,
		Ffree: h.Ffree, Fsid: h.Fsid.Val, Namelen: h.Namelen, Frsize: h.Frsize, Flags: h.Flags}
	var b [abi.StatfsSize]byte
	s.Marshal(b[:])
	return t.p.mm.CopyOut(addr, b[:])
}

// fstat is fstat(2) of f's host descriptor, or of what f was opened as (statAs).
func (f *File) fstat(st *unix.Stat_t) error {
	if f.statAs != "" {
		return unix.Stat(f.statAs, st)
	}
	return unix.Fstat(f.fd, st)
}
