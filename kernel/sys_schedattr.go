package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// struct sched_attr sizes: the first published layout, and the one with utilization
// clamps that Linux has now.
const (
	schedAttrSizeVer0 = 48
	schedAttrSize     = 56
	pageSize          = 4096
)

// sched_attr's sched_flags that Linux knows (SCHED_FLAG_ALL).
const schedFlagAll = 0x7f

// sysSchedGetattr implements sched_getattr(2): SCHED_OTHER with the process's nice value,
// and no utilization clamps (as Linux without CONFIG_UCLAMP_TASK).
func sysSchedGetattr(t *Task, a Args) (uint64, error) {
	size := a.Uint(2)
	if a[1] == 0 || a.Int(0) < 0 || size < schedAttrSizeVer0 || size > pageSize || a.Uint(3) != 0 {
		return 0, unix.EINVAL
	}
	if err := t.schedTarget(a.Int(0)); err != nil {
		return 0, err
	}
	n := min(size, schedAttrSize)
	b := make([]byte, schedAttrSize)
	binary.LittleEndian.PutUint32(b[0:], n)
	k := t.p.k
	k.pt.mu.Lock()
	q, err := t.schedProcessLocked(a.Int(0))
	var policy int32
	var reset uint64
	if err == nil {
		policy = q.policy
		if q.resetOnFork {
			reset = 1
		}
	}
	k.pt.mu.Unlock()
	binary.LittleEndian.PutUint32(b[4:], uint32(policy))
	binary.LittleEndian.PutUint64(b[8:], reset)
	binary.LittleEndian.PutUint32(b[16:], uint32(int32(t.niceOf(a.Int(0)))))
	return 0, t.p.mm.CopyOut(a.Ptr(1), b[:n])
}

// niceOf is the nice value of the process with thread pid (0: the caller).
func (t *Task) niceOf(pid int32) int {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if pid != 0 {
		if q := k.lookupLocked(int(pid)); q != nil {
			return q.nice
		}
	}
	return t.p.nice
}

// sysSchedSetattr implements sched_setattr(2) for the normal policies: the nice value
// is kept as setpriority keeps it; real-time and deadline policies are EPERM.
func sysSchedSetattr(t *Task, a Args) (uint64, error) {
	if a[1] == 0 || a.Int(0) < 0 || a.Uint(2) != 0 {
		return 0, unix.EINVAL
	}
	var sz [4]byte
	if err := t.p.mm.CopyIn(a.Ptr(1), sz[:]); err != nil {
		return 0, err
	}
	size := binary.LittleEndian.Uint32(sz[:])
	if size == 0 {
		size = schedAttrSizeVer0
	}
	tooBig := func() (uint64, error) {
		t.p.mm.CopyOut(a.Ptr(1), binary.LittleEndian.AppendUint32(nil, schedAttrSize))
		return 0, unix.E2BIG
	}
	if size < schedAttrSizeVer0 || size > pageSize {
		return tooBig()
	}
	b, err := t.copyStruct(a.Ptr(1), uint64(size), schedAttrSize)
	if err == unix.E2BIG {
		return tooBig()
	} else if err != nil {
		return 0, err
	}
	policy := int32(binary.LittleEndian.Uint32(b[4:]))
	flags := binary.LittleEndian.Uint64(b[8:])
	// As Linux's sched_copy_attr: the nice value is clamped, clamps need the larger
	// layout; then a negative policy is refused and KEEP_POLICY keeps the current one.
	nice := min(max(int32(binary.LittleEndian.Uint32(b[16:])), -20), 19)
	prio := binary.LittleEndian.Uint32(b[20:])
	dl := [3]uint64{binary.LittleEndian.Uint64(b[24:]), binary.LittleEndian.Uint64(b[32:]), binary.LittleEndian.Uint64(b[40:])}
	if flags&schedFlagUtilClamp != 0 && size < schedAttrSize || policy < 0 {
		return 0, unix.EINVAL
	}
	if err := t.schedTarget(a.Int(0)); err != nil {
		return 0, err
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q, err := t.schedProcessLocked(a.Int(0))
	if err != nil {
		return 0, err
	}
	reset := flags&schedFlagResetOnFork != 0
	if flags&schedFlagKeepPolicy != 0 {
		policy, reset = q.policy, q.resetOnFork
	}
	if flags&schedFlagKeepParams != 0 {
		nice, prio = int32(q.nice), 0
	}
	if err := t.schedCheckLocked(q, policy, reset, prio, nice, flags, &dl); err != nil {
		return 0, err
	}
	if policy == abi.SCHED_OTHER || policy == abi.SCHED_BATCH {
		q.nice = int(nice)
	}
	q.policy, q.resetOnFork = policy, reset
	return 0, nil
}

// sched_attr's sched_flags.
const (
	schedFlagResetOnFork = 0x01
	schedFlagKeepPolicy  = 0x08
	schedFlagKeepParams  = 0x10
	schedFlagUtilClamp   = 0x60
	schedFlagSugov       = 0x10000000
)

// schedCheckLocked makes the checks of Linux's __sched_setscheduler for a request of
// q's policy (a policy already resolved, the nice value already clamped), in its order:
// the policy, flags, priority and deadline parameters (EINVAL), then the permission of
// user_check_sched_setscheduler (EPERM without CAP_SYS_NICE), then utilization clamps
// (EOPNOTSUPP, as without CONFIG_UCLAMP_TASK). What passes and asks for a real-time or
// deadline policy is EPERM still: vemu has neither. The caller holds pt.mu.
func (t *Task) schedCheckLocked(q *Process, policy int32, reset bool, prio uint32, nice int32, flags uint64, dl *[3]uint64) error {
	rt := policy == abi.SCHED_FIFO || policy == abi.SCHED_RR
	fair := policy == abi.SCHED_OTHER || policy == abi.SCHED_BATCH
	if !fair && !rt && policy != abi.SCHED_IDLE && policy != abi.SCHED_DEADLINE {
		return unix.EINVAL
	}
	if flags&^(schedFlagAll|schedFlagSugov) != 0 || prio > 99 {
		return unix.EINVAL
	}
	if policy == abi.SCHED_DEADLINE && !dlParamsOK(flags, dl) || rt != (prio != 0) {
		return unix.EINVAL
	}
	// is_nice_reduction: a nice value RLIMIT_NICE allows.
	allowed := func(n int) bool { return uint64(20-n) <= q.rlimits[abi.RLIMIT_NICE].Cur }
	priv := false
	if fair && int(nice) < q.nice && !allowed(int(nice)) {
		priv = true
	}
	if rt {
		lim := q.rlimits[abi.RLIMIT_RTPRIO].Cur
		if policy != q.policy && lim == 0 || uint64(prio) > lim {
			priv = true
		}
	}
	if policy == abi.SCHED_DEADLINE || q.policy == abi.SCHED_IDLE && policy != abi.SCHED_IDLE && !allowed(q.nice) ||
		q.resetOnFork && !reset {
		priv = true
	}
	if priv && !t.p.creds.capable(capSysNice) {
		return unix.EPERM
	}
	if flags&schedFlagSugov != 0 {
		return unix.EINVAL
	}
	if flags&schedFlagUtilClamp != 0 {
		return unix.EOPNOTSUPP
	}
	if rt || policy == abi.SCHED_DEADLINE {
		return unix.EPERM
	}
	return nil
}

// dlParamsOK is Linux's __checkparam_dl for runtime, deadline and period (dl), with the
// default bounds of the period (100 µs to about 4 s).
func dlParamsOK(flags uint64, dl *[3]uint64) bool {
	if flags&schedFlagSugov != 0 {
		return true
	}
	runtime, deadline, period := dl[0], dl[1], dl[2]
	if deadline == 0 || runtime < 1<<10 || deadline&(1<<63) != 0 || period&(1<<63) != 0 {
		return false
	}
	if period == 0 {
		period = deadline
	}
	return period >= deadline && deadline >= runtime && period >= 100*1000 && period <= (1<<22)*1000
}

// I/O priorities (ioprio_get, ioprio_set): the class in the top bits, the level below.
const (
	ioprioClassShift = 13
	ioprioClassNone  = 0
	ioprioClassRT    = 1
	ioprioClassBE    = 2
	ioprioClassIdle  = 3
	ioprioWhoProcess = 1
	ioprioWhoPgrp    = 2
	ioprioWhoUser    = 3
)

// ioprioTargets are the processes which and who name; the caller holds pt.mu.
func (t *Task) ioprioTargets(which, who int32) ([]*Process, error) {
	k := t.p.k
	var ps []*Process
	switch which {
	case ioprioWhoProcess:
		if who == 0 {
			return []*Process{t.p}, nil
		}
		if q := k.lookupLocked(int(who)); q != nil && !q.zombie {
			ps = append(ps, q)
		}
	case ioprioWhoPgrp:
		g := int(who)
		if g == 0 {
			g = t.p.pgid
		}
		for _, q := range k.pt.procs {
			if q.pgid == g && !q.zombie {
				ps = append(ps, q)
			}
		}
	case ioprioWhoUser:
		u := uint32(who)
		if who == 0 {
			u = t.p.creds.ruid
		}
		for _, q := range k.pt.procs {
			if q.creds.ruid == u && !q.zombie {
				ps = append(ps, q)
			}
		}
	default:
		return nil, unix.EINVAL
	}
	if len(ps) == 0 {
		return nil, unix.ESRCH
	}
	return ps, nil
}

// sysIoprioGet implements ioprio_get(2): the I/O priority kept per process (a process
// that never set one has none: class 0), the best one for a group.
func sysIoprioGet(t *Task, a Args) (uint64, error) {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	ps, err := t.ioprioTargets(a.Int(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	// As Linux: a process answers what was set (0, none, when nothing was); a group or
	// a user the best of its members', where a member without one counts with the
	// class and level its policy and nice value give (get_task_ioprio).
	best := -1
	for _, q := range ps {
		v := int(q.ioprio)
		if v>>ioprioClassShift == ioprioClassNone && a.Int(0) != ioprioWhoProcess {
			class := ioprioClassBE
			if q.policy == abi.SCHED_IDLE {
				class = ioprioClassIdle
			}
			v = class<<ioprioClassShift | (q.nice+20)/5
		}
		if best < 0 || v < best {
			best = v
		}
	}
	return uint64(best), nil
}

// sysIoprioSet implements ioprio_set(2) with Linux's checks: the real-time class takes
// CAP_SYS_ADMIN, levels are 0..7, an unknown class is EINVAL. vemu keeps the value; it
// changes nothing on the host.
func sysIoprioSet(t *Task, a Args) (uint64, error) {
	v := a.Uint(2)
	class, level := v>>ioprioClassShift, v&0x7
	switch class {
	case ioprioClassRT:
		if !t.p.creds.capable(capSysAdmin) && !t.p.creds.capable(capSysNice) {
			return 0, unix.EPERM
		}
	case ioprioClassBE, ioprioClassIdle:
	case ioprioClassNone:
		if level != 0 {
			return 0, unix.EINVAL
		}
	default:
		return 0, unix.EINVAL
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	ps, err := t.ioprioTargets(a.Int(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	for _, q := range ps {
		q.ioprio = uint16(v)
	}
	return 0, nil
}

// membarrier(2) commands vemu answers; a process's threads share one CPU, so every
// barrier is already there once the call is made.
const (
	membarrierGetRegistrations = 0x200
	membarrierFlagCPU          = 0x1
	membarrierSupported        = abi.MEMBARRIER_CMD_GLOBAL | abi.MEMBARRIER_CMD_GLOBAL_EXPEDITED |
		abi.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | abi.MEMBARRIER_CMD_PRIVATE_EXPEDITED |
		abi.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | abi.MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE |
		abi.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE | abi.MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ |
		abi.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ | membarrierGetRegistrations
)

// sysMembarrier implements membarrier(2): registrations are kept per process (not
// inherited by fork, dropped at exec), and the private expedited commands need theirs.
func sysMembarrier(t *Task, a Args) (uint64, error) {
	cmd, flags := a.Int(0), a.Uint(1)
	if cmd == abi.MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ {
		if flags&^membarrierFlagCPU != 0 {
			return 0, unix.EINVAL
		}
	} else if flags != 0 {
		return 0, unix.EINVAL
	}
	p := t.p
	switch cmd {
	case abi.MEMBARRIER_CMD_QUERY:
		return membarrierSupported, nil
	case abi.MEMBARRIER_CMD_GLOBAL, abi.MEMBARRIER_CMD_GLOBAL_EXPEDITED:
		return 0, nil
	case abi.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, abi.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		abi.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, abi.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ:
		p.membarrier |= uint32(cmd)
		if cmd != abi.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED {
			// As Linux's membarrier_register_private_expedited: the SYNC_CORE and RSEQ
			// registrations add to the plain private one, which they include.
			p.membarrier |= abi.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
		}
		return 0, nil
	case abi.MEMBARRIER_CMD_PRIVATE_EXPEDITED, abi.MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
		abi.MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
		if p.membarrier&(uint32(cmd)<<1) == 0 {
			return 0, unix.EPERM
		}
		return 0, nil
	case membarrierGetRegistrations:
		return uint64(p.membarrier), nil
	}
	return 0, unix.EINVAL
}
