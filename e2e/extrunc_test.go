package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestExternalTruncate has the test truncate a file that the guest (testdata/c/extrunc.c)
// keeps reading through a shared mapping: a shrink vemu's kernel cannot see, for which
// the host raises SIGBUS inside vemu. The guest must get its SIGBUS (caught, or killing
// it) or its EFAULT, natively and under vemu alike, and vemu must not crash.
func TestExternalTruncate(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		for _, mode := range []string{"handle", "handle-ro", "die", "syscall"} {
			t.Run(libc+"/"+mode, func(t *testing.T) {
				t.Parallel()
				prog := guest("extrunc." + libc)
				native := truncUnder(t, prog, []string{prog}, mode)
				vemu := truncUnder(t, vemuBin, []string{vemuBin, "run", prog}, mode)
				t.Logf("native: %s, status %d; vemu: %s, status %d (%s)", native.stdout, native.status,
					vemu.stdout, vemu.status, bytes.TrimSpace(vemu.stderr))
				if bytes.Contains(vemu.stderr, []byte("goroutine ")) || bytes.Contains(vemu.stderr, []byte("SIGBUS: bus error")) {
					t.Fatalf("vemu crashed:\n%s", vemu.stderr)
				}
				if !bytes.Equal(native.stdout, vemu.stdout) || native.status != vemu.status {
					t.Errorf("native: %q status %d; vemu: %q status %d", native.stdout, native.status, vemu.stdout, vemu.status)
				}
			})
		}
	}
}

// truncUnder runs argv on a two-page file in a new directory, truncates the file to
// nothing once the program says it mapped it, and returns what the run gave.
func truncUnder(t *testing.T, name string, argv []string, mode string) result {
	t.Helper()
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, make([]byte, 2*4096), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, append(argv[1:], file, mode)...)
	cmd.Env = guestEnv
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	first, _ := r.ReadString('\n')
	if first == "mapped\n" {
		// Give the loop a moment to run from the translated code.
		time.Sleep(50 * time.Millisecond)
		if err := os.Truncate(file, 0); err != nil {
			t.Fatal(err)
		}
	}
	rest, _ := io.ReadAll(r)
	err = cmd.Wait()
	res := result{stdout: append([]byte(first), rest...), stderr: stderr.Bytes(), timedOut: ctx.Err() != nil}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.status, res.signal = 128+int(ws.Signal()), int(ws.Signal())
		} else {
			res.status = exitErr.ExitCode()
		}
	default:
		t.Fatal(err)
	}
	if res.timedOut {
		t.Fatalf("%s %s: timed out", name, mode)
	}
	return res
}
