package kernel

import (
	"encoding/binary"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Scheduling policy, priority and affinity, as far as an emulator that schedules its
// guests itself can honour them: every guest thread runs under SCHED_OTHER.

// schedTarget checks the pid of the sched_* calls: 0 or a live guest thread.
func (t *Task) schedTarget(pid int32) error {
	if pid < 0 {
		return unix.EINVAL
	}
	if pid == 0 || int(pid) == t.tid || int(pid) == t.p.pid {
		return nil
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if q := k.pt.procs[int(pid)]; q != nil && !q.zombie {
		return nil
	}
	if k.pt.tids[int(pid)] != nil {
		return nil
	}
	return unix.ESRCH
}

// schedResetOnFork is SCHED_RESET_ON_FORK, or-ed into a policy.
const schedResetOnFork = 0x40000000

// schedProcess is the live process with thread pid (0: the caller), under pt.mu.
func (t *Task) schedProcessLocked(pid int32) (*Process, error) {
	if pid == 0 {
		return t.p, nil
	}
	q := t.p.k.lookupLocked(int(pid))
	if q == nil || q.zombie {
		return nil, unix.ESRCH
	}
	return q, nil
}

// sysSchedGetscheduler implements sched_getscheduler(2): the policy kept per process,
// with SCHED_RESET_ON_FORK.
func sysSchedGetscheduler(t *Task, a Args) (uint64, error) {
	if a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	k := t.p.k
	k.pt.mu.Lock()
	q, err := t.schedProcessLocked(a.Int(0))
	var r uint64
	if err == nil {
		r = uint64(q.policy)
		if q.resetOnFork {
			r |= schedResetOnFork
		}
	}
	k.pt.mu.Unlock()
	if err == unix.ESRCH && t.hostSchedPid(a.Int(0)) {
		r, _, e := unix.Syscall(unix.SYS_SCHED_GETSCHEDULER, uintptr(a.Int(0)), 0, 0)
		if e != 0 {
			return 0, e
		}
		return uint64(r), nil
	}
	return r, err
}

// hostSchedPid says whether the scheduling queries (never the changes) about pid go to
// the host: pids outside the guest are the host's processes (see hostIDs).
func (t *Task) hostSchedPid(pid int32) bool { return pid > 0 && t.p.k.hostPid(int(pid)) }

// sysSchedGetparam implements sched_getparam(2): priority 0, as for the normal policies.
func sysSchedGetparam(t *Task, a Args) (uint64, error) {
	if a[1] == 0 || a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	var param [8]byte
	if err := t.schedTarget(a.Int(0)); err == unix.ESRCH && t.hostSchedPid(a.Int(0)) {
		// SAFETY: param has room for the struct sched_param (one int) the host writes.
		_, _, e := unix.Syscall(unix.SYS_SCHED_GETPARAM, uintptr(a.Int(0)), uintptr(unsafe.Pointer(&param[0])), 0)
		if e != 0 {
			return 0, e
		}
	} else if err != nil {
		return 0, err
	}
	return 0, t.p.mm.CopyOut(a.Ptr(1), param[:4])
}

// sysSchedSetscheduler implements sched_setscheduler(2) with Linux's order of checks:
// the normal policies (OTHER, BATCH, IDLE, priority 0) are kept per process; real-time
// ones are refused with EPERM, as for a process without CAP_SYS_NICE, since vemu cannot
// give them.
func sysSchedSetscheduler(t *Task, a Args) (uint64, error) {
	if a.Int(1) < 0 {
		return 0, unix.EINVAL
	}
	return 0, t.setPolicy(a.Int(0), a.Int(1), a.Ptr(2))
}

// sysSchedSetparam implements sched_setparam(2): the priority for the process's policy.
func sysSchedSetparam(t *Task, a Args) (uint64, error) { return 0, t.setPolicy(a.Int(0), -1, a.Ptr(1)) }

// setPolicy is Linux's do_sched_setscheduler(): policy -1 keeps the current one.
func (t *Task) setPolicy(pid, policy int32, paramAddr mm.Addr) error {
	if paramAddr == 0 || pid < 0 {
		return unix.EINVAL
	}
	var b [4]byte
	if err := t.p.mm.CopyIn(paramAddr, b[:]); err != nil {
		return err
	}
	prio := int32(binary.LittleEndian.Uint32(b[:]))
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q, err := t.schedProcessLocked(pid)
	if err != nil {
		return err
	}
	reset := q.resetOnFork
	if policy >= 0 {
		reset = policy&schedResetOnFork != 0
		policy &^= schedResetOnFork
	} else {
		policy = q.policy
	}
	var flags uint64
	if reset {
		flags = schedFlagResetOnFork
	}
	if err := t.schedCheckLocked(q, policy, reset, uint32(prio), int32(q.nice), flags, &[3]uint64{}); err != nil {
		return err
	}
	q.policy, q.resetOnFork = policy, reset
	return nil
}

// sysSchedGetPriorityMax implements sched_get_priority_max(2).
func sysSchedGetPriorityMax(t *Task, a Args) (uint64, error) { return priorityBound(a.Int(0), 99) }

// sysSchedGetPriorityMin implements sched_get_priority_min(2).
func sysSchedGetPriorityMin(t *Task, a Args) (uint64, error) { return priorityBound(a.Int(0), 1) }

// priorityBound is rt, a bound of the real-time priorities, for a real-time policy, 0 for
// the others, and EINVAL for an unknown policy.
func priorityBound(policy int32, rt uint64) (uint64, error) {
	switch policy {
	case abi.SCHED_FIFO, abi.SCHED_RR:
		return rt, nil
	case abi.SCHED_OTHER, abi.SCHED_BATCH, abi.SCHED_IDLE, abi.SCHED_DEADLINE:
		return 0, nil
	}
	return 0, unix.EINVAL
}

// Each thread has an affinity mask of its own, vemu's by default, and reports as its CPU
// (getcpu, the vDSO's and the vsyscall page's, /proc's stat) the first CPU of it: a thread
// pinned to CPU 1 runs, as far as it can tell, on CPU 1. All of a process's threads run
// on one host thread, wherever the host puts it.

// hostAffinity is vemu's own affinity mask.
var hostAffinity = sync.OnceValue(func() unix.CPUSet {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		set.Zero()
		set.Set(0)
	}
	return set
})

// firstCPU is the lowest CPU of set.
func firstCPU(set unix.CPUSet) uint32 {
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			return uint32(i)
		}
	}
	return 0
}

// mask is t's affinity mask.
func (t *Task) mask() unix.CPUSet {
	if t.affinity != nil {
		return *t.affinity
	}
	return hostAffinity()
}

// publishCPU makes the vvar page and the GDT's CPU entry (for lsl) report t's CPU,
// when it runs.
func (t *Task) publishCPU() {
	if t.p.cur != t {
		return
	}
	if t.p.vvarCPU != t.cpuNum {
		t.p.k.clock.setCPU(t.p, t.cpuNum)
	}
	if g := t.p.cpu.GDT(); g != nil {
		g[gdtCPUNode] = cpuNodeDesc(int(t.cpuNum))
	}
}

// affinityTarget is the thread of the caller's process that pid names (0: the caller),
// or nil for a thread of another process, which schedTarget found.
func (t *Task) affinityTarget(pid int32) *Task {
	if pid == 0 {
		return t
	}
	return t.p.thread(int(pid))
}

// sysSchedSetaffinity implements sched_setaffinity(2): the mask, within the CPUs vemu
// may use, must name one of them (EINVAL); it becomes the thread's. Another process's
// threads accept it unchanged.
func sysSchedSetaffinity(t *Task, a Args) (uint64, error) {
	if a.Int(0) < 0 {
		return 0, unix.ESRCH // no such process, as Linux's lookup says
	}
	if err := t.schedTarget(a.Int(0)); err != nil {
		return 0, err
	}
	n := min(a[1], 1024)
	b := make([]byte, n)
	if err := t.p.mm.CopyIn(a.Ptr(2), b); err != nil {
		return 0, err
	}
	host := hostAffinity()
	var set unix.CPUSet
	for i, v := range b {
		for bit := range 8 {
			if v&(1<<bit) != 0 && host.IsSet(i*8+bit) {
				set.Set(i*8 + bit)
			}
		}
	}
	if set.Count() == 0 {
		return 0, unix.EINVAL
	}
	if q := t.affinityTarget(a.Int(0)); q != nil {
		cpu := firstCPU(set)
		if cpu != q.cpuNum {
			// Moved: its area's cpu_id follows before it runs on (rseq.go).
			q.rseqSwitchedOut()
			if q == t && q.rseq.area != 0 {
				t.p.stop = true
			}
		}
		q.affinity, q.cpuNum = &set, cpu
		q.publishCPU()
		q.publishAffinity()
	}
	return 0, nil
}

// publishAffinity makes t's mask what other processes' sched_getaffinity of its tid
// reads.
func (t *Task) publishAffinity() {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if t.affinity == nil {
		delete(t.p.affinities, t.tid)
		return
	}
	if t.p.affinities == nil {
		t.p.affinities = map[int]unix.CPUSet{}
	}
	t.p.affinities[t.tid] = *t.affinity
}

// peerAffinity is the mask of thread tid of another guest process, as it published
// it, or false when it set none.
func (t *Task) peerAffinity(tid int) (unix.CPUSet, bool) {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := k.pt.procs[tid]
	if q == nil || q.zombie {
		q = k.pt.tids[tid]
	}
	if q == nil {
		return unix.CPUSet{}, false
	}
	m, ok := q.affinities[tid]
	return m, ok
}

// sysSchedGetaffinity implements sched_getaffinity(2): the thread's mask.
// The size is checked before the pid, and a pid that names no process (a negative one
// too) is ESRCH, as Linux's.
func sysSchedGetaffinity(t *Task, a Args) (uint64, error) {
	size := uint64(a.Uint(1)) // an unsigned int
	if size%8 != 0 || size == 0 {
		return 0, unix.EINVAL
	}
	set := hostAffinity()
	if q := t.affinityTarget(a.Int(0)); q != nil {
		set = q.mask()
	} else if a.Int(0) < 0 {
		return 0, unix.ESRCH
	} else if err := t.schedTarget(a.Int(0)); err == unix.ESRCH && t.hostSchedPid(a.Int(0)) {
		if err := unix.SchedGetaffinity(int(a.Int(0)), &set); err != nil {
			return 0, err
		}
	} else if err != nil {
		return 0, err
	} else if m, ok := t.peerAffinity(int(a.Int(0))); ok {
		set = m // another guest process's thread
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

// sysSchedYield implements sched_yield(2): the next runnable thread of the process gets
// the CPU.
func sysSchedYield(t *Task, a Args) (uint64, error) {
	t.yield()
	return 0, nil
}

// yield ends the calling thread's turn on the CPU after its system call when another
// thread of the process can run: the run loop then takes the next one, round robin. The
// threads of a process share one engine, so a thread that waits for another by spinning
// (sched_yield, a sleep of zero) would otherwise wait for the end of its time slice.
func (t *Task) yield() {
	if t.p.runnable() > 1 {
		t.p.stop = true
		t.p.yielded = true
	}
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
// returned as the system call does, as 20 - nice. A pid outside the guest's is the host's
// (see hostPid): its nice value is the host's, as kill(pid, 0) finds it there.
func sysGetpriority(t *Task, a Args) (uint64, error) {
	k := t.p.k
	which, who := a.Int(0), a.Int(1)
	k.pt.mu.Lock()
	ps, err := t.priorityTargets(which, who)
	best := 19
	for _, q := range ps {
		best = min(best, q.nice)
	}
	k.pt.mu.Unlock()
	if err == unix.ESRCH && which == abi.PRIO_PROCESS && k.hostPid(int(who)) {
		prio, err := unix.Getpriority(abi.PRIO_PROCESS, int(who))
		return uint64(prio), err
	}
	if err != nil {
		return 0, err
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
