package kernel

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

func (t *Task) putTimespec(addr mm.Addr, ts abi.Timespec) error {
	var b [abi.TimespecSize]byte
	ts.Marshal(b[:])
	return t.p.mm.CopyOut(addr, b[:])
}

func (t *Task) getTimespec(addr mm.Addr) (abi.Timespec, error) {
	var b [abi.TimespecSize]byte
	var ts abi.Timespec
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return ts, err
	}
	ts.Unmarshal(b[:])
	if ts.Nsec < 0 || ts.Nsec >= 1e9 || ts.Sec < 0 {
		return ts, unix.EINVAL
	}
	return ts, nil
}

// sysClockGettime implements clock_gettime(2).
func sysClockGettime(t *Task, a Args) (uint64, error) {
	th, cpu, err := t.cpuClockOf(a.Int(0))
	if err != nil {
		return 0, err
	}
	if cpu {
		return 0, t.putTimespec(a.Ptr(1), t.cpuClockNow(th))
	}
	ts, err := t.p.k.clock.Now(a.Int(0))
	if err != nil {
		return 0, err
	}
	return 0, t.putTimespec(a.Ptr(1), ts)
}

// sysClockGetres implements clock_getres(2).
func sysClockGetres(t *Task, a Args) (uint64, error) {
	if _, cpu, err := t.cpuClockOf(a.Int(0)); cpu {
		// CPU-time clocks count in ns.
		if err != nil || a[1] == 0 {
			return 0, err
		}
		return 0, t.putTimespec(a.Ptr(1), abi.Timespec{Nsec: 1})
	}
	ts, err := t.p.k.clock.Res(a.Int(0))
	if err != nil || a[1] == 0 {
		return 0, err
	}
	return 0, t.putTimespec(a.Ptr(1), ts)
}

// sysGettimeofday implements gettimeofday(2).
func sysGettimeofday(t *Task, a Args) (uint64, error) {
	if a[0] != 0 {
		ts, _ := t.p.k.clock.Now(abi.CLOCK_REALTIME)
		tv := abi.Timeval{Sec: ts.Sec, Usec: ts.Nsec / 1000}
		var b [abi.TimevalSize]byte
		tv.Marshal(b[:])
		if err := t.p.mm.CopyOut(a.Ptr(0), b[:]); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		var b [abi.TimezoneSize]byte
		if err := t.p.mm.CopyOut(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysTime implements time(2).
func sysTime(t *Task, a Args) (uint64, error) {
	ts, _ := t.p.k.clock.Now(abi.CLOCK_REALTIME)
	if a[0] != 0 {
		var b [8]byte
		le := binary.LittleEndian.AppendUint64(b[:0], uint64(ts.Sec))
		if err := t.p.mm.CopyOut(a.Ptr(0), le); err != nil {
			return 0, err
		}
	}
	return uint64(ts.Sec), nil
}

// sysGetcpu implements getcpu(2): the thread's CPU (see sys_sched.go), on node 0.
func sysGetcpu(t *Task, a Args) (uint64, error) {
	for i, p := range []mm.Addr{a.Ptr(0), a.Ptr(1)} {
		if p == 0 {
			continue
		}
		v := []byte{0, 0, 0, 0}
		if i == 0 {
			v = binary.LittleEndian.AppendUint32(nil, t.cpuNum)
		}
		if err := t.p.mm.CopyOut(p, v); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysNanosleep implements nanosleep(2).
func sysNanosleep(t *Task, a Args) (uint64, error) {
	ts, err := t.getTimespec(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	return t.sleep(time.Duration(ts.Sec)*time.Second+time.Duration(ts.Nsec), a.Ptr(1))
}

// sleep blocks the calling thread for d of the guest's clock while the others run: a
// goroutine sleeps for the host clock; a virtual timer, fired when no thread can run,
// for the virtual one (so that runs repeat exactly). A handled signal ends it early with
// EINTR, and the time left goes to rem when rem is not 0.
func (t *Task) sleep(d time.Duration, rem mm.Addr) (uint64, error) {
	if d <= 0 {
		t.yield()
		return 0, nil
	}
	clock := t.p.k.clock
	now, _ := clock.Now(abi.CLOCK_MONOTONIC)
	end := time.Duration(now.Sec)*time.Second + time.Duration(now.Nsec) + d
	done := func(r uint64, err error) (uint64, error) {
		if err == unix.EINTR && rem != 0 {
			now, _ := clock.Now(abi.CLOCK_MONOTONIC)
			left := max(end-(time.Duration(now.Sec)*time.Second+time.Duration(now.Nsec)), 0)
			b := make([]byte, abi.TimespecSize)
			ts := abi.Timespec{Sec: int64(left / time.Second), Nsec: int64(left % time.Second)}
			ts.Marshal(b)
			if cerr := t.p.mm.CopyOut(rem, b); cerr != nil {
				return 0, cerr
			}
		}
		return r, err
	}
	// The rest of the sleep, for restart_syscall (Linux's hrtimer_nanosleep_restart).
	resume := func(t *Task) (uint64, error) {
		now, _ := clock.Now(abi.CLOCK_MONOTONIC)
		return t.sleep(end-(time.Duration(now.Sec)*time.Second+time.Duration(now.Nsec)), rem)
	}
	if clock.kind == ClockVirtual {
		r, err := t.park()
		pend := t.pending
		pend.done, pend.resume = done, resume
		t.interruptible(intrBlock, nil)
		gen := t.gen + 1
		t.p.after(d, func() {
			if t.gen == gen && t.state == taskBlocked {
				t.complete(pend, 0, nil)
			}
		})
		return r, err
	}
	r, err := t.blockIntr(intrBlock, func(c *cancel) (uint64, error) {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			return 0, nil
		case <-c.ch:
			return 0, errInterrupted
		}
	}, done)
	if t.pending != nil {
		t.pending.resume = resume
	}
	return r, err
}

// sysRestartSyscall implements restart_syscall(2): the rest of the call a signal that
// ran no handler interrupted; EINTR when there is none, as Linux's
// do_no_restart_syscall.
func sysRestartSyscall(t *Task, a Args) (uint64, error) {
	f := t.restartBlock
	t.restartBlock = nil
	if f == nil {
		return 0, unix.EINTR
	}
	return f(t)
}

// sysClockNanosleep implements clock_nanosleep(2), relative and TIMER_ABSTIME.
func sysClockNanosleep(t *Task, a Args) (uint64, error) {
	clk, flags := a.Int(0), a.Int(1)
	alarm, cpu := false, false
	switch clk {
	case abi.CLOCK_REALTIME, abi.CLOCK_MONOTONIC, abi.CLOCK_BOOTTIME, abi.CLOCK_TAI, abi.CLOCK_PROCESS_CPUTIME_ID:
	case abi.CLOCK_THREAD_CPUTIME_ID:
		return 0, unix.EOPNOTSUPP // as Linux 6.x; the man page's EINVAL is older
	default:
		if clk < 0 && clk&7 == clockFD {
			return 0, unix.ENOTSUP // a dynamic (device) clock sleeps not
		}
		if clk < 0 {
			cpu = true // checked once the time is read, as Linux's posix_cpu_nsleep
			break
		}
		if _, ok := hostClocks[clk]; !ok {
			return 0, unix.EINVAL
		}
		if clk != abi.CLOCK_REALTIME_ALARM && clk != abi.CLOCK_BOOTTIME_ALARM {
			return 0, unix.ENOTSUP // a clock without nsleep
		}
		// The alarm clocks sleep in Linux after the time is read (EFAULT, EINVAL);
		// without a real-time clock device, as here, they cannot.
		alarm = true
	}
	ts, err := t.getTimespec(a.Ptr(2))
	if err != nil {
		return 0, err
	}
	if alarm {
		return 0, unix.ENOTSUP
	}
	if cpu {
		// The process's own CPU clock sleeps as CLOCK_PROCESS_CPUTIME_ID; a thread's
		// (as Linux's for the caller's) and another process's are EINVAL here.
		th, _, err := t.cpuClockOf(clk)
		if err != nil || th != nil || ^(clk>>3) != 0 && int(^(clk>>3)) != t.p.pid {
			return 0, unix.EINVAL
		}
		clk = abi.CLOCK_PROCESS_CPUTIME_ID
	}
	d := time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec)
	if flags&abi.TIMER_ABSTIME != 0 {
		now, _ := t.p.k.clock.Now(clk)
		d -= time.Duration(now.Sec)*time.Second + time.Duration(now.Nsec)
		return t.sleep(d, 0)
	}
	return t.sleep(d, a.Ptr(3))
}
