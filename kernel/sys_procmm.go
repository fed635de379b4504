package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// sysSchedRrGetInterval implements sched_rr_get_interval(2). Guest processes run under
// the normal policies only (real-time ones are EPERM), for which Linux 6.x's EEVDF
// scheduler reports a zero interval.
func sysSchedRrGetInterval(t *Task, a Args) (uint64, error) {
	if a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	k := t.p.k
	k.pt.mu.Lock()
	_, err := t.schedProcessLocked(a.Int(0))
	k.pt.mu.Unlock()
	if err != nil {
		return 0, err
	}
	var b [abi.TimespecSize]byte
	return 0, t.p.mm.CopyOut(a.Ptr(1), b[:])
}

// processMadviseNote is what the table says of process_madvise.
const processMadviseNote = "the advice is a hint vemu takes for its own process as madvise(2) does; for another process the ranges are not checked"

// sysProcessMadvise implements process_madvise(2): madvise(2) over an iovec of ranges
// of the pidfd's process, returning the bytes advised.
func sysProcessMadvise(t *Task, a Args) (uint64, error) {
	if a[4] != 0 {
		return 0, unix.EINVAL
	}
	vlen := a[2]
	if vlen > 1024 {
		return 0, unix.EINVAL
	}
	raw := make([]byte, int(vlen)*abi.IovecSize)
	if err := t.p.mm.CopyIn(a.Ptr(1), raw); err != nil {
		return 0, err
	}
	q, err := t.pidfdProcess(a.Fd(0))
	if err != nil {
		return 0, err
	}
	advice := a.Int(3)
	self := q == t.p
	if !self {
		// Another process takes only the hints (Linux's process_madvise_remote_valid()).
		switch advice {
		case abi.MADV_COLD, abi.MADV_PAGEOUT, abi.MADV_WILLNEED:
		default:
			return 0, unix.EINVAL
		}
		k := t.p.k
		k.pt.mu.Lock()
		gone := q.zombie
		k.pt.mu.Unlock()
		if gone {
			return 0, unix.ESRCH
		}
		if !t.p.creds.capable(capSysNice) {
			return 0, unix.EPERM
		}
	}
	var done uint64
	for i := range int(vlen) {
		var v abi.Iovec
		v.Unmarshal(raw[i*abi.IovecSize:])
		var err error
		if self {
			_, err = sysMadvise(t, Args{v.Base, v.Len, uint64(advice)})
		} else if !mm.Addr(v.Base).PageAligned() {
			err = unix.EINVAL
		}
		if err != nil {
			if done == 0 {
				return 0, err
			}
			break
		}
		done += v.Len
	}
	return done, nil
}

// sysProcessMrelease implements process_mrelease(2): a process that is not dying has
// nothing to release (EINVAL), one that has exited no memory left (ESRCH); a guest
// process being killed gives its memory back as its run loop ends.
func sysProcessMrelease(t *Task, a Args) (uint64, error) {
	if a[1] != 0 {
		return 0, unix.EINVAL
	}
	q, err := t.pidfdProcess(a.Fd(0))
	if err != nil {
		return 0, err
	}
	k := t.p.k
	k.pt.mu.Lock()
	gone := q.zombie
	k.pt.mu.Unlock()
	switch {
	case gone:
		return 0, unix.ESRCH
	case q.doomed.Load() != 0:
		return 0, nil
	}
	return 0, unix.EINVAL
}
