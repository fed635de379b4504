package kernel

import (
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// ptrace(2) between guest processes. A tracee is a process debugged as the gdb stub
// debugs one (debug.go): its own run loop stops its threads at signals, system calls,
// exec and steps, and serves the requests its tracer sends, so that only that loop ever
// drives its engine. A stopped thread is parked while the others run on (ptstop.go);
// the tracer's call sends each request to the tracee's loop, which answers it between
// runs of the other threads, or at once when none runs. Requests other than PTRACE_KILL
// and PTRACE_INTERRUPT are made only of a stopped tracee. A tracer learns of stops
// through wait4 and waitid, as of its children's, and through SIGCHLD; each thread's
// stop is its own, waited for by the thread's id (ptstop.go).

// ptraceLink ties a tracee to its tracer.
type ptraceLink struct {
	tracee    *Process
	tracer    *Process
	tracerPid int
	seized    bool
	options   atomic.Uint32

	// Owned by the tracee's loop, by thread id.
	d         *Debugger
	eventMsg  map[int]uint64 // PTRACE_GETEVENTMSG's message of each thread's last event stop
	noSignal  map[int]bool   // the thread's stop is an event or group stop: a restart's signal is ignored
	groupSig  int            // the stop signal of a group-stop in effect, until a SIGCONT
	groupLeft int            // threads yet to stop in it
	groupDone bool           // every thread stopped in it: the process is stopped, for its parent
	sysTrace  map[int]bool   // threads restarted with PTRACE_SYSCALL: they stop at calls
	untraced  map[int]bool   // threads the tracer detached alone, did not attach, or was not told of (no TRACECLONE)
	setDone   bool           // setUp ran

	// Guarded by the kernel's pt.mu.
	threads     map[int]bool        // threads other than the first the tracer was told of (clone events)
	threadExits []threadExit        // their ends, for the tracer's wait
	stops       map[int]*threadStop // the threads in a stop
	pending     []int               // threads whose stops wait for a wait, oldest first (or reported since)
	nListen     int                 // stops that listen
	exited      bool                // a tracee that is not the tracer's child ended: wait reports it
	exitInfo    abi.Siginfo         // how it ended
}

// threadStop is a thread's ptrace stop as the tracer's wait and requests see it.
type threadStop struct {
	status    int   // the stop's exit code, until a wait reports it; 0: reported
	listening bool  // PTRACE_LISTEN: still stopped, but no requests until it stops again
	used      usage // the tracee's use of resources at the stop, which the wait reports
}

// reportedStop is what a wait learns of a stop: its code and the tracee's usage then.
type reportedStop struct {
	code int
	used usage
}

// setStopLocked notes thread tid's stop with code, for the tracer's wait.
func (l *ptraceLink) setStopLocked(tid, code int, used usage) {
	s := l.stops[tid]
	if s == nil {
		if l.stops == nil {
			l.stops = map[int]*threadStop{}
		}
		s = &threadStop{}
		l.stops[tid] = s
	} else if s.listening {
		l.nListen--
	}
	s.status, s.listening, s.used = code, false, used
	l.pending = append(l.pending, tid)
	if len(l.pending) > 2*len(l.stops)+16 {
		// Reported by a wait for the thread itself: drop them, in order.
		kept := l.pending[:0]
		for _, t := range l.pending {
			if s := l.stops[t]; s != nil && s.status != 0 {
				kept = append(kept, t)
			}
		}
		l.pending = kept
	}
}

// endStopLocked forgets thread tid's stop.
func (l *ptraceLink) endStopLocked(tid int) {
	s := l.stops[tid]
	if s == nil {
		return
	}
	if s.listening {
		l.nListen--
	}
	delete(l.stops, tid)
}

// clearStopsLocked forgets every stop.
func (l *ptraceLink) clearStopsLocked() {
	l.stops, l.pending, l.nListen = nil, nil, 0
}

// leaveUntraced notes thread tid as one the tracer does not trace (see untraced); on
// the tracee's loop.
func (l *ptraceLink) leaveUntraced(tid int) {
	if l.untraced == nil {
		l.untraced = map[int]bool{}
	}
	l.untraced[tid] = true
}

// stoppedLocked says whether the tracer may make requests of thread tid: it is in a
// stop that does not listen.
func (l *ptraceLink) stoppedLocked(tid int) bool {
	s := l.stops[tid]
	return s != nil && !s.listening
}

// anyStopLocked says whether some thread is in a stop that does not listen.
func (l *ptraceLink) anyStopLocked() bool { return len(l.stops) > l.nListen }

// reportLocked takes (unless keep) the stop a wait for thread tid finds (0: any
// thread's, the oldest first): the id wait returns and the stop's code and usage.
func (l *ptraceLink) reportLocked(tid int, keep bool) (int, reportedStop, bool) {
	take := func(t int) (int, reportedStop, bool) {
		s := l.stops[t]
		r := reportedStop{s.status, s.used}
		if !keep {
			s.status = 0
		}
		return t, r, true
	}
	if tid != 0 {
		if s := l.stops[tid]; s != nil && s.status != 0 {
			return take(tid)
		}
		return 0, reportedStop{}, false
	}
	for len(l.pending) > 0 {
		t := l.pending[0]
		if s := l.stops[t]; s != nil && s.status != 0 {
			if !keep {
				l.pending = l.pending[1:]
			}
			return take(t)
		}
		l.pending = l.pending[1:]
	}
	return 0, reportedStop{}, false
}

// threadExit is the end of a traced thread, as wait4 reports it to the tracer.
type threadExit struct {
	tid, status int
}

// threadGone notes the end of thread tid of p (status as wait4 encodes it): a tracer that
// was told of the thread hears of its end, as Linux reports a traced thread's exit.
func (p *Process) threadGone(tid, status int) {
	k := p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	l := p.ptrace
	if l == nil {
		return
	}
	// On the tracee's loop, which owns them.
	delete(l.sysTrace, tid)
	delete(l.noSignal, tid)
	delete(l.eventMsg, tid)
	delete(l.untraced, tid)
	if l.d != nil {
		delete(l.d.steps, tid)
	}
	l.endStopLocked(tid)
	if !l.threads[tid] {
		return
	}
	delete(l.threads, tid)
	l.threadExits = append(l.threadExits, threadExit{tid, status})
	l.tracer.wakeChildWaiters()
}

// syscallCode is the exit code of a system call stop.
func (l *ptraceLink) syscallCode() int {
	if l.options.Load()&abi.PTRACE_O_TRACESYSGOOD != 0 {
		return abi.SIGTRAP | 0x80
	}
	return abi.SIGTRAP
}

// stopped publishes a stop of a tracee's thread for the tracer's wait, on the tracee's
// loop.
func (l *ptraceLink) stopped(st DebugStop) {
	code := st.Signal | st.Event<<8
	noSignal := st.Event != 0
	switch st.Kind {
	case SyscallEntry, SyscallReturn:
		code = l.syscallCode()
	case Exec:
		code, noSignal = abi.SIGTRAP|abi.PTRACE_EVENT_EXEC<<8, true
	}
	if l.noSignal == nil {
		l.noSignal = map[int]bool{}
	}
	l.noSignal[st.Tid] = noSignal
	q := l.tracee
	k := q.k
	q.pubState.Store('t')
	used := threadUsage() // on the tracee's loop, whose thread runs it
	k.pt.mu.Lock()
	if q.ptrace != l {
		k.pt.mu.Unlock()
		return
	}
	l.setStopLocked(st.Tid, code, used)
	tracer := l.tracer
	tracer.wakeChildWaiters()
	k.pt.mu.Unlock()
	pid := int32(q.pid)
	tracer.send(wakeup{fn: func() {
		// As Linux's do_notify_parent_cldstop() for a tracer.
		if tracer.sigactions[abi.SIGCHLD].Flags&abi.SA_NOCLDSTOP == 0 {
			tracer.queueSignal(nil, abi.Siginfo{Signo: abi.SIGCHLD, Code: abi.CLD_TRAPPED, Pid: pid, Status: int32(code & 0x7f)})
		}
	}})
}

// resumed ends thread tid's stop that stopped published.
func (l *ptraceLink) resumed(tid int) {
	q := l.tracee
	q.k.pt.mu.Lock()
	l.endStopLocked(tid)
	if len(l.stops) == 0 {
		q.pubState.Store(0)
	}
	q.k.pt.mu.Unlock()
}

// setEventMsg is what PTRACE_GETEVENTMSG tells of thread tid's next event stop.
func (l *ptraceLink) setEventMsg(tid int, msg uint64) {
	if l.eventMsg == nil {
		l.eventMsg = map[int]uint64{}
	}
	l.eventMsg[tid] = msg
}

// unlink ends the tracing relation; the tracee's loop detaches its debugger itself.
func (l *ptraceLink) unlink() {
	k := l.tracee.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	l.unlinkLocked()
}

func (l *ptraceLink) unlinkLocked() {
	q := l.tracee
	if q.ptrace == l {
		q.ptrace = nil
	}
	tr := l.tracer
	for i, o := range tr.tracees {
		if o == q {
			tr.tracees = append(tr.tracees[:i:i], tr.tracees[i+1:]...)
			break
		}
	}
	l.clearStopsLocked()
}

// execEvent decides what an exec of a traced thread reports: true for a
// PTRACE_EVENT_EXEC stop (PTRACE_O_TRACEEXEC); else a tracee attached with
// PTRACE_TRACEME or PTRACE_ATTACH gets a SIGTRAP, as Linux sends one.
func (l *ptraceLink) execEvent(t *Task) bool {
	l.setEventMsg(t.tid, uint64(t.tid))
	if l.options.Load()&abi.PTRACE_O_TRACEEXEC != 0 {
		return true
	}
	if !l.seized {
		t.p.queueSignal(t, abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SI_USER, Pid: int32(t.p.pid), UID: t.p.creds.ruid})
	}
	return false
}

// groupStop is a stop signal's default action in a tracee, taken by thread t: a
// group-stop, which each traced thread reports to the tracer as a stop of its own (with
// PTRACE_EVENT_STOP when it seized the tracee), t at once and each other thread before
// it next runs, as Linux's do_signal_stop() marks every thread and each then traps
// (do_jobctl_trap()); the tracer restarts each. A thread the tracer does not trace stops
// as job control stops it, until SIGCONT; with none traced, the process stops so. The
// group-stop stays in effect until a SIGCONT: a tracer that detaches (or ends) before
// then leaves the process stopped, as Linux's __ptrace_unlink() does.
func (d *Debugger) groupStop(t *Task, info abi.Siginfo) {
	l := d.pt
	p := d.p
	traced := false
	for _, o := range p.tasks {
		switch {
		case o.state == taskDead:
		case l.untraced[o.tid]:
			o.jobStop = true
		default:
			traced = true
			if dt := d.task(o); !dt.groupPend {
				dt.groupPend = true
				l.groupLeft++
			}
			if o != t {
				// A call it waits in ends, to start again after the stop, as Linux's
				// signal_wake_up() ends it.
				o.interruptCall()
			}
		}
	}
	if !traced {
		for _, o := range p.tasks {
			o.jobStop = false
		}
		p.stopProcess(info)
		return
	}
	l.groupSig = int(info.Signo)
	d.takeGroupStop(t)
}

// takeGroupStop stops thread t in the group-stop in effect, if it has yet to; true when
// it stopped. Not between a call's entry and exit stops: it stops on its way back to
// user mode, as on Linux.
func (d *Debugger) takeGroupStop(t *Task) bool {
	dt := d.tasks[t]
	l := d.pt
	if dt == nil || !dt.groupPend || l == nil || d.syscallPending(t) {
		return false
	}
	dt.groupPend = false
	sig := l.groupSig
	if sig == 0 || l.untraced[t.tid] {
		if sig != 0 {
			t.jobStop = true
		}
		d.participated()
		return false
	}
	st := DebugStop{Kind: Signalled, Tid: t.tid, Signal: sig}
	// A group-stop has no siginfo (PTRACE_GETSIGINFO: EINVAL), but for a seized tracee.
	delete(d.siginfo, t.tid)
	if l.seized {
		st.Event = abi.PTRACE_EVENT_STOP
		d.siginfo[t.tid] = abi.Siginfo{Signo: int32(sig), Code: int32(sig | abi.PTRACE_EVENT_STOP<<8), Pid: int32(t.tid), UID: t.p.creds.ruid}
	}
	d.hold(st, true)
	if t.ptParked != nil {
		l.noSignal[t.tid] = true // a restart's signal is ignored
	}
	d.participated()
	return true
}

// participated counts a thread's stop (or end) in the group-stop; the last completes
// it: the process is stopped, and its parent, when another process traces it, learns
// of it as of any child's stop (Linux's task_participate_group_stop() and the
// do_notify_parent_cldstop() of ptrace_stop()).
func (d *Debugger) participated() {
	l := d.pt
	if l.groupLeft--; l.groupLeft > 0 || l.groupDone || l.groupSig == 0 {
		return
	}
	l.groupDone = true
	p := d.p
	used := threadUsage()
	k := p.k
	k.pt.mu.Lock()
	parent := p.parent
	tell := parent != nil && parent != l.tracer
	if tell {
		p.job = jobState{stopSig: l.groupSig, used: used}
	}
	k.setJobStopLocked(p, true)
	k.pt.mu.Unlock()
	if tell {
		p.notifyParent(parent, abi.CLD_STOPPED, l.groupSig)
	}
}

// leaveGroupStop counts thread t, which ends or leaves its tracer, as stopped in the
// group-stop it has yet to stop in, as Linux's exit_signals() and __ptrace_unlink() do.
func (d *Debugger) leaveGroupStop(t *Task) {
	if dt := d.tasks[t]; dt != nil && dt.groupPend && d.pt != nil {
		dt.groupPend = false
		d.participated()
	}
}

// execEndsGroupStop drops the threads an exec by t ended from the group-stop in effect:
// one they had yet to stop in ends with them, unless t has yet to stop in it too, as
// Linux's zap_other_threads() drops the count of threads to stop.
func (d *Debugger) execEndsGroupStop(t *Task) {
	l := d.pt
	if l == nil || l.groupSig == 0 {
		return
	}
	left := 0
	for o, dt := range d.tasks {
		switch {
		case !dt.groupPend:
		case o == t:
			left = 1
		default:
			dt.groupPend = false
		}
	}
	l.groupLeft = left
	if left == 0 && !l.groupDone {
		l.groupSig = 0
	}
}

// listen implements PTRACE_LISTEN, on the tracee's loop: after a PTRACE_EVENT_STOP stop
// of thread tid, the tracee stays stopped, and the tracer's wait has nothing to report
// until a SIGCONT or PTRACE_INTERRUPT stops it again (relisten).
func (l *ptraceLink) listen(tid int) error {
	d := l.d
	k := l.tracee.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	// A thread not in a stop is ESRCH before anything else, as Linux's
	// ptrace_check_attach() answers it (a thread an exit_group ends, say).
	s := l.stops[tid]
	if l.tracee.ptrace != l || s == nil || s.listening {
		return unix.ESRCH
	}
	if t := l.tracee.thread(tid); t == nil || t.state == taskDead {
		return unix.ESRCH
	}
	if si, ok := d.siginfo[tid]; !ok || si.Code>>8 != abi.PTRACE_EVENT_STOP {
		return unix.EIO
	}
	s.listening, s.status = true, 0
	l.nListen++
	return nil
}

// relisten ends a PTRACE_LISTEN of thread tid (0: of every thread that listens) with a
// new PTRACE_EVENT_STOP stop, of the group-stop's signal while it is in effect, else
// SIGTRAP (as Linux's do_jobctl_trap()); false when no such thread listens.
func (d *Debugger) relisten(tid int) bool {
	l := d.pt
	k := d.p.k
	var tids []int
	k.pt.mu.Lock()
	if tid != 0 {
		if s := l.stops[tid]; s != nil && s.listening {
			tids = append(tids, tid)
		}
	} else if l.nListen > 0 {
		for _, t := range d.p.tasks { // in the threads' order, the same at each run
			if s := l.stops[t.tid]; s != nil && s.listening {
				tids = append(tids, t.tid)
			}
		}
	}
	k.pt.mu.Unlock()
	sig := l.groupSig
	if sig == 0 {
		sig = abi.SIGTRAP
	}
	for _, t := range tids {
		d.siginfo[t] = abi.Siginfo{Signo: int32(sig), Code: int32(sig | abi.PTRACE_EVENT_STOP<<8), Pid: int32(t), UID: d.p.creds.ruid}
		l.stopped(DebugStop{Kind: Signalled, Tid: t, Signal: sig, Event: abi.PTRACE_EVENT_STOP})
	}
	return len(tids) > 0
}

// continued notes a SIGCONT generated for the tracee: the group-stop ends, in threads
// yet to stop in it too, and a listening thread stops to say so. The parent learns of
// it when the group-stop was complete, as Linux's get_signal() tells it.
func (d *Debugger) continued() {
	l := d.pt
	if l == nil {
		return
	}
	if l.groupDone {
		p := d.p
		used := threadUsage()
		k := p.k
		k.pt.mu.Lock()
		parent := p.parent
		if parent != nil {
			p.job = jobState{continued: true, used: used}
		}
		k.setJobStopLocked(p, false)
		k.pt.mu.Unlock()
		if parent != nil {
			p.notifyParent(parent, abi.CLD_CONTINUED, abi.SIGCONT)
		}
	}
	l.groupSig, l.groupLeft, l.groupDone = 0, 0, false
	for _, t := range d.p.tasks {
		t.jobStop = false
		if dt := d.tasks[t]; dt != nil {
			dt.groupPend = false
		}
	}
	d.relisten(0)
}

// exitEvent is the PTRACE_EVENT_EXIT stop of each traced thread as the process ends,
// before its threads are gone: the tracer may still read them. Each thread ends as the
// tracer resumes it, its end reported to the tracer then, and the first thread's with
// the process, after the others, as each thread of an exit_group stops in Linux's
// do_exit(). Not after SIGKILL.
func (d *Debugger) exitEvent() {
	p := d.p
	l := d.pt
	if l == nil || l.options.Load()&abi.PTRACE_O_TRACEEXIT == 0 || p.exit.Signal == abi.SIGKILL || p.doomed.Load() != 0 || len(p.tasks) == 0 {
		return
	}
	st := *p.exit
	status := st.WaitStatus()
	p.exit = nil // the tracer's requests are served while the process has not ended
	d.ending = true
	d.sys, d.sigStop = nil, nil
	stop := func(t *Task) {
		if t.state == taskDead || l.untraced[t.tid] {
			return
		}
		if t.ptExited {
			// Already in (or past) its own exit's stop: it ends as resumed.
			if ps := t.ptParked; ps != nil {
				ps.then = nil
			} else {
				d.ended = append(d.ended, t)
			}
			return
		}
		p.forgetStop(t) // a stop it was in ends, as SIGKILL ends it on Linux
		t.ptThen = nil
		l.setEventMsg(t.tid, uint64(status))
		d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SIGTRAP | abi.PTRACE_EVENT_EXIT<<8, Pid: int32(t.tid)}
		d.park(t, DebugStop{Kind: Signalled, Tid: t.tid, Signal: abi.SIGTRAP, Event: abi.PTRACE_EVENT_EXIT}, nil)
	}
	// The thread that ended the process stops first.
	if c := p.cur; c != nil {
		stop(c)
	}
	for _, t := range p.tasks {
		if t != p.cur {
			stop(t)
		}
	}
	d.endThreads(status)
	for d.parked > 0 && !d.detached && p.exit == nil && p.doomed.Load() == 0 {
		p.onWake(<-p.wake)
		d.endThreads(status)
	}
	d.ending = false
	d.endThreads(status)
	if p.exit == nil || p.exit.Signal != abi.SIGKILL {
		p.exit = &st
	}
}

// endThreads ends the threads resumed from their PTRACE_EVENT_EXIT stops with status:
// each but the first is gone, its end reported to the tracer; the first thread's end is
// the process's.
func (d *Debugger) endThreads(status int) {
	p := d.p
	for len(d.ended) > 0 {
		t := d.ended[0]
		d.ended = d.ended[1:]
		t.ptThen = nil
		if t.tid == p.pid || t.state == taskDead {
			continue
		}
		t.setState(taskDead)
		p.k.dropThread(t.tid)
		p.threadGone(t.tid, status)
	}
	d.ended = nil
}

// exitStop stops thread t, which ends alone (exit(2)) while others live, with
// PTRACE_EVENT_EXIT when its tracer asked for it, and ends it with code once resumed;
// false when it does not stop.
func (t *Task) exitStop(code int) bool {
	p := t.p
	d := p.dbg
	if d == nil || d.pt == nil || d.pt.options.Load()&abi.PTRACE_O_TRACEEXIT == 0 || d.pt.untraced[t.tid] || p.live <= 1 || t.ptExited {
		return false
	}
	t.post(func() {
		d := p.dbg
		if d == nil || d.pt == nil || d.pt.untraced[t.tid] {
			t.threadExit(code)
			return
		}
		t.ptExited = true
		d.pt.setEventMsg(t.tid, uint64((code&0xff)<<8))
		d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SIGTRAP | abi.PTRACE_EVENT_EXIT<<8, Pid: int32(t.tid)}
		d.holdThen(DebugStop{Kind: Signalled, Tid: t.tid, Signal: abi.SIGTRAP, Event: abi.PTRACE_EVENT_EXIT}, true, func(bool) {
			t.threadExit(code)
		})
	})
	return true
}

// tracerExited lets p's tracees go when p ends: each is detached and runs on, or is
// killed when its tracer asked for PTRACE_O_EXITKILL. Called with pt.mu held.
func (p *Process) tracerExitedLocked() []func() {
	var after []func()
	for _, q := range p.tracees {
		l := q.ptrace
		if l == nil || l.tracer != p {
			continue
		}
		if q.ptrace == l {
			q.ptrace = nil
		}
		l.clearStopsLocked()
		if l.options.Load()&abi.PTRACE_O_EXITKILL != 0 {
			after = append(after, func() { q.signalFromOutside(0, abi.Siginfo{Signo: abi.SIGKILL, Code: abi.SI_USER, Pid: int32(p.pid)}) })
			continue
		}
		after = append(after, func() {
			q.send(wakeup{fn: func() {
				if d := q.dbg; d != nil && d.pt == l {
					d.detach()
				}
			}})
		})
	}
	p.tracees = nil
	return after
}

// traceeExitedLocked notes the end of traced p: a tracer that is not its parent learns
// of it through its own wait. Called with pt.mu held; returns the tracer to notify.
func (p *Process) traceeExitedLocked() *Process {
	l := p.ptrace
	if l == nil {
		return nil
	}
	// Its other threads the tracer knows end with it, reported before it.
	for tid := range l.threads {
		l.threadExits = append(l.threadExits, threadExit{tid, p.exit.WaitStatus()})
	}
	l.threads = nil
	if len(l.threadExits) > 0 {
		l.tracer.wakeChildWaiters()
	}
	if (l.tracer == p.parent || l.tracer.zombie) && len(l.threadExits) == 0 {
		l.unlinkLocked()
		return nil
	}
	if l.tracer == p.parent {
		return nil // the parent's wait reports the process after the threads
	}
	l.clearStopsLocked()
	l.exited, l.exitInfo = true, childInfo(p)
	l.tracer.wakeChildWaiters()
	return l.tracer
}

// tracerPidLocked is /proc/PID/status's TracerPid. Called with pt.mu held.
func (p *Process) tracerPidLocked() int {
	if l := p.ptrace; l != nil {
		return l.tracerPid
	}
	return 0
}

// tracerPid is tracerPidLocked for a caller without pt.mu.
func (p *Process) tracerPid() int {
	p.k.pt.mu.Lock()
	defer p.k.pt.mu.Unlock()
	return p.tracerPidLocked()
}

// sysPtrace implements ptrace(2) between guest processes.
func sysPtrace(t *Task, a Args) (uint64, error) {
	req, pid, addr, data := a.Int64(0), a.Int(1), a[2], a[3]
	switch req {
	case abi.PTRACE_TRACEME:
		return 0, t.ptraceTraceme()
	case abi.PTRACE_ATTACH, abi.PTRACE_SEIZE:
		return 0, t.ptraceAttach(req == abi.PTRACE_SEIZE, pid, addr, data)
	}
	l, err := t.tracee(pid, req == abi.PTRACE_KILL || req == abi.PTRACE_INTERRUPT)
	if err != nil {
		return 0, err
	}
	q, tid := l.tracee, int(pid)
	switch req {
	case abi.PTRACE_KILL:
		q.signalFromOutside(0, abi.Siginfo{Signo: abi.SIGKILL, Code: abi.SI_USER, Pid: int32(t.p.pid), UID: t.p.creds.ruid})
		return 0, nil
	case abi.PTRACE_INTERRUPT:
		if !l.seized {
			return 0, unix.EIO
		}
		q.send(wakeup{fn: func() {
			if d := q.dbg; d != nil && d.pt == l && !d.relisten(tid) {
				if th := q.thread(tid); th != nil && th.state != taskDead {
					// Each thread's own, as Linux's JOBCTL_TRAP_STOP: interrupts of
					// several threads each stop theirs.
					d.task(th).intrPend = true
					// As Linux's signal_wake_up(): a blocked call ends to stop, and
					// restarts when the thread goes on (restart_syscall for a sleep).
					th.interruptCall()
				}
			}
		}})
		q.kick.Load().Kick()
		return 0, nil
	}
	d := l.d
	if d == nil {
		return 0, unix.ESRCH
	}
	switch req {
	case abi.PTRACE_PEEKTEXT, abi.PTRACE_PEEKDATA:
		var b [8]byte
		if n, _ := d.ReadMemory(addr, b[:]); n != len(b) {
			return 0, unix.EIO
		}
		return 0, t.p.mm.CopyOut(mm.Addr(data), b[:])
	case abi.PTRACE_POKETEXT, abi.PTRACE_POKEDATA:
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], data)
		if n, _ := d.WriteMemory(addr, b[:]); n != len(b) {
			return 0, unix.EIO
		}
		return 0, nil
	case abi.PTRACE_PEEKUSR:
		v, err := l.peekUser(tid, addr)
		if err != nil {
			return 0, err
		}
		return 0, t.p.mm.CopyOut(mm.Addr(data), binary.LittleEndian.AppendUint64(nil, v))
	case abi.PTRACE_POKEUSR:
		return 0, l.pokeUser(tid, addr, data)
	case abi.PTRACE_GETREGS:
		r, err := d.Regs(tid)
		if err != nil {
			return 0, unix.ESRCH
		}
		return 0, t.p.mm.CopyOut(mm.Addr(data), r.Marshal())
	case abi.PTRACE_SETREGS:
		var b [abi.UserRegsSize]byte
		if err := t.p.mm.CopyIn(mm.Addr(data), b[:]); err != nil {
			return 0, err
		}
		return 0, l.setRegs(tid, b[:])
	case abi.PTRACE_GETFPREGS:
		img, err := d.FPRegs(tid)
		if err != nil {
			return 0, unix.ESRCH
		}
		return 0, t.p.mm.CopyOut(mm.Addr(data), img[:])
	case abi.PTRACE_SETFPREGS:
		var img [abi.FXSaveSize]byte
		if err := t.p.mm.CopyIn(mm.Addr(data), img[:]); err != nil {
			return 0, err
		}
		if d.SetFPRegs(tid, &img) != nil {
			return 0, unix.ESRCH
		}
		return 0, nil
	case abi.PTRACE_GETREGSET, abi.PTRACE_SETREGSET:
		return 0, t.ptraceRegset(l, tid, req == abi.PTRACE_SETREGSET, addr, mm.Addr(data))
	case abi.PTRACE_CONT, abi.PTRACE_SYSCALL, abi.PTRACE_SINGLESTEP:
		if data >= abi.NSIG {
			return 0, unix.EIO
		}
		kind := Continue
		if req == abi.PTRACE_SINGLESTEP {
			kind = Step
		}
		return 0, l.resume(tid, kind, int(data), req == abi.PTRACE_SYSCALL)
	case abi.PTRACE_DETACH:
		if data >= abi.NSIG {
			return 0, unix.EIO
		}
		return 0, l.detach(tid, int(data))
	case abi.PTRACE_SETOPTIONS:
		if data&^abi.PTRACE_O_MASK != 0 {
			return 0, unix.EINVAL
		}
		if data&ptraceUnsupported != 0 {
			return 0, unix.EINVAL
		}
		l.options.Store(uint32(data))
		return 0, nil
	case abi.PTRACE_LISTEN:
		if !l.seized {
			return 0, unix.EIO
		}
		return 0, ptraceErr(d.call(func() error { return l.listen(tid) }))
	case abi.PTRACE_GETEVENTMSG:
		var msg uint64
		if d.call(func() error { msg = l.eventMsg[tid]; return nil }) != nil {
			return 0, unix.ESRCH
		}
		return 0, t.p.mm.CopyOut(mm.Addr(data), binary.LittleEndian.AppendUint64(nil, msg))
	case abi.PTRACE_GETSIGINFO:
		b, ok := d.Siginfo(tid)
		if !ok {
			return 0, unix.EINVAL
		}
		return 0, t.p.mm.CopyOut(mm.Addr(data), b)
	case abi.PTRACE_SETSIGINFO:
		var b [abi.SiginfoSize]byte
		if err := t.p.mm.CopyIn(mm.Addr(data), b[:]); err != nil {
			return 0, err
		}
		var info abi.Siginfo
		info.Unmarshal(b[:])
		return 0, ptraceErr(d.call(func() error {
			if _, ok := d.siginfo[tid]; !ok {
				return unix.EINVAL
			}
			d.siginfo[tid] = info
			return nil
		}))
	case abi.PTRACE_GET_SYSCALL_INFO:
		return t.ptraceSyscallInfo(l, tid, addr, mm.Addr(data))
	case abi.PTRACE_GET_RSEQ_CONFIGURATION:
		return t.ptraceRseqConfig(l, tid, addr, mm.Addr(data))
	case abi.PTRACE_GET_THREAD_AREA, abi.PTRACE_SET_THREAD_AREA:
		return t.ptraceThreadArea(l, tid, addr, mm.Addr(data), req == abi.PTRACE_SET_THREAD_AREA)
	}
	return 0, unix.EIO
}

// ptraceUnsupported are the options vemu does not implement: suspending the tracee's
// seccomp filters (which Linux grants only to a tracer with CAP_SYS_ADMIN).
const ptraceUnsupported = abi.PTRACE_O_SUSPEND_SECCOMP

// cloneEvent is the ptrace event a clone with flags reports, as Linux's kernel_clone()
// picks it, and whether the tracer asked for it (0 when the caller is not traced).
func (p *Process) cloneEvent(flags uint64) (event int, enabled bool) {
	d := p.dbg
	if d == nil || d.pt == nil || flags&abi.CLONE_UNTRACED != 0 {
		return 0, false
	}
	opt := uint32(abi.PTRACE_O_TRACEFORK)
	event = abi.PTRACE_EVENT_FORK
	switch {
	case flags&abi.CLONE_VFORK != 0:
		opt, event = abi.PTRACE_O_TRACEVFORK, abi.PTRACE_EVENT_VFORK
	case flags&abi.CSIGNAL != abi.SIGCHLD:
		opt, event = abi.PTRACE_O_TRACECLONE, abi.PTRACE_EVENT_CLONE
	}
	return event, d.pt.options.Load()&opt != 0
}

// traceChild makes new child c traced by p's tracer, before c first runs, when the
// tracer follows this kind of clone or CLONE_PTRACE asks for it; c then stops first
// thing (SIGSTOP, or PTRACE_EVENT_STOP when the tracer seized p). The caller then
// posts c's start and calls the function returned (when not nil): p stops with the
// event, naming c, once the call has returned and c runs, as the child of a stopped
// parent runs on Linux (a debugger waits for the child's first stop before it
// resumes the parent).
func (t *Task) traceChild(c *Process, flags uint64) func() {
	p := t.p
	event, enabled := p.cloneEvent(flags)
	if !enabled && (event == 0 || flags&abi.CLONE_PTRACE == 0) {
		return nil
	}
	l := p.dbg.pt
	k := p.k
	k.pt.mu.Lock()
	tracer := l.tracer
	if p.ptrace != l || tracer.zombie || c.ptrace != nil {
		k.pt.mu.Unlock()
		return nil
	}
	cl := &ptraceLink{tracee: c, tracer: tracer, tracerPid: l.tracerPid, seized: l.seized}
	cl.options.Store(l.options.Load())
	c.ptrace = cl
	tracer.tracees = append(tracer.tracees, c)
	k.pt.mu.Unlock()
	cl.install()
	if cl.seized {
		cl.d.intr = true
	} else {
		c.queueSignal(nil, abi.Siginfo{Signo: abi.SIGSTOP, Code: abi.SI_KERNEL})
	}
	if !enabled {
		return nil
	}
	return func() { t.cloneEventStop(event, uint64(c.pid)) }
}

// cloneEventStop stops t with a fork, vfork or clone event once its call has returned
// (before the exit stop of PTRACE_SYSCALL, as on Linux).
func (t *Task) cloneEventStop(event int, id uint64) {
	t.post(func() {
		d := t.p.dbg
		if d == nil || d.pt == nil || t.p.exit != nil {
			return
		}
		d.pt.setEventMsg(t.tid, id)
		d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: int32(abi.SIGTRAP | event<<8), Pid: int32(t.p.pid)}
		d.hold(DebugStop{Kind: Signalled, Tid: t.tid, Signal: abi.SIGTRAP, Event: event}, true)
	})
}

// vforkDone notes that t's vfork child c released it: with PTRACE_O_TRACEVFORKDONE, t
// stops with PTRACE_EVENT_VFORK_DONE before it runs again.
func (t *Task) vforkDone(pid int) {
	d := t.p.dbg
	if d == nil || d.pt == nil || d.pt.options.Load()&abi.PTRACE_O_TRACEVFORKDONE == 0 {
		return
	}
	dt := d.task(t)
	dt.vforkPend, dt.vforkPid = true, pid
}

// traceThread is traceChild for a new thread c of a traced process: with
// PTRACE_O_TRACECLONE (or CLONE_PTRACE) c is traced and starts with SIGSTOP, and with
// the option the caller stops with the event; otherwise c runs untraced, as Linux's
// kernel_clone() decides, so that a tracer that follows one thread (strace without
// -f) never meets the stops of threads it does not know.
func (t *Task) traceThread(c *Task, flags uint64) {
	d := t.p.dbg
	if d == nil || d.pt == nil {
		return
	}
	event, enabled := t.p.cloneEvent(flags)
	enabled = enabled && event == abi.PTRACE_EVENT_CLONE
	if !enabled && flags&abi.CLONE_PTRACE == 0 {
		d.pt.leaveUntraced(c.tid)
		return
	}
	k := t.p.k
	k.pt.mu.Lock()
	if l := t.p.ptrace; l != nil {
		if l.threads == nil {
			l.threads = map[int]bool{}
		}
		l.threads[c.tid] = true
	}
	k.pt.mu.Unlock()
	t.post(func() {
		// After the post that gives c its registers.
		if d := t.p.dbg; d != nil && d.pt != nil && d.pt.seized && c.state != taskDead {
			d.task(c).startStop = true // c's own stop, not whichever thread runs first
		} else if d != nil && d.pt != nil && c.state != taskDead {
			t.p.queueSignal(c, abi.Siginfo{Signo: abi.SIGSTOP, Code: abi.SI_KERNEL})
		}
	})
	if enabled {
		t.cloneEventStop(event, uint64(c.tid))
	}
}

// ptraceErr maps a request's failure to the errno: an Errno stays, the tracee gone
// or running is ESRCH.
func ptraceErr(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.ESRCH
}

// tracee finds the tracee with thread id pid that the caller traces, stopped unless
// any says the request does not need it: else ESRCH, as Linux's ptrace_check_attach().
func (t *Task) tracee(pid int32, any bool) (*ptraceLink, error) {
	if pid <= 0 {
		return nil, unix.ESRCH
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := k.lookupLocked(int(pid))
	if q == nil || q.zombie || q.ptrace == nil || q.ptrace.tracer != t.p {
		return nil, unix.ESRCH
	}
	l := q.ptrace
	if !any && !l.stoppedLocked(int(pid)) {
		return nil, unix.ESRCH
	}
	return l, nil
}

// ptraceTraceme implements PTRACE_TRACEME: the parent traces the caller.
func (t *Task) ptraceTraceme() error {
	p := t.p
	k := p.k
	k.pt.mu.Lock()
	parent := p.parent
	if p.ptrace != nil || p.gdb || parent == nil || parent.zombie {
		// A parent outside vemu (the first process's) cannot trace it.
		k.pt.mu.Unlock()
		return unix.EPERM
	}
	l := &ptraceLink{tracee: p, tracer: parent, tracerPid: parent.pid}
	p.ptrace = l
	parent.tracees = append(parent.tracees, p)
	k.pt.mu.Unlock()
	l.install()
	return nil
}

// install makes the tracee debugged through l, on its loop.
func (l *ptraceLink) install() {
	q := l.tracee
	d := newDebugger(q)
	d.pt, l.d = l, d
	q.publishFatal()
}

// ptraceAttach implements PTRACE_ATTACH and PTRACE_SEIZE, with Linux's
// ptrace_attach() checks: not the caller's own process, not a traced one, and the
// caller's real ids equal to the target's (all of them) or CAP_SYS_PTRACE.
func (t *Task) ptraceAttach(seize bool, pid int32, addr, data uint64) error {
	if seize {
		if addr != 0 {
			return unix.EIO
		}
		if data&^abi.PTRACE_O_MASK != 0 || data&ptraceUnsupported != 0 {
			return unix.EINVAL
		}
	}
	if pid <= 0 {
		return unix.ESRCH
	}
	p := t.p
	k := p.k
	k.pt.mu.Lock()
	q := k.lookupLocked(int(pid))
	if q == nil || q.zombie {
		k.pt.mu.Unlock()
		return unix.ESRCH
	}
	if l := q.ptrace; l != nil && l.tracer == p && int(pid) != q.pid {
		k.pt.mu.Unlock()
		return l.attachThread(int(pid), seize)
	}
	c, o := &p.creds, &q.creds
	same := c.ruid == o.ruid && c.ruid == o.euid && c.ruid == o.suid && c.rgid == o.rgid && c.rgid == o.egid && c.rgid == o.sgid
	switch {
	case q == p, q.ptrace != nil, q.gdb:
		k.pt.mu.Unlock()
		return unix.EPERM
	case !same && !c.capable(capSysPtrace):
		k.pt.mu.Unlock()
		return unix.EPERM
	}
	l := &ptraceLink{tracee: q, tracer: p, tracerPid: p.pid, seized: seize}
	if seize {
		l.options.Store(uint32(data))
	}
	q.ptrace = l
	p.tracees = append(p.tracees, q)
	q.attachedFatal()
	k.pt.mu.Unlock()
	q.send(wakeup{fn: func() {
		k.pt.mu.Lock()
		ok := q.ptrace == l
		k.pt.mu.Unlock()
		defer func() {
			q.attaching.Store(false)
			q.publishFatal()
		}()
		if ok {
			l.setUp()
		}
	}})
	return nil
}

// setUp makes the tracee of a PTRACE_ATTACH or PTRACE_SEIZE traced, on its loop, once:
// by the attach's message, or by a later request's that got there first (a message
// waits in a goroutine of its own when the loop's queue is full, so that they may come
// in any order).
func (l *ptraceLink) setUp() {
	q := l.tracee
	if l.setDone || q.exit != nil {
		return
	}
	l.setDone = true
	l.install()
	// The process's first thread is attached; its others run on untraced until they
	// are attached themselves, as on Linux.
	first := q.thread(q.pid)
	for _, o := range q.tasks {
		if o != first && o.state != taskDead {
			l.leaveUntraced(o.tid)
		}
	}
	if !l.seized && first != nil && first.state != taskDead {
		q.queueSignal(first, abi.Siginfo{Signo: abi.SIGSTOP, Code: abi.SI_KERNEL, Pid: int32(l.tracerPid)})
	}
}

// attachThread is PTRACE_ATTACH or PTRACE_SEIZE of thread tid of a process the caller
// traces: a thread that was not attached with the process, or was detached alone, is
// attached and (without seize) stops with SIGSTOP; one already traced is EPERM.
func (l *ptraceLink) attachThread(tid int, seize bool) error {
	q := l.tracee
	done := make(chan error, 1)
	q.send(wakeup{fn: func() {
		k := q.k
		k.pt.mu.Lock()
		mine := q.ptrace == l
		k.pt.mu.Unlock()
		if mine {
			l.setUp() // the process's own attach may wait behind this message
		}
		t := q.thread(tid)
		switch {
		case t == nil || t.state == taskDead || q.exit != nil:
			done <- unix.ESRCH
		case q.dbg == nil || q.dbg.pt != l || !l.untraced[tid]:
			done <- unix.EPERM
		default:
			delete(l.untraced, tid)
			k.pt.mu.Lock()
			if l.threads == nil {
				l.threads = map[int]bool{}
			}
			l.threads[tid] = true
			k.pt.mu.Unlock()
			if t.jobStop {
				// In the group-stop: it stops for the tracer instead, as Linux's
				// ptrace_attach() has a stopped thread trap (JOBCTL_TRAP_STOP).
				t.jobStop = false
				q.dbg.task(t).groupPend = true
				l.groupLeft++
			}
			if !seize { // PTRACE_SEIZE leaves the thread running, as Linux's ptrace_attach()
				q.queueSignal(t, abi.Siginfo{Signo: abi.SIGSTOP, Code: abi.SI_KERNEL, Pid: int32(l.tracerPid)})
			}
			done <- nil
		}
	}})
	q.kick.Load().Kick()
	select {
	case err := <-done:
		return err
	case <-q.done:
		return unix.ESRCH
	}
}

// resume restarts a stopped tracee: PTRACE_CONT, PTRACE_SYSCALL (stop at the next
// system call's entry and exit) and PTRACE_SINGLESTEP, with sig delivered at a
// signal-delivery stop, sent at a system call stop, ignored at an event stop.
func (l *ptraceLink) resume(tid int, kind ResumeKind, sig int, syscalls bool) error {
	d := l.d
	return ptraceErr(d.call(func() error {
		if l.noSignal[tid] {
			sig = 0
		}
		if l.sysTrace == nil {
			l.sysTrace = map[int]bool{}
		}
		if syscalls {
			l.sysTrace[tid] = true
		} else {
			delete(l.sysTrace, tid)
		}
		d.resume([]DebugAction{{Kind: kind, Tid: tid, Signal: sig}})
		return nil
	}))
}

// detach implements PTRACE_DETACH of thread tid: the tracee runs on untraced, with sig
// delivered as from a signal-delivery stop (or sent, from any other stop). While other
// threads of the process are traced, the thread leaves alone and they stay traced.
func (l *ptraceLink) detach(tid, sig int) error {
	d := l.d
	return ptraceErr(d.call(func() error {
		p := d.p
		t := p.thread(tid)
		if l.noSignal[tid] {
			sig = 0
		}
		info := abi.Siginfo{Signo: int32(sig), Code: abi.SI_USER, Pid: int32(l.tracerPid)}
		if si, ok := d.siginfo[tid]; ok && int(si.Signo) == sig {
			info = si
		}
		sigStopped := d.sigStopped(t)
		if t != nil && l.othersTraced(t) {
			l.detachThread(t, sig, sigStopped, info)
			return nil
		}
		d.detach()
		switch {
		case sig == 0:
		case sigStopped:
			p.queueSignal(t, info)
		default:
			p.queueSignal(nil, info)
		}
		return nil
	}))
}

// othersTraced says whether a thread of the tracee other than t is traced.
func (l *ptraceLink) othersTraced(t *Task) bool {
	for _, o := range l.tracee.tasks {
		if o != t && o.state != taskDead && !l.untraced[o.tid] {
			return true
		}
	}
	return false
}

// detachThread lets thread t of the tracee go on untraced while the others stay
// traced: its stop ends as resumed with sig, and it stops no more.
func (l *ptraceLink) detachThread(t *Task, sig int, sigStopped bool, info abi.Siginfo) {
	d := l.d
	l.leaveUntraced(t.tid)
	delete(l.sysTrace, t.tid)
	d.stepEnd(t)
	if l.groupSig != 0 {
		// The group-stop is in effect: it stops untraced, as Linux's __ptrace_unlink()
		// stops it, until SIGCONT.
		t.jobStop = true
		d.leaveGroupStop(t)
	}
	k := l.tracee.k
	k.pt.mu.Lock()
	delete(l.threads, t.tid) // its end is not the tracer's to hear of
	k.pt.mu.Unlock()
	a := DebugAction{Kind: Continue, Tid: t.tid}
	if sigStopped {
		a.Signal = sig
		d.siginfo[t.tid] = info
	} else if sig != 0 {
		d.p.queueSignal(t, info)
	}
	d.releaseStop(t, a)
}

// userRegsOffset reports whether off addresses a register of struct user_regs_struct.
func userRegField(r *abi.UserRegs, off uint64) *uint64 {
	f := r.Fields()
	if off%8 != 0 || off/8 >= uint64(len(f)) {
		return nil
	}
	return f[off/8]
}

// peekUser implements PTRACE_PEEKUSR: a register, a debug register, or 0 for the rest
// of struct user, as Linux.
func (l *ptraceLink) peekUser(tid int, off uint64) (uint64, error) {
	if off%8 != 0 || off >= abi.UserSize {
		return 0, unix.EIO
	}
	d := l.d
	switch {
	case off < abi.UserRegsSize:
		r, err := d.Regs(tid)
		if err != nil {
			return 0, unix.ESRCH
		}
		return *userRegField(&r, off), nil
	case off >= abi.UserDebugRegOffset && off < abi.UserDebugRegOffset+8*8:
		var v uint64
		err := d.call(func() error {
			t := d.p.thread(tid)
			if t == nil {
				return errNoThread
			}
			v = t.peekDebugReg((off - abi.UserDebugRegOffset) / 8)
			return nil
		})
		return v, ptraceErr(err)
	}
	return 0, nil
}

// pokeUser implements PTRACE_POKEUSR for the registers and the debug registers
// (hwbreak.go).
func (l *ptraceLink) pokeUser(tid int, off, v uint64) error {
	if off%8 != 0 || off >= abi.UserSize {
		return unix.EIO
	}
	d := l.d
	switch {
	case off < abi.UserRegsSize:
		r, err := d.Regs(tid)
		if err != nil {
			return unix.ESRCH
		}
		*userRegField(&r, off) = v
		return l.setRegsChecked(tid, &r)
	case off >= abi.UserDebugRegOffset && off < abi.UserDebugRegOffset+8*8:
		n := (off - abi.UserDebugRegOffset) / 8
		return ptraceErr(d.call(func() error {
			t := d.p.thread(tid)
			if t == nil {
				return errNoThread
			}
			return t.pokeDebugReg(n, v)
		}))
	}
	return unix.EIO
}

// setRegs writes a user_regs_struct image.
func (l *ptraceLink) setRegs(tid int, b []byte) error {
	var r abi.UserRegs
	r.Unmarshal(b)
	return l.setRegsChecked(tid, &r)
}

// setRegsChecked writes registers with Linux's putreg() checks: segment bases inside
// user space; only the flags a program may change.
func (l *ptraceLink) setRegsChecked(tid int, r *abi.UserRegs) error {
	if r.FsBase >= uint64(mm.TaskSize) || r.GsBase >= uint64(mm.TaskSize) {
		return unix.EIO
	}
	cur, err := l.d.Regs(tid)
	if err != nil {
		return unix.ESRCH
	}
	const userFlags = 0x40000 | 0x200000 | eflagsUserRestored | eflagsTF | 0x100
	r.Eflags = cur.Eflags&^userFlags | r.Eflags&userFlags
	return ptraceErr(l.d.SetRegs(tid, r))
}

// ptraceRegset implements PTRACE_GETREGSET and PTRACE_SETREGSET for NT_PRSTATUS and
// NT_PRFPREG: iov says where, and how much; the length written back is what was copied.
func (t *Task) ptraceRegset(l *ptraceLink, tid int, set bool, note uint64, iovAddr mm.Addr) error {
	var iov [16]byte
	if err := t.p.mm.CopyIn(iovAddr, iov[:]); err != nil {
		return err
	}
	base, n := mm.Addr(binary.LittleEndian.Uint64(iov[:8])), binary.LittleEndian.Uint64(iov[8:])
	d := l.d
	var img []byte
	switch note {
	case abi.NT_PRSTATUS:
		r, err := d.Regs(tid)
		if err != nil {
			return unix.ESRCH
		}
		img = r.Marshal()
	case abi.NT_PRFPREG:
		fx, err := d.FPRegs(tid)
		if err != nil {
			return unix.ESRCH
		}
		img = fx[:]
	default:
		return unix.EINVAL
	}
	n = min(n, uint64(len(img)))
	if set {
		if note == abi.NT_PRSTATUS && n%8 != 0 {
			return unix.EINVAL
		}
		if err := t.p.mm.CopyIn(base, img[:n]); err != nil {
			return err
		}
		if note == abi.NT_PRSTATUS {
			if err := l.setRegs(tid, img); err != nil {
				return err
			}
		} else if d.SetFPRegs(tid, (*[abi.FXSaveSize]byte)(img)) != nil {
			return unix.ESRCH
		}
	} else if err := t.p.mm.CopyOut(base, img[:n]); err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(iov[8:], n)
	return t.p.mm.CopyOut(iovAddr+8, iov[8:])
}

// ptraceSyscallInfo implements PTRACE_GET_SYSCALL_INFO: what the tracee's system call
// stop is about, as struct ptrace_syscall_info; the result is the size of the whole
// answer, of which size bytes are written.
func (t *Task) ptraceSyscallInfo(l *ptraceLink, tid int, size uint64, addr mm.Addr) (uint64, error) {
	d := l.d
	var b []byte
	err := d.call(func() error {
		r, err := d.regsNow(tid)
		if err != nil {
			return err
		}
		op := abi.PTRACE_SYSCALL_INFO_NONE
		si, ok := d.siginfo[tid]
		switch {
		case !ok || si.Signo != abi.SIGTRAP || d.sysOf(tid) == nil:
		case si.Code == abi.SIGTRAP|0x80 && d.sysOf(tid).entry:
			op = abi.PTRACE_SYSCALL_INFO_ENTRY
		case si.Code == abi.SIGTRAP|0x80:
			op = abi.PTRACE_SYSCALL_INFO_EXIT
		case si.Code == abi.SIGTRAP|abi.PTRACE_EVENT_SECCOMP<<8:
			op = abi.PTRACE_SYSCALL_INFO_SECCOMP
		}
		b = make([]byte, 24, 88)
		b[0] = byte(op)
		binary.LittleEndian.PutUint32(b[4:], abi.AUDIT_ARCH_X86_64)
		binary.LittleEndian.PutUint64(b[8:], r.Rip)
		binary.LittleEndian.PutUint64(b[16:], r.Rsp)
		switch op {
		case abi.PTRACE_SYSCALL_INFO_ENTRY, abi.PTRACE_SYSCALL_INFO_SECCOMP:
			b = binary.LittleEndian.AppendUint64(b, r.OrigRax)
			for _, v := range []uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9} {
				b = binary.LittleEndian.AppendUint64(b, v)
			}
			if op == abi.PTRACE_SYSCALL_INFO_SECCOMP {
				b = binary.LittleEndian.AppendUint32(b, uint32(l.eventMsg[tid]))
			}
		case abi.PTRACE_SYSCALL_INFO_EXIT:
			b = binary.LittleEndian.AppendUint64(b, r.Rax)
			isErr := byte(0)
			if r.Rax >= errnoRet(4095) {
				isErr = 1
			}
			b = append(b, isErr)
		}
		return nil
	})
	if err != nil {
		return 0, ptraceErr(err)
	}
	if n := min(size, uint64(len(b))); n > 0 {
		if err := t.p.mm.CopyOut(addr, b[:n]); err != nil {
			return 0, err
		}
	}
	return uint64(len(b)), nil
}

// ptraceRseqConfig implements PTRACE_GET_RSEQ_CONFIGURATION: the tracee's rseq(2)
// registration (zeros without one); the result is the struct's size, of which size
// bytes are written.
func (t *Task) ptraceRseqConfig(l *ptraceLink, tid int, size uint64, addr mm.Addr) (uint64, error) {
	d := l.d
	var r rseqReg
	err := d.call(func() error {
		q := d.p.thread(tid)
		if q == nil {
			return errNoThread
		}
		r = q.rseq
		return nil
	})
	if err != nil {
		return 0, ptraceErr(err)
	}
	le := binary.LittleEndian
	b := le.AppendUint64(make([]byte, 0, abi.PtraceRseqConfigurationSize), uint64(r.area))
	b = le.AppendUint32(le.AppendUint32(b, r.len), r.sig)
	b = le.AppendUint64(b, 0) // flags, pad
	if n := min(size, uint64(len(b))); n > 0 {
		if err := t.p.mm.CopyOut(addr, b[:n]); err != nil {
			return 0, err
		}
	}
	return uint64(len(b)), nil
}
