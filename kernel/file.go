package kernel

import (
	"encoding/binary"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// fileOps is what one kind of open file does. Every kind has a host descriptor, f.fd,
// which poll, select and epoll watch, fstat describes and ioctl reaches: a kind that vemu
// answers itself (a timerfd on the virtual clock, a signalfd) keeps a host eventfd there
// and makes it readable exactly when the guest's file is.
//
// The kinds: hostFile (regular files, directories, pipes, sockets, terminals, eventfds,
// epoll and inotify instances, memfds and the synthetic /proc files, which are memfds:
// the host does the work), *virtTimerfd, *signalFD and *procFdDir.
type fileOps interface {
	// io is read(2), write(2), their vector forms and their positional forms.
	io(t *Task, f *File, r ioReq) (uint64, error)
	// seek is lseek(2).
	seek(f *File, off int64, whence int32) (uint64, error)
	// readdir is getdents64(2) (long) and getdents(2): at most n bytes of records at addr.
	readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error)
	// getfl and setfl are fcntl's F_GETFL and F_SETFL, in guest flags.
	getfl(f *File) (uint32, error)
	setfl(f *File, flags uint32) error
	// fork makes the child's own copy of f when child is forked, with no references yet.
	fork(f *File, child *Process) (*File, error)
	// release runs when the last descriptor of f is closed, before f.fd is.
	release()
}

// ioReq is one read or write as the guest asked for it.
type ioReq struct {
	a          Args // fd; buffer or iovec array; count; offset
	in         bool // a read: the data goes into guest memory
	vector     bool // a[1] is an array of a[2] iovecs
	positional bool // at offset a[3], leaving the file position alone
}

// want is the permission the guest memory needs.
func (r ioReq) want() emu.Prot {
	if r.in {
		return emu.ProtWrite
	}
	return emu.ProtRead
}

// bufs resolves the guest memory of the call as host slices.
func (r ioReq) bufs(t *Task) ([][]byte, error) {
	if r.vector {
		return t.iovecs(r.a.Ptr(1), r.a.Int(2), r.want())
	}
	if r.a[2] == 0 {
		if _, ok := r.a.Ptr(1).RangeEnd(0); !ok {
			return nil, unix.EFAULT // access_ok fails on a kernel address, even for 0 bytes
		}
		return nil, nil
	}
	return t.bufs(r.a.Ptr(1), r.a[2], r.want())
}

// first is the call's first buffer: the buffer itself, or the first iovec. The kinds
// whose reads return one record (a timerfd's count) read into it alone.
func (r ioReq) first(t *Task) (mm.Addr, uint64, error) {
	if !r.vector {
		return r.a.Ptr(1), r.a[2], nil
	}
	if r.a.Int(2) <= 0 {
		return 0, 0, unix.EINVAL
	}
	var b [abi.IovecSize]byte
	if err := t.p.mm.CopyIn(r.a.Ptr(1), b[:]); err != nil {
		return 0, 0, err
	}
	var iov abi.Iovec
	iov.Unmarshal(b[:])
	return mm.Addr(iov.Base), iov.Len, nil
}

// isRegular is whether host descriptor fd is a regular file.
func isRegular(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
}

// hostFile is a file the host implements: every call goes to f.fd.
type hostFile struct{}

func (hostFile) io(t *Task, f *File, r ioReq) (uint64, error) {
	resolve := func() ([][]byte, error) { return r.bufs(t) }
	b, err := resolve()
	if err != nil {
		return t.hostIOFault(f, r, err)
	}
	if r.in && !r.vector && total(b) < min(r.a[2], maxIO) && !isRegular(f.fd) &&
		!(f.mayBlock() && t.wouldBlock(f, true, 1) && !hostNonblocking(f.fd)) {
		// A buffer that faults part way: a regular file's read stops there, but a
		// pipe's packet, an eventfd's count or a datagram is copied whole or EFAULT,
		// as the host finds with the full count.
		return t.hostIOFault(f, r, unix.EFAULT)
	}
	if r.vector && len(b) == 0 {
		return t.hostIOEmpty(f, r)
	}
	return t.transfer(f, b, r.want(), r.a.Int64(3), r.positional, resolve)
}

func (hostFile) seek(f *File, off int64, whence int32) (uint64, error) {
	pos, err := unix.Seek(f.fd, off, int(whence))
	return uint64(pos), err
}

// readdir passes the host's records through: the host is x86-64 Linux as well, so both
// struct linux_dirent64 and the old struct linux_dirent are already in the guest's format.
func (hostFile) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	buf := make([]byte, n+1)
	nr := uintptr(unix.SYS_GETDENTS64)
	if !long {
		nr = unix.SYS_GETDENTS
	}
	// SAFETY: buf is a live Go slice of len(buf)-1 >= n bytes the host writes at most n
	// of; KeepAlive holds it until the call returns. The +1 keeps &buf[0] valid for n = 0.
	pos, perr := unix.Seek(f.fd, 0, unix.SEEK_CUR)
	r, _, e := unix.Syscall(nr, uintptr(f.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(n))
	runtime.KeepAlive(buf)
	if e != 0 {
		return 0, e
	}
	if t.p.mm.CopyOut(addr, buf[:r]) == nil {
		return uint64(r), nil
	}
	// As Linux's filldir: the entries that fit in the writable part of the buffer are
	// the answer, EFAULT if none does, and the directory's position is after them, not
	// after all the host read.
	b, _ := t.p.mm.Bufs(addr, int(r), emu.ProtWrite, nil)
	w := total(b)
	var done uint64
	next := pos
	for done+18 <= uint64(r) {
		reclen := uint64(binary.LittleEndian.Uint16(buf[done+16:]))
		if reclen == 0 || done+reclen > w {
			break
		}
		next = int64(binary.LittleEndian.Uint64(buf[done+8:]))
		done += reclen
	}
	if perr == nil {
		unix.Seek(f.fd, next, unix.SEEK_SET)
	}
	if done == 0 {
		return 0, unix.EFAULT
	}
	return done, nil
}

func (hostFile) getfl(f *File) (uint32, error) {
	fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
	if err != nil {
		return 0, err
	}
	return guestOpenFlags(uint32(fl)) &^ abi.O_CLOEXEC, nil
}

func (hostFile) setfl(f *File, flags uint32) error {
	_, err := unix.FcntlInt(uintptr(f.fd), unix.F_SETFL, hostOpenFlags(flags))
	return err
}

// fork gives the child a duplicate of the host descriptor: the host's open file
// description, and so the file position, stays shared, as fork shares it on Linux.
func (hostFile) fork(f *File, child *Process) (*File, error) {
	fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	nf := &File{fd: fd, path: f.path, flags: f.flags, blockKind: f.blockKind, ops: f.ops, desc: f.desc, k: f.k,
		ttyKind: f.ttyKind, ttyRdev: f.ttyRdev, statAs: f.statAs}
	if f.desc != nil {
		f.k.leases.copied(f.desc)
	}
	return nf, nil
}

func (hostFile) release() {}

// procFdDir is a directory of the guest's own /proc opened as such: /proc/self/fd,
// /proc/self/task, or the directory of the process or of one of its threads. Listing it
// lists the opening process's descriptors, threads or entries, not vemu's. The host
// descriptor is a directory, which answers read(2) with EISDIR as the real one does.
type procFdDir struct {
	hostFile
	p   *Process
	pos int64 // the listing's position, in entries
	// dir is the directory's path below /proc, as the guest names its entries: "self/fd",
	// "self/task", "self" or "self/task/TID".
	dir string
}

// seek moves in the listing (rewinddir, telldir and seekdir).
func (d *procFdDir) seek(f *File, off int64, whence int32) (uint64, error) {
	switch whence {
	case abi.SEEK_SET:
		if off < 0 {
			return 0, unix.EINVAL
		}
		d.pos = off
	case abi.SEEK_CUR:
		if d.pos+off < 0 {
			return 0, unix.EINVAL
		}
		d.pos += off
	default:
		return 0, unix.EINVAL
	}
	return uint64(d.pos), nil
}

func (d *procFdDir) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	return t.listFdDir(d, addr, n, long)
}

// fork makes the child's copy list the child's own descriptors: the parent's table
// belongs to the parent's goroutine, and right after fork the two tables are the same.
func (d *procFdDir) fork(f *File, child *Process) (*File, error) {
	nf, err := d.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	nf.ops = &procFdDir{p: child, pos: d.pos, dir: d.dir}
	return nf, nil
}
