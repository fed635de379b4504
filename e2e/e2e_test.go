package e2e

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Reasons for cases that cannot pass until a part of vemu exists.
const ()

// cmdline is one command of a case: argv[0] is a guest name in testdata/out, "./" and a guest
// name (a copy run from the working directory by a relative path), or an absolute path.
type cmdline []string

// diffCase runs its commands natively and under vemu, each side in a fresh working directory
// prepared by setup, and compares stdout and exit status of every command (and stderr, the
// files named in files, and the tree under the working directory, when asked).
type diffCase struct {
	name   string
	cmds   []cmdline
	stdin  string
	status int // expected status of the last command, natively and under vemu
	setup  func(t *testing.T, dir string)
	stderr bool     // compare stderr
	files  []string // compare these files (relative to the working directory) after the run
	tree   bool     // compare a listing of the working directory after the run
	// host, when set, says why the host may not behave as Linux does here (a seccomp filter
	// around the test machine, say): a native result that differs from the expectation is then
	// logged, and vemu is held to status alone.
	host  string
	known string // why this case is expected to fail for now; the case is skipped if it does
	// optional names a guest in testdata/out that is built only where its toolchain is
	// installed (rustc); without it the case is skipped.
	optional string
	flags    []string // vemu flags before the program; ignored natively
}

func one(args ...string) []cmdline { return []cmdline{args} }

// manyArgs returns n distinct arguments of varying length (about 100 KiB for n = 3000).
func manyArgs(n int) []string {
	args := make([]string, n)
	for i := range args {
		args[i] = fmt.Sprintf("arg%d-%s", i, strings.Repeat("x", i%60))
	}
	return args
}

func bb(args ...string) cmdline { return append(cmdline{busybox}, args...) }

// cGuests are the C programs, each run built with glibc and with musl.
var cGuests = []diffCase{
	{name: "hello", cmds: one("hello")},
	{name: "hello-args", cmds: one("hello", "one", "two words", "", "--flag=x")},
	{name: "hello-many-args", cmds: one(append([]string{"hello"}, manyArgs(3000)...)...)},
	{name: "exitcode-0", cmds: one("exitcode", "0")},
	{name: "exitcode-1", cmds: one("exitcode", "1"), status: 1},
	{name: "exitcode-7", cmds: one("exitcode", "7"), status: 7},
	{name: "exitcode-255", cmds: one("exitcode", "255"), status: 255},
	{name: "exitcode-256", cmds: one("exitcode", "256"), status: 0},
	{name: "files", cmds: one("files", "work"), setup: mkdirs("work"), tree: true},
	{name: "mem", cmds: one("mem")},
	{name: "memcost-cow", cmds: one("memcost", "cow")},
	{name: "mapfile-cow", cmds: one("mapfile", "cow", "work"), setup: mkdirs("work")},
	{name: "mapfile-poke", cmds: one("mapfile", "poke", "work"), setup: mkdirs("work")},
	{name: "execat", cmds: one("execat", "work", "/bin/true"), setup: mkdirs("work")},
	{name: "memcost-protnone-fork", cmds: one("memcost", "protnone-fork")},
	{name: "memcost-devzero-fork", cmds: one("memcost", "devzero-fork")},
	{name: "memcost-mincore-huge", cmds: one("memcost", "mincore-huge")},
	{name: "memcost-mremap-big", cmds: one("memcost", "mremap-big")},
	{name: "memcost-protnone", cmds: one("memcost", "protnone")},
	{name: "memcost-map-count", cmds: one("memcost", "map-count")},
	{name: "memcost-children", cmds: one("memcost", "children", "20")},
	{name: "env", cmds: one("env", "a", "b c", "")},
	{name: "time", cmds: one("time")},
	{name: "text", cmds: one("text"), stdin: sampleText},
	{name: "text-empty", cmds: one("text")},
	{name: "proc", cmds: one("proc", "x", "y")},
	{name: "proc-relative", cmds: one("./proc", "x")},
	{name: "env-relative", cmds: one("./env", "x")},
	{name: "badptr-pointers", cmds: one("badptr", "pointers")},
	{name: "badptr-numbers", cmds: one("badptr", "numbers"),
		host: "unknown system call numbers may be filtered by a seccomp policy"},
	{name: "tty", cmds: one("tty"), stdin: "not a terminal\n"},
	{name: "fault-none", cmds: one("fault", "none")},
	{name: "vdso", cmds: one("vdso")},
	{name: "signals", cmds: one("signals"), status: 128 + 10},
	{name: "sigframe", cmds: one("sigframe")},
	{name: "threads", cmds: one("threads")},
	{name: "poll", cmds: one("poll")},
	{name: "intr-loop", cmds: one("intr", "loop")},
	{name: "intr-alarm-kill", cmds: one("intr", "alarm-kill"), status: 128 + 14},
	{name: "intr-calls", cmds: one("intr", "calls")},
	{name: "vfork", cmds: one("vfork")},
	{name: "sockets", cmds: one("sockets", "work"), setup: mkdirs("work")},
	{name: "timers", cmds: one("timers")},
	{name: "children", cmds: one("children")},
	{name: "jobctl", cmds: one("jobctl")},
	{name: "scripts", cmds: one("scripts", "work"), setup: mkdirs("work")},
	{name: "fileops", cmds: one("fileops", "work"), setup: mkdirs("work")},
	{name: "sigfd", cmds: one("sigfd")},
	{name: "progress", cmds: one("progress")},
	{name: "cwd", cmds: one("cwd", "work"), setup: mkdirs("work"), tree: true},
	{name: "locks", cmds: one("locks", "work"), setup: mkdirs("work")},
	{name: "splice", cmds: one("splice", "work"), setup: mkdirs("work"), tree: true},
	{name: "forkfds", cmds: one("forkfds", "work"), setup: mkdirs("work")},
	{name: "segv-loop", cmds: one("segv", "loop")},
	{name: "segv-resume", cmds: one("segv", "resume")},
	{name: "segv-cross", cmds: one("segv", "cross")},
	{name: "segv-rep", cmds: one("segv", "rep")},
	{name: "segv-stack", cmds: one("segv", "stack")},
	{name: "segv-nested", cmds: one("segv", "nested")},
	{name: "segv-vdso", cmds: one("segv", "vdso")},
	{name: "segv-fetch", cmds: one("segv", "fetch")},
	{name: "segv-kernel", cmds: one("segv", "kernel")},
	{name: "segv-noexec", cmds: one("segv", "noexec")},
	{name: "segv-alternate", cmds: one("segv", "alternate")},
	{name: "exitfiles", cmds: one("exitfiles")},
}

// otherGuests are the assembly and Go guests and the static-pie build.
var otherGuests = []diffCase{
	{name: "asm/exit42", cmds: one("exit42"), status: 42},
	{name: "asm/sysabi", cmds: one("sysabi")},
	{name: "asm/regs0", cmds: one("regs0")},
	{name: "asm/regs0-args", cmds: one("regs0", "a", "b", "c")},
	{name: "asm/enosys", cmds: one("enosys"),
		host: "unknown system call numbers may be filtered by a seccomp policy"},
	{name: "asm/vsyscall", cmds: one("vsyscall"),
		host: "the host kernel may be booted with vsyscall=none"},
	{name: "pie/hello", cmds: one("hello.pie", "pie")},
	{name: "go/hello", cmds: one("hello.go.bin", "in.txt", "out.txt"),
		setup: writeFiles(map[string]string{"in.txt": "a small file\nfor the go guest\n"}),
		files: []string{"out.txt"}},
	{name: "go/net", cmds: one("net.go.bin")},
	{name: "go/cpufeat", cmds: one("cpufeat.go.bin")},
	{name: "go/procs", cmds: one("procs.go.bin")},
	{name: "go/nilfault", cmds: one("nilfault.go.bin")},
	{name: "rust/threads", cmds: one("threads.rs.bin", "out.txt"), files: []string{"out.txt"}, optional: "threads.rs.bin"},
}

// busyboxCases run applets of the static busybox.
var busyboxCases = []diffCase{
	{name: "echo", cmds: []cmdline{bb("echo", "hello", "world")}},
	{name: "echo-n", cmds: []cmdline{bb("echo", "-n", "no newline")}},
	{name: "cat-file", cmds: []cmdline{bb("cat", "a.txt")}, setup: writeFiles(map[string]string{"a.txt": sampleText})},
	{name: "cat-stdin", cmds: []cmdline{bb("cat")}, stdin: sampleText},
	{name: "cat-missing", cmds: []cmdline{bb("cat", "missing.txt")}, status: 1, stderr: true},
	{name: "ls-1", cmds: []cmdline{bb("ls", "-1", "dir")}, setup: lsTree},
	{name: "ls-l", cmds: []cmdline{bb("ls", "-l", "dir")}, setup: lsTree},
	{name: "ls-la", cmds: []cmdline{bb("ls", "-la", "--full-time", "dir")}, setup: lsTree},
	{name: "sort", cmds: []cmdline{bb("sort")}, stdin: sampleText},
	{name: "sort-rn", cmds: []cmdline{bb("sort", "-rn")}, stdin: "10\n9\n100\n-1\n3\n"},
	{name: "wc", cmds: []cmdline{bb("wc")}, stdin: sampleText},
	{name: "wc-file", cmds: []cmdline{bb("wc", "-l", "a.txt")}, setup: writeFiles(map[string]string{"a.txt": sampleText})},
	{name: "sha256sum", cmds: []cmdline{bb("sha256sum", "a.txt")}, setup: writeFiles(map[string]string{"a.txt": sampleText})},
	{name: "sha256sum-big", cmds: []cmdline{bb("sha256sum", "big.bin")}, setup: bigFile},
	{name: "md5sum", cmds: []cmdline{bb("md5sum")}, stdin: sampleText},
	{name: "sha256sum-big-stdin", cmds: []cmdline{bb("sha256sum")}, stdin: strings.Repeat(sampleText, 20000)},
	{name: "wc-c-big-stdin", cmds: []cmdline{bb("wc", "-c")}, stdin: strings.Repeat("0123456789abcdef", 1<<16)},
	{name: "uname", cmds: []cmdline{bb("uname", "-m", "-s")}},
	{name: "false", cmds: []cmdline{bb("false")}, status: 1},
	{name: "true", cmds: []cmdline{bb("true")}},
	{name: "seq", cmds: []cmdline{bb("seq", "1", "5")}},
	{name: "head", cmds: []cmdline{bb("head", "-n", "3")}, stdin: sampleText},
	{name: "tail", cmds: []cmdline{bb("tail", "-n2")}, stdin: sampleText},
	{name: "tr", cmds: []cmdline{bb("tr", "a-z", "A-Z")}, stdin: sampleText},
	{name: "basename", cmds: []cmdline{bb("basename", "/usr/lib/file.txt", ".txt")}},
	{name: "expr", cmds: []cmdline{bb("expr", "2", "+", "3")}},
	{name: "expr-false", cmds: []cmdline{bb("expr", "2", "-", "2")}, status: 1},
	{name: "printf", cmds: []cmdline{bb("printf", "%s-%d-%x-%5.2f\\n", "word", "42", "255", "3.14159")}},
	{name: "od", cmds: []cmdline{bb("od", "-An", "-tx1")}, stdin: "\x00\x01binary\xff\n"},
	{name: "cut", cmds: []cmdline{bb("cut", "-d:", "-f1,3")}, stdin: "root:x:0:0\nbin:x:1:1\nnobody:x:65534:65534\n"},
	{name: "stat-size", cmds: []cmdline{bb("stat", "-c", "%s", "a.txt")}, setup: writeFiles(map[string]string{"a.txt": sampleText})},
	{name: "file-ops", cmds: []cmdline{
		bb("mkdir", "-p", "t/a/b", "t/c"),
		bb("cp", "src.txt", "t/a/b/copy.txt"),
		bb("cp", "-r", "t/a", "t/a2"),
		bb("mv", "t/a/b/copy.txt", "t/c/moved.txt"),
		bb("ln", "-s", "../c/moved.txt", "t/a/link"),
		bb("chmod", "600", "t/c/moved.txt"),
		bb("rm", "-r", "t/a2/b"),
		bb("rmdir", "t/a/b"),
		bb("find", "t"),
		bb("cat", "t/a/link"),
	}, setup: writeFiles(map[string]string{"src.txt": "copied around\n"}), tree: true},
	{name: "sh-builtins", cmds: []cmdline{bb("sh", "-c", `x=3; echo "x=$x"; printf '%s\n' a b; test -f missing || echo no-file; exit 4`)},
		status: 4},
	{name: "sh-pipeline", cmds: []cmdline{bb("sh", "-c", "echo abc | tr a-c x-z; ls dir | wc -l")}, setup: lsTree},
	{name: "sh-processes", cmds: []cmdline{bb("sh", "-c",
		`x=$(echo sub | tr a-z A-Z); echo "got $x"; (echo bg1) & wait; (echo bg2; exit 3) & wait $!; echo "bg: $?"; `+
			`seq 1 5 | xargs echo n:; false; echo "false: $?"; sh -c 'exit 7'; echo "child: $?"; `+
			`seq 1 200 | sort -rn | head -3; echo done | cat | cat`)}},
	{name: "sh-kill-background", cmds: []cmdline{bb("sh", "-c", `sleep 10 & kill $!; wait $!; echo $?`)}},
	{name: "rm-missing", cmds: []cmdline{bb("rm", "nope")}, status: 1, stderr: true},
}

const sampleText = `the quick brown fox
jumps over
the lazy dog
apple
banana
apple
Zebra
	tabbed line
the lazy dog
last line without newline`

func TestGuestsDiff(t *testing.T) { runGuests(t, cGuests, otherGuests) }

// runGuests compares each case with its native run: the C guests once per libc (their
// commands' programs get .glibc or .musl), the others as they are.
func runGuests(t *testing.T, cCases, others []diffCase) {
	for _, c := range cCases {
		for _, libc := range []string{"glibc", "musl"} {
			c := c
			c.name = c.name + "/" + libc
			cmds := make([]cmdline, len(c.cmds))
			for i, cmd := range c.cmds {
				cmds[i] = append(cmdline{cmd[0] + "." + libc}, cmd[1:]...)
			}
			c.cmds = cmds
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				runDiff(t, c)
			})
		}
	}
	for _, c := range others {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runDiff(t, c)
		})
	}
}

func TestBusyboxDiff(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	for _, c := range busyboxCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runDiff(t, c)
		})
	}
}

// side is the record of one side (native or vemu) of a differential case.
type side struct {
	results []result
	files   map[string][]byte
	tree    []byte
}

func runDiff(t *testing.T, c diffCase) {
	if c.optional != "" && !hasFile(guest(c.optional)) {
		t.Skipf("%s was not built (its compiler is not installed)", c.optional)
	}
	native := runSide(t, c, "native", runNative)
	emu := runSide(t, c, "vemu", runVemu)
	var p problems
	last := len(c.cmds) - 1
	if c.host != "" && native.results[last].status != c.status {
		t.Logf("native run differs from Linux (%s): %s\nstdout:\n%s", c.host, native.results[last], native.results[last].stdout)
		if got := emu.results[last]; got.status != c.status {
			p.add("vemu: %s, want status %d\nstdout:\n%s\nstderr:\n%s", got, c.status, got.stdout, got.stderr)
		}
		p.report(t, c.known)
		return
	}
	for i, cmd := range c.cmds {
		n, v := native.results[i], emu.results[i]
		what := strings.Join(cmd, " ")
		if len(c.cmds) > 1 {
			what = fmt.Sprintf("command %d (%s)", i+1, what)
		}
		if v.timedOut {
			p.add("%s: vemu timed out after %v", what, runTimeout)
		}
		if n.status != v.status {
			msg := fmt.Sprintf("%s: status: native %d, vemu %d", what, n.status, v.status)
			if i != last || c.stderr {
				msg += fmt.Sprintf("\nvemu stderr:\n%s", tail(v.stderr, 2000))
			}
			p.add("%s", msg)
		}
		if n.signal != v.signal {
			p.add("%s: killed by signal: native %d, vemu %d (0: exited)", what, n.signal, v.signal)
		}
		if i == last && n.status != c.status {
			p.add("%s: native status %d, the case expects %d (the test or the host is wrong)\nnative stderr:\n%s",
				what, n.status, c.status, n.stderr)
		}
		p.compareOutput(what+": stdout", n.stdout, v.stdout)
		if c.stderr {
			p.compareOutput(what+": stderr", n.stderr, v.stderr)
		}
	}
	for _, f := range c.files {
		p.compareOutput("file "+f, native.files[f], emu.files[f])
	}
	if c.tree {
		p.compareOutput("directory tree", native.tree, emu.tree)
	}
	if len(p.list) > 0 && !c.stderr {
		if e := emu.results[last].stderr; len(e) > 0 {
			p.add("vemu stderr (last command):\n%s", tail(e, 2000))
		}
	}
	p.report(t, c.known)
}

// tail returns at most the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return append([]byte("..."), b[len(b)-n:]...)
	}
	return b
}

func runSide(t *testing.T, c diffCase, name string, run func(*testing.T, invocation) result) side {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if c.setup != nil {
		c.setup(t, dir)
	}
	var s side
	for _, cmd := range c.cmds {
		prog := cmd[0]
		switch {
		case strings.HasPrefix(prog, "./"):
			// Run a copy from the working directory, by a relative path.
			data, err := os.ReadFile(guest(prog[2:]))
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, prog[2:]), data, 0o755)
		case !filepath.IsAbs(prog):
			prog = guest(prog)
		}
		s.results = append(s.results, run(t, invocation{prog: prog, args: cmd[1:], dir: dir, stdin: []byte(c.stdin), flags: c.flags}))
	}
	s.files = map[string][]byte{}
	for _, f := range c.files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			data = []byte("(unreadable: " + err.Error() + ")")
		}
		s.files[f] = data
	}
	if c.tree {
		s.tree = listTree(t, dir)
	}
	return s
}

// mkdirs returns a setup that creates the named directories.
func mkdirs(names ...string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		for _, n := range names {
			if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// writeFiles returns a setup that writes the given files with mode 0644.
func writeFiles(files map[string]string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		for name, data := range files {
			mustWrite(t, filepath.Join(dir, name), []byte(data), 0o644)
		}
	}
}

// lsTree makes dir/ with fixed names, sizes, modes and modification times.
func lsTree(t *testing.T, dir string) {
	stamp := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	files := []struct {
		name string
		size int
		mode os.FileMode
	}{
		{"alpha.txt", 10, 0o644},
		{"beta.bin", 4096, 0o600},
		{"gamma.sh", 123, 0o755},
		{"empty", 0, 0o444},
	}
	base := filepath.Join(dir, "dir")
	for _, f := range files {
		p := filepath.Join(base, f.name)
		mustWrite(t, p, bytes.Repeat([]byte("x"), f.size), f.mode)
		if err := os.Chtimes(p, stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
	sub := filepath.Join(base, "sub")
	if err := os.Mkdir(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink("alpha.txt", link); err != nil {
		t.Fatal(err)
	}
	// The link's own times, and those of dir itself (ls -a lists it as ".."): left alone
	// they are the second the set-up ran, which differs between the native and the vemu
	// run when a second boundary falls between them.
	ts := []unix.Timespec{unix.NsecToTimespec(stamp.UnixNano()), unix.NsecToTimespec(stamp.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, link, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sub, base, dir} {
		if err := os.Chtimes(p, stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
}

// bigFile writes 3 MiB of deterministic pseudo-random bytes to big.bin.
func bigFile(t *testing.T, dir string) {
	r := rand.New(rand.NewSource(1))
	data := make([]byte, 3<<20)
	r.Read(data)
	mustWrite(t, filepath.Join(dir, "big.bin"), data, 0o644)
}

// faultCase is a program killed by a signal: natively and under vemu it dies the same way, and
// vemu says so in one line on stderr.
type faultCase struct {
	arg    string
	status int
	stderr []string // regular expressions vemu's stderr must match
	known  string
}

var faultCases = []faultCase{
	{arg: "null", status: 139, stderr: []string{`killed by SIGSEGV`, `fault at 0x0\b`}},
	{arg: "rodata", status: 139, stderr: []string{`killed by SIGSEGV`}},
	{arg: "stack", status: 139, stderr: []string{`killed by SIGSEGV`}},
	{arg: "ud2", status: 132, stderr: []string{`killed by SIGILL`}},
	{arg: "trap", status: 132, stderr: []string{`killed by SIGILL`}},
	{arg: "div", status: 136, stderr: []string{`killed by SIGFPE`}},
	{arg: "int3", status: 133, stderr: []string{`killed by SIGTRAP`}},
	{arg: "abort", status: 134, stderr: []string{`killed by SIGABRT`}},
}

func TestFaults(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		for _, c := range faultCases {
			t.Run(c.arg+"/"+libc, func(t *testing.T) {
				t.Parallel()
				inv := invocation{prog: guest("fault." + libc), args: []string{c.arg}, dir: t.TempDir()}
				n := runNative(t, inv)
				v := runVemu(t, inv)
				var p problems
				if n.status != c.status {
					p.add("native: %s, want %d (the test or the host is wrong)", n, c.status)
				}
				if v.status != c.status || v.signal != n.signal {
					p.add("vemu: %s (signal %d), want %d (signal %d)\nstderr:\n%s", v, v.signal, c.status, n.signal, v.stderr)
				}
				p.compareOutput("stdout", n.stdout, v.stdout)
				if !oneLine(v.stderr) {
					p.add("vemu stderr is not one line:\n%s", v.stderr)
				}
				checkNoPanic(&p, v.stderr)
				if !bytes.HasPrefix(v.stderr, []byte("vemu: ")) {
					p.add("vemu stderr does not start with %q: %q", "vemu: ", v.stderr)
				}
				for _, re := range c.stderr {
					if !regexp.MustCompile(re).Match(v.stderr) {
						p.add("vemu stderr does not match %q: %q", re, v.stderr)
					}
				}
				p.report(t, c.known)
			})
		}
	}
}

// TestFaultMessage checks the whole shape of the message for a null dereference.
func TestFaultMessage(t *testing.T) {
	t.Parallel()
	v := runVemu(t, invocation{prog: guest("fault.glibc"), args: []string{"null"}, dir: t.TempDir()})
	re := regexp.MustCompile(`^vemu: .*fault\.glibc: killed by SIGSEGV \(fault at 0x0, rip 0x[0-9a-f]+: [a-z].*\)\n$`)
	if !re.Match(v.stderr) {
		t.Errorf("stderr %q does not match %s", v.stderr, re)
	}
}

// checkNoPanic adds a problem when stderr looks like a Go crash rather than a message.
func checkNoPanic(p *problems, stderr []byte) {
	for _, bad := range []string{"goroutine ", "panic", "runtime error", "[signal "} {
		if bytes.Contains(stderr, []byte(bad)) {
			p.add("vemu stderr has %q (a Go crash?):\n%s", bad, stderr)
		}
	}
}

// loadErrorCase is a PROGRAM vemu must refuse without running anything.
type loadErrorCase struct {
	name    string
	prog    func(t *testing.T, dir string) string // returns the path to pass
	status  int
	message string // a regular expression the one-line message must match
}

var loadErrorCases = []loadErrorCase{
	{name: "missing", status: 127, message: `no-such-program`,
		prog: func(t *testing.T, dir string) string { return filepath.Join(dir, "no-such-program") }},
	{name: "missing-relative", status: 127, message: `no-such-program`,
		prog: func(t *testing.T, dir string) string { return "./no-such-program" }},
	{name: "text-file", status: 126, message: `script\.sh`,
		prog: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "script.sh")
			mustWrite(t, p, []byte("echo this is not an ELF file\n"), 0o755)
			return p
		}},
	{name: "shebang-no-interpreter", status: 126, message: `shebang\.sh: exec format error`,
		prog: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "shebang.sh")
			mustWrite(t, p, []byte("#!\necho hi\n"), 0o755)
			return p
		}},
	{name: "shebang-missing-interpreter", status: 127, message: `shebang\.sh: interpreter .*/missing: no such file`,
		prog: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "shebang.sh")
			mustWrite(t, p, []byte("#!"+filepath.Join(dir, "missing")+"\necho hi\n"), 0o755)
			return p
		}},
	{name: "empty-file", status: 126, message: `empty`,
		prog: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "empty")
			mustWrite(t, p, nil, 0o755)
			return p
		}},
	{name: "truncated-elf", status: 126, message: `truncated`,
		prog: func(t *testing.T, dir string) string {
			data, err := os.ReadFile(guest("hello.glibc"))
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "truncated")
			mustWrite(t, p, data[:100], 0o755)
			return p
		}},
	{name: "garbage-after-magic", status: 126, message: `garbage`,
		prog: func(t *testing.T, dir string) string {
			r := rand.New(rand.NewSource(42))
			data := make([]byte, 8192)
			r.Read(data)
			copy(data, "\x7fELF")
			p := filepath.Join(dir, "garbage")
			mustWrite(t, p, data, 0o755)
			return p
		}},
	{name: "missing-interpreter", status: 127, message: `nointerp: interpreter /lib64/ld-linux-x86-64.so.9: no such file`,
		prog: missingInterp},
	{name: "directory", status: 126, message: `adir`,
		prog: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "adir")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		}},
}

func TestLoadErrors(t *testing.T) {
	for _, c := range loadErrorCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			prog := c.prog(t, dir)
			v := runVemu(t, invocation{prog: prog, args: []string{"arg"}, dir: dir})
			var p problems
			if v.status != c.status {
				p.add("status %d, want %d", v.status, c.status)
			}
			if len(v.stdout) != 0 {
				p.add("stdout not empty: %q", v.stdout)
			}
			if !oneLine(v.stderr) {
				p.add("stderr is not exactly one line:\n%s", v.stderr)
			}
			checkNoPanic(&p, v.stderr)
			if !regexp.MustCompile(c.message).Match(v.stderr) {
				p.add("stderr %q does not match %q", v.stderr, c.message)
			}
			p.report(t, "")
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"run"}, {"no-such-subcommand"}} {
		r := execute(t, vemuBin, args, invocation{dir: t.TempDir()})
		if r.status == 0 {
			t.Errorf("vemu %q: status 0, want non-zero", args)
		}
		var p problems
		checkNoPanic(&p, r.stderr)
		p.report(t, "")
	}
}

var (
	straceWrite  = regexp.MustCompile(`(?m)^write\(1, "hello`)
	straceExit   = regexp.MustCompile(`(?m)^exit_group\(0\) += \?$`)
	straceENOENT = regexp.MustCompile(
		`(?m)^openat\(AT_FDCWD, "missing\.txt", O_RDONLY[^)]*\) += -1 ENOENT \(No such file or directory\)$`)
)

func TestStrace(t *testing.T) {
	// musl flushes stdout with writev.
	writes := map[string]*regexp.Regexp{
		"glibc": straceWrite,
		"musl":  regexp.MustCompile(`(?m)^writev\(1, \[\{iov_base="hello, world", iov_len=12\}`),
	}
	for _, libc := range []string{"glibc", "musl"} {
		t.Run("hello/"+libc, func(t *testing.T) {
			t.Parallel()
			v := runVemu(t, invocation{prog: guest("hello." + libc), dir: t.TempDir(), flags: []string{"--strace"}})
			if v.status != 0 {
				t.Errorf("status %d, want 0\nstderr:\n%s", v.status, v.stderr)
			}
			if want := "hello, world\nargc=1\n"; string(v.stdout) != want {
				t.Errorf("stdout %q, want %q", v.stdout, want)
			}
			for _, re := range []*regexp.Regexp{writes[libc], straceExit} {
				if !re.Match(v.stderr) {
					t.Errorf("strace output has no line matching %s:\n%s", re, v.stderr)
				}
			}
		})
	}
	t.Run("enoent", func(t *testing.T) {
		t.Parallel()
		if !hasFile(busybox) {
			t.Skip("no static busybox at " + busybox)
		}
		v := runVemu(t, invocation{prog: busybox, args: []string{"cat", "missing.txt"}, dir: t.TempDir(),
			flags: []string{"--strace"}})
		if v.status != 1 {
			t.Errorf("status %d, want 1", v.status)
		}
		if !straceENOENT.Match(v.stderr) {
			t.Errorf("strace output has no line matching %s:\n%s", straceENOENT, v.stderr)
		}
		if !regexp.MustCompile(`(?m)^exit_group\(1\) += \?$`).Match(v.stderr) {
			t.Errorf("strace output has no exit_group(1) line:\n%s", v.stderr)
		}
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "trace.txt")
		v := runVemu(t, invocation{prog: guest("hello.glibc"), dir: dir, flags: []string{"--strace-file=" + path}})
		if v.status != 0 {
			t.Errorf("status %d, want 0\nstderr:\n%s", v.status, v.stderr)
		}
		if len(v.stderr) != 0 {
			t.Errorf("stderr not empty with --strace-file:\n%s", v.stderr)
		}
		if want := "hello, world\nargc=1\n"; string(v.stdout) != want {
			t.Errorf("stdout %q, want %q", v.stdout, want)
		}
		trace, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading the trace file: %v", err)
		}
		for _, re := range []*regexp.Regexp{straceWrite, straceExit} {
			if !re.Match(trace) {
				t.Errorf("trace file has no line matching %s:\n%s", re, trace)
			}
		}
		// The same program traced to stderr gives the same system calls, in the same order.
		s := runVemu(t, invocation{prog: guest("hello.glibc"), dir: dir, flags: []string{"--strace"}})
		if got, want := syscallNames(trace), syscallNames(s.stderr); got != want {
			t.Errorf("--strace-file and --strace disagree:\nfile:   %s\nstderr: %s", got, want)
		}
	})
}

// syscallNames returns the system call names of strace lines, in order, space separated.
func syscallNames(trace []byte) string {
	var names []string
	for _, line := range strings.Split(string(trace), "\n") {
		if i := strings.IndexByte(line, '('); i > 0 && regexp.MustCompile(`^[a-z_0-9]+$`).MatchString(line[:i]) {
			names = append(names, line[:i])
		}
	}
	return strings.Join(names, " ")
}
