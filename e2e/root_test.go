package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// copyFile copies the host file src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, dst, data, mode)
}

// listDir names the entries of dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// TestRootEscapes runs testdata/c/escape.c inside a root as an attacker would: `..`
// chains, absolute and climbing symlinks, a symlink loop, /proc/self/root and cwd, a
// descriptor from before a chdir, the working directory renamed, hard links, creation
// through dangling symlinks, a Unix socket outside, execve of programs outside, and a
// symlink swapped and a directory renamed while lookups walk them. Nothing outside the
// root may be read, reached or changed.
func TestRootEscapes(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	t.Parallel()
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "tmp"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(outside, "secret"), []byte("SECRET\n"), 0o644)
	copyFile(t, busybox, filepath.Join(outside, "echo"), 0o755)
	copyFile(t, guest("escape.glibc"), filepath.Join(root, "escape"), 0o755)
	sock := filepath.Join(outside, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SECRET\n"))
			c.Close()
		}
	}()
	before := listDir(t, outside)

	v := runVemu(t, invocation{prog: "/escape", args: []string{outside, sock, filepath.Join(outside, "echo")},
		dir: base, flags: []string{"--root=" + root}})
	var p problems
	checkNoPanic(&p, v.stderr)
	if v.status != 0 || strings.Contains(string(v.stdout), "ESCAPED") {
		p.add("status %d\nstdout:\n%s\nstderr:\n%s", v.status, v.stdout, v.stderr)
	}
	for _, want := range []string{"getcwd: /tmp/d\n", "/proc/self/cwd: /tmp/d\n", "renamed cwd: getcwd /d\n",
		"symlink loop: Too many levels of symbolic links\n", "race: stayed inside\n", "rename race: stayed inside\n",
		"exec 0: No such file or directory\n", "exec 1: No such file or directory\n", "exec 2: No such file or directory\n",
		"escapes: 0\n"} {
		if !strings.Contains(string(v.stdout), want) {
			p.add("stdout lacks %q", want)
		}
	}
	if after := listDir(t, outside); strings.Join(after, " ") != strings.Join(before, " ") {
		p.add("the directory outside changed: %v, was %v", after, before)
	}
	p.report(t, "")
}

// rootWithBusybox makes a root holding the static busybox as /bin/busybox and /bin/sh.
func rootWithBusybox(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "root")
	copyFile(t, busybox, filepath.Join(root, "bin", "busybox"), 0o755)
	for _, a := range []string{"sh", "ls", "cat", "pwd", "readlink"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(root, "etc", "motd"), []byte("inside the root\n"), 0o644)
	return root
}

// TestRootBusybox runs a shell inside a root: / is the root, `..` stays there, absolute
// symbolic links resolve inside, PATH names the root's directories, and /proc/self
// describes the guest.
func TestRootBusybox(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	t.Parallel()
	root := rootWithBusybox(t)
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := `cd /; ls /; cd ../../..; pwd; cat ../../etc/motd; mkdir -p /w/x; cd /w/x; pwd; ` +
		`ln -s /etc /w/e; cat /w/e/motd; readlink /proc/self/exe; ls /proc/self/root/; cat /proc/self/cmdline | tr '\0' ' '; echo; ` +
		`/bin/cat /etc/passwd 2>&1; exit 3`
	v := runVemu(t, invocation{prog: "sh", args: []string{"-c", script}, dir: t.TempDir(), flags: []string{"--root=" + root}})
	want := "bin\netc\n/\ninside the root\n/w/x\ninside the root\n/bin/busybox\nbin\netc\nw\ncat /proc/self/cmdline \n" +
		"cat: can't open '/etc/passwd': No such file or directory\n"
	if v.status != 3 || string(v.stdout) != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", v.status, v.stdout, want, v.stderr)
	}
}

// libsOf lists the files ldd says prog needs, its interpreter included.
func libsOf(t *testing.T, prog string) []string {
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		t.Skipf("ldd %s: %v", prog, err)
	}
	var libs []string
	for _, m := range regexp.MustCompile(`(?m)(?:=> )?(/\S+) \(0x`).FindAllStringSubmatch(string(out), -1) {
		libs = append(libs, m[1])
	}
	return libs
}

// TestRootDynamic runs Debian's dynamically linked ls inside a root holding it and the
// libraries ldd lists: the interpreter and every library come from the root.
func TestRootDynamic(t *testing.T) {
	const ls = "/usr/bin/ls"
	if !hasFile(ls) {
		t.Skip("no " + ls)
	}
	t.Parallel()
	root := filepath.Join(t.TempDir(), "root")
	copyFile(t, ls, filepath.Join(root, ls), 0o755)
	for _, lib := range libsOf(t, ls) {
		copyFile(t, lib, filepath.Join(root, lib), 0o755)
	}
	if err := os.MkdirAll(filepath.Join(root, "data", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "data", "f.txt"), []byte("x"), 0o644)
	v := runVemu(t, invocation{prog: ls, args: []string{"-1", "/data", "/"}, dir: t.TempDir(), flags: []string{"--root=" + root}})
	var top []string
	for _, e := range listDir(t, root) {
		top = append(top, e)
	}
	want := "/:\n" + strings.Join(top, "\n") + "\n\n/data:\nf.txt\nsub\n"
	if v.status != 0 || string(v.stdout) != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", v.status, v.stdout, want, v.stderr)
	}
	// The maps name the files as the guest sees them.
	v = runVemu(t, invocation{prog: "/lib64/ld-linux-x86-64.so.2", args: []string{ls, "/proc/self/maps"},
		dir: t.TempDir(), flags: []string{"--root=" + root}})
	if v.status != 0 {
		t.Errorf("ls /proc/self/maps: status %d, stderr:\n%s", v.status, v.stderr)
	}
	v = runVemu(t, invocation{prog: "/bin/cat", args: []string{"/proc/self/maps"}, dir: t.TempDir(), flags: []string{"--root=" + root}})
	if v.status != 127 {
		t.Errorf("a program missing from the root: status %d, want 127", v.status)
	}
}

// TestPrefixL checks -L as qemu-user's: an absolute path is looked for under the prefix
// first and found on the host otherwise; it confines nothing.
func TestPrefixL(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	t.Parallel()
	pre := t.TempDir()
	host := t.TempDir()
	mustWrite(t, filepath.Join(pre, host, "a.txt"), []byte("from the prefix\n"), 0o644)
	mustWrite(t, filepath.Join(host, "a.txt"), []byte("from the host\n"), 0o644)
	mustWrite(t, filepath.Join(host, "b.txt"), []byte("only on the host\n"), 0o644)
	v := runVemu(t, invocation{prog: busybox, args: []string{"cat", filepath.Join(host, "a.txt"), filepath.Join(host, "b.txt")},
		dir: host, flags: []string{"-L", pre}})
	if want := "from the prefix\nonly on the host\n"; v.status != 0 || string(v.stdout) != want {
		t.Errorf("status %d, stdout %q, want %q; stderr:\n%s", v.status, v.stdout, want, v.stderr)
	}
}

// TestRootSockets runs the sockets guest (Unix sockets bound, connected and sent to by
// path, relative and absolute) inside a root, against its native run.
func TestRootSockets(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "root")
	copyFile(t, guest("sockets.glibc"), filepath.Join(root, "sockets"), 0o755)
	mustWrite(t, filepath.Join(root, "dev", "null"), nil, 0o666)
	if err := os.Mkdir(filepath.Join(root, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	ndir := t.TempDir()
	if err := os.Mkdir(filepath.Join(ndir, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := runNative(t, invocation{prog: guest("sockets.glibc"), args: []string{"work"}, dir: ndir})
	v := runVemu(t, invocation{prog: "/sockets", args: []string{"work"}, dir: root, flags: []string{"--root=" + root}})
	var p problems
	if n.status != v.status {
		p.add("status: native %d, vemu %d\nstderr:\n%s", n.status, v.status, v.stderr)
	}
	p.compareOutput("stdout", n.stdout, v.stdout)
	p.report(t, "")
}

// TestRootProcLinks runs testdata/c/proclinks.c natively and inside a root: paths through
// /proc/PID/root, cwd and fd/N, the process's own and a child's, lead on inside the root
// as they lead on natively from /.
func TestRootProcLinks(t *testing.T) {
	t.Parallel()
	for _, libc := range []string{"glibc", "musl"} {
		prog := guest("proclinks." + libc)
		work := filepath.Join(t.TempDir(), "work")
		if err := os.Mkdir(work, 0o755); err != nil {
			t.Fatal(err)
		}
		n := runNative(t, invocation{prog: prog, args: []string{work}, dir: work})
		root := filepath.Join(t.TempDir(), "root")
		if err := os.MkdirAll(filepath.Join(root, "work"), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, prog, filepath.Join(root, filepath.Base(prog)), 0o755) // the same comm
		v := runVemu(t, invocation{prog: "/" + filepath.Base(prog), args: []string{"/work"}, dir: root,
			flags: []string{"--root=" + root}})
		var p problems
		checkNoPanic(&p, v.stderr)
		if n.status != 0 || v.status != 0 || string(n.stdout) != string(v.stdout) {
			p.add("%s: native %v, vemu %v\nnative:\n%s\nvemu:\n%s\nstderr: %s", libc, n, v, n.stdout, v.stdout, v.stderr)
		}
		p.report(t, "")
	}
}
