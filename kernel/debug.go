package kernel

import (
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// The debugging interface: a debugger (the gdb stub) stops and resumes the first
// process, reads and writes its threads' registers and its memory, and sets breakpoints,
// watchpoints and system call catches. The process's own goroutine does all of it: while
// the process is stopped, its run loop serves the debugger's requests (hold), so that
// the engine is only ever driven from one goroutine. Stops follow ptrace's: before the
// first instruction, at each signal before it is delivered (the debugger decides whether
// it is), at breakpoints, watchpoints and steps, at caught system calls' entry and
// return, and after an exec. A forked child is not debugged. A guest process that traces
// another with ptrace(2) drives the same stops (ptrace.go).

// BreakKind is the kind of a breakpoint, numbered as in gdb's Z packets.
type BreakKind int

// Breakpoints and watchpoints.
const (
	SoftwareBreak BreakKind = iota
	HardwareBreak
	WriteWatch
	ReadWatch
	AccessWatch
)

// ResumeKind is what a thread does when the process resumes.
type ResumeKind int

// Resume kinds.
const (
	Continue ResumeKind = iota
	Step
)

// DebugAction says how one thread resumes: Tid -1 for every thread.
type DebugAction struct {
	Kind   ResumeKind
	Tid    int
	Signal int // delivered as the thread resumes; 0 for none
}

// StopKind says why a debugged process stopped.
type StopKind int

// Stop reasons.
const (
	Signalled     StopKind = iota // a signal (SIGTRAP for breakpoints, steps and watchpoints)
	SyscallEntry                  // a caught system call starts
	SyscallReturn                 // a caught system call returns
	Exec                          // the process ran a new program
	Exited                        // the process exited with Code
	Killed                        // the process was ended by Signal
)

// DebugStop is one stop of the debugged process.
type DebugStop struct {
	Kind   StopKind
	Tid    int
	Signal int    // Signalled, Killed
	Code   int    // Exited
	Nr     uint64 // SyscallEntry, SyscallReturn
	Event  int    // for a tracer: the PTRACE_EVENT_* of the stop, 0 for none

	// For a SIGTRAP: the breakpoint or watchpoint hit.
	Break     BreakKind
	BreakHit  bool
	WatchAddr uint64
}

// ErrNotStopped is returned by requests made while the process runs or after it ended.
var ErrNotStopped = errors.New("the debugged process is not stopped")

// errNoThread is returned for a thread the process does not have.
var errNoThread = errors.New("no such thread")

type debugCtl int

const (
	ctlInterrupt debugCtl = iota
	ctlKill
	ctlDetach
)

// Debugger debugs one process; its methods are safe from the debugger's goroutine.
type Debugger struct {
	p     *Process
	pid   int
	first DebugStop
	reqs  chan func()
	ctl   chan debugCtl
	stops chan DebugStop
	gone  chan struct{} // closed when the process has ended

	// Owned by the process's goroutine.
	breaks    map[uint64]map[BreakKind]int
	watches   []debugWatch
	catchAll  bool
	catchNrs  map[uint64]bool
	tasks     map[*Task]*debugTask
	stepTid   int          // the thread to step on the next run (the gdb stub's)
	only      bool         // only stepTid may run
	steps     map[int]bool // a tracer's threads to step, each on its next run
	release   bool         // hold returns: the debugger resumed or went away
	intr      bool         // stop at the next chance, as by SIGINT
	intrTid   int          // with intr, a tracer's PTRACE_INTERRUPT: the thread to stop (0: any)
	detached  bool
	actions   []DebugAction
	siginfo   map[int]abi.Siginfo // of each thread's last stop
	sigStop   *Task               // the thread in a signal-delivery stop
	sys       *sysOverlay         // the thread stopped at a system call
	pt        *ptraceLink         // the guest tracer's link, when ptrace made this (ptrace.go)
	parked    int                 // threads in a tracer's stop
	releasing []*parkedStop       // stops the tracer resumed, to end after its request
	ending    bool                // the process ends: its threads' PTRACE_EVENT_EXIT stops
	ended     []*Task             // threads resumed from those stops, to end
	left      chan struct{}       // closed at detach
}

// debugTask is a thread's debugging state.
type debugTask struct {
	entered   bool   // the call at rip was reported at entry: run it this time
	retNr     uint64 // with retPending: the call whose return to report
	retPend   bool
	execPend  bool
	stepPend  bool   // a step ended: report it before the thread runs again
	handlerPn bool   // a step delivered a signal to a handler: stop at its entry
	entryRax  uint64 // rax a tracer left at the entry stop: a skipped call's result
	vforkPend bool   // a vfork child released the thread: PTRACE_EVENT_VFORK_DONE
	vforkPid  int
	startStop bool // a new thread of a seized tracee: PTRACE_EVENT_STOP before it runs
	groupPend bool // a tracer's group-stop: the thread stops before it runs again
	intrPend  bool // a tracer's PTRACE_INTERRUPT: the thread stops before it runs again
}

type debugWatch struct {
	addr, size uint64
	kind       BreakKind
}

// sysOverlay is what ptrace shows of a thread stopped at a system call that the
// engine's registers do not: rax -ENOSYS at entry, orig_rax, rip after the instruction.
type sysOverlay struct {
	t     *Task
	nr    uint64
	entry bool
}

// Debug makes the process t belongs to (the first one, just made by Exec) debugged:
// it stops before its first instruction until the debugger resumes it.
func (k *Kernel) Debug(t *Task) *Debugger {
	d := newDebugger(t.p)
	d.first = DebugStop{Kind: Signalled, Signal: abi.SIGTRAP, Tid: t.tid}
	d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SI_USER}
	k.pt.mu.Lock()
	t.p.gdb = true
	k.pt.mu.Unlock()
	return d
}

// newDebugger makes p debugged, on p's run loop (or before it runs).
func newDebugger(p *Process) *Debugger {
	d := &Debugger{p: p, pid: p.pid, reqs: make(chan func()), ctl: make(chan debugCtl, 8),
		stops: make(chan DebugStop, 1), gone: make(chan struct{}), left: make(chan struct{}),
		breaks: map[uint64]map[BreakKind]int{}, tasks: map[*Task]*debugTask{}, siginfo: map[int]abi.Siginfo{}}
	p.dbg = d
	// Every system call must reach the entry, for catches.
	p.cpu.ClearFast(abi.SYS_GETPID)
	p.cpu.ClearFast(abi.SYS_GETTID)
	// Interrupting guest code needs the block hook (see Engine.Kick).
	p.needHook()
	return d
}

// FirstStop is the stop the process is in before its first instruction.
func (d *Debugger) FirstStop() DebugStop { return d.first }

// Pid is the debugged process's id.
func (d *Debugger) Pid() int { return d.pid }

// call runs f in the process's goroutine while the process is stopped.
func (d *Debugger) call(f func() error) error {
	if d.pt != nil {
		return d.callParked(f)
	}
	done := make(chan error, 1)
	select {
	case d.reqs <- func() { done <- f() }:
		return <-done
	case <-d.gone:
		return ErrNotStopped
	case <-d.left:
		return ErrNotStopped
	}
}

func (d *Debugger) task(t *Task) *debugTask {
	dt := d.tasks[t]
	if dt == nil {
		dt = &debugTask{}
		d.tasks[t] = dt
	}
	return dt
}

// Threads lists the live threads, the first one first.
func (d *Debugger) Threads() []int {
	var tids []int
	d.call(func() error {
		for _, t := range d.p.tasks {
			if t.state != taskDead {
				tids = append(tids, t.tid)
			}
		}
		return nil
	})
	return tids
}

// onThread runs f with thread tid's registers in the engine.
func (d *Debugger) onThread(tid int, write bool, f func(cpu *emu.Engine) error) error {
	return d.call(func() error { return d.onThreadNow(tid, write, f) })
}

// onThreadNow is onThread on the process's goroutine.
func (d *Debugger) onThreadNow(tid int, write bool, f func(cpu *emu.Engine) error) error {
	t := d.p.thread(tid)
	if t == nil {
		return errNoThread
	}
	return d.p.onThreadRegs(t, write, f)
}

// userRegs lists the engine registers in UserRegs order, where it has them.
func userRegs(r *abi.UserRegs) ([]emu.Reg, []*uint64) {
	return []emu.Reg{emu.R15, emu.R14, emu.R13, emu.R12, emu.RBP, emu.RBX, emu.R11, emu.R10, emu.R9, emu.R8,
			emu.RAX, emu.RCX, emu.RDX, emu.RSI, emu.RDI, emu.RIP, emu.RFLAGS, emu.RSP, emu.FSBase, emu.GSBase},
		[]*uint64{&r.R15, &r.R14, &r.R13, &r.R12, &r.Rbp, &r.Rbx, &r.R11, &r.R10, &r.R9, &r.R8,
			&r.Rax, &r.Rcx, &r.Rdx, &r.Rsi, &r.Rdi, &r.Rip, &r.Eflags, &r.Rsp, &r.FsBase, &r.GsBase}
}

// Regs reads a thread's general registers as ptrace shows them.
func (d *Debugger) Regs(tid int) (abi.UserRegs, error) {
	var r abi.UserRegs
	err := d.call(func() error {
		var err error
		r, err = d.regsNow(tid)
		return err
	})
	return r, err
}

// regsNow is Regs on the process's goroutine.
func (d *Debugger) regsNow(tid int) (abi.UserRegs, error) {
	var r abi.UserRegs
	err := d.onThreadNow(tid, false, func(cpu *emu.Engine) error {
		ids, ptrs := userRegs(&r)
		vals := make([]uint64, len(ids))
		if err := cpu.Regs(ids, vals); err != nil {
			return err
		}
		for i, p := range ptrs {
			*p = vals[i]
		}
		r.Eflags &= 0xffffffff
		r.Cs, r.Ss = abi.UserCS, abi.UserDS
		r.OrigRax = ^uint64(0)
		if o := d.sysOf(tid); o != nil && o.entry {
			r.OrigRax = o.nr
			r.Rip += 2
			r.Rax = errnoRet(unix.ENOSYS) // as Linux shows it at entry
		} else if v := d.intrViewOf(tid); v != nil {
			r.OrigRax = v.nr
			r.Rip, r.Rax = v.shown(r.Rip, r.Rax)
		} else if o != nil {
			r.OrigRax = o.nr
		}
		return nil
	})
	return r, err
}

// sysOf is what thread tid's stop shows of a system call, when it stopped at one.
func (d *Debugger) sysOf(tid int) *sysOverlay {
	if o := d.sys; o != nil && o.t.tid == tid {
		return o
	}
	if t := d.p.thread(tid); t != nil && t.ptParked != nil {
		return t.ptParked.sys
	}
	return nil
}

// intrViewOf is what thread tid's stop shows of the call a signal or PTRACE_INTERRUPT
// ended, if one did and the thread has not run since: at the call's exit stop and at the
// signal-delivery, group or PTRACE_EVENT_STOP stop after it, as on Linux, where the
// restart comes after get_signal().
func (d *Debugger) intrViewOf(tid int) *intrView {
	t := d.p.thread(tid)
	if t == nil || t.intrView == nil {
		return nil
	}
	if o := d.sysOf(tid); o != nil && o.entry {
		return nil
	}
	return t.intrView
}

// sigStopped says whether t is in a signal-delivery stop.
func (d *Debugger) sigStopped(t *Task) bool {
	return t != nil && (d.sigStop == t || t.ptParked != nil && t.ptParked.sig)
}

// SetRegs writes a thread's general registers; selectors and orig_rax stay as they are.
func (d *Debugger) SetRegs(tid int, r *abi.UserRegs) error {
	w := *r
	return d.onThread(tid, true, func(cpu *emu.Engine) error {
		if o := d.sysOf(tid); o != nil && o.entry {
			if d.pt != nil {
				// A tracer chooses the call by orig_rax; rax is the result of one it
				// skips (orig_rax -1 or any number without a call).
				o.nr = w.OrigRax
				d.task(o.t).entryRax = w.Rax
			}
			w.Rip -= 2
			w.Rax = o.nr // the call still to run
		} else if v := d.intrViewOf(tid); v != nil {
			// The registers as shown, written back, leave the call as it was; others
			// replace it.
			rip, rax := cpu.Reg(emu.RIP), cpu.Reg(emu.RAX)
			if sr, sa := v.shown(rip, rax); w.Rip == sr && w.Rax == sa {
				w.Rip, w.Rax = rip, rax
			} else {
				d.p.thread(tid).intrView = nil
			}
		}
		ids, ptrs := userRegs(&w)
		vals := make([]uint64, len(ids))
		for i, p := range ptrs {
			vals[i] = *p
		}
		return cpu.SetRegs(ids, vals)
	})
}

// FPRegs reads a thread's x87 and SSE state as an FXSAVE image.
func (d *Debugger) FPRegs(tid int) ([abi.FXSaveSize]byte, error) {
	var img [abi.FXSaveSize]byte
	err := d.onThread(tid, false, func(cpu *emu.Engine) error {
		var err error
		img, err = cpu.FXSave()
		return err
	})
	return img, err
}

// SetFPRegs writes a thread's x87 and SSE state from an FXSAVE image.
func (d *Debugger) SetFPRegs(tid int, img *[abi.FXSaveSize]byte) error {
	return d.onThread(tid, true, func(cpu *emu.Engine) error { return cpu.FXRestore(img) })
}

// ReadMemory copies memory the process can read, up to the first page it cannot.
func (d *Debugger) ReadMemory(addr uint64, b []byte) (int, error) {
	n := 0
	err := d.call(func() error {
		for n < len(b) {
			a := addr + uint64(n)
			chunk := min(len(b)-n, int(mm.PageSize-a%mm.PageSize))
			if err := d.p.mm.CopyIn(mm.Addr(a), b[n:n+chunk]); err != nil {
				return err
			}
			n += chunk
		}
		return nil
	})
	return n, err
}

// WriteMemory writes guest memory whatever its protection, as ptrace's POKEDATA does,
// and drops code translated from it.
func (d *Debugger) WriteMemory(addr uint64, b []byte) (int, error) {
	n := 0
	err := d.call(func() error {
		if addr+uint64(len(b)) < addr || addr+uint64(len(b)) > uint64(mm.TaskSize) || !d.p.mm.Mapped(mm.Addr(addr), mm.Addr(addr+uint64(len(b)))) {
			return errors.New("unmapped")
		}
		if err := d.p.mm.Write(mm.Addr(addr), b); err != nil {
			return err
		}
		d.p.cpu.FlushCode(addr, addr+uint64(len(b)))
		n = len(b)
		return nil
	})
	return n, err
}

// AddBreak sets a breakpoint (at an executable address) or a watchpoint.
func (d *Debugger) AddBreak(kind BreakKind, addr uint64, size int) error {
	return d.call(func() error {
		p := d.p
		switch kind {
		case SoftwareBreak, HardwareBreak:
			v := p.mm.Lookup(mm.Addr(addr))
			if v == nil || v.Prot&emu.ProtExec == 0 {
				return errors.New("no code there")
			}
			if len(d.breaks[addr]) == 0 {
				if err := p.cpu.AddBreak(addr); err != nil {
					return err
				}
				d.breaks[addr] = map[BreakKind]int{}
			}
			d.breaks[addr][kind]++
		case WriteWatch, ReadWatch, AccessWatch:
			if size <= 0 || addr+uint64(size) < addr {
				return errors.New("bad watch range")
			}
			if err := p.cpu.AddWatch(addr, uint64(size), kind != ReadWatch, kind != WriteWatch); err != nil {
				return err
			}
			d.watches = append(d.watches, debugWatch{addr, uint64(size), kind})
		default:
			return errors.New("unknown breakpoint kind")
		}
		return nil
	})
}

// RemoveBreak clears what AddBreak set with the same arguments.
func (d *Debugger) RemoveBreak(kind BreakKind, addr uint64, size int) error {
	return d.call(func() error {
		p := d.p
		switch kind {
		case SoftwareBreak, HardwareBreak:
			m := d.breaks[addr]
			if m[kind] == 0 {
				return nil
			}
			if m[kind]--; m[kind] == 0 {
				delete(m, kind)
			}
			if len(m) == 0 {
				delete(d.breaks, addr)
				p.cpu.RemoveBreak(addr)
			}
		default:
			for i, w := range d.watches {
				if w == (debugWatch{addr, uint64(size), kind}) {
					d.watches = append(d.watches[:i], d.watches[i+1:]...)
					p.cpu.RemoveWatch(addr, uint64(size), kind != ReadWatch, kind != WriteWatch)
					break
				}
			}
		}
		return nil
	})
}

// CatchSyscalls stops at the entry and return of the calls nrs, or of all with all.
func (d *Debugger) CatchSyscalls(all bool, nrs []uint64) {
	d.call(func() error {
		d.catchAll = all
		d.catchNrs = nil
		if len(nrs) > 0 {
			d.catchNrs = map[uint64]bool{}
			for _, nr := range nrs {
				d.catchNrs[nr] = true
			}
		}
		return nil
	})
}

func (d *Debugger) catching(nr uint64) bool { return d.catchAll || d.catchNrs[nr] }

// catchingFor is catching for thread t's call nr: a tracer asks for system call stops
// thread by thread (PTRACE_SYSCALL or PTRACE_CONT at each thread's last restart).
func (d *Debugger) catchingFor(t *Task, nr uint64) bool {
	if d.pt != nil {
		return d.pt.sysTrace[t.tid]
	}
	return d.catching(nr)
}

// Resume lets the process run as the actions say.
func (d *Debugger) Resume(acts []DebugAction) error {
	return d.call(func() error {
		d.resume(acts)
		return nil
	})
}

// resume is Resume on the process's goroutine.
func (d *Debugger) resume(acts []DebugAction) {
	if d.pt != nil {
		d.resumeThreads(acts)
		return
	}
	d.actions = acts
	d.stepTid, d.only = 0, false
	all := false
	for _, a := range acts {
		if a.Tid == -1 {
			all = true
		}
	}
	for _, a := range acts {
		t := d.p.thread(a.Tid)
		if a.Tid == -1 && a.Kind == Step {
			t = d.p.cur
		}
		if t == nil {
			continue
		}
		if a.Kind == Step && d.stepTid == 0 {
			// A tracer's step leaves the other threads as they are.
			d.stepTid, d.only = t.tid, !all && d.pt == nil
		}
		if a.Signal != 0 && t != d.sigStop {
			// Not a signal-delivery stop: the signal is sent to the thread.
			d.p.queueSignal(t, abi.Siginfo{Signo: int32(a.Signal), Code: abi.SI_USER, Pid: int32(d.pid)})
		}
	}
	d.release = true
}

// resumeThreads is resume for a tracer, whose requests each resume one thread: a
// parked one, or the process held whole (at its exit event). A step leaves the other
// threads as they are.
func (d *Debugger) resumeThreads(acts []DebugAction) {
	for _, a := range acts {
		t := d.p.thread(a.Tid)
		if t == nil {
			continue
		}
		if a.Kind == Step {
			if d.steps == nil {
				d.steps = map[int]bool{}
			}
			d.steps[t.tid] = true
		} else {
			delete(d.steps, t.tid)
		}
		if a.Signal != 0 && !d.sigStopped(t) {
			// Not a signal-delivery stop: the signal is sent to the thread.
			d.p.queueSignal(t, abi.Siginfo{Signo: int32(a.Signal), Code: abi.SI_USER, Pid: int32(d.pid)})
		}
		if !d.releaseStop(t, a) {
			d.actions, d.release = acts, true
		}
	}
}

// stepping says whether t runs one instruction on its next run.
func (d *Debugger) stepping(t *Task) bool { return d.stepTid == t.tid || d.steps[t.tid] }

// stepEnd ends t's step.
func (d *Debugger) stepEnd(t *Task) {
	if d.stepTid == t.tid {
		d.stepTid, d.only = 0, false
	}
	delete(d.steps, t.tid)
}

// actionFor returns the action for thread t.
func (d *Debugger) actionFor(t *Task) (DebugAction, bool) {
	for _, a := range d.actions {
		if a.Tid == t.tid || a.Tid == -1 {
			return a, true
		}
	}
	return DebugAction{}, false
}

// Stops delivers the process's stops after Resume.
func (d *Debugger) Stops() <-chan DebugStop { return d.stops }

// Interrupt stops the running process as soon as it can, as SIGINT from a terminal.
func (d *Debugger) Interrupt() { d.control(ctlInterrupt) }

// Kill ends the process with SIGKILL.
func (d *Debugger) Kill() { d.control(ctlKill) }

// Detach removes every breakpoint and catch and lets the process run on.
func (d *Debugger) Detach() { d.control(ctlDetach) }

func (d *Debugger) control(c debugCtl) {
	select {
	case d.ctl <- c:
	case <-d.gone:
		return
	}
	// Wake the run loop: idle waits on its messages, guest code stops at a block.
	d.p.send(wakeup{fn: func() {}})
	d.p.kick.Load().Kick()
}

// Siginfo is the siginfo of the signal thread tid last stopped with.
func (d *Debugger) Siginfo(tid int) ([]byte, bool) {
	var b []byte
	err := d.call(func() error {
		info, ok := d.siginfo[tid]
		if !ok {
			return errNoThread
		}
		b = make([]byte, abi.SiginfoSize)
		info.Marshal(b)
		return nil
	})
	return b, err == nil
}

// Auxv is the auxiliary vector, as /proc/PID/auxv has it.
func (d *Debugger) Auxv() []byte {
	var b []byte
	d.call(func() error {
		for _, a := range d.p.auxv {
			b = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, a.Type), a.Val)
		}
		b = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, 0), 0)
		return nil
	})
	return b
}

// ExecFile is the host path of the program the process runs.
func (d *Debugger) ExecFile() string {
	var s string
	d.call(func() error { s = d.p.exe; return nil })
	return s
}

// Maps is the process's memory map, as /proc/PID/maps shows it.
func (d *Debugger) Maps() string {
	var s string
	d.call(func() error { s = d.p.maps(); return nil })
	return s
}

// takeControl acts on the debugger's control messages; it runs in the process's goroutine.
func (d *Debugger) takeControl() {
	for {
		select {
		case c := <-d.ctl:
			switch c {
			case ctlInterrupt:
				d.intr = true
			case ctlKill:
				p := d.p
				if p.exit == nil {
					p.exit = &ExitStatus{Signal: abi.SIGKILL}
				}
				p.stop = true
				d.detach()
			case ctlDetach:
				d.detach()
			}
		default:
			return
		}
	}
}

// detach forgets every breakpoint, watchpoint and catch; the process runs on alone.
func (d *Debugger) detach() {
	p := d.p
	if d.pt != nil {
		d.detached = true
		d.unparkAll()
	}
	for addr := range d.breaks {
		p.cpu.RemoveBreak(addr)
	}
	for _, w := range d.watches {
		p.cpu.RemoveWatch(w.addr, w.size, w.kind != ReadWatch, w.kind != WriteWatch)
	}
	p.cpu.SetStep(false)
	d.breaks, d.watches = map[uint64]map[BreakKind]int{}, nil
	d.catchAll, d.catchNrs = false, nil
	d.detached, d.release = true, true
	if p.dbg == d {
		p.dbg = nil
		if d.pt == nil {
			p.k.pt.mu.Lock()
			p.gdb = false
			p.k.pt.mu.Unlock()
		}
		p.setFastCalls()
		p.publishFatal()
	}
	if l := d.pt; l != nil {
		l.unlink()
		for _, t := range p.tasks {
			t.jobStop = false // the process's stop, if any, stops them now
		}
		switch {
		case l.groupSig == 0 || p.exit != nil || d.ending || p.doomed.Load() != 0:
		case l.groupDone && p.stopAgain():
			// The group-stop is still in effect, and was reported: the process stays
			// stopped.
		default:
			// The group-stop is still in effect: the process stops.
			p.stopProcess(abi.Siginfo{Signo: int32(l.groupSig), Code: abi.SI_USER, Pid: int32(l.tracerPid)})
		}
	}
	select {
	case <-d.left:
	default:
		close(d.left)
	}
}

// hold stops for the debugger with st: for a guest tracer, the thread st names parks
// (ptstop.go); else the whole process holds.
func (d *Debugger) hold(st DebugStop, report bool) { d.holdThen(st, report, nil) }

// holdThen is hold, then then (seen false: a tracer went away before it saw the stop)
// once the debugger resumed the thread.
func (d *Debugger) holdThen(st DebugStop, report bool, then func(seen bool)) {
	if d.pt != nil {
		if d.pt.untraced[st.Tid] {
			// A thread its tracer detached alone goes on as if untraced.
			d.sys, d.sigStop = nil, nil
			if then != nil {
				then(false)
			}
			return
		}
		if t := d.p.thread(st.Tid); t != nil && t.ptParked == nil && !d.detached {
			d.park(t, st, then)
			return
		}
	}
	d.holdAll(st, report)
	if then != nil {
		then(true)
	}
}

// holdAll reports st (unless it is the stop the debugger already knows) and serves the
// debugger's requests until it resumes the process, detaches or kills it.
func (d *Debugger) holdAll(st DebugStop, report bool) {
	p := d.p
	if report {
		select {
		case d.stops <- st:
		default: // nobody waits for stops any more
		}
	}
	d.release, d.intr = false, false
	if d.pt != nil {
		d.pt.stopped(st)
		defer d.pt.resumed(st.Tid)
	}
	// A fatal signal from outside (SIGTERM to vemu) still ends a stopped process: say
	// which would, for the senders (a guest tracer's tracee: SIGKILL only).
	p.publishFatal()
	for !d.release && !d.detached && p.exit == nil {
		select {
		case f := <-d.reqs:
			f()
		case c := <-d.ctl:
			if c != ctlInterrupt { // already stopped
				d.ctl <- c
				d.takeControl()
			}
		case w := <-p.wake:
			// Messages from other goroutines still arrive (a blocked call's end, a
			// signal from outside): taken now, acted on when the process runs; but a
			// signal that ends the process ends it now, stopped or not.
			p.onWake(w)
		case <-p.done:
			d.release = true
		}
		if p.doomed.Load() != 0 {
			break // killed from outside: the run loop ends the process
		}
	}
	d.sys, d.sigStop = nil, nil
}

// stopTrap stops t with SIGTRAP and the si_code of why.
func (d *Debugger) stopTrap(t *Task, code int32, st DebugStop) {
	d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: code}
	st.Kind, st.Tid, st.Signal = Signalled, t.tid, abi.SIGTRAP
	d.hold(st, true)
}

// signalStop is a signal-delivery stop: the debugger sees info before t gets it, and
// says on resuming which signal t gets instead (ok false: none), to then.
func (d *Debugger) signalStop(t *Task, info abi.Siginfo, then func(abi.Siginfo, bool)) {
	d.siginfo[t.tid] = info
	d.sigStop = t
	d.holdThen(DebugStop{Kind: Signalled, Tid: t.tid, Signal: int(info.Signo)}, true, func(seen bool) {
		then(d.signalDecision(t, info, seen))
	})
}

// beforeRun reports what waits to be reported about t, about to run; true when it
// stopped (the run loop then looks at everything again).
func (d *Debugger) beforeRun(t *Task) bool {
	d.takeControl()
	if d.p.dbg != d {
		return false
	}
	dt := d.task(t)
	switch {
	case dt.startStop:
		dt.startStop = false
		d.interruptStop(t)
	case dt.intrPend:
		dt.intrPend = false
		d.interruptStop(t)
	case d.intr && (d.intrTid == 0 || d.intrTid == t.tid || d.p.thread(d.intrTid) == nil):
		d.intr, d.intrTid = false, 0
		d.interruptStop(t)
	case dt.execPend:
		dt.execPend = false
		d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SI_USER}
		if d.pt != nil {
			d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SIGTRAP | abi.PTRACE_EVENT_EXEC<<8, Pid: int32(t.p.pid)}
		}
		d.hold(DebugStop{Kind: Exec, Tid: t.tid, Event: abi.PTRACE_EVENT_EXEC}, true)
	case dt.vforkPend:
		// Before the vfork's exit stop, as Linux's kernel_clone() reports it.
		dt.vforkPend = false
		d.pt.setEventMsg(t.tid, uint64(dt.vforkPid))
		d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SIGTRAP | abi.PTRACE_EVENT_VFORK_DONE<<8, Pid: int32(t.p.pid)}
		d.hold(DebugStop{Kind: Signalled, Tid: t.tid, Signal: abi.SIGTRAP, Event: abi.PTRACE_EVENT_VFORK_DONE}, true)
	case dt.retPend:
		// A step over the call ends with its return stop, as under ptrace.
		dt.retPend, dt.stepPend = false, false
		d.sys = &sysOverlay{t: t, nr: dt.retNr}
		d.siginfo[t.tid] = d.syscallSiginfo(t)
		d.hold(DebugStop{Kind: SyscallReturn, Tid: t.tid, Nr: dt.retNr}, true)
	case dt.stepPend || dt.handlerPn:
		dt.stepPend, dt.handlerPn = false, false
		if d.pt != nil {
			t.hwState().dr6 = dr6Step // as Linux's virtual DR6 after a step
		}
		d.stopTrap(t, abi.TRAP_TRACE, DebugStop{})
	default:
		// The per-instruction hook stays between steps: installing it costs a flush of
		// the translated code.
		t.p.cpu.SetStep(d.stepping(t))
		return false
	}
	return true
}

// idleStop takes an interrupt while no thread can run: the stop names the current
// thread, or the first.
func (d *Debugger) idleStop() bool {
	d.takeControl()
	if d.p.dbg != d || !d.intr || len(d.p.tasks) == 0 {
		return false
	}
	var t *Task
	for _, o := range append([]*Task{d.p.thread(d.intrTid), d.p.cur}, d.p.tasks...) {
		if o != nil && o.state != taskDead && !d.p.ptStopped(o) {
			t = o
			break
		}
	}
	if t == nil {
		return false // every thread is stopped: the interrupt waits for one to run
	}
	if op := t.blocked; d.pt != nil && t.state == taskBlocked && op != nil && op.intr != intrNever {
		// A call that began after PTRACE_INTERRUPT's message: it ends first, as
		// signal_wake_up() ends it on Linux, and the thread stops once it has.
		t.interruptCall()
		return false
	}
	d.intr, d.intrTid = false, 0
	d.interruptStop(t)
	return true
}

// interruptStop is the stop an interrupt asked for: SIGINT for gdb, a tracer's
// PTRACE_INTERRUPT's PTRACE_EVENT_STOP.
func (d *Debugger) interruptStop(t *Task) {
	if d.pt != nil {
		d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SIGTRAP | abi.PTRACE_EVENT_STOP<<8, Pid: int32(t.p.pid)}
		d.hold(DebugStop{Kind: Signalled, Tid: t.tid, Signal: abi.SIGTRAP, Event: abi.PTRACE_EVENT_STOP}, true)
		return
	}
	d.siginfo[t.tid] = abi.Siginfo{Signo: abi.SIGINT, Code: abi.SI_KERNEL}
	d.hold(DebugStop{Kind: Signalled, Tid: t.tid, Signal: abi.SIGINT}, true)
}

// pick is the thread the debugger wants run next, if it wants one: a thread with a
// stop to report, or the one being stepped. none says no thread may run.
func (d *Debugger) pick() (t *Task, none bool) {
	for _, o := range d.p.tasks {
		if dt := d.tasks[o]; dt != nil && o.state == taskRunnable && !d.p.ptStopped(o) && (dt.execPend || dt.vforkPend || dt.retPend || dt.stepPend || dt.handlerPn || d.steps[o.tid]) {
			return o, false
		}
	}
	if d.stepTid != 0 {
		if o := d.p.thread(d.stepTid); o != nil && o.state == taskRunnable && !d.p.ptStopped(o) {
			return o, false
		}
		return nil, d.only
	}
	return nil, false
}

// afterRun looks at what a run of t did while it was being stepped; false means the
// event belongs to the next instruction and must not be acted on now.
func (d *Debugger) afterRun(t *Task, ev emu.Event) bool {
	if !d.stepping(t) {
		return true
	}
	stepped := d.p.cpu.Stepped()
	switch {
	case ev.Kind == emu.Fault && ev.Access == emu.Fetch && stepped:
		// A jump or call to code that cannot be fetched completed: as under ptrace, the
		// step ends at its target; the fault comes with the next instruction. (From
		// there, a step into the vsyscall page is emulated and then runs the next
		// instruction, as Linux does.)
		d.p.cpu.SetReg(emu.RIP, ev.Addr)
		d.stepDone(t)
		return false
	case (ev.Kind == emu.Debug && ev.Reason != emu.WatchHit) || (ev.Kind == emu.Stopped && stepped):
		// The instruction ran (a system call may still wait: the stop comes when the
		// thread runs again, with its result).
		d.stepDone(t)
	}
	return true
}

func (d *Debugger) stepDone(t *Task) {
	d.task(t).stepPend = true
	d.stepEnd(t)
}

// onDebug handles a breakpoint or watchpoint hit.
func (d *Debugger) onDebug(t *Task, ev emu.Event) {
	if d.stepping(t) && ev.Reason != emu.WatchHit {
		return // afterRun reports the step
	}
	switch ev.Reason {
	case emu.BreakHit:
		kind := SoftwareBreak
		if m := d.breaks[ev.Addr]; m[SoftwareBreak] == 0 && m[HardwareBreak] > 0 {
			kind = HardwareBreak
		}
		code := int32(abi.SI_KERNEL)
		if kind == HardwareBreak {
			code = trapHWBkpt
		}
		d.stopTrap(t, code, DebugStop{BreakHit: true, Break: kind})
	case emu.WatchHit:
		st := DebugStop{BreakHit: true, Break: WriteWatch, WatchAddr: ev.Addr}
		for _, w := range d.watches {
			if ev.Addr+8 > w.addr && ev.Addr < w.addr+w.size {
				if ev.Access == emu.Write && w.kind == ReadWatch {
					continue
				}
				if ev.Access == emu.Read && w.kind == WriteWatch {
					continue
				}
				st.Break = w.kind
				st.WatchAddr = max(ev.Addr, w.addr)
				break
			}
		}
		d.stepEnd(t)
		d.stopTrap(t, trapHWBkpt, st)
	case emu.StepDone:
	}
}

// trapHWBkpt is si_code TRAP_HWBKPT.
const trapHWBkpt = 4

// syscallEntry is called by the SYSCALL entry for a caught call: it reports the entry,
// and the instruction runs again after the stop (onSyscall then lets it run).
func (d *Debugger) syscallEntry(t *Task, s *emu.Syscall) {
	d.entryStop(t, s, d.syscallSiginfo, DebugStop{Kind: SyscallEntry, Tid: t.tid, Nr: s.Nr})
}

// entryStop stops t at the entry of its call s, with the call's registers as its entry
// stop shows them and the siginfo info gives; the instruction runs again after the stop,
// and onSyscall then lets it run with the number the debugger left in orig_rax.
func (d *Debugger) entryStop(t *Task, s *emu.Syscall, info func(*Task) abi.Siginfo, st DebugStop) {
	dt := d.task(t)
	dt.entered = true
	dt.entryRax = errnoRet(unix.ENOSYS)
	nr, rip := s.Nr, s.RIP
	s.Ret = nr // rax keeps the number for the call's second start
	s.Stop()
	t.post(func() {
		t.p.cpu.SetReg(emu.RIP, rip)
		d.sys = &sysOverlay{t: t, nr: nr, entry: true}
		d.siginfo[t.tid] = info(t)
		d.holdThen(st, true, func(seen bool) {
			if d.detached || !seen {
				dt.entered = true // it runs now without the debugger
			}
		})
	})
}

// syscallSiginfo is the siginfo of a system call stop: SIGTRAP with si_code SIGTRAP|0x80
// (for a tracer, only with PTRACE_O_TRACESYSGOOD), from the thread itself.
func (d *Debugger) syscallSiginfo(t *Task) abi.Siginfo {
	if d.pt != nil {
		return abi.Siginfo{Signo: abi.SIGTRAP, Code: int32(d.pt.syscallCode()), Pid: int32(t.p.pid), UID: t.p.creds.ruid}
	}
	return abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SIGTRAP | 0x80}
}

// syscallDone notes a caught call's end; the stop comes before t runs again.
func (d *Debugger) syscallDone(t *Task, s *emu.Syscall, nr uint64) {
	dt := d.task(t)
	dt.retPend, dt.retNr = true, nr
	s.Stop()
}

// execed notes an exec: the new program has a new engine, without breakpoints.
func (d *Debugger) execed(t *Task) {
	d.breaks, d.watches = map[uint64]map[BreakKind]int{}, nil
	dt := d.task(t)
	if d.pt == nil {
		dt.retPend = false
	}
	t.p.needHook()
	if d.pt != nil && !d.pt.execEvent(t) {
		return // a SIGTRAP instead, or nothing (ptrace.go)
	}
	dt.execPend = true
}

// exit reports the end of the process.
func (d *Debugger) exit(st ExitStatus) {
	stop := DebugStop{Kind: Exited, Code: st.Code}
	if st.Signal != 0 {
		stop = DebugStop{Kind: Killed, Signal: st.Signal}
	}
	if !d.detached && d.pt == nil {
		select {
		case d.stops <- stop:
		default:
		}
	}
	close(d.gone)
}
