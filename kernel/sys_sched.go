package kernel

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Scheduling policy, CPU time and memory locking, as far as an emulator that schedules
// its guests itself can honour them: every guest thread runs under SCHED_OTHER, memory is
// never paged out by vemu, and CPU time is vemu's own.

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

// sysSchedGetscheduler implements sched_getscheduler(2): always SCHED_OTHER.
func sysSchedGetscheduler(t *Task, a Args) (uint64, error) {
	return abi.SCHED_OTHER, t.schedTarget(a.Int(0))
}

// sysSchedGetparam implements sched_getparam(2): priority 0, as for SCHED_OTHER.
func sysSchedGetparam(t *Task, a Args) (uint64, error) {
	if a[1] == 0 {
		return 0, unix.EINVAL
	}
	if err := t.schedTarget(a.Int(0)); err != nil {
		return 0, err
	}
	return 0, t.p.mm.CopyOut(a.Ptr(1), []byte{0, 0, 0, 0})
}

// sysSchedSetscheduler implements sched_setscheduler(2): the normal policies (OTHER,
// BATCH, IDLE, priority 0) are accepted; real-time ones are refused with EPERM, as for a
// process without CAP_SYS_NICE, since vemu cannot give them.
func sysSchedSetscheduler(t *Task, a Args) (uint64, error) {
	if err := t.schedTarget(a.Int(0)); err != nil {
		return 0, err
	}
	return 0, t.setPolicy(a.Int(1)&^0x40000000 /* SCHED_RESET_ON_FORK */, a.Ptr(2))
}

// sysSchedSetparam implements sched_setparam(2) for SCHED_OTHER: priority 0 only.
func sysSchedSetparam(t *Task, a Args) (uint64, error) {
	if err := t.schedTarget(a.Int(0)); err != nil {
		return 0, err
	}
	return 0, t.setPolicy(abi.SCHED_OTHER, a.Ptr(1))
}

func (t *Task) setPolicy(policy int32, paramAddr mm.Addr) error {
	if paramAddr == 0 {
		return unix.EINVAL
	}
	var b [4]byte
	if err := t.p.mm.CopyIn(paramAddr, b[:]); err != nil {
		return err
	}
	prio := int32(binary.LittleEndian.Uint32(b[:]))
	switch policy {
	case abi.SCHED_OTHER, abi.SCHED_BATCH, abi.SCHED_IDLE:
		if prio != 0 {
			return unix.EINVAL
		}
		return nil
	case abi.SCHED_FIFO, abi.SCHED_RR:
		if prio < 1 || prio > 99 {
			return unix.EINVAL
		}
		return unix.EPERM
	}
	return unix.EINVAL
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

// sysSchedSetaffinity implements sched_setaffinity(2): the mask must name an existing
// CPU, and is then accepted; vemu runs each process's threads on one host thread.
func sysSchedSetaffinity(t *Task, a Args) (uint64, error) {
	if err := t.schedTarget(a.Int(0)); err != nil {
		return 0, err
	}
	n := min(a[1], 1024)
	b := make([]byte, n)
	if err := t.p.mm.CopyIn(a.Ptr(2), b); err != nil {
		return 0, err
	}
	var host unix.CPUSet
	if err := unix.SchedGetaffinity(0, &host); err != nil {
		return 0, err
	}
	for i, v := range b {
		for bit := range 8 {
			if v&(1<<bit) != 0 && host.IsSet(i*8+bit) {
				return 0, nil
			}
		}
	}
	return 0, unix.EINVAL
}

// clkTck is the tick of times(2) and AT_CLKTCK.
const clkTck = 100

// sysTimes implements times(2): vemu's own CPU time (all guest processes run in it), and
// the ticks since boot on the guest's clock.
func sysTimes(t *Task, a Args) (uint64, error) {
	now, _ := t.p.k.clock.Now(abi.CLOCK_BOOTTIME)
	ticks := uint64(now.Sec)*clkTck + uint64(now.Nsec)/(1e9/clkTck)
	if a[0] == 0 {
		return ticks, nil
	}
	var self, children unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &children)
	tick := func(tv unix.Timeval) uint64 {
		return uint64(time.Duration(tv.Sec)*time.Second+time.Duration(tv.Usec)*time.Microsecond) / uint64(time.Second/clkTck)
	}
	var b []byte
	for _, v := range []uint64{tick(self.Utime), tick(self.Stime), tick(children.Utime), tick(children.Stime)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return ticks, t.p.mm.CopyOut(a.Ptr(0), b)
}

// sysMlock implements mlock(2), munlock(2) and mlock2(2): the range must be mapped; vemu
// never pages guest memory out, so there is nothing more to do.
func sysMlock(t *Task, a Args) (uint64, error) {
	start := mm.PageDown(a[0])
	end, ok := mm.PageUp(a[0] + a[1])
	if !ok || a[0]+a[1] < a[0] {
		return 0, unix.ENOMEM
	}
	if !t.p.mm.Mapped(mm.Addr(start), mm.Addr(end)) {
		return 0, unix.ENOMEM
	}
	return 0, nil
}

// sysMlockall implements mlockall(2) (and munlockall(2), which takes no flags).
func sysMlockall(t *Task, a Args) (uint64, error) {
	flags := a.Int(0)
	if flags == 0 || flags&^(abi.MCL_CURRENT|abi.MCL_FUTURE|abi.MCL_ONFAULT) != 0 || flags == abi.MCL_ONFAULT {
		return 0, unix.EINVAL
	}
	return 0, nil
}

func sysMunlockall(t *Task, a Args) (uint64, error) { return 0, nil }

// sysMsync implements msync(2): shared file mappings are written back by the host.
func sysMsync(t *Task, a Args) (uint64, error) {
	addr, length, flags := a[0], a[1], int(a.Int(2))
	if addr%mm.PageSize != 0 || flags&^(abi.MS_ASYNC|abi.MS_SYNC|abi.MS_INVALIDATE) != 0 ||
		flags&abi.MS_ASYNC != 0 && flags&abi.MS_SYNC != 0 {
		return 0, unix.EINVAL
	}
	end, ok := mm.PageUp(addr + length)
	if !ok || addr+length < addr {
		return 0, unix.ENOMEM
	}
	if !t.p.mm.Mapped(mm.Addr(addr), mm.Addr(end)) {
		return 0, unix.ENOMEM
	}
	for a := mm.Addr(addr); a < mm.Addr(end); {
		v := t.p.mm.Lookup(a)
		stop := min(v.End, mm.Addr(end))
		if v.Shared {
			h := v.Host()[a-v.Start : stop-v.Start]
			if err := unix.Msync(h, flags); err != nil {
				return 0, err
			}
		}
		a = stop
	}
	return 0, nil
}

// sysMincore implements mincore(2): every mapped page is resident.
func sysMincore(t *Task, a Args) (uint64, error) {
	addr, length := a[0], a[1]
	if addr%mm.PageSize != 0 {
		return 0, unix.EINVAL
	}
	end, ok := mm.PageUp(addr + length)
	if !ok || addr+length < addr {
		return 0, unix.ENOMEM
	}
	if !t.p.mm.Mapped(mm.Addr(addr), mm.Addr(end)) {
		return 0, unix.ENOMEM
	}
	vec := make([]byte, (end-addr)/mm.PageSize)
	for i := range vec {
		vec[i] = 1
	}
	return 0, t.p.mm.CopyOut(a.Ptr(2), vec)
}
