package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Real gdb (Debian's) drives vemu run --gdb in batch mode; where it means something, the
// same commands run on the native process (gdb's starti stops it where vemu's stub
// does, before the first instruction) and the answers are compared.

const gdbBin = "/usr/bin/gdb"

func needGDB(t *testing.T) {
	t.Helper()
	if !hasFile(gdbBin) {
		t.Skip("no gdb")
	}
}

// gdbNoise matches lines that differ between a native and a remote session for reasons
// that are not the debugged program's.
var gdbNoise = regexp.MustCompile(`^(\[Thread debugging|\[New Thread|\[Thread 0x|\[Switching to|Using host libthread_db|warning: remote target does not support file transfer|Program stopped\.|0x[0-9a-f]+ in _start \(\)|Kill the program being debugged|\[Detaching after (fork|vfork)|\[Inferior 1 \(process \d+\) detached\]|\[LWP \d+ exited\]|Reading .* from remote target\.\.\.|warning: File transfers from remote targets can be slow)`)

// normGDB drops noise and spells what differs only by name (process ids) the same way.
func normGDB(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if gdbNoise.MatchString(l) {
			continue
		}
		l = regexp.MustCompile(`\((process \d+|Remote target)\)|process \d+`).ReplaceAllString(l, "(PROCESS)")
		l = regexp.MustCompile(`Thread 0x[0-9a-f]+ \(LWP \d+\)|Thread \d+`).ReplaceAllString(l, "THREAD")
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

func gdbArgs(cmds []string) []string {
	args := []string{"-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off"}
	for _, c := range cmds {
		args = append(args, "-ex", c)
	}
	return args
}

// gdbNative runs cmds on the native program, stopped first at its first instruction.
func gdbNative(t *testing.T, prog string, args []string, cmds ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := append(gdbArgs(append([]string{"starti"}, cmds...)), "--args", prog)
	out, _ := exec.CommandContext(ctx, gdbBin, append(a, args...)...).CombinedOutput()
	return normGDB(string(out))
}

// vemuSession is a vemu run --gdb waiting for gdb.
type vemuSession struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stdout lockedBuffer
	stderr bytes.Buffer
	done   chan struct{}
}

// startVemuGDB starts vemu run --gdb on a free loopback port and returns once it listens.
func startVemuGDB(t *testing.T, flags []string, prog string, args ...string) *vemuSession {
	t.Helper()
	s := &vemuSession{done: make(chan struct{})}
	a := append([]string{"run", "--gdb=127.0.0.1:0"}, flags...)
	s.cmd = exec.Command(vemuBin, append(append(a, prog), args...)...)
	s.stdout.mu = &s.mu
	s.cmd.Stdout = &s.stdout
	errPipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	r := bufio.NewReader(errPipe)
	line, err := r.ReadString('\n')
	const prefix = "vemu: waiting for gdb on "
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("vemu did not wait for gdb: %q, %v", line, err)
	}
	s.addr = strings.TrimSpace(strings.TrimPrefix(line, prefix))
	go func() {
		io.Copy(&s.stderr, r)
		s.cmd.Wait()
		close(s.done)
	}()
	return s
}

// stdoutText is what the program wrote so far.
func (s *vemuSession) stdoutText() string { return s.stdout.String() }

// wait waits for vemu to end and returns its exit status.
func (s *vemuSession) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("vemu did not end; stderr:\n%s", s.stderr.String())
	}
	return shellStatus(s.cmd.ProcessState)
}

// shellStatus is a finished process's status as a shell reports it: vemu ends by the
// signal that ended its guest.
func shellStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// gdbVemu runs cmds in gdb attached to vemu run --gdb, and returns gdb's output, what
// the program wrote, and vemu's exit status.
func gdbVemu(t *testing.T, flags []string, prog string, args []string, cmds ...string) (string, *vemuSession, int) {
	t.Helper()
	s := startVemuGDB(t, flags, prog, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := append(gdbArgs(append([]string{"target remote " + s.addr}, cmds...)), prog)
	out, _ := exec.CommandContext(ctx, gdbBin, a...).CombinedOutput()
	return normGDB(string(out)), s, s.wait(t)
}

// grepLines returns the lines of out that match re, in order.
func grepLines(out, re string) []string {
	rx := regexp.MustCompile(re)
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if rx.MatchString(l) {
			got = append(got, l)
		}
	}
	return got
}

func sameLines(t *testing.T, what, native, vemu, re string) {
	t.Helper()
	n, v := grepLines(native, re), grepLines(vemu, re)
	if len(n) == 0 {
		t.Errorf("%s: the native session printed nothing matching %s:\n%s", what, re, native)
		return
	}
	if strings.Join(n, "\n") != strings.Join(v, "\n") {
		t.Errorf("%s differ:\nnative:\n%s\nvemu:\n%s\n--- vemu session:\n%s", what, strings.Join(n, "\n"), strings.Join(v, "\n"), vemu)
	}
}

var libcs = []string{"glibc", "musl"}

func TestGDBRegistersAtMain(t *testing.T) {
	needGDB(t)
	for _, libc := range libcs {
		t.Run(libc, func(t *testing.T) {
			prog := guest("lab." + libc)
			cmds := []string{"break main", "continue", "p/x $rip", "p $rdi", "p/x $cs", "p/x $ss", "p/x $ds",
				"p $fs_base != 0", "p/x $orig_rax", "p $mxcsr", "p/x $fctrl", "p $xmm1.v2_int64[0] == 0",
				"bt 1", "info symbol $pc", "x/2i $pc", "continue"}
			native := gdbNative(t, prog, nil, cmds...)
			vemu, s, status := gdbVemu(t, nil, prog, nil, cmds...)
			sameLines(t, "registers at main", native, vemu, `^\$\d+ = `)
			sameLines(t, "backtrace and code", native, vemu, `^(#0|main in section|=> |   0x)`)
			sameLines(t, "the end", native, vemu, `exited`)
			if status != 0 || !strings.Contains(s.stdout.String(), "done") {
				t.Errorf("status %d, output %q", status, s.stdout.String())
			}
		})
	}
}

func TestGDBGoGuest(t *testing.T) {
	needGDB(t)
	prog := guest("hello.go.bin")
	cmds := []string{"break main.main", "continue", "bt 1", "info symbol $pc", "p $rip == main.main", "continue"}
	native := gdbNative(t, prog, nil, cmds...)
	vemu, _, _ := gdbVemu(t, nil, prog, nil, cmds...)
	// Native gdb sometimes ends a Go program's session without its "exited" line (on a
	// loaded machine): the stops are compared, and vemu's own end is checked on its own.
	sameLines(t, "Go main", native, vemu, `(^#0|^main\.main in section|^\$\d+ = )`)
	if !strings.Contains(vemu, "exited with code") {
		t.Errorf("the Go program's end did not reach gdb:\n%s", vemu)
	}
	// The Go runtime's own system call path, caught at the first write.
	cmds = []string{"catch syscall write", "continue", "p $rdi", "p $rdx", "bt 1", "delete", "continue"}
	native = gdbNative(t, prog, nil, cmds...)
	vemu, _, _ = gdbVemu(t, nil, prog, nil, cmds...)
	sameLines(t, "Go's write", native, vemu, `(Catchpoint|^#0|^\$\d+ = )`)
}

func TestGDBWatch(t *testing.T) {
	needGDB(t)
	for _, libc := range libcs {
		t.Run(libc, func(t *testing.T) {
			prog := guest("lab." + libc)
			// The program has no debugging information: the global is named by address.
			const v = "*(long *)&counter"
			cmds := []string{"hbreak tick", "continue", "p $pc == tick", "delete", "awatch " + v, "continue", "continue",
				"delete", "rwatch " + v, "continue", "delete", "watch " + v, "continue", "continue", "p " + v,
				"delete", "continue"}
			native := gdbNative(t, prog, nil, cmds...)
			vemu, _, _ := gdbVemu(t, nil, prog, nil, cmds...)
			sameLines(t, "watchpoints", native, vemu, `(atchpoint|Old value|New value|^Value|^0x.* in tick|^\$\d+ = |exited)`)
			if !strings.Contains(vemu, "Old value = 1\nNew value = 2") || !strings.Contains(vemu, "Breakpoint 1, ") {
				t.Errorf("no watchpoint or hardware breakpoint hit:\n%s", vemu)
			}
		})
	}
}

func TestGDBCatchSyscall(t *testing.T) {
	needGDB(t)
	for _, libc := range libcs {
		t.Run(libc, func(t *testing.T) {
			prog := guest("lab." + libc)
			cmds := []string{"catch syscall write", "continue", "p $rdi", "p $rax", "p $orig_rax", "continue",
				"p $rax", "delete", "continue"}
			native := gdbNative(t, prog, nil, cmds...)
			vemu, _, _ := gdbVemu(t, nil, prog, nil, cmds...)
			sameLines(t, "caught write", native, vemu, `(Catchpoint|^\$\d+ = |exited)`)
		})
	}
}

func TestGDBVDSO(t *testing.T) {
	needGDB(t)
	for _, libc := range libcs {
		t.Run(libc, func(t *testing.T) {
			prog := guest("lab." + libc)
			// After main, the vDSO's symbols are loaded through AT_SYSINFO_EHDR.
			cmds := []string{"break main", "continue", "break __vdso_clock_gettime", "continue",
				"info symbol $pc", "x/i $pc", "p $_siginfo.si_signo", "finish", "delete", "continue"}
			native := gdbNative(t, prog, nil, cmds...)
			vemu, _, _ := gdbVemu(t, nil, prog, nil, cmds...)
			norm := func(s string) string {
				// Linux's vDSO code is not vemu's: breakpoints land after different
				// prologues. What must agree is where gdb finds itself.
				s = regexp.MustCompile(`0x[0-9a-f]+`).ReplaceAllString(s, "X")
				return regexp.MustCompile(` \+ \d+|\+\d+>:.*|>:.*`).ReplaceAllString(s, "")
			}
			sameLines(t, "where the pc is", norm(native), norm(vemu), `(system-supplied DSO|^=> X <clock_gettime|Breakpoint 2,|Run till exit)`)
			if !strings.Contains(vemu, "clock_gettime in section .text of system-supplied DSO") {
				t.Errorf("info symbol in the vDSO:\n%s", vemu)
			}
		})
	}
}

func TestGDBSignal(t *testing.T) {
	needGDB(t)
	for _, libc := range libcs {
		t.Run(libc, func(t *testing.T) {
			prog := guest("lab." + libc)
			// A step delivers the signal and stops at the handler's first instruction.
			cmds := []string{"continue", "p $_siginfo.si_signo", "p $_siginfo.si_code",
				"p $_siginfo._sifields._sigfault.si_addr", "stepi", "info symbol $pc", "p $rdi", "continue"}
			args := []string{"segv"}
			native := gdbNative(t, prog, args, cmds...)
			vemu, s, status := gdbVemu(t, nil, prog, args, cmds...)
			sameLines(t, "the signal", native, vemu, `(received signal|^\$\d+ = |^on_segv in|exited)`)
			// The program's own handler ran when gdb passed the signal on.
			if !strings.Contains(s.stdout.String(), "handler: si_addr 0x10\nrecovered") || status != 0 {
				t.Errorf("status %d, output %q", status, s.stdout.String())
			}
		})
	}
}

func TestGDBThreads(t *testing.T) {
	needGDB(t)
	prog := guest("lab.glibc")
	// With the scheduler locked, a step moves only the current thread (vCont;s:TID).
	cmds := []string{"break adder", "continue", "p $_thread", "thread 1", "bt 1", "delete",
		"set scheduler-locking step", "thread 2", "stepi", "p $_thread", "continue"}
	vemu, s, status := gdbVemu(t, nil, prog, []string{"threads"}, cmds...)
	if !strings.Contains(vemu, "in adder") || !strings.Contains(vemu, "$1 = 2") || !strings.Contains(vemu, "$2 = 2") || !strings.Contains(vemu, "[Switching to thread 1") && !strings.Contains(vemu, "#0 ") {
		t.Errorf("threads session:\n%s", vemu)
	}
	if status != 0 || !strings.Contains(s.stdout.String(), "counter 2003") {
		t.Errorf("status %d, output %q", status, s.stdout.String())
	}
	// gdb lists the threads and their stops name them.
	vemu, _, _ = gdbVemu(t, nil, prog, []string{"threads"}, "break adder", "continue", "info threads", "kill")
	if n := len(grepLines(vemu, `^[ *] +\d+ +THREAD`)); n < 2 {
		t.Errorf("info threads lists %d threads:\n%s", n, vemu)
	}
}

func TestGDBInterrupt(t *testing.T) {
	needGDB(t)
	prog := guest("lab.glibc")
	// Ctrl-C in gdb while the program runs: gdb sends 0x03, the program stops with SIGINT.
	s := startVemuGDB(t, nil, prog, "spin")
	var out bytes.Buffer
	gdb := exec.Command(gdbBin, append(gdbArgs([]string{"target remote " + s.addr, "continue", "p (long)counter > 3",
		"p $_siginfo.si_signo", "kill"}), prog)...)
	gdb.Stdout, gdb.Stderr = &out, &out
	if err := gdb.Start(); err != nil {
		t.Fatal(err)
	}
	defer gdb.Process.Kill()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(s.stdoutText(), "counter 3") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // spinning now
	gdb.Process.Signal(syscall.SIGINT)
	waited := make(chan error, 1)
	go func() { waited <- gdb.Wait() }()
	select {
	case <-waited:
	case <-time.After(2 * time.Minute):
		t.Fatal("gdb did not end")
	}
	vemu := out.String()
	if !strings.Contains(vemu, "received signal SIGINT") || !strings.Contains(vemu, "$1 = 1") || !strings.Contains(vemu, "$2 = 2") {
		t.Errorf("interrupt session:\n%s\nvemu: %s", vemu, s.stderr.String())
	}
	if status := s.wait(t); status != 137 {
		t.Errorf("killed vemu exited %d, want 137", status)
	}
}

func TestGDBDetachAndKill(t *testing.T) {
	needGDB(t)
	prog := guest("lab.musl")
	_, s, status := gdbVemu(t, nil, prog, nil, "break tick", "continue", "detach")
	if status != 0 || !strings.Contains(s.stdout.String(), "counter 3\ndone") {
		t.Errorf("after detach: status %d, output %q", status, s.stdout.String())
	}
	_, s, status = gdbVemu(t, nil, prog, nil, "break tick", "continue", "kill")
	if status != 137 || strings.Contains(s.stdout.String(), "done") {
		t.Errorf("after kill: status %d, output %q", status, s.stdout.String())
	}
}

func TestGDBForkExec(t *testing.T) {
	needGDB(t)
	prog := guest("lab.glibc")
	// gdb stays with the parent; the child runs free.
	vemu, s, status := gdbVemu(t, nil, prog, []string{"fork"}, "continue")
	if status != 0 || !strings.Contains(s.stdout.String(), "child runs\nchild exited 7") || !strings.Contains(vemu, "exited normally") {
		t.Errorf("fork: status %d, output %q, gdb:\n%s", status, s.stdout.String(), vemu)
	}
	// An exec is reported, and breakpoints work in the new program.
	cmds := []string{"break main", "continue", "p $rdi", "continue", "p $rdi", "continue"}
	native := gdbNative(t, prog, []string{"exec"}, cmds...)
	vemu, s, status = gdbVemu(t, nil, prog, []string{"exec"}, cmds...)
	sameLines(t, "exec", native, vemu, `(executing new program|^Breakpoint 1,|^\$\d+ = |exited)`)
	if status != 0 || s.stdout.String() != "counter 3\ncounter 3\ndone\n" {
		t.Errorf("exec: status %d, output %q", status, s.stdout.String())
	}
}

func TestGDBStepVsyscall(t *testing.T) {
	needGDB(t)
	prog := guest("lab.glibc")
	cmds := []string{"break vsys_gtod", "continue", "stepi", "stepi", "stepi", "p/x $pc", "stepi", "bt 1", "p $rax",
		"delete", "continue"}
	args := []string{"vsyscall"}
	native := gdbNative(t, prog, args, cmds...)
	vemu, _, _ := gdbVemu(t, nil, prog, args, cmds...)
	sameLines(t, "stepping into the vsyscall page", native, vemu, `(^0x|^\$\d+ = |^#0|exited)`)
}

func TestGDBStepSyscall(t *testing.T) {
	needGDB(t)
	for _, libc := range libcs {
		t.Run(libc, func(t *testing.T) {
			prog := guest("lab." + libc)
			// At the write's entry, a step runs the call: rax has its result after.
			cmds := []string{"catch syscall write", "continue", "p $rax", "stepi", "p $rax", "x/i $pc - 2", "delete",
				"continue"}
			native := gdbNative(t, prog, nil, cmds...)
			vemu, _, _ := gdbVemu(t, nil, prog, nil, cmds...)
			sameLines(t, "a step over a system call", native, vemu, `(^\$\d+ = |syscall *$|exited)`)
		})
	}
}

func TestGDBBadInput(t *testing.T) {
	needGDB(t)
	prog := guest("lab.glibc")
	t.Run("port-in-use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out, err := exec.Command(vemuBin, "run", "--gdb="+ln.Addr().String(), prog).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "address already in use") {
			t.Errorf("status %d, output %q", code, out)
		}
	})
	t.Run("bad-port", func(t *testing.T) {
		out, err := exec.Command(vemuBin, "run", "-g", "x99", prog).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "want [HOST:]PORT") {
			t.Errorf("status %d, output %q", code, out)
		}
	})
	t.Run("unmapped-breakpoint", func(t *testing.T) {
		vemu, s, status := gdbVemu(t, nil, prog, nil, "break *0x10", "continue", "delete", "continue")
		if !strings.Contains(vemu, "Cannot insert breakpoint 1") || status != 0 || !strings.Contains(s.stdout.String(), "done") {
			t.Errorf("status %d, gdb:\n%s", status, vemu)
		}
	})
	t.Run("raw-packets-then-disconnect", func(t *testing.T) {
		s := startVemuGDB(t, nil, prog)
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		c.SetDeadline(time.Now().Add(time.Minute))
		exchange := func(pkt string) string {
			sum := 0
			for _, b := range []byte(pkt) {
				sum += int(b)
			}
			fmt.Fprintf(c, "$%s#%02x", pkt, sum&0xff)
			if b, _ := r.ReadByte(); b != '+' {
				t.Fatalf("%s: no ack (%q)", pkt, b)
			}
			if b, _ := r.ReadByte(); b != '$' {
				t.Fatalf("%s: no reply", pkt)
			}
			body, _ := r.ReadString('#')
			r.Discard(2)
			c.Write([]byte("+"))
			return strings.TrimSuffix(body, "#")
		}
		c.Write([]byte("$m0,4#00")) // bad checksum
		if b, _ := r.ReadByte(); b != '-' {
			t.Errorf("bad checksum answered %q", b)
		}
		for pkt, want := range map[string]string{"m": "E01", "m0,4": "E14", "qNoSuchQuery": "", "Z0,10,1": "E16", "vNope": ""} {
			if got := exchange(pkt); got != want {
				t.Errorf("%s: got %q, want %q", pkt, got, want)
			}
		}
		c.Close() // gdb goes away while the program is stopped: it runs on
		if status := s.wait(t); status != 0 || !strings.Contains(s.stdout.String(), "done") ||
			!strings.Contains(s.stderr.String(), "gdb disconnected") {
			t.Errorf("status %d, output %q, stderr %q", status, s.stdout.String(), s.stderr.String())
		}
	})
	t.Run("sigterm-before-gdb", func(t *testing.T) {
		// Waiting for gdb, vemu still ends on SIGTERM.
		s := startVemuGDB(t, nil, prog)
		s.cmd.Process.Signal(syscall.SIGTERM)
		if status := s.wait(t); status != 143 {
			t.Errorf("status %d, stderr %q", status, s.stderr.String())
		}
	})
	t.Run("disconnect-mid-run", func(t *testing.T) {
		s := startVemuGDB(t, nil, prog, "spin")
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("$c#63"))
		time.Sleep(200 * time.Millisecond)
		c.Close()
		// The program spins on, detached: vemu still answers SIGTERM.
		time.Sleep(200 * time.Millisecond)
		s.cmd.Process.Signal(syscall.SIGTERM)
		if status := s.wait(t); status != 143 {
			t.Errorf("status %d, stderr %q", status, s.stderr.String())
		}
	})
}

// exitCode is the status of a finished command, or -1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// lockedBuffer is a buffer written by one goroutine while another reads it.
type lockedBuffer struct {
	mu *sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
