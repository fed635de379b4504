package kernel

import (
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
}

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
}

// maps renders /proc/self/maps.
func (p *Process) maps() string { return p.mm.Maps() }
