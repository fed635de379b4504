package kernel

import "vemu/abi"

// A guest tracer's stops are a thread's, as on Linux: the thread that stops is parked
// (the run loop does not pick it) while the process's other threads run on, and what
// the stopping code does after the stop waits, as a continuation, until the tracer
// resumes the thread and the loop next gives it the CPU. Each thread's stop is the
// tracer's at once, as each thread of a traced process is a tracee of its own on Linux:
// a debugger stops every thread and waits for each (waitpid(tid, __WALL)), reads and
// resumes them one by one. A group-stop is each thread's own too: the thread that takes
// the stop signal stops at once, and each other traced thread stops before it next runs
// (a call it waits in ends, to start again after the stop), as Linux's do_signal_stop()
// has each thread report it; a thread the tracer does not trace stops as job control
// stops it (jobStop), until SIGCONT. At the process's end each traced thread stops with
// PTRACE_EVENT_EXIT, and ends (reported to the tracer) as the tracer resumes it. A gdb
// stub's stops hold the whole process. A thread its tracer detached alone (PTRACE_DETACH
// of a thread but the first) stops no more, while the others stay traced.

// parkedStop is one thread's stop.
type parkedStop struct {
	t      *Task
	sys    *sysOverlay // what the stop shows of a system call
	sig    bool        // a signal-delivery stop
	then   func(seen bool)
	action DebugAction // how the tracer resumed the thread
}

// park stops thread t with st for a tracer, and returns at once; then runs when the
// tracer resumes t (seen false: the tracer went away without deciding about the stop).
func (d *Debugger) park(t *Task, st DebugStop, then func(seen bool)) {
	ps := &parkedStop{t: t, sys: d.sys, sig: d.sigStop == t, then: then}
	t.ptParked = ps
	d.parked++
	d.sys, d.sigStop = nil, nil
	if d.intr && (d.intrTid == 0 || d.intrTid == t.tid) {
		d.intr, d.intrTid = false, 0 // this stop is the one the interrupt asked for
	}
	if dt := d.tasks[t]; dt != nil {
		dt.intrPend = false // any stop ends a pending interrupt's, as Linux's ptrace_stop()
	}
	d.pt.stopped(st)
	d.p.publishFatal()
}

// releaseStop ends thread t's stop as the tracer resumed it with a (settle lets it go);
// false when t is not parked.
func (d *Debugger) releaseStop(t *Task, a DebugAction) bool {
	ps := t.ptParked
	if ps == nil {
		return false
	}
	ps.action = a
	d.releasing = append(d.releasing, ps)
	return true
}

// settle ends the stops the tracer resumed, or every stop once it went away; on the
// loop, after each of the tracer's requests.
func (d *Debugger) settle() {
	if d.detached {
		d.unparkAll()
		return
	}
	for len(d.releasing) > 0 {
		ps := d.releasing[0]
		d.releasing = d.releasing[1:]
		d.endStop(ps, true)
	}
	d.releasing = nil
}

// endStop ends a parked stop: its thread may run again, and runs the stop's
// continuation first.
func (d *Debugger) endStop(ps *parkedStop, seen bool) {
	t := ps.t
	if t.ptParked != ps {
		return
	}
	if d.pt != nil {
		d.pt.resumed(t.tid)
	}
	t.ptParked = nil
	d.parked--
	t.ptAction = ps.action
	t.ptThen = func() {}
	if f := ps.then; f != nil {
		t.ptThen = func() { f(seen) }
	}
	if d.ending {
		d.ended = append(d.ended, t) // exitEvent ends it
	}
}

// unparkAll lets every parked thread go, as the tracer detaches or ends: each runs on
// as resumed, a signal-delivery stop's signal not delivered (PTRACE_DETACH queues its
// own), as on Linux, where a tracer's end restarts its tracees.
func (d *Debugger) unparkAll() {
	d.releasing = nil
	for _, t := range d.p.tasks {
		if ps := t.ptParked; ps != nil {
			d.endStop(ps, true)
		}
	}
}

// forgetStop drops the stop of thread t, which ends (an exec by another thread ends
// it), whatever the tracer would have done with it.
func (p *Process) forgetStop(t *Task) {
	ps := t.ptParked
	if ps == nil {
		return
	}
	t.ptParked, t.ptThen = nil, nil
	if d := p.dbg; d != nil {
		d.parked--
		if d.pt != nil {
			d.pt.resumed(t.tid)
		}
	}
}

// groupStopPending says whether t has yet to stop in a tracer's group-stop: a call it
// starts to wait in ends at once, as a pending signal ends it.
func (p *Process) groupStopPending(t *Task) bool {
	d := p.dbg
	if d == nil || d.pt == nil {
		return false
	}
	dt := d.tasks[t]
	return dt != nil && dt.groupPend
}

// ptStopped reports whether the run loop must not pick t: t is in a ptrace stop, or
// an untraced thread of a tracee in a group-stop.
func (p *Process) ptStopped(t *Task) bool { return t.ptParked != nil || t.jobStop }

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
		ok := l != nil && l.anyStopLocked() && d.p.dbg == d
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
// its exit stop, or has an event stop of its call to report (an exec's, a vfork's
// end): its signals wait, as Linux delivers them on the way back to user mode, after
// the call ran and its stops.
func (d *Debugger) syscallPending(t *Task) bool {
	dt := d.tasks[t]
	return dt != nil && (dt.entered || dt.retPend || dt.vforkPend || dt.execPend)
}
