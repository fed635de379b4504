package kernel

import (
	"encoding/binary"
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// POSIX per-process timers (timer_create(2) and its family), after Linux's
// kernel/time/posix-timers.c. A timer counts on the timekeeper's clocks and fires
// through Process.after, so it follows --clock=virtual. As on Linux, a periodic timer
// whose signal is queued is not re-armed until the signal is taken: the expiries missed
// meanwhile become the signal's si_overrun. A signal still queued when its timer is set
// again or deleted is dropped when it would be taken.

// timerStatus is where a timer is in its cycle (Linux's it_status).
type timerStatus uint8

const (
	timerDisarmed       timerStatus = iota
	timerArmed                      // waiting for its expiry
	timerRequeuePending             // periodic, its signal queued: re-armed when it is taken
)

// posixTimer is one timer_create timer.
type posixTimer struct {
	id     int32
	clock  int32 // the clock it counts on: a CPU-time clock id is resolved to 2 or 3
	notify int32 // SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD or SIGEV_SIGNAL|SIGEV_THREAD_ID
	signo  int32
	value  uint64
	target *Task  // SIGEV_THREAD_ID: the thread that takes the signal
	cpuOf  *Task  // a thread's CPU-time clock: the thread's
	named  int32  // the clock as timer_create named it, which /proc/PID/timers shows
	made   uint64 // orders the timers by creation, for /proc/PID/timers

	at       int64 // expiry on the timer's clock, ns (kept after a disarm, as Linux's hrtimer)
	interval int64 // ns; 0 for a one-shot timer
	status   timerStatus
	gen      uint64 // counts armings: a wakeup of an older one does nothing
	stop     func() // cancels the pending wakeup
	seq      uint64 // the SysPrivate of its queued signal; 0 when none is valid

	overrun     int64 // expiries since the queued one, counted from -1 (Linux's it_overrun)
	overrunLast int64 // what timer_getoverrun reports
}

// posixTimers are a process's timers. A child of fork starts with none and ids from 0;
// execve deletes them but goes on counting ids.
type posixTimers struct {
	byID map[int32]*posixTimer
	next int32  // the next id to try (Linux's next_posix_timer_id)
	seq  uint64 // numbers the signals timers queue
	made uint64 // counts the timers created
}

// timerNote says what POSIX timers lack.
const timerNote = "a thread's CPU clock counts what it ran; a process's counts vemu's CPU time (or virtual time); a periodic timer whose queued signal is discarded by SIG_IGN stops"

// Linux's encoding of CPU-time clock ids (include/linux/posix-timers_types.h).
const (
	cpuClockPerThread = 4 // CPUCLOCK_PERTHREAD_MASK
	cpuClockWhichMask = 3 // CPUCLOCK_CLOCK_MASK
	cpuClockMax       = 3 // CPUCLOCK_MAX: PROF, VIRT, SCHED
	clockFD           = 3 // CLOCKFD: a dynamic clock opened as a file
)

// timerClock checks the clock of timer_create before a timer exists: EINVAL for a clock
// Linux does not know, EOPNOTSUPP for one it has no timers on. It returns the clock to
// count on; errors Linux finds only after allocating the timer come from timerClockLate.
func timerClock(clk int32) (int32, error) {
	switch clk {
	case abi.CLOCK_REALTIME, abi.CLOCK_MONOTONIC, abi.CLOCK_BOOTTIME, abi.CLOCK_TAI,
		abi.CLOCK_PROCESS_CPUTIME_ID, abi.CLOCK_THREAD_CPUTIME_ID,
		abi.CLOCK_REALTIME_ALARM, abi.CLOCK_BOOTTIME_ALARM:
		return clk, nil
	case abi.CLOCK_MONOTONIC_RAW, abi.CLOCK_REALTIME_COARSE, abi.CLOCK_MONOTONIC_COARSE:
		return 0, unix.EOPNOTSUPP
	}
	if clk < 0 {
		if clk&(cpuClockPerThread|cpuClockWhichMask) == clockFD {
			return 0, unix.EOPNOTSUPP
		}
		if clk&cpuClockPerThread != 0 {
			return abi.CLOCK_THREAD_CPUTIME_ID, nil
		}
		return abi.CLOCK_PROCESS_CPUTIME_ID, nil
	}
	return 0, unix.EINVAL
}

// timerClockLate makes the checks of Linux's kc->timer_create, after the timer's id is
// given out: the alarm clocks as the host decides (a real-time clock device, and
// CAP_WAKE_ALARM), and a CPU-time clock's process or thread.
func (t *Task) timerClockLate(clk int32) error {
	switch {
	case clk == abi.CLOCK_REALTIME_ALARM || clk == abi.CLOCK_BOOTTIME_ALARM:
		return hostAlarmTimer(clk)
	case clk >= 0:
		return nil
	}
	if clk&cpuClockWhichMask >= cpuClockMax {
		return unix.EINVAL
	}
	pid := int(^(clk >> 3))
	switch {
	case pid == 0:
		return nil
	case clk&cpuClockPerThread != 0:
		if t.p.thread(pid) == nil {
			return unix.EINVAL
		}
		return nil
	}
	// Every guest process counts the same host CPU time, so another's clock will do.
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if q := k.pt.procs[pid]; q == nil || q.pid != pid {
		return unix.EINVAL
	}
	return nil
}

// hostAlarmTimer asks the host whether a timer on alarm clock clk can be created, and
// deletes the one it made.
func hostAlarmTimer(clk int32) error {
	sev := abi.Sigevent{Notify: abi.SIGEV_NONE}
	var b [abi.SigeventSize]byte
	sev.Marshal(b[:])
	var id int32
	// SAFETY: both pointers are to live Go memory of the sizes the kernel reads (a
	// 64-byte sigevent) and writes (an int), for the duration of the call.
	_, _, e := unix.Syscall(unix.SYS_TIMER_CREATE, uintptr(clk), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&id)))
	if e != 0 {
		return e
	}
	unix.Syscall(unix.SYS_TIMER_DELETE, uintptr(id), 0, 0)
	return nil
}

// allocTimerID gives out the next free id, as Linux's posix_timer_add(): counting up
// from 0, wrapping at INT_MAX, never reusing an id in use. A failed timer_create that
// got this far has used up its id, as on Linux.
func (pt *posixTimers) allocID() int32 {
	for {
		id := pt.next
		pt.next = (id + 1) & math.MaxInt32
		if pt.byID[id] == nil {
			return id
		}
	}
}

// sysTimerCreate implements timer_create(2).
func sysTimerCreate(t *Task, a Args) (uint64, error) {
	p := t.p
	var ev abi.Sigevent
	if a[1] != 0 {
		var b [abi.SigeventSize]byte
		if err := p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
		ev.Unmarshal(b[:])
	}
	clk, err := timerClock(a.Int(0))
	if err != nil {
		return 0, err
	}
	pt := &p.timers
	if uint64(len(pt.byID)) >= p.rlimits[abi.RLIMIT_SIGPENDING].Cur {
		return 0, unix.EAGAIN // each timer holds a queued signal, bounded by RLIMIT_SIGPENDING
	}
	pt.made++
	tm := &posixTimer{id: pt.allocID(), clock: clk, named: a.Int(0), made: pt.made, overrun: -1}
	if a[1] != 0 {
		if err := t.timerEvent(tm, ev); err != nil {
			return 0, err
		}
	} else {
		tm.notify, tm.signo, tm.value = abi.SIGEV_SIGNAL, abi.SIGALRM, uint64(tm.id)
	}
	if err := p.mm.CopyOut(a.Ptr(2), binary.LittleEndian.AppendUint32(nil, uint32(tm.id))); err != nil {
		return 0, err
	}
	if err := t.timerClockLate(a.Int(0)); err != nil {
		return 0, err
	}
	if th, _, _ := t.cpuClockOf(a.Int(0)); th != nil {
		tm.cpuOf = th
	}
	if pt.byID == nil {
		pt.byID = map[int32]*posixTimer{}
	}
	pt.byID[tm.id] = tm
	return 0, nil
}

// timerEvent checks a sigevent as Linux's good_sigevent() and sets tm's notification.
func (t *Task) timerEvent(tm *posixTimer, ev abi.Sigevent) error {
	switch ev.Notify {
	case abi.SIGEV_SIGNAL | abi.SIGEV_THREAD_ID:
		tm.target = t.p.thread(int(ev.TID))
		if tm.target == nil {
			return unix.EINVAL
		}
		fallthrough
	case abi.SIGEV_SIGNAL, abi.SIGEV_THREAD:
		if ev.Signo <= 0 || ev.Signo >= abi.NSIG {
			return unix.EINVAL
		}
	case abi.SIGEV_NONE:
	default:
		return unix.EINVAL
	}
	tm.notify, tm.signo, tm.value = ev.Notify, ev.Signo, ev.Value
	return nil
}

// timer looks up timer id of the process: EINVAL when there is none.
func (p *Process) timer(id int32) (*posixTimer, error) {
	if tm := p.timers.byID[id]; tm != nil {
		return tm, nil
	}
	return nil, unix.EINVAL
}

// timerNow reads the clock of a timer in ns.
func (p *Process) timerNow(clk int32) int64 {
	ts, err := p.k.clock.Now(clk)
	if err != nil {
		return 0
	}
	return ts.Sec*1e9 + ts.Nsec
}

// clockOf reads the clock of timer tm in ns: its thread's CPU time for a thread's clock.
func (p *Process) clockOf(tm *posixTimer) int64 {
	if tm.cpuOf != nil {
		return tm.cpuOf.cpuTime()
	}
	return p.timerNow(tm.clock)
}

func timespecNs(ts abi.Timespec) int64 { return ts.Sec*1e9 + ts.Nsec }

func nsTimespec(ns int64) abi.Timespec { return abi.Timespec{Sec: ns / 1e9, Nsec: ns % 1e9} }

// addSat is a+b for b >= 0, saturating as Linux's ktime_add_safe().
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// forward moves a periodic timer's expiry past now, counting the intervals it skips
// into overrun, as Linux's hrtimer_forward().
func (tm *posixTimer) forward(now int64) {
	if tm.interval <= 0 || now < tm.at {
		return
	}
	k := (now-tm.at)/tm.interval + 1
	tm.at = addSat(tm.at, k*tm.interval)
	tm.overrun = addSat(tm.overrun, k)
}

// get is the timer's current setting, as Linux's common_timer_get(), forwarding a
// periodic timer that is not armed.
func (p *Process) timerGet(tm *posixTimer) abi.Itimerspec {
	var it abi.Itimerspec
	sigNone := tm.notify == abi.SIGEV_NONE
	if tm.interval > 0 {
		it.Interval = nsTimespec(tm.interval)
	} else if tm.status == timerDisarmed && !sigNone {
		return it
	}
	now := p.clockOf(tm)
	if tm.interval > 0 && tm.status != timerArmed {
		tm.forward(now)
	}
	if left := tm.at - now; left > 0 {
		it.Value = nsTimespec(left)
	} else if !sigNone {
		// Expired, its signal not yet sent: never 0, which would mean disarmed.
		it.Value.Nsec = 1
	}
	return it
}

// timerSet changes a timer's setting, as Linux's common_timer_set(): a signal it has
// queued is dropped when taken, the overrun counts start again.
func (p *Process) timerSet(tm *posixTimer, abs bool, it abi.Itimerspec) {
	tm.cancel()
	tm.seq = 0
	tm.status = timerDisarmed
	tm.overrunLast, tm.overrun = 0, -1
	tm.interval = 0
	value := timespecNs(it.Value)
	if value == 0 {
		return
	}
	tm.interval = timespecNs(it.Interval)
	if abs {
		tm.at = value
	} else {
		tm.at = addSat(p.clockOf(tm), value)
	}
	if tm.notify == abi.SIGEV_NONE {
		return // never fires: timer_gettime computes from the expiry
	}
	tm.status = timerArmed
	p.armTimer(tm)
}

// armTimer schedules the expiry of an armed timer, on the guest's clock.
func (p *Process) armTimer(tm *posixTimer) {
	gen := tm.gen
	d := min(time.Duration(max(tm.at-p.clockOf(tm), 0)), maxWait)
	tm.stop = p.after(d, func() { p.timerExpired(tm, gen) })
}

// cancel forgets the timer's current arming.
func (tm *posixTimer) cancel() {
	tm.gen++
	if tm.stop != nil {
		tm.stop()
		tm.stop = nil
	}
}

// timerExpired runs when an arming's time has come on the host's or the virtual clock.
// A CPU-time clock may lag behind it: the timer waits again for what is left.
func (p *Process) timerExpired(tm *posixTimer, gen uint64) {
	if tm.gen != gen || tm.status != timerArmed || p.exit != nil || p.timers.byID[tm.id] != tm {
		return
	}
	if p.clockOf(tm) < tm.at {
		if th := tm.cpuOf; th != nil && th.state == taskDead {
			return // its thread's clock stopped for good
		}
		p.armTimer(tm)
		return
	}
	p.timerFire(tm)
}

// timerFire sends a timer's signal, as Linux's posix_timer_queue_signal().
func (p *Process) timerFire(tm *posixTimer) {
	tm.status = timerDisarmed
	if tm.interval > 0 {
		tm.status = timerRequeuePending
	}
	p.timers.seq++
	tm.seq = p.timers.seq
	info := abi.Siginfo{Signo: tm.signo, Code: abi.SI_TIMER, TimerID: tm.id, Value: tm.value, SysPrivate: tm.seq}
	q := &p.sigs().pending
	if tm.target != nil {
		if tm.target.state == taskDead {
			tm.status, tm.seq = timerDisarmed, 0
			return
		}
		q = &tm.target.sigs().pending
	}
	p.queueSignal(tm.target, info)
	if tm.seq == 0 || tm.status != timerRequeuePending || p.exit != nil {
		return // taken at once by a waiting sigtimedwait, or one-shot, or fatal
	}
	for _, in := range q.infos[tm.signo] {
		if in.SysPrivate == tm.seq {
			return
		}
	}
	// Not queued (ignored, or merged into a pending standard signal): a periodic
	// timer goes on as if it had been taken.
	tm.seq = 0
	p.timerRearm(tm)
}

// timerRearm arms a periodic timer again for its next expiry after now, and makes the
// expiries it missed the overrun timer_getoverrun reports.
func (p *Process) timerRearm(tm *posixTimer) {
	tm.forward(p.clockOf(tm))
	tm.status = timerArmed
	tm.overrunLast, tm.overrun = tm.overrun, -1
	tm.cancel()
	p.armTimer(tm)
}

// timerTaken is called when a thread takes a timer's signal from a queue (delivery or
// sigtimedwait), as Linux's posixtimer_deliver_signal(): it reports false when the
// timer was set again or deleted since (the signal is then dropped), and otherwise
// re-arms a periodic timer and fills in si_overrun.
func (p *Process) timerTaken(info *abi.Siginfo) bool {
	tm := p.timers.byID[info.TimerID]
	if tm == nil || tm.seq != info.SysPrivate {
		return false
	}
	tm.seq = 0
	info.SysPrivate = 0
	if tm.interval > 0 && tm.status == timerRequeuePending {
		p.timerRearm(tm)
		info.Overrun = clampOverrun(tm.overrunLast)
	}
	return true
}

func clampOverrun(n int64) int32 { return int32(min(max(n, 0), math.MaxInt32)) }

// deleteTimers removes every timer, as execve does.
func (p *Process) deleteTimers() {
	for _, tm := range p.timers.byID {
		tm.cancel()
	}
	p.timers.byID = nil
}

// getItimerspec reads and checks a struct itimerspec.
func (t *Task) getItimerspec(addr mm.Addr) (abi.Itimerspec, error) {
	var b [abi.ItimerspecSize]byte
	var it abi.Itimerspec
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return it, err
	}
	it.Unmarshal(b[:])
	return it, nil
}

func (t *Task) putItimer(addr mm.Addr, it abi.Itimerspec) error {
	var b [abi.ItimerspecSize]byte
	it.Marshal(b[:])
	return t.p.mm.CopyOut(addr, b[:])
}

// sysTimerSettime implements timer_settime(2). Flags other than TIMER_ABSTIME are
// ignored, as on Linux; a failed copy of the old setting leaves the new one in place.
func sysTimerSettime(t *Task, a Args) (uint64, error) {
	if a[2] == 0 {
		return 0, unix.EINVAL
	}
	it, err := t.getItimerspec(a.Ptr(2))
	if err != nil {
		return 0, err
	}
	if !validTimespec(it.Interval) || !validTimespec(it.Value) {
		return 0, unix.EINVAL
	}
	tm, err := t.p.timer(a.Int(0))
	if err != nil {
		return 0, err
	}
	var old abi.Itimerspec
	if a[3] != 0 {
		old = t.p.timerGet(tm)
	}
	t.p.timerSet(tm, a.Int(1)&abi.TIMER_ABSTIME != 0, it)
	if a[3] != 0 {
		return 0, t.putItimer(a.Ptr(3), old)
	}
	return 0, nil
}

// sysTimerGettime implements timer_gettime(2).
func sysTimerGettime(t *Task, a Args) (uint64, error) {
	tm, err := t.p.timer(a.Int(0))
	if err != nil {
		return 0, err
	}
	return 0, t.putItimer(a.Ptr(1), t.p.timerGet(tm))
}

// sysTimerGetoverrun implements timer_getoverrun(2): the overrun of the last signal
// taken, at most INT_MAX.
func sysTimerGetoverrun(t *Task, a Args) (uint64, error) {
	tm, err := t.p.timer(a.Int(0))
	if err != nil {
		return 0, err
	}
	return uint64(clampOverrun(tm.overrunLast)), nil
}

// sysTimerDelete implements timer_delete(2). A signal it has queued is dropped when a
// thread would take it.
func sysTimerDelete(t *Task, a Args) (uint64, error) {
	tm, err := t.p.timer(a.Int(0))
	if err != nil {
		return 0, err
	}
	tm.cancel()
	tm.seq = 0
	delete(t.p.timers.byID, tm.id)
	return 0, nil
}
