package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/emu"
)

// rwfAll are the RWF_* flags of preadv2 and pwritev2 Linux knows: HIPRI, DSYNC, SYNC,
// NOWAIT, APPEND, NOAPPEND, ATOMIC, DONTCACHE.
const rwfAll = 0xff

// rwfAppends are RWF_APPEND and RWF_NOAPPEND, which Linux refuses together.
const rwfAppends = 0x30

// rwfNowait is RWF_NOWAIT.
const rwfNowait = 0x8

// rwfRegularOnly are RWF_ATOMIC and RWF_DONTCACHE, which only some regular files take:
// Linux refuses them (EOPNOTSUPP) for pipes, sockets and terminals before a transfer.
const rwfRegularOnly = 0xc0

// sysPreadv2 implements preadv2(2).
func sysPreadv2(t *Task, a Args) (uint64, error) { return t.rw2(a, true) }

// sysPwritev2 implements pwritev2(2).
func sysPwritev2(t *Task, a Args) (uint64, error) { return t.rw2(a, false) }

// rw2 is preadv2 and pwritev2: offset -1 means the file position. A file that may block
// goes the way of readv and writev unless RWF_NOWAIT asks not to wait; others go to the
// host's call with their flags.
//
// As Linux's, an offset below -1 is EINVAL before the descriptor is looked at, and the
// flags are checked last: the host checks them for its files; vemu's own kinds and the
// files that may block refuse unknown ones after the descriptor.
func (t *Task) rw2(a Args, in bool) (uint64, error) {
	flags := a.Uint(5)
	off := a.Int64(3)
	if off < -1 {
		return 0, unix.EINVAL
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if f.ops == nil && (flags&^rwfAll != 0 || flags&rwfAppends == rwfAppends || f.mayBlock() && flags&rwfRegularOnly != 0) {
		// The host checks the rest first (ESPIPE, the iovecs), and the flags without
		// a transfer or a wait.
		err := error(unix.EOPNOTSUPP)
		if flags&^rwfAll == 0 && flags&rwfAppends == rwfAppends {
			err = unix.EINVAL // RWF_APPEND with RWF_NOAPPEND
		}
		return t.hostIOFaultCall(f, ioReq{a: a, in: in, vector: true, positional: true}, err, rw2Nr(in), flags)
	}
	if f.ops != nil || f.mayBlock() && flags&rwfNowait == 0 {
		if flags&^rwfAll != 0 {
			return 0, unix.EOPNOTSUPP
		}
		if off == -1 {
			return t.rwCall(Args{a[0], a[1], a[2]}, in, true, false)
		}
		return t.rwCall(Args{a[0], a[1], a[2], a[3]}, in, true, true)
	}
	want := emu.ProtRead
	if in {
		want = emu.ProtWrite
	}
	b, err := t.iovecs(a.Ptr(1), a.Int(2), want)
	if err != nil {
		return t.hostIOFaultCall(f, ioReq{a: a, in: in, vector: true, positional: true}, err, rw2Nr(in), flags)
	}
	var n int
	if in {
		n, err = unix.Preadv2(f.fd, b, off, int(flags))
	} else {
		n, err = unix.Pwritev2(f.fd, b, off, int(flags))
		if err == unix.EPIPE {
			t.sigpipe()
		}
	}
	return rw(n, err)
}

// sysCachestat implements cachestat(2) with the host's answer for the file.
func sysCachestat(t *Task, a Args) (uint64, error) {
	if a[3] != 0 {
		return 0, unix.EINVAL
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	var rng [2]uint64
	if err := t.p.mm.CopyIn(a.Ptr(1), unsafe.Slice((*byte)(unsafe.Pointer(&rng[0])), 16)); err != nil {
		return 0, err
	}
	var cs [5]uint64
	// SAFETY: rng and cs are the 16-byte range and 40-byte result the host reads and writes.
	_, _, e := unix.Syscall6(unix.SYS_CACHESTAT, uintptr(f.fd), uintptr(unsafe.Pointer(&rng[0])), uintptr(unsafe.Pointer(&cs[0])), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return 0, t.p.mm.CopyOut(a.Ptr(2), unsafe.Slice((*byte)(unsafe.Pointer(&cs[0])), 40))
}

// rw2Nr is the host's call for rw2: preadv2 or pwritev2.
func rw2Nr(in bool) uintptr {
	if in {
		return unix.SYS_PREADV2
	}
	return unix.SYS_PWRITEV2
}
