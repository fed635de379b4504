package kernel

import (
	"encoding/binary"
	"fmt"
	"path"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// hostLargefile is the host kernel's O_LARGEFILE, which a 64-bit kernel sets on every
// regular open and memfd and F_GETFL shows (x/sys spells it 0 on 64-bit hosts).
var hostLargefile = map[string]uint32{"amd64": 0x8000, "arm64": 0x20000}[runtime.GOARCH]

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
	if h&hostLargefile != 0 {
		g |= abi.O_LARGEFILE
	}
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
	// As Linux's build_open_how: the old calls drop unknown flags, O_PATH drops all but
	// its own, and the mode counts only for a file created.
	flags &= knownOpenFlags()
	if flags&abi.O_PATH != 0 {
		flags &= openPathFlags
	}
	mode &= 0o7777
	if !willCreate(flags) {
		mode = 0
	}
	if err := checkOpenFlags(flags); err != nil {
		return 0, err
	}
	p, err := t.path(pathAddr)
	if err != nil {
		return 0, err
	}
	if p == "" {
		return 0, unix.ENOENT
	}
	return t.openName(dirfd, p, flags, mode, true)
}

// openName is openat for the path p. With again, a path that the host resolved into its
// /proc without naming it there (a symbolic link of the guest's led there, or a working
// directory in /proc) is opened once more as the path in the guest's /proc it reached
// (guestProcPath), so that the guest's /proc answers it and vemu's own entries stay out
// of reach.
func (t *Task) openName(dirfd int32, p string, flags, mode uint32, again bool) (uint64, error) {
	var err error
	if dirfd, p, err = t.procLinks(dirfd, p); err != nil {
		return 0, err
	}
	var hfd int
	var ops fileOps // a /proc text file's, when p is one
	p = t.peerRelative(dirfd, p)
	if q, ok, err := t.otherProcMem(p); ok {
		// Another guest process's memory, as a debugger reads it.
		if err != nil {
			return 0, err
		}
		if hfd, err = memFile("mem", nil, flags&abi.O_ACCMODE); err != nil {
			return 0, err
		}
		f := &File{fd: hfd, refs: 1, path: p, flags: flags, ops: newProcMem(q, true)}
		fd, err := t.p.files.install(f, flags&abi.O_CLOEXEC != 0, 0)
		if err != nil {
			unix.Close(hfd)
			return 0, err
		}
		return uint64(fd), nil
	} else if e, ok := t.peerEntry(p); ok && !strings.Contains(e.dir, "/") && (e.name == "map_files" || strings.HasPrefix(e.name, "map_files/")) {
		return t.openPeerMapFiles(e, p, flags, mode)
	} else if e, ok := t.peerEntry(p); ok && e.name == "mountstats" && !t.mayRead(e.q) {
		return 0, unix.EACCES // as Linux's mountstats_open(): ptrace's read check
	} else if e, ok := t.peerEntry(p); ok && liveProcName(e.name) {
		return t.openPeerLive(e, p, flags)
	} else if b, ok, err := t.peerFileAt(p); ok {
		r, later := err.(onLoopRender)
		if err != nil && !later {
			return 0, err
		}
		if !t.procTextWritable(nil, path.Base(p), flags&abi.O_ACCMODE) {
			return 0, unix.EACCES
		}
		if later {
			return t.openOnLoop(r, p, flags)
		}
		if hfd, err = memFile(path.Base(p), b, flags&abi.O_ACCMODE); err != nil {
			return 0, err
		}
		ops = &procText{name: path.Base(p)}
	} else if who, name, ok := t.procTarget(p); ok {
		if b, ok := who.procFile(name); ok {
			name = path.Clean(name)
			if ownerOnly(name) && !t.mayReadOwned(t.p.procOwner()) {
				return 0, unix.EACCES // mode 0400 or 0600, root's once not dumpable
			}
			if name != "mem" {
				if !t.procTextWritable(who, name, flags&abi.O_ACCMODE) {
					return 0, unix.EACCES
				}
				if ops, err = t.ownProcOps(who, name); err != nil {
					return 0, err
				}
			}
			if hfd, err = memFile(name, b, flags&abi.O_ACCMODE); err != nil {
				return 0, err
			}
		}
	}
	if b, ok := t.systemFile(p); ok && hfd == 0 {
		if flags&abi.O_ACCMODE != abi.O_RDONLY {
			return 0, unix.EACCES // read-only files, as on Linux
		}
		if hfd, err = memFile(path.Base(p), b, flags&abi.O_ACCMODE); err != nil {
			return 0, err
		}
	}
	if hfd == 0 {
		if h, ok := t.fifoAt(dirfd, p, flags); ok {
			defer h.close()
			return t.openFifo(h.dir, h.name, flags, mode, func(hfd int) (uint64, error) { return t.installOpened(hfd, p, flags) })
		}
		hflags := hostOpenFlags(flags)
		leases := t.p.k.leases.any()
		if leases && flags&abi.O_ACCMODE != abi.O_RDONLY {
			hflags &^= unix.O_TRUNC // truncated once the leases are broken
		}
		hp, err := t.ttyPath(p)
		if err != nil {
			return 0, err
		}
		if hfd, err = t.openPath(dirfd, hp, hflags, mode&0o7777); err != nil {
			if gp, ok := err.(throughProc); ok {
				if !again {
					return 0, unix.ELOOP
				}
				return t.openName(abi.AT_FDCWD, string(gp), flags, mode, false)
			}
			return 0, err
		}
		if hflags&unix.O_TRUNC != 0 {
			mm.Shrunk(hfd) // shared mappings of the file lose what lay past its end
		}
		t.openedTerminal(hfd, p, flags)
		if leases {
			return t.waitLeases(hfd, flags, func() (uint64, error) {
				if hflags != hostOpenFlags(flags) {
					var st unix.Stat_t
					if unix.Fstat(hfd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
						if err := unix.Ftruncate(hfd, 0); err != nil {
							unix.Close(hfd)
							return 0, err
						}
						mm.Shrunk(hfd)
					}
				}
				return t.installOpened(hfd, p, flags)
			})
		}
	}
	if ops != nil {
		return t.installFile(&File{fd: hfd, refs: 1, path: p, flags: flags, k: t.p.k, ops: ops}, flags)
	}
	return t.installOpened(hfd, p, flags)
}

// installOpened gives the guest a descriptor for host descriptor hfd, opened as p.
func (t *Task) installOpened(hfd int, p string, flags uint32) (uint64, error) {
	f := &File{fd: hfd, refs: 1, path: p, flags: flags, k: t.p.k}
	if path.Clean(p) == "/dev/tty" {
		if rdev, ok := f.ttyDev(); ok && rdev != unix.Mkdev(5, 0) {
			// The controlling terminal, opened through /dev/tty: a file of /dev/tty's,
			// as Linux's (fstat shows the device 5,0), that reads and writes the terminal.
			f.statAs = "/dev/tty"
		}
	}
	t.p.k.leases.register(f, flags)
	if dir, ok := t.procDirOf(devFd(p)); ok {
		// ns is its owner's to list; fd and map_files also the process's own, as
		// Linux's proc_fd_permission() lets its own threads in.
		if _, uid, _, ok := t.procDirOwner(abi.AT_FDCWD, devFd(p)); ok && path.Base(dir) == "ns" && !t.mayReadOwned(uid) {
			f.refs = 1
			f.release()
			return 0, unix.EACCES
		}
		f.ops = &procFdDir{p: t.p, dir: dir}
	} else if e, ok := t.peerEntry(p); ok && e.isDir() {
		_, uid, _, _ := t.procDirOwner(abi.AT_FDCWD, p)
		if (e.name == "fd" || e.name == "fdinfo") && !t.mayRead(e.q) || e.name == "ns" && !t.mayReadOwned(uid) {
			f.refs = 1
			f.release()
			return 0, unix.EACCES // ptrace's read check, or ns's mode 0511
		}
		f.ops = &procPeerDir{q: e.q, dir: path.Join(e.dir, e.name)}
	} else if mayBeProcRoot(p, flags) && isHostProcRoot(hfd) {
		f.ops = &procRootDir{}
	} else if name, ok := t.procEntry(devFd(p)); ok && path.Clean(name) == "mem" {
		f.ops = newProcMem(t.p, false)
	}
	return t.installFile(f, flags)
}

// installFile gives the guest a descriptor for f, new with one reference.
func (t *Task) installFile(f *File, flags uint32) (uint64, error) {
	fd, err := t.p.files.install(f, flags&abi.O_CLOEXEC != 0, 0)
	if err != nil {
		f.refs = 1
		f.release()
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

// sysDup implements dup(2).
func sysDup(t *Task, a Args) (uint64, error) {
	f, err := t.fileRaw(a.Fd(0))
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
	f, err := t.fileRaw(a.Fd(0))
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
	f, err := t.fileRaw(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return uint64(a.Fd(1)), t.p.files.installAt(int(a.Fd(1)), f, a.Int(2)&abi.O_CLOEXEC != 0)
}

// sysFcntl implements fcntl(2).
func sysFcntl(t *Task, a Args) (uint64, error) {
	fd := a.Fd(0)
	f, err := t.fileRaw(fd)
	if err != nil {
		return 0, err
	}
	switch cmd := a.Int(1); {
	case f.flags&abi.O_PATH == 0:
	case cmd == abi.F_DUPFD, cmd == abi.F_DUPFD_CLOEXEC, cmd == abi.F_GETFD, cmd == abi.F_SETFD,
		cmd == abi.F_GETFL, cmd == fDupfdQuery, cmd == fCreatedQuery:
	default:
		return 0, unix.EBADF // as Linux's check_fcntl_cmd: little of fcntl takes an O_PATH file
	}
	switch a.Int(1) {
	case fDupfdQuery:
		// Whether the descriptor in arg shares this one's open file description.
		g, err := t.fileRaw(a.Fd(2))
		if err != nil {
			return 0, err
		}
		if g == f {
			return 1, nil
		}
		return 0, nil
	case fCreatedQuery, fGetRWHint:
		// The host's file: whether its open created it; its inode's write hint.
		var hint uint64
		arg := uintptr(0)
		if a.Int(1) == fGetRWHint {
			arg = uintptr(unsafe.Pointer(&hint))
		}
		// SAFETY: arg is 0 or hint's address, a u64 the host writes.
		r, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(f.fd), uintptr(a.Int(1)), arg)
		if e != 0 {
			return 0, e
		}
		if a.Int(1) == fGetRWHint {
			return 0, t.p.mm.CopyOut(a.Ptr(2), binary.LittleEndian.AppendUint64(nil, hint))
		}
		return uint64(r), nil
	case fSetRWHint:
		// Linux checks ownership before it reads the hint: the host's check, with a
		// hint the host cannot read when the guest's is unreadable.
		var hint uint64
		arg := uintptr(kernelHostAddr)
		var b [8]byte
		if t.p.mm.CopyIn(a.Ptr(2), b[:]) == nil {
			hint = binary.LittleEndian.Uint64(b[:])
			arg = uintptr(unsafe.Pointer(&hint))
		}
		// SAFETY: arg is hint's address, a u64 the host reads, or one it refuses.
		_, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(f.fd), fSetRWHint, arg)
		if e != 0 {
			return 0, e
		}
		return 0, nil
	case fGetOwnerUIDs:
		asyncMu.Lock()
		var uids []byte
		if f.own != nil {
			uids = binary.LittleEndian.AppendUint32(uids, f.own.uid)
			uids = binary.LittleEndian.AppendUint32(uids, f.own.euid)
		} else {
			uids = make([]byte, 8)
		}
		asyncMu.Unlock()
		return 0, t.p.mm.CopyOut(a.Ptr(2), uids)
	case abi.F_DUPFD, abi.F_DUPFD_CLOEXEC:
		min := int(a.Int(2))
		if min < 0 || min >= t.p.files.limit() {
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
		fl, err := f.kind().getfl(f)
		return uint64(fl | f.asyncFlag()), err
	case abi.F_SETFL:
		// O_ASYNC is vemu's to act on (sigio.go), never the host's, and only for a
		// file that can signal.
		fl := a.Uint(2)
		if err := f.kind().setfl(f, fl&^abi.O_ASYNC); err != nil {
			return 0, err
		}
		t.setAsync(f, fd, fl&abi.O_ASYNC != 0 && f.canSignal())
		return 0, nil
	case abi.F_GETOWN, abi.F_SETOWN, abi.F_GETOWN_EX, abi.F_SETOWN_EX, abi.F_GETSIG, abi.F_SETSIG:
		return t.fcntlOwn(f, a.Int(1), a[2])
	case abi.F_GETLK, abi.F_SETLK, abi.F_SETLKW, abi.F_OFD_GETLK, abi.F_OFD_SETLK, abi.F_OFD_SETLKW:
		return t.fcntlLock(f, a.Int(1), a.Ptr(2))
	case abi.F_NOTIFY:
		return t.fcntlNotify(f, fd, a[2])
	case abi.F_SETLEASE, abi.F_GETLEASE:
		return t.fcntlLease(f, fd, a.Int(1), a.Int(2))
	case abi.F_GETPIPE_SZ, abi.F_SETPIPE_SZ, abi.F_GET_SEALS, abi.F_ADD_SEALS:
		r, err := unix.FcntlInt(uintptr(f.fd), int(a.Int(1)), int(a.Int(2)))
		return uint64(r), err
	}
	return 0, unix.EINVAL
}

// fcntl commands past the usual ones: F_GETOWNER_UIDS, F_DUPFD_QUERY (Linux 6.10),
// F_CREATED_QUERY (6.12), F_GET_RW_HINT and F_SET_RW_HINT.
const (
	fGetOwnerUIDs = 17
	fDupfdQuery   = 1027
	fCreatedQuery = 1028
	fGetRWHint    = 1035
	fSetRWHint    = 1036
)

// sysPipe implements pipe(2).
func sysPipe(t *Task, a Args) (uint64, error) { return t.pipe2(a.Ptr(0), 0) }

// sysPipe2 implements pipe2(2).
func sysPipe2(t *Task, a Args) (uint64, error) { return t.pipe2(a.Ptr(0), a.Uint(1)) }

func (t *Task) pipe2(addr mm.Addr, flags uint32) (uint64, error) {
	// O_NOTIFICATION_PIPE (O_EXCL) is the host's to answer: ENOPKG without watch queues.
	if flags&^(abi.O_CLOEXEC|abi.O_NONBLOCK|abi.O_DIRECT|abi.O_EXCL) != 0 {
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

// sysCloseRange implements close_range(2): the guest's descriptors first..last closed, or
// marked close-on-exec with CLOSE_RANGE_CLOEXEC. (The table is never shared with another
// process, so CLOSE_RANGE_UNSHARE has nothing to do.)
func sysCloseRange(t *Task, a Args) (uint64, error) {
	first, last, flags := a.Uint(0), a.Uint(1), a.Uint(2)
	if flags&^(abi.CLOSE_RANGE_UNSHARE|abi.CLOSE_RANGE_CLOEXEC) != 0 || first > last {
		return 0, unix.EINVAL
	}
	ft := t.p.files
	for fd := uint64(first); fd <= uint64(last) && fd < uint64(len(ft.fds)); fd++ {
		if ft.fds[fd].f == nil {
			continue
		}
		if flags&abi.CLOSE_RANGE_CLOEXEC != 0 {
			ft.fds[fd].cloexec = true
		} else {
			ft.close(int32(fd))
		}
	}
	return 0, nil
}

// sysMemfdCreate implements memfd_create(2) with a host memfd; its name shows in
// /proc/self/fd as Linux shows it. As Linux's, the flags are checked before the name, and
// a name past 249 bytes is EINVAL; the host applies MFD_NOEXEC_SEAL and MFD_EXEC (and its
// vm.memfd_noexec default when neither is given).
func sysMemfdCreate(t *Task, a Args) (uint64, error) {
	flags := a.Uint(1)
	valid := uint32(abi.MFD_CLOEXEC | abi.MFD_ALLOW_SEALING | abi.MFD_HUGETLB | abi.MFD_NOEXEC_SEAL | abi.MFD_EXEC)
	if flags&abi.MFD_HUGETLB != 0 {
		valid |= abi.MFD_HUGE_MASK << abi.MFD_HUGE_SHIFT
	}
	if flags&^valid != 0 || flags&abi.MFD_EXEC != 0 && flags&abi.MFD_NOEXEC_SEAL != 0 {
		return 0, unix.EINVAL
	}
	// As Linux's MFD_NAME_MAX_LEN: NAME_MAX less the "memfd:" prefix.
	name, err := t.p.mm.CopyString(a.Ptr(0), 249)
	if err == unix.ENAMETOOLONG {
		return 0, unix.EINVAL
	}
	if err != nil {
		return 0, err
	}
	hfd, err := unix.MemfdCreate(name, int(flags&^abi.MFD_CLOEXEC)|unix.MFD_CLOEXEC)
	if err != nil {
		return 0, err
	}
	f := &File{fd: hfd, refs: 1, path: fmt.Sprintf("/memfd:%s (deleted)", name), flags: abi.O_RDWR, k: t.p.k}
	t.p.k.leases.registerMemfd(f)
	fd, err := t.p.files.install(f, flags&abi.MFD_CLOEXEC != 0, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return uint64(fd), nil
}

// sysMemfdSecret implements memfd_secret(2) with the host's own secret memory file, so
// that the pages are the host kernel's secret memory too: out of its page cache and
// direct map. The host answers read and write (EINVAL), pread and lseek (ESPIPE),
// ftruncate (once) and fstat as Linux does; the mapping rules are sysMmap's. Where
// the host has secret memory disabled its ENOSYS stands, as Linux's own then.
func sysMemfdSecret(t *Task, a Args) (uint64, error) {
	flags := a.Uint(0)
	if flags&^abi.O_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	r, _, e := unix.Syscall(unix.SYS_MEMFD_SECRET, unix.O_CLOEXEC, 0, 0)
	if e != 0 {
		return 0, e
	}
	fd, err := t.p.files.install(&File{fd: int(r), refs: 1, path: "/secretmem (deleted)", flags: abi.O_RDWR},
		flags&abi.O_CLOEXEC != 0, 0)
	if err != nil {
		unix.Close(int(r))
		return 0, err
	}
	return uint64(fd), nil
}

func (t *Task) installAnonInode(hfd int, name string, flags uint32, cloexec bool) (uint64, error) {
	// Reads of eventfd, inotify and timerfd descriptors wait for an event.
	fd, err := t.p.files.install(&File{fd: hfd, refs: 1, path: "anon_inode:" + name, flags: flags, blockKind: blockMay}, cloexec, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return uint64(fd), nil
}
