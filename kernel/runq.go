package kernel

// The threads of a process that can run wait in a run queue, in the order they became
// runnable: the run loop takes the one at the head and puts it back at the tail, so the
// runnable threads take turns whatever the number of blocked ones, and a thread that
// wakes runs after those already waiting. Counts of live and runnable threads are kept
// with it, so that nothing the loop does at each turn walks all threads.

// runQueue is the runnable threads of a process, each removable in O(1).
type runQueue struct {
	head, tail *Task
	n          int
}

func (q *runQueue) push(t *Task) {
	t.runPrev, t.runNext, t.queued = q.tail, nil, true
	if q.tail != nil {
		q.tail.runNext = t
	} else {
		q.head = t
	}
	q.tail = t
	q.n++
}

func (q *runQueue) remove(t *Task) {
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
	case taskDead:
		p.live--
		p.dead++
		p.dying = append(p.dying, t)
		delete(p.byTID, t.tid)
		t.maskGone()
	}
	t.state = s
}
