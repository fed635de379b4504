package kernel

import (
	"container/heap"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
)

// A system call blocked when a signal with a handler arrives for its thread is
// interrupted, as on Linux: the handler runs, and then the call returns EINTR or, for the
// calls Linux restarts under SA_RESTART, runs again from the start (rip back on the
// syscall instruction, rax its number again). Which calls do what follows Linux's return
// codes: ERESTARTSYS for I/O on pipes, terminals and sockets, wait4, futex waits without a
// timeout; ERESTARTNOHAND for ppoll, select, pause (never restarted once a handler ran);
// ERESTART_RESTARTBLOCK for the sleeps and poll (EINTR after a handler, else carried on
// to the same end); ERESTARTNOINTR for the PI futex locks (always restarted). A kind
// below 512 is an errno that the call returns when a signal interrupts it, handler or
// not (EINTR for epoll_wait).

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
	if op.wait != nil {
		t.p.unpark(op.wait)
	}
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
	t.p.woke(t)
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
	if op.intr >= intrRestart && t.p.dbg != nil {
		// At the signal-delivery stop that follows, a tracer sees the call as Linux
		// leaves it until the signal's delivery decides: -ERESTART* in rax, rip past the
		// instruction, the number in orig_rax.
		v := &intrView{nr: op.nr, code: op.intr, restarted: carryOn || restart, restartNr: op.nr}
		if op.i386 != 0 {
			v.restartNr = op.i386 - 1
		}
		if op.i386 == 0 {
			v.resume = op.resume
		}
		t.intrView = v
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

// intrView is an interrupted call as a tracer sees it: its number, the ERESTART code
// Linux leaves in rax, and whether vemu restarts it (rip is back on the instruction and
// rax holds a number) or it returns (rax holds its error).
type intrView struct {
	nr        uint64
	code      intrKind
	restarted bool

	restartNr uint64                        // the number that restarts it
	resume    func(t *Task) (uint64, error) // what restart_syscall carries on, for a sleep
}

// restartUnhandled restarts the call a signal interrupted when its delivery ran no
// handler after all, as Linux decides at delivery: the tracer suppressed the signal at
// its delivery stop (the action read when the call was interrupted had one). The call
// was to fail with EINTR, which its registers (rip past the instruction, rax -EINTR)
// hold: they go back to the instruction, or to restart_syscall for a sleep.
func (t *Task) restartUnhandled() {
	v := t.intrView
	if v == nil || v.restarted || v.code < intrRestart {
		return
	}
	v.restarted = true
	if v.code == intrBlock {
		if v.resume == nil {
			return
		}
		t.restartBlock = v.resume
		t.restartNr = abi.SYS_RESTART_SYSCALL
	} else {
		t.restartNr = v.restartNr
	}
	t.restart = true
}

// shown turns the registers a thread has (rip, rax) into what a tracer sees.
func (v *intrView) shown(rip, rax uint64) (uint64, uint64) {
	if v.restarted {
		rip += 2
	}
	return rip, errnoRet(unix.Errno(v.code))
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

// parkSet is a process's parked waits. Their files are registered, shared per file, in an
// epoll instance of the process's own (see pollwait.go), level-triggered, which the run
// loop asks without waiting at each turn: the callbacks that make an entry ready run in
// the host call that changed the file (another thread's write, say), so the answer is
// the same at the same point of every run, as when the loop polled each wait, and a turn
// costs what is ready, not what waits.
type parkSet struct {
	set     *pollSet     // made on first use
	seq     uint64       // the last wait parked
	live    int          // waits parked
	loose   []*parkEntry // waits with a file the host would not register: polled each turn
	changes uint64       // waits ended by the loop: a file's last answer is stale after one
	dirty   []*pollReg   // registrations with ended waits to drop
	buf     []unix.EpollEvent
}

// parkEntry is one parked wait.
type parkEntry struct {
	t      *Task
	op     *pendingOp
	seq    uint64
	regs   []*pollReg
	events []uint32
	loose  bool
	ended  bool
}

// park adds t's wait op to the parked ones.
func (p *Process) park(t *Task, op *pendingOp) {
	ps := &p.parks
	ps.seq++
	ps.live++
	e := &parkEntry{t: t, op: op, seq: ps.seq}
	op.wait.park = e
	if ps.set == nil {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err == nil {
			ps.set = &pollSet{epfd: epfd, regs: map[*File]*pollReg{}, ids: map[uint64]*pollReg{}}
		}
	}
	if ps.set == nil {
		e.loose = true
		ps.loose = append(ps.loose, e)
		return
	}
	hostPoller.mu.Lock()
	defer hostPoller.mu.Unlock()
	for i, f := range op.wait.files {
		if f == nil {
			continue
		}
		ev := uint32(uint16(op.wait.fds[i].Events))
		r, err := ps.set.join(f, ev)
		if err == unix.EPERM {
			continue // always ready
		}
		if err != nil {
			ps.leaveLocked(e)
			e.regs, e.events, e.loose = nil, nil, true
			ps.loose = append(ps.loose, e)
			return
		}
		r.parks = append(r.parks, e)
		e.regs = append(e.regs, r)
		e.events = append(e.events, ev)
	}
}

// unpark takes an ended wait out of the parked ones.
func (p *Process) unpark(hw *hostWait) {
	e := hw.park
	if e == nil || e.ended {
		return
	}
	ps := &p.parks
	e.ended = true
	hw.park = nil
	ps.live--
	if e.loose {
		for i, o := range ps.loose {
			if o == e {
				ps.loose = append(ps.loose[:i], ps.loose[i+1:]...)
				break
			}
		}
		return
	}
	hostPoller.mu.Lock()
	defer hostPoller.mu.Unlock()
	ps.leaveLocked(e)
}

// leaveLocked takes e out of its registrations, which end with their last wait. Called
// with hostPoller.mu held.
func (ps *parkSet) leaveLocked(e *parkEntry) {
	for i, r := range e.regs {
		r.parksDead++
		if !r.gone && r.parksDead == len(r.parks)/2+1 {
			ps.dirty = append(ps.dirty, r)
		}
		r.leave(e.events[i])
	}
}

// compact drops the ended waits from the registrations that have many.
func (ps *parkSet) compact() {
	if len(ps.dirty) == 0 {
		return
	}
	hostPoller.mu.Lock()
	defer hostPoller.mu.Unlock()
	for _, r := range ps.dirty {
		if r.gone {
			continue
		}
		live := r.parks[:0]
		for _, e := range r.parks {
			if !e.ended {
				live = append(live, e)
			}
		}
		clear(r.parks[len(live):])
		r.parks, r.parksDead = live, 0
	}
	clear(ps.dirty)
	ps.dirty = ps.dirty[:0]
}

// close ends the registrations with the process.
func (ps *parkSet) close() {
	if ps.set == nil {
		return
	}
	hostPoller.mu.Lock()
	for _, r := range ps.set.regs {
		r.end()
	}
	hostPoller.mu.Unlock()
	unix.Close(ps.set.epfd)
	ps.set = nil
}

// readyRegs are the registrations whose files the host says are ready now.
func (ps *parkSet) readyRegs() []*pollReg {
	if ps.set == nil {
		return nil
	}
	hostPoller.mu.Lock()
	n := len(ps.set.regs)
	hostPoller.mu.Unlock()
	if n == 0 {
		return nil
	}
	// Room for every registration: a level-triggered set answers the same entries
	// again when asked twice.
	if len(ps.buf) < n {
		ps.buf = make([]unix.EpollEvent, max(n, 2*len(ps.buf), 16))
	}
	var got int
	for {
		var err error
		got, err = unix.EpollWait(ps.set.epfd, ps.buf, 0)
		if err != unix.EINTR {
			if err != nil {
				return nil
			}
			break
		}
	}
	var ready []*pollReg
	hostPoller.mu.Lock()
	defer hostPoller.mu.Unlock()
	for _, ev := range ps.buf[:got] {
		id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		if r := ps.set.ids[id]; r != nil {
			r.revents, r.checked = ev.Events, ps.changes
			ready = append(ready, r)
		}
	}
	return ready
}

// parkCursor walks one registration's parked waits (or the loose ones), in the order
// they parked.
type parkCursor struct {
	r    *pollReg // nil: the loose waits
	list []*parkEntry
	i    int
}

func (c *parkCursor) entries() []*parkEntry {
	if c.r != nil {
		return c.r.parks
	}
	return c.list
}

// head skips the ended waits; false when none is left.
func (c *parkCursor) head() (*parkEntry, bool) {
	l := c.entries()
	for c.i < len(l) && l[c.i].ended {
		c.i++
	}
	if c.i >= len(l) {
		return nil, false
	}
	return l[c.i], true
}

type parkCursors []*parkCursor

func (h parkCursors) Len() int { return len(h) }
func (h parkCursors) Less(i, j int) bool {
	a, aok := h[i].head()
	b, bok := h[j].head()
	return aok && (!bok || a.seq < b.seq)
}
func (h parkCursors) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *parkCursors) Push(x any)   { *h = append(*h, x.(*parkCursor)) }
func (h *parkCursors) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// pollParked ends the parked waits whose fds are ready, in the order they parked; it
// reports whether any ended.
func (p *Process) pollParked() bool {
	ended := false
	if ps := &p.parks; ps.live > 0 {
		ps.compact()
		ended = p.endReady()
	}
	return p.aioPollParked() || ended
}

// endReady is pollParked for the waits on files.
func (p *Process) endReady() bool {
	ps := &p.parks
	var cs parkCursors
	for _, r := range ps.readyRegs() {
		c := &parkCursor{r: r}
		if _, ok := c.head(); ok {
			cs = append(cs, c)
		}
	}
	if len(ps.loose) > 0 {
		c := &parkCursor{list: append([]*parkEntry(nil), ps.loose...)}
		if _, ok := c.head(); ok {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return false
	}
	heap.Init(&cs)
	last := ps.seq // waits parked from here on wait for the next turn
	seen := map[*parkEntry]bool{}
	ended := false
	for len(cs) > 0 {
		c := cs[0]
		e, ok := c.head()
		if !ok {
			heap.Pop(&cs)
			continue
		}
		c.i++
		if _, ok := c.head(); ok {
			heap.Fix(&cs, 0)
		} else {
			heap.Pop(&cs)
		}
		if e.seq > last || seen[e] {
			continue
		}
		if r := c.r; r != nil {
			if r.checked != ps.changes {
				// A wait ended since the host answered: ask again, for this file alone.
				fds := []unix.PollFd{{Fd: int32(r.fd), Events: int16(r.events)}}
				unix.Ppoll(fds, &unix.Timespec{}, nil)
				r.revents, r.checked = uint32(uint16(fds[0].Revents)), ps.changes
			}
			if r.revents == 0 {
				p.dropCursor(&cs, c)
				continue
			}
			var want uint32
			for i, o := range e.regs {
				if o == r {
					want = e.events[i]
				}
			}
			if r.revents&(want|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
				continue // the file is ready, for other waits
			}
		}
		seen[e] = true
		t, op := e.t, e.op
		if t.state != taskBlocked || t.blocked != op {
			p.unpark(op.wait) // its thread is gone
			continue
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
		ps.changes++
		ended = true
	}
	return ended
}

// dropCursor takes c out of cs: its file is not ready.
func (p *Process) dropCursor(cs *parkCursors, c *parkCursor) {
	for i, o := range *cs {
		if o == c {
			heap.Remove(cs, i)
			return
		}
	}
}

// parkedFds are what idle waits on for the parked waits: the process's epoll instance,
// the loose waits' fds and the waiting asynchronous requests'.
func (p *Process) parkedFds() []unix.PollFd {
	var fds []unix.PollFd
	if ps := &p.parks; ps.set != nil {
		hostPoller.mu.Lock()
		n := len(ps.set.regs)
		hostPoller.mu.Unlock()
		if n > 0 {
			fds = append(fds, unix.PollFd{Fd: int32(ps.set.epfd), Events: unix.POLLIN})
		}
	}
	for _, e := range p.parks.loose {
		fds = append(fds, e.op.wait.fds...)
	}
	return append(fds, p.aioParkedFds()...)
}
