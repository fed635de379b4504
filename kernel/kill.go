package kernel

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Signals between processes. Each process runs on a goroutine of its own, so a signal for
// another process travels as a message to its run loop (Process.send), which queues it
// there, and a kick stops its CPU at a block boundary soon after to take it. A process
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
	if d := p.dbg; d != nil && d.pt != nil || p.attaching.Load() {
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

// attachedFatal narrows what ends p at once as soon as a tracer attaches, before p's
// loop installs it: a signal that came between the attach and the install would
// otherwise kill p without the stop its tracer waits for. Linux's attach is
// synchronous. Its loop's publishFatal keeps the narrowing (attaching).
func (p *Process) attachedFatal() {
	p.attaching.Store(true)
	kill := sigBit(abi.SIGKILL)
	any := p.fatalAny.Load()
	p.fatalHost.Store(any)
	p.fatalAny.Store(any & kill)
	p.fatalAll.Store(p.fatalAll.Load() & kill)
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
	if sig == abi.SIGCONT {
		// Linux resumes a stopped process when SIGCONT is generated, in the sender's
		// context: from then on its group holds no stopped member for an exit's orphan
		// check, though its loop resumes it only when it takes the message. (An exit
		// just after a killpg(SIGCONT) otherwise found the member still stopped and hung
		// the group up.) Called without pt.mu, as every sender does.
		k := p.k
		k.pt.mu.Lock()
		k.setJobStopLocked(p, false)
		k.pt.mu.Unlock()
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

// killTargets returns the live processes kill(2) with pid and sig reaches from sender
// (nil: from outside the guest), in pid order, or the error Linux's kill_something_info()
// gives: ESRCH when no process matched (zombies match), EPERM when sender may signal none
// of those that did (see mayKill). A pid that is no guest process is the host's: see
// hostKill. kill(-1) ignores the processes it may not signal, as Linux's does.
func (k *Kernel) killTargets(sender *Process, pid, sig int) ([]*Process, error) {
	k.pt.mu.Lock()
	var live []*Process
	matched, permitted := false, false
	add := func(q *Process) {
		matched = true
		if !sender.mayKill(q, sig) {
			return
		}
		permitted = true
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
		permitted = true
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
	k.pt.mu.Unlock()
	switch {
	case !matched && pid > 0 && sender != nil:
		return nil, k.hostKill(sender, pid, sig)
	case !matched:
		return nil, unix.ESRCH
	case !permitted:
		return nil, unix.EPERM
	}
	byPid(live)
	return live, nil
}

// mayKill says whether sender (nil: the host) may send sig to q, as Linux's
// check_kill_permission() decides for a signal from a process: within a process always,
// else when the sender's real or effective uid is the target's real or saved uid, with
// CAP_KILL, or for SIGCONT within the sender's session. Called under pt.mu, which
// guards both processes' ids.
func (sender *Process) mayKill(q *Process, sig int) bool {
	if sender == nil || sender == q || sender.creds.killByCred(q.creds.ruid, q.creds.suid) {
		return true
	}
	return sig == abi.SIGCONT && q.sid == sender.sid
}

// mayKill is sender.mayKill(q, sig) taken under pt.mu.
func (k *Kernel) mayKill(sender, q *Process, sig int) bool {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	return sender.mayKill(q, sig)
}

// killByCred is Linux's kill_ok_by_cred(): c may signal a process whose real and saved
// uids are ruid and suid.
func (c *creds) killByCred(ruid, suid uint32) bool {
	return c.euid == suid || c.euid == ruid || c.ruid == suid || c.ruid == ruid || c.capable(capKill)
}

// hostKill answers kill(2) of pid, which is no guest process, from sender: pids outside
// the guest are the host's (the first process's parent, a daemon in a pid file), so it
// answers as the host would, ESRCH when no host process has the pid and EPERM when the
// sender's ids may not signal it (from the ids /proc shows). vemu sends no signal outside
// the guest: a signal other than 0 to a host process it could signal is EPERM too.
// Repeatable runs (--seed) see no host process.
func (k *Kernel) hostKill(sender *Process, pid, sig int) error {
	if !k.hostPid(pid) {
		return unix.ESRCH
	}
	if err := unix.Kill(pid, 0); err == unix.ESRCH {
		return unix.ESRCH
	}
	ruid, suid, ok := hostProcessUids(pid)
	if !ok {
		return unix.ESRCH // gone meanwhile
	}
	k.pt.mu.Lock()
	permitted := sender.creds.killByCred(ruid, suid)
	sid := sender.sid
	k.pt.mu.Unlock()
	if !permitted && sig == abi.SIGCONT {
		s, err := unix.Getsid(pid)
		permitted = err == nil && s == sid
	}
	if !permitted || sig != 0 {
		return unix.EPERM
	}
	return nil
}

// hostPid says whether pid, which no guest process has now, names a host process for the
// guest. Not in repeatable runs (--seed), which see no host process; not a pid vemu has
// given out to the guest, from the first process's (vemu's own pid) up to the last one
// given, since a reaped child's pid must stay gone even when the host has given the same
// number to another process (vemu's own threads, say); and never a thread of vemu itself.
func (k *Kernel) hostPid(pid int) bool {
	if k.cfg.HasSeed || pid <= 0 {
		return false
	}
	k.pt.mu.Lock()
	given := k.pt.gaveLocked(pid) // vemu's own pid among them
	k.pt.mu.Unlock()
	if given {
		return false
	}
	_, err := os.Stat("/proc/self/task/" + strconv.Itoa(pid))
	return err != nil
}

// hostProcessUids reads the real and saved uids of host process pid from its status file.
func hostProcessUids(pid int) (ruid, suid uint32, ok bool) {
	v, found := statusField("/proc/"+strconv.Itoa(pid)+"/status", "Uid")
	f := strings.Fields(v)
	if !found || len(f) < 3 {
		return 0, 0, false
	}
	r, err1 := strconv.ParseUint(f[0], 10, 32)
	s, err2 := strconv.ParseUint(f[2], 10, 32)
	return uint32(r), uint32(s), err1 == nil && err2 == nil
}

// statusField is the value of the line "key:" of a /proc status file, spaces trimmed.
func statusField(path, key string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// group returns the live processes of process group pgid, in pid order.
func (k *Kernel) group(pgid int) []*Process {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	var live []*Process
	if g := k.pt.groups[pgid]; g != nil {
		live = make([]*Process, 0, len(g.members))
		for q := range g.members {
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
	targets, err := k.killTargets(from, pid, int(info.Signo))
	if err != nil {
		return err
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
func (k *Kernel) HostSignal(sig int) { k.HostSignalFrom(sig, 0, 0, 0, 0) }

// HostSignalFrom is HostSignal for a signal whose siginfo vemu saw: one a host process
// sent (si_code SI_USER, SI_TKILL or SI_QUEUE; si_pid and si_uid its sender's, value
// sigqueue's) reaches the first process, which vemu stands for, with that sender, as
// kill(2) would have sent it; any other code (0: not known) is taken as HostSignal
// takes it.
func (k *Kernel) HostSignalFrom(sig int, code, pid int32, uid uint32, value uint64) {
	info := abi.Siginfo{Signo: int32(sig), Code: abi.SI_USER}
	terminal := false
	switch {
	case code == abi.SI_USER || code == abi.SI_TKILL || code == abi.SI_QUEUE:
		info.Code, info.Pid, info.UID = code, pid, uid
		if code == abi.SI_QUEUE {
			info.Value = value
		}
	case sig == abi.SIGINT || sig == abi.SIGQUIT || sig == abi.SIGHUP || sig == abi.SIGWINCH:
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

// FirstDoomed returns the signal a sender has decided ends the first process while its
// run loop has not ended yet, or 0. The loop takes such a signal before it runs guest
// code again, so this lasts only while the loop is held elsewhere: in a host call that
// takes long (Unicorn unmapping terabytes page by page).
func (k *Kernel) FirstDoomed() int {
	k.pt.mu.Lock()
	first := k.first
	k.pt.mu.Unlock()
	if first == nil {
		return 0
	}
	select {
	case <-first.done:
		return 0
	default:
		return int(first.doomed.Load())
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
