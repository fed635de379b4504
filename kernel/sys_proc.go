package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// sysExit implements exit(2): the thread ends; the last one ends the process.
func sysExit(t *Task, a Args) (uint64, error) {
	if code := int(a.Int(0) & 0xff); !t.exitStop(code) {
		t.threadExit(code)
	}
	return 0, nil
}

// sysExitGroup implements exit_group(2).
func sysExitGroup(t *Task, a Args) (uint64, error) {
	t.exitProcess(int(a.Int(0) & 0xff))
	return 0, nil
}

func sysGetpid(t *Task, a Args) (uint64, error) { return uint64(t.p.pid), nil }
func sysGetppid(t *Task, a Args) (uint64, error) {
	// The parent may die meanwhile: its exit gives its children another (under pt.mu).
	t.p.k.pt.mu.Lock()
	defer t.p.k.pt.mu.Unlock()
	return uint64(t.p.ppid), nil
}
func sysGettid(t *Task, a Args) (uint64, error)  { return uint64(t.tid), nil }
func sysGetpgrp(t *Task, a Args) (uint64, error) { return uint64(t.p.groupID()), nil }

// idsOf returns the process group and session of process pid (0: the caller), zombies
// included.
func (t *Task) idsOf(pid int32) (pgid, sid int, err error) {
	k := t.p.k
	k.pt.mu.Lock()
	q := t.p
	if pid != 0 {
		q = k.pt.procs[int(pid)]
	}
	if q != nil {
		pgid, sid = q.pgid, q.sid
	}
	k.pt.mu.Unlock()
	if q == nil {
		return k.hostIDs(int(pid))
	}
	return pgid, sid, nil
}

// hostIDs answers getpgid and getsid of pid, which is no guest process, with the host's
// process group and session of it: pids outside the guest are the host's, as the first
// process's own group and session are (see sessionIDs). Repeatable runs (--seed) see no
// host process.
func (k *Kernel) hostIDs(pid int) (pgid, sid int, err error) {
	if !k.hostPid(pid) {
		return 0, 0, unix.ESRCH
	}
	if pgid, err = unix.Getpgid(pid); err != nil {
		return 0, 0, err
	}
	if sid, err = unix.Getsid(pid); err != nil {
		return 0, 0, err
	}
	return pgid, sid, nil
}

// sysGetpgid implements getpgid(2).
func sysGetpgid(t *Task, a Args) (uint64, error) {
	pgid, _, err := t.idsOf(a.Int(0))
	return uint64(pgid), err
}

// sysGetsid implements getsid(2).
func sysGetsid(t *Task, a Args) (uint64, error) {
	_, sid, err := t.idsOf(a.Int(0))
	return uint64(sid), err
}

// sysSetpgid implements setpgid(2) for the caller and its children, with Linux's checks:
// a child that has called execve cannot be moved (EACCES), nor a session leader, nor a
// process of another session, and the group must exist in the session unless it is the
// process's own pid (EPERM).
func sysSetpgid(t *Task, a Args) (uint64, error) {
	p, k := t.p, t.p.k
	pid, pgid := int(a.Int(0)), int(a.Int(1))
	if pid == 0 {
		pid = p.pid
	}
	if pgid == 0 {
		pgid = pid
	}
	if pgid < 0 {
		return 0, unix.EINVAL
	}
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	target := p
	if pid != p.pid {
		target = nil
		for _, c := range p.children {
			if c.pid == pid {
				target = c
			}
		}
		if target == nil {
			return 0, unix.ESRCH
		}
		if target.execed {
			return 0, unix.EACCES
		}
	}
	if target.sid == target.pid || target.sid != p.sid {
		return 0, unix.EPERM
	}
	if pgid != target.pid {
		found := false
		for _, q := range k.pt.procs {
			if q.pgid == pgid && q.sid == p.sid {
				found = true
				break
			}
		}
		if !found {
			return 0, unix.EPERM
		}
	}
	k.regroupLocked(target, pgid, target.sid)
	return 0, nil
}

// sysSetsid implements setsid(2).
func sysSetsid(t *Task, a Args) (uint64, error) {
	p, k := t.p, t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	for _, q := range k.pt.procs {
		if q.pgid == p.pid {
			return 0, unix.EPERM // a group leader, or its pid names a group
		}
	}
	k.regroupLocked(p, p.pid, p.pid)
	k.newSession(p)
	return uint64(p.sid), nil
}

// sysUmask implements umask(2): the calling thread's, shared with the threads that share
// its working directory. The host applies it from the next call on (fs.go).
func sysUmask(t *Task, a Args) (uint64, error) {
	return uint64(t.p.fs.umask.Swap(uint32(a.Uint(0)) & 0o777)), nil
}

// xfeatureFPSSE is the mask of the x87 and SSE state's extended-state features.
const xfeatureFPSSE = 3

// sysArchPrctl implements arch_prctl(2): the FS and GS bases, and CPUID faulting queries.
func sysArchPrctl(t *Task, a Args) (uint64, error) {
	switch a.Int(0) {
	case abi.ARCH_SET_FS, abi.ARCH_SET_GS:
		if a[1] >= uint64(mm.TaskSize) {
			return 0, unix.EPERM
		}
		r := emu.FSBase
		if a.Int(0) == abi.ARCH_SET_GS {
			r = emu.GSBase
		}
		return 0, t.cpu.SetReg(r, a[1])
	case abi.ARCH_GET_FS, abi.ARCH_GET_GS:
		r := emu.FSBase
		if a.Int(0) == abi.ARCH_GET_GS {
			r = emu.GSBase
		}
		return 0, t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint64(nil, t.cpu.Reg(r)))
	case abi.ARCH_GET_CPUID:
		return 1, nil
	case abi.ARCH_SET_CPUID:
		return 0, unix.ENODEV
	case abi.ARCH_GET_XCOMP_SUPP, abi.ARCH_GET_XCOMP_PERM:
		// The CPU has no XSAVE: Linux offers and permits the legacy x87 and SSE state.
		return 0, t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint64(nil, xfeatureFPSSE))
	case abi.ARCH_MAP_VDSO_32, abi.ARCH_MAP_VDSO_64:
		// As Linux's map_vdso_once (with 32-bit emulation built in): the process has its
		// vDSO from exec.
		if t.p.vdso.base != 0 {
			return 0, unix.EEXIST
		}
	}
	return 0, unix.EINVAL
}

// sysSetTidAddress implements set_tid_address(2).
func sysSetTidAddress(t *Task, a Args) (uint64, error) {
	t.clearChildTID = a.Ptr(0)
	return uint64(t.tid), nil
}

// sysSetRobustList implements set_robust_list(2).
func sysSetRobustList(t *Task, a Args) (uint64, error) {
	if a[1] != 24 {
		return 0, unix.EINVAL
	}
	t.robustList = a.Ptr(0)
	return 0, nil
}

// sysGetRobustList implements get_robust_list(2) for the calling thread.
func sysGetRobustList(t *Task, a Args) (uint64, error) {
	if pid := a.Int(0); pid != 0 && int(pid) != t.tid {
		return 0, unix.ESRCH
	}
	if err := t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint64(nil, uint64(t.robustList))); err != nil {
		return 0, err
	}
	return 0, t.p.mm.CopyOut(a.Ptr(2), binary.LittleEndian.AppendUint64(nil, 24))
}

// sysPrctl implements the prctl(2) options static programs use.
func sysPrctl(t *Task, a Args) (uint64, error) {
	switch a.Int(0) {
	case abi.PR_SET_NAME:
		// As Linux: at most 15 bytes are read, whatever follows them.
		var name []byte
		for i := 0; i < taskCommLen-1; i++ {
			var c [1]byte
			if err := t.p.mm.CopyIn(a.Ptr(1)+mm.Addr(i), c[:]); err != nil {
				return 0, err
			}
			if c[0] == 0 {
				break
			}
			name = append(name, c[0])
		}
		t.setComm(string(name))
		return 0, nil
	case abi.PR_GET_NAME:
		return 0, t.p.mm.CopyOut(a.Ptr(1), append([]byte(t.commName()), 0))
	case abi.PR_GET_DUMPABLE:
		if t.p.notDumpable {
			return 0, nil
		}
		return 1, nil
	case abi.PR_SET_DUMPABLE:
		// As Linux: 0 or 1 (SUID_DUMP_USER); 2 only through fs.suid_dumpable.
		if a[1] > 1 {
			return 0, unix.EINVAL
		}
		t.p.setNotDumpable(a[1] == 0)
		return 0, nil
	case abi.PR_SET_PDEATHSIG:
		if a[1] >= abi.NSIG {
			return 0, unix.EINVAL
		}
		k := t.p.k
		k.pt.mu.Lock()
		t.p.pdeathsig = int(a[1])
		k.pt.mu.Unlock()
		return 0, nil
	case abi.PR_GET_PDEATHSIG:
		k := t.p.k
		k.pt.mu.Lock()
		sig := t.p.pdeathsig
		k.pt.mu.Unlock()
		return 0, t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint32(nil, uint32(sig)))
	case abi.PR_SET_CHILD_SUBREAPER:
		k := t.p.k
		k.pt.mu.Lock()
		t.p.subreaper = a[1] != 0
		k.pt.mu.Unlock()
		return 0, nil
	case abi.PR_GET_CHILD_SUBREAPER:
		k := t.p.k
		k.pt.mu.Lock()
		v := uint32(0)
		if t.p.subreaper {
			v = 1
		}
		k.pt.mu.Unlock()
		return 0, t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint32(nil, v))
	case abi.PR_SET_VMA:
		// As a kernel built without CONFIG_ANON_VMA_NAME: vemu keeps no names for
		// anonymous mappings, and a program told they work reads /proc/self/maps
		// without them (Go's runtime tests that).
		return 0, unix.EINVAL
	case abi.PR_SET_NO_NEW_PRIVS:
		// Once set, for good: inherited by clone and fork, kept across execve.
		if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		t.seccomp.nnp = true
		return 0, nil
	case abi.PR_GET_NO_NEW_PRIVS:
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		if t.seccomp.nnp {
			return 1, nil
		}
		return 0, nil
	case abi.PR_GET_TSC:
		// rdtsc is always allowed: vemu cannot make it fault cheaply (see PR_SET_TSC).
		return 0, t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint32(nil, abi.PR_TSC_ENABLE))
	case abi.PR_SET_TSC:
		if a[1] == abi.PR_TSC_ENABLE {
			return 0, nil
		}
		return 0, unix.EINVAL // PR_TSC_SIGSEGV, as on a CPU that cannot trap rdtsc
	case abi.PR_GET_SECCOMP:
		return uint64(t.seccomp.mode), nil
	case abi.PR_SET_SECCOMP:
		// As Linux's prctl_set_seccomp(): strict mode ignores the filter argument.
		switch a[1] {
		case abi.SECCOMP_MODE_STRICT:
			return t.doSeccomp(abi.SECCOMP_SET_MODE_STRICT, 0, 0)
		case abi.SECCOMP_MODE_FILTER:
			return t.doSeccomp(abi.SECCOMP_SET_MODE_FILTER, 0, a.Ptr(2))
		}
		return 0, unix.EINVAL
	case abi.PR_GET_TIMERSLACK:
		return t.p.slack(), nil
	case abi.PR_SET_TIMERSLACK:
		// As Linux: 0 (or a negative value) goes back to the default.
		if int64(a[1]) <= 0 {
			t.p.timerSlack = 0
		} else {
			t.p.timerSlack = a[1]
		}
		return 0, nil
	case abi.PR_SET_MM:
		return t.prctlSetMM(a)
	case abi.PR_GET_TIMING, prTaskPerfEventsDisable, prTaskPerfEventsEnable:
		// Statistical timing (0), the only kind; no perf events to switch.
		return 0, nil
	case abi.PR_SET_TIMING:
		if a[1] != 0 { // PR_TIMING_STATISTICAL
			return 0, unix.EINVAL
		}
		return 0, nil
	case abi.PR_MCE_KILL, abi.PR_MCE_KILL_GET:
		return t.prctlMCE(a)
	case abi.PR_GET_TID_ADDRESS:
		return 0, t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint64(nil, uint64(t.clearChildTID)))
	case abi.PR_SET_THP_DISABLE:
		if a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		t.p.thpDisabled = a[1] != 0
		return 0, nil
	case abi.PR_GET_THP_DISABLE:
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		if t.p.thpDisabled {
			return 1, nil
		}
		return 0, nil
	case abi.PR_SET_IO_FLUSHER, abi.PR_GET_IO_FLUSHER:
		if !t.p.creds.capable(capSysResource) {
			return 0, unix.EPERM
		}
		if a[2] != 0 || a[3] != 0 || a[4] != 0 || a.Int(0) == abi.PR_GET_IO_FLUSHER && a[1] != 0 {
			return 0, unix.EINVAL
		}
		if a.Int(0) == abi.PR_GET_IO_FLUSHER {
			if t.ioFlusher {
				return 1, nil
			}
			return 0, nil
		}
		if a[1] > 1 {
			return 0, unix.EINVAL
		}
		t.ioFlusher = a[1] == 1
		return 0, nil
	case abi.PR_SET_SYSCALL_USER_DISPATCH:
		// Switching it off, when it was never on, is all vemu does.
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case prGetMDWE:
		// Memory-deny-write-execute is never on (PR_SET_MDWE is EINVAL).
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case abi.PR_GET_KEEPCAPS, abi.PR_SET_KEEPCAPS, abi.PR_CAPBSET_READ, abi.PR_CAPBSET_DROP,
		abi.PR_GET_SECUREBITS, abi.PR_SET_SECUREBITS, abi.PR_CAP_AMBIENT:
		k := t.p.k
		k.pt.mu.Lock()
		defer k.pt.mu.Unlock()
		return t.prctlCaps(a)
	}
	return 0, unix.EINVAL
}

// prctl options abi does not name.
const (
	prTaskPerfEventsDisable = 31
	prTaskPerfEventsEnable  = 32
	prGetMDWE               = 66
)

// PR_MCE_KILL's arguments and flags of a thread's policy for memory errors.
const (
	prMCEKillClear   = 0
	prMCEKillSet     = 1
	prMCEKillLate    = 0
	prMCEKillEarly   = 1
	prMCEKillDefault = 2
	mceProcess       = 1 // Linux's PF_MCE_PROCESS: the thread's own policy
	mceEarly         = 2 // PF_MCE_EARLY
)

// prctlMCE implements PR_MCE_KILL and PR_MCE_KILL_GET as Linux does, down to a bad
// policy that still leaves the thread with a policy of its own.
func (t *Task) prctlMCE(a Args) (uint64, error) {
	if a.Int(0) == abi.PR_MCE_KILL_GET {
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		switch {
		case t.mceKill&mceProcess == 0:
			return prMCEKillDefault, nil
		case t.mceKill&mceEarly != 0:
			return prMCEKillEarly, nil
		}
		return prMCEKillLate, nil
	}
	if a[3] != 0 || a[4] != 0 {
		return 0, unix.EINVAL
	}
	switch a[1] {
	case prMCEKillClear:
		if a[2] != 0 {
			return 0, unix.EINVAL
		}
		t.mceKill &^= mceProcess
	case prMCEKillSet:
		t.mceKill |= mceProcess
		switch a[2] {
		case prMCEKillEarly:
			t.mceKill |= mceEarly
		case prMCEKillLate:
			t.mceKill &^= mceEarly
		case prMCEKillDefault:
			t.mceKill = 0
		default:
			return 0, unix.EINVAL
		}
	default:
		return 0, unix.EINVAL
	}
	return 0, nil
}

// taskCommLen is Linux's TASK_COMM_LEN: a thread's name is at most 15 bytes and a NUL.
const taskCommLen = 16

// commName is the thread's name: what PR_SET_NAME set, or its program's base name.
func (t *Task) commName() string {
	if t.named {
		return t.comm
	}
	return t.p.comm
}

// execName is the name a process gets from exec of path: its last component, cut to
// TASK_COMM_LEN-1 bytes.
func execName(path string) string {
	n := baseName(path)
	if len(n) > taskCommLen-1 {
		n = n[:taskCommLen-1]
	}
	return n
}

// setComm names the thread; the main thread's name is the process's, which other
// processes read in /proc/PID/comm and stat.
func (t *Task) setComm(name string) {
	t.comm, t.named = name, true
	if t.tid != t.p.pid {
		return
	}
	if pub := t.p.pubExec.Load(); pub != nil {
		now := *pub
		now.comm = t.commName()
		t.p.pubExec.Store(&now)
	}
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// personalityQuery is personality(2)'s argument that only asks.
const personalityQuery = 0xffffffff

// sysPersonality implements personality(2): the persona is kept per process and inherited,
// and reported back; vemu's guests always run as PER_LINUX whatever it says.
func sysPersonality(t *Task, a Args) (uint64, error) {
	old := t.p.persona
	if p := a.Uint(0); p != personalityQuery {
		t.p.persona = p
	}
	return uint64(old), nil
}

// defaultTimerSlack is Linux's default timer slack, 50 µs.
const defaultTimerSlack = 50000

// slack is the process's timer slack (PR_GET_TIMERSLACK): kept and inherited, it does
// not change how vemu's timers fire.
func (p *Process) slack() uint64 {
	if p.timerSlack == 0 {
		return defaultTimerSlack
	}
	return p.timerSlack
}
