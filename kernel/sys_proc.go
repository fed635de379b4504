package kernel

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// sysExit implements exit(2): the thread ends; the last one ends the process.
func sysExit(t *Task, a Args) (uint64, error) {
	t.threadExit(int(a.Int(0) & 0xff))
	return 0, nil
}

// sysExitGroup implements exit_group(2).
func sysExitGroup(t *Task, a Args) (uint64, error) {
	t.exitProcess(int(a.Int(0) & 0xff))
	return 0, nil
}

func (t *Task) exitProcess(code int) {
	if t.p.exit == nil {
		t.p.exit = &ExitStatus{Code: code}
	}
	t.p.stop = true
}

func sysGetpid(t *Task, a Args) (uint64, error)  { return uint64(t.p.pid), nil }
func sysGetppid(t *Task, a Args) (uint64, error) { return uint64(t.p.ppid), nil }
func sysGettid(t *Task, a Args) (uint64, error)  { return uint64(t.tid), nil }
func sysGetpgrp(t *Task, a Args) (uint64, error) { return uint64(t.p.groupID()), nil }

// groupID returns the process group, which the parent may change (read under pt.mu).
func (p *Process) groupID() int {
	p.k.pt.mu.Lock()
	defer p.k.pt.mu.Unlock()
	return p.pgid
}

// idsOf returns the process group and session of process pid (0: the caller), zombies
// included.
func (t *Task) idsOf(pid int32) (pgid, sid int, err error) {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := t.p
	if pid != 0 {
		if q = k.pt.procs[int(pid)]; q == nil {
			return 0, 0, unix.ESRCH
		}
	}
	return q.pgid, q.sid, nil
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
	target.pgid = pgid
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
	p.sid, p.pgid = p.pid, p.pid
	return uint64(p.sid), nil
}

// sysUmask implements umask(2). The guest's umask is the host process's, so files it
// creates get the permissions it asked for.
func sysUmask(t *Task, a Args) (uint64, error) {
	return uint64(unix.Umask(int(a.Uint(0) & 0o777))), nil
}

// sysUname implements uname(2): the host's names, on an x86_64 machine.
func sysUname(t *Task, a Args) (uint64, error) {
	var h unix.Utsname
	if err := unix.Uname(&h); err != nil {
		return 0, err
	}
	var u abi.Utsname
	cstr := func(b []byte) string {
		for i, c := range b {
			if c == 0 {
				return string(b[:i])
			}
		}
		return string(b)
	}
	abi.SetUtsField(&u.Sysname, "Linux")
	abi.SetUtsField(&u.Nodename, cstr(h.Nodename[:]))
	abi.SetUtsField(&u.Release, cstr(h.Release[:]))
	abi.SetUtsField(&u.Version, cstr(h.Version[:]))
	abi.SetUtsField(&u.Machine, "x86_64")
	abi.SetUtsField(&u.Domainname, cstr(h.Domainname[:]))
	var b [abi.UtsnameSize]byte
	u.Marshal(b[:])
	return 0, t.p.mm.CopyOut(a.Ptr(0), b[:])
}

// sysSysinfo implements sysinfo(2) with the host's figures.
func sysSysinfo(t *Task, a Args) (uint64, error) {
	var h unix.Sysinfo_t
	if err := unix.Sysinfo(&h); err != nil {
		return 0, err
	}
	s := abi.Sysinfo{
		Uptime: int64(h.Uptime), Loads: [3]uint64{uint64(h.Loads[0]), uint64(h.Loads[1]), uint64(h.Loads[2])},
		Totalram: uint64(h.Totalram), Freeram: uint64(h.Freeram), Sharedram: uint64(h.Sharedram),
		Bufferram: uint64(h.Bufferram), Totalswap: uint64(h.Totalswap), Freeswap: uint64(h.Freeswap),
		Procs: h.Procs, Totalhigh: uint64(h.Totalhigh), Freehigh: uint64(h.Freehigh), MemUnit: h.Unit,
	}
	var b [abi.SysinfoSize]byte
	s.Marshal(b[:])
	return 0, t.p.mm.CopyOut(a.Ptr(0), b[:])
}

// sysGetrandom implements getrandom(2); with a seed the bytes repeat from run to run.
func sysGetrandom(t *Task, a Args) (uint64, error) {
	if a.Uint(2)&^(abi.GRND_NONBLOCK|abi.GRND_RANDOM|abi.GRND_INSECURE) != 0 {
		return 0, unix.EINVAL
	}
	n := min(a[1], 1<<25)
	b, err := t.bufs(a.Ptr(0), n, emu.ProtWrite)
	if err != nil {
		if n == 0 {
			return 0, nil
		}
		return 0, err
	}
	var got uint64
	for _, p := range b {
		t.p.k.fillRandom(p)
		got += uint64(len(p))
	}
	return got, nil
}

// fillRandom fills b from the kernel's random source.
func (k *Kernel) fillRandom(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := k.random()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

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
	}
	return 0, unix.EINVAL
}

// sysSetTidAddress implements set_tid_address(2).
func sysSetTidAddress(t *Task, a Args) (uint64, error) {
	t.clearChildTID = a[0]
	return uint64(t.tid), nil
}

// sysSetRobustList implements set_robust_list(2).
func sysSetRobustList(t *Task, a Args) (uint64, error) {
	if a[1] != 24 {
		return 0, unix.EINVAL
	}
	t.robustList = a[0]
	return 0, nil
}

// sysGetRobustList implements get_robust_list(2) for the calling thread.
func sysGetRobustList(t *Task, a Args) (uint64, error) {
	if pid := a.Int(0); pid != 0 && int(pid) != t.tid {
		return 0, unix.ESRCH
	}
	if err := t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint64(nil, t.robustList)); err != nil {
		return 0, err
	}
	return 0, t.p.mm.CopyOut(a.Ptr(2), binary.LittleEndian.AppendUint64(nil, 24))
}

// sysPrlimit64 implements prlimit64(2) for the process itself.
func sysPrlimit64(t *Task, a Args) (uint64, error) {
	if pid := a.Int(0); pid != 0 && int(pid) != t.p.pid {
		return 0, unix.ESRCH
	}
	return t.rlimit(a.Uint(1), a.Ptr(2), a.Ptr(3))
}

// sysGetrlimit implements getrlimit(2).
func sysGetrlimit(t *Task, a Args) (uint64, error) { return t.rlimit(a.Uint(0), 0, a.Ptr(1)) }

// sysSetrlimit implements setrlimit(2).
func sysSetrlimit(t *Task, a Args) (uint64, error) { return t.rlimit(a.Uint(0), a.Ptr(1), 0) }

func (t *Task) rlimit(res uint32, newAddr, oldAddr mm.Addr) (uint64, error) {
	if res >= abi.RLIM_NLIMITS {
		return 0, unix.EINVAL
	}
	cur := t.p.rlimits[res]
	if newAddr != 0 {
		var b [abi.RlimitSize]byte
		if err := t.p.mm.CopyIn(newAddr, b[:]); err != nil {
			return 0, err
		}
		var n abi.Rlimit
		n.Unmarshal(b[:])
		if n.Cur > n.Max {
			return 0, unix.EINVAL
		}
		if n.Max > cur.Max && os.Geteuid() != 0 {
			return 0, unix.EPERM
		}
		defer func() { t.p.rlimits[res] = n }()
	}
	if oldAddr != 0 {
		var b [abi.RlimitSize]byte
		cur.Marshal(b[:])
		if err := t.p.mm.CopyOut(oldAddr, b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysSchedGetaffinity implements sched_getaffinity(2): the host's CPUs.
func sysSchedGetaffinity(t *Task, a Args) (uint64, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, err
	}
	size := a[1]
	if size%8 != 0 || size == 0 {
		return 0, unix.EINVAL
	}
	var b []byte
	for _, w := range set {
		b = binary.LittleEndian.AppendUint64(b, uint64(w))
	}
	// Linux returns the size of its cpumask (nr_cpu_ids rounded up to longs).
	n := uint64(8)
	for i := len(b) - 1; i >= 8; i-- {
		if b[i] != 0 {
			n = uint64(i/8+1) * 8
			break
		}
	}
	if size < n {
		return 0, unix.EINVAL
	}
	return n, t.p.mm.CopyOut(a.Ptr(2), b[:n])
}

// sysSchedYield implements sched_yield(2).
func sysSchedYield(t *Task, a Args) (uint64, error) { return 0, nil }

// sysGetrusage implements getrusage(2) with the host process's figures.
func sysGetrusage(t *Task, a Args) (uint64, error) {
	who := a.Int(0)
	if who != abi.RUSAGE_SELF && who != abi.RUSAGE_CHILDREN && who != abi.RUSAGE_THREAD {
		return 0, unix.EINVAL
	}
	var h unix.Rusage
	if who != abi.RUSAGE_CHILDREN {
		unix.Getrusage(unix.RUSAGE_SELF, &h)
	}
	r := abi.Rusage{
		Utime: abi.Timeval{Sec: h.Utime.Sec, Usec: h.Utime.Usec}, Stime: abi.Timeval{Sec: h.Stime.Sec, Usec: h.Stime.Usec},
		Maxrss: h.Maxrss, Minflt: h.Minflt, Majflt: h.Majflt, Nvcsw: h.Nvcsw, Nivcsw: h.Nivcsw,
	}
	var b [abi.RusageSize]byte
	r.Marshal(b[:])
	return 0, t.p.mm.CopyOut(a.Ptr(1), b[:])
}

// sysPrctl implements the prctl(2) options static programs use.
func sysPrctl(t *Task, a Args) (uint64, error) {
	switch a.Int(0) {
	case abi.PR_SET_NAME:
		name, err := t.p.mm.CopyString(a.Ptr(1), 4096)
		if err != nil && err != unix.ENAMETOOLONG {
			return 0, err
		}
		_ = name
		return 0, nil
	case abi.PR_GET_NAME:
		n := []byte(baseName(t.p.exe))
		if len(n) > 15 {
			n = n[:15]
		}
		return 0, t.p.mm.CopyOut(a.Ptr(1), append(n, 0))
	case abi.PR_GET_DUMPABLE:
		return 1, nil
	case abi.PR_SET_DUMPABLE, abi.PR_SET_PDEATHSIG, abi.PR_SET_NO_NEW_PRIVS, abi.PR_SET_VMA:
		return 0, nil
	case abi.PR_GET_NO_NEW_PRIVS:
		return 0, nil
	}
	return 0, unix.EINVAL
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// priorityTargets returns the guest processes getpriority and setpriority address, with
// pt.mu held: ESRCH when none. The guest's processes all run as vemu's user, so PRIO_USER
// takes them all for that user and none for another.
func (t *Task) priorityTargets(which, who int32) ([]*Process, error) {
	k := t.p.k
	var out []*Process
	switch which {
	case abi.PRIO_PROCESS:
		if who == 0 {
			return []*Process{t.p}, nil
		}
		if q := k.pt.procs[int(who)]; q != nil && !q.zombie {
			out = append(out, q)
		}
	case abi.PRIO_PGRP:
		pgid := int(who)
		if who == 0 {
			pgid = t.p.pgid
		}
		for _, q := range k.pt.procs {
			if q.pgid == pgid && !q.zombie {
				out = append(out, q)
			}
		}
	case abi.PRIO_USER:
		if who == 0 || int(who) == os.Getuid() {
			for _, q := range k.pt.procs {
				if !q.zombie {
					out = append(out, q)
				}
			}
		}
	default:
		return nil, unix.EINVAL
	}
	if len(out) == 0 {
		return nil, unix.ESRCH
	}
	return out, nil
}

// sysGetpriority implements getpriority(2): the best (lowest) nice value of the targets,
// returned as the system call does, as 20 - nice.
func sysGetpriority(t *Task, a Args) (uint64, error) {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	ps, err := t.priorityTargets(a.Int(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	best := 19
	for _, q := range ps {
		best = min(best, q.nice)
	}
	return uint64(20 - best), nil
}

// sysSetpriority implements setpriority(2). The nice value is kept per process (vemu does
// not change its own): it is what getpriority and children see. Lowering it takes
// privilege, as on Linux without RLIMIT_NICE.
func sysSetpriority(t *Task, a Args) (uint64, error) {
	nice := min(max(int(a.Int(2)), -20), 19)
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	ps, err := t.priorityTargets(a.Int(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	for _, q := range ps {
		if nice < q.nice && os.Geteuid() != 0 {
			return 0, unix.EACCES
		}
		q.nice = nice
	}
	return 0, nil
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
