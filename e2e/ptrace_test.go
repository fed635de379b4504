package e2e

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPtraceHostSignal sends SIGTERM to vemu while guest processes trace each other:
// with the tracer (the first process) waiting and its tracee stopped, and with the first
// process itself stopped by a tracer that never resumes it. vemu must die by SIGTERM in
// both, as a process group killed from a shell would.
func TestPtraceHostSignal(t *testing.T) {
	for _, mode := range []string{"stopped-pair", "stopped-parent"} {
		for _, libc := range []string{"glibc", "musl"} {
			t.Run(mode+"/"+libc, func(t *testing.T) {
				t.Parallel()
				got := signalRun(t, []string{vemuBin, "run", guest("ptrace." + libc), mode}, syscall.SIGTERM)
				if got.signal != int(syscall.SIGTERM) {
					t.Errorf("status %d (signal %d), want killed by SIGTERM; stdout %q, stderr %s", got.status, got.signal, got.stdout, got.stderr)
				}
			})
		}
	}
}

// TestStraceUnderVemu runs the host's strace (a dynamically linked tracer nobody here
// wrote) under vemu on guests, following threads and children with -f, and compares
// with strace run natively: the guest's output and status, strace's status, and which
// system calls it saw (how often a wait or futex call repeats depends on timing). With
// --seccomp-bpf, strace stops the guest only at the calls it asks for, through a seccomp
// filter that returns SECCOMP_RET_TRACE and PTRACE_O_TRACESECCOMP stops, after checking
// that the stops come in Linux's order.
func TestStraceUnderVemu(t *testing.T) {
	const strace = "/usr/bin/strace"
	if !hasFile(strace) {
		t.Skip("no strace on this host")
	}
	bpf := []string{"--seccomp-bpf", "-e", "trace=%process,write"}
	for _, c := range []struct {
		name, guest string
		args        []string
		one         bool // without -f: strace traces the first thread only
	}{
		{"hello.glibc", "hello.glibc", nil, false},
		{"threads.musl", "threads.musl", nil, false},
		{"vfork.glibc", "vfork.glibc", nil, false},
		{"seccomp-bpf/threads.musl", "threads.musl", bpf, false},
		{"seccomp-bpf/vfork.glibc", "vfork.glibc", bpf, false},
		// A thread the tracer does not trace takes a signal and ends the process.
		{"one-thread/threadexit.glibc", "threadexit.glibc", nil, true},
		{"one-thread/threadexit.musl", "threadexit.musl", nil, true},
		// It stops itself with four threads, and a child continues it.
		{"threadstop.glibc", "threadstop.glibc", nil, false},
		{"threadstop.musl", "threadstop.musl", nil, false},
	} {
		g := c.guest
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			run := func(argv ...string) ([]byte, int, string) {
				trace := filepath.Join(dir, "trace")
				args := append(argv[1:], c.args...)
				if !c.one {
					args = append(args, "-f")
				}
				args = append(args, "-qq", "-o", trace, guest(g))
				cmd := exec.Command(argv[0], args...)
				cmd.Env = guestEnv
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				timer := time.AfterFunc(runTimeout, func() { cmd.Process.Kill() })
				out, err := cmd.Output()
				timer.Stop()
				status := 0
				if ee, ok := err.(*exec.ExitError); ok {
					status = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(trace)
				names := map[string]bool{}
				for _, line := range strings.Split(string(b), "\n") {
					_, line, _ = strings.Cut(line, " ") // the pid
					line = strings.TrimSpace(line)
					name, _, ok := strings.Cut(line, "(")
					if ok && !strings.HasPrefix(line, "<...") {
						names[name] = true
					}
				}
				// Each thread's group-stop is a line of its own.
				stops := strings.Count(string(b), "--- stopped by ")
				list := slices.Sorted(maps.Keys(names))
				return out, status, strings.Join(list, " ") + "; " + strconv.Itoa(stops) + " stops; stderr: " + stderr.String()
			}
			wantOut, wantStatus, wantCalls := run(strace)
			gotOut, gotStatus, gotCalls := run(vemuBin, "run", strace)
			if !bytes.Equal(gotOut, wantOut) || gotStatus != wantStatus {
				t.Errorf("under vemu: status %d, output %q; natively: status %d, output %q", gotStatus, gotOut, wantStatus, wantOut)
			}
			if gotCalls != wantCalls {
				t.Errorf("calls seen:\nunder vemu %s\nnatively   %s", gotCalls, wantCalls)
			}
		})
	}
}

// TestGdbUnderVemu runs the host's gdb (dynamically linked, starting its program
// through the shell) under vemu as a guest debugger of a guest: a breakpoint, a
// backtrace, registers, disassembly and the run to the end read as natively; and
// gdb's hardware breakpoints and watchpoints, which it sets in the debug registers.
func TestGdbUnderVemu(t *testing.T) {
	const gdb = "/usr/bin/gdb"
	if !hasFile(gdb) {
		t.Skip("no gdb on this host")
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"break", []string{"-ex", "break write", "-ex", "run", "-ex", "bt", "-ex", "info registers rip",
			"-ex", "x/2i $pc", "-ex", "continue", guest("hello.glibc")}},
		{"hbreak-watch", []string{"-ex", "break main", "-ex", "run", "-ex", "hbreak bump", "-ex", "continue",
			"-ex", "info registers rip", "-ex", "continue", "-ex", "delete", "-ex", "watch (long)counter",
			"-ex", "continue", "-ex", "continue", "-ex", "delete", "-ex", "awatch *(long *)&counter",
			"-ex", "continue", "-ex", "delete", "-ex", "continue", guest("gdbwatch.glibc")}},
		// Threads: gdb waits for each thread's stop by its id, stops them all at every
		// hit and steps one over the breakpoint while the others stay stopped; a hit
		// lost or a thread left running shows in the count.
		{"threads", []string{"-x", "count.gdb", guest("gdbthreads.glibc")}},
		// vfork from a threaded process: each child's first stop comes while the parent
		// sits in its event stop; the parent's vfork-done stop comes before its SIGCHLD.
		{"vfork", []string{"-ex", "run", guest("gdbvfork.glibc")}},
		// Stopped at a hit, with threads running: -batch's kill at the end waits for each
		// thread's end by its id.
		{"threads-kill", []string{"-ex", "break tick", "-ex", "run", "-ex", "print $rdi < 4", "-ex", "info inferiors",
			guest("gdbthreads.glibc")}},
		{"catch-syscall", []string{"-ex", "catch syscall write", "-ex", "run", "-ex", "bt", "-ex", "continue",
			"-ex", "continue", guest("hello.glibc")}},
		// The child gdb follows runs to its crash; gdb started the program from a vfork
		// child of its own, whose heap was gdb's.
		{"follow-fork", []string{"-ex", "set follow-fork-mode child", "-ex", "run", "-ex", "bt", "-ex", "print (int)g",
			guest("gdbfork.glibc")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// A script of commands run at each hit, counting them silently.
			script := filepath.Join(t.TempDir(), "count.gdb")
			if err := os.WriteFile(script, []byte("set $n = 0\nbreak tick\ncommands\nsilent\nset $n = $n + 1\ncontinue\nend\nrun\nprint $n\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for i, a := range c.args {
				if a == "count.gdb" {
					c.args[i] = script
				}
			}
			run := func(argv ...string) string {
				cmd := exec.Command(argv[0], append(append(argv[1:], "-batch", "-nx"), c.args...)...)
				cmd.Env = guestEnv
				timer := time.AfterFunc(runTimeout, func() { cmd.Process.Kill() })
				out, err := cmd.CombinedOutput()
				timer.Stop()
				if err != nil {
					t.Errorf("%v: %v", argv, err)
				}
				// The inferior's pid differs, and which thread gets where first.
				s := regexp.MustCompile(`process \d+`).ReplaceAllString(string(out), "process N")
				s = regexp.MustCompile(`(?m)^\[(New |Switching to |Thread 0x|LWP ).*\]\n`).ReplaceAllString(s, "")
				// gdb's look at a detached vfork child that its parent may have reaped.
				s = regexp.MustCompile(`(?m)^warning: unable to open /proc file .*\n`).ReplaceAllString(s, "")
				return regexp.MustCompile(`Thread \d+ "`).ReplaceAllString(s, `Thread N "`)
			}
			want := run(gdb)
			if !strings.Contains(want, "Value = 6") && c.name == "hbreak-watch" {
				t.Fatalf("natively, the watchpoints did not fire:\n%s", want)
			}
			if !strings.Contains(want, "$1 = 200") && c.name == "threads" {
				t.Fatalf("natively, the breakpoint was not hit 200 times:\n%s", want)
			}
			if got := run(vemuBin, "run", gdb); got != want {
				t.Errorf("under vemu:\n%s\nnatively:\n%s", got, want)
			}
		})
	}
}

// TestGdbAttachUnderVemu has the host's gdb attach to a running threaded guest, list
// its threads with a frame each and detach, from a shell run natively and under vemu:
// PTRACE_ATTACH takes the first thread and gdb attaches the others by their ids.
func TestGdbAttachUnderVemu(t *testing.T) {
	const gdb = "/usr/bin/gdb"
	if !hasFile(gdb) || !hasFile("/bin/bash") {
		t.Skip("no gdb or bash on this host")
	}
	dir := t.TempDir()
	script := `set -e
mkfifo "$1/ready"
"$2" > "$1/ready" & pid=$!
read line < "$1/ready"
gdb -batch -nx -p $pid -ex 'info threads' -ex 'thread apply all bt 1' -ex detach
kill $pid
wait $pid || true
`
	run := func(argv ...string) string {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = guestEnv
		timer := time.AfterFunc(runTimeout, func() { cmd.Process.Kill() })
		out, err := cmd.CombinedOutput()
		timer.Stop()
		if err != nil {
			t.Errorf("%v: %v\n%s", argv, err, out)
		}
		s := string(out)
		// Ids, thread addresses and the column widths that follow from them differ.
		for _, re := range []string{`(?m)^(\[New |Reading |Loaded |warning: ).*\n`, `(LWP|process) \d+`, `Thread 0x[0-9a-f]+`} {
			s = regexp.MustCompile(re).ReplaceAllStringFunc(s, func(m string) string {
				if strings.HasPrefix(m, "[") || strings.HasSuffix(m, "\n") {
					return ""
				}
				return regexp.MustCompile(`0x[0-9a-f]+|\d+`).ReplaceAllString(m, "N")
			})
		}
		return regexp.MustCompile(` +`).ReplaceAllString(s, " ")
	}
	os.RemoveAll(dir + "/ready")
	want := run("/bin/bash", "-c", script, "bash", dir, guest("gdbattach.glibc"))
	if strings.Count(want, "clock_nanosleep") != 9 {
		t.Fatalf("natively, gdb did not see four sleeping threads:\n%s", want)
	}
	os.RemoveAll(dir + "/ready")
	if got := run(vemuBin, "run", "/bin/bash", "-c", script, "bash", dir, guest("gdbattach.glibc")); got != want {
		t.Errorf("under vemu:\n%s\nnatively:\n%s", got, want)
	}
}
