package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	vdsoimage "vemu/vdso_image"
)

// calibration relates the host's TSC, which the guest's rdtsc returns, to host time.
type calibration struct {
	tsc0  uint64
	mono0 int64
	last  vdsoimage.Data // what was last published, to keep clocks from going back
	have  bool
}

func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC_RAW, &ts)
	return ts.Nano()
}

// minCalibration is the shortest baseline the TSC rate is measured over; a longer one
// is used as the run goes on.
const minCalibration = 200 * time.Microsecond

// virtualCounter is the counter the vDSO reads under the virtual clock: the virtual
// MONOTONIC in nanoseconds, advanced by one read.
func (tk *Timekeeper) virtualCounter() uint64 {
	return uint64(tk.virt.Add(virtualReadNs))
}

// publish writes the current time into p's vvar page under the seqlock.
// Layout and arithmetic: see vdsoimage.Data.
func (tk *Timekeeper) publish(p *Process) {
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
		vdsoimage.Publish(p.vdso.vvar, &d)
		return
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
	for _, clk := range []int32{abi.CLOCK_REALTIME, abi.CLOCK_MONOTONIC, abi.CLOCK_MONOTONIC_RAW,
		abi.CLOCK_BOOTTIME, abi.CLOCK_TAI, abi.CLOCK_REALTIME_COARSE, abi.CLOCK_MONOTONIC_COARSE} {
		ts, err := tk.hostNow(clk)
		if err != nil {
			continue
		}
		sec, nsec := uint64(ts.Sec), uint64(ts.Nsec)
		if c.have && clk != abi.CLOCK_REALTIME && clk != abi.CLOCK_REALTIME_COARSE && clk != abi.CLOCK_TAI {
			// What readers computed with the old rate at this counter value must not be
			// ahead of the new base, or MONOTONIC would step back.
			if os, on, ok := c.last.ClockTime(int(clk), tsc); ok && (os > sec || os == sec && on > nsec) {
				sec, nsec = os, on
			}
		}
		d.SetClock(int(clk), sec, nsec)
	}
	vdsoimage.Publish(p.vdso.vvar, &d)
	c.last, c.have = d, true
	tk.pub.Store(&d)
}
