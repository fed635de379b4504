package kernel

import (
	"encoding/binary"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

func (p *Process) initRlimits() {
	for i := range p.rlimits {
		var r unix.Rlimit
		if unix.Getrlimit(i, &r) == nil {
			p.rlimits[i] = abi.Rlimit{Cur: r.Cur, Max: r.Max}
		} else {
			p.rlimits[i] = abi.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
		}
	}
	p.rlimits[abi.RLIMIT_STACK].Cur = stackSize
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
	// The process's CPU time is its run loop thread's (vemu cannot tell user from system
	// time there: all of it is user time); its children's is what wait collected.
	k := t.p.k
	k.pt.mu.Lock()
	children := t.p.childCPU
	k.pt.mu.Unlock()
	tick := func(ns int64) uint64 { return uint64(ns) / uint64(time.Second/clkTck) }
	var b []byte
	for _, v := range []uint64{tick(threadCPU()), 0, tick(children), 0} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return ticks, t.p.mm.CopyOut(a.Ptr(0), b)
}

// threadCPU is the CPU time of the calling OS thread, in ns: a process's, on its run loop.
func threadCPU() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}
