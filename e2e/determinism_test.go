package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			seededTwice(t, invocation{prog: prog}, 7)
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

// seededTwice runs inv twice under vemu with --seed=seed, the virtual clock and --strace,
// each run in a directory of its own: both must end with status 0 and give the same
// output and the same trace.
func seededTwice(t *testing.T, inv invocation, seed int) {
	inv.flags = append(append([]string(nil), inv.flags...), fmt.Sprintf("--seed=%d", seed), "--clock=virtual", "--strace")
	inv.dir = t.TempDir()
	a := runVemu(t, inv)
	inv.dir = t.TempDir()
	b := runVemu(t, inv)
	if a.status != 0 || b.status != 0 {
		t.Fatalf("status %d and %d, want 0\nstdout:\n%s\nstderr:\n%s", a.status, b.status, a.stdout, tail(a.stderr, 2000))
	}
	var p problems
	p.compareOutput("stdout of two seeded runs", a.stdout, b.stdout)
	p.compareOutput("trace of two seeded runs", a.stderr, b.stderr)
	p.report(t, "")
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

// TestBusyDeterministic: goroutines that spin in guest code without system calls or
// clock reads, more of them than the runtime's processors, end only when the runtime
// preempts them (sysmon's SIGURG). Under --seed and --clock=virtual the clock advances
// with the code run, so the preemption comes, the run ends as natively, and at the same
// points in every run: the traces are identical.
func TestBusyDeterministic(t *testing.T) {
	t.Parallel()
	inv := invocation{prog: guest("busy.go.bin"), dir: t.TempDir()}
	native := runNative(t, inv)
	var outs, traces [2]string
	for i := range 2 {
		trace := filepath.Join(inv.dir, fmt.Sprintf("trace%d", i))
		run := inv
		run.flags = []string{"--seed=5", "--clock=virtual", "--strace-file=" + trace}
		got := runVemu(t, run)
		require.False(t, got.timedOut, "the busy program did not end under the virtual clock")
		require.Equal(t, native.status, got.status, "stderr: %s", tail(got.stderr, 2000))
		outs[i] = string(got.stdout)
		b, err := os.ReadFile(trace)
		require.NoError(t, err)
		traces[i] = string(b)
	}
	assert.Equal(t, string(native.stdout), outs[0])
	assert.Equal(t, outs[0], outs[1])
	assert.Equal(t, traces[0], traces[1], "two seeded runs of a busy program")
	assert.Contains(t, traces[0], "SIGURG) = 0", "the runtime preempted a spinning goroutine")
}
