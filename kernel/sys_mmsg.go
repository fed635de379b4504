package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// mmsghdrSize is sizeof(struct mmsghdr): a msghdr and the unsigned msg_len, padded.
const mmsghdrSize = abi.MsghdrSize + 8

// uioMaxIOV is Linux's UIO_MAXIOV, the most messages one call handles.
const uioMaxIOV = 1024

// msgWaitForOne is MSG_WAITFORONE.
const msgWaitForOne = 0x10000

// sysSendmmsg implements sendmmsg(2) as sendmsg(2) over the vector: the first message may
// wait, the others are sent while the socket takes them without waiting.
func sysSendmmsg(t *Task, a Args) (uint64, error) {
	return t.mmsg(a, sysSendmsg, int32(a.Int(3)))
}

// sysRecvmmsg implements recvmmsg(2) as Linux's do_recvmmsg(): recvmsg(2) for each
// message in turn, each waiting as recvmsg would (after the first, not at all with
// MSG_WAITFORONE), until vlen messages came, a receive failed or, with a timeout, the
// time ran out; the timeout is looked at only after each message, so a wait for the next
// one is not cut by it, as on Linux. The time left is written back when messages came.
func sysRecvmmsg(t *Task, a Args) (uint64, error) {
	if _, err := t.file(a.Fd(0)); err != nil {
		return 0, err
	}
	r := &mmsgRecv{a: a, n: min(a.Uint(2), uioMaxIOV), flags: int32(a.Int(3))}
	if a[4] != 0 {
		var ts [16]byte
		if err := t.p.mm.CopyIn(a.Ptr(4), ts[:]); err != nil {
			return 0, err
		}
		sec, ns := int64(binary.LittleEndian.Uint64(ts[:])), int64(binary.LittleEndian.Uint64(ts[8:]))
		if sec < 0 || ns < 0 || ns >= 1e9 {
			return 0, unix.EINVAL
		}
		r.timed = true
		r.end = t.p.timerNow(abi.CLOCK_MONOTONIC) + min(sec, 1<<32)*1e9 + ns
	}
	return t.recvmmsgOn(r)
}

// mmsgRecv is a recvmmsg call in progress.
type mmsgRecv struct {
	a     Args
	n     uint32 // messages asked for
	got   uint32 // messages received
	flags int32
	timed bool
	end   int64 // CLOCK_MONOTONIC ns when the time runs out
}

// msgLenAt is the address of vec[i].msg_len.
func (r *mmsgRecv) msgLenAt(i uint32) mm.Addr {
	return r.a.Ptr(1) + mm.Addr(i)*mmsghdrSize + abi.MsghdrSize
}

// recvmmsgOn receives the messages r still wants.
func (t *Task) recvmmsgOn(r *mmsgRecv) (uint64, error) {
	for r.got < r.n {
		f := r.flags &^ msgWaitForOne
		if r.flags&msgWaitForOne != 0 && r.got > 0 {
			f |= abi.MSG_DONTWAIT
		}
		i := r.got
		n, err := sysRecvmsg(t, Args{r.a[0], uint64(r.a.Ptr(1) + mm.Addr(i)*mmsghdrSize), uint64(uint32(f))})
		if err == errBlocked {
			prev := t.pending.done
			t.pending.done = func(n uint64, err error) (uint64, error) {
				if prev != nil {
					n, err = prev(n, err)
				}
				if err != nil {
					return t.recvmmsgEnd(r, err)
				}
				if more, err := t.recvmmsgGot(r, i, n); !more || err != nil {
					return t.recvmmsgEnd(r, err)
				}
				return t.recvmmsgOn(r) // may wait again
			}
			if i > 0 {
				t.pending.partial = func() (uint64, bool) {
					n, err := t.recvmmsgEnd(r, nil)
					return n, err == nil
				}
			}
			return 0, errBlocked
		}
		if err != nil {
			return t.recvmmsgEnd(r, err)
		}
		if more, err := t.recvmmsgGot(r, i, n); !more || err != nil {
			return t.recvmmsgEnd(r, err)
		}
	}
	return t.recvmmsgEnd(r, nil)
}

// recvmmsgGot stores message i's length and says whether to go on: not when the time
// ran out.
func (t *Task) recvmmsgGot(r *mmsgRecv, i uint32, n uint64) (bool, error) {
	if err := t.p.mm.CopyOut(r.msgLenAt(i), binary.LittleEndian.AppendUint32(nil, uint32(n))); err != nil {
		return false, err
	}
	r.got = i + 1
	return !r.timed || t.p.timerNow(abi.CLOCK_MONOTONIC) < r.end, nil
}

// recvmmsgEnd ends the call: the count of messages, with the time left written back, or
// err when none came.
func (t *Task) recvmmsgEnd(r *mmsgRecv, err error) (uint64, error) {
	if r.got == 0 {
		if err == nil {
			return 0, nil
		}
		return 0, err
	}
	if r.timed {
		left := max(r.end-t.p.timerNow(abi.CLOCK_MONOTONIC), 0)
		var ts [16]byte
		binary.LittleEndian.PutUint64(ts[:], uint64(left/1e9))
		binary.LittleEndian.PutUint64(ts[8:], uint64(left%1e9))
		if err := t.p.mm.CopyOut(r.a.Ptr(4), ts[:]); err != nil {
			return 0, err
		}
	}
	return uint64(r.got), nil
}

// mmsg runs one(fd, &vec[i].msg_hdr, flags) for each message and stores each result in
// vec[i].msg_len; it returns how many messages went, or the first message's error.
func (t *Task) mmsg(a Args, one Handler, flags int32) (uint64, error) {
	if _, err := t.file(a.Fd(0)); err != nil {
		return 0, err
	}
	vec, n := a.Ptr(1), min(a.Uint(2), uioMaxIOV)
	lenAt := func(i uint32) mm.Addr { return vec + mm.Addr(i)*mmsghdrSize + abi.MsghdrSize }
	for i := uint32(0); i < n; i++ {
		f := flags
		if i > 0 {
			f |= abi.MSG_DONTWAIT
		}
		r, err := one(t, Args{a[0], uint64(vec + mm.Addr(i)*mmsghdrSize), uint64(uint32(f))})
		if err == errBlocked {
			// The message finishes later: its length is stored then, and it is the last.
			prev, count := t.pending.done, uint64(i+1)
			t.pending.done = func(r uint64, err error) (uint64, error) {
				if prev != nil {
					r, err = prev(r, err)
				}
				if err != nil {
					if count > 1 {
						return count - 1, nil
					}
					return 0, err
				}
				return count, t.p.mm.CopyOut(lenAt(uint32(count-1)), binary.LittleEndian.AppendUint32(nil, uint32(r)))
			}
			return 0, errBlocked
		}
		if err != nil {
			if i > 0 {
				return uint64(i), nil
			}
			return 0, err
		}
		if err := t.p.mm.CopyOut(lenAt(i), binary.LittleEndian.AppendUint32(nil, uint32(r))); err != nil {
			if i > 0 {
				return uint64(i), nil
			}
			return 0, err
		}
	}
	return uint64(n), nil
}
