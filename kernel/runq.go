package kernel

// The threads of a process that can run wait in a run queue, in the order they became
// runnable: the run loop takes the one at the head and puts it back at the tail, so the
// runnable threads take turns whatever the number of blocked ones. A thread that wakes
// runs next, within limits (wakeup.go). Counts of live and runnable threads are kept
// with it, so that nothing the loop does at each turn walks all threads.

// runQueue is the runnable threads of a process, each removable in O(1).
type runQueue struct {
	head, tail *Task
	n          int
	front      *Task // the last of the woken threads at the head (pushWoken); nil: none
}

func (q *runQueue) push(t *Task) { q.insertAfter(q.tail, t) }

// insertAfter links t in right after at, or at the head when at is nil.
func (q *runQueue) insertAfter(at, t *Task) {
	next := q.head
	if at != nil {
		next = at.runNext
		at.runNext = t
	} else {
		q.head = t
	}
	t.runPrev, t.runNext, t.queued = at, next, true
	if next != nil {
		next.runPrev = t
	} else {
		q.tail = t
	}
	q.n++
}

func (q *runQueue) remove(t *Task) {
	if t == q.front {
		q.front = t.runPrev
	}
	if t.runPrev != nil {
		t.runPrev.runNext = t.runNext
	} else {
		q.head = t.runNext
	}
	if t.runNext != nil {
		t.runNext.runPrev = t.runPrev
	} else {
		q.tail = t.runPrev
	}
	t.runPrev, t.runNext, t.queued = nil, nil, false
	q.n--
}

// pushWoken puts t after the threads that woke before it and wait ahead of the plain
// order (wakeup.go), which stay a prefix of the queue.
func (q *runQueue) pushWoken(t *Task) {
	q.insertAfter(q.front, t)
	t.boosted = true
	q.front = t
}

// demote puts the threads that wait ahead of the plain order at its tail, in order.
func (q *runQueue) demote() {
	for q.front != nil {
		t := q.head
		q.remove(t)
		t.boosted = false
		q.push(t)
	}
}

// rotate takes the head and puts it at the tail, and returns it; nil when empty.
func (q *runQueue) rotate() *Task {
	t := q.head
	if t != nil && q.n > 1 {
		q.remove(t)
		q.push(t)
	}
	return t
}

// setState moves t to state s, keeping the run queue and the counts.
func (t *Task) setState(s taskState) {
	p := t.p
	if t.state == s {
		return
	}
	if t.state == taskDead {
		return // the dead stay dead
	}
	if t.queued {
		p.runq.remove(t)
	}
	switch s {
	case taskRunnable:
		p.runq.push(t)
		t.sched.ready(p)
	case taskBlocked:
		t.sched.leave(p, true)
	case taskDead:
		p.live--
		p.dead++
		p.dying = append(p.dying, t)
		delete(p.byTID, t.tid)
		t.maskGone()
	}
	t.state = s
}
