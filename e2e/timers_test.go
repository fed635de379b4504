package e2e

import "testing"

// TestTimersVirtualClock runs the timers guest on the deterministic clock: its output must
// be the native run's, and two seeded runs must give the same output and the same trace
// (of one process: the traces of processes running in parallel interleave).
func TestTimersVirtualClock(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := guest("timers." + libc)
			args := []string{"one-process"}
			n := runNative(t, invocation{prog: prog, args: args, dir: t.TempDir()})
			flags := []string{"--clock=virtual", "--seed=1", "--strace"}
			a := runVemu(t, invocation{prog: prog, args: args, dir: t.TempDir(), flags: flags})
			b := runVemu(t, invocation{prog: prog, args: args, dir: t.TempDir(), flags: flags})
			var p problems
			if a.status != n.status || b.status != n.status {
				p.add("status: native %d, vemu %d and %d", n.status, a.status, b.status)
			}
			p.compareOutput("stdout", n.stdout, a.stdout)
			p.compareOutput("stdout of two seeded runs", a.stdout, b.stdout)
			p.compareOutput("trace of two seeded runs", a.stderr, b.stderr)
			// The whole guest, fork and execve included, on the virtual clock.
			n = runNative(t, invocation{prog: prog, dir: t.TempDir()})
			v := runVemu(t, invocation{prog: prog, dir: t.TempDir(), flags: []string{"--clock=virtual", "--seed=1"}})
			if v.status != n.status {
				p.add("status with fork: native %d, vemu %d", n.status, v.status)
			}
			p.compareOutput("stdout with fork", n.stdout, v.stdout)
			p.report(t, "")
		})
	}
}
