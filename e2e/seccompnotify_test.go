package e2e

import (
	"syscall"
	"testing"
)

// TestSeccompNotifySigterm sends SIGTERM to vemu while a guest thread waits for a seccomp
// supervisor that never answers: vemu must end as the program does natively, killed by
// the signal.
func TestSeccompNotifySigterm(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := guest("seccompnotify." + libc)
			want := signalRun(t, []string{prog, "hang"}, syscall.SIGTERM)
			got := signalRun(t, []string{vemuBin, "run", prog, "hang"}, syscall.SIGTERM)
			if want.signal != int(syscall.SIGTERM) {
				t.Errorf("natively: status %d, want killed by SIGTERM", want.status)
			}
			if got.status != want.status || got.signal != want.signal {
				t.Errorf("under vemu: status %d; natively: status %d; vemu's stderr: %s", got.status, want.status, got.stderr)
			}
		})
	}
}
