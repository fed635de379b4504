package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/inject"
	"vemu/kernel/mm"
)

// kill ends the process with a fatal signal (until signals are delivered to handlers).
func (t *Task) kill(sig int, detail string) {
	p := t.p
	if p.exit == nil {
		p.exit = &ExitStatus{Signal: sig, Detail: detail}
		p.coreTask = t
		if int(p.coreInfo.Signo) != sig {
			p.coreInfo = abi.Siginfo{Signo: int32(sig), Code: abi.SI_KERNEL}
		}
	}
	p.stop = true
}

// killWith is kill for a signal whose siginfo is known (for the core file's NT_SIGINFO).
func (t *Task) killWith(info abi.Siginfo, detail string) {
	if t.p.exit == nil {
		t.p.coreInfo = info
	}
	t.kill(int(info.Signo), detail)
}

// Task is a thread of a process.
type Task struct {
	p   *Process
	cpu *emu.Engine
	tid int
	// comm is the thread's name (prctl PR_SET_NAME, /proc/.../comm) once named is set;
	// before, the program's, as exec names every process.
	comm  string
	named bool

	sigmask       uint64
	hw            *hwDebug              // the debug registers a tracer set (hwbreak.go); nil: none
	hwResume      bool                  // t stopped at an instruction breakpoint: its next run passes it
	hwResumeAt    uint64                // that breakpoint's address
	ptParked      *parkedStop           // t is in a tracer's stop (ptstop.go)
	ptThen        func()                // what waits for t's run after its stop
	ptAction      DebugAction           // how the tracer resumed t
	jobStop       bool                  // a tracee's thread its tracer does not trace, in a group-stop until SIGCONT
	ptExited      bool                  // t took its PTRACE_EVENT_EXIT stop: it ends once resumed
	affinity      *unix.CPUSet          // sched_setaffinity's mask; nil: vemu's own
	cpuNum        uint32                // the CPU getcpu reports: the first of the mask
	lastFault     sigFault              // what the last fault's frame said (Linux's thread fields)
	tls           [gdtTLSEntries]uint64 // the thread's GDT TLS entries (ldt.go)
	compat        bool                  // the call being answered came through int $0x80
	clearChildTID mm.Addr
	robustList    mm.Addr

	trace    bool
	vsyscall bool // the current call came from the vsyscall page (for the tracer)

	ctx       *emu.Context // the registers while another thread runs
	state     taskState
	posts     []func()   // run after the current system call, outside the CPU hook
	pending   *pendingOp // a system call that blocks, set by blockThen or park
	blocked   *pendingOp // the call the thread is blocked in
	intrFd    int        // eventfd for cancels + 1; 0 when not made yet
	restart   bool       // the interrupted call runs again when the thread does
	restartNr uint64     // its number
	// intrView is what a tracer sees of the call a signal interrupted, until the
	// thread runs again: Linux's registers at the signal-delivery stop (intr.go).
	intrView *intrView
	// restartBlock is what restart_syscall runs: the rest of an interrupted sleep.
	restartBlock func(t *Task) (uint64, error)
	mmapTop      mm.Addr // while an i386 mmap2 runs: its mappings go below this
	resume       *uint64 // rax to set when the thread runs again
	gen          uint64  // counts blockings, so stale wakeups are ignored
	// The run queue's links while runnable (runq.go).
	runPrev, runNext *Task
	queued           bool
	boosted          bool // it woke, and its next turn draws on the budget (wakeup.go)
	// The mask the process's counts of blocked signals hold for it (sigcount.go).
	counted    uint64
	maskQueued bool

	seccomp       seccompState // seccomp mode, filters and no_new_privs (seccomp.go)
	seccompPassed bool         // int $0x80 ran the filters before the call's own entry
	// files and fs are the thread's own descriptor table and working directory; nil:
	// the process's main ones (threadfiles.go).
	files *FDTable
	fs    *fsContext
	// seccompNotifyOn is the filter whose listener the call being entered notifies.
	seccompNotifyOn *seccompFilter
	// cpuNs is the CPU time the thread has used, charged at switches (threadcpu.go).
	cpuNs int64
	// sched is what /proc's sched and schedstat count of it (procsched.go).
	sched schedStats
	// callSP and callPC are the stack pointer and pc of the call it blocked in last,
	// for /proc's syscall (procsyscall.go).
	callSP, callPC uint64
	// seccompRecheck: the call starting again comes from a seccomp stop (seccompStop).
	seccompRecheck bool
	mempolicy      *mempolicy // set_mempolicy's; nil: the default (sys_mempolicy.go)
	mceKill        uint8      // PR_MCE_KILL's flags: mceProcess, mceEarly
	ioFlusher      bool       // PR_SET_IO_FLUSHER's
	rseq           rseqReg    // rseq(2)'s registration (rseq.go)

	fwait  *futexWaiter // its wait on a private futex
	swait  *futexWaiter // its wait on a shared futex (futex_waitv's: one of them)
	piWait *piWaiter    // the last PI futex wait (futexpi.go)

	sig taskSignals // pending signals, the alternate stack

	injCount inject.Counter // calls counted for Config.Inject's when=
	injHeld  *heldCall      // the call to run again after an injected delay
}

type taskState uint8

const (
	taskRunnable taskState = iota
	taskBlocked
	taskDead
)

// newTask adds a thread to p, with a context of its own.
func (p *Process) newTask(tid int) (*Task, error) {
	ctx, err := p.cpu.NewContext()
	if err != nil {
		return nil, err
	}
	t := &Task{p: p, cpu: p.cpu, tid: tid, trace: p.k.cfg.Strace != nil || p.k.cfg.Record != nil, ctx: ctx, cpuNum: firstCPU(hostAffinity())}
	t.sig.altFlags = abi.SS_DISABLE
	t.sig.pending.thread = true
	p.tasks = append(p.tasks, t)
	if p.byTID == nil {
		p.byTID = map[int]*Task{}
	}
	p.byTID[tid] = t
	p.live++
	p.maskStale = true // every thread blocking a signal is one fewer than all now
	p.runq.push(t)
	t.maskChanged()
	return t, nil
}

func (t *Task) newThread(flags, stack uint64, ptid, ctid mm.Addr, tls uint64) (uint64, error) {
	p := t.p
	if err := t.taskRoom(); err != nil {
		return 0, err
	}
	tid := p.k.allocPID()
	if flags&abi.CLONE_PARENT_SETTID != 0 {
		if err := p.mm.CopyOut(ptid, binary.LittleEndian.AppendUint32(nil, uint32(tid))); err != nil {
			return 0, err
		}
	}
	if flags&abi.CLONE_CHILD_SETTID != 0 {
		if err := p.mm.CopyOut(ctid, binary.LittleEndian.AppendUint32(nil, uint32(tid))); err != nil {
			return 0, err
		}
	}
	c, err := p.newTask(tid)
	if err != nil {
		return 0, unix.EAGAIN
	}
	if err := t.threadTables(c, flags); err != nil {
		c.setState(taskDead) // never ran: reaped as it is
		return 0, err
	}
	p.k.addThread(tid, p)
	c.sigmask, c.comm, c.named = t.sigmask, t.comm, t.named
	c.affinity, c.cpuNum = t.affinity, t.cpuNum
	if c.affinity != nil {
		c.publishAffinity()
	}
	c.seccomp, c.mempolicy = t.seccomp, t.mempolicy
	c.mceKill, c.ioFlusher = t.mceKill, t.ioFlusher
	c.seccomp.hold(1)
	c.tls = t.tls // as Linux copies the thread's TLS array; CLONE_SETTLS sets fs's base only
	t.inheritSignals(c, true)
	if flags&abi.CLONE_CHILD_CLEARTID != 0 {
		c.clearChildTID = ctid
	}
	c.setState(taskBlocked) // until its registers exist
	p.needHook()
	t.post(func() {
		// The parent's registers after the call: copy them as the child's, with rax 0,
		// the new stack and the new thread pointer.
		cpu := p.cpu
		var saved [3]uint64
		regs := []emu.Reg{emu.RAX, emu.RSP, emu.FSBase}
		cpu.Regs(regs, saved[:])
		cpu.SetReg(emu.RAX, 0)
		if stack != 0 {
			cpu.SetReg(emu.RSP, stack)
		}
		if flags&abi.CLONE_SETTLS != 0 {
			cpu.SetReg(emu.FSBase, tls)
		}
		cpu.Save(c.ctx)
		cpu.SetRegs(regs, saved[:])
		c.setState(taskRunnable)
		p.updatePreempt()
	})
	t.traceThread(c, flags)
	return uint64(tid), nil
}

// threadExit ends the calling thread: its robust list and PI futexes are cleaned up,
// CLONE_CHILD_CLEARTID's word is cleared and its futex woken, as Linux's mm_release does. The last thread ends the process.
func (t *Task) threadExit(code int) {
	p := t.p
	if p.live <= 1 {
		t.exitProcess(code)
		return
	}
	if d := p.dbg; d != nil {
		d.leaveGroupStop(t)
	}
	t.futexExit(true)
	if t.clearChildTID != 0 {
		if p.mm.CopyOut(t.clearChildTID, []byte{0, 0, 0, 0}) == nil {
			p.futexWake(t.clearChildTID, 1, abi.FUTEX_BITSET_MATCH_ANY)
		}
	}
	t.setState(taskDead)
	p.k.dropThread(t.tid)
	if t.tid != p.pid {
		p.piForget(t.tid)
	} else {
		p.piGone = append(p.piGone, t.tid) // still listed, as the process
	}
	p.threadGone(t.tid, (code&0xff)<<8)
	p.stop = true
	p.updatePreempt()
}

func (t *Task) exitProcess(code int) {
	if t.p.exit == nil {
		t.p.exit = &ExitStatus{Code: code}
	}
	t.p.stop = true
}
