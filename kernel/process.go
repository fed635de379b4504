package kernel

import (
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
	"vemu/loader"
)

// execInfo is what exec gives a process and fork copies: which program it runs, and how
// it was started.
type execInfo struct {
	exe    string   // absolute host path of the program (/proc/self/exe)
	execFn string   // the path as given to exec (AT_EXECFN)
	comm   string   // the name exec gave the process (execName)
	argv   []string // as exec gave them
	envp   []string
	strs   argArea // where their strings are in memory, for /proc/PID/{cmdline,environ}
	auxv   []loader.Aux
	entry  uint64
	// startStack is where the first thread's stack pointer started, at argc
	// (Linux's start_stack).
	startStack uint64
	// The program's code and data as Linux's load_elf_binary() bounds them (start_code,
	// end_code, start_data, end_data), for /proc's stat and status.
	startCode, endCode, startData, endData uint64
}

// newProcess makes a process around an engine and its address space, with one thread
// whose tid is pid and whose registers the engine holds: what exec's first process and
// fork's children build alike. On error it closes the engine and the space.
func (k *Kernel) newProcess(cpu *emu.Engine, space *mm.Space, pid int, prog execInfo) (*Process, *Task, error) {
	p := &Process{k: k, cpu: cpu, mm: space, pid: pid, execInfo: prog,
		wake: make(chan wakeup, 16), futexes: futexQueues[mm.Addr]{}, ticks: k.seed, coreFilter: mm.DumpFilterDefault}
	p.kick.Store(cpu)
	p.publishExec()
	now, _ := k.clock.Now(abi.CLOCK_BOOTTIME)
	p.startTicks = uint64(now.Sec)*clkTck + uint64(now.Nsec)/(1e9/clkTck)
	initDescriptors(cpu)
	t, err := p.newTask(pid)
	if err != nil {
		p.close()
		return nil, nil, err
	}
	p.cur = t
	return p, t, nil
}

// Process is a guest process: an address space, open files and signal dispositions,
// shared by its threads.
type Process struct {
	k    *Kernel
	cpu  *emu.Engine
	kick atomic.Pointer[emu.Engine] // cpu, for other goroutines to Kick
	mm   *mm.Space
	// files and fs are the descriptor table and working directory of the thread the
	// process acts for (see threadfiles.go).
	files *FDTable
	fs    *fsContext
	// mainFiles and mainFS are those of the threads without their own, once a thread
	// has tables of its own (nil until then: every thread uses files and fs).
	mainFiles *FDTable
	mainFS    *fsContext
	// otherTids are the process's threads in the kernel's map of thread ids
	// (procTable.tids), for its exit and other processes' /proc reads; guarded by
	// procTable.mu.
	otherTids map[int]struct{}
	// view is what other processes' /proc reads see of the tables (procpeer.go).
	view procView
	// startTicks is when the process was made, in clock ticks since boot on the guest's
	// clock (the starttime of /proc/PID/stat).
	startTicks uint64

	pid, ppid, pgid, sid int

	execInfo

	sigactions [abi.NSIG]abi.Sigaction
	rlimits    [abi.RLIM_NLIMITS]abi.Rlimit
	cpuLimit   cpuLimitWatch // RLIMIT_CPU's signals (sys_rlimit.go)

	vdso vdsoMapping

	dbg *Debugger // the debugger's view, when the process is debugged (see debug.go)
	hw  hwHooks   // the engine's hooks for its threads' debug registers (hwbreak.go)

	exit *ExitStatus // set once the process has exited
	stop bool        // the CPU must stop: exit, or control flow the hook cannot change

	// Threads: all share cpu; the one whose registers the engine holds is cur.
	tasks []*Task
	cur   *Task
	runq  runQueue // the threads that can run (runq.go)
	// Turns given to threads that woke (wakeup.go): the blocks they may still run before
	// the next turn in the plain order, whether this turn is one, whether guest code runs
	// now, where it started, and whether the running thread stops for one it woke.
	boostLeft   int64
	turnBoosted bool
	inRun       bool
	turnStart   uint64
	preempt     uint8
	ticks       uint64        // the state the lengths of quanta are drawn from (nextQuantum)
	parks       parkSet       // threads parked on host fds in repeatable runs (intr.go)
	live, dead  int           // threads alive, and dead ones tasks still holds
	dying       []*Task       // threads dead since the last reap
	byTID       map[int]*Task // the live threads

	// The running thread's turn goes on after its stop (keepTurn), which did not end it:
	// its quantum had time left and it did not yield (yielded).
	keepTurn, yielded bool
	wokeReleased      bool // this call woke a thread waiting for the lock it released

	// How many live threads block each signal, and what that gives (sigcount.go).
	blockCount             [64]int32
	blockedAll, blockedAny uint64
	maskStale              bool
	maskDirty              []*Task
	cpuMark                int64                     // the loop's CPU time when cur was last charged (threadcpu.go)
	wake                   chan wakeup               // completions of blocking calls, timers, signals from elsewhere
	futexes                futexQueues[mm.Addr]      // private futex waits
	swaits                 map[*futexWaiter]struct{} // shared futex waits, guarded by the table's mu
	piGone                 []int                     // ended threads the PI table keeps until the process ends
	vtimers                vtimers                   // virtual-clock timeouts (see advanceVirtual and idle)
	idleEvent              int                       // eventfd + 1 that ends idle's wait on parked fds; 0 when not made
	quantum                bool                      // deterministic preemption is installed
	pkeyTaken              bool                      // pkey_alloc took key 0 for good (sys_absent.go)
	thpDisabled            bool                      // PR_SET_THP_DISABLE's, kept across exec as Linux's MMF_DISABLE_THP
	ldtEntries             int                       // the LDT's size in entries, as modify_ldt reads it (ldt.go)
	mpolRanges             []mpolRange               // mbind's policies, sorted (sys_mempolicy.go)
	sharesMem              bool                      // runs only holding the kernel's shared CPU (sharedcpu.go)
	vmShared               bool                      // runs in memory of another process's (CLONE_VM): its futexes are all shared
	stopped                bool                      // stopped by a stop signal: no thread runs until SIGCONT
	persona                uint32                    // personality(2)'s value, kept and reported
	creds                  creds                     // user and group ids
	vvarCPU                uint32                    // the CPU the vvar page reports; the timekeeper's mu
	onThread               fileCreds                 // what the run loop's thread acts with now (fs.go)
	ownFS                  bool                      // the run loop's thread has a host fs_struct of its own (fs.go)
	sigQueued              sigCount                  // siginfo queued in its queues and its threads'
	signalfds              []*signalFD               // whose readiness follows the pending signals
	nice                   int                       // the nice value, -20..19 (getpriority, setpriority), guarded by pt.mu
	ioprio                 uint16                    // ioprio_set's value, guarded by pt.mu
	policy                 int32                     // sched_setscheduler's policy, guarded by pt.mu
	resetOnFork            bool                      // SCHED_RESET_ON_FORK
	used                   usage                     // what the run loop's thread used, at exit
	rssPeak                uint64                    // the most resident memory /proc saw (VmHWM)
	childUsed              usage                     // what the children waited for used, and theirs; pt.mu
	oom                    oomAdj                    // oom_score_adj and its floor (procmisc.go)
	coreFilter             uint32                    // coredump_filter's bits: fork and exec keep them
	ioac                   ioCounts                  // what /proc/PID/io counts
	timerSlack             uint64                    // PR_SET_TIMERSLACK's value; 0 is the default
	pubState               atomic.Uint32             // 'S' or 'T' while the run loop is idle, else 0 (procother.go)
	pubExec                atomic.Pointer[execPub]   // the program, for other processes' /proc reads
	execs                  atomic.Uint64             // the execs that gave it a new address space
	lastFork               *Process                  // the child the last fork or clone made, for clone's own steps
	membarrier             uint32                    // membarrier(2) registrations
	shm                    map[mm.Addr]shmAttach     // shmat's attachments, guarded by the IPC lock
	aio                    map[mm.Addr]*aioCtx       // io_setup's contexts, by ring address
	exitEvent              int                       // eventfd + 1 written at exit, behind pidfds; 0 when not made; pt.mu

	// affinities holds the masks its threads set with sched_setaffinity, by tid, for
	// other processes' sched_getaffinity; guarded by the kernel's pt.mu.
	affinities map[int]unix.CPUSet

	blocksSeen uint64 // the CPU's blocks run that the virtual clock has counted

	// recycle, for a process an Image started, hands its CPU back to the image at the
	// end instead of closing it; it reports whether it did.
	recycle func() bool

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
	fatalHost          atomic.Uint64 // of a tracee: what a signal from the host ends it with
	attaching          atomic.Bool   // PTRACE_ATTACH or SEIZE made it a tracee; its loop has yet to install the tracer
	doomed             atomic.Int32
	doomInfo           atomic.Pointer[abi.Siginfo] // the siginfo of doomed's signal

	// Core dumps (coredump.go): the thread and the siginfo of the signal that ended the
	// process; whether it may dump (PR_SET_DUMPABLE, credential changes); and, for
	// other goroutines, whether it is dumping now and whether a signal ends the dump.
	coreTask    *Task
	coreInfo    abi.Siginfo
	notDumpable bool
	// notDumpablePub is notDumpable, for other processes' /proc reads (procpeer.go).
	notDumpablePub atomic.Bool
	dumping        atomic.Bool
	dumpStop       atomic.Bool
}

func (p *Process) close() {
	p.closeFiles()
	p.collectCoverage()
	for _, t := range p.tasks {
		// A thread's saved registers are C memory of their own, freed as it ends
		// (reap); a process closed without having run (a fork child never started)
		// still holds them.
		if t.ctx != nil {
			t.ctx.Free()
			t.ctx = nil
		}
	}
	if p.recycle != nil && p.recycle() {
		// The CPU and the mappings an Image can use again went back to it.
	} else {
		if p.mm != nil {
			p.mm.Close()
		}
		if p.cpu != nil {
			p.cpu.Close()
		}
	}
	if p.idleEvent != 0 {
		unix.Close(p.idleEvent - 1)
	}
	p.parks.close()
}

// closeFiles closes the process's descriptors and working directory. An exiting process
// does it before its parent can learn of the exit, as Linux's do_exit() runs exit_files()
// before exit_notify(): a parent that waited for the last other holder of a pipe's read
// end then finds the pipe without readers.
func (p *Process) closeFiles() {
	p.k.locks.releaseOwner(p.pid)
	p.unpublishTables()
	if p.mainFiles != nil {
		// Threads' own tables closed as their threads ended; the main ones close here.
		p.files, p.fs = p.mainFiles, p.mainFS
		p.mainFiles, p.mainFS = nil, nil
	}
	if p.files != nil {
		p.files.closeAll()
		p.files = nil
	}
	if p.fs != nil {
		p.fs.close()
		p.fs = nil
	}
}

// maps renders /proc/self/maps.
func (p *Process) maps() string { return p.mm.Maps() }

// lookupLocked finds the process with pid, or the process that has a thread with that id.
// The caller holds pt.mu.
func (k *Kernel) lookupLocked(id int) *Process {
	if q := k.pt.procs[id]; q != nil {
		return q
	}
	return k.pt.tids[id]
}

// threadOwner returns the live process with thread tid (its main thread when tid is a
// pid), or nil.
func (k *Kernel) threadOwner(tid int) *Process {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := k.lookupLocked(tid)
	if q == nil || q.zombie {
		return nil
	}
	return q
}

// addThread and dropThread keep the kernel's map from thread ids (other than a process's
// main thread, whose id is the pid) to processes, for tkill and kill from elsewhere.
func (k *Kernel) addThread(tid int, p *Process) {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if k.pt.tids == nil {
		k.pt.tids = map[int]*Process{}
	}
	if p.otherTids == nil {
		p.otherTids = map[int]struct{}{}
	}
	p.otherTids[tid] = struct{}{}
	k.pt.tids[tid] = p
}

func (k *Kernel) dropThread(tid int) {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if q := k.pt.tids[tid]; q != nil {
		delete(q.otherTids, tid)
		delete(q.affinities, tid)
	}
	delete(k.pt.tids, tid)
}

// procTable is the kernel's list of processes, for wait4, kill and parent links.
type procTable struct {
	mu      sync.Mutex
	procs   map[int]*Process
	tids    map[int]*Process // threads other than main threads, by id
	lastPID int
	// firstPID is the first process's pid: pids from it to lastPID are the guest's.
	firstPID int
	live     int // processes whose run loop has not ended
	// sessions are the sessions guest processes made, by id (ctty.go).
	sessions map[int]*session
	// groups are the process groups with live members, by id (pgroup.go).
	groups map[int]*pgroup
}

// family is a process's place in the tree, guarded by the kernel's procTable.mu (and so
// are the process's pgid and sid, which its parent may change).
type family struct {
	parent     *Process
	children   []*Process
	parentTid  int // the thread of parent that forked it or reaps it, for its children file
	zombie     bool
	exitSignal int           // sent to the parent at exit: SIGCHLD for fork, clone's choice else
	execed     bool          // the process has called execve (setpgid by its parent: EACCES)
	reported   bool          // a zombie whose parent has taken its exit: wait may report it
	childWake  chan struct{} // closed and replaced when a child changes state (wakeChildWaiters)
	vforkDone  chan struct{} // closed when a vfork child execs or exits
	// A vfork child in its parent's memory (CLONE_VM) moves the parent's program break
	// when it moves its own, as the two share one mm on Linux: it notes its break here
	// until it releases the parent, which then takes it (the heap's host memory is the
	// same, so what the child wrote there is in it).
	vforkHeap bool
	// shareParent is the process whose memory a CLONE_VM child runs in, and
	// shareSpace that process's space then: what the child maps for itself goes to it
	// when the child execs or exits (passMappings).
	shareParent   *Process
	shareSpace    *mm.Space
	vforkBrkMoved bool
	vforkBrk      mm.Addr
	done          chan struct{} // closed when the run loop has ended
	job           jobState      // stops and continuations for the parent's wait
	ptrace        *ptraceLink   // the tracer's link, while a guest process traces this one
	tracees       []*Process    // the processes this one traces (ptrace.go)
	gdb           bool          // debugged by the gdb stub: no guest tracer may attach
	// pdeathsig is the signal the process gets when its parent dies (PR_SET_PDEATHSIG);
	// subreaper makes it the parent of its orphaned descendants (PR_SET_CHILD_SUBREAPER).
	pdeathsig int
	subreaper bool
	// secureExec: the last execve changed ids or gained capabilities (AT_SECURE).
	secureExec bool
	groupLink  // its count in its process group (pgroup.go)
}

func (k *Kernel) register(p *Process) {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if k.pt.procs == nil {
		k.pt.procs = map[int]*Process{}
	}
	k.pt.procs[p.pid] = p
	if k.pt.firstPID == 0 || p.pid < k.pt.firstPID {
		k.pt.firstPID = p.pid
	}
	k.pt.live++
	if p.pid > k.pt.lastPID {
		k.pt.lastPID = p.pid
	}
	p.childWake = make(chan struct{})
	p.done = make(chan struct{})
	if k.killing.Load() {
		p.doomed.CompareAndSwap(0, abi.SIGKILL) // born after KillAll: it never runs
	}
}

// gaveLocked says whether pid is one vemu has given the guest: from the first process's
// (vemu's own, or the seed's) to the last one given. Called under pt.mu.
func (pt *procTable) gaveLocked(pid int) bool {
	return pid >= pt.firstPID && pid <= pt.lastPID
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
	p.shmDetachAll()
	p.semExit()
	p.dropSharedFutexes()
	p.aioExit(false)
	k.leaderExited(p)
	k.pt.mu.Lock()
	p.zombie = true
	// p leaves its group: when it was the group's last link to the rest of the session
	// and a member is stopped, the group is hung up (below, after its children's).
	ownGroup, ownLink := p.filed, p.linked
	k.unfileGroupLocked(p)
	if p.exitEvent != 0 {
		// The pidfds hold duplicates: they stay readable.
		p.signalExitEvent()
		unix.Close(p.exitEvent - 1)
		p.exitEvent = 0
	}
	if k.pt.live--; k.pt.live == 0 {
		// No process is left to map a frozen file again.
		k.frozen.release()
	}
	// The children are orphans now: their new parent is the nearest living subreaper
	// among p's ancestors, or else init, outside the guest, as on Linux (which also
	// makes their exit signal SIGCHLD). A child that asked for a signal at its parent's
	// death gets it.
	sub := p.parent
	for sub != nil && (!sub.subreaper || sub.zombie) {
		sub = sub.parent
	}
	type orphan struct {
		c   *Process
		sig int
	}
	var orphans []orphan
	var hangUp []int // groups the exit orphans with a stopped member
	for _, c := range p.children {
		// p connected c's group when it lived in another group of c's session.
		was := p.pgid != c.pgid && p.sid == c.sid
		c.parent, c.ppid, c.exitSignal = sub, 1, abi.SIGCHLD
		if sub != nil {
			c.ppid, c.parentTid = sub.pid, sub.pid
			sub.children = append(sub.children, c)
		} else if c.zombie {
			delete(k.pt.procs, c.pid) // nobody will wait for it now
		}
		k.relinkLocked(c)
		if k.orphanedNowLocked(c.pgid, was) && !slices.Contains(hangUp, c.pgid) {
			hangUp = append(hangUp, c.pgid)
		}
		orphans = append(orphans, orphan{c, c.pdeathsig})
	}
	p.children = nil
	if ownGroup != 0 && k.orphanedNowLocked(ownGroup, ownLink) && !slices.Contains(hangUp, ownGroup) {
		hangUp = append(hangUp, ownGroup)
	}
	for tid := range p.otherTids {
		delete(k.pt.tids, tid)
	}
	p.otherTids = nil
	letGo := p.tracerExitedLocked()
	tracer := p.traceeExitedLocked()
	parent := p.parent
	if p.vforkDone != nil {
		p.vforkHeap = false
		close(p.vforkDone)
		p.vforkDone = nil
	}
	if parent == nil {
		delete(k.pt.procs, p.pid)
	}
	if sub != nil && len(orphans) > 0 {
		sub.wakeChildWaiters()
	}
	k.pt.mu.Unlock()
	p.piForget(p.piGone...) // the process table no longer shows them alive
	p.piGone = nil
	k.hangUpOrphans(hangUp)
	for _, o := range orphans {
		switch {
		case o.c.zombie && sub != nil:
			// An exited child not yet waited for is the subreaper's to reap.
			c, info := o.c, childInfo(o.c)
			sub.send(wakeup{fn: func() { sub.childExited(c, info) }})
		case !o.c.zombie && o.sig != 0:
			p.deliverTo(o.c, 0, abi.Siginfo{Signo: int32(o.sig), Code: abi.SI_USER, Pid: int32(p.pid), UID: p.creds.ruid})
		}
	}
	close(p.done)
	for _, f := range letGo {
		f()
	}
	if tracer != nil {
		info := childInfo(p)
		tracer.send(wakeup{fn: func() { tracer.queueSignal(nil, info) }})
	}
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
	k.pt.mu.Lock()
	p.wakeChildWaiters()
	k.pt.mu.Unlock()
}

// wakeChildWaiters wakes every thread of p that waits for a child, however many there
// are: a closed channel reaches them all. Called with pt.mu held.
func (p *Process) wakeChildWaiters() {
	close(p.childWake)
	p.childWake = make(chan struct{})
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

// groupID returns the process group, which the parent may change (read under pt.mu).
func (p *Process) groupID() int {
	p.k.pt.mu.Lock()
	defer p.k.pt.mu.Unlock()
	return p.pgid
}

// thread returns the live thread of p with id tid.
func (p *Process) thread(tid int) *Task {
	return p.byTID[tid]
}

// exitInternal ends the process because of a bug in vemu, with status 125 and a message.
func (p *Process) exitInternal(err error) {
	if p.exit == nil {
		p.exit = &ExitStatus{Code: 125, Detail: err.Error()}
	}
	p.stop = true
}

// newPID returns the pid of a new process: the host's when runs need not repeat, a fixed
// one with a seed so that traces are identical.
func (k *Kernel) newPID() int {
	if k.cfg.HasSeed {
		return 1000
	}
	return os.Getpid()
}

func (k *Kernel) parentPID() int {
	if k.cfg.HasSeed {
		return 1
	}
	return os.Getppid()
}

// sessionIDs returns the process group and session of the first process. Unseeded, they are
// vemu's own, as a program started by a shell would see them; that includes 0 where the session
// leader is outside the pid namespace, as in many containers. Seeded, the process leads both.
func (k *Kernel) sessionIDs(pid int) (pgid, sid int) {
	if k.cfg.HasSeed {
		return pid, pid
	}
	pgid, sid = unix.Getpgrp(), pid
	if s, err := unix.Getsid(0); err == nil {
		sid = s
	}
	return pgid, sid
}
