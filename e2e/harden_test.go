package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// hardenGuests are the C programs that play a hostile or careless guest: each must get
// what Linux gives it, and vemu must survive it.
var hardenGuests = []diffCase{
	{name: "priv", cmds: one("priv")},
	{name: "vvarunmap", cmds: one("vvarunmap")},
	{name: "shmfork", cmds: one("shmfork")},
	{name: "procself", cmds: one("procself")},
	{name: "procself-seed", cmds: one("procself"), flags: []string{"--seed=3"}},
	{name: "shmfile", cmds: one("shmfile", "work"), setup: mkdirs("work")},
	{name: "quickerr", cmds: one("quickerr", "work"), setup: mkdirs("work")},
	{name: "execargs", cmds: one("execargs")},
	{name: "nofile", cmds: one("nofile")},
	{name: "int80", cmds: one("int80", "work"), setup: mkdirs("work")},
	{name: "fsize", cmds: one("fsize", "work"), setup: mkdirs("work")},
	{name: "fsize-default", cmds: one("fsize", "work", "default"), setup: mkdirs("work"), status: 128 + 25},
	{name: "vvarunmap-virtual", cmds: one("vvarunmap"), flags: []string{"--clock=virtual", "--seed=1"}},
}

func TestHardenDiff(t *testing.T) { runGuests(t, hardenGuests, nil) }

// TestHardenWaits runs waits.c's checks: FIFO opens that wait for their peer (another
// thread of the process included), empty eventfd and inotify reads, each interrupted by a
// signal with EINTR or a restart, natively and under vemu; and a thread that sleeps while
// another spins under the virtual clock.
func TestHardenWaits(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		for _, c := range []diffCase{
			{name: "checks", cmds: one("waits."+libc, "checks", "work"), setup: mkdirs("work")},
			{name: "sleepspin-virtual", cmds: one("waits."+libc, "sleepspin"), flags: []string{"--seed=1", "--clock=virtual"}},
			{name: "checks-seed", cmds: one("waits."+libc, "checks", "work"), setup: mkdirs("work"), flags: []string{"--seed=4"}},
			{name: "checks-root", cmds: one("waits."+libc, "checks", "work"), setup: mkdirs("work"), flags: []string{"--root=/"}},
		} {
			c.name += "/" + libc
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				runDiff(t, c)
			})
		}
	}
}

// TestHardenSigtermInWait sends SIGTERM to vemu while every thread of its guest waits in
// the host (a FIFO open without a peer, an empty eventfd or inotify read): vemu must end
// as the program does natively, killed by SIGTERM, and not hang.
func TestHardenSigtermInWait(t *testing.T) {
	for _, kind := range []string{"fifo-read", "fifo-write", "eventfd", "inotify", "threads"} {
		for _, libc := range []string{"glibc", "musl"} {
			for _, flags := range [][]string{nil, {"--seed=2", "--clock=virtual"}, {"--root=/"}} {
				name := kind + "/" + libc
				if flags != nil {
					name += "/" + strings.TrimLeft(strings.SplitN(flags[len(flags)-1], "=", 2)[0], "-")
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					prog := []string{guest("waits." + libc), "block-" + kind, t.TempDir()}
					want := signalRun(t, prog, syscall.SIGTERM)
					run := append(append([]string{vemuBin, "run"}, flags...), prog[0], prog[1], t.TempDir())
					got := signalRun(t, run, syscall.SIGTERM)
					if want.signal != int(syscall.SIGTERM) {
						t.Errorf("natively: status %d, want death by SIGTERM", want.status)
					}
					if got.signal != want.signal || !bytes.Equal(got.stdout, want.stdout) {
						t.Errorf("under vemu: status %d, stdout %q; natively: status %d, stdout %q; vemu's stderr: %s",
							got.status, got.stdout, want.status, want.stdout, got.stderr)
					}
				})
			}
		}
	}
}

// TestHardenStartTime: a --start-time that no Linux clock can be set to (before 1970,
// past TIME_SETTOD_SEC_MAX in 2232) is a clear error with status 2; the bounds run.
func TestHardenStartTime(t *testing.T) {
	for _, c := range []struct {
		start string
		ok    bool
	}{
		{"1970-01-01T00:00:00Z", true},
		{"2232-04-18T23:47:15Z", true},
		{"1969-12-31T23:59:59Z", false},
		{"2232-04-18T23:47:16Z", false},
		{"9999-12-31T00:00:00Z", false},
		{"0001-01-01T00:00:00Z", false},
	} {
		for _, clock := range []string{"host", "virtual"} {
			t.Run(c.start+"/"+clock, func(t *testing.T) {
				t.Parallel()
				got := runVemu(t, invocation{prog: guest("hello.glibc"), dir: t.TempDir(),
					flags: []string{"--start-time=" + c.start, "--clock=" + clock}})
				if c.ok {
					if got.status != 0 {
						t.Errorf("status %d, stderr %s", got.status, got.stderr)
					}
					return
				}
				if got.status != 2 || !bytes.Contains(got.stderr, []byte("outside the times a Linux clock can be set to")) {
					t.Errorf("status %d, stderr %q: want 2 and the bounds", got.status, got.stderr)
				}
			})
		}
	}
}

// TestHardenScript runs #! scripts from the command line as Linux's execve runs them:
// the interpreter, its one optional argument, the script's path, then the arguments; a
// script may name another script; a missing interpreter is status 127.
func TestHardenScript(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	scripts := map[string]string{
		"sh.sh":     "#!/bin/sh -e\necho \"$0 $#: $*\"\nexit 3\n",
		"guest.sh":  "#!" + guest("hello.musl") + "  one  two \n",
		"nested.sh": "#!" + filepath.Join(dir, "guest.sh") + "\n",
		"none.sh":   "#!" + filepath.Join(dir, "missing") + "\n",
	}
	for name, text := range scripts {
		mustWrite(t, filepath.Join(dir, name), []byte(text), 0o755)
	}
	for _, name := range []string{"sh.sh", "guest.sh", "nested.sh"} {
		inv := invocation{prog: filepath.Join(dir, name), args: []string{"a", "b c"}, dir: dir}
		want, got := runNative(t, inv), runVemu(t, inv)
		if got.status != want.status || !bytes.Equal(got.stdout, want.stdout) {
			t.Errorf("%s: under vemu status %d, stdout %q; natively %d, %q; vemu's stderr: %s",
				name, got.status, got.stdout, want.status, want.stdout, got.stderr)
		}
	}
	got := runVemu(t, invocation{prog: filepath.Join(dir, "none.sh"), dir: dir})
	if got.status != 127 || !bytes.Contains(got.stderr, []byte("interpreter")) {
		t.Errorf("a missing interpreter: status %d, stderr %q; want 127 and the interpreter named", got.status, got.stderr)
	}
}

// TestHardenExecOnly runs a program of mode 0111. Linux runs it for anyone who may
// execute it, since the kernel reads it; vemu must read it itself, which it may as root
// (there it runs as natively), and as another user it says why it cannot.
func TestHardenExecOnly(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "vemu-execonly-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, err := os.ReadFile(guest("hello.glibc"))
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "prog")
	mustWrite(t, prog, data, 0o111)
	inv := invocation{prog: prog, args: []string{"x"}, dir: dir}
	want := runNative(t, inv)
	if os.Geteuid() != 0 {
		got := runVemu(t, inv)
		if got.status != 126 || !bytes.Contains(got.stderr, []byte("may be executed but not read")) {
			t.Errorf("status %d, stderr %q: want 126 and why", got.status, got.stderr)
		}
		return
	}
	got := runVemu(t, inv)
	if got.status != want.status || !bytes.Equal(got.stdout, want.stdout) {
		t.Errorf("as root: status %d, stdout %q; natively %d, %q; stderr %s", got.status, got.stdout, want.status, want.stdout, got.stderr)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("no setpriv to run as another user")
	}
	// As nobody: vemu and the program in a directory nobody can reach.
	vemu := filepath.Join(dir, "vemu")
	if data, err = os.ReadFile(vemuBin); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, vemu, data, 0o755)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	as := []string{"--reuid=65534", "--regid=65534", "--clear-groups"}
	want = execute(t, setpriv, append(as, prog, "x"), inv)
	if want.status != 0 || !bytes.Contains(want.stdout, []byte("hello")) {
		t.Fatalf("natively as nobody: status %d, stdout %q, stderr %q", want.status, want.stdout, want.stderr)
	}
	got = execute(t, setpriv, append(as, vemu, "run", prog, "x"), inv)
	if got.status != 126 || !bytes.Contains(got.stderr, []byte("may be executed but not read")) {
		t.Errorf("as nobody: status %d, stderr %q: want 126 and why", got.status, got.stderr)
	}
}

// TestHardenHostFsize starts vemu under a soft RLIMIT_FSIZE of one block: the program
// inherits it as natively, while vemu's own files (guest memory lives in memfds) are not
// bound by it.
func TestHardenHostFsize(t *testing.T) {
	for _, name := range []string{"mem.glibc", "fsize.musl"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			inv := invocation{prog: "/bin/sh", dir: dir}
			want := execute(t, "/bin/sh", []string{"-c", `ulimit -S -f 1; exec "$@"`, "sh", guest(name), dir}, inv)
			got := execute(t, "/bin/sh", []string{"-c", `ulimit -S -f 1; exec "$@"`, "sh", vemuBin, "run", guest(name), dir}, inv)
			if want.status != 0 || got.status != want.status || !bytes.Equal(got.stdout, want.stdout) {
				t.Errorf("under vemu: status %d, stdout %q; natively %d, %q; vemu's stderr: %s",
					got.status, got.stdout, want.status, want.stdout, got.stderr)
			}
		})
	}
}

// TestHardenHostNofile fills the descriptor table under a host limit of 200, then forks.
// Natively the child shares the parent's open files; under vemu each guest process holds
// host descriptors of its own, so the fork may fail (EMFILE), but a child must never run
// without its stdout.
func TestHardenHostNofile(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			inv := invocation{prog: "/bin/sh", dir: dir}
			prog := guest("nofile." + libc)
			want := execute(t, "/bin/sh", []string{"-c", `ulimit -n 200; exec "$@"`, "sh", prog, "hostlimit"}, inv)
			got := execute(t, "/bin/sh", []string{"-c", `ulimit -n 200; exec "$@"`, "sh", vemuBin, "run", prog, "hostlimit"}, inv)
			if want.status != 0 || string(want.stdout) != "child wrote\nchild status 0\n" {
				t.Fatalf("natively: status %d, stdout %q", want.status, want.stdout)
			}
			if got.status != 0 || !bytes.Equal(got.stdout, want.stdout) && string(got.stdout) != "fork failed: EMFILE\n" {
				t.Errorf("under vemu: status %d, stdout %q; stderr %s", got.status, got.stdout, got.stderr)
			}
		})
	}
}

// TestHardenNofileHard fills the descriptor table up to a hard limit of 200 that vemu
// runs under too, then forks: natively the last descriptor is 199 and the child fills its
// own table. Under vemu the guest's descriptors are vemu's host descriptors beside its
// own, so this holds only where vemu may raise its own limit (CAP_SYS_RESOURCE).
func TestHardenNofileHard(t *testing.T) {
	if !hasCapability(24) { // CAP_SYS_RESOURCE
		t.Skip("needs CAP_SYS_RESOURCE for vemu to raise its own descriptor limit")
	}
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			inv := invocation{prog: "/bin/sh", dir: t.TempDir()}
			prog := guest("nofile." + libc)
			want := execute(t, "/bin/sh", []string{"-c", `ulimit -n 200; exec "$@"`, "sh", prog, "hard"}, inv)
			got := execute(t, "/bin/sh", []string{"-c", `ulimit -n 200; exec "$@"`, "sh", vemuBin, "run", prog, "hard"}, inv)
			if want.status != 0 {
				t.Fatalf("natively: status %d, stdout %q", want.status, want.stdout)
			}
			if got.status != 0 || !bytes.Equal(got.stdout, want.stdout) {
				t.Errorf("under vemu: status %d, stdout %q, want %q; stderr %s", got.status, got.stdout, want.stdout, got.stderr)
			}
		})
	}
}

// hasCapability reports whether this process has capability bit in its effective set.
func hasCapability(bit uint) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<bit) != 0
		}
	}
	return false
}

// TestHardenNproc runs a fork bomb and a thread bomb as an unprivileged user under
// `ulimit -u 60`: natively the limit refuses one with EAGAIN; under vemu the guest must
// get EAGAIN too (its RLIMIT_NPROC, or what the host's leaves vemu room for), never
// vemu's own death when the host refuses it a thread.
func TestHardenNproc(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if os.Geteuid() != 0 || err != nil || !hasFile("/bin/bash") {
		t.Skip("needs root, setpriv and bash to run as nobody under a task limit")
	}
	dir, err := os.MkdirTemp("", "vemu-nproc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{vemuBin, guest("nproc.glibc"), guest("nproc.musl")} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dir, filepath.Base(name)), data, 0o755)
	}
	as := []string{"--reuid=65534", "--regid=65534", "--clear-groups", "/bin/bash", "-c", `ulimit -u 60; exec "$@"`, "bash"}
	for _, libc := range []string{"glibc", "musl"} {
		for _, mode := range []string{"fork", "thread"} {
			t.Run(libc+"/"+mode, func(t *testing.T) {
				prog := filepath.Join(dir, "nproc."+libc)
				inv := invocation{dir: dir}
				want := execute(t, setpriv, append(as, prog, mode), inv)
				got := execute(t, setpriv, append(as, filepath.Join(dir, "vemu"), "run", prog, mode), inv)
				if want.status != 0 {
					t.Fatalf("natively: status %d, stdout %q, stderr %q", want.status, want.stdout, want.stderr)
				}
				if got.status != 0 || !bytes.Equal(got.stdout, want.stdout) {
					t.Errorf("under vemu: status %d, stdout %q; natively %q; vemu's stderr: %.500s", got.status, got.stdout, want.stdout, got.stderr)
				}
			})
		}
	}
}
