package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Core dumps. Natively, Linux writes a core file as /proc/sys/kernel/core_pattern says;
// vemu behaves as the plain pattern "core" (core.PID under kernel.core_uses_pid). Where
// the host's pattern is that one, the guests run natively and under vemu and the results
// are compared; elsewhere (a pipe to systemd-coredump, say) the native result cannot be
// compared, and vemu is held to what Linux does with the pattern "core", written below
// from a native run of this machine's kernel with that pattern.

// hostCorePattern reports whether this host's kernel writes plain "core" files.
func hostCorePattern() bool {
	b, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	return err == nil && string(b) == "core\n"
}

// coreStatusWant is what `coredump status DIR` prints as root under Linux with the
// pattern "core", a process that starts with RLIMIT_CORE 0 and fs.suid_dumpable 0.
const coreStatusWant = `SIGSEGV, RLIMIT_CORE unlimited:
  waitid: si_code CLD_DUMPED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0x8b
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 1
  core file: regular, mode 0600, owner 0:0, ELF core x86-64
abort, RLIMIT_CORE unlimited:
  waitid: si_code CLD_DUMPED, si_status SIGABRT
  /proc/PID/stat exit_code: 0x86
  wait: WIFSIGNALED, WTERMSIG SIGABRT, WCOREDUMP 1
  core file: regular, mode 0600, owner 0:0, ELF core x86-64
SIGQUIT, RLIMIT_CORE 1 MiB:
  waitid: si_code CLD_DUMPED, si_status SIGQUIT
  /proc/PID/stat exit_code: 0x83
  wait: WIFSIGNALED, WTERMSIG SIGQUIT, WCOREDUMP 1
  core file: regular, mode 0600, owner 0:0, ELF core x86-64
  blocks within RLIMIT_CORE: yes
SIGTERM, RLIMIT_CORE unlimited:
  waitid: si_code CLD_KILLED, si_status SIGTERM
  /proc/PID/stat exit_code: 0xf
  wait: WIFSIGNALED, WTERMSIG SIGTERM, WCOREDUMP 0
  core file: none
SIGSEGV, RLIMIT_CORE 0:
  waitid: si_code CLD_KILLED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0xb
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 0
  core file: none
abort, RLIMIT_CORE 4095:
  waitid: si_code CLD_KILLED, si_status SIGABRT
  /proc/PID/stat exit_code: 0x6
  wait: WIFSIGNALED, WTERMSIG SIGABRT, WCOREDUMP 0
  core file: none
initial RLIMIT_CORE: 0
SIGSEGV, the initial RLIMIT_CORE:
  waitid: si_code CLD_KILLED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0xb
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 0
  core file: none
SIGSEGV, RLIMIT_CORE 12 KiB:
  waitid: si_code CLD_DUMPED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0x8b
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 1
  core file: regular, mode 0600, owner 0:0, ELF core x86-64
  blocks within RLIMIT_CORE: yes
SIGSEGV over a symbolic link:
  waitid: si_code CLD_DUMPED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0x8b
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 1
  core file: regular, mode 0600, owner 0:0, ELF core x86-64
  link target untouched: yes
SIGSEGV over an old core file:
  waitid: si_code CLD_DUMPED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0x8b
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 1
  core file: regular, mode 0600, owner 0:0, ELF core x86-64
SIGSEGV as nobody in a directory it cannot write:
  dumpable after setuid: 0
  waitid: si_code CLD_KILLED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0xb
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 0
  core file: none
SIGSEGV as nobody, not dumpable:
  dumpable after setuid: 0
  waitid: si_code CLD_KILLED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0xb
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 0
  core file: none
SIGSEGV as nobody, dumpable again:
  dumpable after setuid: 0
  waitid: si_code CLD_DUMPED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0x8b
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 1
  core file: regular, mode 0600, owner 65534:65534, ELF core x86-64
SIGSEGV as root, PR_SET_DUMPABLE 0:
  dumpable: 0
  waitid: si_code CLD_KILLED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0xb
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 0
  core file: none
SIGSEGV as nobody over root's core in a sticky directory:
  dumpable after setuid: 0
  waitid: si_code CLD_KILLED, si_status SIGSEGV
  /proc/PID/stat exit_code: 0xb
  wait: WIFSIGNALED, WTERMSIG SIGSEGV, WCOREDUMP 0
  core file: regular, mode 0644, owner 0:0, not ELF
removed working directory:
  wait: SIGSEGV, WCOREDUMP 0
`

// TestCoreDumpStatus runs coredump.c's checks (as root: a child drops to another uid):
// wait's WCOREDUMP, waitid's CLD_DUMPED and /proc/PID/stat's exit_code for core signals
// under RLIMIT_CORE unlimited, 1 MiB, 12 KiB (the file cut there), 4095 and 0; no file
// and no flag for SIGTERM; a symbolic link named core replaced, never followed; an old
// core replaced; no core where the process may not write, nor for a process made
// non-dumpable by setuid or PR_SET_DUMPABLE; a core owned by the process's ids; none
// in a removed working directory.
func TestCoreDumpStatus(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a child changes its uid")
	}
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := guest("coredump." + libc)
			base := t.TempDir()
			os.Chmod(base, 0o755)
			vdir := filepath.Join(base, "vemu")
			os.Mkdir(vdir, 0o755)
			// Under the limit this test runs with, whatever it is, both start with 0.
			inv := invocation{prog: "/bin/sh", dir: base,
				args: []string{"-c", `ulimit -S -c 0 && exec "$@"`, "sh", vemuBin, "run", prog, "status", vdir}}
			got := execute(t, inv.prog, inv.args, inv)
			if got.status != 0 {
				t.Errorf("vemu: status %d, stderr %s", got.status, got.stderr)
			}
			want := coreStatusWant
			if hostCorePattern() {
				ndir := filepath.Join(base, "native")
				os.Mkdir(ndir, 0o755)
				inv.args = []string{"-c", `ulimit -S -c 0 && exec "$@"`, "sh", prog, "status", ndir}
				n := execute(t, inv.prog, inv.args, inv)
				want = string(n.stdout)
				if want != coreStatusWant {
					t.Logf("natively (compared with vemu) differs from the recorded Linux result:\n%s", want)
				}
			} else {
				t.Log("the host's core_pattern is not \"core\": vemu compared with the recorded Linux result")
			}
			if string(got.stdout) != want {
				t.Errorf("vemu:\n%s\nwant:\n%s\nstderr: %s", got.stdout, want, got.stderr)
			}
		})
	}
}

// coreFile finds the core file a process with pid left in dir: core, or core.PID.
func coreFile(dir string, pid int) string {
	for _, name := range []string{"core", "core." + strconv.Itoa(pid)} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

// crashRun runs argv in dir and returns how it ended, its stderr, its pid and its peak
// RSS in KiB.
func crashRun(t *testing.T, dir string, argv ...string) (ws syscall.WaitStatus, stderr string, pid int, maxrss int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, guestEnv
	var se bytes.Buffer
	cmd.Stderr = &se
	cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("%v did not run: %s", argv, se.Bytes())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return cmd.ProcessState.Sys().(syscall.WaitStatus), se.String(), cmd.ProcessState.Pid(), ru.Maxrss
}

// vemuRip is the rip vemu's report of a fault names.
var vemuRip = regexp.MustCompile(`killed by SIGSEGV \(core dumped\) \(fault at 0x10, rip (0x[0-9a-f]+)`)

// gdbCore runs gdb's commands on prog and its core file.
func gdbCore(t *testing.T, prog, core string, cmds ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gdbBin, append(gdbArgs(cmds), prog, core)...).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	return string(out)
}

// TestCoreDumpGDB has gdb read the core file vemu wrote: the backtrace names the
// crashing function and main, rip is the faulting instruction vemu reported, the
// siginfo is the fault's; the same commands on a native core file (a static program,
// at the same addresses) give the same answers.
func TestCoreDumpGDB(t *testing.T) {
	needGDB(t)
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := guest("coredump." + libc)
			dir := t.TempDir()
			ws, stderr, pid, _ := crashRun(t, dir, vemuBin, "run", prog, "crash")
			if !ws.Signaled() || ws.Signal() != syscall.SIGSEGV {
				t.Fatalf("vemu ended with %#x, want death by SIGSEGV; stderr %s", ws, stderr)
			}
			if ws.CoreDump() {
				t.Errorf("vemu itself dumped core")
			}
			m := vemuRip.FindStringSubmatch(stderr)
			if m == nil {
				t.Fatalf("stderr %q: want \"killed by SIGSEGV (core dumped)\" and the fault", stderr)
			}
			core := coreFile(dir, pid)
			if core == "" {
				t.Fatalf("no core file in %s", dir)
			}
			cmds := []string{"bt", "info registers rip", "p $_siginfo.si_signo", "p $_siginfo.si_code",
				"p $_siginfo._sifields._sigfault.si_addr", "p/x $rsp", "info threads"}
			out := gdbCore(t, prog, core, cmds...)
			for _, want := range []string{"in crash_here ()", "in main ()", "rip            " + m[1] + " ", "$1 = 11", "$2 = 1", "$3 = (void *) 0x10"} {
				if !strings.Contains(out, want) {
					t.Errorf("gdb on vemu's core: no %q in\n%s", want, out)
				}
			}
			if !hostCorePattern() {
				return
			}
			ndir := t.TempDir()
			ws, _, npid, _ := crashRun(t, ndir, prog, "crash")
			ncore := coreFile(ndir, npid)
			if !ws.CoreDump() || ncore == "" {
				t.Skipf("no native core file (status %#x): the hard RLIMIT_CORE is 0?", ws)
			}
			nout := gdbCore(t, prog, ncore, cmds...)
			// The frames and registers, not the process ids or the stack's random place.
			norm := func(s string) string {
				s = regexp.MustCompile(`Thread 0x[0-9a-f]+ \(LWP \d+\)|LWP \d+`).ReplaceAllString(s, "THREAD")
				s = regexp.MustCompile(`\$4 = 0x[0-9a-f]+`).ReplaceAllString(s, "$4 = STACK")
				return strings.Join(grepLines(s, `^(#|rip|\$|\*)`), "\n")
			}
			if norm(out) != norm(nout) {
				t.Errorf("gdb on vemu's core:\n%s\nnatively:\n%s", norm(out), norm(nout))
			}
		})
	}
}

// TestCoreDumpLimit starts vemu with RLIMIT_CORE 0 and unlimited, as a shell's ulimit
// sets it: the program inherits it as natively, so 0 writes nothing and says nothing of
// a core, and unlimited writes the file and says "core dumped".
func TestCoreDumpLimit(t *testing.T) {
	prog := guest("coredump.glibc")
	for _, c := range []struct {
		limit string
		core  bool
	}{{"0", false}, {"unlimited", true}} {
		t.Run(c.limit, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ws, stderr, _, _ := crashRun(t, dir, "/bin/sh", "-c", `ulimit -c `+c.limit+` && exec "$@"`, "sh", vemuBin, "run", prog, "plain")
			if strings.Contains(stderr, "ulimit") {
				t.Skipf("the shell cannot set the limit: %s", stderr)
			}
			if !ws.Signaled() || ws.Signal() != syscall.SIGSEGV || ws.CoreDump() {
				t.Errorf("status %#x, want death by SIGSEGV without a core of vemu's", ws)
			}
			said := strings.Contains(stderr, "killed by SIGSEGV (core dumped)")
			entries, _ := os.ReadDir(dir)
			if said != c.core || (len(entries) == 1) != c.core || len(entries) > 1 {
				t.Errorf("RLIMIT_CORE %s: stderr %q, files %v; want a core: %v", c.limit, stderr, entries, c.core)
			}
		})
	}
}

// TestCoreDumpHostile: a guest that reserves 16 TiB without access and 4 GiB with, and
// touches one page, leaves a core file of its touched pages only (sparse) without vemu
// growing; a guest with many threads blocked in read dumps every one of them; a core
// written inside --root lands in the guest's directory there.
func TestCoreDumpHostile(t *testing.T) {
	needGDB(t)
	t.Run("reserve", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		prog := guest("coredump.musl")
		ws, stderr, pid, rss := crashRun(t, dir, vemuBin, "run", prog, "reserve")
		if !ws.Signaled() || !strings.Contains(stderr, "(core dumped)") {
			t.Fatalf("status %#x, stderr %q: want a core dump", ws, stderr)
		}
		core := coreFile(dir, pid)
		var st syscall.Stat_t
		if err := syscall.Stat(core, &st); err != nil {
			t.Fatal(err)
		}
		// The 4 GiB mapping was touched: it is in the file whole, as Linux writes it, but
		// as a hole.
		if st.Size < 4<<30 || st.Blocks*512 > 16<<20 {
			t.Errorf("core file of %d bytes with %d allocated: want at least 4 GiB, at most 16 MiB allocated", st.Size, st.Blocks*512)
		}
		if rss > 200<<10 {
			t.Errorf("vemu's peak RSS %d KiB", rss)
		}
		out := gdbCore(t, prog, core, "bt")
		if !strings.Contains(out, "crash_here") {
			t.Errorf("gdb: %s", out)
		}
	})
	t.Run("threads", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		prog := guest("coredump.glibc")
		const n = 100
		ws, stderr, pid, _ := crashRun(t, dir, vemuBin, "run", prog, "threads", strconv.Itoa(n))
		if !ws.Signaled() || !strings.Contains(stderr, "(core dumped)") {
			t.Fatalf("status %#x, stderr %q: want a core dump", ws, stderr)
		}
		out := gdbCore(t, prog, coreFile(dir, pid), "info threads", "thread 1", "bt", "thread 2", "bt")
		if k := len(grepLines(out, `^[ *] +\d+ +(Thread|LWP)`)); k != n+1 {
			t.Errorf("gdb sees %d threads, want %d:\n%s", k, n+1, out)
		}
		for _, want := range []string{"in crash_here ()", "in blocker ()"} {
			if !strings.Contains(out, want) {
				t.Errorf("gdb: no %q in\n%s", want, out)
			}
		}
	})
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		data, err := os.ReadFile(guest("coredump.glibc"))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(root, "prog"), data, 0o755)
		sub := filepath.Join(root, "sub")
		os.Mkdir(sub, 0o755)
		outside := t.TempDir()
		// A link named core to a file outside the root: replaced, never written through.
		victim := filepath.Join(outside, "victim")
		mustWrite(t, victim, nil, 0o644)
		os.Symlink(victim, filepath.Join(sub, "core"))
		ws, stderr, pid, _ := crashRun(t, sub, vemuBin, "run", "--root="+root, "/prog", "crash")
		if !ws.Signaled() || !strings.Contains(stderr, "(core dumped)") {
			t.Fatalf("status %#x, stderr %q: want a core dump", ws, stderr)
		}
		core := coreFile(sub, pid)
		if fi, err := os.Lstat(core); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("core in the guest's directory: %v %v", fi, err)
		}
		if fi, _ := os.Stat(victim); fi == nil || fi.Size() != 0 {
			t.Errorf("the file outside the root was written: %v", fi)
		}
	})
}

// TestCoreDumpSigterm sends SIGTERM to vemu while it writes a core file of 128 MiB of
// touched memory: vemu ends (by the guest's SIGSEGV), the dump cut short and not
// reported as dumped, or complete if it won the race.
func TestCoreDumpSigterm(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(vemuBin, "run", guest("coredump.glibc"), "big", "128")
	cmd.Dir, cmd.Env = dir, guestEnv
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(runTimeout, func() { cmd.Process.Kill() })
	defer timer.Stop()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var core string
	for core == "" {
		if core = coreFile(dir, cmd.Process.Pid); core != "" {
			break
		}
		select {
		case <-done:
			t.Fatalf("vemu ended without a core file: %s", se.Bytes())
		case <-time.After(2 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGSEGV {
		t.Fatalf("vemu ended with %#x, want death by the guest's SIGSEGV; stderr %s", ws, se.Bytes())
	}
	fi, err := os.Stat(core)
	if err != nil {
		t.Fatal(err)
	}
	dumped := strings.Contains(se.String(), "(core dumped)")
	t.Logf("dump complete: %v, %d bytes", dumped, fi.Size())
	if dumped && fi.Size() < 128<<20 {
		t.Errorf("reported dumped with a core of %d bytes", fi.Size())
	}
}
