//go:build linux && amd64

package vdsoimage

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The fallback system call numbers are x86-64's; on an x86-64 host they
// must agree with golang.org/x/sys/unix.
func TestSyscallNumbers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ours, sys int
	}{
		{"gettimeofday", sysGettimeofday, unix.SYS_GETTIMEOFDAY},
		{"clock_gettime", sysClockGettime, unix.SYS_CLOCK_GETTIME},
		{"clock_getres", sysClockGetres, unix.SYS_CLOCK_GETRES},
	} {
		if tc.ours != tc.sys {
			t.Errorf("%s: %d, unix says %d", tc.name, tc.ours, tc.sys)
		}
	}
	for _, tc := range []struct {
		name      string
		ours, sys int
	}{
		{"REALTIME", ClockRealtime, unix.CLOCK_REALTIME},
		{"MONOTONIC", ClockMonotonic, unix.CLOCK_MONOTONIC},
		{"PROCESS_CPUTIME_ID", ClockProcessCPUTime, unix.CLOCK_PROCESS_CPUTIME_ID},
		{"THREAD_CPUTIME_ID", ClockThreadCPUTime, unix.CLOCK_THREAD_CPUTIME_ID},
		{"MONOTONIC_RAW", ClockMonotonicRaw, unix.CLOCK_MONOTONIC_RAW},
		{"REALTIME_COARSE", ClockRealtimeCoarse, unix.CLOCK_REALTIME_COARSE},
		{"MONOTONIC_COARSE", ClockMonotonicCoarse, unix.CLOCK_MONOTONIC_COARSE},
		{"BOOTTIME", ClockBoottime, unix.CLOCK_BOOTTIME},
		{"REALTIME_ALARM", ClockRealtimeAlarm, unix.CLOCK_REALTIME_ALARM},
		{"BOOTTIME_ALARM", ClockBoottimeAlarm, unix.CLOCK_BOOTTIME_ALARM},
		{"TAI", ClockTAI, unix.CLOCK_TAI},
	} {
		if tc.ours != tc.sys {
			t.Errorf("CLOCK_%s: %d, unix says %d", tc.name, tc.ours, tc.sys)
		}
	}
}
