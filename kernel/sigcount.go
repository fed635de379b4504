package kernel

import "math/bits"

// Which signals the live threads of a process block, kept as they change rather than
// gathered from every thread at each turn of the run loop (publishFatal's question: does
// every thread block this signal, does any?). Each thread's counted mask is what it
// blocks plus what its sigtimedwait takes; a thread whose mask changes is queued, and
// its count is brought up to date the next time the answer is asked.

// putSigmask sets the thread's signal mask.
func (t *Task) putSigmask(m uint64) {
	t.sigmask = m
	t.maskChanged()
}

// setSigWait sets the thread's sigtimedwait (or sigsuspend or pause) wait.
func (t *Task) setSigWait(w *sigWait) {
	t.sig.wait = w
	t.maskChanged()
}

// maskChanged queues t's counted mask to be brought up to date.
func (t *Task) maskChanged() {
	if !t.maskQueued && t.state != taskDead {
		t.maskQueued = true
		t.p.maskDirty = append(t.p.maskDirty, t)
	}
}

// maskGone takes a thread that ends out of the counts.
func (t *Task) maskGone() {
	p := t.p
	p.countMask(t.counted, -1)
	t.counted = 0
	p.maskStale = true
}

// blockingMask is what t counts as blocking: its mask, and the signals its sigtimedwait
// takes, which are never fatal either.
func (t *Task) blockingMask() uint64 {
	m := t.sigmask
	if w := t.sig.wait; w != nil {
		m |= w.set
	}
	return m
}

// countMask adds d to the count of each signal in m.
func (p *Process) countMask(m uint64, d int32) {
	for ; m != 0; m &= m - 1 {
		p.blockCount[bits.TrailingZeros64(m)] += d
	}
}

// recount brings t's counted mask up to date.
func (p *Process) recount(t *Task) {
	if t.state == taskDead {
		return
	}
	if m := t.blockingMask(); m != t.counted {
		p.countMask(t.counted&^m, -1)
		p.countMask(m&^t.counted, 1)
		t.counted = m
		p.maskStale = true
	}
}

// blockedSignals returns the signals every live thread blocks, and those some live
// thread blocks.
func (p *Process) blockedSignals() (all, any uint64) {
	if c := p.cur; c != nil {
		p.recount(c)
	}
	for _, t := range p.maskDirty {
		t.maskQueued = false
		p.recount(t)
	}
	clear(p.maskDirty)
	p.maskDirty = p.maskDirty[:0]
	if p.maskStale {
		p.maskStale = false
		p.blockedAll, p.blockedAny = ^uint64(0), 0
		for i, n := range p.blockCount {
			if n > 0 {
				p.blockedAny |= 1 << i
			}
			if int(n) != p.live {
				p.blockedAll &^= 1 << i
			}
		}
	}
	if checkBlocked {
		p.checkBlockedSignals()
	}
	return p.blockedAll, p.blockedAny
}

// checkBlocked makes blockedSignals check its counts against every thread (tests).
var checkBlocked bool

func (p *Process) checkBlockedSignals() {
	all, any := ^uint64(0), uint64(0)
	for _, t := range p.tasks {
		if t.state != taskDead {
			m := t.blockingMask()
			all &= m
			any |= m
		}
	}
	if all != p.blockedAll || any != p.blockedAny {
		panic("kernel: the counts of blocked signals disagree with the threads")
	}
}
