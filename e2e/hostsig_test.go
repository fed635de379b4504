package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// signalRun starts argv, waits for it to print "ready", sends it sigs in order (a short
// pause between them), and returns what it printed and its status as a shell shows it.
func signalRun(t *testing.T, argv []string, sigs ...syscall.Signal) result {
	t.Helper()
	return signalRunAfter(t, argv, 0, sigs...)
}

// signalRunAfter is signalRun with a pause between "ready" and the first signal.
func signalRunAfter(t *testing.T, argv []string, pause time.Duration, sigs ...syscall.Signal) result {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = guestEnv
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(runTimeout, func() { cmd.Process.Kill() })
	defer timer.Stop()
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("%v: want ready, got %q (%v); stderr: %s", argv, line, err, stderr.Bytes())
	}
	time.Sleep(pause)
	for i, sig := range sigs {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	rest, _ := io.ReadAll(r)
	err = cmd.Wait()
	res := result{stdout: append([]byte(line), rest...), stderr: stderr.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.status = 128 + int(ws.Signal())
			res.signal = int(ws.Signal())
		} else {
			res.status = exitErr.ExitCode()
		}
	default:
		t.Fatal(err)
	}
	return res
}

// TestHostSignals sends signals to the vemu process, as Ctrl-C or kill(1) would, and
// checks that the guest takes them as the program does natively: a default SIGINT ends
// it with status 130 wherever it is (a loop in user code, pause), a handler runs, an
// ignored SIGWINCH or an inherited SIG_IGN for SIGINT leaves it running, and a handler set
// over that SIG_IGN runs.
func TestHostSignals(t *testing.T) {
	sh := []string{"/bin/sh"}
	if hasFile(busybox) {
		sh = []string{busybox, "sh"}
	}
	cases := []struct {
		name   string
		mode   string
		sigs   []syscall.Signal
		status int
		viaSh  string // run through sh -c 'SCRIPT; exec PROGRAM', for inherited dispositions
	}{
		{name: "sigint-spin", mode: "spin", sigs: []syscall.Signal{syscall.SIGINT}, status: 130},
		{name: "sigint-pause", mode: "pause", sigs: []syscall.Signal{syscall.SIGINT}, status: 130},
		{name: "sigint-handler", mode: "handler", sigs: []syscall.Signal{syscall.SIGINT}, status: 0},
		{name: "sigterm-spin", mode: "spin", sigs: []syscall.Signal{syscall.SIGTERM}, status: 143},
		{name: "sigusr1-pause", mode: "pause", sigs: []syscall.Signal{syscall.SIGUSR1}, status: 138},
		{name: "sighup-spin", mode: "spin", sigs: []syscall.Signal{syscall.SIGHUP}, status: 129},
		{name: "sigwinch-ignored", mode: "spin", sigs: []syscall.Signal{syscall.SIGWINCH, syscall.SIGTERM}, status: 143},
		{name: "sigint-inherited-ignore", mode: "pause", sigs: []syscall.Signal{syscall.SIGINT, syscall.SIGTERM},
			status: 143, viaSh: `trap "" INT`},
		// A program that sets a handler for the SIGINT it started with ignored (a
		// background job's runtime, GHC's or CPython's) gets it.
		{name: "sigint-inherited-ignore-handler", mode: "handler", sigs: []syscall.Signal{syscall.SIGINT},
			status: 0, viaSh: `trap "" INT`},
	}
	for _, c := range cases {
		for _, libc := range []string{"glibc", "musl"} {
			t.Run(c.name+"/"+libc, func(t *testing.T) {
				t.Parallel()
				for _, sig := range c.sigs {
					if signal.Ignored(sig) && c.viaSh == "" {
						// Inherited by the program, natively and under vemu alike: its
						// default action cannot be seen from here.
						t.Skipf("%v is ignored in this test process (started under nohup, say)", sig)
					}
				}
				prog := []string{guest("children." + libc), "wait-" + c.mode}
				run := []string{vemuBin, "run"}
				run = append(run, prog...)
				native := prog
				if c.viaSh != "" {
					native = slices.Concat(sh, []string{"-c", c.viaSh + "; exec " + strings.Join(prog, " ")})
					run = slices.Concat(sh, []string{"-c", c.viaSh + "; exec " + strings.Join(run, " ")})
				}
				want := signalRun(t, native, c.sigs...)
				got := signalRun(t, run, c.sigs...)
				if want.status != c.status {
					t.Errorf("natively: status %d, want %d", want.status, c.status)
				}
				if got.status != want.status || got.signal != want.signal || !bytes.Equal(got.stdout, want.stdout) {
					t.Errorf("under vemu: status %d, stdout %q; natively: status %d, stdout %q; vemu's stderr: %s",
						got.status, got.stdout, want.status, want.stdout, got.stderr)
				}
				// A shell reports every signal but SIGINT and SIGPIPE; so does vemu.
				msg := "killed by SIG"
				if says := bytes.Contains(got.stderr, []byte(msg)); says != (got.signal != 0 && got.signal != int(syscall.SIGINT)) {
					t.Errorf("vemu's stderr %q: saying %q is %v, want the opposite", got.stderr, msg, says)
				}
			})
		}
	}
}

// TestHostSignalSender sends SIGHUP, SIGQUIT and SIGUSR1 to vemu as kill(1) does: the
// first process gets each with its sender (si_code SI_USER, the sender's pid and uid),
// and a child in its process group none, as natively; they reached the whole group as
// from a terminal, without a sender.
func TestHostSignalSender(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := []string{guest("hostsender." + libc)}
			sigs := []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1}
			want := signalRun(t, prog, sigs...)
			got := signalRun(t, append([]string{vemuBin, "run"}, prog...), sigs...)
			if want.status != 0 || !bytes.Contains(want.stdout, []byte("child got 0")) {
				t.Errorf("natively: status %d, stdout %q", want.status, want.stdout)
			}
			if got.status != want.status || !bytes.Equal(got.stdout, want.stdout) {
				t.Errorf("under vemu: status %d, stdout %q; natively: status %d, stdout %q; vemu's stderr: %s",
					got.status, got.stdout, want.status, want.stdout, got.stderr)
			}
		})
	}
}

// TestSigtermDuringLongUnmap sends SIGTERM to vemu while its guest maps and unmaps 8 TiB
// it never touched, over and over (each unmapping once took Unicorn minutes, page by
// page): the program is doomed at once, and vemu must end with it (status 143).
func TestSigtermDuringLongUnmap(t *testing.T) {
	// The pause lets the guest get into its loop before the signal.
	r := signalRunAfter(t, []string{vemuBin, "run", guest("bigunmap.glibc"), "8192", "loop"}, 300*time.Millisecond, syscall.SIGTERM)
	if r.status != 128+int(syscall.SIGTERM) {
		t.Errorf("after SIGTERM: status %d, want 143 (137: killed after %v); stderr: %s", r.status, runTimeout, r.stderr)
	}
}

// TestStartIgnored starts the ignored guest, natively and under vemu, from a shell that
// ignores some signals, those the Go runtime installs handlers for and one glibc keeps
// for itself among them: the guest starts with the same ones ignored, as a program that
// execve leaves them to.
func TestStartIgnored(t *testing.T) {
	const shell = `trap '' HUP USR1 TERM 32 40; exec "$@"`
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			prog := guest("ignored." + libc)
			native := execute(t, "/bin/sh", []string{"-c", shell, "sh", prog}, invocation{})
			emu := execute(t, "/bin/sh", []string{"-c", shell, "sh", vemuBin, "run", prog}, invocation{})
			if native.status != 0 || emu.status != 0 {
				t.Fatalf("status: native %d, vemu %d\n%s", native.status, emu.status, emu.stderr)
			}
			if !strings.HasPrefix(string(native.stdout), "1 10 15 32 40") {
				t.Logf("natively: %q (the test's own parent ignores others too)", native.stdout)
			}
			if !bytes.Equal(native.stdout, emu.stdout) {
				t.Errorf("natively %q, under vemu %q", native.stdout, emu.stdout)
			}
		})
	}
}
