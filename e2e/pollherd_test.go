package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostThreads reads the Threads line of /proc/pid/status.
func hostThreads(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no Threads line in /proc/%d/status", pid)
}

// TestPollersHostThreads blocks 3000 guest threads in poll, select, epoll_wait and
// epoll_wait on guest epoll instances nested as deep as Linux allows (which vemu's own
// instance cannot take in), a quarter each, and checks that vemu meanwhile runs on a handful of host threads, where a
// host thread per waiter would have 3000 (and past 10,000 waiters, Go's limit, vemu
// died); then lets them all go. In repeatable runs too.
func TestPollersHostThreads(t *testing.T) {
	const n = 3000
	for _, c := range []struct {
		name  string
		flags []string
	}{
		{"host-clock", nil},
		{"repeatable", []string{"--seed=5", "--clock=virtual"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"run"}, c.flags...), guest("pollherd.glibc"), "hold", strconv.Itoa(n))
			cmd := exec.Command(vemuBin, args...)
			cmd.Dir, cmd.Env = t.TempDir(), guestEnv
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var se bytes.Buffer
			cmd.Stderr = &se
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(runTimeout, func() { cmd.Process.Kill() })
			defer timer.Stop()
			lines := bufio.NewScanner(out)
			if !lines.Scan() || lines.Text() != "blocked 0" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("want \"blocked 0\", got %q; stderr %s", lines.Text(), se.Bytes())
			}
			threads, err := hostThreads(cmd.Process.Pid)
			if err != nil {
				t.Error(err)
			}
			in.Write([]byte{1})
			var rest []string
			for lines.Scan() {
				rest = append(rest, lines.Text())
			}
			err = cmd.Wait()
			if want := fmt.Sprintf("woken %d of %d", n, n); err != nil || len(rest) != 1 || rest[0] != want {
				t.Errorf("after the wake-up: %v, output %q, want %q; stderr %s", err, rest, want, se.Bytes())
			}
			t.Logf("%d guest threads blocked: vemu has %d host threads", n, threads)
			// The run loop, the poller, the runtime's own (GC workers, sysmon, the
			// timer thread): a few dozen at the most, never one per waiter.
			if threads > 64 {
				t.Errorf("%d guest threads blocked in poll, select and epoll_wait: vemu has %d host threads", n, threads)
			}
		})
	}
}

// TestParkedDeterministic runs the guests with many threads blocked in poll, select,
// epoll_wait and pipe reads twice with one seed on the virtual clock: the parked waits
// end at the same points, so output and trace repeat exactly.
func TestParkedDeterministic(t *testing.T) {
	for _, g := range []cmdline{{"pollherd.musl", "60"}, {"pipeherd.glibc", "200"}} {
		t.Run(g[0], func(t *testing.T) {
			t.Parallel()
			seededTwice(t, invocation{prog: guest(g[0]), args: g[1:]}, 3)
		})
	}
}
