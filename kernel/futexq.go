package kernel

import "vemu/kernel/mm"

// futexWaiter is one wait on a futex word: a thread in FUTEX_WAIT (private: addr in
// its process's table; shared: key in the kernel's), or one word of a futex_waitv.
type futexWaiter struct {
	t    *Task
	pend *pendingOp
	gen  uint64
	bits uint32
	addr mm.Addr  // a private wait's word
	key  futexKey // a shared wait's word
	stop func()   // a private timed wait's: stops its timer

	// The queue it is on, nil once woken, timed out, interrupted or dropped.
	q          *futexQueue
	prev, next *futexWaiter

	// futex_waitv: the waiter's index, which its wake returns, and all its waiters
	// (taken once one of them is woken).
	idx   uint64
	group []*futexWaiter
	taken bool
}

// futexQueue is the waiters of one futex word in arrival order, each removable in O(1):
// a wake takes them from the head, a wait or a requeue adds them at the tail.
type futexQueue struct {
	head, tail *futexWaiter
	n          int
}

func (q *futexQueue) push(w *futexWaiter) {
	w.q, w.prev, w.next = q, q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

// unlink takes w off q, the queue it is on.
func (q *futexQueue) unlink(w *futexWaiter) {
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
	w.q, w.prev, w.next = nil, nil, nil
	q.n--
}

// futexQueues is a table of queues by word, each dropped once empty.
type futexQueues[K comparable] map[K]*futexQueue

// add puts w at the tail of k's queue.
func (m futexQueues[K]) add(k K, w *futexWaiter) {
	q := m[k]
	if q == nil {
		q = &futexQueue{}
		m[k] = q
	}
	q.push(w)
}

// remove takes w off its queue, k's, and says whether it was on one.
func (m futexQueues[K]) remove(k K, w *futexWaiter) bool {
	q := w.q
	if q == nil {
		return false
	}
	q.unlink(w)
	if q.n == 0 && m[k] == q {
		delete(m, k)
	}
	return true
}

// waiting says how many wait on k.
func (m futexQueues[K]) waiting(k K) int {
	if q := m[k]; q != nil {
		return q.n
	}
	return 0
}
