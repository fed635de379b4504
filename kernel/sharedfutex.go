package kernel

import (
	"encoding/binary"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Shared futexes: a futex word in a MAP_SHARED mapping, used without
// FUTEX_PRIVATE_FLAG, is named by what backs it, as Linux's get_futex_key() does: the
// file and offset of a shared file mapping (which two processes may map at different
// host addresses), or the host address of shared anonymous memory (which fork hands
// to the child as the same host pages). Waiters wait in a kernel-wide table; a wake in
// one process completes the waits of others through their run loops' messages.

// futexKey names a shared futex word.
type futexKey struct {
	dev, ino, off uint64
	host          uintptr
}

// sharedWaiter is a thread waiting on a shared futex.
type sharedWaiter struct {
	t    *Task
	pend *pendingOp
	gen  uint64
	bits uint32
	key  futexKey

	// futex_waitv: the waiter's index, which its wake returns, and all its waiters
	// (taken once one of them is woken).
	idx   uint64
	group []*sharedWaiter
	taken bool
}

// sharedFutexes is the kernel's table of shared futex waiters.
type sharedFutexes struct {
	mu sync.Mutex
	q  map[futexKey][]*sharedWaiter
}

// sharedFutexKey says whether the futex at addr is shared, and its key.
func (t *Task) sharedFutexKey(op int32, addr mm.Addr) (futexKey, bool) {
	if t.p.vmShared {
		// Processes in one memory (CLONE_VM) share even "private" futexes: Linux keys
		// those by the memory, which is theirs together.
		return t.sharedKeyAt(addr), true
	}
	if op&abi.FUTEX_PRIVATE_FLAG != 0 {
		return futexKey{}, false
	}
	v := t.p.mm.Lookup(addr)
	if v == nil || !v.Shared {
		return futexKey{}, false
	}
	return t.sharedKeyAt(addr), true
}

// sharedKeyAt is the key of the word at addr, for a second address of a shared
// operation (requeue, wake-op) whatever its mapping.
func (t *Task) sharedKeyAt(addr mm.Addr) futexKey {
	v := t.p.mm.Lookup(addr)
	if v == nil {
		return futexKey{off: uint64(addr), host: ^uintptr(0)} // matches no shared mapping
	}
	if v.Shared && v.Ino != 0 {
		return futexKey{dev: v.Dev, ino: v.Ino, off: v.FileOff + uint64(addr-v.Start)}
	}
	h := v.Host()
	return futexKey{host: uintptr(unsafe.Pointer(&h[addr-v.Start]))}
}

func (k *Kernel) sharedFutexTable() *sharedFutexes {
	k.sfOnce.Do(func() { k.sfutex = &sharedFutexes{q: map[futexKey][]*sharedWaiter{}} })
	return k.sfutex
}

// remove takes w off its queue, and says whether it was there (not taken by a waker).
func (sf *sharedFutexes) remove(w *sharedWaiter) bool {
	q := sf.q[w.key]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			if len(q) == 0 {
				delete(sf.q, w.key)
			} else {
				sf.q[w.key] = q
			}
			return true
		}
	}
	return false
}

// removeGroup takes w and the other waiters of its futex_waitv off their queues.
func (sf *sharedFutexes) removeGroup(w *sharedWaiter) {
	if w.group == nil {
		w.taken = true
		sf.remove(w)
		return
	}
	for _, m := range w.group {
		m.taken = true
		sf.remove(m)
	}
}

// sharedWait is FUTEX_WAIT on a shared futex: the value is checked again under the
// table's lock, which every waker takes, so a store and wake in another process between
// the first check and the wait is not lost.
func (t *Task) sharedWait(a Args, key futexKey, val, bits uint32, timeout time.Duration, nr uint64, restart bool) (uint64, error) {
	p := t.p
	sf := p.k.sharedFutexTable()
	sf.mu.Lock()
	var b [4]byte
	if err := p.mm.CopyIn(a.Ptr(0), b[:]); err != nil {
		sf.mu.Unlock()
		return 0, err
	}
	if binary.LittleEndian.Uint32(b[:]) != val {
		sf.mu.Unlock()
		return 0, unix.EAGAIN
	}
	r, err := t.park()
	w := &sharedWaiter{t: t, pend: t.pending, gen: t.gen + 1, bits: bits, key: key}
	sf.q[key] = append(sf.q[key], w)
	sf.mu.Unlock()
	pend := t.pending
	pend.nr, pend.args = nr, a
	kind := intrRestart
	if timeout >= 0 && !restart {
		kind = intrBlock
	}
	t.interruptible(kind, func() {
		sf.mu.Lock()
		sf.remove(w)
		sf.mu.Unlock()
	})
	if timeout >= 0 {
		p.after(timeout, func() {
			sf.mu.Lock()
			mine := sf.remove(w)
			sf.mu.Unlock()
			if mine && t.gen == w.gen && t.state == taskBlocked {
				t.complete(pend, 0, unix.ETIMEDOUT)
			}
		})
	}
	return r, err
}

// sharedWake wakes up to n waiters on key whose bitset meets bits, in any process.
func (t *Task) sharedWake(key futexKey, n int, bits uint32) int {
	sf := t.p.k.sharedFutexTable()
	sf.mu.Lock()
	var woken []*sharedWaiter
	for _, w := range append([]*sharedWaiter(nil), sf.q[key]...) {
		if len(woken) >= n {
			break
		}
		if w.bits&bits == 0 || w.taken {
			continue
		}
		sf.removeGroup(w)
		woken = append(woken, w)
	}
	sf.mu.Unlock()
	for _, w := range woken {
		if w.t.p == t.p {
			if w.t.gen == w.gen && w.t.state == taskBlocked {
				w.t.complete(w.pend, w.idx, nil)
			}
			continue
		}
		w.t.p.send(wakeup{t: w.t, gen: w.gen, pend: w.pend, r: w.idx})
	}
	return len(woken)
}

// sharedRequeue moves up to limit waiters from one shared futex to another.
func (t *Task) sharedRequeue(from, to futexKey, limit int) int {
	sf := t.p.k.sharedFutexTable()
	sf.mu.Lock()
	defer sf.mu.Unlock()
	moved := 0
	for _, w := range append([]*sharedWaiter(nil), sf.q[from]...) {
		if moved >= limit {
			break
		}
		sf.remove(w)
		w.key = to
		sf.q[to] = append(sf.q[to], w)
		moved++
	}
	return moved
}

// dropSharedFutexes forgets the waits of an exiting process.
func (p *Process) dropSharedFutexes() {
	k := p.k
	sf := k.sharedFutexTable()
	sf.mu.Lock()
	defer sf.mu.Unlock()
	for _, q := range sf.q {
		for _, w := range q {
			if w.t.p == p {
				sf.remove(w)
			}
		}
	}
}
