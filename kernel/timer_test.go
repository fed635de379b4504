package kernel

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/abi"
)

func TestTimerClock(t *testing.T) {
	cases := []struct {
		name string
		clk  int32
		want int32
		err  error
	}{
		{"realtime", abi.CLOCK_REALTIME, abi.CLOCK_REALTIME, nil},
		{"tai", abi.CLOCK_TAI, abi.CLOCK_TAI, nil},
		{"alarm", abi.CLOCK_BOOTTIME_ALARM, abi.CLOCK_BOOTTIME_ALARM, nil},
		{"raw", abi.CLOCK_MONOTONIC_RAW, 0, unix.EOPNOTSUPP},
		{"coarse", abi.CLOCK_REALTIME_COARSE, 0, unix.EOPNOTSUPP},
		{"unknown", 10, 0, unix.EINVAL},
		{"past-tai", 12, 0, unix.EINVAL},
		{"own-process-cpu", -6, abi.CLOCK_PROCESS_CPUTIME_ID, nil},
		{"own-thread-cpu", -2, abi.CLOCK_THREAD_CPUTIME_ID, nil},
		{"fd-clock", -5, 0, unix.EOPNOTSUPP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := timerClock(c.clk)
			if err != c.err || (err == nil && got != c.want) {
				t.Errorf("timerClock(%d) = %d, %v; want %d, %v", c.clk, got, err, c.want, c.err)
			}
		})
	}
}

func TestTimerForward(t *testing.T) {
	cases := []struct {
		name             string
		at, interval     int64
		now              int64
		wantAt, wantOver int64
	}{
		{"not-yet", 100, 10, 99, 100, -1},
		{"at-expiry", 100, 10, 100, 110, 0},
		{"missed-four", 10, 10, 55, 60, 4},
		{"one-shot", 100, 0, 500, 100, -1},
		{"saturates", math.MaxInt64 - 5, 10, math.MaxInt64 - 1, math.MaxInt64, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := &posixTimer{at: c.at, interval: c.interval, overrun: -1}
			tm.forward(c.now)
			if tm.at != c.wantAt || tm.overrun != c.wantOver {
				t.Errorf("forward(%d): at %d overrun %d, want %d %d", c.now, tm.at, tm.overrun, c.wantAt, c.wantOver)
			}
		})
	}
	if clampOverrun(-1) != 0 || clampOverrun(1<<40) != math.MaxInt32 {
		t.Errorf("clampOverrun: %d %d", clampOverrun(-1), clampOverrun(1<<40))
	}
}

func TestTimerIDs(t *testing.T) {
	var pt posixTimers
	pt.byID = map[int32]*posixTimer{1: {}}
	if a, b := pt.allocID(), pt.allocID(); a != 0 || b != 2 {
		t.Errorf("ids %d %d, want 0 2 (1 in use)", a, b)
	}
	pt.next = math.MaxInt32
	if a, b := pt.allocID(), pt.allocID(); a != math.MaxInt32 || b != 0 {
		t.Errorf("ids at the wrap %d %d, want %d 0", a, b, math.MaxInt32)
	}
}

func TestCheckStartTime(t *testing.T) {
	last := time.Unix(maxSettodSec-1, 0)
	for _, c := range []struct {
		name string
		t    time.Time
		ok   bool
	}{
		{"epoch", time.Unix(0, 0), true},
		{"before-epoch", time.Unix(-1, 0), false},
		{"year-1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"last", last, true},
		{"past-last", last.Add(time.Second), false},
		{"year-9999", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckStartTime(c.t)
			if c.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, "outside the times a Linux clock can be set to")
			}
		})
	}
	// The last time allowed is what the guest reads, as far as its clocks go.
	tk := newTimekeeper(Config{Clock: ClockVirtual, StartTime: last})
	ts, err := tk.Now(abi.CLOCK_TAI)
	require.NoError(t, err)
	assert.Equal(t, last.Unix()+37, ts.Sec)
}
