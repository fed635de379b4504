package kernel

import (
	"encoding/binary"
	"golang.org/x/sys/unix"
	"path"

	"vemu/abi"
	"vemu/emu"
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

func (t *Task) file(fd int32) (*File, error) { return t.p.files.get(fd) }

// openFlagBits pairs each guest (x86-64) open flag with the host's.
var openFlagBits = [][2]uint32{
	{abi.O_WRONLY, unix.O_WRONLY}, {abi.O_RDWR, unix.O_RDWR}, {abi.O_CREAT, unix.O_CREAT},
	{abi.O_EXCL, unix.O_EXCL}, {abi.O_NOCTTY, unix.O_NOCTTY}, {abi.O_TRUNC, unix.O_TRUNC},
	{abi.O_APPEND, unix.O_APPEND}, {abi.O_NONBLOCK, unix.O_NONBLOCK}, {abi.O_DSYNC, unix.O_DSYNC},
	{abi.O_DIRECT, unix.O_DIRECT}, {abi.O_LARGEFILE, unix.O_LARGEFILE}, {abi.O_DIRECTORY, unix.O_DIRECTORY},
	{abi.O_NOFOLLOW, unix.O_NOFOLLOW}, {abi.O_NOATIME, unix.O_NOATIME}, {abi.O_CLOEXEC, unix.O_CLOEXEC},
	{abi.O_SYNC, unix.O_SYNC}, {abi.O_PATH, unix.O_PATH}, {abi.O_TMPFILE, unix.O_TMPFILE},
}

// hostOpenFlags translates guest open flags to the host's; x86-64's equal the host's on
// amd64 but not, for example, on arm64.
func hostOpenFlags(g uint32) int {
	var h uint32
	for _, b := range openFlagBits {
		if g&b[0] == b[0] {
			h |= b[1]
		}
	}
	return int(h)
}

func guestOpenFlags(h uint32) uint32 {
	var g uint32
	for _, b := range openFlagBits {
		if h&b[1] == b[1] && b[1] != 0 {
			g |= b[0]
		}
	}
	return g
}

// sysOpenat implements openat(2).
func sysOpenat(t *Task, a Args) (uint64, error) {
	return t.openat(a.Fd(0), a.Ptr(1), a.Uint(2), a.Uint(3))
}

// sysOpen implements open(2).
func sysOpen(t *Task, a Args) (uint64, error) {
	return t.openat(abi.AT_FDCWD, a.Ptr(0), a.Uint(1), a.Uint(2))
}

// sysCreat implements creat(2).
func sysCreat(t *Task, a Args) (uint64, error) {
	return t.openat(abi.AT_FDCWD, a.Ptr(0), abi.O_CREAT|abi.O_WRONLY|abi.O_TRUNC, a.Uint(1))
}

func (t *Task) openat(dirfd int32, pathAddr mm.Addr, flags, mode uint32) (uint64, error) {
	p, err := t.path(pathAddr)
	if err != nil {
		return 0, err
	}
	if p == "" {
		return 0, unix.ENOENT
	}
	var hfd int
	if name, ok := t.procEntry(p); ok {
		if b, ok := t.procFile(name); ok {
			if hfd, err = memFile(name, b); err != nil {
				return 0, err
			}
		}
	}
	if hfd == 0 {
		d, hp, err := t.resolve(dirfd, p)
		if err != nil {
			return 0, err
		}
		hfd, err = unix.Openat(d, hp, hostOpenFlags(flags)|unix.O_CLOEXEC, mode&0o7777)
		if err != nil {
			return 0, err
		}
	}
	f := &File{fd: hfd, refs: 1, path: p, flags: flags}
	if name, ok := t.procEntry(devFd(p)); ok && path.Clean(name) == "fd" {
		f.fdDir = t.p
	}
	fd, err := t.p.files.install(f, flags&abi.O_CLOEXEC != 0, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return uint64(fd), nil
}

// sysClose implements close(2).
func sysClose(t *Task, a Args) (uint64, error) {
	if err := t.p.files.close(a.Fd(0)); err != nil && err != unix.EBADF {
		// Linux frees the descriptor even when the final close reports an error.
		return 0, err
	} else if err == unix.EBADF {
		return 0, err
	}
	return 0, nil
}

// maxIO caps one read or write, as Linux's MAX_RW_COUNT does.
const maxIO = 0x7ffff000

// bufs returns host slices for the guest buffer [addr, addr+n) with permission want.
// A buffer the kernel writes into may end early (a short transfer); one it reads from must
// be readable whole, or the call is EFAULT, as Linux's write to a pipe or file finds it.
func (t *Task) bufs(addr mm.Addr, n uint64, want emu.Prot) ([][]byte, error) {
	n = min(n, maxIO)
	b, err := t.p.mm.Bufs(addr, int(n), want, nil)
	if err == nil && want == emu.ProtRead && total(b) < n {
		return nil, unix.EFAULT
	}
	return b, err
}

func total(b [][]byte) uint64 {
	var n uint64
	for _, p := range b {
		n += uint64(len(p))
	}
	return n
}

// iovecs gathers the host slices behind a guest iovec array.
func (t *Task) iovecs(addr mm.Addr, cnt int32, want emu.Prot) ([][]byte, error) {
	if cnt < 0 || cnt > 1024 {
		return nil, unix.EINVAL
	}
	raw := make([]byte, int(cnt)*abi.IovecSize)
	if err := t.p.mm.CopyIn(addr, raw); err != nil {
		return nil, err
	}
	var out [][]byte
	var sum uint64
	for i := range int(cnt) {
		var v abi.Iovec
		v.Unmarshal(raw[i*abi.IovecSize:])
		if v.Len == 0 {
			continue
		}
		if int64(v.Len) < 0 {
			return nil, unix.EINVAL
		}
		n := min(v.Len, maxIO-sum)
		before := len(out)
		var err error
		out, err = t.p.mm.Bufs(mm.Addr(v.Base), int(n), want, out)
		if err != nil {
			if before == 0 {
				return nil, err
			}
			break
		}
		got := total(out[before:])
		if got < n && want == emu.ProtRead {
			return nil, unix.EFAULT
		}
		sum += got
		if got < n || sum >= maxIO {
			break
		}
	}
	return out, nil
}

func rw(n int, err error) (uint64, error) {
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// transfer moves data between the host file behind fd and the host slices b: into guest
// memory when want is ProtWrite (reads), out of it otherwise; at off when positional.
// resolve finds b again, for a read that finishes after blocking.
func (t *Task) transfer(fd int32, b [][]byte, want emu.Prot, off int64, positional bool, resolve func() ([][]byte, error)) (uint64, error) {
	f, err := t.file(fd)
	if err != nil {
		return 0, err
	}
	if positional && off < 0 {
		return 0, unix.EINVAL
	}
	in := want == emu.ProtWrite
	if !positional && f.mayBlock() && t.wouldBlock(f, in, total(b)) {
		if in {
			return t.blockingRead(f, total(b), resolve)
		}
		return t.blockingWrite(f, b)
	}
	r, err := hostTransfer(f.fd, b, in, off, positional)
	if err == unix.EPIPE && !in {
		t.sigpipe()
	}
	return r, err
}

// hostTransfer is transfer's host call.
func hostTransfer(fd int, b [][]byte, in bool, off int64, positional bool) (uint64, error) {
	switch {
	case positional && in:
		if len(b) == 0 {
			return rw(unix.Pread(fd, nil, off))
		}
		return rw(unix.Preadv(fd, b, off))
	case positional:
		if len(b) == 0 {
			return rw(unix.Pwrite(fd, nil, off))
		}
		return rw(unix.Pwritev(fd, b, off))
	case in && len(b) <= 1:
		var p []byte
		if len(b) == 1 {
			p = b[0]
		}
		return rw(unix.Read(fd, p))
	case in:
		return rw(unix.Readv(fd, b))
	case len(b) <= 1:
		var p []byte
		if len(b) == 1 {
			p = b[0]
		}
		return rw(unix.Write(fd, p))
	}
	return rw(unix.Writev(fd, b))
}

// buffer is the I/O of read, write, pread64 and pwrite64: one guest buffer.
func (t *Task) buffer(a Args, want emu.Prot, positional bool) (uint64, error) {
	if f, err := t.file(a.Fd(0)); err != nil {
		return 0, err
	} else if f.vtfd != nil {
		return t.vtfdIO(f, a, vtfdOp(want, positional), false)
	} else if f.sigfd != nil && !positional {
		return t.signalfdRead(f, a, want)
	}
	resolve := func() ([][]byte, error) {
		if a[2] == 0 {
			return nil, nil
		}
		return t.bufs(a.Ptr(1), a[2], want)
	}
	b, err := resolve()
	if err != nil {
		return 0, err
	}
	return t.transfer(a.Fd(0), b, want, a.Int64(3), positional, resolve)
}

// vector is the I/O of readv, writev, preadv and pwritev: an iovec array.
func (t *Task) vector(a Args, want emu.Prot, positional bool) (uint64, error) {
	if f, err := t.file(a.Fd(0)); err != nil {
		return 0, err
	} else if f.vtfd != nil {
		return t.vtfdIO(f, a, vtfdOp(want, positional), true)
	}
	resolve := func() ([][]byte, error) { return t.iovecs(a.Ptr(1), a.Int(2), want) }
	b, err := resolve()
	if err != nil {
		return 0, err
	}
	return t.transfer(a.Fd(0), b, want, a.Int64(3), positional, resolve)
}

// sysRead implements read(2): straight into guest memory.
func sysRead(t *Task, a Args) (uint64, error) { return t.buffer(a, emu.ProtWrite, false) }

// sysWrite implements write(2): straight from guest memory.
func sysWrite(t *Task, a Args) (uint64, error) { return t.buffer(a, emu.ProtRead, false) }

// sysPread64 implements pread64(2).
func sysPread64(t *Task, a Args) (uint64, error) { return t.buffer(a, emu.ProtWrite, true) }

// sysPwrite64 implements pwrite64(2).
func sysPwrite64(t *Task, a Args) (uint64, error) { return t.buffer(a, emu.ProtRead, true) }

// sysReadv implements readv(2).
func sysReadv(t *Task, a Args) (uint64, error) { return t.vector(a, emu.ProtWrite, false) }

// sysWritev implements writev(2).
func sysWritev(t *Task, a Args) (uint64, error) { return t.vector(a, emu.ProtRead, false) }

// sysPreadv implements preadv(2).
func sysPreadv(t *Task, a Args) (uint64, error) { return t.vector(a, emu.ProtWrite, true) }

// sysPwritev implements pwritev(2).
func sysPwritev(t *Task, a Args) (uint64, error) { return t.vector(a, emu.ProtRead, true) }

// sysLseek implements lseek(2).
func sysLseek(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if f.fdDir != nil {
		// A position in the listing (rewinddir, telldir and seekdir).
		switch off := a.Int64(1); a.Int(2) {
		case abi.SEEK_SET:
			if off < 0 {
				return 0, unix.EINVAL
			}
			f.dirPos = off
		case abi.SEEK_CUR:
			if f.dirPos+off < 0 {
				return 0, unix.EINVAL
			}
			f.dirPos += off
		default:
			return 0, unix.EINVAL
		}
		return uint64(f.dirPos), nil
	}
	off, err := unix.Seek(f.fd, a.Int64(1), int(a.Int(2)))
	return uint64(off), err
}

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
	var st unix.Stat_t
	if p == "" {
		if flags&abi.AT_EMPTY_PATH == 0 {
			return nil, unix.ENOENT
		}
		if dirfd == abi.AT_FDCWD {
			return &st, unix.Fstat(t.p.fs.cwdFd, &st)
		}
		f, err := t.file(dirfd)
		if err != nil {
			return nil, err
		}
		return &st, unix.Fstat(f.fd, &st)
	}
	d, hp, err := t.resolve(dirfd, p)
	if err != nil {
		return nil, err
	}
	return &st, unix.Fstatat(d, hp, &st, hostAtFlags(flags))
}

// sysStat implements stat(2).
func sysStat(t *Task, a Args) (uint64, error) {
	st, err := t.fstatat(abi.AT_FDCWD, a.Ptr(0), 0)
	if err != nil {
		return 0, err
	}
	return 0, t.putStat(a.Ptr(1), st)
}

// sysLstat implements lstat(2).
func sysLstat(t *Task, a Args) (uint64, error) {
	st, err := t.fstatat(abi.AT_FDCWD, a.Ptr(0), abi.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return 0, err
	}
	return 0, t.putStat(a.Ptr(1), st)
}

// sysNewfstatat implements newfstatat(2).
func sysNewfstatat(t *Task, a Args) (uint64, error) {
	st, err := t.fstatat(a.Fd(0), a.Ptr(1), a.Int(3))
	if err != nil {
		return 0, err
	}
	return 0, t.putStat(a.Ptr(2), st)
}

// sysFstat implements fstat(2).
func sysFstat(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, err
	}
	return 0, t.putStat(a.Ptr(1), &st)
}

// sysStatx implements statx(2).
func sysStatx(t *Task, a Args) (uint64, error) {
	p, err := t.path(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	var d int
	hp := p
	flags := a.Int(2)
	if p == "" && flags&abi.AT_EMPTY_PATH != 0 {
		if a.Fd(0) == abi.AT_FDCWD {
			d = t.p.fs.cwdFd
		} else {
			f, err := t.file(a.Fd(0))
			if err != nil {
				return 0, err
			}
			d = f.fd
		}
	} else if d, hp, err = t.resolve(a.Fd(0), p); err != nil {
		return 0, err
	}
	var sx unix.Statx_t
	if err := unix.Statx(d, hp, hostAtFlags(flags), int(a.Uint(3)), &sx); err != nil {
		return 0, err
	}
	ts := func(x unix.StatxTimestamp) abi.StatxTimestamp {
		return abi.StatxTimestamp{Sec: x.Sec, Nsec: x.Nsec}
	}
	out := abi.Statx{
		Mask: sx.Mask, Blksize: sx.Blksize, Attributes: sx.Attributes, Nlink: sx.Nlink, UID: sx.Uid, GID: sx.Gid,
		Mode: sx.Mode, Ino: sx.Ino, Size: sx.Size, Blocks: sx.Blocks, AttributesMask: sx.Attributes_mask,
		Atime: ts(sx.Atime), Btime: ts(sx.Btime), Ctime: ts(sx.Ctime), Mtime: ts(sx.Mtime),
		RdevMajor: sx.Rdev_major, RdevMinor: sx.Rdev_minor, DevMajor: sx.Dev_major, DevMinor: sx.Dev_minor,
	}
	var b [abi.StatxSize]byte
	out.Marshal(b[:])
	return 0, t.p.mm.CopyOut(a.Ptr(4), b[:])
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
	p, err := t.path(pathAddr)
	if err != nil {
		return 0, err
	}
	if mode&^7 != 0 {
		return 0, unix.EINVAL
	}
	d, hp, err := t.resolve(dirfd, p)
	if err != nil {
		return 0, err
	}
	// faccessat2 with flags; plain faccessat has none.
	return 0, unix.Faccessat2(d, hp, mode, hostAtFlags(flags))
}

// sysGetdents64 implements getdents64(2); the host's records are already in the guest's
// format (struct linux_dirent64 is the same on every Linux).
func sysGetdents64(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	n := min(a.Uint(2), 1<<20)
	if f.fdDir != nil {
		return t.listFdDir(f, a.Ptr(1), n, true)
	}
	buf := make([]byte, n)
	got, err := unix.Getdents(f.fd, buf)
	if err != nil {
		return 0, err
	}
	return uint64(got), t.p.mm.CopyOut(a.Ptr(1), buf[:got])
}

// sysGetcwd implements getcwd(2).
func sysGetcwd(t *Task, a Args) (uint64, error) {
	cwd := t.p.fs.cwd + "\x00"
	if uint64(len(cwd)) > a[1] {
		return 0, unix.ERANGE
	}
	return uint64(len(cwd)), t.p.mm.CopyOut(a.Ptr(0), []byte(cwd))
}

// sysChdir implements chdir(2).
func sysChdir(t *Task, a Args) (uint64, error) {
	d, hp, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	fd, err := unix.Openat(d, hp, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	if err := unix.Faccessat(fd, ".", unix.X_OK, 0); err != nil {
		unix.Close(fd)
		return 0, err
	}
	t.p.fs.chdirFd(fd)
	return 0, nil
}

// sysFchdir implements fchdir(2).
func sysFchdir(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
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

// pathAt reads a path argument and resolves it against a dirfd argument.
func (t *Task) pathAt(dirfd int32, addr mm.Addr) (int, string, error) {
	p, err := t.path(addr)
	if err != nil {
		return 0, "", err
	}
	if p == "" {
		return 0, "", unix.ENOENT
	}
	return t.resolve(dirfd, p)
}

// sysMkdir implements mkdir(2).
func sysMkdir(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Mkdirat(d, p, a.Uint(1)&0o7777)
}

// sysMkdirat implements mkdirat(2).
func sysMkdirat(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(a.Fd(0), a.Ptr(1))
	if err != nil {
		return 0, err
	}
	return 0, unix.Mkdirat(d, p, a.Uint(2)&0o7777)
}

// sysRmdir implements rmdir(2).
func sysRmdir(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Unlinkat(d, p, unix.AT_REMOVEDIR)
}

// sysUnlink implements unlink(2).
func sysUnlink(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Unlinkat(d, p, 0)
}

// sysUnlinkat implements unlinkat(2).
func sysUnlinkat(t *Task, a Args) (uint64, error) {
	if a.Int(2)&^abi.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	d, p, err := t.pathAt(a.Fd(0), a.Ptr(1))
	if err != nil {
		return 0, err
	}
	return 0, unix.Unlinkat(d, p, hostAtFlags(a.Int(2)))
}

// twoPaths resolves the two (dirfd, path) pairs of rename and link.
func (t *Task) twoPaths(d1 int32, p1 mm.Addr, d2 int32, p2 mm.Addr) (int, string, int, string, error) {
	od, op, err := t.pathAt(d1, p1)
	if err != nil {
		return 0, "", 0, "", err
	}
	nd, np, err := t.pathAt(d2, p2)
	return od, op, nd, np, err
}

// sysRename implements rename(2).
func sysRename(t *Task, a Args) (uint64, error) {
	od, op, nd, np, err := t.twoPaths(abi.AT_FDCWD, a.Ptr(0), abi.AT_FDCWD, a.Ptr(1))
	if err != nil {
		return 0, err
	}
	return 0, unix.Renameat(od, op, nd, np)
}

// sysRenameat implements renameat(2).
func sysRenameat(t *Task, a Args) (uint64, error) {
	od, op, nd, np, err := t.twoPaths(a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3))
	if err != nil {
		return 0, err
	}
	return 0, unix.Renameat(od, op, nd, np)
}

// sysRenameat2 implements renameat2(2).
func sysRenameat2(t *Task, a Args) (uint64, error) {
	od, op, nd, np, err := t.twoPaths(a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3))
	if err != nil {
		return 0, err
	}
	return 0, unix.Renameat2(od, op, nd, np, uint(a.Uint(4)))
}

// sysLink implements link(2).
func sysLink(t *Task, a Args) (uint64, error) {
	od, op, nd, np, err := t.twoPaths(abi.AT_FDCWD, a.Ptr(0), abi.AT_FDCWD, a.Ptr(1))
	if err != nil {
		return 0, err
	}
	return 0, unix.Linkat(od, op, nd, np, 0)
}

// sysLinkat implements linkat(2).
func sysLinkat(t *Task, a Args) (uint64, error) {
	od, op, nd, np, err := t.twoPaths(a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3))
	if err != nil {
		return 0, err
	}
	return 0, unix.Linkat(od, op, nd, np, hostAtFlags(a.Int(4)))
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
	d, p, err := t.pathAt(dirfd, link)
	if err != nil {
		return 0, err
	}
	return 0, unix.Symlinkat(tp, d, p)
}

// sysReadlink implements readlink(2).
func sysReadlink(t *Task, a Args) (uint64, error) {
	return t.readlinkat(abi.AT_FDCWD, a.Ptr(0), a.Ptr(1), a.Int(2))
}

// sysReadlinkat implements readlinkat(2).
func sysReadlinkat(t *Task, a Args) (uint64, error) {
	return t.readlinkat(a.Fd(0), a.Ptr(1), a.Ptr(2), a.Int(3))
}

func (t *Task) readlinkat(dirfd int32, pathAddr, buf mm.Addr, size int32) (uint64, error) {
	if size <= 0 {
		return 0, unix.EINVAL
	}
	p, err := t.path(pathAddr)
	if err != nil {
		return 0, err
	}
	var target string
	if name, ok := t.procEntry(p); ok && (name == "exe" || name == "cwd" || len(name) > 3 && name[:3] == "fd/") {
		d, hp, err := t.resolve(dirfd, p)
		if err != nil {
			return 0, err
		}
		if name == "exe" || name == "cwd" {
			target = hp
		} else {
			_ = d
			b := make([]byte, pathMax)
			n, err := unix.Readlink(hp, b)
			if err != nil {
				return 0, err
			}
			target = string(b[:n])
		}
	} else {
		d, hp, err := t.resolve(dirfd, p)
		if err != nil {
			return 0, err
		}
		b := make([]byte, pathMax)
		n, err := unix.Readlinkat(d, hp, b)
		if err != nil {
			return 0, err
		}
		target = string(b[:n])
	}
	out := []byte(target)
	if len(out) > int(size) {
		out = out[:size]
	}
	return uint64(len(out)), t.p.mm.CopyOut(buf, out)
}

// sysChmod implements chmod(2).
func sysChmod(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fchmodat(d, p, a.Uint(1)&0o7777, 0)
}

// sysFchmodat implements fchmodat(2).
func sysFchmodat(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(a.Fd(0), a.Ptr(1))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fchmodat(d, p, a.Uint(2)&0o7777, 0)
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
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fchownat(d, p, int(a.Int(1)), int(a.Int(2)), 0)
}

// sysLchown implements lchown(2).
func sysLchown(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fchownat(d, p, int(a.Int(1)), int(a.Int(2)), unix.AT_SYMLINK_NOFOLLOW)
}

// sysFchownat implements fchownat(2).
func sysFchownat(t *Task, a Args) (uint64, error) {
	p, err := t.path(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if p == "" && a.Int(4)&abi.AT_EMPTY_PATH != 0 {
		f, err := t.file(a.Fd(0))
		if err != nil {
			return 0, err
		}
		return 0, unix.Fchown(f.fd, int(a.Int(2)), int(a.Int(3)))
	}
	d, hp, err := t.pathAt(a.Fd(0), a.Ptr(1))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fchownat(d, hp, int(a.Int(2)), int(a.Int(3)), hostAtFlags(a.Int(4)))
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
	var ts []unix.Timespec
	if a[2] != 0 {
		var b [2 * abi.TimespecSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(2), b[:]); err != nil {
			return 0, err
		}
		for i := range 2 {
			var g abi.Timespec
			g.Unmarshal(b[i*abi.TimespecSize:])
			ts = append(ts, unix.Timespec{Sec: g.Sec, Nsec: g.Nsec})
		}
	}
	flags := hostAtFlags(a.Int(3))
	if a[1] == 0 {
		// A NULL path sets the times of dirfd itself.
		f, err := t.file(a.Fd(0))
		if err != nil {
			return 0, err
		}
		return 0, unix.UtimesNanoAt(f.fd, "", ts, flags|unix.AT_EMPTY_PATH)
	}
	d, p, err := t.pathAt(a.Fd(0), a.Ptr(1))
	if err != nil {
		return 0, err
	}
	return 0, unix.UtimesNanoAt(d, p, ts, flags)
}

// sysTruncate implements truncate(2).
func sysTruncate(t *Task, a Args) (uint64, error) {
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, withHostFile(d, p, unix.O_WRONLY, func(fd int) error { return unix.Ftruncate(fd, a.Int64(1)) })
}

// sysFtruncate implements ftruncate(2).
func sysFtruncate(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Ftruncate(f.fd, a.Int64(1))
}

// sysFallocate implements fallocate(2) with the host's, whose mode bits are Linux's.
func sysFallocate(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fallocate(f.fd, a.Uint(1), a.Int64(2), a.Int64(3))
}

// sysFsync implements fsync(2).
func sysFsync(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fsync(f.fd)
}

// sysFdatasync implements fdatasync(2).
func sysFdatasync(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fdatasync(f.fd)
}

// sysSync implements sync(2).
func sysSync(t *Task, a Args) (uint64, error) {
	unix.Sync()
	return 0, nil
}

// sysDup implements dup(2).
func sysDup(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	fd, err := t.p.files.install(f, false, 0)
	if err != nil {
		return 0, err
	}
	f.refs++
	return uint64(fd), nil
}

// sysDup2 implements dup2(2).
func sysDup2(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if a.Fd(0) == a.Fd(1) {
		return uint64(a.Fd(1)), nil
	}
	return uint64(a.Fd(1)), t.p.files.installAt(int(a.Fd(1)), f, false)
}

// sysDup3 implements dup3(2).
func sysDup3(t *Task, a Args) (uint64, error) {
	if a.Fd(0) == a.Fd(1) || a.Int(2)&^abi.O_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return uint64(a.Fd(1)), t.p.files.installAt(int(a.Fd(1)), f, a.Int(2)&abi.O_CLOEXEC != 0)
}

// sysFcntl implements fcntl(2).
func sysFcntl(t *Task, a Args) (uint64, error) {
	fd := a.Fd(0)
	f, err := t.file(fd)
	if err != nil {
		return 0, err
	}
	switch a.Int(1) {
	case abi.F_DUPFD, abi.F_DUPFD_CLOEXEC:
		min := int(a.Int(2))
		if min < 0 || min >= maxFDs {
			return 0, unix.EINVAL
		}
		nfd, err := t.p.files.install(f, a.Int(1) == abi.F_DUPFD_CLOEXEC, min)
		if err != nil {
			return 0, err
		}
		f.refs++
		return uint64(nfd), nil
	case abi.F_GETFD:
		if t.p.files.fds[fd].cloexec {
			return abi.FD_CLOEXEC, nil
		}
		return 0, nil
	case abi.F_SETFD:
		t.p.files.fds[fd].cloexec = a[2]&abi.FD_CLOEXEC != 0
		return 0, nil
	case abi.F_GETFL:
		fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
		if err != nil {
			return 0, err
		}
		return uint64(guestOpenFlags(uint32(fl)) &^ abi.O_CLOEXEC), nil
	case abi.F_SETFL:
		_, err := unix.FcntlInt(uintptr(f.fd), unix.F_SETFL, hostOpenFlags(a.Uint(2)))
		return 0, err
	case abi.F_GETLK, abi.F_SETLK, abi.F_SETLKW, abi.F_OFD_GETLK, abi.F_OFD_SETLK, abi.F_OFD_SETLKW:
		// struct flock is the same on every 64-bit Linux: 32 bytes.
		var b [32]byte
		if err := t.p.mm.CopyIn(a.Ptr(2), b[:]); err != nil {
			return 0, err
		}
		lk := unix.Flock_t{
			Type: int16(binary.LittleEndian.Uint16(b[0:])), Whence: int16(binary.LittleEndian.Uint16(b[2:])),
			Start: int64(binary.LittleEndian.Uint64(b[8:])), Len: int64(binary.LittleEndian.Uint64(b[16:])), Pid: int32(binary.LittleEndian.Uint32(b[24:])),
		}
		cmd := map[int32]int{abi.F_GETLK: unix.F_GETLK, abi.F_SETLK: unix.F_SETLK, abi.F_SETLKW: unix.F_SETLK,
			abi.F_OFD_GETLK: unix.F_OFD_GETLK, abi.F_OFD_SETLK: unix.F_OFD_SETLK, abi.F_OFD_SETLKW: unix.F_OFD_SETLK}[a.Int(1)]
		if c := a.Int(1); c == abi.F_SETLKW || c == abi.F_OFD_SETLKW {
			// The waiting forms wait off the run loop, interruptibly.
			return t.waitLock(f, func(fd int) error { l := lk; return unix.FcntlFlock(uintptr(fd), cmd, &l) })
		}
		if err := unix.FcntlFlock(uintptr(f.fd), cmd, &lk); err != nil {
			return 0, err
		}
		if a.Int(1) == abi.F_GETLK || a.Int(1) == abi.F_OFD_GETLK {
			out := make([]byte, 0, 32)
			out = append(out, byte(lk.Type), byte(uint16(lk.Type)>>8), byte(lk.Whence), byte(uint16(lk.Whence)>>8), 0, 0, 0, 0)
			out = binary.LittleEndian.AppendUint64(out, uint64(lk.Start))
			out = binary.LittleEndian.AppendUint64(out, uint64(lk.Len))
			out = append(out, byte(lk.Pid), byte(lk.Pid>>8), byte(lk.Pid>>16), byte(lk.Pid>>24), 0, 0, 0, 0)
			return 0, t.p.mm.CopyOut(a.Ptr(2), out)
		}
		return 0, nil
	case abi.F_GETPIPE_SZ, abi.F_SETPIPE_SZ, abi.F_GET_SEALS, abi.F_ADD_SEALS:
		r, err := unix.FcntlInt(uintptr(f.fd), int(a.Int(1)), int(a.Int(2)))
		return uint64(r), err
	}
	return 0, unix.EINVAL
}

// sysPipe implements pipe(2).
func sysPipe(t *Task, a Args) (uint64, error) { return t.pipe2(a.Ptr(0), 0) }

// sysPipe2 implements pipe2(2).
func sysPipe2(t *Task, a Args) (uint64, error) { return t.pipe2(a.Ptr(0), a.Uint(1)) }

func (t *Task) pipe2(addr mm.Addr, flags uint32) (uint64, error) {
	if flags&^(abi.O_CLOEXEC|abi.O_NONBLOCK|abi.O_DIRECT) != 0 {
		return 0, unix.EINVAL
	}
	var hfds [2]int
	if err := unix.Pipe2(hfds[:], hostOpenFlags(flags&^abi.O_CLOEXEC)|unix.O_CLOEXEC); err != nil {
		return 0, err
	}
	cloexec := flags&abi.O_CLOEXEC != 0
	r, err := t.p.files.install(&File{fd: hfds[0], refs: 1, path: "pipe:"}, cloexec, 0)
	if err != nil {
		unix.Close(hfds[0])
		unix.Close(hfds[1])
		return 0, err
	}
	w, err := t.p.files.install(&File{fd: hfds[1], refs: 1, path: "pipe:"}, cloexec, 0)
	if err != nil {
		t.p.files.close(int32(r))
		unix.Close(hfds[1])
		return 0, err
	}
	b := []byte{byte(r), byte(r >> 8), byte(r >> 16), byte(r >> 24), byte(w), byte(w >> 8), byte(w >> 16), byte(w >> 24)}
	if err := t.p.mm.CopyOut(addr, b); err != nil {
		t.p.files.close(int32(r))
		t.p.files.close(int32(w))
		return 0, err
	}
	return 0, nil
}

// ioctlSize lists the terminal and file ioctls passed to host files, with the size of
// the argument they read (in) or write (out).
var ioctlSize = map[uint32]struct {
	size    int
	in, out bool
	host    uint
}{
	abi.TCGETS:     {36, false, true, unix.TCGETS},
	abi.TCSETS:     {36, true, false, unix.TCSETS},
	abi.TCSETSW:    {36, true, false, unix.TCSETSW},
	abi.TCSETSF:    {36, true, false, unix.TCSETSF},
	abi.TIOCGWINSZ: {8, false, true, unix.TIOCGWINSZ},
	abi.TIOCSWINSZ: {8, true, false, unix.TIOCSWINSZ},
	abi.TIOCGPGRP:  {4, false, true, unix.TIOCGPGRP},
	abi.TIOCSPGRP:  {4, true, false, unix.TIOCSPGRP},
	abi.FIONREAD:   {4, false, true, unix.TIOCINQ},
	abi.FIONBIO:    {4, true, false, 0x5421},
}

// sysIoctl implements ioctl(2) for terminal queries and a few file requests on host files;
// anything else is ENOTTY, as for a file that does not understand the request.
func sysIoctl(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	req := a.Uint(1)
	switch req {
	case abi.FIOCLEX, abi.FIONCLEX:
		t.p.files.fds[a.Fd(0)].cloexec = req == abi.FIOCLEX
		return 0, nil
	}
	d, ok := ioctlSize[req]
	if !ok {
		return 0, unix.ENOTTY
	}
	switch req {
	case abi.TIOCSPGRP, abi.TIOCGPGRP:
		return t.foreground(f, req, a.Ptr(2))
	}
	buf := make([]byte, d.size+8)
	if d.in {
		if err := t.p.mm.CopyIn(a.Ptr(2), buf[:d.size]); err != nil {
			return 0, err
		}
	}
	if err := hostIoctl(f.fd, d.host, buf); err != nil {
		return 0, err
	}
	if d.out {
		return 0, t.p.mm.CopyOut(a.Ptr(2), buf[:d.size])
	}
	return 0, nil
}

// sysStatfs implements statfs(2): the host's answer for the file system the path is on.
func sysStatfs(t *Task, a Args) (uint64, error) {
	d, hp, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, withHostFile(d, hp, unix.O_PATH, func(fd int) error { return t.putStatfs(fd, a.Ptr(1)) })
}

// withHostFile opens (dirfd, path) on the host with flags for the length of f.
func withHostFile(dirfd int, path string, flags int, f func(fd int) error) error {
	fd, err := unix.Openat(dirfd, path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return f(fd)
}

// sysFstatfs implements fstatfs(2).
func sysFstatfs(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
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
