package gdbstub

import (
	"vemu/abi"
	"vemu/kernel"
)

// Target is the debugged process as the stub drives it. Every method but Interrupt is
// called from the stub's goroutine; between Resume and the Stop that follows it, only
// Interrupt, Kill and Detach are. Register and memory methods are called while the
// process is stopped.
type Target interface {
	// Pid is the process id; Threads lists its live threads, the main thread first.
	Pid() int
	Threads() []int

	// Regs and FPRegs read a thread's general registers (orig_rax included) and its
	// x87/SSE state as an FXSAVE image; SetRegs and SetFPRegs write them.
	Regs(tid int) (abi.UserRegs, error)
	SetRegs(tid int, r *abi.UserRegs) error
	FPRegs(tid int) ([abi.FXSaveSize]byte, error)
	SetFPRegs(tid int, img *[abi.FXSaveSize]byte) error

	// ReadMemory and WriteMemory copy guest memory as the process sees it, without
	// breakpoints; they return how many bytes they could copy before an error.
	ReadMemory(addr uint64, b []byte) (int, error)
	WriteMemory(addr uint64, b []byte) (int, error)

	// AddBreak and RemoveBreak set and clear a breakpoint or watchpoint on [addr,
	// addr+size). Software breakpoints leave the guest's code bytes untouched.
	AddBreak(kind BreakKind, addr uint64, size int) error
	RemoveBreak(kind BreakKind, addr uint64, size int) error

	// CatchSyscalls stops the process at the entry and the return of the system calls
	// nrs (all of them when all is set); CatchSyscalls(false, nil) stops catching.
	CatchSyscalls(all bool, nrs []uint64)

	// Resume lets the process run: each thread does what the first action naming it (or
	// naming every thread, Tid -1) says; threads no action names stay stopped. The next
	// Stop comes on Stops.
	Resume(actions []Action) error
	Stops() <-chan Stop
	// Interrupt stops a running process as if by SIGINT: a Stop follows. Safe from any
	// goroutine.
	Interrupt()

	// Siginfo is the siginfo_t of the signal the thread stopped with (abi.SiginfoSize bytes).
	Siginfo(tid int) ([]byte, bool)
	// Auxv is the process's auxiliary vector as /proc/PID/auxv shows it.
	Auxv() []byte
	// ExecFile is the host path of the program the process runs.
	ExecFile() string
	// Maps is the process's memory map as /proc/PID/maps shows it.
	Maps() string

	// Kill ends the process with SIGKILL; Detach removes every breakpoint and catch and
	// lets it run on without the debugger. Either is the last call the stub makes.
	Kill()
	Detach()
}

// The stub speaks of stops, actions and breakpoints in the kernel's own terms.
type (
	BreakKind  = kernel.BreakKind
	ActionKind = kernel.ResumeKind
	Action     = kernel.DebugAction
	StopKind   = kernel.StopKind
	Stop       = kernel.DebugStop
)

// Breakpoints and watchpoints, numbered as in the Z packets.
const (
	SoftwareBreak = kernel.SoftwareBreak // Z0
	HardwareBreak = kernel.HardwareBreak // Z1
	WriteWatch    = kernel.WriteWatch    // Z2: watch
	ReadWatch     = kernel.ReadWatch     // Z3: rwatch
	AccessWatch   = kernel.AccessWatch   // Z4: awatch
)

// Resume actions.
const (
	Continue = kernel.Continue
	Step     = kernel.Step
)

// Stop reasons.
const (
	Signalled     = kernel.Signalled
	SyscallEntry  = kernel.SyscallEntry
	SyscallReturn = kernel.SyscallReturn
	Exec          = kernel.Exec
	Exited        = kernel.Exited
	Killed        = kernel.Killed
)

// The kernel's debugging interface is a Target.
var _ Target = (*kernel.Debugger)(nil)
