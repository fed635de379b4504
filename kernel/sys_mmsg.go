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

// sysRecvmmsg implements recvmmsg(2) as recvmsg(2) over the vector: the first message may
// wait; the others are those already queued, as with MSG_WAITFORONE.
func sysRecvmmsg(t *Task, a Args) (uint64, error) {
	if a[4] != 0 {
		var ts [16]byte
		if err := t.p.mm.CopyIn(a.Ptr(4), ts[:]); err != nil {
			return 0, err
		}
		sec, ns := int64(binary.LittleEndian.Uint64(ts[:])), int64(binary.LittleEndian.Uint64(ts[8:]))
		if sec < 0 || ns < 0 || ns >= 1e9 {
			return 0, unix.EINVAL
		}
	}
	return t.mmsg(a, sysRecvmsg, int32(a.Int(3))&^msgWaitForOne)
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
