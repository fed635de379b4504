package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
	vdsoimage "vemu/vdso_image"
)

// sysClone implements clone(2): threads (CLONE_VM|CLONE_THREAD) share this process and
// its CPU; anything else is a new process with a copy of the address space.
func sysClone(t *Task, a Args) (uint64, error) {
	flags, stack, ptid, ctid, tls := a[0], a[1], a.Ptr(2), a.Ptr(3), a[4]
	if flags&abi.CLONE_THREAD != 0 {
		if flags&abi.CLONE_VM == 0 || flags&abi.CLONE_SIGHAND == 0 {
			return 0, unix.EINVAL
		}
		return t.newThread(flags, stack, ptid, ctid, tls)
	}
	return t.fork(flags, stack, ptid, ctid, tls)
}

// sysFork implements fork(2).
func sysFork(t *Task, a Args) (uint64, error) { return t.fork(uint64(abi.SIGCHLD), 0, 0, 0, 0) }

// sysVfork implements vfork(2): the child runs in its parent's memory, and the parent
// waits until the child execs or exits.
func sysVfork(t *Task, a Args) (uint64, error) {
	return t.fork(abi.CLONE_VM|abi.CLONE_VFORK|uint64(abi.SIGCHLD), 0, 0, 0, 0)
}

// fork creates a child process with a copy of the caller's address space, files and
// signal dispositions; the child returns 0 from the call.
func (t *Task) fork(flags, stack uint64, ptid, ctid mm.Addr, tls uint64) (uint64, error) {
	p, k := t.p, t.p.k
	cpu, err := emu.New()
	if err != nil {
		return 0, unix.EAGAIN
	}
	// A vfork child runs in its parent's memory (glibc's posix_spawn has its child write
	// an exec failure there); any other child gets a copy. A CLONE_VM child that does not
	// suspend its parent gets a copy too: two engines cannot keep each other's atomics.
	share := flags&abi.CLONE_VM != 0 && flags&abi.CLONE_VFORK != 0
	var space *mm.Space
	if share {
		space, err = p.mm.Share(cpu)
	} else {
		space, err = p.mm.Fork(cpu)
	}
	if err != nil {
		cpu.Close()
		return 0, unix.ENOMEM
	}
	c, ct, err := k.newProcess(cpu, space, k.allocPID(), p.execInfo)
	if err != nil {
		return 0, unix.EAGAIN
	}
	c.sigactions, c.rlimits = p.sigactions, p.rlimits
	c.ppid = p.pid
	c.exitSignal = int(flags & abi.CSIGNAL)
	c.files = p.files.fork(c)
	c.files.dropped = c.fileDropped
	c.fs = p.fs.fork()
	if p.vdso.base != 0 {
		// The child's own copy of the vvar page, kept by the timekeeper once attached
		// (unless the parent unmapped it).
		c.vdso = p.vdso
		c.vdso.vvar = nil
		if v := space.Lookup(mm.Addr(p.vdso.base) - vdsoimage.VVarSize); p.vdso.vvar != nil && v != nil {
			c.vdso.vvar = v.Host()[:vdsoimage.PageSize]
		}
		c.watchVDSO()
	}
	ct.sigmask = t.sigmask
	t.inheritSignals(ct, false)
	c.dispositionsChanged()
	if flags&abi.CLONE_CHILD_CLEARTID != 0 {
		ct.clearChildTID = ctid
	}
	if err := c.installHooks(); err != nil {
		c.close()
		return 0, unix.EAGAIN
	}
	k.register(c)
	k.pt.mu.Lock()
	c.pgid, c.sid, c.nice, c.persona, c.ioprio = p.pgid, p.sid, p.nice, p.persona, p.ioprio
	c.creds = p.creds
	c.creds.groups = append([]uint32(nil), p.creds.groups...)
	c.parent = p
	p.children = append(p.children, c)
	vfork := flags&abi.CLONE_VFORK != 0
	if vfork {
		c.vforkDone = make(chan struct{})
	}
	k.pt.mu.Unlock()
	if flags&abi.CLONE_PARENT_SETTID != 0 {
		p.mm.CopyOut(ptid, binary.LittleEndian.AppendUint32(nil, uint32(c.pid)))
	}
	if flags&abi.CLONE_CHILD_SETTID != 0 {
		space.CopyOut(ctid, binary.LittleEndian.AppendUint32(nil, uint32(c.pid)))
	}
	k.clock.attach(c)
	t.post(func() {
		// The child starts with the parent's registers after the call, rax 0.
		regs := append([]emu.Reg{}, emu.GPRs...)
		regs = append(regs, emu.RFLAGS, emu.FSBase, emu.GSBase, emu.MXCSR, emu.FPCW)
		vals := make([]uint64, len(regs))
		p.cpu.Regs(regs, vals)
		cpu.SetRegs(regs, vals)
		cpu.SetReg(emu.RAX, 0)
		if stack != 0 {
			cpu.SetReg(emu.RSP, stack)
		}
		if flags&abi.CLONE_SETTLS != 0 {
			cpu.SetReg(emu.FSBase, tls)
		}
		go c.run()
	})
	if vfork {
		done := c.vforkDone
		pid := uint64(c.pid)
		return t.blockOn(func() (uint64, error) {
			<-done
			return pid, nil
		})
	}
	return uint64(c.pid), nil
}
