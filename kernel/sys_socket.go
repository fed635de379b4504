package kernel

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Sockets are the host's: a guest socket is a host socket, and addresses, options and
// control messages pass through as bytes, since their layouts are the same on every
// 64-bit Linux. What vemu translates: file descriptors passed with SCM_RIGHTS (guest fds
// out, host fds in), relative AF_UNIX paths (the guest's working directory is not the
// host process's), and waiting, which happens off the run loop as for pipes.

// maxSockaddr bounds an address: struct sockaddr_storage's size.
const maxSockaddr = 128

// sunPathMax is the size of sockaddr_un's sun_path.
const sunPathMax = 108

// installSocket gives the guest an fd for the host socket hfd, with SOCK_NONBLOCK and
// SOCK_CLOEXEC from flags.
func (t *Task) installSocket(hfd int, flags int32) (uint64, error) {
	fl := uint32(abi.O_RDWR)
	if flags&abi.SOCK_NONBLOCK != 0 {
		fl |= abi.O_NONBLOCK
	}
	name := "socket:"
	var st unix.Stat_t
	if unix.Fstat(hfd, &st) == nil {
		name = fmt.Sprintf("socket:[%d]", st.Ino)
	}
	fd, err := t.p.files.install(&File{fd: hfd, refs: 1, path: name, flags: fl, blockKind: blockMay}, flags&abi.SOCK_CLOEXEC != 0, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return uint64(fd), nil
}

// sockFlags checks the flags of socket, socketpair and accept4 and returns the host's.
func sockFlags(flags int32) (int, error) {
	if flags&^(abi.SOCK_NONBLOCK|abi.SOCK_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	h := unix.SOCK_CLOEXEC
	if flags&abi.SOCK_NONBLOCK != 0 {
		h |= unix.SOCK_NONBLOCK
	}
	return h, nil
}

// hostSockType is the host's type argument for the guest's: the type with SOCK_CLOEXEC
// always (vemu's own table) and SOCK_NONBLOCK as asked.
func hostSockType(typ int32) (int, error) {
	hflags, err := sockFlags(typ &^ 0xf)
	if err != nil {
		return 0, err
	}
	return int(typ&0xf) | hflags, nil
}

// sysSocket implements socket(2).
func sysSocket(t *Task, a Args) (uint64, error) {
	typ, err := hostSockType(a.Int(1))
	if err != nil {
		return 0, err
	}
	hfd, err := unix.Socket(int(a.Int(0)), typ, int(a.Int(2)))
	if err != nil {
		return 0, err
	}
	return t.installSocket(hfd, a.Int(1)&^0xf)
}

// sysSocketpair implements socketpair(2).
func sysSocketpair(t *Task, a Args) (uint64, error) {
	typ, err := hostSockType(a.Int(1))
	if err != nil {
		return 0, err
	}
	// EFAULT before any socket exists: Linux stores the descriptors it reserved
	// before it creates the sockets (and finds the family or protocol wrong).
	var b [8]byte
	if err := t.p.mm.CopyIn(a.Ptr(3), b[:]); err != nil {
		return 0, err
	}
	fds, err := unix.Socketpair(int(a.Int(0)), typ, int(a.Int(2)))
	if err != nil {
		return 0, err
	}
	g0, err := t.installSocket(fds[0], a.Int(1)&^0xf)
	if err != nil {
		unix.Close(fds[1])
		return 0, err
	}
	g1, err := t.installSocket(fds[1], a.Int(1)&^0xf)
	if err != nil {
		t.p.files.close(int32(g0))
		return 0, err
	}
	t.notePeerID(fds[0])
	t.notePeerID(fds[1])
	binary.LittleEndian.PutUint32(b[0:], uint32(g0))
	binary.LittleEndian.PutUint32(b[4:], uint32(g1))
	return 0, t.p.mm.CopyOut(a.Ptr(3), b[:])
}

// socketFile returns the open file behind guest fd, which must be a socket.
func (t *Task) socketFile(fd int32) (*File, error) {
	f, err := t.file(fd)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil, unix.ENOTSOCK
	}
	return f, nil
}

// readSockaddr reads an address of n bytes from the guest and makes a relative AF_UNIX
// path relative to the guest's working directory. Inside a root, an AF_UNIX path is
// resolved there (following its last component unless bind creates it), and named
// through /proc/self/fd while the returned hold keeps the descriptor open.
func (t *Task) readSockaddr(addr mm.Addr, n uint32, bind bool) ([]byte, *heldFd, error) {
	if int32(n) < 0 || n > maxSockaddr {
		return nil, nil, unix.EINVAL
	}
	b := make([]byte, n)
	if err := t.p.mm.CopyIn(addr, b); err != nil {
		return nil, nil, err
	}
	if n > 2 && binary.LittleEndian.Uint16(b) == abi.AF_UNIX && b[2] != 0 && t.p.k.root != nil {
		path := string(b[2:])
		if i := strings.IndexByte(path, 0); i >= 0 {
			path = path[:i]
		}
		h, err := t.lookup(abi.AT_FDCWD, path, !bind)
		if err != nil {
			return nil, nil, err
		}
		full := h.full()
		if len(full) >= sunPathMax {
			h.close()
			return nil, nil, unix.ENAMETOOLONG
		}
		return append(append(b[:2:2], full...), 0), holdFd(h.own), nil
	}
	b, err := t.relSockaddr(b)
	return b, nil, err
}

// heldFd keeps a host descriptor open until released, or, should the call holding it be
// abandoned (its process killed while it waits), until the garbage collector finds it
// unreachable.
type heldFd struct{ fd int }

func holdFd(fd int) *heldFd {
	h := &heldFd{fd: fd}
	runtime.SetFinalizer(h, func(h *heldFd) { unix.Close(h.fd) })
	return h
}

// release closes the descriptor now; a nil hold has nothing to close.
func (h *heldFd) release() {
	if h == nil || h.fd < 0 {
		return
	}
	runtime.SetFinalizer(h, nil)
	unix.Close(h.fd)
	h.fd = -1
}

// relSockaddr makes a relative AF_UNIX path relative to the guest's working directory.
func (t *Task) relSockaddr(b []byte) ([]byte, error) {
	if len(b) > 2 && binary.LittleEndian.Uint16(b) == abi.AF_UNIX && b[2] != 0 && b[2] != '/' {
		path := string(b[2:])
		if i := strings.IndexByte(path, 0); i >= 0 {
			path = path[:i]
		}
		full := t.unixPrefix() + path
		if len(full) >= sunPathMax {
			return nil, unix.ENAMETOOLONG
		}
		b = append(append(b[:2:2], full...), 0)
	}
	return b, nil
}

// procFdPrefix is how readSockaddr names a directory inside the root.
var procFdPrefix = regexp.MustCompile(`^/proc/self/fd/[0-9]+/?`)

// unixPrefix is what reaches the guest's working directory from the host process's.
func (t *Task) unixPrefix() string { return fmt.Sprintf("/proc/self/fd/%d/", t.p.fs.cwdFd) }

// writeSockaddr gives the guest an address the host returned: at most *lenAddr bytes of
// it, and its full length in *lenAddr, as Linux's move_addr_to_user does. A path made
// relative by readSockaddr is shown as the guest gave it.
func (t *Task) writeSockaddr(addr, lenAddr mm.Addr, b []byte) error {
	if addr == 0 {
		return nil
	}
	b = t.guestSockaddr(b)
	var lb [4]byte
	if err := t.p.mm.CopyIn(lenAddr, lb[:]); err != nil {
		return err
	}
	room := int32(binary.LittleEndian.Uint32(lb[:]))
	if room < 0 {
		return unix.EINVAL
	}
	if err := t.p.mm.CopyOut(addr, b[:min(len(b), int(room))]); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(b)))
	return t.p.mm.CopyOut(lenAddr, lb[:])
}

// guestSockaddr shows an address the host returned as the guest gave it: a path made
// relative by readSockaddr loses the prefix that made it so.
func (t *Task) guestSockaddr(b []byte) []byte {
	if len(b) > 2 && binary.LittleEndian.Uint16(b) == abi.AF_UNIX && t.p.k.root != nil {
		// Inside a root the path was named through a descriptor: the name is what is left.
		if m := procFdPrefix.FindIndex(b[2:]); m != nil {
			return append(b[:2:2], b[2+m[1]:]...)
		}
	}
	if len(b) > 2 && binary.LittleEndian.Uint16(b) == abi.AF_UNIX {
		if prefix := t.unixPrefix(); strings.HasPrefix(string(b[2:]), prefix) {
			return append(b[:2:2], b[2+len(prefix):]...)
		}
	}
	return b
}

// rawSockaddrCall runs a host call that takes (fd, address, length).
func rawSockaddrCall(nr uintptr, fd int, sa []byte) error {
	// SAFETY: p points into sa, live Go memory of len(sa) bytes that the host only reads;
	// KeepAlive holds sa until the call returns.
	var p unsafe.Pointer
	if len(sa) > 0 {
		p = unsafe.Pointer(&sa[0])
	}
	_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(p), uintptr(len(sa)))
	runtime.KeepAlive(sa)
	if e != 0 {
		return e
	}
	return nil
}

// rawNameCall runs a host call that fills an address (getsockname, getpeername, accept4)
// and returns its result and the address.
func rawNameCall(nr uintptr, fd int, extra uintptr) (uintptr, []byte, error) {
	b := make([]byte, maxSockaddr)
	n := uint32(len(b))
	// SAFETY: b and n are live Go memory; the host writes at most n (= len(b)) bytes into b
	// and the address's length into n. KeepAlive holds b until the call returns.
	r, _, e := unix.Syscall6(nr, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&n)), extra, 0, 0)
	runtime.KeepAlive(b)
	if e != 0 {
		return 0, nil, e
	}
	return r, b[:min(int(n), len(b))], nil
}

// sysBind implements bind(2).
func sysBind(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	sa, hold, err := t.readSockaddr(a.Ptr(1), a.Uint(2), true)
	if err != nil {
		return 0, err
	}
	defer hold.release()
	return 0, rawSockaddrCall(unix.SYS_BIND, f.fd, sa)
}

// sysConnect implements connect(2); a connection that takes time is waited for off the
// run loop.
func sysConnect(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	sa, hold, err := t.readSockaddr(a.Ptr(1), a.Uint(2), false)
	if err != nil {
		return 0, err
	}
	t.notePeerID(f.fd) // what the server's accepted socket says of its peer
	if nonblocking(f) {
		defer hold.release()
		return 0, rawSockaddrCall(unix.SYS_CONNECT, f.fd, sa)
	}
	fd, err := unix.Dup(f.fd)
	if err != nil {
		hold.release()
		return 0, err
	}
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		defer unix.Close(fd)
		defer hold.release()
		return 0, rawSockaddrCall(unix.SYS_CONNECT, fd, sa)
	}, nil)
}

// nonblocking says whether f's open file description has O_NONBLOCK.
func nonblocking(f *File) bool {
	fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_NONBLOCK != 0
}

// sysListen implements listen(2).
func sysListen(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if err := unix.Listen(f.fd, int(a.Int(1))); err != nil {
		return 0, err
	}
	t.notePeerID(f.fd) // what its clients' sockets say of their peer
	return 0, nil
}

// sysAccept implements accept(2).
func sysAccept(t *Task, a Args) (uint64, error) { return t.accept(a, 0) }

// sysAccept4 implements accept4(2).
func sysAccept4(t *Task, a Args) (uint64, error) { return t.accept(a, a.Int(3)) }

func (t *Task) accept(a Args, flags int32) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	hflags, err := sockFlags(flags)
	if err != nil {
		return 0, err
	}
	if t.p.files.full() {
		return 0, unix.EMFILE // before a connection is taken, as Linux
	}
	var nfd int
	var name []byte
	try := func(fd, _ int) (uint64, error) {
		r, b, err := rawNameCall(unix.SYS_ACCEPT4, fd, uintptr(hflags))
		if err != nil {
			return 0, err
		}
		nfd, name = int(r), b
		return 0, nil
	}
	done := func(_ uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		if a[1] != 0 {
			if err := t.writeSockaddr(a.Ptr(1), a.Ptr(2), name); err != nil {
				unix.Close(nfd)
				return 0, err
			}
		}
		acceptedPeerID(f.fd, nfd)
		return t.installSocket(nfd, flags)
	}
	if !t.wouldBlock(f, true, 1) || !listening(f.fd) {
		// A socket that does not listen (a datagram socket: EOPNOTSUPP; a stream
		// socket before listen: EINVAL) has nothing to wait for: the host says why.
		return done(try(f.fd, 0))
	}
	// accept4 has no flag for one call that does not wait: it runs on a duplicate of the
	// guest's descriptor, once first in line.
	return t.waitHostFd(f, unix.POLLIN, false, try, done)
}

// listening reports whether the host socket fd accepts connections.
func listening(fd int) bool {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	return err != nil || v != 0
}

// sysGetsockname implements getsockname(2).
func sysGetsockname(t *Task, a Args) (uint64, error) {
	return t.nameOf(a, unix.SYS_GETSOCKNAME)
}

// sysGetpeername implements getpeername(2).
func sysGetpeername(t *Task, a Args) (uint64, error) {
	return t.nameOf(a, unix.SYS_GETPEERNAME)
}

func (t *Task) nameOf(a Args, nr uintptr) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	_, name, err := rawNameCall(nr, f.fd, 0)
	if err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, unix.EFAULT
	}
	return 0, t.writeSockaddr(a.Ptr(1), a.Ptr(2), name)
}

// sysShutdown implements shutdown(2).
func sysShutdown(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Shutdown(f.fd, int(a.Int(1)))
}

// maxSockopt bounds an option's value; the largest standard ones are far smaller.
const maxSockopt = 4096

// sysSetsockopt implements setsockopt(2), the value passed through as bytes.
func sysSetsockopt(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	n := a.Uint(4)
	if int32(n) < 0 {
		return 0, unix.EINVAL
	}
	b := make([]byte, min(n, maxSockopt))
	if err := t.p.mm.CopyIn(a.Ptr(3), b); err != nil {
		return 0, err
	}
	// SAFETY: p points into b, live Go memory of len(b) bytes that the host only reads;
	// KeepAlive holds b until the call returns.
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(f.fd), uintptr(a.Int(1)), uintptr(a.Int(2)), uintptr(p), uintptr(len(b)), 0)
	runtime.KeepAlive(b)
	if e != 0 {
		return 0, e
	}
	return 0, nil
}

// sysGetsockopt implements getsockopt(2).
func sysGetsockopt(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	var lb [4]byte
	if err := t.p.mm.CopyIn(a.Ptr(4), lb[:]); err != nil {
		// The host's socket answers first what it refuses before it reads the length
		// (a level its protocol has no options of: EOPNOTSUPP), else EFAULT.
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(f.fd), uintptr(a.Int(1)), uintptr(a.Int(2)), 0, 0, 0)
		if e != 0 {
			return 0, e
		}
		return 0, err
	}
	n := int32(binary.LittleEndian.Uint32(lb[:]))
	if n < 0 {
		// The host's socket judges the level and option before the length, as Linux's.
		var one [maxSockopt]byte
		hn := uint32(n)
		// SAFETY: one and hn are live Go memory; with a negative length the host writes
		// nothing into one (it refuses the length), at most the length into hn.
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(f.fd), uintptr(a.Int(1)), uintptr(a.Int(2)), uintptr(unsafe.Pointer(&one[0])), uintptr(unsafe.Pointer(&hn)), 0)
		if e != 0 {
			return 0, e
		}
		return 0, unix.EINVAL
	}
	b := make([]byte, min(int(n), maxSockopt)+1)
	hn := uint32(len(b) - 1)
	// SAFETY: b is live Go memory of len(b)-1 >= hn bytes (the +1 keeps &b[0] valid for a
	// zero length); the host writes at most hn bytes into b and the length into hn.
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(f.fd), uintptr(a.Int(1)), uintptr(a.Int(2)), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&hn)), 0)
	runtime.KeepAlive(b)
	if e != 0 {
		return 0, e
	}
	if a.Int(1) == unix.SOL_SOCKET && a.Int(2) == unix.SO_PEERCRED {
		peerCred(f.fd, b[:min(int(hn), len(b)-1)])
	}
	if err := t.p.mm.CopyOut(a.Ptr(3), b[:min(int(hn), len(b)-1)]); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(lb[:], hn)
	return 0, t.p.mm.CopyOut(a.Ptr(4), lb[:])
}
