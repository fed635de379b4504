package kernel

import (
	"encoding/binary"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// The futex2 calls (futex_wake, futex_wait, futex_requeue) and futex_waitv, over the same
// waits as futex(2): a futex_wait is a FUTEX_WAIT_BITSET, and futex_waitv's waiters sit
// in the kernel-wide table of sharedfutex.go (under a per-process key for a private
// futex), where both futex(2)'s and futex_wake's wakes find them.

// futex2Note is what the table says of the futex2 calls.
const futex2Note = "32-bit futexes only, as Linux so far; FUTEX2_NUMA's node word is neither read nor written"

// futex2 flags (include/uapi/linux/futex.h).
const (
	futex2SizeMask = 3
	futex2SizeU32  = 2
	futex2Numa     = 4
	futex2Mpol     = 8
	futex2Private  = 128
	futex2Valid    = futex2SizeMask | futex2Numa | futex2Mpol | futex2Private
	futexWaitvMax  = 128
	futexWaitvSize = 24 // struct futex_waitv
)

// futex2Flags checks flags as futex2_to_flags() and futex_flags_valid(): only 32-bit
// futexes are implemented.
func futex2Flags(flags uint64) error {
	if flags&^futex2Valid != 0 || flags&futex2SizeMask != futex2SizeU32 {
		return unix.EINVAL
	}
	return nil
}

// futex2Timeout reads an absolute timeout on clk (REALTIME or MONOTONIC) as
// futex2_setup_timeout(), and gives how long from now (-1: none).
func (t *Task) futex2Timeout(addr mm.Addr, clk int32) (time.Duration, error) {
	if addr == 0 {
		return -1, nil
	}
	if clk != abi.CLOCK_REALTIME && clk != abi.CLOCK_MONOTONIC {
		return 0, unix.EINVAL
	}
	var b [abi.TimespecSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	var ts abi.Timespec
	ts.Unmarshal(b[:])
	if ts.Nsec < 0 || ts.Nsec >= 1e9 || ts.Sec < 0 {
		return 0, unix.EINVAL
	}
	now, _ := t.p.k.clock.Now(clk)
	return max(time.Duration(timespecNs(ts)-timespecNs(now)), 0), nil
}

// futexOp is the futex(2) operation word for a futex2 call's flags.
func futexOp(cmd int32, flags uint64) int32 {
	if flags&futex2Private != 0 {
		cmd |= abi.FUTEX_PRIVATE_FLAG
	}
	return cmd
}

// sysFutexWake implements futex_wake(2).
func sysFutexWake(t *Task, a Args) (uint64, error) {
	flags, mask := a[3], a[1]
	if err := futex2Flags(flags); err != nil {
		return 0, err
	}
	if mask>>32 != 0 || mask == 0 || a.Ptr(0)%4 != 0 {
		return 0, unix.EINVAL
	}
	if a.Int(2) <= 0 {
		return 0, nil // FLAGS_STRICT: a wake of none wakes none
	}
	return t.futex(Args{a[0], uint64(futexOp(abi.FUTEX_WAKE_BITSET, flags)), uint64(a.Int(2)), 0, 0, mask},
		abi.SYS_FUTEX_WAKE, true)
}

// sysFutexWait implements futex_wait(2): FUTEX_WAIT_BITSET, restarted after a handler.
func sysFutexWait(t *Task, a Args) (uint64, error) {
	flags, val, mask := a[3], a[1], a[2]
	if err := futex2Flags(flags); err != nil {
		return 0, err
	}
	if val>>32 != 0 || mask>>32 != 0 {
		return 0, unix.EINVAL
	}
	if a[4] != 0 {
		if _, err := t.futex2Timeout(a.Ptr(4), a.Int(5)); err != nil {
			return 0, err
		}
	}
	op := futexOp(abi.FUTEX_WAIT_BITSET, flags)
	if a[4] != 0 && a.Int(5) == abi.CLOCK_REALTIME {
		op |= abi.FUTEX_CLOCK_REALTIME
	}
	return t.futex(Args{a[0], uint64(op), val, a[4], 0, mask}, abi.SYS_FUTEX_WAIT, true)
}

// futexWaitv is one struct futex_waitv, checked as futex_parse_waitv().
type futexWaitv struct {
	val   uint32
	addr  mm.Addr
	flags uint64
}

func (t *Task) readWaitv(addr mm.Addr, n int) ([]futexWaitv, error) {
	raw := make([]byte, n*futexWaitvSize)
	if err := t.p.mm.CopyIn(addr, raw); err != nil {
		return nil, err
	}
	out := make([]futexWaitv, n)
	le := binary.LittleEndian
	for i := range out {
		b := raw[i*futexWaitvSize:]
		val, flags := le.Uint64(b[0:]), uint64(le.Uint32(b[16:]))
		if le.Uint32(b[20:]) != 0 || futex2Flags(flags) != nil || val>>32 != 0 {
			return nil, unix.EINVAL
		}
		out[i] = futexWaitv{val: uint32(val), addr: mm.Addr(le.Uint64(b[8:])), flags: flags}
	}
	return out, nil
}

// sysFutexRequeue implements futex_requeue(2): FUTEX_CMP_REQUEUE of two futex_waitv.
func sysFutexRequeue(t *Task, a Args) (uint64, error) {
	if a[1] != 0 || a[0] == 0 {
		return 0, unix.EINVAL
	}
	v, err := t.readWaitv(a.Ptr(0), 2)
	if err != nil {
		return 0, err
	}
	if a.Int(2) < 0 || a.Int(3) < 0 || v[0].addr%4 != 0 || v[1].addr%4 != 0 {
		return 0, unix.EINVAL
	}
	op := futexOp(abi.FUTEX_CMP_REQUEUE, v[0].flags)
	return t.futex(Args{uint64(v[0].addr), uint64(op), uint64(a.Int(2)), uint64(a.Int(3)), uint64(v[1].addr), uint64(v[0].val)},
		abi.SYS_FUTEX_REQUEUE, true)
}

// privateFutexKey names a private futex word in the kernel-wide table: its address in
// this address space.
func (t *Task) privateFutexKey(addr mm.Addr) futexKey {
	return futexKey{dev: ^uint64(0), off: uint64(addr), host: uintptr(unsafe.Pointer(t.p.mm))}
}

// sysFutexWaitv implements futex_waitv(2): the call returns the index of the futex whose
// wake ended it.
func sysFutexWaitv(t *Task, a Args) (uint64, error) {
	n := a.Uint(1)
	if a[2] != 0 || n == 0 || n > futexWaitvMax || a[0] == 0 {
		return 0, unix.EINVAL
	}
	timeout, err := t.futex2Timeout(a.Ptr(3), a.Int(4))
	if err != nil {
		return 0, err
	}
	v, err := t.readWaitv(a.Ptr(0), int(n))
	if err != nil {
		return 0, err
	}
	keys := make([]futexKey, len(v))
	for i, w := range v {
		if w.addr%4 != 0 {
			return 0, unix.EINVAL
		}
		var shared bool
		if keys[i], shared = t.sharedFutexKey(futexOp(0, w.flags), w.addr); !shared {
			keys[i] = t.privateFutexKey(w.addr)
		}
	}
	p := t.p
	sf := p.k.sharedFutexTable()
	sf.mu.Lock()
	for _, w := range v {
		var b [4]byte
		if err := p.mm.CopyIn(w.addr, b[:]); err != nil {
			sf.mu.Unlock()
			return 0, err
		}
		if binary.LittleEndian.Uint32(b[:]) != w.val {
			sf.mu.Unlock()
			return 0, unix.EAGAIN
		}
	}
	if timeout == 0 {
		sf.mu.Unlock()
		return 0, unix.ETIMEDOUT
	}
	r, err := t.park()
	pend := t.pending
	pend.nr, pend.args = abi.SYS_FUTEX_WAITV, a
	group := make([]*futexWaiter, len(v))
	for i := range v {
		group[i] = &futexWaiter{t: t, pend: pend, gen: t.gen + 1, bits: abi.FUTEX_BITSET_MATCH_ANY, key: keys[i], idx: uint64(i)}
	}
	for _, w := range group {
		w.group = group
		sf.add(w)
	}
	t.swait = group[0]
	sf.mu.Unlock()
	t.interruptible(intrRestart, func() {
		sf.mu.Lock()
		sf.removeGroup(group[0])
		sf.mu.Unlock()
	})
	if timeout > 0 {
		gen := t.gen + 1
		p.after(timeout, func() {
			sf.mu.Lock()
			mine := !group[0].taken
			sf.removeGroup(group[0])
			sf.mu.Unlock()
			if mine && t.gen == gen && t.state == taskBlocked {
				t.complete(pend, 0, unix.ETIMEDOUT)
			}
		})
	}
	return r, err
}
