package kernel

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	vdsoimage "vemu/vdso_image"
)

// ClockKind selects where guest time comes from.
type ClockKind int

// Clock sources.
const (
	// ClockHost is the host's time (shifted when a start time is given), at its real rate.
	ClockHost ClockKind = iota
	// ClockVirtual starts at the start time and advances only with the guest's progress:
	// the same on every run.
	ClockVirtual
)

// virtualEpoch is the virtual clock's wall time when no start time is given.
var virtualEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Virtual clock steps: what one clock read costs in guest time, and the uptime at start.
const (
	virtualReadNs = 100
	virtualBootNs = 1_000_000_000 // MONOTONIC at start: one second of uptime
)

// Timekeeper is the one source of guest time: system calls, the vsyscall page and the
// vDSO's data pages all read it.
type Timekeeper struct {
	kind       ClockKind
	realOffset int64 // host clock: ns added to CLOCK_REALTIME
	virtReal   int64 // virtual clock: REALTIME at start, ns
	virt       atomic.Int64

	mu      sync.Mutex
	procs   []*Process
	stopped chan struct{}
	hz      int
	updates atomic.Uint64
	cal     calibration
	pub     atomic.Pointer[vdsoimage.Data] // the host clock's last published vvar data
	// gen is odd while a publication is under way: the system calls' readers of pub wait
	// for it, as the vDSO's wait for the pages' sequence counts (see tick).
	gen atomic.Uint64
}

// maxSettodSec is Linux's TIME_SETTOD_SEC_MAX: the last second a clock may be set to,
// 30 years of uptime short of where its 64-bit nanoseconds (KTIME_SEC_MAX) overflow.
const maxSettodSec int64 = math.MaxInt64/1_000_000_000 - 30*31536000

// CheckStartTime says whether t can start the guest's clocks: Linux lets a clock be set
// neither before 1970 nor past TIME_SETTOD_SEC_MAX (in the year 2232), which leaves room
// for the nanoseconds vemu's clocks count in.
func CheckStartTime(t time.Time) error {
	if sec := t.Unix(); sec < 0 || sec >= maxSettodSec {
		return fmt.Errorf("%s is outside the times a Linux clock can be set to (%s to %s)",
			t.Format(time.RFC3339), time.Unix(0, 0).UTC().Format(time.RFC3339),
			time.Unix(maxSettodSec-1, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

func newTimekeeper(cfg Config) *Timekeeper {
	tk := &Timekeeper{kind: cfg.Clock, hz: cfg.HZ}
	start := cfg.StartTime
	switch cfg.Clock {
	case ClockVirtual:
		if start.IsZero() {
			start = virtualEpoch
		}
		tk.virtReal = start.UnixNano()
		tk.virt.Store(virtualBootNs)
	default:
		if !start.IsZero() {
			tk.realOffset = start.UnixNano() - time.Now().UnixNano()
		}
		// Start measuring the TSC's rate now; loading the program gives it time.
		tk.cal.tsc0, tk.cal.mono0 = emu.HostTSC(), monoNow()
	}
	return tk
}

// hresClocks are the clocks the vDSO computes from its counter; coarse ones from the tick.
func isCoarse(clk int32) bool {
	return clk == abi.CLOCK_REALTIME_COARSE || clk == abi.CLOCK_MONOTONIC_COARSE
}

// Now returns the time of clock clk, or EINVAL for a clock Linux does not know.
func (tk *Timekeeper) Now(clk int32) (abi.Timespec, error) {
	var ns int64
	switch tk.kind {
	case ClockVirtual:
		mono := tk.virt.Add(virtualReadNs)
		switch clk {
		case abi.CLOCK_REALTIME, abi.CLOCK_REALTIME_COARSE, abi.CLOCK_REALTIME_ALARM:
			ns = tk.virtReal + mono - virtualBootNs
		case abi.CLOCK_TAI:
			ns = tk.virtReal + mono - virtualBootNs + 37e9
		case abi.CLOCK_MONOTONIC, abi.CLOCK_MONOTONIC_COARSE, abi.CLOCK_MONOTONIC_RAW,
			abi.CLOCK_BOOTTIME, abi.CLOCK_BOOTTIME_ALARM:
			ns = mono
		case abi.CLOCK_PROCESS_CPUTIME_ID, abi.CLOCK_THREAD_CPUTIME_ID:
			ns = mono - virtualBootNs
		default:
			return abi.Timespec{}, unix.EINVAL
		}
	default:
		// Once the vvar page is published, the system calls read time exactly as the
		// vDSO does, from the same data and counter, under the same seqlock: one time
		// for everyone.
		for {
			g := tk.gen.Load()
			if g&1 != 0 {
				runtime.Gosched()
				continue
			}
			d := tk.pub.Load()
			if d == nil {
				break
			}
			sec, nsec, ok := d.ClockTime(int(clk), emu.HostTSC())
			if tk.gen.Load() != g {
				continue
			}
			if ok {
				return abi.Timespec{Sec: int64(sec), Nsec: int64(nsec)}, nil
			}
			break
		}
		return tk.hostNow(clk)
	}
	return abi.Timespec{Sec: ns / 1e9, Nsec: ns % 1e9}, nil
}

// hostNow reads clock clk from the host, shifted by the start-time offset.
func (tk *Timekeeper) hostNow(clk int32) (abi.Timespec, error) {
	var ns int64
	{
		hclk, ok := hostClocks[clk]
		if !ok {
			return abi.Timespec{}, unix.EINVAL
		}
		var ts unix.Timespec
		if err := unix.ClockGettime(hclk, &ts); err != nil {
			return abi.Timespec{}, err
		}
		ns = ts.Nano()
		switch clk {
		case abi.CLOCK_REALTIME, abi.CLOCK_REALTIME_COARSE, abi.CLOCK_REALTIME_ALARM, abi.CLOCK_TAI:
			ns += tk.realOffset
		}
	}
	return abi.Timespec{Sec: ns / 1e9, Nsec: ns % 1e9}, nil
}

// hostClocks maps guest clock ids to the host's.
var hostClocks = map[int32]int32{
	abi.CLOCK_REALTIME: unix.CLOCK_REALTIME, abi.CLOCK_MONOTONIC: unix.CLOCK_MONOTONIC,
	abi.CLOCK_PROCESS_CPUTIME_ID: unix.CLOCK_PROCESS_CPUTIME_ID, abi.CLOCK_THREAD_CPUTIME_ID: unix.CLOCK_THREAD_CPUTIME_ID,
	abi.CLOCK_MONOTONIC_RAW: unix.CLOCK_MONOTONIC_RAW, abi.CLOCK_REALTIME_COARSE: unix.CLOCK_REALTIME_COARSE,
	abi.CLOCK_MONOTONIC_COARSE: unix.CLOCK_MONOTONIC_COARSE, abi.CLOCK_BOOTTIME: unix.CLOCK_BOOTTIME,
	abi.CLOCK_REALTIME_ALARM: unix.CLOCK_REALTIME_ALARM, abi.CLOCK_BOOTTIME_ALARM: unix.CLOCK_BOOTTIME_ALARM,
	abi.CLOCK_TAI: unix.CLOCK_TAI,
}

// Res returns the resolution of clock clk.
func (tk *Timekeeper) Res(clk int32) (abi.Timespec, error) {
	if _, ok := hostClocks[clk]; !ok {
		return abi.Timespec{}, unix.EINVAL
	}
	if isCoarse(clk) {
		return abi.Timespec{Nsec: int64(1e9 / tk.hz)}, nil
	}
	return abi.Timespec{Nsec: 1}, nil
}

// attach makes the timekeeper keep p's vvar page. The page gets the data every other
// process reads now: a process started later never sees other numbers than the others.
func (tk *Timekeeper) attach(p *Process) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.procs = append(tk.procs, p)
	if p.vdso.vvar == nil {
		return
	}
	d := tk.pub.Load()
	if d == nil || tk.kind == ClockVirtual {
		// Under the lock: the tick goroutine publishes too, and the calibration is shared.
		d = tk.next()
	}
	tk.updates.Add(1)
	dd := *d
	dd.CPU = p.vvarCPU
	vdsoimage.Publish(p.vdso.vvar, &dd)
}

// setCPU makes p's vvar page report cpu, the CPU of the thread that runs now, under the
// lock the ticks publish under, so that a tick never writes an older number back.
func (tk *Timekeeper) setCPU(p *Process, cpu uint32) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	p.vvarCPU = cpu
	if p.vdso.vvar != nil {
		vdsoimage.SetCPU(p.vdso.vvar, cpu, 0)
	}
}

// dropVVar stops keeping p's vvar page: the guest is unmapping it.
func (tk *Timekeeper) dropVVar(p *Process) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	p.vdso.vvar = nil
}

// start begins the ticks that keep every attached process's vvar current.
func (tk *Timekeeper) start() {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.stopped != nil || tk.kind == ClockVirtual {
		return
	}
	tk.stopped = make(chan struct{})
	go tk.tick(tk.stopped)
}

// detach stops keeping p's vvar page (its memory goes away next), and stops the ticks
// when no process is left.
func (tk *Timekeeper) detach(p *Process) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for i, q := range tk.procs {
		if q == p {
			tk.procs = append(tk.procs[:i], tk.procs[i+1:]...)
			break
		}
	}
	if len(tk.procs) == 0 && tk.stopped != nil {
		close(tk.stopped)
		tk.stopped = nil
	}
}

func (tk *Timekeeper) tick(stop chan struct{}) {
	t := time.NewTicker(time.Second / time.Duration(tk.hz))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			tk.mu.Lock()
			tk.publishAll()
			tk.mu.Unlock()
		}
	}
}

// publishAll gives every process's vvar page the data for now (called with tk.mu held).
// Each process has a page of its own, written one after the other, so the publication
// is one seqlock over all of them, as Linux's single vvar page is: every page's write
// section opens, and the system calls' readers wait (gen odd), before the data is
// computed; the new data is then no lower at its counter value than any reading the old
// data gave, and every page closes after all have it. Without this, a reader of a page
// already written could see a lower time than a reader of a page still to be written
// read just before (2.7 us back, in three processes reading the wall clock, when the
// writer was slowed down).
func (tk *Timekeeper) publishAll() {
	pages := make([][]byte, 0, len(tk.procs))
	cpus := make([]uint32, 0, len(tk.procs))
	for _, p := range tk.procs {
		if p.vdso.vvar != nil {
			pages = append(pages, p.vdso.vvar)
			cpus = append(cpus, p.vvarCPU)
			vdsoimage.Begin(p.vdso.vvar)
		}
	}
	tk.gen.Add(1)
	d := tk.next()
	for i, page := range pages {
		tk.updates.Add(1)
		dd := *d
		dd.CPU = cpus[i] // each process's own: the CPU of its running thread
		vdsoimage.Finish(page, &dd)
	}
	tk.gen.Add(1)
}

// calibration relates the host's TSC, which the guest's rdtsc returns, to host time.
type calibration struct {
	tsc0  uint64
	mono0 int64
	last  *vdsoimage.Data // what was last published, to keep clocks from going back
	// offsets of REALTIME, BOOTTIME and TAI from MONOTONIC, by clock id, as last
	// published: they change only when the host's clock is set, not at each tick.
	offsets map[int32]int64
}

// monoNow reads the host's CLOCK_MONOTONIC, which runs at the rate of REALTIME, BOOTTIME
// and TAI (NTP's frequency corrections apply to all of them alike).
func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// minCalibration is the shortest baseline the TSC rate is measured over; a longer one
// is used as the run goes on.
const minCalibration = 200 * time.Microsecond

// clockStep is how far a host clock's offset from MONOTONIC must move before vemu takes
// it as the clock being set (settimeofday, an NTP step) rather than as the noise of
// reading two clocks one after the other.
const clockStep = int64(time.Millisecond)

// virtualCounter is the counter the vDSO reads under the virtual clock: the virtual
// MONOTONIC in nanoseconds, advanced by one read.
func (tk *Timekeeper) virtualCounter() uint64 {
	return uint64(tk.virt.Add(virtualReadNs))
}

// next returns the vvar data for now, which every process's page then gets (called with
// tk.mu held). Layout and arithmetic: see vdsoimage.Data.
//
// As on Linux, no clock goes back from one publication to the next, whichever page or
// system call a reader used: MONOTONIC (and MONOTONIC_RAW) start where readers of the
// last data would be at the new counter value if the host is behind that, and REALTIME,
// BOOTTIME and TAI are MONOTONIC plus an offset that changes only when the host's clock
// is set. The rate is measured against MONOTONIC, the rate of all of these.
func (tk *Timekeeper) next() *vdsoimage.Data {
	var d vdsoimage.Data
	d.Mode = vdsoimage.ClockModeTSC
	d.HresNs = 1
	d.CoarseNs = uint32(1e9 / tk.hz)
	if tk.kind == ClockVirtual {
		// The counter is the virtual MONOTONIC itself: mult 1, shift 0.
		mono := tk.virt.Load()
		d.CycleLast, d.Mult, d.Shift = uint64(mono), 1, 0
		real := tk.virtReal + mono - virtualBootNs
		for clk, ns := range map[int]int64{
			vdsoimage.ClockRealtime: real, vdsoimage.ClockMonotonic: mono, vdsoimage.ClockMonotonicRaw: mono,
			vdsoimage.ClockBoottime: mono, vdsoimage.ClockTAI: real + 37e9,
			vdsoimage.ClockRealtimeCoarse: real, vdsoimage.ClockMonotonicCoarse: mono,
		} {
			d.SetClock(clk, uint64(ns/1e9), uint64(ns%1e9))
		}
		return &d
	}

	c := &tk.cal
	if c.tsc0 == 0 {
		c.tsc0, c.mono0 = emu.HostTSC(), monoNow()
	}
	for monoNow()-c.mono0 < int64(minCalibration) {
		// The first publication waits for a usable baseline (a fraction of a millisecond).
	}
	tsc, mono := emu.HostTSC(), monoNow()
	dc, dt := tsc-c.tsc0, uint64(mono-c.mono0)
	shift := uint32(32)
	mult := (dt << 16 / dc) << 16 // ns per cycle << 32, without overflow for dt < 2^48
	if dt < 1<<31 {
		mult = (dt << 32) / dc
	}
	for mult >= 1<<32 && shift > 0 {
		mult >>= 1
		shift--
	}
	d.CycleLast, d.Mult, d.Shift = tsc, uint32(mult), shift

	// notBefore raises ns to what the last data gives clock clk at this counter value.
	notBefore := func(clk int32, ns int64) int64 {
		if c.last == nil {
			return ns
		}
		if sec, nsec, ok := c.last.ClockTime(int(clk), tsc); ok {
			return max(ns, int64(sec)*1e9+int64(nsec))
		}
		return ns
	}
	host := func(clk int32) int64 {
		ts, err := tk.hostNow(clk)
		if err != nil {
			return 0
		}
		return ts.Sec*1e9 + ts.Nsec
	}
	monoBase := notBefore(abi.CLOCK_MONOTONIC, mono)
	set := func(clk int32, ns int64) { d.SetClock(int(clk), uint64(ns/1e9), uint64(ns%1e9)) }
	set(abi.CLOCK_MONOTONIC, monoBase)
	set(abi.CLOCK_MONOTONIC_COARSE, monoBase)
	set(abi.CLOCK_MONOTONIC_RAW, notBefore(abi.CLOCK_MONOTONIC_RAW, host(abi.CLOCK_MONOTONIC_RAW)))
	if c.offsets == nil {
		c.offsets = map[int32]int64{}
	}
	for _, clk := range []int32{abi.CLOCK_REALTIME, abi.CLOCK_BOOTTIME, abi.CLOCK_TAI} {
		off := host(clk) - monoNow()
		if old, ok := c.offsets[clk]; ok && off-old < clockStep && old-off < clockStep {
			off = old
		}
		c.offsets[clk] = off
		set(clk, monoBase+off)
	}
	set(abi.CLOCK_REALTIME_COARSE, monoBase+c.offsets[abi.CLOCK_REALTIME])
	c.last = &d
	tk.pub.Store(&d)
	return &d
}
