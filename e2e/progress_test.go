package e2e

import (
	"os"
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

// TestKilledReport checks how vemu ends when its guest is killed: by the same signal, with
// a line on stderr only where a shell would print one (not for SIGPIPE or SIGINT), the line
// always in the --strace output, and no core file of vemu's own.
func TestKilledReport(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	cases := []struct {
		sig    string
		signal int
		report bool
	}{
		{"PIPE", 13, false},
		{"INT", 2, false},
		{"TERM", 15, true},
		{"SEGV", 11, true},
		{"ABRT", 6, true},
	}
	for _, c := range cases {
		t.Run(c.sig, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			inv := invocation{prog: busybox, args: []string{"sh", "-c", "kill -" + c.sig + " $$"}, dir: dir}
			n := runNative(t, inv)
			v := runVemu(t, inv)
			if n.signal != c.signal || v.signal != c.signal {
				t.Errorf("killed by signal: native %d, vemu %d, want %d", n.signal, v.signal, c.signal)
			}
			says := strings.Contains(string(v.stderr), "killed by SIG"+c.sig)
			if says != c.report || (!c.report && len(v.stderr) > 0) {
				t.Errorf("stderr %q; want a report: %v", v.stderr, c.report)
			}
			inv.flags = []string{"--strace"}
			v = runVemu(t, inv)
			lines := strings.Split(strings.TrimSpace(string(v.stderr)), "\n")
			if last := lines[len(lines)-1]; v.signal != c.signal || !strings.Contains(last, "killed by SIG"+c.sig) {
				t.Errorf("--strace: signal %d, last line %q; want signal %d, the report", v.signal, last, c.signal)
			}
			if strings.Count(string(v.stderr), "killed by SIG") != 1 {
				t.Errorf("--strace: the report is not said once:\n%s", tail(v.stderr, 500))
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("files left in the working directory (a core?): %v", entries)
			}
		})
	}
}
