package kernel

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// hostLimits are vemu's own resource limits as it started, which a program started in
// its place inherits.
var hostLimits struct {
	once sync.Once
	lim  [abi.RLIM_NLIMITS]abi.Rlimit
}

// startLimits records vemu's limits for the guest, then raises vemu's own soft limits
// on file size and on tasks to the hard ones: guest memory lives in files of vemu's
// (memfds), and a guest's RLIMIT_FSIZE is the guest's to enforce (with SIGXFSZ to the
// guest, not to vemu); its RLIMIT_NPROC too (nproc.go), while vemu's threads need room.
// The Go runtime has already raised RLIMIT_NOFILE the same way, for the descriptors of
// every guest process at once. Those are host descriptors of vemu's beside its own
// (memfds, epoll instances...), while each guest process's table enforces its own
// RLIMIT_NOFILE: where vemu may (CAP_SYS_RESOURCE), it raises its hard limit to
// fs.nr_open, so that a guest reaches its limit as it would natively however many
// descriptors vemu and the other guest processes hold.
func startLimits() {
	hostLimits.once.Do(func() {
		for i := range hostLimits.lim {
			var r unix.Rlimit
			if unix.Getrlimit(i, &r) == nil {
				hostLimits.lim[i] = abi.Rlimit{Cur: r.Cur, Max: r.Max}
			} else {
				hostLimits.lim[i] = abi.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
			}
		}
		for _, res := range []int{abi.RLIMIT_FSIZE, abi.RLIMIT_NPROC} {
			if r := hostLimits.lim[res]; r.Cur != r.Max {
				unix.Setrlimit(res, &unix.Rlimit{Cur: r.Max, Max: r.Max})
			}
		}
		if n := hostNrOpen(); hostLimits.lim[abi.RLIMIT_NOFILE].Max < n {
			// Refused without the capability: the host's limit then binds all at once.
			unix.Setrlimit(abi.RLIMIT_NOFILE, &unix.Rlimit{Cur: n, Max: n})
		}
	})
}

func (p *Process) initRlimits() {
	startLimits()
	p.rlimits = hostLimits.lim
	p.rlimits[abi.RLIMIT_STACK].Cur = stackSize
}

// fileSizeCheck applies RLIMIT_FSIZE to a write of n bytes at pos of a regular file, as
// Linux's generic_write_check_limits: the count that may be written, or, at or past the
// limit, SIGXFSZ to the process and EFBIG.
func (t *Task) fileSizeCheck(pos int64, n uint64) (uint64, error) {
	limit := t.p.rlimits[abi.RLIMIT_FSIZE].Cur
	if limit == abi.RLIM_INFINITY || n == 0 {
		return n, nil
	}
	if pos < 0 || uint64(pos) >= limit {
		t.p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGXFSZ, Code: abi.SI_USER, Pid: int32(t.p.pid), UID: uint32(t.p.creds.ruid)})
		return 0, unix.EFBIG
	}
	return min(n, limit-uint64(pos)), nil
}

// sysPrlimit64 implements prlimit64(2): of the process itself, or of another guest
// process when the caller's real, effective and saved ids all match its real ids (users
// and groups alike), or with CAP_SYS_RESOURCE, as Linux's check_prlimit_permission().
func sysPrlimit64(t *Task, a Args) (uint64, error) {
	// As Linux: the new limit is read, the process found and the permission checked
	// before the resource is (do_prlimit's EINVAL).
	res := a.Uint(1)
	n, err := t.readRlimit(a.Ptr(2))
	if err != nil {
		return 0, err
	}
	pid := int(a.Int(0))
	if pid < 0 {
		return 0, unix.ESRCH
	}
	q := t.p
	if pid != 0 {
		// A thread's id names its process, as on Linux.
		if q = t.p.k.threadOwner(pid); q == nil {
			return 0, unix.ESRCH
		}
	}
	if q == t.p {
		if res >= abi.RLIM_NLIMITS {
			return 0, unix.EINVAL
		}
		return 0, t.rlimitOf(t.p, res, n, a.Ptr(3))
	}
	c, qc := &t.p.creds, &q.creds
	same := c.ruid == qc.ruid && c.ruid == qc.euid && c.ruid == qc.suid &&
		c.rgid == qc.rgid && c.rgid == qc.egid && c.rgid == qc.sgid
	if !same && !c.capable(capSysResource) {
		return 0, unix.EPERM
	}
	if res >= abi.RLIM_NLIMITS {
		return 0, unix.EINVAL
	}
	// The limits are the other process's own state: they change on its run loop.
	privileged := c.capable(capSysResource)
	var old abi.Rlimit
	r, err := t.blockThen(func() (uint64, error) {
		ch := make(chan error, 1)
		q.send(wakeup{fn: func() {
			var err error
			old, err = q.setRlimit(res, n, privileged)
			ch <- err
		}})
		select {
		case err := <-ch:
			return 0, err
		case <-q.done:
			return 0, unix.ESRCH
		}
	}, func(r uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		return 0, t.writeRlimit(a.Ptr(3), old)
	})
	return r, err
}

// sysGetrlimit implements getrlimit(2).
func sysGetrlimit(t *Task, a Args) (uint64, error) {
	if a.Uint(0) >= abi.RLIM_NLIMITS {
		return 0, unix.EINVAL
	}
	return 0, t.rlimitOf(t.p, a.Uint(0), nil, a.Ptr(1))
}

// sysSetrlimit implements setrlimit(2).
func sysSetrlimit(t *Task, a Args) (uint64, error) {
	if a.Uint(0) >= abi.RLIM_NLIMITS {
		return 0, unix.EINVAL
	}
	n, err := t.readRlimit(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if n == nil {
		return 0, unix.EFAULT
	}
	return 0, t.rlimitOf(t.p, a.Uint(0), n, 0)
}

// readRlimit reads a struct rlimit; nil for a null pointer.
func (t *Task) readRlimit(addr mm.Addr) (*abi.Rlimit, error) {
	if addr == 0 {
		return nil, nil
	}
	var b [abi.RlimitSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return nil, err
	}
	var n abi.Rlimit
	n.Unmarshal(b[:])
	return &n, nil
}

// writeRlimit writes r at addr unless addr is null.
func (t *Task) writeRlimit(addr mm.Addr, r abi.Rlimit) error {
	if addr == 0 {
		return nil
	}
	var b [abi.RlimitSize]byte
	r.Marshal(b[:])
	return t.p.mm.CopyOut(addr, b[:])
}

// rlimitOf sets q's limit res to n (unless nil) and writes the old one at oldAddr.
func (t *Task) rlimitOf(q *Process, res uint32, n *abi.Rlimit, oldAddr mm.Addr) error {
	old, err := q.setRlimit(res, n, t.p.creds.capable(capSysResource))
	if err != nil {
		return err
	}
	return t.writeRlimit(oldAddr, old)
}

// setRlimit sets limit res to n (unless nil) as Linux's do_prlimit(): the soft limit
// within the hard one (EINVAL), RLIMIT_NOFILE within fs.nr_open and a hard limit raised
// only with CAP_SYS_RESOURCE (EPERM). It returns the limit as it was. It runs on p's
// run loop.
func (p *Process) setRlimit(res uint32, n *abi.Rlimit, privileged bool) (abi.Rlimit, error) {
	cur := p.rlimits[res]
	if n == nil {
		return cur, nil
	}
	if n.Cur > n.Max {
		return cur, unix.EINVAL
	}
	if res == abi.RLIMIT_NOFILE && n.Max > hostNrOpen() {
		return cur, unix.EPERM
	}
	if n.Max > cur.Max && !privileged {
		return cur, unix.EPERM
	}
	p.rlimits[res] = *n
	if res == abi.RLIMIT_CPU {
		p.armCPULimit()
	}
	return cur, nil
}

// cpuLimitWatch waits for the process's CPU time to reach RLIMIT_CPU.
type cpuLimitWatch struct {
	gen  uint64
	stop func()
}

// armCPULimit (re)starts the watch of RLIMIT_CPU as the limits are now, as Linux's
// check_process_timers() enforces it: at the hard limit SIGKILL; at the soft one SIGXCPU,
// and the soft limit goes one second up (getrlimit shows it), so that SIGXCPU comes
// again every second until the hard limit. The process's CPU time counts from its fork
// and goes on across execve. It runs on p's loop.
func (p *Process) armCPULimit() {
	w := &p.cpuLimit
	w.gen++
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	lim := p.rlimits[abi.RLIMIT_CPU]
	at := cpuLimitNs(lim.Cur)
	if h := cpuLimitNs(lim.Max); at < 0 || h >= 0 && h < at {
		at = h
	}
	if at < 0 {
		return
	}
	gen := w.gen
	d := time.Duration(max(at-p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID), 0))
	w.stop = p.after(min(d, maxWait), func() {
		if w.gen != gen || p.exit != nil {
			return
		}
		w.stop = nil
		now := p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID)
		lim := &p.rlimits[abi.RLIMIT_CPU]
		if h := cpuLimitNs(lim.Max); h >= 0 && now >= h {
			p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGKILL, Code: abi.SI_KERNEL})
			return
		}
		if s := cpuLimitNs(lim.Cur); s >= 0 && now >= s {
			p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGXCPU, Code: abi.SI_KERNEL})
			if lim.Cur < lim.Max {
				lim.Cur++
			}
		}
		p.armCPULimit()
	})
}

// cpuLimitNs is an RLIMIT_CPU value in ns of CPU time, or -1 for one never reached.
func cpuLimitNs(secs uint64) int64 {
	if secs == abi.RLIM_INFINITY || secs > uint64(maxWait/time.Second) {
		return -1
	}
	return int64(secs) * int64(time.Second)
}

// hostNrOpen is the host's fs.nr_open, the ceiling of RLIMIT_NOFILE.
var hostNrOpen = sync.OnceValue(func() uint64 {
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			return n
		}
	}
	return nrOpen
})

// sysGetrusage implements getrusage(2) with the host process's figures.
func sysGetrusage(t *Task, a Args) (uint64, error) {
	var u usage
	switch a.Int(0) {
	case abi.RUSAGE_SELF:
		// The process's threads all run on its run loop's host thread, this one.
		u = threadUsage()
	case abi.RUSAGE_THREAD:
		u = t.ownUsage()
	case abi.RUSAGE_CHILDREN:
		k := t.p.k
		k.pt.mu.Lock()
		u = t.p.childUsed
		k.pt.mu.Unlock()
	default:
		return 0, unix.EINVAL
	}
	return 0, t.putRusage(a.Ptr(1), u)
}

// ownUsage is the calling thread's own usage: the CPU time the run loop charged to it
// (see threadcpu.go), split into user and system time in the proportion the loop's host
// thread shows (all user time under the virtual clock). The counts and ru_maxrss are the
// run loop's, as for RUSAGE_SELF: vemu does not count faults or switches per thread.
func (t *Task) ownUsage() usage {
	u := threadUsage()
	ns := time.Duration(t.cpuTime())
	total := u.utime + u.stime
	if t.p.k.cfg.Clock == ClockVirtual || total <= 0 {
		u.utime, u.stime = ns, 0
		return u
	}
	sys := time.Duration(float64(ns) * float64(u.stime) / float64(total))
	u.utime, u.stime = ns-sys, sys
	return u
}

// usage is a process's use of resources, as struct rusage reports it. The CPU times and
// counts are those of the process's run loop thread, where all its threads run; the
// maximum resident set is vemu's own (Linux's is per process, which vemu does not know).
type usage struct {
	utime, stime                  time.Duration
	maxrss                        int64 // KiB
	minflt, majflt, nvcsw, nivcsw int64
	io                            ioCounts // the process's reads and writes, at exit
}

// threadUsage is the calling host thread's usage.
func threadUsage() usage {
	var h unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &h) != nil {
		return usage{}
	}
	return usage{utime: time.Duration(h.Utime.Nano()), stime: time.Duration(h.Stime.Nano()), maxrss: h.Maxrss,
		minflt: h.Minflt, majflt: h.Majflt, nvcsw: h.Nvcsw, nivcsw: h.Nivcsw}
}

// add counts o's use in u, as a parent collects a child's when it waits for it.
func (u *usage) add(o usage) {
	u.utime += o.utime
	u.stime += o.stime
	u.maxrss = max(u.maxrss, o.maxrss)
	u.minflt += o.minflt
	u.majflt += o.majflt
	u.nvcsw += o.nvcsw
	u.nivcsw += o.nivcsw
	u.io.add(o.io)
}

// putRusage writes u as a struct rusage at addr, unless addr is NULL.
func (t *Task) putRusage(addr mm.Addr, u usage) error {
	if addr == 0 {
		return nil
	}
	tv := func(d time.Duration) abi.Timeval {
		return abi.Timeval{Sec: int64(d / time.Second), Usec: int64(d % time.Second / time.Microsecond)}
	}
	r := abi.Rusage{Utime: tv(u.utime), Stime: tv(u.stime), Maxrss: u.maxrss, Minflt: u.minflt, Majflt: u.majflt,
		Nvcsw: u.nvcsw, Nivcsw: u.nivcsw}
	var b [abi.RusageSize]byte
	r.Marshal(b[:])
	return t.p.mm.CopyOut(addr, b[:])
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
	// The process's CPU time is its run loop thread's; its children's is what wait
	// collected.
	k := t.p.k
	k.pt.mu.Lock()
	children := t.p.childUsed
	k.pt.mu.Unlock()
	self := threadUsage()
	tick := func(d time.Duration) uint64 { return uint64(d / (time.Second / clkTck)) }
	var b []byte
	for _, v := range []uint64{tick(self.utime), tick(self.stime), tick(children.utime), tick(children.stime)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return ticks, t.p.mm.CopyOut(a.Ptr(0), b)
}
