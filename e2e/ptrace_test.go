package e2e

import (
	"syscall"
	"testing"
)

// TestPtraceHostSignal sends SIGTERM to vemu while guest processes trace each other:
// with the tracer (the first process) waiting and its tracee stopped, and with the first
// process itself stopped by a tracer that never resumes it. vemu must die by SIGTERM in
// both, as a process group killed from a shell would.
func TestPtraceHostSignal(t *testing.T) {
	for _, mode := range []string{"stopped-pair", "stopped-parent"} {
		for _, libc := range []string{"glibc", "musl"} {
			t.Run(mode+"/"+libc, func(t *testing.T) {
				t.Parallel()
				got := signalRun(t, []string{vemuBin, "run", guest("ptrace." + libc), mode}, syscall.SIGTERM)
				if got.signal != int(syscall.SIGTERM) {
					t.Errorf("status %d (signal %d), want killed by SIGTERM; stdout %q, stderr %s", got.status, got.signal, got.stdout, got.stderr)
				}
			})
		}
	}
}
