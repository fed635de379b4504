package kernel

import (
	"fmt"
	"math/bits"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Signal generation and delivery: pending sets, default actions, the x86-64 rt_sigframe
// that handlers run on, and rt_sigreturn. Everything here runs on the process's run loop
// (system call handlers, posts, timers delivered through the loop), never concurrently.

// sigBit is signal sig's bit in a sigset.
func sigBit(sig int) uint64 { return 1 << uint(sig-1) }

// unblockable are the signals no mask can hold back.
const unblockable = 1<<(abi.SIGKILL-1) | 1<<(abi.SIGSTOP-1)

// syncSignals are the signals the CPU raises; they are dequeued first, as in Linux's
// next_signal().
const syncSignals = 1<<(abi.SIGSEGV-1) | 1<<(abi.SIGBUS-1) | 1<<(abi.SIGILL-1) |
	1<<(abi.SIGTRAP-1) | 1<<(abi.SIGFPE-1) | 1<<(abi.SIGSYS-1)

// maxQueued bounds the siginfo a process keeps queued whatever its RLIMIT_SIGPENDING, so
// that a guest that raised the limit cannot grow vemu's memory without end: beyond it,
// signals are still generated but their siginfo is lost, as beyond the limit.
const maxQueued = 1 << 16

// sigQueue is a set of pending signals with their siginfo: one instance of a standard
// signal at most, queued instances of real-time ones. A signal pending without a queued
// siginfo (its queue was full when it came) reads as a kill(2)'s with no sender, as on
// Linux.
type sigQueue struct {
	set   uint64
	infos [abi.NSIG][]abi.Siginfo
	// thread: a thread's queue, whose signals its process's sigCount counts.
	thread bool
}

// mark sets the bits of sigs in q.set.
func (q *sigQueue) mark(sigs uint64, c *sigCount) {
	if q.thread {
		c.count(sigs&^q.set, 1)
	}
	q.set |= sigs
}

// unmark clears the bits of sigs in q.set.
func (q *sigQueue) unmark(sigs uint64, c *sigCount) {
	if q.thread {
		c.count(sigs&q.set, -1)
	}
	q.set &^= sigs
}

// sigCount counts the siginfo queued in a process's queues, the thread ones included,
// against its RLIMIT_SIGPENDING (Linux counts per user; vemu per process).
type sigCount struct {
	n     int
	limit uint64
	// How many of its threads have each signal pending, and the signals some thread
	// has pending.
	threads    [64]int32
	threadsAny uint64
}

// count adds d to the count of each signal in sigs.
func (c *sigCount) count(sigs uint64, d int32) {
	for ; sigs != 0; sigs &= sigs - 1 {
		i := bits.TrailingZeros64(sigs)
		c.threads[i] += d
		if c.threads[i] > 0 {
			c.threadsAny |= 1 << i
		} else {
			c.threadsAny &^= 1 << i
		}
	}
}

// add queues info, as Linux's __send_signal_locked(): over the limit, a real-time signal
// sent other than by kill(2) is refused (false: EAGAIN), any other one is pending without
// its siginfo; a standard signal already pending is merged. Standard signals from
// kill(2) or the kernel, and timers' (their siginfo is preallocated), are queued whatever
// the limit.
func (q *sigQueue) add(info abi.Siginfo, c *sigCount) bool {
	sig := int(info.Signo)
	if q.set&sigBit(sig) != 0 && sig < abi.SIGRTMIN {
		return true
	}
	override := sig < abi.SIGRTMIN && info.Code >= 0 || info.Code == abi.SI_TIMER
	if c.n >= maxQueued || !override && uint64(c.n) >= c.limit {
		if sig >= abi.SIGRTMIN && info.Code != abi.SI_USER {
			return false
		}
		q.mark(sigBit(sig), c)
		return true
	}
	q.infos[sig] = append(q.infos[sig], info)
	q.mark(sigBit(sig), c)
	c.n++
	return true
}

// queued is the count of p's queued siginfo, with its limit as it is now.
func (p *Process) queued() *sigCount {
	p.sigQueued.limit = p.rlimits[abi.RLIMIT_SIGPENDING].Cur
	return &p.sigQueued
}

// discard empties q, as at a thread's exit.
func (q *sigQueue) discard(c *sigCount) {
	for sig := range q.infos {
		c.n -= len(q.infos[sig])
		q.infos[sig] = nil
	}
	q.unmark(q.set, c)
}

// take dequeues the first instance of sig.
func (q *sigQueue) take(sig int, c *sigCount) (abi.Siginfo, bool) {
	if q.set&sigBit(sig) == 0 {
		return abi.Siginfo{}, false
	}
	if len(q.infos[sig]) == 0 {
		q.unmark(sigBit(sig), c)
		return abi.Siginfo{Signo: int32(sig), Code: abi.SI_USER}, true
	}
	info := q.infos[sig][0]
	q.infos[sig] = q.infos[sig][1:]
	c.n--
	if len(q.infos[sig]) == 0 {
		q.infos[sig] = nil
		q.unmark(sigBit(sig), c)
	}
	return info, true
}

// drop discards every instance of sig.
func (q *sigQueue) drop(sig int, c *sigCount) {
	c.n -= len(q.infos[sig])
	q.infos[sig] = nil
	q.unmark(sigBit(sig), c)
}

// next returns the signal to dequeue among those pending and in allow: synchronous
// signals first, then the lowest number; 0 when there is none.
func (q *sigQueue) next(allow uint64) int {
	s := q.set & allow
	if s == 0 {
		return 0
	}
	if s&syncSignals != 0 {
		s &= syncSignals
	}
	for sig := 1; sig < abi.NSIG; sig++ {
		if s&sigBit(sig) != 0 {
			return sig
		}
	}
	return 0
}

// taskSignals is a thread's signal state besides its mask.
type taskSignals struct {
	pending sigQueue

	// The alternate signal stack, as sigaltstack(2) set it; disabled when altSize is 0.
	altSp, altSize uint64
	altFlags       int32

	// rt_sigsuspend's saved mask, restored after the handler (through the frame) or
	// when no handler runs.
	savedMask   uint64
	restoreMask bool

	// wait is set while the thread sleeps in sigsuspend, pause or sigtimedwait.
	wait *sigWait
}

// sigWait is a thread sleeping until a signal comes.
type sigWait struct {
	set  uint64     // sigtimedwait: the signals it takes; 0 for sigsuspend and pause
	pend *pendingOp // the parked call, completed by the waker
}

// procSignals is a process's shared signal state.
type procSignals struct {
	pending   sigQueue
	real      realTimer    // ITIMER_REAL and alarm(2)
	cpuTimers [2]cpuItimer // ITIMER_VIRTUAL and ITIMER_PROF
}

func (t *Task) sigs() *taskSignals { return &t.sig }

func (p *Process) sigs() *procSignals { return &p.sig }

// inheritSignals sets up a new thread or process's signal state from its creator t, as
// Linux's copy_process(): nothing pending, and the alternate stack kept except for a new
// thread sharing the address space (CLONE_VM without CLONE_VFORK). The mask and the
// dispositions are the caller's to copy.
func (t *Task) inheritSignals(child *Task, sharesVM bool) {
	ts, cs := t.sigs(), child.sigs()
	*cs = taskSignals{altFlags: abi.SS_DISABLE}
	cs.pending.thread = true
	if !sharesVM {
		cs.altSp, cs.altSize, cs.altFlags = ts.altSp, ts.altSize, ts.altFlags
	}
}

// execSignals applies execve's rules to t's signal state: the alternate stack is gone;
// the mask and pending signals stay. (Handlers reset to SIG_DFL are the caller's.)
func (t *Task) execSignals() {
	ts := t.sigs()
	ts.altSp, ts.altSize, ts.altFlags = 0, 0, abi.SS_DISABLE
}

// Default actions, as in signal(7).
type sigDefault uint8

const (
	defTerm sigDefault = iota
	defCore
	defIgnore
	defStop
	defCont
)

func defaultAction(sig int) sigDefault {
	switch sig {
	case abi.SIGCHLD, abi.SIGURG, abi.SIGWINCH:
		return defIgnore
	case abi.SIGCONT:
		return defCont
	case abi.SIGSTOP, abi.SIGTSTP, abi.SIGTTIN, abi.SIGTTOU:
		return defStop
	case abi.SIGQUIT, abi.SIGILL, abi.SIGTRAP, abi.SIGABRT, abi.SIGBUS, abi.SIGFPE,
		abi.SIGSEGV, abi.SIGXCPU, abi.SIGXFSZ, abi.SIGSYS:
		return defCore
	}
	return defTerm
}

// ignored says whether sig would be discarded on arrival at t: its action is SIG_IGN,
// or SIG_DFL with a default of doing nothing (SIGCONT's continuing happens on arrival,
// before this matters).
func (t *Task) ignored(sig int) bool {
	if sig == abi.SIGKILL || sig == abi.SIGSTOP {
		return false
	}
	switch h := t.p.sigactions[sig].Handler; h {
	case abi.SIG_IGN:
		return true
	case abi.SIG_DFL:
		d := defaultAction(sig)
		return d == defIgnore || d == defCont
	}
	return false
}

// fatal says whether sig, delivered to t now, ends the process.
func (t *Task) fatal(sig int) bool {
	if sig == abi.SIGKILL {
		return true
	}
	if t.p.sigactions[sig].Handler != abi.SIG_DFL {
		return false
	}
	d := defaultAction(sig)
	return d == defTerm || d == defCore
}

// deliverable says whether a signal is pending for t that it does not block.
func (t *Task) deliverable() bool {
	return (t.sigs().pending.set|t.p.sigs().pending.set)&^t.sigmask != 0
}

// queueSignal generates a signal: for thread t, or with t nil for the process (any thread
// that does not block it takes it). Ignored signals are discarded; a fatal one ends the
// process at once; otherwise the chosen thread is woken or stopped to take it.
// It reports false when a real-time signal's queue is full.
func (p *Process) queueSignal(t *Task, info abi.Siginfo) bool {
	sig := int(info.Signo)
	if sig <= 0 || sig >= abi.NSIG || p.exit != nil {
		return true
	}
	// Generating SIGCONT continues the process and discards pending stops; generating a
	// stop signal discards a pending SIGCONT. Both whatever the actions and masks.
	if sig == abi.SIGCONT {
		p.dropStopSignals()
		p.continueProcess()
		if d := p.dbg; d != nil {
			d.continued()
		}
	} else if isStopSignal(sig) {
		p.sigs().pending.drop(abi.SIGCONT, p.queued())
		for _, o := range p.tasks {
			o.sigs().pending.drop(abi.SIGCONT, p.queued())
		}
	}
	target := t
	if target == nil {
		target = p.signalTarget(sig)
		if target == nil {
			return true
		}
	}
	blocked := target.sigmask&sigBit(sig) != 0
	if w := target.sigs().wait; w != nil && w.set&sigBit(sig) != 0 {
		blocked = true // sigtimedwait is waiting for it: never ignored
	}
	// A tracee's tracer hears of every signal but SIGKILL first, ignored ones too (as
	// Linux's sig_ignored() and complete_signal() for a ptraced task).
	traced := p.dbg != nil && p.dbg.pt != nil
	if sig == abi.SIGKILL || (!blocked && !traced && target.fatal(sig)) {
		target.killWith(info, "")
		return true
	}
	if !blocked && !traced && target.ignored(sig) {
		return true
	}
	var ok bool
	if t != nil {
		ok = t.sigs().pending.add(info, p.queued())
	} else {
		ok = p.sigs().pending.add(info, p.queued())
	}
	if ok {
		p.refreshSignalfds()
		target.signalWake()
	}
	return ok
}

// dropStopSignals discards pending stop signals, as a SIGCONT does.
func (p *Process) dropStopSignals() {
	for _, sig := range []int{abi.SIGSTOP, abi.SIGTSTP, abi.SIGTTIN, abi.SIGTTOU} {
		p.sigs().pending.drop(sig, p.queued())
		for _, t := range p.tasks {
			t.sigs().pending.drop(sig, p.queued())
		}
	}
}

// signalTarget picks the thread that takes a process-directed signal: the running thread
// if it wants it, else the first live thread that does, else the running thread (the
// signal then waits in the shared set).
func (p *Process) signalTarget(sig int) *Task {
	if c := p.cur; c != nil && c.state != taskDead && c.wants(sig) {
		return c
	}
	for _, t := range p.tasks {
		if t.state != taskDead && t.wants(sig) {
			return t
		}
	}
	if p.cur != nil && p.cur.state != taskDead {
		return p.cur
	}
	for _, t := range p.tasks {
		if t.state != taskDead {
			return t
		}
	}
	return nil
}

// wants says whether t may take sig: it does not block it, or it waits for it in
// sigtimedwait (Linux unblocks the waited-for set for the wait).
func (t *Task) wants(sig int) bool {
	if t.sigmask&sigBit(sig) == 0 {
		return true
	}
	w := t.sigs().wait
	return w != nil && w.set&sigBit(sig) != 0 && t.state == taskBlocked
}

// signalWake makes t take a newly pending signal: a thread sleeping in sigsuspend, pause
// or sigtimedwait is woken; the running thread stops after its current system call.
func (t *Task) signalWake() {
	ts := t.sigs()
	if w := ts.wait; w != nil && t.state == taskBlocked {
		pending := ts.pending.set | t.p.sigs().pending.set
		switch {
		case w.set != 0 && pending&w.set != 0:
			t.setSigWait(nil)
			t.complete(w.pend, 0, nil)
		case pending&^t.sigmask&^w.set != 0 && w.pend.intr != intrNever:
			// pause and sigsuspend (ERESTARTNOHAND): EINTR once a handler runs; a
			// signal no handler takes (a stop) has the call start again after it.
			t.interruptCall()
		case pending&^t.sigmask&^w.set != 0:
			t.setSigWait(nil)
			t.complete(w.pend, 0, unix.EINTR)
		}
		return
	}
	if t.state == taskBlocked && t.deliverable() {
		t.interruptCall()
		return
	}
	if t == t.p.cur && t.deliverable() {
		t.p.stop = true
	}
}

// dispatchSignals delivers t's deliverable pending signals before it runs again: each
// handler gets a frame, the last one set up running first, as on Linux.
func (t *Task) dispatchSignals() {
	ts := t.sigs()
	ps := t.p.sigs()
	if (ts.pending.set|ps.pending.set)&^t.sigmask == 0 && !ts.restoreMask {
		return
	}
	for range abi.NSIG {
		if t.p.exit != nil {
			return
		}
		if t.p.stopped {
			break // the rest wait for SIGCONT
		}
		allow := ^t.sigmask
		var info abi.Siginfo
		if sig := ts.pending.next(allow); sig != 0 {
			info, _ = ts.pending.take(sig, t.p.queued())
		} else if sig := ps.pending.next(allow); sig != 0 {
			info, _ = ps.pending.take(sig, t.p.queued())
		} else {
			break
		}
		if info.SysPrivate != 0 && !t.p.timerTaken(&info) {
			continue // its POSIX timer was set again or deleted since
		}
		t.deliver(info)
		if t.ptParked != nil || t.jobStop {
			return // stopped for its tracer (or in its group-stop): the rest wait until it runs again
		}
	}
	if ts.restoreMask {
		t.putSigmask(ts.savedMask)
		ts.restoreMask = false
	}
	t.p.refreshSignalfds()
}

// deliver acts on one dequeued signal: its handler, its default action, or nothing.
func (t *Task) deliver(info abi.Siginfo) {
	if d := t.p.dbg; d != nil && info.Signo != abi.SIGKILL {
		d.signalStop(t, info, func(info abi.Siginfo, ok bool) {
			if !ok {
				t.restartUnhandled()
			}
			if !ok || t.p.exit != nil {
				return
			}
			if d.pt != nil && t.sigmask&sigBit(int(info.Signo)) != 0 {
				// A tracer's signal the thread blocks waits as any other, as Linux
				// requeues it.
				t.p.queueSignal(t, info)
				return
			}
			t.deliverNow(info)
		})
		return
	}
	t.deliverNow(info)
}

// deliverNow is deliver past the debugger's stop.
func (t *Task) deliverNow(info abi.Siginfo) {
	sig := int(info.Signo)
	if t.fatal(sig) {
		t.killWith(info, "")
		return
	}
	if t.ignored(sig) {
		return
	}
	act := t.p.sigactions[sig]
	if act.Handler == abi.SIG_DFL && isStopSignal(sig) {
		if sig != abi.SIGSTOP && t.p.groupOrphaned() {
			// The terminal's stops do nothing in an orphaned group: nobody in the
			// session would continue it (Linux's get_signal()).
			return
		}
		if d := t.p.dbg; d != nil && d.pt != nil {
			d.groupStop(t, info)
			return
		}
		t.p.stopProcess(info)
		return
	}
	if err := t.setupFrame(info, act, sigFault{}); err != nil {
		t.forceSigsegv(sig, err)
	}
}

// forceSigsegv is Linux's force_sigsegv() after a signal frame could not be written: a
// SIGSEGV the thread cannot take (it was the signal being delivered, or SIGSEGV is
// blocked or ignored) ends the process with its default action; otherwise SIGSEGV goes
// to its handler, which may run on an alternate stack.
func (t *Task) forceSigsegv(sig int, err error) {
	act := t.p.sigactions[abi.SIGSEGV]
	if sig == abi.SIGSEGV || act.Handler == abi.SIG_IGN || act.Handler == abi.SIG_DFL || t.sigmask&sigBit(abi.SIGSEGV) != 0 {
		t.p.sigactions[abi.SIGSEGV] = abi.Sigaction{}
		t.p.dispositionsChanged()
		if sig == 0 {
			t.kill(abi.SIGSEGV, err.Error())
		} else {
			t.kill(abi.SIGSEGV, fmt.Sprintf("cannot deliver %s: %v", abi.SignalName(sig), err))
		}
		return
	}
	t.deliverNow(abi.Siginfo{Signo: abi.SIGSEGV, Code: abi.SI_KERNEL})
}

// The signal frame's layout is abi.RtSigframe's; these are the values vemu puts in it
// and the rules it follows.
const (
	userCS             = 0x33
	userSS             = 0x2b
	redZone            = 128
	fpstateAlign       = 64
	eflagsDF           = 0x400
	eflagsTF           = 0x100
	eflagsRF           = 0x10000
	eflagsUserRestored = 0x40000 | 0x800 | 0x400 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 // AC OF DF SF ZF AF PF CF
)

// ssAutodisarm is abi.SS_AUTODISARM as the int ss_flags holds it.
const ssAutodisarm int32 = -1 << 31

// Indexes in emu.GPRs.
const (
	gprRDI = abi.SCRDI
	gprRSI = abi.SCRSI
	gprRDX = abi.SCRDX
	gprRAX = abi.SCRAX
	gprRSP = abi.SCRSP
	gprRIP = abi.SCRIP
)

// onAltStack says whether sp is on t's alternate signal stack (Linux's on_sig_stack()).
func (ts *taskSignals) onAltStack(sp uint64) bool {
	if ts.altFlags&ssAutodisarm != 0 {
		return false
	}
	return sp > ts.altSp && sp-ts.altSp <= ts.altSize
}

// altStackFlags is the ss_flags sigaltstack reports for rsp.
func (ts *taskSignals) altStackFlags(sp uint64) int32 {
	mode := ts.altFlags & ssAutodisarm
	if ts.altSize == 0 {
		return abi.SS_DISABLE | mode
	}
	if ts.onAltStack(sp) {
		return abi.SS_ONSTACK | mode
	}
	return mode
}

// setAltStack is sigaltstack's update, also used by rt_sigreturn to restore uc_stack.
func (ts *taskSignals) setAltStack(ss abi.StackT, sp uint64) error {
	if ts.onAltStack(sp) {
		return unix.EPERM
	}
	mode := ss.Flags &^ ssAutodisarm
	if mode != abi.SS_DISABLE && mode != abi.SS_ONSTACK && mode != 0 {
		return unix.EINVAL
	}
	if mode == abi.SS_DISABLE {
		ts.altSp, ts.altSize, ts.altFlags = 0, 0, ss.Flags
		return nil
	}
	if ss.Size < abi.MINSIGSTKSZ {
		return unix.ENOMEM
	}
	ts.altSp, ts.altSize, ts.altFlags = ss.Sp, ss.Size, ss.Flags
	return nil
}

// frameLayout says where a signal frame goes for a thread whose rsp is sp.
type frameLayout struct {
	frame, fpstate mm.Addr
	altstack       bool // the frame is on the alternate stack, newly entered
}

// layoutFrame chooses the frame's place as Linux's get_sigframe() does: below the red
// zone, or at the top of the alternate stack for SA_ONSTACK when not already on it; the
// FXSAVE area 64-byte aligned at the top, the frame below so that rsp+8 is 16-byte
// aligned at handler entry.
func (ts *taskSignals) layoutFrame(sp uint64, flags uint64) (frameLayout, error) {
	var l frameLayout
	onstack := ts.onAltStack(sp)
	sp -= redZone
	if flags&abi.SA_ONSTACK != 0 && ts.altSize != 0 && !onstack {
		sp = ts.altSp + ts.altSize
		l.altstack = true
	}
	sp -= emu.FXSaveSize
	sp &^= fpstateAlign - 1
	l.fpstate = mm.Addr(sp)
	sp -= abi.RtSigframeSize
	sp = sp&^15 - 8
	l.frame = mm.Addr(sp)
	if onstack && !ts.onAltStack(sp) {
		return l, fmt.Errorf("alternate stack overflow at %#x", sp)
	}
	return l, nil
}

// buildFrame makes the frame for the interrupted registers regs (in emu.GPRs order,
// which is struct sigcontext's).
func buildFrame(restorer uint64, regs []uint64, rflags uint64, f sigFault, oldmask uint64,
	stack abi.StackT, fpstate uint64, info abi.Siginfo) abi.RtSigframe {
	fr := abi.RtSigframe{Pretcode: restorer, Info: info}
	fr.Uc.Flags = abi.UC_SIGCONTEXT_SS | abi.UC_STRICT_RESTORE_SS
	fr.Uc.Stack = stack
	fr.Uc.Sigmask = oldmask
	sc := &fr.Uc.Mcontext
	copy(sc.Regs[:], regs)
	sc.Eflags, sc.CS, sc.SS = rflags, userCS, userSS
	sc.Err, sc.Trapno, sc.CR2 = f.err, f.trapno, f.cr2
	sc.Oldmask, sc.Fpstate = oldmask, fpstate
	return fr
}

// setupFrame runs t's handler for info: it saves the registers, mask and FPU state in a
// frame on the guest's stack and enters the handler with (sig, &info, &uc).
func (t *Task) setupFrame(info abi.Siginfo, act abi.Sigaction, f sigFault) error {
	sig := int(info.Signo)
	if act.Flags&abi.SA_RESTORER == 0 {
		// As Linux on x86-64: there is no way back from a handler without a restorer.
		return fmt.Errorf("no SA_RESTORER")
	}
	// A critical section the signal interrupts ends first: the frame saves its abort_ip.
	// On an error, SIGSEGV follows the frame, as Linux's force_sigsegv().
	rseqErr := t.rseqSignal()
	cpu := t.cpu
	regs := make([]uint64, len(emu.GPRs))
	if err := cpu.Regs(emu.GPRs, regs); err != nil {
		return err
	}
	rflags := cpu.Reg(emu.RFLAGS)
	fx, err := cpu.FXSave()
	if err != nil {
		return err
	}
	ts := t.sigs()
	rsp := regs[gprRSP]
	l, err := ts.layoutFrame(rsp, act.Flags)
	if err != nil {
		return err
	}
	oldmask := t.sigmask
	if ts.restoreMask {
		oldmask = ts.savedMask
		ts.restoreMask = false
	}
	stack := abi.StackT{Sp: ts.altSp, Flags: ts.altFlags, Size: ts.altSize}
	var frame [abi.RtSigframeSize]byte
	saved := rflags
	if f.resume {
		saved |= eflagsRF
	}
	fr := buildFrame(act.Restorer, regs, saved, f, oldmask, stack, uint64(l.fpstate), info)
	// The interrupted code's segments: the handler runs with the user's, as on Linux.
	// vemu cannot switch the CPU from 32-bit code (an LDT or GDT code segment) to 64-bit
	// code from outside: such a signal ends the process.
	cs, ss := cpu.CodeSelectors()
	if cs != userCS {
		return fmt.Errorf("a handler cannot be entered from 32-bit code (cs %#x)", cs)
	}
	fr.Uc.Mcontext.CS, fr.Uc.Mcontext.SS = cs, ss
	fr.Marshal(frame[:])
	if err := t.p.mm.CopyOut(l.fpstate, fx[:]); err != nil {
		return fmt.Errorf("frame at %#x: %w", l.frame, err)
	}
	if err := t.p.mm.CopyOut(l.frame, frame[:]); err != nil {
		return fmt.Errorf("frame at %#x: %w", l.frame, err)
	}
	if ts.altFlags&ssAutodisarm != 0 {
		// As Linux's __save_altstack: once uc_stack holds it, every frame disarms the
		// stack, on it or not; rt_sigreturn sets it back from uc_stack.
		ts.altSp, ts.altSize, ts.altFlags = 0, 0, abi.SS_DISABLE
	}

	entry := []emu.Reg{emu.RDI, emu.RSI, emu.RDX, emu.RAX, emu.RSP, emu.RIP, emu.RFLAGS}
	sp := uint64(l.frame)
	vals := []uint64{uint64(sig), sp + abi.RtSigframeInfoOffset, sp + abi.RtSigframeUcOffset, 0, sp, act.Handler,
		rflags &^ (eflagsDF | eflagsTF | eflagsRF)}
	if err := cpu.SetRegs(entry, vals); err != nil {
		return err
	}
	if ss != userSS {
		if err := cpu.SetReg(emu.SS, userSS); err != nil {
			return err
		}
	}
	// The handler starts with a clean FPU, as on Linux.
	if err := cpu.ResetFPU(); err != nil {
		return err
	}
	mask := t.sigmask | act.Mask
	if act.Flags&abi.SA_NODEFER == 0 {
		mask |= sigBit(sig)
	}
	t.putSigmask(mask &^ unblockable)
	if act.Flags&abi.SA_RESETHAND != 0 {
		t.p.sigactions[sig].Handler = abi.SIG_DFL
	}
	if rseqErr != nil {
		t.forceSigsegv(sig, rseqErr)
	}
	return nil
}
