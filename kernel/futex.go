package kernel

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// sysFutex implements futex(2) for the threads of this process.
func sysFutex(t *Task, a Args) (uint64, error) { return t.futex(a, abi.SYS_FUTEX, false) }

// futex is futex(2)'s operations, for the futex2 calls too: nr is the call a wait
// restarts, and restart says that a timed wait restarts after a handler as well.
func (t *Task) futex(a Args, nr uint64, restart bool) (uint64, error) {
	p := t.p
	addr, op, val := a.Ptr(0), a.Int(1), a.Uint(2)
	cmd := op & abi.FUTEX_CMD_MASK
	switch cmd {
	case abi.FUTEX_WAIT, abi.FUTEX_WAIT_BITSET, abi.FUTEX_LOCK_PI, abi.FUTEX_LOCK_PI2, abi.FUTEX_WAIT_REQUEUE_PI:
		// As Linux's sys_futex: the timeout of a call that takes one is read and
		// checked (EFAULT, EINVAL) before anything else.
		if nr == abi.SYS_FUTEX && a[3] != 0 {
			if _, err := t.getTimespec(a.Ptr(3)); err != nil {
				return 0, err
			}
		}
	}
	if op&abi.FUTEX_CLOCK_REALTIME != 0 && cmd != abi.FUTEX_WAIT_BITSET && cmd != abi.FUTEX_WAIT_REQUEUE_PI && cmd != abi.FUTEX_LOCK_PI2 {
		return 0, unix.ENOSYS // as Linux's do_futex(): only where a timeout is absolute
	}
	switch cmd {
	case abi.FUTEX_LOCK_PI, abi.FUTEX_LOCK_PI2, abi.FUTEX_TRYLOCK_PI, abi.FUTEX_UNLOCK_PI,
		abi.FUTEX_WAIT_REQUEUE_PI, abi.FUTEX_CMP_REQUEUE_PI:
		return t.futexPI(a, nr)
	case abi.FUTEX_WAIT, abi.FUTEX_WAKE, abi.FUTEX_REQUEUE, abi.FUTEX_CMP_REQUEUE, abi.FUTEX_WAKE_OP,
		abi.FUTEX_WAIT_BITSET, abi.FUTEX_WAKE_BITSET:
	default:
		return 0, unix.ENOSYS // before the address is looked at, as do_futex() answers
	}
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	load := func(at mm.Addr) (uint32, error) {
		var b [4]byte
		if err := p.mm.CopyIn(at, b[:]); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint32(b[:]), nil
	}
	if op&abi.FUTEX_PRIVATE_FLAG == 0 {
		// As Linux's get_futex_key: a futex that may be shared is looked up in its page,
		// which must be there (EFAULT), even for a wake.
		if _, err := load(addr); err != nil {
			return 0, unix.EFAULT
		}
	}
	// A futex in a MAP_SHARED mapping, without FUTEX_PRIVATE_FLAG, is the kernel's:
	// waiters in other processes wake too.
	key, shared := t.sharedFutexKey(op, addr)
	wake := func(at mm.Addr, n int, bits uint32) int { return t.wakeFutex(at, shared, n, bits) }
	// The plain operations refuse a futex with PI waiters, as Linux's futex_wake(),
	// futex_requeue() and futex_wake_op() do.
	piBusy := func(at mm.Addr) bool {
		pt := p.k.piFutexes()
		if pt.waiting.Load() == 0 {
			return false
		}
		if shared {
			return pt.busy(t.sharedKeyAt(at))
		}
		return pt.busy(t.privateFutexKey(at))
	}
	switch cmd {
	case abi.FUTEX_WAIT, abi.FUTEX_WAIT_BITSET:
		bits := uint32(abi.FUTEX_BITSET_MATCH_ANY)
		if cmd == abi.FUTEX_WAIT_BITSET {
			if bits = a.Uint(5); bits == 0 {
				return 0, unix.EINVAL
			}
		}
		cur, err := load(addr)
		if err != nil {
			return 0, err
		}
		if cur != val {
			return 0, unix.EAGAIN
		}
		var timeout time.Duration = -1
		if a[3] != 0 {
			ts, err := t.getTimespec(a.Ptr(3))
			if err != nil {
				return 0, err
			}
			d := time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec)
			if cmd == abi.FUTEX_WAIT_BITSET {
				// An absolute time on MONOTONIC, or REALTIME with FUTEX_CLOCK_REALTIME.
				clk := int32(abi.CLOCK_MONOTONIC)
				if op&abi.FUTEX_CLOCK_REALTIME != 0 {
					clk = abi.CLOCK_REALTIME
				}
				now, _ := p.k.clock.Now(clk)
				d -= time.Duration(now.Sec)*time.Second + time.Duration(now.Nsec)
			}
			if d <= 0 {
				return 0, unix.ETIMEDOUT
			}
			timeout = d
		}
		if shared {
			return t.sharedWait(a, key, val, bits, timeout, nr, restart)
		}
		r, err := t.park()
		pend := t.pending
		pend.nr, pend.args = nr, a
		gen := t.gen + 1 // the generation park will give this wait
		w := &futexWaiter{t: t, pend: pend, gen: gen, bits: bits, addr: addr}
		t.fwait = w
		p.futexes.add(addr, w)
		// Linux restarts an untimed wait under SA_RESTART; a timed one ends with EINTR
		// (futex_wait(2)'s too is restarted).
		kind := intrRestart
		if timeout >= 0 && !restart {
			kind = intrBlock
		}
		t.interruptible(kind, func() { p.futexRemove(w) })
		if timeout >= 0 {
			// The wait times out wherever a requeue has moved it; its end stops the
			// timer, so that waits woken early leave nothing behind.
			w.stop = p.after(timeout, func() {
				if t.gen == gen && t.state == taskBlocked && p.futexRemove(w) {
					t.complete(pend, 0, unix.ETIMEDOUT)
				}
			})
		}
		return r, err
	case abi.FUTEX_WAKE, abi.FUTEX_WAKE_BITSET:
		bits := uint32(abi.FUTEX_BITSET_MATCH_ANY)
		if cmd == abi.FUTEX_WAKE_BITSET {
			if bits = a.Uint(5); bits == 0 {
				return 0, unix.EINVAL
			}
		}
		if piBusy(addr) {
			return 0, unix.EINVAL
		}
		n := wake(addr, int(val), bits)
		if n > 0 && p.preempt == preemptArmed {
			// A word of 0 is a lock just released (glibc's, musl's and Go's mutexes
			// wake a waiter after storing 0): the woken thread may take it now, so its
			// waker stops at this call and not at its next, which may come with the
			// lock taken again (wakeup.go).
			if cur, err := load(addr); err == nil && cur == 0 {
				p.wokeReleased = true
			}
		}
		return uint64(n), nil
	case abi.FUTEX_REQUEUE, abi.FUTEX_CMP_REQUEUE:
		if cmd == abi.FUTEX_CMP_REQUEUE {
			cur, err := load(addr)
			if err != nil {
				return 0, err
			}
			if cur != a.Uint(5) {
				return 0, unix.EAGAIN
			}
		}
		if piBusy(addr) {
			return 0, unix.EINVAL
		}
		n := wake(addr, int(val), abi.FUTEX_BITSET_MATCH_ANY)
		limit := int(a.Uint(3))
		if shared {
			return uint64(n + t.sharedRequeue(key, t.sharedKeyAt(a.Ptr(4)), limit)), nil
		}
		moved := p.futexRequeue(addr, a.Ptr(4), limit)
		if moved < limit {
			moved += t.sharedRequeue(t.privateFutexKey(addr), t.privateFutexKey(a.Ptr(4)), limit-moved)
		}
		return uint64(n + moved), nil
	case abi.FUTEX_WAKE_OP:
		addr2 := a.Ptr(4)
		old, err := load(addr2)
		if err != nil {
			return 0, err
		}
		enc := a.Uint(5)
		opn, cmp := (enc>>28)&7, (enc>>24)&15
		oparg, cmparg := (enc>>12)&0xfff, enc&0xfff
		if enc&(8<<28) != 0 {
			oparg = 1 << (oparg & 31)
		}
		var nv uint32
		switch opn {
		case 0:
			nv = oparg
		case 1:
			nv = old + oparg
		case 2:
			nv = old | oparg
		case 3:
			nv = old &^ oparg
		case 4:
			nv = old ^ oparg
		default:
			return 0, unix.ENOSYS
		}
		if err := p.mm.CopyOut(mm.Addr(addr2), binary.LittleEndian.AppendUint32(nil, nv)); err != nil {
			return 0, err
		}
		if piBusy(addr) || piBusy(addr2) {
			return 0, unix.EINVAL // after the operation, as Linux's futex_wake_op()
		}
		n := wake(addr, int(val), abi.FUTEX_BITSET_MATCH_ANY)
		o, c := int32(old), int32(cmparg)
		var hit bool
		switch cmp {
		case 0:
			hit = o == c
		case 1:
			hit = o != c
		case 2:
			hit = o < c
		case 3:
			hit = o <= c
		case 4:
			hit = o > c
		case 5:
			hit = o >= c
		default:
			return 0, unix.ENOSYS
		}
		if hit {
			n += wake(addr2, int(a.Uint(3)), abi.FUTEX_BITSET_MATCH_ANY)
		}
		return uint64(n), nil
	}
	return 0, unix.ENOSYS
}

// wakeFutex wakes up to n waiters on the futex at addr whose bitset meets bits, in the
// kernel-wide table when shared, else in the process's (and futex_waitv's private keys).
func (t *Task) wakeFutex(addr mm.Addr, shared bool, n int, bits uint32) int {
	p := t.p
	if shared {
		woken := t.sharedWake(t.sharedKeyAt(addr), n, bits)
		if p.vmShared && woken < n {
			// Threads that waited before the process came to share its memory.
			woken += p.futexWake(addr, n-woken, bits)
		}
		return woken
	}
	woken := p.futexWake(addr, n, bits)
	if woken < n {
		woken += t.sharedWake(t.privateFutexKey(addr), n-woken, bits)
	}
	return woken
}

// futexWakeAt wakes one waiter of the futex at addr whichever way it waits, private or
// shared, as Linux's robust-list clean-up does.
func (t *Task) futexWakeAt(addr mm.Addr, n int) int {
	_, shared := t.sharedFutexKey(0, addr)
	return t.wakeFutex(addr, shared, n, abi.FUTEX_BITSET_MATCH_ANY)
}

// futexWake wakes up to n threads waiting on addr whose bitset meets bits, the first
// to come first.
func (p *Process) futexWake(addr mm.Addr, n int, bits uint32) int {
	q := p.futexes[addr]
	if q == nil {
		return 0
	}
	woken := 0
	for w := q.head; w != nil && woken < n; {
		next := w.next
		if w.bits&bits != 0 {
			p.futexRemove(w)
			if t := w.t; t.state == taskBlocked {
				t.complete(nil, 0, nil)
				if t.trace {
					t.traceCall(abi.SYS_FUTEX, Args{uint64(addr)}, 0)
				}
			}
			woken++
		}
		w = next
	}
	return woken
}

// futexRequeue moves up to limit waiters from the futex at from to the one at to, the
// first to come first, and says how many it moved.
func (p *Process) futexRequeue(from, to mm.Addr, limit int) int {
	q := p.futexes[from]
	if q == nil {
		return 0
	}
	// Each waiter moves once, even onto the queue it leaves (from == to).
	n := min(limit, q.n)
	for range n {
		w := q.head
		p.futexes.remove(from, w)
		w.addr = to
		p.futexes.add(to, w)
	}
	return n
}

// futexRemove takes the private wait w off its queue, and says whether it was on one.
func (p *Process) futexRemove(w *futexWaiter) bool {
	if w.t.fwait == w {
		w.t.fwait = nil
	}
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	return p.futexes.remove(w.addr, w)
}
