package e2e

import (
	"syscall"
	"testing"
)

// TestFutexPISigterm sends SIGTERM to the vemu process while guest threads wait in
// FUTEX_LOCK_PI (a wait Linux does not let signals end): vemu must end as the program
// does natively, killed by the signal.
func TestFutexPISigterm(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := guest("futexpi." + libc)
			want := signalRun(t, []string{prog, "wait-lockpi"}, syscall.SIGTERM)
			got := signalRun(t, []string{vemuBin, "run", prog, "wait-lockpi"}, syscall.SIGTERM)
			if want.signal != int(syscall.SIGTERM) {
				t.Errorf("natively: status %d, want killed by SIGTERM", want.status)
			}
			if got.status != want.status || got.signal != want.signal {
				t.Errorf("under vemu: status %d; natively: status %d; vemu's stderr: %s", got.status, want.status, got.stderr)
			}
		})
	}
}
