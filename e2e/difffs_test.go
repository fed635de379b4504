package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// diffFSSeeds are the seeds TestDiffFS runs, each for diffFSOps calls.
var diffFSSeeds = []int{1, 2, 3, 6, 8, 11, 17}

const diffFSOps = 3000

// TestDiffFS runs testdata/c/difffs, random file and descriptor calls from a seed,
// natively and under vemu, and compares their outputs line by line: every call's result,
// error and deterministic output must be Linux's. Both runs are unprivileged (as nobody
// when the test runs as root) and work in a directory of their own.
func TestDiffFS(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		for _, seed := range diffFSSeeds {
			t.Run(fmt.Sprintf("%s/seed-%d", libc, seed), func(t *testing.T) {
				t.Parallel()
				prog := guest("difffs." + libc)
				// Both runs' directories have names of one length: the output gives
				// sizes relative to it.
				top, err := os.MkdirTemp("", "difffs")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(top) })
				native := runDiffFS(t, filepath.Join(top, "n"), prog, seed, false)
				emu := runDiffFS(t, filepath.Join(top, "v"), prog, seed, true)
				if !bytes.Equal(native, emu) {
					t.Errorf("seed %d: vemu differs from Linux: %s", seed, firstDiff(native, emu))
				}
			})
		}
	}
}

// runDiffFS runs difffs with seed in top (a new directory), under vemu when emu, and
// returns its output with the work directory's name replaced by "W".
func runDiffFS(t *testing.T, top, prog string, seed int, emu bool) []byte {
	t.Helper()
	// The top is not writable by the run, its work directory is.
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(top), 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(top, "w")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	// Programs the run may execute; vemu goes one level up, so that both runs' tops
	// hold the same names (the run lists "..").
	vemu := filepath.Join(filepath.Dir(top), "vemu")
	copies := map[string]string{prog: filepath.Join(top, "difffs")}
	if emu {
		copies[vemuBin] = vemu
	}
	for src, dst := range copies {
		placeProgram(t, src, dst)
	}
	args := []string{filepath.Join(top, "difffs"), work, fmt.Sprint(seed), fmt.Sprint(diffFSOps)}
	if emu {
		args = append([]string{vemu, "run"}, args...)
	}
	if as := asNobody(t, "the random calls run"); as != nil {
		if err := os.Chown(work, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		args = append(as, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = top
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	err := cmd.Run()
	what := "native"
	if emu {
		what = "vemu"
	}
	if ctx.Err() != nil {
		t.Fatalf("%s run of seed %d did not end", what, seed)
	}
	if err != nil {
		t.Fatalf("%s run of seed %d: %v\n%s", what, seed, err, tail(stderr.Bytes(), 2000))
	}
	return bytes.ReplaceAll(stdout.Bytes(), []byte(work), []byte("W"))
}
