package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Blocking: how a system call waits.
//
// A handler runs inside the CPU's SYSCALL hook, on the process's run loop: it may read
// and write guest memory and the process's state, but it must not wait, since every
// thread of the process (and the signals sent to it) would wait with it. A call that has
// to wait says how, and returns what that function returns (0, errBlocked); the entry
// then stops the CPU, the run loop runs the other threads, and the call's result reaches
// the thread's rax when it is done:
//
//	blockOn(op)                   op waits off the run loop, on a goroutine; no signal
//	blockThen(op, done)           interrupts it (a vfork parent). done, if any, runs back
//	                              on the run loop with op's result and may touch guest
//	                              memory; op must not.
//	blockIntr(kind, op, done)     the same, for a wait a signal interrupts: op watches
//	                              its cancel and returns errInterrupted when it gives up.
//	blockWait(kind, hw, op, done) a wait on host fds (pipes, sockets, poll): blockIntr,
//	                              except in repeatable runs (--seed with the virtual
//	                              clock), where the thread parks and the run loop polls
//	                              hw's fds, so the wait ends at the same point every run.
//	park()                        the thread waits until something on the run loop (a
//	                              futex wake, a timer, a signal) calls complete; follow
//	                              it with interruptible(kind, undo) when a signal may
//	                              end the wait.
//
// post(f) is not a wait: f runs when the call has returned, outside the hook, where it
// may change any register (rip included) or start another process's goroutine.
// Interrupted calls end as Linux's return codes say (intr.go).

// intrKind says whether and how a signal interrupts a blocked call: the zero value is a
// call no signal interrupts (a vfork parent's wait, say).
type intrKind int64

// errInterrupted is what a blocking operation running off the run loop returns when it
// saw its cancel before it had a result: the call ends as the signal decides.
var errInterrupted = errors.New("blocking call interrupted")

// cancel is how the run loop tells an operation running off it to give up: ch is closed,
// and fd, a host eventfd, becomes readable for operations that wait in the host's poll.
type cancel struct {
	ch chan struct{}
	fd int
}

// stopped says whether the cancel came.
func (c *cancel) stopped() bool {
	select {
	case <-c.ch:
		return true
	default:
		return false
	}
}

// fire gives the cancel.
func (c *cancel) fire() {
	close(c.ch)
	if c.fd >= 0 {
		unix.Write(c.fd, binary.LittleEndian.AppendUint64(nil, 1))
	}
}

// interruptible makes the call being blocked (by park, blockThen or blockIntr just
// before) one that signals interrupt: undo, run on the loop, takes the thread off
// whatever wait queue it is on.
func (t *Task) interruptible(kind intrKind, undo func()) {
	t.pending.intr, t.pending.undo = kind, undo
}

// blockIntr is blockThen for an interruptible call: op runs off the run loop with a cancel
// it must watch, and returns errInterrupted when it gives up because of it.
func (t *Task) blockIntr(kind intrKind, op func(c *cancel) (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	c := &cancel{ch: make(chan struct{}), fd: t.cancelFd()}
	r, err := t.blockThen(func() (uint64, error) { return op(c) }, done)
	t.pending.intr, t.pending.stop = kind, c
	return r, err
}

// blockIntrChan is blockIntr for an operation that watches only its cancel's channel,
// never the host's poll: the thread needs no eventfd.
func (t *Task) blockIntrChan(kind intrKind, op func(c *cancel) (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	c := &cancel{ch: make(chan struct{}), fd: -1}
	r, err := t.blockThen(func() (uint64, error) { return op(c) }, done)
	t.pending.intr, t.pending.stop = kind, c
	return r, err
}

// errNotReady is what a parked wait's retry returns when its fds were ready but the
// operation found nothing after all (another process took the data).
var errNotReady = errors.New("not ready")

// hostWait describes a wait on host fds for the repeatable mode: fds to poll without
// consuming anything, and retry, which performs the operation without waiting.
type hostWait struct {
	fds   []unix.PollFd
	files []*File // the open file of each of fds (nil: none)
	retry func() (uint64, error)
	park  *parkEntry // its place in the process's parked waits, while parked
}

// blockWait is blockIntr for an operation that waits on host fds: parked with hw in
// repeatable runs, on a goroutine otherwise.
func (t *Task) blockWait(kind intrKind, hw *hostWait, op func(c *cancel) (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	if !t.p.k.repeatable() {
		return t.blockIntr(kind, op, done)
	}
	r, err := t.park()
	t.pending.done, t.pending.wait = done, hw
	t.interruptible(kind, nil)
	return r, err
}

// errBlocked is what a handler returns when its call has not finished: the entry leaves
// rax alone and the run loop parks the thread.
var errBlocked = errors.New("system call blocked")

// pendingOp is a system call waiting to finish.
type pendingOp struct {
	op   func() (uint64, error)              // runs off the CPU's goroutine (nil: parked)
	done func(uint64, error) (uint64, error) // runs back in the run loop, with guest memory
	nr   uint64
	args Args

	intr        intrKind  // whether and how a signal interrupts it (see intr.go)
	undo        func()    // takes a parked call off its wait queue when interrupted
	stop        *cancel   // tells an operation off the loop to give up
	wait        *hostWait // parked on host fds, in repeatable runs
	interrupted bool      // a signal interrupts it; the answer may still be coming
	credless    bool      // op opens nothing: it runs with vemu's own credentials

	inj   *injection // tampering to finish when it returns
	quiet bool       // an injected delay, not the guest's call: not traced
	i386  uint64     // an int $0x80 call: its i386 number + 1, for a restart
	// resume, for a call of the intrBlock kind, carries it on where it stopped (the
	// sleeps: for the time left) when a signal no handler takes interrupts it: the
	// thread then runs restart_syscall, as on Linux.
	resume func(t *Task) (uint64, error)
	// partial, when it says so, is what the call returns when a signal interrupts it
	// after it did part of its work (recvmmsg's datagrams so far), as Linux returns a
	// count rather than the wait's EINTR.
	partial func() (uint64, bool)
}

// blockOn runs op, which may block on the host, while the process's other threads run;
// the system call returns op's result.
func (t *Task) blockOn(op func() (uint64, error)) (uint64, error) {
	return t.blockThen(op, nil)
}

// blockThen is blockOn with done, which runs back in the run loop with op's result (and
// may write guest memory) and gives the call's final result.
func (t *Task) blockThen(op func() (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	t.pending = &pendingOp{op: op, done: done}
	return 0, errBlocked
}

// park blocks the thread until another thread or a timer completes its call.
func (t *Task) park() (uint64, error) {
	t.pending = &pendingOp{}
	return 0, errBlocked
}

// post runs f after the current system call returns to the run loop, outside the CPU
// hook; f may set any register, rip included.
func (t *Task) post(f func()) {
	t.posts = append(t.posts, f)
	t.p.stop = true
}

// waitFor blocks t in op: a call whose handler (or whose done, for a call that waits more
// than once) returned errBlocked. op.op, if any, starts off the run loop.
func (t *Task) waitFor(op *pendingOp) {
	p := t.p
	t.setState(taskBlocked)
	t.blocked = op
	t.gen++
	if op.wait != nil {
		p.park(t, op)
	}
	if op.op != nil {
		gen := t.gen
		fc := p.fileCreds()
		go func() {
			var r uint64
			var err error
			if op.credless {
				r, err = op.op() // no host thread kept for the guest's credentials
			} else {
				r, err = runAs(fc, op.op)
			}
			p.send(wakeup{t: t, gen: gen, r: r, err: err, pend: op})
		}()
	}
	p.updatePreempt()
	if t.deliverable() || p.groupStopPending(t) {
		// A signal already waits (a ppoll mask let it through, say), or a group-stop.
		t.interruptCall()
	}
}

// complete finishes a blocked call with r or err and makes the thread runnable.
func (t *Task) complete(pend *pendingOp, r uint64, err error) {
	if t.state != taskBlocked {
		return
	}
	if pend != nil && pend.wait != nil {
		t.p.unpark(pend.wait)
	}
	if pend != nil && pend.interrupted && err == errInterrupted {
		t.endInterrupted(pend)
		return
	}
	if pend != nil && pend.done != nil {
		restore := t.actTables()
		r, err = pend.done(r, err)
		restore()
		if err == errBlocked && t.pending != nil {
			// done blocked again: the call goes on waiting, as one call.
			op := t.pending
			t.pending = nil
			op.nr, op.args, op.inj, op.quiet, op.i386 = pend.nr, pend.args, pend.inj, pend.quiet, pend.i386
			t.waitFor(op)
			return
		}
	}
	ret := r
	if err != nil {
		var e unix.Errno
		if !errors.As(err, &e) {
			t.p.exitInternal(fmt.Errorf("%w: %v", ErrInternal, err))
			return
		}
		ret = errnoRet(e)
	}
	if pend != nil && pend.i386 == 0 {
		t.p.accountIO(pend.nr, ret)
	}
	if pend != nil && !pend.quiet {
		note := t.injectExit(pend.inj, pend.args)
		if t.trace {
			t.traceNote(pend.nr, pend.args, ret, note, pend.inj != nil && pend.inj.replace)
		}
	}
	t.resume = &ret
	t.setState(taskRunnable)
	t.blocked = nil
	t.p.woke(t)
	t.p.updatePreempt()
}
