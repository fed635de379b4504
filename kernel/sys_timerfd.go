package kernel

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Guest timerfd values (x86-64).
const (
	tfdCloexec       = abi.O_CLOEXEC
	tfdNonblock      = abi.O_NONBLOCK
	tfdTimerAbstime  = 1 << 0
	tfdTimerCancelOn = 1 << 1
)

const timerfdNote = "under --clock=virtual, a timerfd shared with another process after fork fires on the run loop of the process that set it last"

// timerfdClocks are the clocks timerfd_create accepts, as Linux's: the alarm clocks need
// CAP_WAKE_ALARM, which the host checks.
var timerfdClocks = map[int32]int{
	abi.CLOCK_REALTIME: unix.CLOCK_REALTIME, abi.CLOCK_MONOTONIC: unix.CLOCK_MONOTONIC,
	abi.CLOCK_BOOTTIME: unix.CLOCK_BOOTTIME, abi.CLOCK_REALTIME_ALARM: unix.CLOCK_REALTIME_ALARM,
	abi.CLOCK_BOOTTIME_ALARM: unix.CLOCK_BOOTTIME_ALARM,
}

// sysTimerfdCreate implements timerfd_create(2) with a host timerfd; reads and polls of
// it are the host's.
func sysTimerfdCreate(t *Task, a Args) (uint64, error) {
	clk, flags := a.Int(0), a.Int(1)
	hclk, ok := timerfdClocks[clk]
	if !ok || flags&^(tfdCloexec|tfdNonblock) != 0 {
		return 0, unix.EINVAL
	}
	if t.p.k.cfg.Clock == ClockVirtual {
		return t.virtualTimerfd(clk, flags)
	}
	hflags := unix.TFD_CLOEXEC
	if flags&tfdNonblock != 0 {
		hflags |= unix.TFD_NONBLOCK
	}
	hfd, err := unix.TimerfdCreate(hclk, hflags)
	if err != nil {
		return 0, err
	}
	return t.installAnonInode(hfd, "[timerfd]", abi.O_RDWR|uint32(flags&tfdNonblock), flags&tfdCloexec != 0)
}

func validTimespec(ts abi.Timespec) bool { return ts.Sec >= 0 && ts.Nsec >= 0 && ts.Nsec < 1e9 }

func itimerspecToHost(it abi.Itimerspec) unix.ItimerSpec {
	return unix.ItimerSpec{
		Interval: unix.NsecToTimespec(it.Interval.Sec*1e9 + it.Interval.Nsec),
		Value:    unix.NsecToTimespec(it.Value.Sec*1e9 + it.Value.Nsec),
	}
}

func itimerspecFromHost(h unix.ItimerSpec) abi.Itimerspec {
	return abi.Itimerspec{
		Interval: abi.Timespec{Sec: int64(h.Interval.Sec), Nsec: int64(h.Interval.Nsec)},
		Value:    abi.Timespec{Sec: int64(h.Value.Sec), Nsec: int64(h.Value.Nsec)},
	}
}

func (t *Task) putItimerspec(addr mm.Addr, h unix.ItimerSpec) error {
	it := itimerspecFromHost(h)
	var b [abi.ItimerspecSize]byte
	it.Marshal(b[:])
	return t.p.mm.CopyOut(addr, b[:])
}

// hostAbsTime turns an absolute expiry on the guest's clock into the host timer's
// setting, and says whether that is still absolute: shifted by the start-time offset for
// the host clock's real-time clocks, relative to now for the virtual clock (whose
// absolute times the host cannot know).
func (t *Task) hostAbsTime(hfd int, abs abi.Timespec) (unix.Timespec, bool, error) {
	tk := t.p.k.clock
	ns := abs.Sec*1e9 + abs.Nsec
	if tk.kind != ClockVirtual && tk.realOffset == 0 {
		return unix.NsecToTimespec(ns), true, nil
	}
	clk, err := timerfdClock(hfd)
	if err != nil {
		return unix.Timespec{}, false, err
	}
	if tk.kind == ClockVirtual {
		now, err := tk.Now(clk)
		if err != nil {
			return unix.Timespec{}, false, err
		}
		// An expiry already past fires at once, as on Linux.
		return unix.NsecToTimespec(max(ns-(now.Sec*1e9+now.Nsec), 1)), false, nil
	}
	switch clk {
	case abi.CLOCK_REALTIME, abi.CLOCK_REALTIME_ALARM:
		ns = max(ns-tk.realOffset, 1)
	}
	return unix.NsecToTimespec(ns), true, nil
}

// sysTimerfdSettime implements timerfd_settime(2).
func sysTimerfdSettime(t *Task, a Args) (uint64, error) {
	flags := a.Int(1)
	if flags&^(tfdTimerAbstime|tfdTimerCancelOn) != 0 {
		return 0, unix.EINVAL
	}
	var b [abi.ItimerspecSize]byte
	if err := t.p.mm.CopyIn(a.Ptr(2), b[:]); err != nil {
		return 0, err
	}
	var it abi.Itimerspec
	it.Unmarshal(b[:])
	if !validTimespec(it.Interval) || !validTimespec(it.Value) {
		return 0, unix.EINVAL
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if v, ok := f.ops.(*virtTimerfd); ok {
		old := v.settime(t, flags&tfdTimerAbstime != 0, it)
		if a[3] != 0 {
			return 0, t.putItimer(a.Ptr(3), old)
		}
		return 0, nil
	}
	h := itimerspecToHost(it)
	hflags := 0
	if flags&tfdTimerAbstime != 0 && (it.Value.Sec != 0 || it.Value.Nsec != 0) {
		v, abs, err := t.hostAbsTime(f.fd, it.Value)
		if err != nil {
			return 0, err
		}
		h.Value = v
		if abs {
			hflags |= unix.TFD_TIMER_ABSTIME
			if flags&tfdTimerCancelOn != 0 {
				hflags |= unix.TFD_TIMER_CANCEL_ON_SET
			}
		}
	}
	var old unix.ItimerSpec
	if err := unix.TimerfdSettime(f.fd, hflags, &h, &old); err != nil {
		return 0, err
	}
	if a[3] != 0 {
		return 0, t.putItimerspec(a.Ptr(3), old)
	}
	return 0, nil
}

// timerfdClock reads the clock of the host timerfd hfd from the host's fdinfo (the
// guest's clock ids are the host's); EINVAL when hfd is not a timerfd.
func timerfdClock(hfd int) (int32, error) {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(hfd))
	if err != nil {
		return 0, unix.EINVAL
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "clockid:"); ok {
			clk, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				break
			}
			return int32(clk), nil
		}
	}
	return 0, unix.EINVAL
}

// sysTimerfdGettime implements timerfd_gettime(2).
func sysTimerfdGettime(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if v, ok := f.ops.(*virtTimerfd); ok {
		return 0, t.putItimer(a.Ptr(1), v.gettime(t))
	}
	var cur unix.ItimerSpec
	if err := unix.TimerfdGettime(f.fd, &cur); err != nil {
		return 0, err
	}
	return 0, t.putItimerspec(a.Ptr(1), cur)
}
