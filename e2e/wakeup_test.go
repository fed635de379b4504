package e2e

import "testing"

// TestWakeupShare runs two threads that wake each other thousands of times beside a
// thread that only computes, natively and under vemu (plain, and seeded on the virtual
// clock): a thread that wakes runs ahead of its turn, but not so often that the
// computing thread starves (testdata/c/wakeshare.c checks its share).
func TestWakeupShare(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			inv := invocation{prog: guest("wakeshare." + libc), dir: t.TempDir()}
			n := runNative(t, inv)
			var p problems
			for _, flags := range [][]string{nil, {"--seed=5", "--clock=virtual"}} {
				inv.flags = flags
				v := runVemu(t, inv)
				if n.status != 0 || v.status != 0 {
					t.Fatalf("%v: status: native %d, vemu %d\nnative:\n%s\nvemu:\n%s", flags, n.status, v.status, n.stdout, v.stdout)
				}
				p.compareOutput("stdout", n.stdout, v.stdout)
			}
			p.report(t, "")
		})
	}
}

// TestWakeupDeterministic: with one seed on the virtual clock, threads that wake each
// other run in the same order every time, so output and trace repeat exactly.
func TestWakeupDeterministic(t *testing.T) {
	t.Parallel()
	seededTwice(t, invocation{prog: guest("wakeshare.glibc"), args: []string{"300"}}, 9)
}
