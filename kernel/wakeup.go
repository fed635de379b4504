package kernel

// Waking up. On one CPU, Linux lets a thread that wakes preempt the one that woke it soon
// (a sleeper's virtual runtime lags the runner's), which is what hands a lock such as
// Python's GIL from one thread to the other at once. The threads of a process share one
// engine, so vemu does the same within a process, in three rules:
//   - A thread that wakes during another's turn (a futex wake, a pipe write, an
//     interrupted wait) goes to the head of the run queue instead of its tail.
//   - The waker, if its call woke one during its turn, stops at the end of its next
//     system call (not the waking one: it usually still holds the mutex it is about to
//     release) or at its quantum's end, whichever comes first; a CPU-bound waker is not
//     cut short before then. It goes back right behind the thread it woke, so its turn
//     goes on after that thread's, ahead of the others.
//   - Those turns draw on a budget of one quantum, which every turn taken from the head
//     of the queue in the plain order refills: two threads waking each other cannot keep
//     a third from running for more than one quantum at a time. Once the budget is
//     spent, a woken thread joins the tail and the waker runs on.
// Everything here counts translated blocks and system calls, never host time, so a
// repeatable run schedules its threads the same way every time.

// Where the running thread is in being stopped for a thread it woke.
const (
	preemptNone  = iota
	preemptArmed // a thread woke during this turn: stop at the end of the next call
	preemptHit   // the turn ended there
)

// woke is told that t has just become runnable out of a wait: it may run next.
func (p *Process) woke(t *Task) {
	cur := p.cur
	if !t.queued || cur == nil || cur == t || p.dbg != nil || !p.quantum || p.boostLeft <= 0 {
		return // without the block hook a turn could not be bounded
	}
	p.runq.remove(t)
	p.runq.pushWoken(t)
	if p.inRun && p.preempt == preemptNone && cur.state == taskRunnable {
		p.preempt = preemptArmed
	}
}

// picked notes the start of t's turn: one from the plain order refills the budget of
// turns given to woken threads.
func (p *Process) picked(t *Task) {
	p.turnBoosted = t != nil && t.boosted && p.boostLeft > 0
	if t != nil {
		t.boosted = false
	}
	if !p.turnBoosted {
		p.boostLeft = quantumBlocks
	}
}

// beginTurn comes right before the current thread's guest code runs: a woken thread's
// turn may run only what is left of the budget.
func (p *Process) beginTurn() {
	p.inRun = true
	p.turnStart = p.cpu.BlocksRun()
	if p.turnBoosted && p.quantum {
		p.cpu.SetQuantum(min(uint64(p.boostLeft), p.nextQuantum()))
	}
}

// endTurn comes after t's turn and what its event left to do: it charges a woken
// thread's turn to the budget, and puts a waker that stopped for the thread it woke
// right behind it. With the budget spent, the woken threads still waiting lose their
// place ahead.
func (p *Process) endTurn(t *Task) {
	p.inRun = false
	if p.turnBoosted {
		p.boostLeft -= int64(p.cpu.BlocksRun() - p.turnStart)
		p.turnBoosted = false
		p.updatePreempt() // a full quantum again for the next turn
	} else if p.quantum && p.cpu.QuantumFresh() {
		p.cpu.SetQuantum(p.nextQuantum()) // the quantum ran out: the next one's length
	}
	hit := p.preempt == preemptHit
	p.preempt = preemptNone
	if p.boostLeft <= 0 {
		p.runq.demote()
		return
	}
	if hit && t.state == taskRunnable && t.queued && p.runq.front != nil {
		p.runq.remove(t)
		p.runq.pushWoken(t)
	}
}
