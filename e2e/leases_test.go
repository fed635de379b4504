package e2e

import (
	"syscall"
	"testing"
)

// TestLeaseWaitSigterm: SIGTERM to vemu ends a run while a guest waits in an open that
// broke another guest's lease, as it ends the same processes natively.
func TestLeaseWaitSigterm(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := guest("leases." + libc)
			want := signalRun(t, []string{prog, t.TempDir(), "hold"}, syscall.SIGTERM)
			got := signalRun(t, []string{vemuBin, "run", prog, t.TempDir(), "hold"}, syscall.SIGTERM)
			if want.status != 143 {
				t.Errorf("natively: status %d, want 143", want.status)
			}
			if got.status != want.status || string(got.stdout) != string(want.stdout) {
				t.Errorf("under vemu: status %d, stdout %q; natively: status %d, stdout %q; vemu's stderr: %s",
					got.status, got.stdout, want.status, want.stdout, got.stderr)
			}
		})
	}
}
