package kernel

import (
	"encoding/binary"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Sending and receiving on sockets: the data goes through a private buffer (a wait may
// outlive the guest's mapping of it), the address through readSockaddr and writeSockaddr,
// and SCM_RIGHTS file descriptors are translated between the guest's table and the host's.

const (
	msgNosignal = 0x4000 // MSG_NOSIGNAL
	msgWaitall  = 0x100  // MSG_WAITALL
)

// msghdr is struct msghdr as the guest lays it out (x86-64).
type msghdr struct {
	name       mm.Addr
	nameLen    uint32
	iov        mm.Addr
	iovLen     uint64
	control    mm.Addr
	controlLen uint64
	flags      int32
}

func (t *Task) readMsghdr(addr mm.Addr) (msghdr, error) {
	var b [abi.MsghdrSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return msghdr{}, err
	}
	le := binary.LittleEndian
	return msghdr{
		name: mm.Addr(le.Uint64(b[0:])), nameLen: le.Uint32(b[8:]),
		iov: mm.Addr(le.Uint64(b[16:])), iovLen: le.Uint64(b[24:]),
		control: mm.Addr(le.Uint64(b[32:])), controlLen: le.Uint64(b[40:]),
		flags: int32(le.Uint32(b[48:])),
	}, nil
}

// forEachCmsg calls f with each control message in b: its level, type and data.
func forEachCmsg(b []byte, f func(level, typ int32, data []byte)) {
	for len(b) >= abi.CmsghdrSize {
		n := binary.LittleEndian.Uint64(b)
		if n < abi.CmsghdrSize || n > uint64(len(b)) {
			return
		}
		f(int32(binary.LittleEndian.Uint32(b[8:])), int32(binary.LittleEndian.Uint32(b[12:])), b[abi.CmsghdrSize:n])
		step := (n + 7) &^ 7
		if step > uint64(len(b)) {
			return
		}
		b = b[step:]
	}
}

// hostMsg performs sendmsg or recvmsg on the host with plain buffers.
func hostMsg(nr uintptr, fd int, data, name, control []byte, flags int32) (n int, nameLen int, controlLen int, mflags int32, err error) {
	var h unix.Msghdr
	iov := unix.Iovec{Len: uint64(len(data))}
	if len(data) > 0 {
		iov.Base = &data[0]
	}
	h.Iov, h.Iovlen = &iov, 1
	if len(name) > 0 {
		h.Name, h.Namelen = &name[0], uint32(len(name))
	}
	if len(control) > 0 {
		h.Control = &control[0]
		h.SetControllen(len(control))
	}
	// SAFETY: h and the iovec it points to are live Go values, and every pointer in them is
	// to a live Go slice of the length given beside it (data, name, control); KeepAlive
	// holds the slices until the call returns.
	r, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&h)), uintptr(flags))
	runtime.KeepAlive(data)
	runtime.KeepAlive(name)
	runtime.KeepAlive(control)
	if e != 0 {
		return 0, 0, 0, 0, e
	}
	return int(r), int(h.Namelen), int(h.Controllen), h.Flags, nil
}

// send sends data (with an address and host control messages, when given) on f, waiting
// off the run loop when the socket is full.
func (t *Task) send(f *File, data, name, control []byte, flags int32, hold *heldFd) (uint64, error) {
	off := 0 // sent so far, over the turns of a stream send the peer takes in parts
	do := func(fd, sockFlags int) (uint64, error) {
		defer runtime.KeepAlive(hold) // name may be a /proc/self/fd path through it
		if sockFlags == 0 {
			n, _, _, _, err := hostMsg(unix.SYS_SENDMSG, fd, data, name, control, flags|unix.MSG_NOSIGNAL)
			if err == unix.EAGAIN {
				f.full()
			}
			return uint64(n), err
		}
		for {
			nm, cm := name, control
			if off > 0 {
				nm, cm = nil, nil // sent with the first part
			}
			n, _, _, _, err := hostMsg(unix.SYS_SENDMSG, fd, data[off:], nm, cm, flags|unix.MSG_NOSIGNAL|int32(sockFlags))
			if err != nil || n <= 0 {
				if err == unix.EAGAIN {
					f.full()
				}
				return moved(off, err)
			}
			if off += n; off >= len(data) {
				return uint64(off), nil
			}
		}
	}
	done := func(r uint64, err error) (uint64, error) {
		hold.release()
		if err == unix.EPIPE && flags&msgNosignal == 0 {
			t.sigpipe()
		}
		return r, err
	}
	if flags&abi.MSG_DONTWAIT != 0 || !t.wouldBlock(f, false, uint64(len(data))) {
		return done(do(f.fd, 0))
	}
	return t.waitHostFd(f, unix.POLLOUT, true, do, done)
}

// received is what a receive got, for the guest.
type received struct {
	data, name, control []byte
	flags               int32
}

// recv receives up to want bytes (with the source address and up to controlCap bytes of
// control messages) on f, waiting off the run loop when nothing is there; finish runs
// back on the loop with what came.
func (t *Task) recv(f *File, want uint64, controlCap uint64, flags int32, finish func(received) (uint64, error)) (uint64, error) {
	var got received
	do := func(fd, sockFlags int) (uint64, error) {
		data := make([]byte, min(want, maxBlockingRead))
		name := make([]byte, maxSockaddr)
		control := make([]byte, min(controlCap, maxSockopt))
		n, nl, cl, mf, err := hostMsg(unix.SYS_RECVMSG, fd, data, name, control, flags|int32(sockFlags))
		if err != nil {
			return 0, err
		}
		got = received{data: data[:min(n, len(data))], name: name[:min(nl, len(name))], control: control[:cl], flags: mf}
		return uint64(n), nil
	}
	done := func(r uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		ret, err := finish(got)
		if err != nil {
			return 0, err
		}
		if flags&unix.MSG_TRUNC != 0 {
			return r, nil // the datagram's real length, as asked
		}
		return ret, nil
	}
	if flags&abi.MSG_DONTWAIT != 0 || (flags&msgWaitall == 0 && !t.wouldBlock(f, true, max(want, 1))) {
		return done(do(f.fd, 0))
	}
	// MSG_WAITALL waits for all it asks, past what one call that does not wait finds.
	return t.waitHostFd(f, unix.POLLIN, flags&msgWaitall == 0, do, done)
}

// scatter copies data into the guest buffers found by resolve and returns how much fit.
func scatter(data []byte, resolve func() ([][]byte, error)) (uint64, error) {
	b, err := resolve()
	if err != nil {
		return 0, err
	}
	rest := data
	for _, p := range b {
		rest = rest[copy(p, rest):]
	}
	return uint64(len(data) - len(rest)), nil
}

// sysSendto implements sendto(2) (and send(2), which libcs build on it).
func sysSendto(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	data, err := t.gather(a.Ptr(1), a[2])
	if err != nil {
		return 0, err
	}
	var name []byte
	var hold *heldFd
	if a[4] != 0 {
		if name, hold, err = t.readSockaddr(a.Ptr(4), a.Uint(5), false); err != nil {
			return 0, err
		}
	}
	return t.send(f, data, name, nil, a.Int(3), hold)
}

// gather copies n bytes of guest memory at addr.
func (t *Task) gather(addr mm.Addr, n uint64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	b, err := t.bufs(addr, n, emu.ProtRead)
	if err != nil {
		return nil, err
	}
	return flatten(b), nil
}

// sysRecvfrom implements recvfrom(2) (and recv(2)).
func sysRecvfrom(t *Task, a Args) (uint64, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	resolve := func() ([][]byte, error) {
		if a[2] == 0 {
			return nil, nil
		}
		return t.bufs(a.Ptr(1), a[2], emu.ProtWrite)
	}
	if _, err := resolve(); err != nil {
		return 0, err
	}
	return t.recv(f, min(a[2], maxIO), 0, a.Int(3), func(r received) (uint64, error) {
		n, err := scatter(r.data, resolve)
		if err != nil {
			return 0, err
		}
		if a[4] != 0 {
			if err := t.writeSockaddr(a.Ptr(4), a.Ptr(5), r.name); err != nil {
				return 0, err
			}
		}
		return n, nil
	})
}

// msgCall reads the socket and the struct msghdr of sendmsg and recvmsg.
func (t *Task) msgCall(a Args) (*File, msghdr, error) {
	f, err := t.socketFile(a.Fd(0))
	if err != nil {
		return nil, msghdr{}, err
	}
	m, err := t.readMsghdr(a.Ptr(1))
	if err != nil {
		return nil, msghdr{}, err
	}
	if m.iovLen > 1024 {
		return nil, msghdr{}, unix.EMSGSIZE
	}
	return f, m, nil
}

// sysSendmsg implements sendmsg(2).
func sysSendmsg(t *Task, a Args) (uint64, error) {
	f, m, err := t.msgCall(a)
	if err != nil {
		return 0, err
	}
	b, err := t.iovecs(m.iov, int32(m.iovLen), emu.ProtRead)
	if err != nil {
		return 0, err
	}
	data := flatten(b)
	var control []byte
	creds := false
	if m.controlLen > 0 {
		if m.controlLen > maxSockopt {
			return 0, unix.ENOBUFS
		}
		control = make([]byte, m.controlLen)
		if err := t.p.mm.CopyIn(m.control, control); err != nil {
			return 0, err
		}
		// Passed descriptors: the host's behind the guest's.
		var bad error
		forEachCmsg(control, func(level, typ int32, d []byte) {
			if level == abi.SOL_SOCKET && typ == unix.SCM_CREDENTIALS {
				if err := t.hostCredentials(d); err != nil {
					bad = err
				}
				creds = true
				return
			}
			if level != abi.SOL_SOCKET || typ != abi.SCM_RIGHTS {
				return
			}
			for i := 0; i+4 <= len(d); i += 4 {
				gf, err := t.file(int32(binary.LittleEndian.Uint32(d[i:])))
				if err != nil {
					bad = err
					return
				}
				binary.LittleEndian.PutUint32(d[i:], uint32(gf.fd))
			}
		})
		if bad != nil {
			return 0, bad
		}
	}
	// The address last: inside a root it holds a descriptor until the send is done.
	var name []byte
	var hold *heldFd
	if m.name != 0 {
		if name, hold, err = t.readSockaddr(m.name, m.nameLen, false); err != nil {
			return 0, err
		}
	}
	if creds {
		// The ids were checked with the guest's credentials; the host checks them
		// again with the run loop thread's, whose effective capabilities are the
		// guest's but whose ids are vemu's: an unprivileged guest's own uid would fail.
		defer t.p.raisedCaps()()
	}
	return t.send(f, data, name, control, a.Int(2), hold)
}

// raisedCaps gives the run loop thread vemu's permitted capabilities while a host call
// runs whose arguments vemu checked itself with the guest's credentials, and returns
// what puts the guest's back.
func (p *Process) raisedCaps() func() {
	hc, _ := hostCapsOnce()
	eff := p.onThread.eff & hc.prm
	if eff == hc.prm || capsetThread(hc.prm, hc) != nil {
		return func() {}
	}
	return func() { capsetThread(eff, hc) }
}

// sysRecvmsg implements recvmsg(2).
func sysRecvmsg(t *Task, a Args) (uint64, error) {
	f, m, err := t.msgCall(a)
	if err != nil {
		return 0, err
	}
	resolve := func() ([][]byte, error) { return t.iovecs(m.iov, int32(m.iovLen), emu.ProtWrite) }
	b, err := resolve()
	if err != nil {
		return 0, err
	}
	flags := a.Int(2)
	return t.recv(f, max(total(b), 1), m.controlLen, flags, func(r received) (uint64, error) {
		n, err := scatter(r.data, resolve)
		if err != nil {
			return 0, err
		}
		// Received descriptors become the guest's.
		cloexec := flags&abi.MSG_CMSG_CLOEXEC != 0
		forEachCmsg(r.control, func(level, typ int32, d []byte) {
			if level != abi.SOL_SOCKET || typ != abi.SCM_RIGHTS {
				return
			}
			for i := 0; i+4 <= len(d); i += 4 {
				hfd := int(binary.LittleEndian.Uint32(d[i:]))
				unix.CloseOnExec(hfd)
				nf := &File{fd: hfd, refs: 1, path: hostFdPath(hfd)}
				if l := seccompListenerOf(hfd); l != nil {
					nf = listenerFileFor(l, hfd)
				}
				gfd, err := t.p.files.install(nf, cloexec, 0)
				if err != nil {
					unix.Close(hfd)
					gfd = -1
				}
				binary.LittleEndian.PutUint32(d[i:], uint32(int32(gfd)))
			}
		})
		le := binary.LittleEndian
		var hdr [abi.MsghdrSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(1), hdr[:]); err != nil {
			return 0, err
		}
		if m.name != 0 {
			name := t.guestSockaddr(r.name)
			if err := t.p.mm.CopyOut(m.name, name[:min(len(name), int(m.nameLen))]); err != nil {
				return 0, err
			}
			le.PutUint32(hdr[8:], uint32(len(name)))
		} else {
			le.PutUint32(hdr[8:], 0)
		}
		if len(r.control) > 0 {
			if err := t.p.mm.CopyOut(m.control, r.control); err != nil {
				return 0, err
			}
		}
		le.PutUint64(hdr[40:], uint64(len(r.control)))
		le.PutUint32(hdr[48:], uint32(r.flags))
		if err := t.p.mm.CopyOut(a.Ptr(1), hdr[:]); err != nil {
			return 0, err
		}
		return n, nil
	})
}

// hostCredentials checks the struct ucred the guest sends (SCM_CREDENTIALS) as Linux's
// scm_check_creds() does, with the guest's credentials (the host would check vemu's):
// the sender's own pid unless it has CAP_SYS_ADMIN, one of its real, effective or saved
// ids unless it has CAP_SETUID (CAP_SETGID for the group). It then turns a guest pid into
// the host's: a guest process's pid is vemu's on the host, which refuses a pid that names
// no host process (ESRCH: GLib's GDBus failed to connect to a guest's dbus-daemon
// whenever the guest pid was no host pid).
func (t *Task) hostCredentials(d []byte) error {
	if len(d) < 12 {
		return nil // the host answers EINVAL
	}
	pid := int(int32(binary.LittleEndian.Uint32(d)))
	uid, gid := binary.LittleEndian.Uint32(d[4:]), binary.LittleEndian.Uint32(d[8:])
	c := &t.p.creds
	switch {
	case pid != t.p.pid && !c.capable(capSysAdmin),
		uid != c.ruid && uid != c.euid && uid != c.suid && !c.capable(capSetuid),
		gid != c.rgid && gid != c.egid && gid != c.sgid && !c.capable(capSetgid):
		return unix.EPERM
	}
	k := t.p.k
	k.pt.mu.Lock()
	_, guest := k.pt.procs[pid]
	k.pt.mu.Unlock()
	if guest {
		binary.LittleEndian.PutUint32(d, uint32(os.Getpid()))
	}
	return nil
}
