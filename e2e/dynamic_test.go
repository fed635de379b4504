package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dynamicGuests are the dynamically linked builds of testdata's C guests: the program,
// its ELF interpreter and the libraries it maps (glibc's ld.so and musl's).
var dynamicGuests = []diffCase{
	{name: "hello/glibc", cmds: one("hello.dynamic", "a", "b c")},
	{name: "hello/musl", cmds: one("hello.musldyn", "a", "b c")},
	{name: "threads/glibc", cmds: one("threads.dynamic")},
	{name: "threads/musl", cmds: one("threads.musldyn")},
	{name: "ldso-runs-echo", cmds: one("/lib64/ld-linux-x86-64.so.2", "/bin/echo", "run", "by ld.so")},
}

func TestDynamicGuestsDiff(t *testing.T) {
	for _, c := range dynamicGuests {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runDiff(t, c)
		})
	}
}

// gitScript makes a repository and a commit whose id depends only on its contents, names
// and dates, so it is the same natively and under vemu.
const gitScript = `export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@x
export GIT_AUTHOR_DATE='2021-03-04T05:06:07Z' GIT_COMMITTER_DATE='2021-03-04T05:06:07Z' HOME=$PWD
git init -q -b main repo && cd repo && echo hello > f.txt && git add f.txt &&
git commit -q -m first && git rev-parse HEAD && git log --format='%an %s' && git status --short | wc -l`

// debianCases run the host's own dynamically linked programs (Debian's), each skipped
// where it is not installed.
var debianCases = []diffCase{
	{name: "ls-l", cmds: one("/bin/ls", "-l", "dir"), setup: lsTree},
	{name: "sort", cmds: one("/usr/bin/sort"), stdin: sampleText},
	{name: "sort-rn", cmds: one("/usr/bin/sort", "-rn"), stdin: "10\n9\n100\n-1\n3\n"},
	{name: "sha256sum", cmds: one("/usr/bin/sha256sum", "big.bin"), setup: bigFile},
	{name: "date", cmds: one("/bin/date", "-u", "-d", "@1614834367", "+%Y-%m-%d %H:%M:%S %A")},
	{name: "stat", cmds: one("/usr/bin/stat", "-c", "%n %s %a %F", "dir/alpha.txt", "dir/sub", "dir/link"), setup: lsTree},
	{name: "bash-script", cmds: one("/bin/bash", "-c",
		`set -e; a=(x y z); for i in "${a[@]}"; do echo "$i"; done; f() { echo "f $1"; return 3; }; f 1 || echo "st $?"; `+
			`x=$(ls dir | sort | head -2); echo "$x"; printf '%05d\n' 42; while read -r l; do echo "[$l]"; done < dir/alpha.txt; `+
			`trap 'echo trapped' EXIT; (exit 5) || echo "sub $?"; echo done | cat`), setup: lsTree},
	{name: "bash-exec-ls", cmds: one("/bin/bash", "-c", "/bin/ls dir; /usr/bin/env -i /bin/ls -1 dir | wc -l; exit 4"),
		setup: lsTree, status: 4},
	{name: "python3", cmds: one("/usr/bin/python3", "-c",
		`import json, hashlib, subprocess, sys
print(json.dumps({"a": [1, 2, {"b": None}]}, sort_keys=True))
print(hashlib.sha256(b"vemu" * 1000).hexdigest())
r = subprocess.run(["/bin/echo", "from a child"], capture_output=True, text=True)
print(r.returncode, r.stdout.strip())
print(subprocess.run(["/bin/sh", "-c", "exit 3"]).returncode)
sys.exit(2)`), status: 2},
	{name: "perl", cmds: one("/usr/bin/perl", "-e",
		`my %h = (b => 2, a => 1); print join(",", map {"$_=$h{$_}"} sort keys %h), "\n"; printf("%.3f\n", atan2(1,1)*4); `+
			`my @l = grep { $_ % 3 == 0 } 1..20; print "@l\n"; print scalar(reverse("abc")), "\n"; exit 1`), status: 1},
	{name: "git-version", cmds: one("/usr/bin/git", "--version")},
	{name: "git-commit", cmds: one("/bin/bash", "-c", gitScript)},
	{name: "find", cmds: one("/usr/bin/find", "dir", "-name", "*.txt", "-o", "-type", "d", "-print"), setup: lsTree},
	{name: "grep-r", cmds: one("/bin/grep", "-rn", "over", "."), setup: writeFiles(map[string]string{"a.txt": sampleText, "b.txt": "over and over\n"})},
	{name: "grep-miss", cmds: one("/bin/grep", "-r", "nothing-here", "."), setup: writeFiles(map[string]string{"a.txt": sampleText}), status: 1},
	{name: "tar-gzip", cmds: []cmdline{
		{"/bin/tar", "--mtime=@0", "--owner=0", "--group=0", "--sort=name", "-czf", "t.tgz", "dir"},
		{"/bin/mkdir", "out"},
		{"/bin/tar", "-xzf", "t.tgz", "-C", "out"},
		{"/bin/tar", "-tzvf", "t.tgz"},
		{"/usr/bin/find", "out", "-type", "f"},
	}, setup: lsTree},
	// The mount table is the namespace's, not vemu's: df, findmnt and getmntent read it.
	{name: "findmnt", cmds: one("/usr/bin/findmnt", "-n", "-o", "TARGET,FSTYPE", "/")},
	{name: "mount-table", cmds: one("/bin/bash", "-c",
		`for f in /proc/mounts /proc/self/mounts /etc/mtab; do awk '$2 == "/" {print FILENAME, $3}' $f; done; `+
			`for f in /proc/self/mountinfo /proc/thread-self/mountinfo; do awk '$5 == "/" {print FILENAME, $9}' $f; done`)},
	{name: "gzip", cmds: []cmdline{
		{"/bin/gzip", "-9", "-n", "big.bin"},
		{"/usr/bin/sha256sum", "big.bin.gz"},
		{"/bin/gzip", "-d", "big.bin.gz"},
		{"/usr/bin/sha256sum", "big.bin"},
	}, setup: bigFile},
}

func TestDebianDiff(t *testing.T) {
	for _, c := range debianCases {
		t.Run(c.name, func(t *testing.T) {
			for _, cmd := range c.cmds {
				if !hasFile(cmd[0]) {
					t.Skipf("%s is not installed", cmd[0])
				}
			}
			t.Parallel()
			runDiff(t, c)
		})
	}
}

// missingInterp writes a copy of hello.dynamic whose interpreter does not exist.
func missingInterp(t *testing.T, dir string) string {
	data, err := os.ReadFile(guest("hello.dynamic"))
	if err != nil {
		t.Fatal(err)
	}
	const interp = "/lib64/ld-linux-x86-64.so.2\x00"
	if !bytes.Contains(data, []byte(interp)) {
		t.Skip("hello.dynamic does not use " + interp)
	}
	data = bytes.Replace(data, []byte(interp), []byte("/lib64/ld-linux-x86-64.so.9\x00"), 1)
	p := filepath.Join(dir, "nointerp")
	mustWrite(t, p, data, 0o755)
	return p
}

// TestMissingInterpreter checks a program whose ELF interpreter is missing: vemu exits
// 127 saying which, and a guest's execve of it fails with ENOENT as on Linux (a shell
// says 127), with the cause in --strace's output.
func TestMissingInterpreter(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	t.Parallel()
	dir := t.TempDir()
	prog := missingInterp(t, dir)
	v := runVemu(t, invocation{prog: prog, dir: dir})
	if v.status != 127 || !regexp.MustCompile(`interpreter /lib64/ld-linux-x86-64.so.9: no such file`).Match(v.stderr) || !oneLine(v.stderr) {
		t.Errorf("vemu run: status %d, stderr %q; want 127 and one line naming the interpreter", v.status, v.stderr)
	}
	inv := invocation{prog: busybox, args: []string{"sh", "-c", "./nointerp 2>/dev/null; echo $?"}, dir: dir}
	n := runNative(t, inv)
	v = runVemu(t, inv)
	if string(v.stdout) != string(n.stdout) || len(v.stderr) > 0 {
		t.Errorf("stdout %q (native %q), stderr %q", v.stdout, n.stdout, v.stderr)
	}
	inv.flags = []string{"--strace"}
	v = runVemu(t, inv)
	if !strings.Contains(string(v.stderr), "interpreter /lib64/ld-linux-x86-64.so.9: no such file or directory") {
		t.Errorf("--strace output does not say why the exec failed:\n%s", tail(v.stderr, 1000))
	}
}

// TestLdsoList runs glibc's ld.so as the program, as ldd does: the vDSO is listed at the
// address the program sees.
func TestLdsoList(t *testing.T) {
	const ldso = "/lib64/ld-linux-x86-64.so.2"
	if !hasFile(ldso) {
		t.Skip("no " + ldso)
	}
	t.Parallel()
	v := runVemu(t, invocation{prog: ldso, args: []string{"--list", "/bin/true"}, dir: t.TempDir()})
	if v.status != 0 || !regexp.MustCompile(`(?m)^\s+linux-vdso\.so\.1 \(0x[0-9a-f]+\)$`).Match(v.stdout) ||
		!regexp.MustCompile(`(?m)^\s+libc\.so\.6 => \S+ \(0x[0-9a-f]+\)$`).Match(v.stdout) {
		t.Errorf("status %d, stdout:\n%s\nstderr:\n%s", v.status, v.stdout, v.stderr)
	}
}

// TestMapTruncated maps a file privately and truncates it under the mapping. Linux sends
// SIGBUS for the pages past the new end, and so does vemu, whose private mapping is a
// frozen copy of the file that follows the file's size; vemu itself must not fault.
func TestMapTruncated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v := runVemu(t, invocation{prog: guest("mapfile.glibc"), args: []string{"trunc", dir}, dir: dir})
	var p problems
	checkNoPanic(&p, v.stderr)
	if v.status != 128+7 {
		p.add("status %d, want SIGBUS's 135\nstderr:\n%s", v.status, v.stderr)
	}
	if !strings.HasPrefix(string(v.stdout), "before: a d\nkept: a\n") {
		p.add("stdout %q", v.stdout)
	}
	p.report(t, "")
}

// TestSanitizerLeakReport runs a program built with LeakSanitizer and one with
// AddressSanitizer, each losing three blocks, natively and under vemu: the leak check at
// exit runs in a CLONE_VM child that maps memory for its report, which the parent then
// prints, so the child's mappings must be the parent's when it exits, as with Linux's
// one mm (the parent died of SIGSEGV reading them before).
func TestSanitizerLeakReport(t *testing.T) {
	hex := regexp.MustCompile(`0x[0-9a-f]+|==\d+==`)
	for _, name := range []string{"leaks.lsan", "leaks.asan"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inv := invocation{prog: guest(name), dir: t.TempDir()}
			shown := func(r result) (string, int) {
				return hex.ReplaceAllString(string(r.stdout)+string(r.stderr), "X"), r.status
			}
			want, wantStatus := shown(execute(t, inv.prog, nil, inv))
			if !strings.Contains(want, "303 byte(s) leaked in 3 allocation(s)") {
				t.Fatalf("natively, no leak report:\n%s", want)
			}
			if got, status := shown(runVemu(t, inv)); got != want || status != wantStatus {
				t.Errorf("under vemu, status %d:\n%s\nnatively, status %d:\n%s", status, got, wantStatus, want)
			}
		})
	}
}
