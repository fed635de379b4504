package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
	"vemu/loader"
	vdsoimage "vemu/vdso_image"
)

// procTable is the kernel's list of processes, for wait4, kill and parent links.
type procTable struct {
	mu      sync.Mutex
	procs   map[int]*Process
	tids    map[int]*Process // threads other than main threads, by id
	lastPID int
}

// family is a process's place in the tree, guarded by the kernel's procTable.mu (and so
// are the process's pgid and sid, which its parent may change).
type family struct {
	parent     *Process
	children   []*Process
	zombie     bool
	exitSignal int           // sent to the parent at exit: SIGCHLD for fork, clone's choice else
	execed     bool          // the process has called execve (setpgid by its parent: EACCES)
	reported   bool          // a zombie whose parent has taken its exit: wait may report it
	childWake  chan struct{} // poked when a child exits
	vforkDone  chan struct{} // closed when a vfork child execs or exits
	done       chan struct{} // closed when the run loop has ended
	job        jobState      // stops and continuations for the parent's wait
}

func (k *Kernel) register(p *Process) {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if k.pt.procs == nil {
		k.pt.procs = map[int]*Process{}
	}
	k.pt.procs[p.pid] = p
	if p.pid > k.pt.lastPID {
		k.pt.lastPID = p.pid
	}
	p.childWake = make(chan struct{}, 1)
	p.done = make(chan struct{})
}

// allocPID returns a new pid (or tid): after the first process's, counting up.
func (k *Kernel) allocPID() int {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	k.pt.lastPID++
	for k.pt.procs[k.pt.lastPID] != nil {
		k.pt.lastPID++
	}
	return k.pt.lastPID
}

// exited records that p's run loop has ended: it becomes a zombie, and its parent
// learns of it on the parent's own loop (childExited).
func (p *Process) exited() {
	k := p.k
	p.takeFast()
	k.stats.merge(&p.counts)
	k.pt.mu.Lock()
	p.zombie = true
	for _, c := range p.children {
		c.parent = nil
		if c.zombie {
			delete(k.pt.procs, c.pid) // nobody will wait for it now
		}
	}
	p.children = nil
	for tid, q := range k.pt.tids {
		if q == p {
			delete(k.pt.tids, tid)
		}
	}
	parent := p.parent
	if p.vforkDone != nil {
		close(p.vforkDone)
		p.vforkDone = nil
	}
	if parent == nil {
		delete(k.pt.procs, p.pid)
	}
	k.pt.mu.Unlock()
	close(p.done)
	if parent != nil {
		info := childInfo(p)
		parent.send(wakeup{fn: func() { parent.childExited(p, info) }})
	}
}

// childExited runs on p's loop when its child c has exited, as Linux's
// do_notify_parent(): c's exit signal is generated, and c becomes a zombie that wait can
// report, or is reaped at once when p ignores SIGCHLD or set SA_NOCLDWAIT. Taking both
// steps on p's loop orders them as on Linux: a wait that reports c comes after the signal.
func (p *Process) childExited(c *Process, info abi.Siginfo) {
	k := p.k
	act := p.sigactions[abi.SIGCHLD]
	k.pt.mu.Lock()
	if c.parent == p {
		if c.exitSignal == abi.SIGCHLD && (act.Handler == abi.SIG_IGN || act.Flags&abi.SA_NOCLDWAIT != 0) {
			p.children = slices.DeleteFunc(p.children, func(o *Process) bool { return o == c })
			delete(k.pt.procs, c.pid)
			c.parent = nil
		} else {
			c.reported = true
		}
	}
	k.pt.mu.Unlock()
	if c.exitSignal != 0 {
		info.Signo = int32(c.exitSignal)
		p.queueSignal(nil, info)
	}
	select {
	case p.childWake <- struct{}{}:
	default:
	}
}

// send hands w to p's run loop, unless that loop has ended, and kicks its CPU so that a
// thread running guest code stops to let the loop see it.
func (p *Process) send(w wakeup) {
	select {
	case p.wake <- w:
	case <-p.done:
		return
	default:
		go func() {
			select {
			case p.wake <- w:
				p.kickFor()
			case <-p.done:
			}
		}()
		return
	}
	p.kickFor()
}

// kickFor kicks p's CPU for a message just sent, except in repeatable runs: there a
// thread running guest code sees messages when it next stops (a system call, the end
// of its time slice), at a point that does not depend on the host's timing.
func (p *Process) kickFor() {
	if !p.k.repeatable() {
		p.kick.Load().Kick()
	}
}

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

// sysVfork implements vfork(2): a copy of the process (vemu does not share the memory),
// and the parent waits until the child execs or exits, as with vfork.
func sysVfork(t *Task, a Args) (uint64, error) {
	return t.fork(abi.CLONE_VM|abi.CLONE_VFORK|uint64(abi.SIGCHLD), 0, 0, 0, 0)
}

func (t *Task) newThread(flags, stack uint64, ptid, ctid mm.Addr, tls uint64) (uint64, error) {
	p := t.p
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
	p.k.addThread(tid, p)
	c.sigmask = t.sigmask
	t.inheritSignals(c, true)
	if flags&abi.CLONE_CHILD_CLEARTID != 0 {
		c.clearChildTID = uint64(ctid)
	}
	c.state = taskBlocked // until its registers exist
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
		c.state = taskRunnable
		p.updatePreempt()
	})
	return uint64(tid), nil
}

// threadExit ends the calling thread: CLONE_CHILD_CLEARTID's word is cleared and its
// futex woken, as Linux's mm_release does. The last thread ends the process.
func (t *Task) threadExit(code int) {
	p := t.p
	live := 0
	for _, o := range p.tasks {
		if o.state != taskDead {
			live++
		}
	}
	if live <= 1 {
		t.exitProcess(code)
		return
	}
	if t.clearChildTID != 0 {
		if p.mm.CopyOut(mm.Addr(t.clearChildTID), []byte{0, 0, 0, 0}) == nil {
			p.futexWake(t.clearChildTID, 1, abi.FUTEX_BITSET_MATCH_ANY)
		}
	}
	t.state = taskDead
	p.k.dropThread(t.tid)
	p.stop = true
	p.updatePreempt()
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
	c := &Process{k: k, cpu: cpu, mm: space, exe: p.exe, execFn: p.execFn, argv: p.argv, envp: p.envp,
		auxv: p.auxv, entry: p.entry, stackTop: p.stackTop, sigactions: p.sigactions, rlimits: p.rlimits,
		wake: make(chan wakeup, 16), futexes: map[uint64][]*Task{}}
	c.kick.Store(cpu)
	c.pid = k.allocPID()
	c.ppid = p.pid
	c.exitSignal = int(flags & abi.CSIGNAL)
	c.files = p.files.fork()
	c.fs = p.fs.fork()
	if p.vdso.base != 0 {
		// The child's own copy of the vvar page, kept by the timekeeper once attached.
		c.vdso = p.vdso
		c.vdso.vvar = space.Lookup(mm.Addr(p.vdso.base) - vdsoimage.VVarSize).Host()[:vdsoimage.PageSize]
	}
	ct, err := c.newTask(c.pid)
	if err != nil {
		c.close()
		return 0, unix.EAGAIN
	}
	ct.sigmask = t.sigmask
	t.inheritSignals(ct, false)
	c.dispositionsChanged()
	c.cur = ct
	if flags&abi.CLONE_CHILD_CLEARTID != 0 {
		ct.clearChildTID = uint64(ctid)
	}
	if err := c.installHooks(); err != nil {
		c.close()
		return 0, unix.EAGAIN
	}
	k.register(c)
	k.pt.mu.Lock()
	c.pgid, c.sid, c.nice, c.persona = p.pgid, p.sid, p.nice, p.persona
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

// entry is the SYSCALL entry, reached through a variable: the table's handlers start
// processes whose CPUs call it, which would otherwise be an initialization cycle.
var entry func(t *Task, s *emu.Syscall)

func init() { entry = (*Task).onSyscall }

// installHooks connects a process's CPU to its kernel: the SYSCALL entry, and the vDSO's
// counter reads and entry points where they are hooked.
func (p *Process) installHooks() error {
	p.cpu.OnSyscall(func(s *emu.Syscall) { entry(p.cur, s) })
	p.setFastCalls()
	p.cpu.OnCode(func(addr uint64) { p.cur.onCode(addr) })
	for a := range p.vdso.counter {
		if err := p.cpu.HookCode(a, a); err != nil {
			return err
		}
	}
	for a := range p.vdso.entries {
		if err := p.cpu.HookCode(a, a); err != nil {
			return err
		}
	}
	return nil
}

func (ft *FDTable) fork() *FDTable {
	c := &FDTable{fds: make([]fdEntry, len(ft.fds))}
	files := map[*File]*File{}
	for i, e := range ft.fds {
		if e.f == nil {
			continue
		}
		nf, ok := files[e.f]
		if !ok {
			fd, err := unix.FcntlInt(uintptr(e.f.fd), unix.F_DUPFD_CLOEXEC, 3)
			if err != nil {
				continue
			}
			nf = &File{fd: fd, path: e.f.path, flags: e.f.flags}
			if e.f.vtfd != nil {
				nf.vtfd = e.f.vtfd.hold()
			}
			files[e.f] = nf
		}
		nf.refs++
		c.fds[i] = fdEntry{nf, e.cloexec}
	}
	return c
}

func (c *fsContext) fork() *fsContext {
	fd, err := unix.FcntlInt(uintptr(c.cwdFd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		fd, _ = unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	return &fsContext{cwdFd: fd, cwd: c.cwd}
}

// closeOnExec closes the descriptors marked FD_CLOEXEC.
func (ft *FDTable) closeOnExec() {
	for i, e := range ft.fds {
		if e.f != nil && e.cloexec {
			ft.close(int32(i))
		}
	}
}

// sysExecve implements execve(2) for static programs.
func sysExecve(t *Task, a Args) (uint64, error) {
	return t.execveat(abi.AT_FDCWD, a.Ptr(0), a.Ptr(1), a.Ptr(2), 0)
}

// sysExecveat implements execveat(2).
func sysExecveat(t *Task, a Args) (uint64, error) {
	return t.execveat(a.Fd(0), a.Ptr(1), a.Ptr(2), a.Ptr(3), a.Int(4))
}

func (t *Task) execveat(dirfd int32, pathAddr, argvAddr, envpAddr mm.Addr, flags int32) (uint64, error) {
	p := t.p
	path, err := t.path(pathAddr)
	if err != nil {
		return 0, err
	}
	argv, err := t.strArray(argvAddr)
	if err != nil {
		return 0, err
	}
	envp, err := t.strArray(envpAddr)
	if err != nil {
		return 0, err
	}
	var host string
	switch {
	case path == "" && flags&abi.AT_EMPTY_PATH != 0:
		f, err := t.file(dirfd)
		if err != nil {
			return 0, err
		}
		host = hostFdPath(f.fd)
	case path == "":
		return 0, unix.ENOENT
	default:
		d, hp, err := t.resolve(dirfd, path)
		if err != nil {
			return 0, err
		}
		switch {
		case filepath.IsAbs(hp):
			host = hp
		case d == p.fs.cwdFd:
			host = filepath.Join(p.fs.cwd, hp)
		default:
			host = filepath.Join(hostFdPath(d), hp)
		}
	}
	data, abs, img, argv, err := t.loadProgram(host, path, argv, 0)
	if err != nil {
		return 0, err
	}
	t.post(func() { t.execImage(data, abs, path, img, argv, envp) })
	return 0, nil
}

// maxInterpDepth is how many #! interpreters may lead to one another, as Linux's
// BINPRM_MAX_RECURSION.
const maxInterpDepth = 4

// loadProgram reads the program execve names and parses it. A script starting with #!
// runs its interpreter instead, as Linux's binfmt_script does: argv becomes the
// interpreter, its one optional argument, the script's path, then argv[1:]. A dynamically
// linked program fails with ENOENT, as on Linux when its ELF interpreter is missing (which
// vemu's guests do lack), and vemu says so on its stderr.
func (t *Task) loadProgram(host, path string, argv []string, depth int) ([]byte, string, *loader.Image, []string, error) {
	data, abs, err := readProgram(host)
	if err != nil {
		var ee *ExecError
		if errors.As(err, &ee) && ee.Status == 127 {
			return nil, "", nil, nil, unix.ENOENT
		}
		return nil, "", nil, nil, unix.EACCES
	}
	if bytes.HasPrefix(data, []byte("#!")) {
		if depth >= maxInterpDepth {
			return nil, "", nil, nil, unix.ELOOP
		}
		line, _, _ := bytes.Cut(data[2:min(len(data), 256)], []byte("\n"))
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			return nil, "", nil, nil, unix.ENOEXEC
		}
		// Linux passes everything after the interpreter as one argument.
		interp := fields[0]
		next := []string{interp}
		if rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(line)), interp)); rest != "" {
			next = append(next, rest)
		}
		next = append(next, path)
		if len(argv) > 1 {
			next = append(next, argv[1:]...)
		}
		ihost := interp
		if !filepath.IsAbs(ihost) {
			ihost = filepath.Join(t.p.fs.cwd, ihost)
		}
		return t.loadProgram(ihost, interp, next, depth+1)
	}
	img, err := loader.Parse(data)
	if errors.Is(err, loader.ErrDynamic) {
		w := t.p.k.cfg.Stderr
		if w == nil {
			w = os.Stderr // nil means vemu's own, as for the guest's fd 2
		}
		fmt.Fprintf(w, "vemu: %s: dynamically linked programs are not supported (its interpreter %s is missing here)\n", path, img.Interp)
		return nil, "", nil, nil, unix.ENOENT
	}
	if err != nil {
		return nil, "", nil, nil, unix.ENOEXEC
	}
	return data, abs, img, argv, nil
}

// strArray reads a NULL-terminated array of string pointers (argv, envp).
func (t *Task) strArray(addr mm.Addr) ([]string, error) {
	var out []string
	if addr == 0 {
		return nil, nil
	}
	size := 0
	for i := 0; ; i++ {
		if i > 1<<16 {
			return nil, unix.E2BIG
		}
		var b [8]byte
		if err := t.p.mm.CopyIn(addr+mm.Addr(8*i), b[:]); err != nil {
			return nil, err
		}
		ptr := binary.LittleEndian.Uint64(b[:])
		if ptr == 0 {
			return out, nil
		}
		s, err := t.p.mm.CopyString(mm.Addr(ptr), 128<<10)
		if err != nil {
			if err == unix.ENAMETOOLONG {
				return nil, unix.E2BIG
			}
			return nil, err
		}
		if size += len(s) + 9; size > 2<<20 {
			return nil, unix.E2BIG
		}
		out = append(out, s)
	}
}

// execImage replaces the process's program, past the point of no return: other threads
// end, close-on-exec files close, handled signals return to their default action.
func (t *Task) execImage(data []byte, abs, path string, img *loader.Image, argv, envp []string) {
	p, k := t.p, t.p.k
	for _, o := range p.tasks {
		if o != t {
			o.state = taskDead
			k.dropThread(o.tid)
		}
	}
	p.reap()
	k.clock.detach(p)
	cpu, err := emu.New()
	if err != nil {
		t.kill(abi.SIGKILL, "exec: "+err.Error())
		return
	}
	p.mm.Close()
	p.takeFast()
	p.cpu.Close()
	p.cpu, t.cpu = cpu, cpu
	p.kick.Store(cpu)
	p.mm = mm.New(cpu)
	p.exe, p.execFn, p.argv, p.envp = abs, path, argv, envp
	p.vdso = vdsoMapping{}
	p.files.closeOnExec()
	p.deleteTimers()
	for i := range p.sigactions {
		if p.sigactions[i].Handler != abi.SIG_IGN {
			p.sigactions[i] = abi.Sigaction{}
		}
	}
	p.dispositionsChanged()
	t.clearChildTID, t.robustList = 0, 0
	t.execSignals()
	if t.ctx != nil {
		t.ctx.Free()
	}
	t.ctx, _ = cpu.NewContext()
	p.cur = t
	p.quantum = false
	if err := k.load(p, data, img); err != nil {
		t.kill(abi.SIGSEGV, "exec: "+err.Error())
		return
	}
	if err := p.installHooks(); err != nil {
		t.kill(abi.SIGSEGV, "exec: "+err.Error())
		return
	}
	cpu.SetReg(emu.RIP, p.entry)
	k.clock.attach(p)
	k.pt.mu.Lock()
	p.execed = true
	if p.vforkDone != nil {
		close(p.vforkDone)
		p.vforkDone = nil
	}
	k.pt.mu.Unlock()
}

// sysFutex implements futex(2) for the threads of this process.
func sysFutex(t *Task, a Args) (uint64, error) {
	p := t.p
	addr, op, val := a[0], a.Int(1), a.Uint(2)
	cmd := op & abi.FUTEX_CMD_MASK
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	load := func(at uint64) (uint32, error) {
		var b [4]byte
		if err := p.mm.CopyIn(mm.Addr(at), b[:]); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint32(b[:]), nil
	}
	switch cmd {
	case abi.FUTEX_WAIT, abi.FUTEX_WAIT_BITSET:
		bits := uint32(abi.FUTEX_BITSET_MATCH_ANY)
		if cmd == abi.FUTEX_WAIT_BITSET {
			if bits = a.Uint(5); bits == 0 {
				return 0, unix.EINVAL
			}
		}
		cur, err := load(addr)
		if err != nil {
			return 0, err
		}
		if cur != val {
			return 0, unix.EAGAIN
		}
		var timeout time.Duration = -1
		if a[3] != 0 {
			ts, err := t.getTimespec(a.Ptr(3))
			if err != nil {
				return 0, err
			}
			d := time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec)
			if cmd == abi.FUTEX_WAIT_BITSET {
				// An absolute time on MONOTONIC, or REALTIME with FUTEX_CLOCK_REALTIME.
				clk := int32(abi.CLOCK_MONOTONIC)
				if op&abi.FUTEX_CLOCK_REALTIME != 0 {
					clk = abi.CLOCK_REALTIME
				}
				now, _ := p.k.clock.Now(clk)
				d -= time.Duration(now.Sec)*time.Second + time.Duration(now.Nsec)
			}
			if d <= 0 {
				return 0, unix.ETIMEDOUT
			}
			timeout = d
		}
		t.futexAddr, t.futexBits = addr, bits
		p.futexes[addr] = append(p.futexes[addr], t)
		r, err := t.park()
		pend := t.pending
		pend.nr, pend.args = abi.SYS_FUTEX, a
		// Linux restarts an untimed wait under SA_RESTART; a timed one ends with EINTR.
		kind := intrRestart
		if timeout >= 0 {
			kind = intrBlock
		}
		t.interruptible(kind, func() { p.futexRemove(t) })
		if timeout >= 0 {
			gen := t.gen + 1 // the generation park will give this wait
			p.after(timeout, func() {
				if t.gen == gen && t.state == taskBlocked && t.futexAddr == addr {
					p.futexRemove(t)
					t.complete(pend, 0, unix.ETIMEDOUT)
				}
			})
		}
		return r, err
	case abi.FUTEX_WAKE, abi.FUTEX_WAKE_BITSET:
		bits := uint32(abi.FUTEX_BITSET_MATCH_ANY)
		if cmd == abi.FUTEX_WAKE_BITSET {
			if bits = a.Uint(5); bits == 0 {
				return 0, unix.EINVAL
			}
		}
		return uint64(p.futexWake(addr, int(val), bits)), nil
	case abi.FUTEX_REQUEUE, abi.FUTEX_CMP_REQUEUE:
		if cmd == abi.FUTEX_CMP_REQUEUE {
			cur, err := load(addr)
			if err != nil {
				return 0, err
			}
			if cur != a.Uint(5) {
				return 0, unix.EAGAIN
			}
		}
		n := p.futexWake(addr, int(val), abi.FUTEX_BITSET_MATCH_ANY)
		moved := 0
		limit := int(a.Uint(3))
		for _, w := range append([]*Task(nil), p.futexes[addr]...) {
			if moved >= limit {
				break
			}
			p.futexRemove(w)
			w.futexAddr = a[4]
			p.futexes[a[4]] = append(p.futexes[a[4]], w)
			moved++
		}
		return uint64(n + moved), nil
	case abi.FUTEX_WAKE_OP:
		addr2 := a[4]
		old, err := load(addr2)
		if err != nil {
			return 0, err
		}
		enc := a.Uint(5)
		opn, cmp := (enc>>28)&7, (enc>>24)&15
		oparg, cmparg := (enc>>12)&0xfff, enc&0xfff
		if enc&(8<<28) != 0 {
			oparg = 1 << (oparg & 31)
		}
		var nv uint32
		switch opn {
		case 0:
			nv = oparg
		case 1:
			nv = old + oparg
		case 2:
			nv = old | oparg
		case 3:
			nv = old &^ oparg
		case 4:
			nv = old ^ oparg
		default:
			return 0, unix.ENOSYS
		}
		if err := p.mm.CopyOut(mm.Addr(addr2), binary.LittleEndian.AppendUint32(nil, nv)); err != nil {
			return 0, err
		}
		n := p.futexWake(addr, int(val), abi.FUTEX_BITSET_MATCH_ANY)
		o, c := int32(old), int32(cmparg)
		var hit bool
		switch cmp {
		case 0:
			hit = o == c
		case 1:
			hit = o != c
		case 2:
			hit = o < c
		case 3:
			hit = o <= c
		case 4:
			hit = o > c
		case 5:
			hit = o >= c
		default:
			return 0, unix.ENOSYS
		}
		if hit {
			n += p.futexWake(addr2, int(a.Uint(3)), abi.FUTEX_BITSET_MATCH_ANY)
		}
		return uint64(n), nil
	}
	return 0, unix.ENOSYS
}

// futexWake wakes up to n threads waiting on addr whose bitset meets bits.
func (p *Process) futexWake(addr uint64, n int, bits uint32) int {
	woken := 0
	for _, w := range append([]*Task(nil), p.futexes[addr]...) {
		if woken >= n {
			break
		}
		if w.futexBits&bits == 0 {
			continue
		}
		p.futexRemove(w)
		if w.state == taskBlocked {
			w.complete(nil, 0, nil)
			if w.trace {
				w.traceCall(abi.SYS_FUTEX, Args{addr}, 0)
			}
		}
		woken++
	}
	return woken
}

func (p *Process) futexRemove(t *Task) {
	q := p.futexes[t.futexAddr]
	for i, w := range q {
		if w == t {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(p.futexes, t.futexAddr)
	} else {
		p.futexes[t.futexAddr] = q
	}
	t.futexAddr = 0
}
