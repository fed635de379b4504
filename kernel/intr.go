package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
)

// A system call blocked when a signal with a handler arrives for its thread is
// interrupted, as on Linux: the handler runs, and then the call returns EINTR or, for the
// calls Linux restarts under SA_RESTART, runs again from the start (rip back on the
// syscall instruction, rax its number again). Which calls do what follows Linux's return
// codes: ERESTARTSYS for I/O on pipes, terminals and sockets, wait4, futex waits without a
// timeout; ERESTARTNOHAND for poll, select, epoll_wait, pause (never restarted once a
// handler ran); ERESTART_RESTARTBLOCK for the sleeps (EINTR after a handler, with the
// time left); ERESTARTNOINTR for the PI futex locks (always restarted). A kind below 512
// is an errno that the call returns when a signal interrupts it, handler or not.

const (
	intrNever   intrKind = 0
	intrRestart intrKind = 512 // ERESTARTSYS
	intrNoIntr  intrKind = 513 // ERESTARTNOINTR: restarted even after a handler
	intrNoHand  intrKind = 514 // ERESTARTNOHAND
	intrBlock   intrKind = 516 // ERESTART_RESTARTBLOCK
)

// cancelFd returns the thread's eventfd for cancels, emptied; -1 if there is none.
func (t *Task) cancelFd() int {
	if t.intrFd == 0 {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return -1
		}
		t.intrFd = fd + 1
	}
	fd := t.intrFd - 1
	var b [8]byte
	unix.Read(fd, b[:])
	return fd
}

// closeIntr releases the thread's cancel eventfd.
func (t *Task) closeIntr() {
	if t.intrFd != 0 {
		unix.Close(t.intrFd - 1)
		t.intrFd = 0
	}
}

// interruptCall interrupts t's blocked call, if it is interruptible and not already being
// interrupted, for a signal that t will take.
func (t *Task) interruptCall() {
	op := t.blocked
	if t.state != taskBlocked || op == nil || op.intr == intrNever || op.interrupted {
		return
	}
	op.interrupted = true
	if op.stop != nil {
		// Off the loop: it answers, with errInterrupted or with the result it had.
		op.stop.fire()
		return
	}
	if op.undo != nil {
		op.undo()
		if t.state != taskBlocked || t.blocked != op {
			return // the undo found the call's result already decided, and completed it
		}
	}
	t.endInterrupted(op)
}

// endInterrupted ends a call that a signal interrupted: it restarts when it is of the
// restartable kind and the handler of the signal about to be delivered has SA_RESTART, and
// returns EINTR otherwise. With no signal left to take (another thread took it), the call
// restarts, as Linux restarts it when no handler runs.
func (t *Task) endInterrupted(op *pendingOp) {
	sig := t.nextSignal()
	act := t.p.sigactions[sig]
	// No handler will run (a stop signal's default action, or a tracer that will see
	// an ignored one): the call restarts, as Linux restarts ERESTARTSYS and
	// ERESTARTNOHAND when no handler runs.
	noHandler := sig != 0 && (act.Handler == abi.SIG_DFL || act.Handler == abi.SIG_IGN) && op.intr != intrBlock
	errKind := op.intr > intrNever && op.intr < intrRestart
	restart := !errKind && (sig == 0 || noHandler || op.intr == intrNoIntr ||
		(op.intr == intrRestart && act.Flags&abi.SA_RESTART != 0))
	// ERESTART_RESTARTBLOCK with no handler to run: restart_syscall carries the call on
	// (a sleep, for the time it had left), where restarting it would start it over.
	carryOn := op.intr == intrBlock && op.resume != nil && op.i386 == 0 &&
		(sig == 0 || act.Handler == abi.SIG_DFL || act.Handler == abi.SIG_IGN)
	if op.done != nil {
		restore := t.actTables()
		op.done(0, unix.EINTR) // what the call must undo (a temporary mask, say)
		restore()
	}
	t.blocked = nil
	t.setState(taskRunnable)
	if op.partial != nil {
		if r, ok := op.partial(); ok {
			if t.trace {
				t.traceCall(op.nr, op.args, r)
			}
			t.resume = &r
			t.p.updatePreempt()
			return
		}
	}
	if t.trace {
		t.traceCall(op.nr, op.args, uint64(-int64(op.intr)))
	}
	if carryOn {
		t.restartBlock = op.resume
		t.restartNr = abi.SYS_RESTART_SYSCALL
		t.restart = true
	} else if restart {
		t.restartNr = op.nr
		if op.i386 != 0 {
			t.restartNr = op.i386 - 1
		}
		t.restart = true
	} else {
		e := unix.EINTR
		if errKind {
			e = unix.Errno(op.intr)
		}
		ret := errnoRet(e)
		t.resume = &ret
	}
	t.p.updatePreempt()
}

// nextSignal is the signal dispatchSignals would deliver to t first; 0 if none.
func (t *Task) nextSignal() int {
	allow := ^t.sigmask
	if sig := t.sigs().pending.next(allow); sig != 0 {
		return sig
	}
	return t.p.sigs().pending.next(allow)
}

// applyRestart puts the thread back on its syscall instruction with the call's number in
// rax, when its call is to be restarted. The engine holds the thread's registers.
func (t *Task) applyRestart() {
	if !t.restart {
		return
	}
	t.restart = false
	t.cpu.SetReg(emu.RIP, t.cpu.Reg(emu.RIP)-2)
	t.cpu.SetReg(emu.RAX, t.restartNr)
}

// Repeatable runs. With --seed and the virtual clock, a wait on host fds must end at the
// same point of the guest's execution on every run, so it does not run on a goroutine
// (whose answer would arrive whenever the host delivers it): the thread stays parked
// with the fds it waits for, and the run loop polls them, without waiting, whenever it
// schedules. A wait that another thread of the process satisfies (an eventfd written, a
// pipe filled) then ends at the same place each time.

// repeatable says whether runs must repeat exactly: a seed and the virtual clock.
func (k *Kernel) repeatable() bool { return k.cfg.HasSeed && k.cfg.Clock == ClockVirtual }

// parkedWait is a thread parked on host fds, in the order the threads parked.
type parkedWait struct {
	t  *Task
	op *pendingOp
}

// parkedNow drops the waits that have ended from p.parked, and returns the rest.
func (p *Process) parkedNow() []parkedWait {
	live := p.parked[:0]
	for _, w := range p.parked {
		if w.t.state == taskBlocked && w.t.blocked == w.op {
			live = append(live, w)
		}
	}
	clear(p.parked[len(live):])
	p.parked = live
	return live
}

// pollParked ends the parked waits whose fds are ready, in the order they parked; it
// reports whether any ended.
func (p *Process) pollParked() bool {
	ended := false
	for _, w := range p.parkedNow() {
		t, op := w.t, w.op
		if t.state != taskBlocked || t.blocked != op {
			continue // an earlier one's end ended it (a signal, say)
		}
		fds := append([]unix.PollFd(nil), op.wait.fds...)
		if n, err := unix.Ppoll(fds, &unix.Timespec{}, nil); err != nil || n == 0 {
			continue
		}
		r, err := op.wait.retry()
		if err == errNotReady {
			continue
		}
		t.complete(op, r, err)
		ended = true
	}
	return p.aioPollParked() || ended
}

// parkedFds gathers the fds of all parked waits, for idle to wait on.
func (p *Process) parkedFds() []unix.PollFd {
	var fds []unix.PollFd
	for _, w := range p.parkedNow() {
		fds = append(fds, w.op.wait.fds...)
	}
	return append(fds, p.aioParkedFds()...)
}
