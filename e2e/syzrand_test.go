package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRandomSyscalls runs testdata/c/syzrand: thousands of system calls with random
// numbers and arguments, from several seeds, under vemu. What they do differs from Linux
// (they depend on the host's state), so the run is not compared with a native one; what
// must hold is that vemu ends it as a kernel would — the program's exit or death by a
// signal, never an internal error, a Go crash of vemu or a hang — and that a program that
// blocks for good still dies by SIGTERM at once.
func TestRandomSyscalls(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		for seed := 1; seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed-%d", libc, seed), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				// Inside a root of its own, and never as root: random paths and modes reach
				// only its copy of itself, and descriptors vemu inherits (a test runner's
				// stray ones included) stay the host's files, which root could change.
				dir := programsDir(t, "syzrand", guest("syzrand."+libc), "syzrand")
				args := append(asNobody(t, "the random calls run"), filepath.Join(dir, "vemu"), "run", "--root="+dir,
					"--seed="+fmt.Sprint(seed), "/syzrand", fmt.Sprint(seed), "100000")
				cmd := exec.CommandContext(ctx, args[0], args[1:]...)
				cmd.Dir = dir
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				// Standard input an empty pipe, not the host's /dev/null: descriptors vemu
				// inherits stay the host's files, and a random fchmod(0, ...) or fchown(0,
				// ...) by root would change /dev/null for the whole machine.
				cmd.Stdin = strings.NewReader("")
				cmd.Stdout = new(bytes.Buffer)
				// Blocked for good (a random call may wait forever, as on Linux): SIGTERM.
				cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
				cmd.WaitDelay = 20 * time.Second
				timer := time.AfterFunc(90*time.Second, cancel)
				defer timer.Stop()
				err := cmd.Run()
				ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
				switch {
				case ws.Exited() && ws.ExitStatus() == 125:
					t.Errorf("vemu stopped on an internal error: %s", tail(stderr.Bytes(), 2000))
				case ws.Exited() && ws.ExitStatus() != 0:
					t.Errorf("vemu exited %d: %v\n%s", ws.ExitStatus(), err, tail(stderr.Bytes(), 2000))
				case !ws.Exited() && !ws.Signaled():
					t.Errorf("vemu did not end: %v", err)
				}
				if ctx.Err() != nil && !(ws.Signaled() && ws.Signal() == syscall.SIGTERM) {
					t.Errorf("blocked, then SIGTERM: vemu ended with %v, want death by SIGTERM", ws)
				}
				for _, crash := range []string{"goroutine ", "panic:", "fatal error:", "SIGSEGV: segmentation violation"} {
					if strings.Contains(stderr.String(), crash) {
						t.Fatalf("vemu crashed (%q):\n%s", crash, tail(stderr.Bytes(), 4000))
					}
				}
			})
		}
	}
}
