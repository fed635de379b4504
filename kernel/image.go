package kernel

import (
	"errors"
	"sync"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
	vdsoimage "vemu/vdso_image"
)

// Image is a program loaded once and started many times: the address space, registers,
// signal dispositions and random state that exec left, copied for each start, so a run
// skips reading, parsing and laying out the program. A finished run hands its CPU back:
// the mappings the guest could not have changed (code, read-only data, the vDSO) stay in
// it with the code already translated from them, and the next start copies only the rest.
// Starts may run in parallel.
type Image struct {
	k    *Kernel  // the kernel the program was loaded in
	p    *Process // the loaded process, which never runs
	regs []uint64 // exec's registers, in loadRegs order

	mu     sync.Mutex
	idle   []*idleCPU
	closed bool
}

// idleCPU is a CPU a finished run handed back: the mappings still the image's, and its
// registers as exec set them, saved in the engine's own context.
type idleCPU struct {
	cpu  *emu.Engine
	init *emu.Context
	kept []*mm.VMA
}

// loadRegs are the registers exec sets (see load); every other one is as a new engine has it.
var loadRegs = []emu.Reg{emu.RAX, emu.RBX, emu.RCX, emu.RDX, emu.RSI, emu.RDI, emu.RBP, emu.R8, emu.R9,
	emu.R10, emu.R11, emu.R12, emu.R13, emu.R14, emu.R15, emu.FSBase, emu.GSBase, emu.RIP, emu.RSP, emu.RFLAGS, emu.MXCSR, emu.FPCW}

// Prepare loads the program at path as Exec does, under cfg, and keeps it for Start.
// What the layout depends on comes from cfg here and holds for every start: the seed,
// NoASLR, the vsyscall mode, the clock kind, Stats, Ignored signals and the working
// directory.
func Prepare(cfg Config, path string, argv, envp []string) (*Image, error) {
	k := New(cfg)
	t, err := k.Exec(path, argv, envp)
	if err != nil {
		return nil, err
	}
	p := t.p
	k.clock.detach(p)
	regs := make([]uint64, len(loadRegs))
	if err := p.cpu.Regs(loadRegs, regs); err != nil {
		p.close()
		return nil, &ExecError{Path: path, Status: 126, Err: err, Internal: true}
	}
	// The image's own CPU is not needed again: its mappings are copied into others.
	p.cpu.Close()
	p.cpu = nil
	p.closeFiles()
	return &Image{k: k, p: p, regs: regs}, nil
}

// Close releases the image and the CPUs runs handed back. Runs still going are not
// affected; their CPUs are released when they end.
func (img *Image) Close() {
	img.mu.Lock()
	idle := img.idle
	img.idle, img.closed = nil, true
	img.mu.Unlock()
	for _, c := range idle {
		c.release()
	}
	img.p.close()
}

func (c *idleCPU) release() {
	space := mm.New(c.cpu)
	space.Adopt(c.kept)
	space.Close()
	c.init.Free()
	c.cpu.Close()
}

// ErrImageClosed is returned by Start after Close.
var ErrImageClosed = errors.New("image closed")

// Start makes a new kernel for one run of the image and returns its first task, ready to
// Run, as Exec would have. cfg gives what may differ from run to run (the standard files,
// Inherit, Strace, Record, Inject, InjectFunc, StartTime, HZ); the rest is the image's.
func (img *Image) Start(cfg Config) (*Kernel, *Task, error) {
	tc := img.k.cfg
	run := tc
	run.Stdin, run.Stdout, run.Stderr, run.Inherit = cfg.Stdin, cfg.Stdout, cfg.Stderr, cfg.Inherit
	run.Strace, run.Record, run.Inject, run.InjectFunc = cfg.Strace, cfg.Record, cfg.Inject, cfg.InjectFunc
	run.StartTime, run.HZ = cfg.StartTime, cfg.HZ
	k := New(run)
	*k.pcg = *img.k.pcg // the random source where exec left it
	ip := img.p
	if err := k.openRoot(); err != nil {
		return nil, nil, &ExecError{Path: ip.execFn, Status: 126, Err: err}
	}

	img.mu.Lock()
	if img.closed {
		img.mu.Unlock()
		return nil, nil, ErrImageClosed
	}
	var c *idleCPU
	if n := len(img.idle); n > 0 {
		c = img.idle[n-1]
		img.idle = img.idle[:n-1]
	}
	img.mu.Unlock()
	internal := func(err error) (*Kernel, *Task, error) {
		return nil, nil, &ExecError{Path: ip.execFn, Status: 126, Err: err, Internal: true}
	}
	if c == nil {
		cpu, err := emu.New()
		if err != nil {
			return internal(err)
		}
		c = &idleCPU{cpu: cpu}
	} else {
		c.cpu = c.cpu.Renew()
	}
	space, err := ip.mm.Start(c.cpu, c.kept)
	c.kept = nil
	if err != nil {
		if c.init != nil {
			c.init.Free()
		}
		c.cpu.Close()
		return internal(err)
	}
	p, t, err := k.newProcess(c.cpu, space, k.newPID(), ip.execInfo)
	if err != nil {
		return internal(err)
	}
	p.exitSignal = abi.SIGCHLD
	if c.init == nil {
		// A new engine: exec's registers, then saved in its own context for the next
		// start (registers exec does not set, XMM say, as a new engine has them).
		if err := c.cpu.ResetFPU(); err == nil {
			err = c.cpu.SetRegs(loadRegs, img.regs)
		}
		if err == nil {
			c.init, err = c.cpu.NewContext()
		}
		if err == nil {
			err = c.cpu.Save(c.init)
		}
		if err != nil {
			p.close()
			return internal(err)
		}
	} else if err := c.cpu.Restore(c.init); err != nil {
		p.close()
		return internal(err)
	}
	p.ppid = k.parentPID()
	p.pgid, p.sid = k.sessionIDs(p.pid)
	p.creds = ip.creds
	p.creds.groups = append([]uint32(nil), ip.creds.groups...)
	p.nice, p.persona = ip.nice, ip.persona
	k.register(p)
	k.pt.mu.Lock()
	k.first, k.fgPgid = p, p.pgid
	k.hostParentLinks(p)
	k.fileGroupLocked(p)
	k.pt.mu.Unlock()
	p.sigactions, p.rlimits = ip.sigactions, ip.rlimits
	p.dispositionsChanged()
	if ip.vdso.base != 0 {
		p.vdso = ip.vdso
		p.vdso.vvar = nil
		if v := space.Lookup(mm.Addr(ip.vdso.base) - vdsoimage.VVarSize); ip.vdso.vvar != nil && v != nil {
			// As a new process's: the first publication below starts its sequence count.
			clear(v.Host())
			p.vdso.vvar = v.Host()[:vdsoimage.PageSize]
		}
		p.watchVDSO()
	}
	if p.files, err = newFDTable(k.cfg); err != nil {
		p.close()
		return internal(err)
	}
	p.files.dropped = p.fileDropped
	p.files.nofile = &p.rlimits[abi.RLIMIT_NOFILE]
	if p.fs, err = newFSContext(k.cfg.Dir, k.root); err != nil {
		p.close()
		return internal(err)
	}
	if err := p.installHooks(); err != nil {
		p.close()
		return internal(err)
	}
	k.clock.attach(p)
	cpu, init := c.cpu, c.init
	p.recycle = func() bool {
		if p.cpu != cpu {
			init.Free() // the guest exec'd another program: the engine went with it
			return false
		}
		kept := p.mm.Retire()
		img.mu.Lock()
		defer img.mu.Unlock()
		if img.closed {
			(&idleCPU{cpu: cpu, init: init, kept: kept}).release()
			return true
		}
		img.idle = append(img.idle, &idleCPU{cpu: cpu, init: init, kept: kept})
		return true
	}
	return k, t, nil
}
