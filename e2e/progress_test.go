package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// TestYieldHandsOver checks that sched_yield gives the CPU to the other thread at once:
// two threads that pass a token back and forth, each spinning on sched_yield while it
// waits, need about one yield per hand-off when the yield switches threads (the threads
// of a process share one CPU under vemu), and thousands when it waits for the end of a
// time slice. Natively the count depends on the host's cores, so only vemu is held to it.
func TestYieldHandsOver(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			r := runVemu(t, invocation{prog: guest("progress." + libc), args: []string{"yields"}, dir: t.TempDir()})
			if r.status != 0 {
				t.Fatalf("%s\nstderr:\n%s", r, r.stderr)
			}
			n, err := strconv.Atoi(strings.TrimSpace(string(r.stdout)))
			if err != nil {
				t.Fatalf("output %q: %v", r.stdout, err)
			}
			if n > 2 {
				t.Errorf("%d yields per hand-off, want at most 2", n)
			}
		})
	}
}
