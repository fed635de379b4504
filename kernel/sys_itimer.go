package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// realTimer is ITIMER_REAL, which alarm(2) also sets: SIGALRM for the process at a time
// on CLOCK_MONOTONIC, then every interval.
type realTimer struct {
	gen      uint64 // counts settings, so a replaced timer does not fire
	at       int64  // when it fires, CLOCK_MONOTONIC ns; 0 when disarmed
	interval int64
}

// setRealTimer arms (value > 0) or disarms ITIMER_REAL and returns the previous setting
// as (time left, interval).
func (p *Process) setRealTimer(value, interval time.Duration) (time.Duration, time.Duration) {
	rt := &p.sigs().real
	now := p.monotonicNs()
	var left time.Duration
	if rt.at != 0 {
		left = time.Duration(max(rt.at-now, 1))
	}
	oldInterval := time.Duration(rt.interval)
	rt.gen++
	rt.at, rt.interval = 0, 0
	if value > 0 {
		rt.at, rt.interval = now+int64(value), int64(interval)
		p.armRealTimer(rt.gen, value)
	}
	return left, oldInterval
}

func (p *Process) armRealTimer(gen uint64, d time.Duration) {
	p.after(d, func() {
		rt := &p.sigs().real
		if rt.gen != gen || p.exit != nil {
			return
		}
		if rt.interval > 0 {
			rt.at += rt.interval
			p.armRealTimer(gen, time.Duration(max(rt.at-p.monotonicNs(), 0)))
		} else {
			rt.at = 0
		}
		p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGALRM, Code: abi.SI_KERNEL})
	})
}

// sysAlarm implements alarm(2): it returns the seconds left of the previous alarm,
// rounded as Linux does.
func sysAlarm(t *Task, a Args) (uint64, error) {
	left, _ := t.p.setRealTimer(time.Duration(a.Uint(0))*time.Second, 0)
	secs := uint64(left / time.Second)
	if frac := left % time.Second; (secs == 0 && frac > 0) || frac >= 500*time.Millisecond {
		secs++
	}
	return secs, nil
}

func timevalDuration(tv abi.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}

func durationTimeval(d time.Duration) abi.Timeval {
	return abi.Timeval{Sec: int64(d / time.Second), Usec: int64(d%time.Second) / 1000}
}

// itimerValue is the current setting of timer which.
func (p *Process) itimerValue(which int32) abi.Itimerval {
	ps := p.sigs()
	if which == abi.ITIMER_REAL {
		var left time.Duration
		if ps.real.at != 0 {
			left = time.Duration(max(ps.real.at-p.monotonicNs(), 1000))
		}
		return abi.Itimerval{Value: durationTimeval(left), Interval: durationTimeval(time.Duration(ps.real.interval))}
	}
	return p.cpuItimerValue(which)
}

// sysGetitimer implements getitimer(2).
func sysGetitimer(t *Task, a Args) (uint64, error) {
	which := a.Int(0)
	if which < abi.ITIMER_REAL || which > abi.ITIMER_PROF {
		return 0, unix.EINVAL
	}
	var b [abi.ItimervalSize]byte
	v := t.p.itimerValue(which)
	v.Marshal(b[:])
	return 0, t.p.mm.CopyOut(a.Ptr(1), b[:])
}

// sysSetitimer implements setitimer(2).
func sysSetitimer(t *Task, a Args) (uint64, error) {
	which := a.Int(0)
	if which < abi.ITIMER_REAL || which > abi.ITIMER_PROF {
		return 0, unix.EINVAL
	}
	var nv abi.Itimerval
	if a[1] != 0 {
		var b [abi.ItimervalSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
		nv.Unmarshal(b[:])
		for _, tv := range []abi.Timeval{nv.Value, nv.Interval} {
			if tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1e6 {
				return 0, unix.EINVAL
			}
		}
	}
	old := t.p.itimerValue(which)
	if which == abi.ITIMER_REAL {
		t.p.setRealTimer(timevalDuration(nv.Value), timevalDuration(nv.Interval))
	} else {
		t.p.setCPUItimer(which, timevalDuration(nv.Value), timevalDuration(nv.Interval))
	}
	if a[2] != 0 {
		var b [abi.ItimervalSize]byte
		old.Marshal(b[:])
		if err := t.p.mm.CopyOut(a.Ptr(2), b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// monotonicNs reads the guest's CLOCK_MONOTONIC in nanoseconds.
func (p *Process) monotonicNs() int64 {
	ts, err := p.k.clock.Now(abi.CLOCK_MONOTONIC)
	if err != nil {
		return 0
	}
	return ts.Sec*1e9 + ts.Nsec
}

// cpuItimer is ITIMER_VIRTUAL or ITIMER_PROF: SIGVTALRM or SIGPROF once the process has
// used so much CPU time, then every interval. Both count on CLOCK_PROCESS_CPUTIME_ID (vemu
// does not tell the guest's user time from the time vemu spends for it).
type cpuItimer struct {
	at, interval int64 // on the process CPU clock, ns; at is 0 when disarmed
	gen          uint64
	stop         func()
}

// cpuItimerSignal is the signal of ITIMER_VIRTUAL or ITIMER_PROF.
func cpuItimerSignal(which int32) int32 {
	if which == abi.ITIMER_VIRTUAL {
		return abi.SIGVTALRM
	}
	return abi.SIGPROF
}

// cpuItimerValue is the current setting of ITIMER_VIRTUAL or ITIMER_PROF.
func (p *Process) cpuItimerValue(which int32) abi.Itimerval {
	it := &p.sigs().cpuTimers[which-1]
	var left int64
	if it.at != 0 {
		left = max(it.at-p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID), 1000)
	}
	return abi.Itimerval{Value: durationTimeval(time.Duration(left)), Interval: durationTimeval(time.Duration(it.interval))}
}

// setCPUItimer arms (value > 0) or disarms ITIMER_VIRTUAL or ITIMER_PROF.
func (p *Process) setCPUItimer(which int32, value, interval time.Duration) {
	it := &p.sigs().cpuTimers[which-1]
	it.gen++
	if it.stop != nil {
		it.stop()
		it.stop = nil
	}
	it.at, it.interval = 0, 0
	if value > 0 {
		// As Linux's set_cpu_itimer(): one tick more, so that the first expiry is never
		// early on a clock sampled at ticks.
		tick := int64(time.Second) / int64(p.k.cfg.HZ)
		it.at = p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID) + int64(value) + tick
		it.interval = int64(interval)
		p.armCPUItimer(which)
	}
}

// armCPUItimer waits for the timer's expiry: CPU time runs no faster than the clock, so
// the wait is at least what is left, and an early wakeup waits again.
func (p *Process) armCPUItimer(which int32) {
	it := &p.sigs().cpuTimers[which-1]
	gen := it.gen
	d := time.Duration(max(it.at-p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID), 0))
	it.stop = p.after(min(d, maxWait), func() {
		if it.gen != gen || it.at == 0 || p.exit != nil {
			return
		}
		now := p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID)
		if now < it.at {
			p.armCPUItimer(which)
			return
		}
		if it.interval > 0 {
			for it.at <= now {
				it.at = addSat(it.at, it.interval)
			}
			it.gen++
			p.armCPUItimer(which)
		} else {
			it.at = 0
		}
		p.queueSignal(nil, abi.Siginfo{Signo: cpuItimerSignal(which), Code: abi.SI_KERNEL})
	})
}
