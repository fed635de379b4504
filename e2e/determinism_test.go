package e2e

import (
	"bytes"
	"strings"
	"testing"
)

// addrLines returns the lines of the aslr guest's output that hold addresses.
func addrLines(out []byte) string {
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "addr ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// TestDeterminism checks that --seed with the virtual clock makes runs repeat exactly (output,
// addresses and trace), that different seeds and unseeded runs differ as ASLR makes them on
// Linux, and that --no-aslr fixes the addresses.
func TestDeterminism(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		prog := guest("aslr." + libc)
		t.Run("seed-repeats/"+libc, func(t *testing.T) {
			t.Parallel()
			flags := []string{"--seed=7", "--clock=virtual", "--strace"}
			a := runVemu(t, invocation{prog: prog, dir: t.TempDir(), flags: flags})
			b := runVemu(t, invocation{prog: prog, dir: t.TempDir(), flags: flags})
			if a.status != 0 || b.status != 0 {
				t.Fatalf("status %d and %d, want 0\nstderr:\n%s", a.status, b.status, tail(a.stderr, 2000))
			}
			var p problems
			p.compareOutput("stdout of two seeded runs", a.stdout, b.stdout)
			p.compareOutput("trace of two seeded runs", a.stderr, b.stderr)
			p.report(t, "")
		})
		t.Run("seeds-differ/"+libc, func(t *testing.T) {
			t.Parallel()
			a := runVemu(t, invocation{prog: prog, dir: t.TempDir(), flags: []string{"--seed=1"}})
			b := runVemu(t, invocation{prog: prog, dir: t.TempDir(), flags: []string{"--seed=2"}})
			if bytes.Equal(a.stdout, b.stdout) {
				t.Errorf("seeds 1 and 2 gave the same output:\n%s", a.stdout)
			}
		})
		t.Run("unseeded-differ/"+libc, func(t *testing.T) {
			t.Parallel()
			a := runVemu(t, invocation{prog: prog, dir: t.TempDir()})
			b := runVemu(t, invocation{prog: prog, dir: t.TempDir()})
			if bytes.Equal(a.stdout, b.stdout) {
				t.Errorf("two unseeded runs gave the same output (no ASLR, no AT_RANDOM?):\n%s", a.stdout)
			}
			if addrLines(a.stdout) == addrLines(b.stdout) {
				t.Errorf("two unseeded runs placed everything at the same addresses:\n%s", addrLines(a.stdout))
			}
		})
		t.Run("no-aslr/"+libc, func(t *testing.T) {
			t.Parallel()
			a := runVemu(t, invocation{prog: prog, dir: t.TempDir(), flags: []string{"--no-aslr"}})
			b := runVemu(t, invocation{prog: prog, dir: t.TempDir(), flags: []string{"--no-aslr"}})
			if a.status != 0 || b.status != 0 {
				t.Fatalf("status %d and %d, want 0", a.status, b.status)
			}
			if x, y := addrLines(a.stdout), addrLines(b.stdout); x != y {
				t.Errorf("--no-aslr runs differ:\n%s\n---\n%s", x, y)
			}
		})
	}
}

// TestVirtualClock runs the time guest on the deterministic clock: every property it checks
// (monotonic, sleeps last long enough, clocks agree) must hold there too. The start time is
// given because the guest checks that the wall clock is past 2020.
func TestVirtualClock(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			inv := invocation{prog: guest("time." + libc), dir: t.TempDir()}
			n := runNative(t, inv)
			inv.flags = []string{"--clock=virtual", "--seed=3", "--start-time=2024-02-29T12:00:00Z"}
			v := runVemu(t, inv)
			var p problems
			if v.status != n.status {
				p.add("status: native %d, vemu %d", n.status, v.status)
			}
			p.compareOutput("stdout", n.stdout, v.stdout)
			p.report(t, "")
		})
	}
}
