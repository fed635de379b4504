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

// sharedFutexes is the kernel's table of shared futex waiters.
type sharedFutexes struct {
	mu sync.Mutex
	q  futexQueues[futexKey]
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
	k.sfOnce.Do(func() { k.sfutex = &sharedFutexes{q: futexQueues[futexKey]{}} })
	return k.sfutex
}

// add queues w on its key, and with its process's waits.
func (sf *sharedFutexes) add(w *futexWaiter) {
	sf.q.add(w.key, w)
	p := w.t.p
	if p.swaits == nil {
		p.swaits = map[*futexWaiter]struct{}{}
	}
	p.swaits[w] = struct{}{}
}

// remove takes w off its queue, and says whether it was there (not taken by a waker).
func (sf *sharedFutexes) remove(w *futexWaiter) bool {
	if !sf.q.remove(w.key, w) {
		return false
	}
	delete(w.t.p.swaits, w)
	return true
}

// removeGroup takes w and the other waiters of its futex_waitv off their queues.
func (sf *sharedFutexes) removeGroup(w *futexWaiter) {
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
	w := &futexWaiter{t: t, pend: t.pending, gen: t.gen + 1, bits: bits, key: key}
	sf.add(w)
	t.swait = w
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
	var woken []*futexWaiter
	if q := sf.q[key]; q != nil {
		for w := q.head; w != nil && len(woken) < n; {
			next := w.next
			if w.bits&bits == 0 || w.taken {
				w = next
				continue
			}
			// The rest of a futex_waitv leaves with it: step past those of its words
			// that wait on this futex too.
			for next != nil && next.t == w.t {
				next = next.next
			}
			sf.removeGroup(w)
			woken = append(woken, w)
			w = next
		}
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

// sharedRequeue moves up to limit waiters from one shared futex to another, the first
// to come first.
func (t *Task) sharedRequeue(from, to futexKey, limit int) int {
	sf := t.p.k.sharedFutexTable()
	sf.mu.Lock()
	defer sf.mu.Unlock()
	q := sf.q[from]
	if q == nil {
		return 0
	}
	// Each waiter moves once, even onto the queue it leaves (from == to).
	n := min(limit, q.n)
	for range n {
		w := q.head
		sf.q.remove(from, w)
		w.key = to
		sf.q.add(to, w)
	}
	return n
}

// dropSharedFutexes forgets the waits of an exiting process.
func (p *Process) dropSharedFutexes() {
	sf := p.k.sharedFutexTable()
	sf.mu.Lock()
	defer sf.mu.Unlock()
	for w := range p.swaits {
		sf.remove(w)
	}
}

// dropFutexWaits takes a thread that ends off the futex it waits on, if any: nothing
// wakes it any more, and a wake must not count it.
func (t *Task) dropFutexWaits() {
	if w := t.fwait; w != nil {
		t.p.futexRemove(w)
	}
	if w := t.swait; w != nil {
		t.swait = nil
		sf := t.p.k.sharedFutexTable()
		sf.mu.Lock()
		sf.removeGroup(w)
		sf.mu.Unlock()
	}
}
