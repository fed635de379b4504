package kernel

import (
	"encoding/binary"
	"slices"

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
	if flags&abi.CLONE_PIDFD != 0 && flags&(abi.CLONE_PARENT_SETTID|abi.CLONE_DETACHED) != 0 {
		return 0, unix.EINVAL // the pidfd goes where the parent's tid would
	}
	return t.clone(flags&0xffffffff, stack, ptid, ctid, tls, ptid)
}

// clone checks flags as Linux's copy_process() does and makes the thread or process;
// with CLONE_PIDFD, a pidfd for the child is stored at pidfdAddr.
func (t *Task) clone(flags, stack uint64, ptid, ctid mm.Addr, tls uint64, pidfdAddr mm.Addr) (uint64, error) {
	switch {
	case flags&(abi.CLONE_NEWNS|abi.CLONE_FS) == abi.CLONE_NEWNS|abi.CLONE_FS,
		flags&(abi.CLONE_NEWUSER|abi.CLONE_FS) == abi.CLONE_NEWUSER|abi.CLONE_FS,
		flags&abi.CLONE_THREAD != 0 && flags&abi.CLONE_SIGHAND == 0,
		flags&abi.CLONE_SIGHAND != 0 && flags&abi.CLONE_VM == 0,
		flags&abi.CLONE_PIDFD != 0 && flags&abi.CLONE_THREAD != 0,
		flags&abi.CLONE_CLEAR_SIGHAND != 0 && flags&abi.CLONE_SIGHAND != 0:
		return 0, unix.EINVAL
	case flags&namespaceFlags != 0:
		return 0, unix.EPERM
	}
	var r uint64
	var err error
	if flags&abi.CLONE_THREAD != 0 {
		r, err = t.newThread(flags, stack, ptid, ctid, tls)
	} else {
		r, err = t.fork(flags, stack, ptid, ctid, tls)
		if flags&abi.CLONE_CLEAR_SIGHAND != 0 && (err == nil || err == errBlocked) {
			// The child has not run yet (it starts after the call): its handlers go back
			// to the default; ignored signals stay ignored.
			c := t.p.lastFork
			t.p.lastFork = nil
			for i := range c.sigactions {
				if c.sigactions[i].Handler != abi.SIG_IGN {
					c.sigactions[i] = abi.Sigaction{}
				}
			}
			c.dispositionsChanged()
		}
	}
	if flags&abi.CLONE_PIDFD == 0 {
		return r, err
	}
	withPidfd := func(pid uint64, err error) (uint64, error) {
		if err != nil {
			return pid, err
		}
		k := t.p.k
		k.pt.mu.Lock()
		q := k.pt.procs[int(pid)]
		k.pt.mu.Unlock()
		if q == nil {
			return pid, nil
		}
		fd, err := t.openPidfd(q, 0)
		if err != nil {
			return pid, nil
		}
		if err := t.p.mm.CopyOut(pidfdAddr, binary.LittleEndian.AppendUint32(nil, uint32(fd))); err != nil {
			t.p.files.close(int32(fd))
		}
		return pid, nil
	}
	if err == errBlocked {
		prev := t.pending.done
		t.pending.done = func(r uint64, err error) (uint64, error) {
			if prev != nil {
				r, err = prev(r, err)
			}
			return withPidfd(r, err)
		}
		return 0, errBlocked
	}
	return withPidfd(r, err)
}

// clone_args sizes: the first layout, and the one with set_tid and cgroup.
const (
	cloneArgsSizeVer0 = 64
	cloneArgsSize     = 88
)

// sysClone3 implements clone3(2) through clone's paths: struct clone_args checked as
// Linux checks it (the exit signal in its own field, a stack given with its size);
// choosing the child's pid (set_tid) takes privilege vemu does not give, and
// CLONE_INTO_CGROUP names a host cgroup the guest cannot enter.
func sysClone3(t *Task, a Args) (uint64, error) {
	size := a[1]
	if size < cloneArgsSizeVer0 {
		return 0, unix.EINVAL
	}
	if size > pageSize {
		return 0, unix.E2BIG
	}
	b, err := t.copyStruct(a.Ptr(0), size, cloneArgsSize)
	if err != nil {
		return 0, err
	}
	field := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	flags, pidfd, childTid, parentTid := field(0), field(1), field(2), field(3)
	exitSignal, stack, stackSize, tls := field(4), field(5), field(6), field(7)
	setTid, setTidSize := field(8), field(9)
	const valid = 0xffffffff&^abi.CSIGNAL&^abi.CLONE_DETACHED | abi.CLONE_CLEAR_SIGHAND | abi.CLONE_INTO_CGROUP
	switch {
	case flags&^uint64(valid) != 0,
		exitSignal&^uint64(abi.CSIGNAL) != 0,
		stack == 0 && stackSize != 0 || stack != 0 && stackSize == 0,
		setTidSize > 32, setTid == 0 && setTidSize != 0, setTid != 0 && setTidSize == 0,
		flags&(abi.CLONE_THREAD|abi.CLONE_PARENT) != 0 && exitSignal != 0:
		return 0, unix.EINVAL
	case setTidSize != 0:
		return 0, unix.EPERM
	case flags&abi.CLONE_INTO_CGROUP != 0:
		return 0, unix.EBADF
	}
	if stack != 0 {
		stack += stackSize // clone3 gives the lowest address; the stack grows down from the end
	}
	return t.clone(flags|exitSignal, stack, mm.Addr(parentTid), mm.Addr(childTid), tls, mm.Addr(pidfd))
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
	if err := t.taskRoom(); err != nil {
		return 0, err
	}
	cpu, err := emu.New()
	if err != nil {
		return 0, unix.EAGAIN
	}
	// A CLONE_VM child runs in its parent's memory: a vfork child while its parent waits
	// (glibc's posix_spawn has it write an exec failure there), any other alongside its
	// parent, both then running one at a time (sharedcpu.go) so that their atomics are
	// atomic. The memory is shared as mapped at the call; mappings either makes later
	// are its own. Any other child gets a copy.
	share := flags&abi.CLONE_VM != 0
	alongside := share && flags&abi.CLONE_VFORK == 0
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
	if share {
		c.shareParent, c.shareSpace = p, p.mm
	}
	c.sigactions, c.rlimits = p.sigactions, p.rlimits
	c.ppid = p.pid
	c.exitSignal = int(flags & abi.CSIGNAL)
	c.files, err = p.files.fork(c)
	if err != nil {
		// No host descriptor left for the child's copy of a file: Linux's fork fails
		// when it cannot copy the table (copy_files).
		c.files.dropped = nil
		c.close()
		return 0, unix.EMFILE
	}
	c.shmForked(p)
	c.files.dropped = c.fileDropped
	c.fs = p.fs.fork()
	c.publishTables()
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
	ct.sigmask, ct.comm, ct.named = t.sigmask, t.comm, t.named
	ct.affinity, ct.cpuNum = t.affinity, t.cpuNum
	if ct.affinity != nil {
		ct.publishAffinity()
	}
	ct.seccomp, ct.mempolicy = t.seccomp, t.mempolicy
	ct.mceKill, ct.ioFlusher = t.mceKill, t.ioFlusher
	ct.seccomp.hold(1)
	if !share {
		// As Linux's rseq_fork(): a child in memory of its own keeps the registration.
		ct.rseq = rseqReg{area: t.rseq.area, len: t.rseq.len, sig: t.rseq.sig}
		ct.rseqSwitchedOut()
	}
	t.forkDescriptors(c, ct)
	t.inheritSignals(ct, false)
	c.dispositionsChanged()
	if flags&abi.CLONE_CHILD_CLEARTID != 0 {
		ct.clearChildTID = ctid
	}
	if err := c.installHooks(); err != nil {
		c.close()
		return 0, unix.EAGAIN
	}
	if alongside || p.sharesMem || p.mm.HasShared() {
		// Shared memory is now in two processes (sharedcpu.go).
		c.shareMemory()
		t.shareMemoryLater()
	}
	if alongside || p.vmShared {
		c.vmShared, p.vmShared = true, true
	}
	k.register(c)
	k.pt.mu.Lock()
	c.pgid, c.sid, c.nice, c.persona, c.ioprio = p.pgid, p.sid, p.nice, p.persona, p.ioprio
	c.timerSlack = p.timerSlack
	c.oom = p.oom
	c.coreFilter = p.coreFilter
	c.pkeyTaken, c.thpDisabled = p.pkeyTaken, p.thpDisabled
	c.mpolRanges = slices.Clone(p.mpolRanges)
	if c.policy = p.policy; p.resetOnFork {
		// As Linux's sched_fork(): the child does not keep a nice value below 0 (nor a
		// real-time policy, which vemu never gives), and does not reset its own children.
		c.nice = max(p.nice, 0)
	}
	c.creds = p.creds
	c.setNotDumpable(p.notDumpable)
	c.creds.groups = append([]uint32(nil), p.creds.groups...)
	if flags&abi.CLONE_CLEAR_SIGHAND != 0 {
		p.lastFork = c
	}
	parent := p
	if flags&abi.CLONE_PARENT != 0 {
		// A sibling: the caller's parent waits for it and gets the caller's exit signal,
		// as Linux's copy_process(). The first process's parent is outside vemu.
		parent, c.ppid, c.exitSignal = p.parent, p.ppid, p.exitSignal
	}
	c.parent = parent
	if parent == p {
		c.parentTid = t.tid
	} else if parent != nil {
		c.parentTid = parent.pid
	}
	if parent != nil {
		parent.children = append(parent.children, c)
	}
	k.fileGroupLocked(c)
	vfork := flags&abi.CLONE_VFORK != 0
	if vfork {
		c.vforkDone = make(chan struct{})
		c.vforkHeap, c.vforkBrk = share, p.mm.Brk
	}
	k.pt.mu.Unlock()
	if flags&abi.CLONE_PARENT_SETTID != 0 {
		p.mm.CopyOut(ptid, binary.LittleEndian.AppendUint32(nil, uint32(c.pid)))
	}
	if flags&abi.CLONE_CHILD_SETTID != 0 {
		space.CopyOut(ctid, binary.LittleEndian.AppendUint32(nil, uint32(c.pid)))
	}
	k.clock.attach(c)
	eventStop := t.traceChild(c, flags)
	t.post(func() {
		// The child starts with the parent's registers after the call, rax 0.
		regs := append([]emu.Reg{}, emu.GPRs...)
		regs = append(regs, emu.RFLAGS, emu.FSBase, emu.GSBase, emu.MXCSR, emu.FPCW)
		vals := make([]uint64, len(regs))
		p.cpu.Regs(regs, vals)
		for _, r := range []emu.Reg{emu.DS, emu.ES, emu.FS, emu.GS} {
			// The parent's selectors, loaded from the child's copies of the tables
			// before the bases are set (which the selectors' loads overwrite).
			if sel := uint16(p.cpu.Reg(r)); sel != 0 {
				cpu.LoadSegment(r, sel)
			}
		}
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
	if eventStop != nil {
		eventStop()
	}
	if vfork {
		done := c.vforkDone
		pid := uint64(c.pid)
		brk := p.mm.Brk
		return t.blockThen(func() (uint64, error) {
			<-done
			return pid, nil
		}, func(r uint64, err error) (uint64, error) {
			if share && c.vforkBrkMoved && p.mm.Brk == brk {
				// The child moved the break of the memory both run in (a C library's
				// malloc in it, gdb's for one): the parent's heap is where it left it.
				p.mm.SetBrk(c.vforkBrk)
			}
			t.vforkDone(int(pid))
			return r, err
		})
	}
	return uint64(c.pid), nil
}
