package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guestEnv is the whole environment every run gets, natively and under vemu.
var guestEnv = []string{"PATH=/usr/bin:/bin", "LANG=C", "FOO=bar"}

// runTimeout bounds one run of one program.
const runTimeout = 60 * time.Second

// invocation is one program run: what, with which arguments, where and with what input.
type invocation struct {
	prog  string   // path of the program
	args  []string // arguments after argv[0]
	dir   string   // working directory
	stdin []byte
	flags []string // vemu flags before PROGRAM; ignored natively
}

// result is what a run produced. status is as a shell shows it: the exit code, or 128+signal;
// signal is the signal that killed the process, 0 when it exited (with 128+n, say).
type result struct {
	stdout, stderr []byte
	status         int
	signal         int
	timedOut       bool
}

func (r result) String() string {
	s := fmt.Sprintf("status %d", r.status)
	if r.timedOut {
		s += " (timed out)"
	}
	return s
}

// runNative runs the invocation directly on the host.
func runNative(t *testing.T, inv invocation) result {
	t.Helper()
	return execute(t, inv.prog, inv.args, inv)
}

// runVemu runs the invocation as `vemu run [flags] PROG ARGS...`.
func runVemu(t *testing.T, inv invocation) result {
	t.Helper()
	args := append([]string{"run"}, inv.flags...)
	args = append(args, inv.prog)
	args = append(args, inv.args...)
	return execute(t, vemuBin, args, inv)
}

// placeProgram puts the program src at dst for a test to run from there. A hard link has
// no descriptor written through: a copy's stays open in the child of any fork that
// another test makes meanwhile, and an exec of the copy through a program that cannot
// retry (setpriv) then fails with ETXTBSY. Where src cannot be linked, it is copied.
func placeProgram(t *testing.T, src, dst string) {
	t.Helper()
	if os.Link(src, dst) == nil {
		return
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// programsDir makes a directory any user may enter, removed when the test ends, with the
// guest program prog placed in it as name and vemu as "vemu".
func programsDir(t *testing.T, pattern, prog, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	placeProgram(t, prog, filepath.Join(dir, name))
	placeProgram(t, vemuBin, filepath.Join(dir, "vemu"))
	return dir
}

// asNobody is the command prefix that runs a command as nobody when the tests run as
// root (none otherwise); without setpriv, the test is skipped, saying why it needs one.
func asNobody(t *testing.T, why string) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	sp, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("as root, " + why + " only as an unprivileged user, and there is no setpriv")
	}
	return []string{sp, "--reuid=65534", "--regid=65534", "--clear-groups", "--"}
}

func execute(t *testing.T, name string, args []string, inv invocation) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	var err error
	// A program just copied into place can be busy for a moment: another test's fork
	// may still hold the descriptor it was written through until that child execs
	// (ETXTBSY, golang.org/issue/22315). Starting again shortly after is the cure.
	for try := 0; ; try++ {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = inv.dir
		cmd.Env = guestEnv
		cmd.Stdin = bytes.NewReader(inv.stdin)
		stdout.Reset()
		stderr.Reset()
		cmd.Stdout = &stdout
		cmd.Stderr = &stderr
		cmd.WaitDelay = 5 * time.Second
		err = cmd.Run()
		if !errors.Is(err, syscall.ETXTBSY) || try == 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), timedOut: ctx.Err() != nil}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		ws, ok := exitErr.Sys().(syscall.WaitStatus)
		switch {
		case ok && ws.Signaled():
			res.status = 128 + int(ws.Signal())
			res.signal = int(ws.Signal())
		default:
			res.status = exitErr.ExitCode()
		}
	default:
		t.Fatalf("running %s: %v", name, err)
	}
	return res
}

// problems collects what went wrong in one case, so that a known failure can be reported as
// a skip (with its reason) and everything else as an error.
type problems struct {
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// report ends the case: errors, or a skip when known says why the case cannot pass yet.
// With VEMU_E2E_STRICT set, known failures are errors too.
func (p *problems) report(t *testing.T, known string) {
	t.Helper()
	if len(p.list) == 0 {
		if known != "" {
			t.Logf("marked known-failing (%s) but passes now", known)
		}
		return
	}
	msg := strings.Join(p.list, "\n")
	if known != "" && !strict() {
		t.Skipf("known failing: %s\n%s", known, msg)
	}
	t.Error(msg)
}

// compareOutput adds a problem when want and got differ, showing the first differing line.
func (p *problems) compareOutput(what string, want, got []byte) {
	if bytes.Equal(want, got) {
		return
	}
	p.add("%s differs: %s", what, firstDiff(want, got))
}

// firstDiff describes the first line where native (want) and vemu (got) output differ.
func firstDiff(want, got []byte) string {
	wl := strings.SplitAfter(string(want), "\n")
	gl := strings.SplitAfter(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  native: %s\n  vemu:   %s\n(native %d bytes, vemu %d bytes)",
				i+1, clip(w), clip(g), len(want), len(got))
		}
	}
	return "same lines, different bytes"
}

// clip quotes s for a message, shortened when long.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// listTree returns a sorted listing of the tree under dir: one line per entry, with the
// entry's kind, permission bits, size for regular files and target for symbolic links.
func listTree(t *testing.T, dir string) []byte {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", rel, info.Mode())
		switch {
		case info.Mode().IsRegular():
			line += fmt.Sprintf(" %d", info.Size())
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

// oneLine reports whether s is exactly one non-empty line.
func oneLine(s []byte) bool {
	s = bytes.TrimSuffix(s, []byte("\n"))
	return len(s) > 0 && !bytes.Contains(s, []byte("\n"))
}
