package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty returns a new pseudo-terminal's master and the path of its slave.
func openPty(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

// cooked reports whether the terminal of master m is in cooked mode: canonical input,
// echo and signals, as a shell leaves it to the command it runs.
func cooked(m *os.File) bool {
	tio, err := unix.IoctlGetTermios(int(m.Fd()), unix.TCGETS)
	want := uint32(unix.ICANON | unix.ECHO | unix.ISIG)
	return err == nil && tio.Lflag&want == want
}

// interactive runs argv as a session leader on a new terminal, types each line of script
// (a line "^C" is Ctrl-C), and returns what the terminal showed, without its carriage
// returns. A line that starts with "$ " is a command: it is typed once the shell has shown
// one more prompt than before (whatever the machine's load); any other line is typed
// to the command running then, once the shell has given it the terminal in cooked mode.
func interactive(t *testing.T, argv []string, script []string) string {
	t.Helper()
	m, slavePath := openPty(t)
	defer m.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("the pseudo-terminal's other end cannot be opened here: %v", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(guestEnv, "PS1=$ ", "TERM=dumb")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Skipf("cannot start %s on its own terminal here: %v", argv[0], err)
	}
	slave.Close()
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	prompts := func() int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count("\n"+strings.ReplaceAll(out.String(), "\r", ""), "\n$ ")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := 0
	for _, line := range script {
		if cmdLine, ok := strings.CutPrefix(line, "$ "); ok {
			for deadline := time.Now().Add(runTimeout); prompts() <= seen && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			seen = prompts()
			m.Write([]byte(cmdLine + "\n"))
			continue
		}
		// The command runs once the shell has given the terminal back its cooked mode
		// (its line editing keeps it raw, without echo or signals, while at the prompt):
		// a line typed before reaches the command unechoed, and a ^C the shell itself.
		time.Sleep(400 * time.Millisecond)
		for deadline := time.Now().Add(runTimeout); !cooked(m) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if line == "^C" {
			m.Write([]byte{3})
		} else {
			m.Write([]byte(line + "\n"))
		}
	}
	time.Sleep(400 * time.Millisecond)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(runTimeout):
		cmd.Process.Kill()
		<-exited
		t.Errorf("%v did not exit", argv)
	}
	m.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// busybox's line editing asks the terminal where the cursor is (ESC [6n) only when no
	// typed-ahead input waits at the prompt: that depends on how fast the shell got back
	// to it, on a loaded machine too, not on what is under test.
	return strings.ReplaceAll(strings.ReplaceAll(out.String(), "\r", ""), "\x1b[6n", "")
}

// TestInteractiveShell runs busybox sh on a terminal, as a user at a prompt would, natively
// and under vemu: job control (each command in its own process group, made the
// terminal's foreground), Ctrl-C reaching the foreground job and not the shell, a read
// from the terminal, a background job killed, and the exit status.
func TestInteractiveShell(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	t.Parallel()
	script := []string{
		"$ tty >/dev/null && echo on a tty",
		"$ sleep 5",
		"^C",
		"$ echo after ctrl-c: $?",
		"$ head -n 1",
		"typed at the terminal",
		"$ sleep 10 &",
		"$ kill %1; wait; echo background job killed",
		"$ exit 3",
	}
	native := interactive(t, []string{busybox, "sh", "-i"}, script)
	emu := interactive(t, []string{vemuBin, "run", busybox, "sh", "-i"}, script)
	for _, want := range []string{"on a tty", "after ctrl-c: 130", "typed at the terminal\ntyped at the terminal", "background job killed"} {
		if !strings.Contains(native, want) {
			t.Fatalf("the native run did not show %q (the host's terminal behaves otherwise):\n%s", want, native)
		}
	}
	if native != emu {
		t.Errorf("the terminal differs\nnative:\n%s\nvemu:\n%s", native, emu)
	}
}
