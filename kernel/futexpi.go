package kernel

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Priority-inheritance futexes: FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI,
// WAIT_REQUEUE_PI and CMP_REQUEUE_PI, over Linux's futex word protocol: the owner's TID
// in the low 30 bits, FUTEX_WAITERS when the kernel has waiters (the owner then unlocks
// through the kernel), FUTEX_OWNER_DIED once an owner ended holding it.
//
// The kernel's state of a PI futex that has waiters (Linux's pi_state) lives in one
// kernel-wide table, for private and shared futexes alike, under their futexKey: its
// owner's TID and its waiters in arrival order. The lock passes from owner to waiter
// inside the call that releases it (UNLOCK_PI, or the owner's end), which writes the
// new owner's TID into the word at once, so the table and the word never disagree and
// the waiter only has to wake up. Linux orders the waiters of an rt_mutex by priority,
// but all tasks of the normal policies count alike there, and those are the only ones
// a guest gets: the order is first come, first served, as on Linux.
//
// Priority inheritance itself is moot: vemu runs the threads of a process round robin
// whatever their policies and nice values (which it keeps and reports), so boosting an
// owner would change nothing about who runs.

// The futex word's bits (include/uapi/linux/futex.h).
const (
	futexWaiters   = 0x80000000
	futexOwnerDied = 0x40000000
	futexTIDMask   = 0x3fffffff
)

// Robust lists (struct robust_list_head: list.next, futex_offset, list_op_pending).
const (
	robustHeadSize  = 24
	robustListLimit = 2048 // ROBUST_LIST_LIMIT: how many entries an exit walks at most
)

// piWaiter is a thread blocked in LOCK_PI, LOCK_PI2 or WAIT_REQUEUE_PI.
type piWaiter struct {
	t    *Task
	pend *pendingOp
	gen  uint64
	tid  int

	// The queue it is on: a lock's waiters (l set), or, for WAIT_REQUEUE_PI before
	// its requeue, the waiters on its first futex (rq set, under key).
	l          *piLock
	rq         bool
	key        futexKey
	prev, next *piWaiter

	addr  mm.Addr  // the PI futex word in t's memory
	key2  futexKey // WAIT_REQUEUE_PI: the PI futex it may be requeued to
	moved bool     // WAIT_REQUEUE_PI: requeued, it now waits for the lock

	// Set when its call ended on another thread's operation (it got the lock, or
	// lost it to an error); the result reaches it through complete.
	ended bool
	err   error
	fixup bool // it got the lock of a dead owner whose word nobody could write
}

// piQueue is a FIFO of waiters, each removable in O(1).
type piQueue struct {
	head, tail *piWaiter
	n          int
}

func (q *piQueue) push(w *piWaiter) {
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *piQueue) remove(w *piWaiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
	q.n--
}

// piLock is a PI futex with waiters, or one that a requeue is setting up.
type piLock struct {
	key     futexKey
	owner   int // TID
	waiters piQueue
	// at is where threads of each address space met the word, for an owner's end to
	// find it in its own memory without searching (checked then: the memory there may
	// have changed since).
	at map[*mm.Space]mm.Addr
}

// seen notes that the word of l is at addr in space s.
func (l *piLock) seen(s *mm.Space, addr mm.Addr) {
	if l.key.dev == ^uint64(0) {
		return // a private key holds its address
	}
	if l.at == nil {
		l.at = map[*mm.Space]mm.Addr{}
	}
	l.at[s] = addr
}

// piTable is the kernel's PI futex state.
type piTable struct {
	mu    sync.Mutex
	locks map[futexKey]*piLock
	rq    map[futexKey]*piQueue        // WAIT_REQUEUE_PI waiters on their first futex
	owned map[int]map[*piLock]struct{} // the locks with waiters each thread owns
	gone  map[int]bool                 // threads that ended but still look alive elsewhere
	// waiting counts the waiters of both kinds, so that the other operations look
	// the table up only when someone waits in it.
	waiting atomic.Int64
}

func (k *Kernel) piFutexes() *piTable {
	k.piOnce.Do(func() {
		k.pi = &piTable{locks: map[futexKey]*piLock{}, rq: map[futexKey]*piQueue{},
			owned: map[int]map[*piLock]struct{}{}, gone: map[int]bool{}}
	})
	return k.pi
}

// newLock makes the state of a PI futex owned by owner.
func (pt *piTable) newLock(key futexKey, owner int) *piLock {
	l := &piLock{key: key}
	pt.locks[key] = l
	pt.setOwner(l, owner)
	return l
}

// disown takes l off its owner's list.
func (pt *piTable) disown(l *piLock) {
	if m := pt.owned[l.owner]; m != nil {
		delete(m, l)
		if len(m) == 0 {
			delete(pt.owned, l.owner)
		}
	}
}

func (pt *piTable) setOwner(l *piLock, owner int) {
	pt.disown(l)
	l.owner = owner
	m := pt.owned[owner]
	if m == nil {
		m = map[*piLock]struct{}{}
		pt.owned[owner] = m
	}
	m[l] = struct{}{}
}

// dropIfIdle forgets l once nobody waits for it: the word keeps FUTEX_WAITERS, and the
// owner's UNLOCK_PI then finds no state, as on Linux.
func (pt *piTable) dropIfIdle(l *piLock) {
	if l.waiters.n > 0 || pt.locks[l.key] != l {
		return
	}
	delete(pt.locks, l.key)
	pt.disown(l)
}

// enqueue puts w on lock l.
func (pt *piTable) enqueue(l *piLock, w *piWaiter) {
	w.l, w.rq, w.key = l, false, l.key
	l.seen(w.t.p.mm, w.addr)
	l.waiters.push(w)
	pt.waiting.Add(1)
}

// enqueueRQ puts a WAIT_REQUEUE_PI waiter on its first futex.
func (pt *piTable) enqueueRQ(key futexKey, w *piWaiter) {
	q := pt.rq[key]
	if q == nil {
		q = &piQueue{}
		pt.rq[key] = q
	}
	w.l, w.rq, w.key = nil, true, key
	q.push(w)
	pt.waiting.Add(1)
}

// unqueue takes w off whatever queue it is on; it reports whether it was on one.
func (pt *piTable) unqueue(w *piWaiter) bool {
	switch {
	case w.l != nil:
		l := w.l
		l.waiters.remove(w)
		w.l = nil
		pt.dropIfIdle(l)
	case w.rq:
		q := pt.rq[w.key]
		q.remove(w)
		if q.n == 0 {
			delete(pt.rq, w.key)
		}
		w.rq = false
	default:
		return false
	}
	pt.waiting.Add(-1)
	return true
}

// busy says whether key has PI waiters of either kind, which the plain operations
// refuse with EINVAL, as Linux's futex_wake and futex_requeue.
func (pt *piTable) busy(key futexKey) bool {
	if pt.waiting.Load() == 0 {
		return false
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.locks[key] != nil || pt.rq[key] != nil
}

// tidProcess finds the process of tid, a thread that can own a PI futex; nil if there
// is none. The caller holds pt.mu.
func (pt *piTable) tidProcess(k *Kernel, tid int) *Process {
	if tid <= 0 || pt.gone[tid] {
		return nil
	}
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := k.pt.tids[tid]
	if q == nil {
		q = k.pt.procs[tid]
	}
	if q == nil || q.zombie {
		return nil
	}
	return q
}

// piKey is the futexKey of a PI futex word, private or shared as op says.
func (t *Task) piKey(op int32, addr mm.Addr) futexKey {
	if key, shared := t.sharedFutexKey(op, addr); shared {
		return key
	}
	return t.privateFutexKey(addr)
}

// plainWaiters says whether non-PI waiters wait on the futex at addr.
func (t *Task) plainWaiters(addr mm.Addr, key futexKey) bool {
	if t.p.futexes.waiting(addr) > 0 && t.privateFutexKey(addr) == key {
		return true
	}
	sf := t.p.k.sharedFutexTable()
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.q.waiting(key) > 0
}

func (t *Task) loadWord(addr mm.Addr) (uint32, error) {
	var b [4]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func (t *Task) storeWord(addr mm.Addr, v uint32) error {
	return t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, v))
}

// piAcquire tries to take the PI futex at addr for thread tid, as Linux's
// futex_lock_pi_atomic(): it reports whether tid owns it now, or else the lock state tid
// is to wait on (made, attached to the owner the word names, when there was none). With
// setWaiters, a lock taken gets FUTEX_WAITERS and a state too (a requeue is about to
// queue others on it). A private futex (FUTEX_PRIVATE_FLAG) cannot be owned by another
// process's thread, as Linux 6.18 answers. The caller holds pt.mu.
func (t *Task) piAcquire(pt *piTable, addr mm.Addr, key futexKey, private bool, tid int, setWaiters bool) (bool, *piLock, error) {
	uval, err := t.loadWord(addr)
	if err != nil {
		return false, nil, err
	}
	pid := int(uval & futexTIDMask)
	if pid == tid {
		return false, nil, unix.EDEADLK
	}
	if l := pt.locks[key]; l != nil {
		// attach_to_pi_state(): the word must name the owner the kernel knows, but
		// for a TID of 0 with FUTEX_OWNER_DIED.
		if pid != l.owner && (pid != 0 || uval&futexOwnerDied == 0) {
			return false, nil, unix.EINVAL
		}
		l.seen(t.p.mm, addr)
		return false, l, nil
	}
	if pt.rq[key] != nil || t.plainWaiters(addr, key) {
		// Waiters of a non-PI kind: user space mixed PI and non-PI operations.
		return false, nil, unix.EINVAL
	}
	if pid == 0 {
		// Free (or its owner died): take it, keeping FUTEX_OWNER_DIED.
		nv := uval&futexOwnerDied | uint32(tid)
		if setWaiters {
			nv |= futexWaiters
		}
		if err := t.storeWord(addr, nv); err != nil {
			return false, nil, err
		}
		var l *piLock
		if setWaiters {
			l = pt.newLock(key, tid)
			l.seen(t.p.mm, addr)
		}
		return true, l, nil
	}
	// Owned, and this is the first waiter: FUTEX_WAITERS sends the owner's unlock to
	// the kernel. Linux leaves the bit set even when the owner turns out not to exist.
	if err := t.storeWord(addr, uval|futexWaiters); err != nil {
		return false, nil, err
	}
	owner := pt.tidProcess(t.p.k, pid)
	if owner == nil {
		return false, nil, unix.ESRCH
	}
	if private && owner != t.p {
		return false, nil, unix.EPERM // a private futex's owner is a thread of this process
	}
	l := pt.newLock(key, pid)
	l.seen(t.p.mm, addr)
	return false, l, nil
}

// piTimeout reads a PI operation's absolute timeout on clk and gives how long from now;
// -1 when there is none.
func (t *Task) piTimeout(a Args, clk int32) (time.Duration, error) {
	if a[3] == 0 {
		return -1, nil
	}
	ts, err := t.getTimespec(a.Ptr(3))
	if err != nil {
		return 0, err
	}
	now, _ := t.p.k.clock.Now(clk)
	return max(time.Duration(timespecNs(ts)-timespecNs(now)), 0), nil
}

// futexPI runs the PI operations of futex(2).
func (t *Task) futexPI(a Args, nr uint64) (uint64, error) {
	addr, op := a.Ptr(0), a.Int(1)
	cmd := op & abi.FUTEX_CMD_MASK
	timeout := time.Duration(-1)
	if cmd == abi.FUTEX_LOCK_PI || cmd == abi.FUTEX_LOCK_PI2 || cmd == abi.FUTEX_WAIT_REQUEUE_PI {
		// LOCK_PI's timeout is on CLOCK_REALTIME, the others' on CLOCK_MONOTONIC
		// unless FUTEX_CLOCK_REALTIME says otherwise (futex_init_timeout()).
		clk := int32(abi.CLOCK_MONOTONIC)
		if cmd == abi.FUTEX_LOCK_PI || op&abi.FUTEX_CLOCK_REALTIME != 0 {
			clk = abi.CLOCK_REALTIME
		}
		var err error
		if timeout, err = t.piTimeout(a, clk); err != nil {
			return 0, err
		}
	}
	if cmd == abi.FUTEX_UNLOCK_PI {
		return t.futexUnlockPI(op, addr)
	}
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	key := t.piKey(op, addr)
	switch cmd {
	case abi.FUTEX_LOCK_PI, abi.FUTEX_LOCK_PI2, abi.FUTEX_TRYLOCK_PI:
		private := op&abi.FUTEX_PRIVATE_FLAG != 0
		return t.futexLockPI(a, nr, addr, key, private, cmd == abi.FUTEX_TRYLOCK_PI, timeout)
	case abi.FUTEX_WAIT_REQUEUE_PI:
		return t.futexWaitRequeuePI(a, nr, addr, key, timeout)
	case abi.FUTEX_CMP_REQUEUE_PI:
		return t.futexCmpRequeuePI(a, addr, key)
	}
	return 0, unix.ENOSYS
}

// futexLockPI implements FUTEX_LOCK_PI, LOCK_PI2 and TRYLOCK_PI.
func (t *Task) futexLockPI(a Args, nr uint64, addr mm.Addr, key futexKey, private, try bool, timeout time.Duration) (uint64, error) {
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	got, l, err := t.piAcquire(pt, addr, key, private, t.tid, false)
	if err != nil || got {
		pt.mu.Unlock()
		return 0, err
	}
	if try || timeout == 0 {
		pt.dropIfIdle(l)
		pt.mu.Unlock()
		if try {
			return 0, unix.EAGAIN
		}
		return 0, unix.ETIMEDOUT
	}
	r, err := t.park()
	w := &piWaiter{t: t, pend: t.pending, gen: t.gen + 1, tid: t.tid, addr: addr}
	pt.enqueue(l, w)
	pt.mu.Unlock()
	t.piBlock(w, a, nr, timeout)
	return r, err
}

// piBlock finishes setting up a PI wait: Linux restarts it after a signal
// (ERESTARTNOINTR), handler or not; a requeued WAIT_REQUEUE_PI gives EAGAIN instead.
func (t *Task) piBlock(w *piWaiter, a Args, nr uint64, timeout time.Duration) {
	t.piWait = w
	pend := t.pending
	pend.nr, pend.args = nr, a
	pend.done = func(r uint64, err error) (uint64, error) { return t.piDone(w, r, err) }
	t.interruptible(intrNoIntr, func() { t.piEnd(w, nil) })
	if timeout > 0 {
		t.p.after(timeout, func() {
			if t.gen == w.gen && t.state == taskBlocked {
				t.piEnd(w, unix.ETIMEDOUT)
			}
		})
	}
}

// piEnd ends w's wait on the thread's own loop: with err on a timeout, or for a signal
// (err nil). A wait that another thread ended meanwhile completes with its result.
func (t *Task) piEnd(w *piWaiter, err error) {
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	if w.ended {
		res := w.err
		pt.mu.Unlock()
		t.complete(w.pend, 0, res)
		return
	}
	moved := w.moved
	pt.unqueue(w)
	pt.mu.Unlock()
	if err != nil {
		t.complete(w.pend, 0, err)
	} else if moved {
		// Requeued onto the PI futex: Linux answers EWOULDBLOCK rather than restart
		// a wait whose value has changed.
		w.pend.intr = intrKind(unix.EAGAIN)
	}
}

// piDone runs as a PI wait completes: a waiter that got the lock of a dead owner whose
// word nobody could write writes its own TID there, as Linux's fixup_pi_owner().
func (t *Task) piDone(w *piWaiter, r uint64, err error) (uint64, error) {
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	fix := w.fixup
	w.fixup = false
	if fix {
		if uval, e := t.loadWord(w.addr); e == nil {
			t.storeWord(w.addr, uval&futexOwnerDied|uint32(t.tid)|futexWaiters|futexOwnerDied)
		}
	}
	pt.mu.Unlock()
	return r, err
}

// piWake delivers the end of w's wait, decided by another thread, to its thread.
func (t *Task) piWake(w *piWaiter) {
	if w.t.p == t.p {
		if w.t.gen == w.gen && w.t.state == taskBlocked {
			w.t.complete(w.pend, 0, w.err)
		}
		return
	}
	w.t.p.send(wakeup{t: w.t, gen: w.gen, pend: w.pend, err: w.err})
}

// grant gives l to its first waiter, whose TID the caller has written into the word.
// The caller holds pt.mu and wakes the waiter once it has let go of it.
func (pt *piTable) grant(l *piLock) *piWaiter {
	w := l.waiters.head
	pt.unqueue(w)
	w.ended, w.err = true, nil
	if pt.locks[l.key] == l {
		pt.setOwner(l, w.tid) // others still wait
	}
	return w
}

// futexUnlockPI implements FUTEX_UNLOCK_PI, as Linux's futex_unlock_pi(): the owner is
// checked before the address's alignment.
func (t *Task) futexUnlockPI(op int32, addr mm.Addr) (uint64, error) {
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	uval, err := t.loadWord(addr)
	if err != nil {
		pt.mu.Unlock()
		return 0, err
	}
	if int(uval&futexTIDMask) != t.tid {
		pt.mu.Unlock()
		return 0, unix.EPERM
	}
	if addr%4 != 0 {
		pt.mu.Unlock()
		return 0, unix.EINVAL
	}
	key := t.piKey(op, addr)
	l := pt.locks[key]
	if l != nil && l.waiters.head == nil {
		pt.dropIfIdle(l) // the invariant (a state only while waiters wait) is checked, not assumed
		l = nil
	}
	if l == nil {
		// No waiters in the kernel: the word becomes 0, FUTEX_WAITERS and
		// FUTEX_OWNER_DIED with it. Waiters of another kind mean a mix-up.
		if pt.rq[key] != nil || t.plainWaiters(addr, key) {
			pt.mu.Unlock()
			return 0, unix.EINVAL
		}
		err := t.storeWord(addr, 0)
		pt.mu.Unlock()
		return 0, err
	}
	if l.owner != t.tid {
		pt.mu.Unlock()
		return 0, unix.EINVAL
	}
	// The next owner's TID, with FUTEX_WAITERS kept while the kernel has state.
	if err := t.storeWord(addr, futexWaiters|uint32(l.waiters.head.tid)); err != nil {
		pt.mu.Unlock()
		return 0, err
	}
	w := pt.grant(l)
	pt.mu.Unlock()
	t.piWake(w)
	return 0, nil
}

// futexWaitRequeuePI implements FUTEX_WAIT_REQUEUE_PI: a FUTEX_WAIT on the first futex
// that a CMP_REQUEUE_PI ends by handing the thread the PI futex at the second.
func (t *Task) futexWaitRequeuePI(a Args, nr uint64, addr mm.Addr, key futexKey, timeout time.Duration) (uint64, error) {
	addr2 := a.Ptr(4)
	if addr == addr2 || addr2%4 != 0 {
		return 0, unix.EINVAL
	}
	key2 := t.piKey(a.Int(1), addr2)
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	uval, err := t.loadWord(addr)
	if err != nil {
		pt.mu.Unlock()
		return 0, err
	}
	if uval != a.Uint(2) {
		pt.mu.Unlock()
		return 0, unix.EAGAIN
	}
	if key == key2 {
		pt.mu.Unlock()
		return 0, unix.EINVAL
	}
	if timeout == 0 {
		pt.mu.Unlock()
		return 0, unix.ETIMEDOUT
	}
	r, err := t.park()
	w := &piWaiter{t: t, pend: t.pending, gen: t.gen + 1, tid: t.tid, addr: addr2, key2: key2}
	pt.enqueueRQ(key, w)
	pt.mu.Unlock()
	t.piBlock(w, a, nr, timeout)
	return r, err
}

// futexCmpRequeuePI implements FUTEX_CMP_REQUEUE_PI, as Linux's futex_requeue() with
// requeue_pi: the first waiter takes the PI futex at once if it is free; the others (up
// to nr_requeue, and the first if it could not) wait for it as LOCK_PI's waiters do.
func (t *Task) futexCmpRequeuePI(a Args, addr mm.Addr, key futexKey) (uint64, error) {
	addr2 := a.Ptr(4)
	nrWake, nrRequeue := a.Int(2), int32(a.Uint(3))
	if nrWake < 0 || nrRequeue < 0 || addr == addr2 || nrWake != 1 || addr2%4 != 0 {
		return 0, unix.EINVAL
	}
	key2 := t.piKey(a.Int(1), addr2)
	if key == key2 {
		return 0, unix.EINVAL
	}
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	var woken []*piWaiter
	n, err := t.requeuePI(pt, a, addr, addr2, key, key2, int(nrRequeue), &woken)
	pt.mu.Unlock()
	for _, w := range woken {
		t.piWake(w)
	}
	return uint64(n), err
}

func (t *Task) requeuePI(pt *piTable, a Args, addr, addr2 mm.Addr, key, key2 futexKey, nrRequeue int, woken *[]*piWaiter) (int, error) {
	uval, err := t.loadWord(addr)
	if err != nil {
		return 0, err
	}
	if uval != a.Uint(5) {
		return 0, unix.EAGAIN
	}
	if t.plainWaiters(addr, key) {
		return 0, unix.EINVAL // a FUTEX_WAIT waiter is not one to requeue to a PI futex
	}
	q := pt.rq[key]
	if q == nil {
		return 0, nil
	}
	top := q.head
	if top.key2 != key2 {
		return 0, unix.EINVAL
	}
	got, l, err := t.piAcquire(pt, addr2, key2, a.Int(1)&abi.FUTEX_PRIVATE_FLAG != 0, top.tid, nrRequeue > 0)
	if err != nil {
		return 0, err
	}
	n := 0
	if got {
		pt.unqueue(top)
		top.ended = true
		*woken = append(*woken, top)
		n++
		if l == nil {
			return n, nil
		}
	} else {
		nrRequeue++ // the first waiter too, since it could not take the lock
	}
	defer pt.dropIfIdle(l)
	for moved := 0; moved < nrRequeue; moved++ {
		q := pt.rq[key]
		if q == nil {
			break
		}
		w := q.head
		if w.key2 != key2 {
			return n, unix.EINVAL
		}
		if w.tid == l.owner {
			return n, unix.EDEADLK // it stays where it waits, as on Linux
		}
		pt.unqueue(w)
		w.moved = true
		pt.enqueue(l, w)
		n++
	}
	return n, nil
}

// piCount is how many PI waiters the kernel has, for tests.
func (k *Kernel) piCount() int64 { return k.piFutexes().waiting.Load() }

// Thread ends: the robust list, then the PI futexes the thread owns, as Linux's
// futex_cleanup() before mm_release() clears the child TID.

// futexExit runs the futex clean-up of a thread that ends (or execs: gone false). The
// caller holds the shared CPU when the process shares memory.
func (t *Task) futexExit(gone bool) {
	t.exitRobustList()
	t.exitPI(gone)
}

// exitPI takes the thread off any PI wait and passes the PI futexes it owns to their
// first waiters, with FUTEX_OWNER_DIED, as Linux's exit_pi_state_list() and the new
// owner's fixup together.
func (t *Task) exitPI(gone bool) {
	t.piUnwait()
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	if gone {
		pt.gone[t.tid] = true
	}
	var woken []*piWaiter
	var held []*piLock
	for l := range pt.owned[t.tid] {
		if l.waiters.head != nil {
			held = append(held, l)
		}
	}
	addrs := t.piAddrs(held)
	for _, l := range held {
		w := l.waiters.head
		if addr, ok := addrs[l]; ok {
			uval, err := t.loadWord(addr)
			if err == nil {
				err = t.storeWord(addr, uval&futexOwnerDied|uint32(w.tid)|futexWaiters|futexOwnerDied)
			}
			w.fixup = err != nil
		} else {
			w.fixup = true
		}
		woken = append(woken, pt.grant(l))
	}
	pt.mu.Unlock()
	for _, w := range woken {
		t.piWake(w)
	}
}

// piUnwait takes the thread off its PI wait, if it waits.
func (t *Task) piUnwait() {
	w := t.piWait
	if w == nil {
		return
	}
	t.piWait = nil
	pt := t.p.k.piFutexes()
	pt.mu.Lock()
	pt.unqueue(w)
	pt.mu.Unlock()
}

// piForget drops the ended threads of p from the table once the process table no
// longer lists them as alive.
func (p *Process) piForget(tids ...int) {
	pt := p.k.piFutexes()
	pt.mu.Lock()
	for _, tid := range tids {
		delete(pt.gone, tid)
	}
	pt.mu.Unlock()
}

// piAddrs finds the words of the locks in the thread's memory: where its process last
// met each one, if the word is still there, else by one walk over the mappings for all
// the others together. A lock whose word is not mapped is left out.
func (t *Task) piAddrs(locks []*piLock) map[*piLock]mm.Addr {
	out := make(map[*piLock]mm.Addr, len(locks))
	var rest []*piLock
	for _, l := range locks {
		key := l.key
		if key.dev == ^uint64(0) {
			if key.host == uintptr(unsafe.Pointer(t.p.mm)) {
				out[l] = mm.Addr(key.off)
			}
			continue
		}
		if a, ok := l.at[t.p.mm]; ok && t.sharedKeyAt(a) == key {
			out[l] = a
			continue
		}
		rest = append(rest, l)
	}
	if len(rest) > 0 {
		t.p.addrsOfKeys(rest, out)
	}
	return out
}

// addrsOfKeys finds the words of shared locks in p's memory by their keys, in one walk
// over the mappings: the first mapping (in address order) that holds a word gives its
// address.
func (p *Process) addrsOfKeys(locks []*piLock, out map[*piLock]mm.Addr) {
	type file struct{ dev, ino uint64 }
	byFile := map[file][]*piLock{} // sorted by offset
	var byHost []*piLock           // sorted by host address
	for _, l := range locks {
		if l.key.ino != 0 {
			f := file{l.key.dev, l.key.ino}
			byFile[f] = append(byFile[f], l)
		} else {
			byHost = append(byHost, l)
		}
	}
	for _, ls := range byFile {
		slices.SortFunc(ls, func(a, b *piLock) int { return cmp.Compare(a.key.off, b.key.off) })
	}
	slices.SortFunc(byHost, func(a, b *piLock) int { return cmp.Compare(a.key.host, b.key.host) })
	give := func(l *piLock, a mm.Addr) {
		if _, ok := out[l]; !ok {
			out[l] = a
		}
	}
	for v := range p.mm.VMAs() {
		if ls := byFile[file{v.Dev, v.Ino}]; v.Shared && v.Ino != 0 && len(ls) > 0 {
			lo := v.FileOff
			i, _ := slices.BinarySearchFunc(ls, lo, func(l *piLock, off uint64) int { return cmp.Compare(l.key.off, off) })
			for ; i < len(ls) && ls[i].key.off-lo < v.Len(); i++ {
				give(ls[i], v.Start+mm.Addr(ls[i].key.off-lo))
			}
		}
		h := v.Host()
		if len(byHost) == 0 || len(h) == 0 {
			continue
		}
		// Comparing addresses only: the key names host memory this mapping may hold.
		base := uintptr(unsafe.Pointer(&h[0]))
		i, _ := slices.BinarySearchFunc(byHost, base, func(l *piLock, at uintptr) int { return cmp.Compare(l.key.host, at) })
		for ; i < len(byHost) && byHost[i].key.host-base < uintptr(len(h)); i++ {
			give(byHost[i], v.Start+mm.Addr(byHost[i].key.host-base))
		}
	}
}

// exitRobustList walks the thread's robust list, as Linux's exit_robust_list(): each
// futex it still owns gets FUTEX_OWNER_DIED, and a non-PI one wakes a waiter.
func (t *Task) exitRobustList() {
	head := t.robustList
	if head == 0 {
		return
	}
	var b [robustHeadSize]byte
	if t.p.mm.CopyIn(head, b[:]) != nil {
		return
	}
	le := binary.LittleEndian
	next := le.Uint64(b[0:])
	off := le.Uint64(b[8:])
	pendRaw := le.Uint64(b[16:])
	pending, pendPI := mm.Addr(pendRaw&^1), pendRaw&1 != 0
	entry, pi := mm.Addr(next&^1), next&1 != 0
	for limit := robustListLimit; entry != head && limit > 0; limit-- {
		var nb [8]byte
		rc := t.p.mm.CopyIn(entry, nb[:])
		n := le.Uint64(nb[:])
		if entry != pending && !t.futexDeath(entry+mm.Addr(off), pi, false) {
			return
		}
		if rc != nil {
			return
		}
		entry, pi = mm.Addr(n&^1), n&1 != 0
	}
	if pending != 0 {
		t.futexDeath(pending+mm.Addr(off), pendPI, true)
	}
}

// futexDeath is Linux's handle_futex_death() for the word at addr; false stops the walk.
func (t *Task) futexDeath(addr mm.Addr, pi, pendingOp bool) bool {
	if addr%4 != 0 {
		return false
	}
	uval, err := t.loadWord(addr)
	if err != nil {
		return false
	}
	owner := int(uval & futexTIDMask)
	if pendingOp && !pi && owner == 0 {
		// Died between releasing the lock and waking a waiter: wake one.
		t.futexWakeAt(addr, 1)
		return true
	}
	if owner != t.tid {
		return true
	}
	if t.storeWord(addr, uval&futexWaiters|futexOwnerDied) != nil {
		return false
	}
	if !pi && uval&futexWaiters != 0 {
		t.futexWakeAt(addr, 1)
	}
	return true
}

// futexExitAll cleans up the futexes of every thread of an ending process: first their
// PI waits, so that no lock passes to a thread that ends too, then each one's robust
// list and PI futexes. It holds the shared CPU meanwhile when the process shares memory,
// as the threads' own exits do inside their system calls.
func (p *Process) futexExitAll() { p.holdingCPU(p.futexExitTasks) }

func (p *Process) futexExitTasks() {
	for _, t := range p.tasks {
		if t.state != taskDead {
			t.piUnwait()
		}
	}
	for _, t := range p.tasks {
		if t.state != taskDead {
			t.futexExit(true)
			p.piGone = append(p.piGone, t.tid)
		}
	}
}
