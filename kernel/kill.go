package kernel

import (
	"slices"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Signals between processes. Each process runs on a goroutine of its own, so a signal for
// another process travels as a message to its run loop (Process.send), which queues it
// there, and a kick stops its CPU at the next block boundary to take it. A process
// without the block hook (one thread, no handler, no timer) cannot be stopped cleanly
// while it runs guest code: only Abort stops it, leaving registers no guest state had, so
// a sender uses Abort only for a signal that ends the process. It knows which those are
// from the set the target publishes (fatalAny, fatalAll): as on Linux, whose
// complete_signal() starts the group exit when a fatal signal is generated, the decision
// is taken when the signal is sent; the target then never runs guest code again. Any
// other signal waits for the target's next system call or stop.

// dispositionsChanged recomputes the default-fatal set that senders read. It runs on the
// process's loop after every change of sigactions.
func (p *Process) dispositionsChanged() {
	fatal := sigBit(abi.SIGKILL)
	for sig := 1; sig < abi.NSIG; sig++ {
		if p.sigactions[sig].Handler != abi.SIG_DFL {
			continue
		}
		if d := defaultAction(sig); d == defTerm || d == defCore {
			fatal |= sigBit(sig)
		}
	}
	p.fatalDisp = fatal
	p.publishFatal()
}

// publishFatal publishes the signals that would end the process if another goroutine
// sent them now. It runs on the process's loop whenever masks or actions may have
// changed: after each system call, after messages, before each run of the CPU.
func (p *Process) publishFatal() {
	blockedAll, blockedAny := p.blockedSignals()
	fatal := p.fatalDisp
	if d := p.dbg; d != nil && d.pt != nil {
		// A tracee stops at a signal before it acts: only SIGKILL ends it at once.
		// A signal from the host still ends it as its dispositions say, so that a
		// SIGTERM to vemu is never left to a tracer that does not act on it.
		if h := fatal &^ blockedAll; p.fatalHost.Load() != h {
			p.fatalHost.Store(h)
		}
		fatal &= sigBit(abi.SIGKILL)
	} else if p.fatalHost.Load() != 0 {
		p.fatalHost.Store(0)
	}
	anyT, allT := fatal&^blockedAll, fatal&^blockedAny
	if p.fatalAny.Load() != anyT {
		p.fatalAny.Store(anyT)
	}
	if p.fatalAll.Load() != allT {
		p.fatalAll.Store(allT)
	}
}

// checkDoomed ends the process if a sender has decided a signal kills it. The run loop
// calls it before every run of the CPU: after an Abort, guest code must not run again.
func (p *Process) checkDoomed() bool {
	sig := int(p.doomed.Load())
	if sig == 0 {
		return false
	}
	if p.exit == nil {
		p.exit = &ExitStatus{Signal: sig}
		p.coreTask = p.cur
		p.coreInfo = abi.Siginfo{Signo: int32(sig), Code: abi.SI_KERNEL}
		if info := p.doomInfo.Load(); info != nil && int(info.Signo) == sig {
			p.coreInfo = *info
		}
	}
	p.stop = true
	return true
}

// signalFromOutside sends info to p from another goroutine: to thread tid, or to the
// process with tid 0. A signal that kills p now dooms it at once (see above).
func (p *Process) signalFromOutside(tid int, info abi.Siginfo) {
	p.signalFrom(tid, info, false)
}

// signalFrom is signalFromOutside, for a signal from the host when host is set.
func (p *Process) signalFrom(tid int, info abi.Siginfo, host bool) {
	sig := int(info.Signo)
	if sig <= 0 || sig >= abi.NSIG {
		return
	}
	fatal := p.fatalAny.Load()
	if tid != 0 {
		fatal = p.fatalAll.Load()
	}
	if sig == abi.SIGKILL && p.dumping.Load() {
		p.dumpStop.Store(true) // as on Linux, SIGKILL ends a dump in progress
	}
	if host {
		fatal |= p.fatalHost.Load()
	}
	if fatal&sigBit(sig) != 0 {
		if p.doomed.CompareAndSwap(0, int32(sig)) {
			p.doomInfo.Store(&info)
		}
		// The message ends a loop that waits for one; the abort a CPU running guest code.
		p.send(wakeup{fn: func() { p.checkDoomed() }})
		p.kick.Load().Abort()
		return
	}
	p.send(wakeup{fn: func() {
		if tid == 0 {
			p.queueSignal(nil, info)
		} else if t := p.thread(tid); t != nil {
			p.queueSignal(t, info)
		}
	}})
}

// deliverTo sends info from process from (nil: from outside the guest) to q, either
// process-directed (tid 0) or to thread tid, choosing the path by whose loop this is.
func (from *Process) deliverTo(q *Process, tid int, info abi.Siginfo) {
	if info.Signo == 0 {
		return
	}
	if q != from {
		q.signalFromOutside(tid, info)
		return
	}
	if tid == 0 {
		q.queueSignal(nil, info)
	} else if t := q.thread(tid); t != nil {
		q.queueSignal(t, info)
	}
}

// killTargets returns the live processes kill(2) with pid reaches from sender (nil: from
// outside the guest), in pid order, and whether any process matched, zombies included.
func (k *Kernel) killTargets(sender *Process, pid int) ([]*Process, bool) {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	var live []*Process
	matched := false
	add := func(q *Process) {
		matched = true
		if !q.zombie {
			live = append(live, q)
		}
	}
	switch {
	case pid > 0:
		if q := k.lookupLocked(pid); q != nil {
			add(q)
		}
	case pid == -1:
		// Every process but init and the sender (Linux's kill_something_info()).
		for _, q := range k.pt.procs {
			if q != sender && q.pid > 1 {
				add(q)
			}
		}
	case pid == 0 && sender == nil:
	default:
		pgid := -pid
		if pid == 0 {
			pgid = sender.pgid
		}
		for _, q := range k.pt.procs {
			if q.pgid == pgid {
				add(q)
			}
		}
	}
	byPid(live)
	return live, matched
}

// group returns the live processes of process group pgid, in pid order.
func (k *Kernel) group(pgid int) []*Process {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	var live []*Process
	for _, q := range k.pt.procs {
		if q.pgid == pgid && !q.zombie {
			live = append(live, q)
		}
	}
	byPid(live)
	return live
}

func byPid(ps []*Process) { slices.SortFunc(ps, func(a, b *Process) int { return a.pid - b.pid }) }

// kill sends info as kill(2) with pid does from process from: ESRCH when no process
// matched. The sender's own process, when included, gets it last.
func (k *Kernel) kill(from *Process, pid int, info abi.Siginfo) error {
	targets, matched := k.killTargets(from, pid)
	if !matched {
		return unix.ESRCH
	}
	self := false
	for _, q := range targets {
		if q == from {
			self = true
			continue
		}
		from.deliverTo(q, 0, info)
	}
	if self {
		from.deliverTo(from, 0, info)
	}
	return nil
}

// HostSignal forwards a signal vemu itself received to the guest, where Linux would have
// sent it: the terminal's signals (SIGINT, SIGQUIT, SIGHUP, SIGWINCH) to the foreground
// process group, which is the first process's group at start; the others to the first
// process, or to that group once it is gone.
func (k *Kernel) HostSignal(sig int) {
	info := abi.Siginfo{Signo: int32(sig), Code: abi.SI_USER}
	terminal := false
	switch sig {
	case abi.SIGINT, abi.SIGQUIT, abi.SIGHUP, abi.SIGWINCH:
		// As the tty driver sends them (__kill_pgrp_info with SEND_SIG_PRIV).
		info.Code = abi.SI_KERNEL
		terminal = true
	}
	k.pt.mu.Lock()
	first, fg := k.first, k.fgPgid
	firstLive := first != nil && !first.zombie && k.pt.procs[first.pid] == first
	k.pt.mu.Unlock()
	targets := k.group(fg)
	if !terminal && firstLive || len(targets) == 0 && firstLive {
		targets = []*Process{first}
	}
	for _, q := range targets {
		if q.dumping.Load() && defaultAction(sig) != defIgnore {
			// Linux would finish the dump; vemu's user asked vemu to end.
			q.dumpStop.Store(true)
		}
		q.signalFrom(0, info, true)
		// A host signal comes at a point no run repeats: even in repeatable runs, where
		// messages wait for a thread to stop, stop one spinning in guest code for it.
		q.kick.Load().Kick()
	}
}

// KillAll ends every process of the kernel with SIGKILL, those a fork makes meanwhile
// too: what a test does with a run it gives up on, or with the processes a program left
// running when it ended.
func (k *Kernel) KillAll() {
	k.killing.Store(true)
	k.pt.mu.Lock()
	var all []*Process
	for _, p := range k.pt.procs {
		if !p.zombie {
			all = append(all, p)
		}
	}
	k.pt.mu.Unlock()
	byPid(all)
	info := abi.Siginfo{Signo: abi.SIGKILL, Code: abi.SI_KERNEL}
	for _, p := range all {
		p.signalFromOutside(0, info)
	}
}
