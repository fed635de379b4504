package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// straceLines reads trace files (strace -ff's, one per thread, in the order of their
// ids) and keeps the lines of the named calls, without strace's padding before " = "
// and with getppid's real answer as PID, sorted (the threads' order is not the same in
// strace -ff's files and in vemu's one stream; the fds each thread closes tell them apart).
func straceLines(t *testing.T, paths []string, calls []string) []string {
	t.Helper()
	padding := regexp.MustCompile(`\) +=`)
	pid := regexp.MustCompile(`^(\[pid +\d+\] |\d+ +)`) // vemu's prefix once a run has two threads
	ppid := regexp.MustCompile(`^getppid\(\) = \d+$`)
	var out []string
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = pid.ReplaceAllString(line, "")
			name, _, ok := strings.Cut(line, "(")
			if !ok {
				continue
			}
			for _, c := range calls {
				if name == c {
					line = padding.ReplaceAllString(line, ") =")
					out = append(out, ppid.ReplaceAllString(line, "getppid() = PID"))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// perThreadFiles returns strace -ff's files for base, in the order of the thread ids.
func perThreadFiles(t *testing.T, base string) []string {
	t.Helper()
	files, err := filepath.Glob(base + ".*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no strace -ff output for %s", base)
	}
	id := func(f string) int {
		n, _ := strconv.Atoi(f[strings.LastIndexByte(f, '.')+1:])
		return n
	}
	sort.Slice(files, func(i, j int) bool { return id(files[i]) < id(files[j]) })
	return files
}

// TestInjectAsStrace runs testdata/c/inject.c natively under strace -f -e inject=... and
// under vemu run --inject=..., and compares the traced lines, the output and the status.
func TestInjectAsStrace(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (scripts/setup.sh installs it)")
	}
	if out, err := exec.Command(strace, "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v\n%s", err, out)
	}
	calls := []string{"close", "dup", "getppid"}
	for _, tc := range []struct {
		name  string
		flags []string // -e inject=... / --inject=...
	}{
		{"error-second", []string{"inject=close:error=EIO:when=2", "inject=getppid:retval=42"}},
		{"retval-step", []string{"inject=close:retval=42:when=1..3+2"}},
		{"signal", []string{"inject=getppid:signal=SIGUSR1", "inject=dup:error=EMFILE:signal=USR1:when=1"}},
		{"regex-open-ended", []string{"inject=/^(close|dup)$:error=EBADF:when=3+"}},
		{"fault-default", []string{"fault=getppid", "fault=dup:error=ENFILE"}},
		{"last-wins", []string{"inject=close:error=EIO:when=2", "inject=close:error=ENOENT:when=3"}},
		{"negated-class", []string{"inject=!%file,%memory,%process,%signal,%creds,read,write,exit_group,fstat,fcntl,ioctl,newfstatat,readlink,getrandom,prlimit64,set_robust_list,rseq,arch_prctl,set_tid_address,futex,clone3,clone,brk,wait4,getpid,gettid:error=EPERM:when=4"}},
		{"odd-errnos", []string{"inject=close:error=600:when=1", "inject=close:error=EPROBE_DEFER:when=2", "inject=close:error=EOPNOTSUPP:when=3", "inject=dup:error=ERESTARTSYS"}},
		{"delayed", []string{"inject=close:delay_enter=1ms:delay_exit=1ms:when=1"}},
	} {
		for _, libc := range []string{"glibc", "musl"} {
			t.Run(tc.name+"/"+libc, func(t *testing.T) {
				prog := guest("inject." + libc)
				dir := t.TempDir()
				nativeTrace := filepath.Join(dir, "native")
				args := []string{"-ff", "-qq", "-e", "signal=none", "-o", nativeTrace}
				var vflags []string
				for _, f := range tc.flags {
					args = append(args, "-e", f)
					vflags = append(vflags, "--"+f)
				}
				native := execute(t, strace, append(args, prog), invocation{dir: dir})
				vemuTrace := filepath.Join(dir, "vemu")
				under := runVemu(t, invocation{prog: prog, dir: dir, flags: append(vflags, "--strace-file="+vemuTrace)})
				var p problems
				if native.status != under.status {
					p.add("status: native %d, vemu %d\n%s", native.status, under.status, under.stderr)
				}
				p.compareOutput("stdout", native.stdout, under.stdout)
				want, got := straceLines(t, perThreadFiles(t, nativeTrace), calls), straceLines(t, []string{vemuTrace}, calls)
				p.compareOutput("trace", []byte(strings.Join(want, "\n")), []byte(strings.Join(got, "\n")))
				if !strings.Contains(strings.Join(want, "\n"), "(INJECTED)") && !strings.Contains(strings.Join(want, "\n"), "(DELAYED)") {
					p.add("strace injected nothing: the case tests nothing")
				}
				p.report(t, "")
			})
		}
	}
}

// TestInjectBadSpec checks that a malformed spec is one line and status 2.
func TestInjectBadSpec(t *testing.T) {
	for _, flag := range []string{"--inject=close:error=EFOO", "--fault=close:retval=1", "--inject=/[:error=EIO", "--inject=close", "--inject=nosuchcall:error=EIO"} {
		r := runVemu(t, invocation{prog: guest("hello.glibc"), flags: []string{flag}})
		lines := strings.Split(strings.TrimSpace(string(r.stderr)), "\n")
		if r.status != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "vemu: --") {
			t.Errorf("%s: status %d, stderr %q", flag, r.status, r.stderr)
		}
	}
}

// TestInjectNeverCalled checks that tampering with a call the guest never makes leaves
// the run as it was.
func TestInjectNeverCalled(t *testing.T) {
	plain := runVemu(t, invocation{prog: guest("hello.glibc")})
	tampered := runVemu(t, invocation{prog: guest("hello.glibc"), flags: []string{"--inject=kexec_load,reboot:error=EIO:signal=SIGKILL"}})
	if plain.status != tampered.status || string(plain.stdout) != string(tampered.stdout) {
		t.Errorf("plain %v %q, tampered %v %q", plain, plain.stdout, tampered, tampered.stdout)
	}
}
