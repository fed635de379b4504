package kernel

import "vemu/abi"

// A guest tracer's stops are a thread's, as on Linux: the thread that stops is parked
// (the run loop does not pick it) while the process's other threads run on, and what
// the stopping code does after the stop waits, as a continuation, until the tracer
// resumes the thread and the loop next gives it the CPU. The tracer sees one stop at a
// time: another thread that reaches a stop meanwhile is parked too, and its stop is
// published when the one before it ends. A group-stop stops every thread, as one; the
// stop at the process's end (PTRACE_EVENT_EXIT) and a gdb stub's stops hold the whole
// process in hold, as before.

// parkedStop is one thread's stop, published or waiting its turn.
type parkedStop struct {
	t      *Task
	st     DebugStop
	report bool
	sys    *sysOverlay // what the stop shows of a system call (d.sys while published)
	sig    bool        // a signal-delivery stop (d.sigStop while published)
	all    bool        // a group-stop: no thread runs while it is published
	then   func(seen bool)
}

// park stops thread t with st for a tracer, and returns at once; then runs when the
// tracer resumes t (seen false: the tracer went away before it saw the stop).
func (d *Debugger) park(t *Task, st DebugStop, report, all bool, then func(seen bool)) {
	ps := &parkedStop{t: t, st: st, report: report, sys: d.sys, sig: d.sigStop == t, all: all, then: then}
	t.ptParked = ps
	d.queue = append(d.queue, ps)
	// What the published stop shows stays its own.
	d.sys, d.sigStop = nil, nil
	if c := d.cur; c != nil {
		d.sys = c.sys
		if c.sig {
			d.sigStop = c.t
		}
	}
	d.publishNext()
}

// publishNext makes the first waiting stop the tracer's, when none is.
func (d *Debugger) publishNext() {
	if d.cur != nil || len(d.queue) == 0 || d.detached {
		return
	}
	ps := d.queue[0]
	d.queue = d.queue[1:]
	d.cur = ps
	d.sys, d.sigStop = ps.sys, nil
	if ps.sig {
		d.sigStop = ps.t
	}
	d.release, d.intr = false, false
	d.pt.stopped(ps.st)
	d.p.publishFatal()
}

// settle ends the published stop once the tracer resumed the thread or went away, and
// publishes the next; on the loop, after each of the tracer's requests.
func (d *Debugger) settle() {
	ps := d.cur
	if ps == nil || !(d.release || d.detached) {
		return
	}
	d.cur = nil
	d.sys, d.sigStop = nil, nil
	d.pt.resumed()
	t := ps.t
	t.ptParked = nil
	t.ptAction, t.ptActed = d.actionFor(t)
	t.ptThen = func() {}
	if f := ps.then; f != nil {
		t.ptThen = func() { f(true) }
	}
	d.publishNext()
}

// unparkAll lets every parked thread go, as the tracer detaches or ends: the published
// stop's thread as resumed, the others as if they never stopped.
func (d *Debugger) unparkAll() {
	d.settle()
	for _, ps := range d.queue {
		ps.t.ptParked = nil
		ps.t.ptThen = func() {}
		if f := ps.then; f != nil {
			ps.t.ptThen = func() { f(false) }
		}
	}
	d.queue = nil
}

// ptStopped reports whether the run loop must not pick t: t is in a ptrace stop, or a
// group-stop stops the process.
func (p *Process) ptStopped(t *Task) bool {
	if t.ptParked != nil {
		return true
	}
	d := p.dbg
	return d != nil && d.cur != nil && d.cur.all
}

// unparked runs what waits for t after its stop ended (the stopping code's continuation
// and the posts after it), with t on the CPU; true when there was any.
func (p *Process) unparked(t *Task) bool {
	f := t.ptThen
	if f == nil {
		return false
	}
	t.ptThen = nil
	f()
	p.afterEvent(t)
	return true
}

// runPosts runs t's posts, until one stops t.
func (p *Process) runPosts(t *Task) {
	for len(t.posts) > 0 && t.ptParked == nil {
		f := t.posts[0]
		t.posts = t.posts[1:]
		f()
	}
}

// callParked runs f on the tracee's loop, as the tracer's request about a stopped
// tracee: between runs of its other threads, or while it idles.
func (d *Debugger) callParked(f func() error) error {
	done := make(chan error, 1)
	d.p.send(wakeup{fn: func() {
		l := d.pt
		k := d.p.k
		k.pt.mu.Lock()
		ok := l != nil && l.inStop && d.p.dbg == d
		k.pt.mu.Unlock()
		if !ok {
			done <- ErrNotStopped
			return
		}
		done <- f()
		d.settle()
	}})
	// A request that resumes or detaches the tracee may see it end or leave before its
	// answer is read: the answer still counts. After a detach, a request sent before it
	// still runs (and finds the tracee gone) unless the run loop ends.
	select {
	case err := <-done:
		return err
	case <-d.gone:
	case <-d.left:
		select {
		case err := <-done:
			return err
		case <-d.gone:
		case <-d.p.done:
		}
	}
	select {
	case err := <-done:
		return err
	default:
		return ErrNotStopped
	}
}

// signalDecision is what a signal-delivery stop of t decided: info as the tracer left
// it (or the signal it resumed t with), and whether t gets it.
func (d *Debugger) signalDecision(t *Task, info abi.Siginfo, seen bool) (abi.Siginfo, bool) {
	if !seen {
		return info, true // the tracer went away first: as if never traced
	}
	if d.detached {
		// gdb's detach passes the signal on; a tracer's PTRACE_DETACH queued its choice.
		return info, d.pt == nil
	}
	sender := d.pid
	if d.pt != nil {
		// PTRACE_SETSIGINFO may have changed what the thread gets.
		if si, ok := d.siginfo[t.tid]; ok {
			info = si
		}
		sender = d.pt.tracerPid
	}
	a := t.ptAction
	if d.pt == nil {
		a, _ = d.actionFor(t)
	}
	switch {
	case a.Signal == 0:
		return info, false
	case a.Signal != int(info.Signo):
		info = abi.Siginfo{Signo: int32(a.Signal), Code: abi.SI_USER, Pid: int32(sender)}
	}
	if a.Kind == Step {
		// As under ptrace: a step that delivers a signal stops at its handler's entry.
		d.task(t).handlerPn = true
	}
	return info, true
}

// syscallPending says whether a tracee's thread t is between its call's entry stop and
// its exit stop: its signals wait, as Linux delivers them on the way back to user mode,
// after the call ran and its exit stop.
func (d *Debugger) syscallPending(t *Task) bool {
	dt := d.tasks[t]
	return dt != nil && (dt.entered || dt.retPend)
}
