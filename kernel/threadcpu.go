package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Per-thread CPU time. Every thread of a process runs on its run loop's host thread, so
// the host's clocks see one thread. The loop charges the CPU time its host thread used
// to the guest thread that held the CPU, at every switch, as Linux's scheduler adds to a
// task's sum_exec_runtime; CLOCK_THREAD_CPUTIME_ID, a thread's CPU clock id
// (pthread_getcpuclockid) and the timers on them read that count. Under the virtual
// clock, the count is of virtual CPU time, as CLOCK_PROCESS_CPUTIME_ID's is.

// loopCPU is the CPU time the run loop has used, in ns; called on the loop.
func (p *Process) loopCPU() int64 {
	if p.k.cfg.Clock == ClockVirtual {
		return p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID)
	}
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return p.cpuMark
	}
	return ts.Nano()
}

// chargeCPU gives the thread on the CPU the time used since the last charge.
func (p *Process) chargeCPU() {
	now := p.loopCPU()
	if t := p.cur; t != nil && now > p.cpuMark {
		t.cpuNs += now - p.cpuMark
	}
	p.cpuMark = now
}

// cpuTime is the CPU time thread t has used, in ns; called on its process's loop.
func (t *Task) cpuTime() int64 {
	if t == t.p.cur {
		t.p.chargeCPU()
	}
	return t.cpuNs
}

// cpuClockOf resolves a CPU-time clock id as Linux's posix_cpu_clock_get() does: the
// caller's own thread or process clock, a CPU clock id naming a thread of the caller's
// process (0: the caller) or a process (0: the caller's). It returns the thread whose
// clock it is (nil for a process clock) and EINVAL for a clock id of no CPU clock, of a
// thread of another process or of no process.
func (t *Task) cpuClockOf(clk int32) (th *Task, ok bool, err error) {
	switch {
	case clk == abi.CLOCK_THREAD_CPUTIME_ID:
		return t, true, nil
	case clk == abi.CLOCK_PROCESS_CPUTIME_ID:
		return nil, true, nil
	case clk >= 0:
		return nil, false, nil
	}
	if clk&cpuClockWhichMask >= cpuClockMax {
		return nil, true, unix.EINVAL
	}
	pid := int(^(clk >> 3))
	if clk&cpuClockPerThread != 0 {
		if pid == 0 {
			return t, true, nil
		}
		if th = t.p.thread(pid); th == nil {
			return nil, true, unix.EINVAL
		}
		return th, true, nil
	}
	if pid != 0 && pid != t.p.pid {
		k := t.p.k
		k.pt.mu.Lock()
		q := k.pt.procs[pid]
		k.pt.mu.Unlock()
		if q == nil || q.pid != pid {
			return nil, true, unix.EINVAL
		}
	}
	return nil, true, nil
}

// cpuClockNow reads a CPU-time clock cpuClockOf resolved: a thread's own count, or the
// process's (every guest process counts vemu's CPU time, as CLOCK_PROCESS_CPUTIME_ID).
func (t *Task) cpuClockNow(th *Task) abi.Timespec {
	ns := t.p.timerNow(abi.CLOCK_PROCESS_CPUTIME_ID)
	if th != nil {
		ns = th.cpuTime()
	}
	return nsTimespec(ns)
}
