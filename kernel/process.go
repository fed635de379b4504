package kernel

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
	"vemu/loader"
)

// Process is a guest process: an address space, open files and signal dispositions,
// shared by its threads.
type Process struct {
	k     *Kernel
	cpu   *emu.Engine
	kick  atomic.Pointer[emu.Engine] // cpu, for other goroutines to Kick
	mm    *mm.Space
	files *FDTable
	fs    *fsContext

	pid, ppid, pgid, sid int

	exe      string   // absolute host path of the program (/proc/self/exe)
	execFn   string   // the path as given to exec (AT_EXECFN)
	argv     []string // for /proc/self/cmdline
	envp     []string
	auxv     []loader.Aux
	entry    uint64
	stackTop uint64

	sigactions [abi.NSIG]abi.Sigaction
	rlimits    [abi.RLIM_NLIMITS]abi.Rlimit

	vdso vdsoMapping

	exit *ExitStatus // set once the process has exited
	stop bool        // the CPU must stop: exit, or control flow the hook cannot change

	// Threads: all share cpu; the one whose registers the engine holds is cur.
	tasks     []*Task
	cur       *Task
	wake      chan wakeup // completions of blocking calls, timers, signals from elsewhere
	futexes   map[uint64][]*Task
	vtimers   []*vtimer   // virtual-clock timeouts, fired when no thread can run
	idleEvent int         // eventfd + 1 that ends idle's wait on parked fds; 0 when not made
	quantum   bool        // deterministic preemption is installed
	stopped   bool        // stopped by a stop signal: no thread runs until SIGCONT
	persona   uint32      // personality(2)'s value, kept and reported
	creds     creds       // user and group ids
	signalfds []*signalFD // whose readiness follows the pending signals
	nice      int         // the nice value, -20..19 (getpriority, setpriority), guarded by pt.mu
	family
	sig    procSignals // process-wide pending signals and timers
	timers posixTimers // timer_create's, not inherited by fork
	counts counts      // for --stats, added to the kernel's when the process ends

	// For senders in other goroutines (see kill.go): the signals whose default action
	// ends the process as its dispositions stand (fatalDisp, kept by the run loop), and
	// of those the ones a thread would take now (fatalAny: at least one thread leaves it
	// unblocked; fatalAll: every thread does), published before each run of the CPU and
	// after each system call. doomed is the fatal signal a sender decided on.
	fatalDisp          uint64
	fatalAny, fatalAll atomic.Uint64
	doomed             atomic.Int32
}

// Task is a thread of a process.
type Task struct {
	p   *Process
	cpu *emu.Engine
	tid int

	sigmask       uint64
	clearChildTID uint64
	robustList    uint64

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
	resume    *uint64    // rax to set when the thread runs again
	gen       uint64     // counts blockings, so stale wakeups are ignored

	futexAddr uint64 // while waiting on a futex
	futexBits uint32

	sig taskSignals // pending signals, the alternate stack
}

type taskState uint8

const (
	taskRunnable taskState = iota
	taskBlocked
	taskDead
)

func (p *Process) close() {
	if p.files != nil {
		p.files.closeAll()
	}
	if p.fs != nil {
		p.fs.close()
	}
	if p.mm != nil {
		p.mm.Close()
	}
	if p.cpu != nil {
		p.cpu.Close()
	}
	if p.idleEvent != 0 {
		unix.Close(p.idleEvent - 1)
	}
}

// maps renders /proc/self/maps.
func (p *Process) maps() string { return p.mm.Maps() }
