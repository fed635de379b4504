package kernel

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// File calls that the host performs on the host files behind guest descriptors and paths:
// copying between files, special files, advice, ranges of descriptors, memfds, old-style
// time setting, and inotify.

// readOffset reads the loff_t at addr, when addr is not NULL.
func (t *Task) readOffset(addr mm.Addr) (*int64, error) {
	if addr == 0 {
		return nil, nil
	}
	var b [8]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return nil, err
	}
	off := int64(binary.LittleEndian.Uint64(b[:]))
	return &off, nil
}

// writeOffset writes *off back to addr, when there is one.
func (t *Task) writeOffset(addr mm.Addr, off *int64) error {
	if off == nil {
		return nil
	}
	return t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint64(nil, uint64(*off)))
}

// sysSendfile implements sendfile(2) with the host's, between the host files. A send into
// a pipe or socket that would wait runs off the run loop.
func sysSendfile(t *Task, a Args) (uint64, error) {
	out, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	in, err := t.file(a.Fd(1))
	if err != nil {
		return 0, err
	}
	off, err := t.readOffset(a.Ptr(2))
	if err != nil {
		return 0, err
	}
	n := int(min(a[3], maxIO))
	send := func(ofd, ifd int) (uint64, error) {
		return rw(unix.Sendfile(ofd, ifd, off, n))
	}
	done := func(r uint64, err error) (uint64, error) {
		if err == unix.EPIPE {
			t.sigpipe()
		}
		if err != nil {
			return 0, err
		}
		return r, t.writeOffset(a.Ptr(2), off)
	}
	if !out.mayBlock() || !t.wouldBlock(out, false, uint64(n)) {
		return done(send(out.fd, in.fd))
	}
	ofd, err := unix.Dup(out.fd)
	if err != nil {
		return 0, err
	}
	ifd, err := unix.Dup(in.fd)
	if err != nil {
		unix.Close(ofd)
		return 0, err
	}
	return t.blockIntr(intrRestart, func(*cancel) (uint64, error) {
		defer unix.Close(ofd)
		defer unix.Close(ifd)
		return send(ofd, ifd)
	}, done)
}

// sysCopyFileRange implements copy_file_range(2) with the host's.
func sysCopyFileRange(t *Task, a Args) (uint64, error) {
	in, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	out, err := t.file(a.Fd(2))
	if err != nil {
		return 0, err
	}
	inOff, err := t.readOffset(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	outOff, err := t.readOffset(a.Ptr(3))
	if err != nil {
		return 0, err
	}
	r, err := unix.CopyFileRange(in.fd, inOff, out.fd, outOff, int(min(a[4], maxIO)), int(a.Uint(5)))
	if err != nil {
		return 0, err
	}
	if err := t.writeOffset(a.Ptr(1), inOff); err != nil {
		return 0, err
	}
	return uint64(r), t.writeOffset(a.Ptr(3), outOff)
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
// host applies the umask, which is vemu's (umask(2) sets it).
func (t *Task) mknodat(dirfd int32, pathAddr mm.Addr, mode uint32, dev uint64) (uint64, error) {
	d, p, err := t.pathAt(dirfd, pathAddr)
	if err != nil {
		return 0, err
	}
	return 0, unix.Mknodat(d, p, mode, int(dev))
}

// sysFadvise64 implements fadvise64(2): advice is passed to the host file.
func sysFadvise64(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fadvise(f.fd, a.Int64(1), a.Int64(2), int(a.Int(3)))
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
// /proc/self/fd as Linux shows it.
func sysMemfdCreate(t *Task, a Args) (uint64, error) {
	name, err := t.p.mm.CopyString(a.Ptr(0), 250)
	if err != nil {
		return 0, err
	}
	flags := a.Uint(1)
	if flags&^(abi.MFD_CLOEXEC|abi.MFD_ALLOW_SEALING|abi.MFD_HUGETLB) != 0 {
		return 0, unix.EINVAL
	}
	hfd, err := unix.MemfdCreate(name, int(flags&^abi.MFD_CLOEXEC)|unix.MFD_CLOEXEC)
	if err != nil {
		return 0, err
	}
	fd, err := t.p.files.install(&File{fd: hfd, refs: 1, path: fmt.Sprintf("/memfd:%s (deleted)", name), flags: abi.O_RDWR},
		flags&abi.MFD_CLOEXEC != 0, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return uint64(fd), nil
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
	d, p, err := t.pathAt(dirfd, pathAddr)
	if err != nil {
		return 0, err
	}
	return 0, unix.UtimesNanoAt(d, p, ts, 0)
}

// sysInotifyInit implements inotify_init(2) with a host inotify instance: events are read
// from it as from the host's.
func sysInotifyInit(t *Task, a Args) (uint64, error) { return t.inotifyInit(0) }

// sysInotifyInit1 implements inotify_init1(2).
func sysInotifyInit1(t *Task, a Args) (uint64, error) { return t.inotifyInit(a.Int(0)) }

func (t *Task) inotifyInit(flags int32) (uint64, error) {
	if flags&^(abi.O_NONBLOCK|abi.O_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	hflags := unix.IN_CLOEXEC
	if flags&abi.O_NONBLOCK != 0 {
		hflags |= unix.IN_NONBLOCK
	}
	hfd, err := unix.InotifyInit1(hflags)
	if err != nil {
		return 0, err
	}
	return t.installAnonInode(hfd, "inotify", abi.O_RDONLY|uint32(flags&abi.O_NONBLOCK), flags&abi.O_CLOEXEC != 0)
}

// sysInotifyAddWatch implements inotify_add_watch(2) on the path as the guest sees it.
func sysInotifyAddWatch(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if d != unix.AT_FDCWD {
		p = hostFdPath(d) + "/" + p
	}
	wd, err := unix.InotifyAddWatch(f.fd, p, a.Uint(2))
	return uint64(wd), err
}

// sysInotifyRmWatch implements inotify_rm_watch(2).
func sysInotifyRmWatch(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	_, err = unix.InotifyRmWatch(f.fd, a.Uint(1))
	return 0, err
}

// sysGetdents implements getdents(2), the old directory entry format, with the host's
// own (the host is x86-64 Linux too, so the format is the guest's).
func sysGetdents(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if f.fdDir != nil {
		return t.listFdDir(f, a.Ptr(1), min(a.Uint(2), 1<<20), false)
	}
	buf := make([]byte, min(a.Uint(2), 1<<20)+1)
	r, _, e := unix.Syscall(unix.SYS_GETDENTS, uintptr(f.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)-1))
	runtime.KeepAlive(buf)
	if e != 0 {
		return 0, e
	}
	return uint64(r), t.p.mm.CopyOut(a.Ptr(1), buf[:r])
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
	d, p, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.UtimesNanoAt(d, p, ts, 0)
}

// sysSyncfs implements syncfs(2).
func sysSyncfs(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Syncfs(f.fd)
}

// sysSyncFileRange implements sync_file_range(2).
func sysSyncFileRange(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.SyncFileRange(f.fd, a.Int64(1), a.Int64(2), int(a.Uint(3)))
}

// sysReadahead implements readahead(2).
func sysReadahead(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	_, _, e := unix.Syscall(unix.SYS_READAHEAD, uintptr(f.fd), uintptr(a[1]), uintptr(a[2]))
	if e != 0 {
		return 0, e
	}
	return 0, nil
}

// listFdDir lists the guest's /proc/self/fd from its position: ".", "..", then each open
// descriptor, in the getdents64 format (long) or the old getdents one, as many entries as
// fit in n bytes (EINVAL when not even one does, as Linux says).
func (t *Task) listFdDir(f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	names := []string{".", ".."}
	types := []byte{unix.DT_DIR, unix.DT_DIR}
	for fd, e := range f.fdDir.files.fds {
		if e.f != nil {
			names = append(names, fmt.Sprint(fd))
			types = append(types, unix.DT_LNK)
		}
	}
	var out []byte
	for i := int(f.dirPos); i >= 0 && i < len(names); i++ {
		name := names[i]
		var rec []byte
		if long {
			size := (19 + len(name) + 1 + 7) &^ 7
			rec = make([]byte, size)
			binary.LittleEndian.PutUint64(rec[0:], uint64(1000+i))
			binary.LittleEndian.PutUint64(rec[8:], uint64(i+1))
			binary.LittleEndian.PutUint16(rec[16:], uint16(size))
			rec[18] = types[i]
			copy(rec[19:], name)
		} else {
			size := (18 + len(name) + 2 + 7) &^ 7
			rec = make([]byte, size)
			binary.LittleEndian.PutUint64(rec[0:], uint64(1000+i))
			binary.LittleEndian.PutUint64(rec[8:], uint64(i+1))
			binary.LittleEndian.PutUint16(rec[16:], uint16(size))
			copy(rec[18:], name)
			rec[size-1] = types[i]
		}
		if len(out)+len(rec) > int(n) {
			if len(out) == 0 {
				return 0, unix.EINVAL
			}
			break
		}
		out = append(out, rec...)
		f.dirPos = int64(i + 1)
	}
	return uint64(len(out)), t.p.mm.CopyOut(addr, out)
}
