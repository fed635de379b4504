package kernel

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"vemu/emu"
)

// A thread that blocks in a system call gives the CPU to the others: its call is parked
// (a futex wait, woken by another thread) or runs on a goroutine of its own (a read from
// a pipe, a sleep), and its result is put in rax when it runs again.

// wakeup is a message to the run loop from another goroutine.
type wakeup struct {
	t    *Task
	gen  uint64
	r    uint64
	err  error
	pend *pendingOp
	fn   func() // run in the loop instead, when set
}

// vtimer is a timeout on the virtual clock.
type vtimer struct {
	at  int64 // virtual MONOTONIC ns
	fn  func()
	seq uint64 // the order it was set in
	idx int    // its place in the heap (vtimer.go)
}

// quantumBlocks is how many translated blocks a thread runs while others wait, on
// average. Threads are preempted from inside the engine, by a block counter: stopping it
// from another OS thread (uc_emu_stop) was measured to leave a saved context inconsistent
// now and then (a musl program with 8 threads crashed in 20 of 20 runs on a corrupted
// return address; 0 of 20 with the counter). It also makes preemption repeat exactly
// from run to run.
const quantumBlocks = 20000

// nextQuantum is the length of the next quantum, drawn each time one is set or runs out:
// from half to one and a half quantumBlocks, from a sequence the kernel's seed fixes. On
// Linux the timer tick that preempts a thread falls anywhere in its code; quanta of one
// length, counted from a point both threads pass (a lock handed over), ended at the same
// point of their loops every time, and two threads met the same way forever (one
// raising a signal while the other switched its action between a handler and SIG_IGN
// always found SIG_IGN). The sequence is the process's own, so a repeatable run stays
// repeatable; the mean is quantumBlocks, so CPU-bound threads switch as often as before.
func (p *Process) nextQuantum() uint64 {
	// splitmix64
	p.ticks += 0x9e3779b97f4a7c15
	z := p.ticks
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return quantumBlocks/2 + z%quantumBlocks
}

// needHook installs the CPU's block hook, which preempts threads and lets other goroutines
// interrupt guest code exactly (emu.Engine.Kick). It slows CPU-bound code by about a
// quarter, so a process gets it only once it needs it: a second thread, a signal handler
// that may have to run in the middle of a loop, or a timer on the host's clock.
func (p *Process) needHook() {
	if p.quantum {
		return
	}
	if err := p.cpu.EnableQuantum(); err == nil {
		p.quantum = true
	}
}

// runnable counts the threads that can run.
func (p *Process) runnable() int {
	if p.stopped {
		return 0
	}
	return p.runq.n
}

// updatePreempt turns time slicing on when more than one thread can run, and under the
// virtual clock also while a timeout waits: time then advances with the blocks the
// running thread executes (virtualBlockNs each), and the run loop fires the timeout when
// it is due, so that a thread spinning in guest code lets a sleeper wake (the Go
// runtime's sysmon, which preempts busy goroutines) instead of freezing time.
func (p *Process) updatePreempt() {
	timed := p.k.cfg.Clock == ClockVirtual && p.vtimers.len() > 0
	if timed {
		p.needHook()
	}
	if !p.quantum {
		return
	}
	if n := p.runnable(); n > 1 || timed && n > 0 || p.sharesMem {
		p.cpu.SetQuantum(p.nextQuantum())
	} else {
		p.cpu.SetQuantum(0)
	}
}

// virtualBlockNs is the guest time one translated block takes on the virtual clock: a
// block is a few instructions, a few nanoseconds on a host CPU. A quantum is then 100 µs.
const virtualBlockNs = 5

// advanceVirtual moves the virtual clock by the blocks run since it was last called,
// then fires the timeouts that are due, earliest first.
func (p *Process) advanceVirtual() {
	if p.k.cfg.Clock != ClockVirtual {
		return
	}
	if n := p.cpu.BlocksRun(); n > p.blocksSeen {
		p.k.clock.virt.Add(int64(n-p.blocksSeen) * virtualBlockNs)
		p.blocksSeen = n
	}
	fired := false
	for v := p.vtimers.next(); v != nil; v = p.vtimers.next() {
		if v.at > p.k.clock.virt.Load() {
			break
		}
		p.vtimers.remove(v)
		v.fn()
		fired = true
	}
	if fired {
		p.updatePreempt()
	}
}

// pick chooses the next thread to run: the one at the head of the run queue, which goes
// to its tail; none while the process is stopped. A thread that woke may be at the head
// ahead of its turn (wakeup.go). The running thread goes on instead when only the
// kernel's work stopped it (a signal to deliver, registers to reload): its turn ends
// when its quantum does, when it blocks or yields, or when a thread it woke goes first.
func (p *Process) pick() *Task {
	if p.stopped {
		return nil
	}
	if d := p.dbg; d != nil {
		if t, none := d.pick(); t != nil || none {
			p.picked(nil)
			return t
		}
	}
	keep := p.keepTurn
	p.keepTurn = false
	if t := p.cur; keep && t != nil && t.state == taskRunnable && t.queued && p.runq.front == nil && !p.ptStopped(t) {
		return t
	}
	for range p.runq.n {
		if t := p.runq.rotate(); t == nil || !p.ptStopped(t) {
			p.picked(t)
			return t // a thread in a tracer's stop stays queued, and is passed over
		}
	}
	return nil
}

// switchTo gives the CPU to t.
func (p *Process) switchTo(t *Task) error {
	if p.cur != t {
		p.chargeCPU()
		if c := p.cur; c != nil && c.state == taskRunnable {
			c.sched.leave(p, false)
		}
		if p.cur != nil && p.cur.state != taskDead {
			if err := p.cpu.Save(p.cur.ctx); err != nil {
				return err
			}
		}
		if err := p.cpu.Restore(t.ctx); err != nil {
			return err
		}
		p.cur = t
		t.useTables()
		p.setFastCalls()
		t.publishCPU()
		t.rseqSwitchedOut() // it was off the CPU: as Linux's rseq_preempt()
		t.loadTLS()
	}
	t.sched.arrive(p)
	if t.resume != nil {
		p.cpu.SetReg(emu.RAX, *t.resume)
		t.resume = nil
	}
	t.applyRestart()
	return nil
}

// reap releases what the threads that ended held, and drops them from p.tasks once
// they are half of it (so that threads ending one at a time cost O(1) each); until then
// p.tasks keeps them, dead.
func (p *Process) reap() {
	if len(p.dying) == 0 {
		return
	}
	for _, t := range p.dying {
		if p.cur == t {
			p.cur = nil
		}
		if t.ctx != nil {
			t.ctx.Free()
			t.ctx = nil
		}
		t.sigs().pending.discard(p.queued())
		t.closeIntr()
		t.dropFutexWaits()
		t.seccomp.hold(-1)
		t.seccomp.filter = nil
		p.dropTables(t)
	}
	clear(p.dying)
	p.dying = p.dying[:0]
	if p.dead*2 < len(p.tasks) && p.live > 0 {
		return
	}
	p.dead = 0
	live := p.tasks[:0]
	for _, t := range p.tasks {
		if t.state != taskDead {
			live = append(live, t)
		}
	}
	clear(p.tasks[len(live):])
	p.tasks = live
}

// Run executes the task's process until it exits, and returns how it ended.
func (t *Task) Run() ExitStatus {
	return t.p.run()
}

func (p *Process) run() ExitStatus {
	// Unicorn keeps per-thread state while an engine runs: stay on one OS thread.
	runtime.LockOSThread()
	p.onThread = hostFileCreds()
	defer func() {
		// The thread goes back to the runtime as vemu's, or ends with the goroutine.
		if p.actAs(hostFileCreds()) == nil && !p.ownFS {
			runtime.UnlockOSThread()
		}
	}()
	defer p.close()
	defer p.actAs(hostFileCreds()) // vemu's own work at the end is vemu's
	p.k.clock.start()
	defer p.k.clock.detach(p)
	p.cpuMark = p.loopCPU() // the threads' CPU time counts from here (threadcpu.go)
	p.armCPULimit()

	repeatable := p.k.repeatable()
	if d := p.dbg; d != nil && d.pt == nil {
		d.hold(d.first, false) // the debugger knows this stop: Exec made it
	}
	for p.exit == nil {
		p.drain(false)
		if repeatable {
			p.pollParked()
		}
		if d := p.dbg; d != nil && d.idleStop() {
			continue
		}
		t := p.pick()
		if t == nil {
			if p.live == 0 || p.exit != nil {
				break
			}
			p.idle()
			continue
		}
		if err := p.switchTo(t); err != nil {
			p.exitInternal(fmt.Errorf("%w: %v", ErrInternal, err))
			break
		}
		if p.unparked(t) {
			continue
		}
		if d := p.dbg; d != nil && d.takeGroupStop(t) {
			continue
		}
		if d := p.dbg; d == nil || d.pt == nil || !d.syscallPending(t) {
			t.dispatchSignals()
		}
		if t.rseq.notify && p.exit == nil && t.state == taskRunnable && !p.stopped {
			t.rseqResume()
		}
		if p.exit != nil || t.state != taskRunnable || p.stopped || p.ptStopped(t) || p.checkDoomed() {
			continue
		}
		if d := p.dbg; d != nil && d.beforeRun(t) {
			continue
		}
		if p.sharesMem && !p.takeCPU() {
			continue
		}
		// Files another process shrank lose their pages here first (mm.Shrunk).
		p.mm.Refresh()
		if p.hw.dirty || len(p.hw.breaks) > 0 {
			p.hwBeforeRun(t)
		}
		p.publishFatal()
		t.intrView = nil
		p.beginTurn()
		ev := p.cpu.Run(p.cpu.Reg(emu.RIP))
		p.inRun = false
		// A quantum that ran out (or a stop before any block ran) ends the turn.
		expired := p.quantum && p.cpu.QuantumFresh()
		if p.sharesMem {
			p.releaseCPU()
		}
		p.stop = false
		// A run that a fatal signal aborted (kill.go) left no state the guest was in:
		// its event, a fault from the registers Unicorn left, is not the guest's.
		if p.exit != nil || p.checkDoomed() {
			break
		}
		if d := p.dbg; d == nil || d.afterRun(t, ev) {
			t.handleEvent(ev)
		}
		p.afterEvent(t)
		boosted, hit := p.turnBoosted, p.preempt == preemptHit
		p.endTurn(t)
		// Without the block hook no quantum would end the turn: a stop does.
		p.keepTurn = p.quantum && !expired && !boosted && !hit && !p.yielded && p.dbg == nil
		p.yielded = false
		p.signalsOnReturn(t)
		// After the event and a blocking call's set-up: a timeout that fires now finds
		// its thread blocked.
		p.advanceVirtual()
		p.reap()
	}
	if p.exit == nil {
		p.exit = &ExitStatus{}
	}
	if p.exit.Signal != 0 {
		p.exit.Core = p.dumpCore()
	}
	if d := p.dbg; d != nil && d.pt != nil {
		d.exitEvent()
	}
	p.futexExitAll()
	for _, t := range p.tasks {
		if op := t.blocked; op != nil && op.stop != nil && !op.interrupted {
			// Let operations still waiting on the host end with the process.
			op.interrupted = true
			op.stop.fire()
		}
		t.setState(taskDead)
	}
	p.reap()
	p.closeFiles()
	if d := p.dbg; d != nil {
		d.exit(*p.exit)
	}
	p.used = threadUsage() // this goroutine's OS thread ran the process
	p.used.io = p.ioac
	p.passMappings()
	p.exited()
	return *p.exit
}

// afterEvent runs what t's event left to do: its posts, then, when its call blocks,
// the wait; unless a post stopped t for its tracer, which leaves the rest until t is
// resumed (unparked).
func (p *Process) afterEvent(t *Task) {
	p.runPosts(t)
	if t.ptParked != nil {
		return
	}
	if op := t.pending; op != nil {
		t.pending = nil
		t.rseqSwitchedOut() // it sleeps, as Linux schedules it out
		t.noteCallRegs()
		t.waitFor(op)
	}
}

// signalsOnReturn delivers the signals that t, whose turn just ended, can take now, as
// Linux does on a thread's way back to user mode: a signal a thread sends itself (raise,
// tgkill) is taken when its call returns, with the action it has then, before another
// thread could change that action (a sigaction to SIG_IGN discards it while pending).
// Left to the thread's next turn, the others ran first. A thread whose call has yet to
// set its result (resume) or start again (restart) takes them when it next runs, as does
// one a debugger or tracer holds.
func (p *Process) signalsOnReturn(t *Task) {
	if p.dbg != nil || p.exit != nil || p.stopped || t != p.cur || t.state != taskRunnable ||
		t.resume != nil || t.restart || t.ptParked != nil || !t.deliverable() {
		return
	}
	t.dispatchSignals()
}

// idle waits for something to wake a thread: a blocking call's end, a timer, a signal.
// Under the virtual clock, with nothing else to wait for, time jumps to the next timeout.
func (p *Process) idle() {
	st := uint32('S')
	if p.stopped {
		st = 'T'
	}
	if d := p.dbg; d != nil && d.parked > 0 {
		st = 't' // a thread is in a tracer's stop
	}
	p.pubState.Store(st)
	defer p.pubState.Store(0)
	if p.k.repeatable() && p.pollParked() {
		return
	}
	if v := p.vtimers.next(); v != nil {
		p.vtimers.remove(v)
		if now := p.k.clock.virt.Load(); v.at > now {
			p.k.clock.virt.Add(v.at - now)
		}
		v.fn()
		p.updatePreempt()
		return
	}
	if fds := p.parkedFds(); len(fds) > 0 {
		// Parked waits of a repeatable run: wait for their fds on a goroutine, and for
		// any message; whichever comes first, the loop looks at everything again.
		c := &cancel{ch: make(chan struct{}), fd: p.idleFd()}
		go func() {
			hostPoll(fds, pollWait{forever: true, cancel: c})
			p.send(wakeup{fn: func() {}})
		}()
		p.drain(true)
		c.fire()
		return
	}
	p.drain(true)
}

// idleFd returns the process's eventfd for ending idle's waits, emptied; -1 if none.
func (p *Process) idleFd() int {
	if p.idleEvent == 0 {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return -1
		}
		p.idleEvent = fd + 1
	}
	fd := p.idleEvent - 1
	var b [8]byte
	unix.Read(fd, b[:])
	return fd
}

// drain handles wakeups: all that are waiting, and with wait the first one to come.
func (p *Process) drain(wait bool) {
	if wait {
		p.onWake(<-p.wake)
	}
	for {
		select {
		case w := <-p.wake:
			p.onWake(w)
		default:
			p.publishFatal()
			return
		}
	}
}

func (p *Process) onWake(w wakeup) {
	if w.fn != nil {
		w.fn()
		return
	}
	if w.t.gen != w.gen || w.t.state != taskBlocked {
		return
	}
	w.t.complete(w.pend, w.r, w.err)
}

// after runs fn in the run loop once d has passed on the guest's clock. Calling stop
// before then keeps fn from running and, on the virtual clock, time from jumping to it.
func (p *Process) after(d time.Duration, fn func()) (stop func()) {
	if p.k.cfg.Clock == ClockVirtual {
		v := &vtimer{at: p.k.clock.virt.Load() + int64(d), fn: fn}
		p.vtimers.add(v)
		p.updatePreempt()
		return func() {
			if p.vtimers.remove(v) {
				p.updatePreempt()
			}
		}
	}
	p.needHook()
	t := time.AfterFunc(d, func() { p.send(wakeup{fn: fn}) })
	return func() { t.Stop() }
}
