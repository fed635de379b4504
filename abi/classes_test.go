package abi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// classesProgram returns testdata's classes program, building it when make has not.
func classesProgram(t *testing.T) string {
	out := filepath.Join("..", "testdata", "out", "classes.glibc")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build testdata/c/classes.c")
	}
	out = filepath.Join(t.TempDir(), "classes")
	if b, err := exec.Command(gcc, "-static", "-O2", "-o", out, filepath.Join("..", "testdata", "c", "classes.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// straceNames runs the classes program natively under strace with -e trace=set and
// returns the names of the calls it printed; unknown numbers (syscall_0x...) are left out.
func straceNames(t *testing.T, strace, prog, set string) map[string]bool {
	cmd := exec.Command(strace, "-qq", "-e", "signal=none", "-e", "trace="+set, prog, "0", "472")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("strace -e trace=%s: %v\n%s", set, err, stderr.Bytes())
	}
	names := map[string]bool{}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if !strings.HasSuffix(line, "= -1 ENOSYS (Function not implemented)") {
			continue // the program's own start-up
		}
		name, _, _ := strings.Cut(line, "(")
		if !strings.HasPrefix(name, "syscall_") {
			names[name] = true
		}
	}
	return names
}

// TestClassesAsStrace compares every class with what the host's strace selects for it.
func TestClassesAsStrace(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (scripts/setup.sh installs it)")
	}
	prog := classesProgram(t)
	if out, err := exec.Command(strace, "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v\n%s", err, out)
	}
	known := straceNames(t, strace, prog, "all")
	if len(known) < 300 {
		t.Fatalf("strace printed only %d known calls", len(known))
	}
	byName := map[string]uint64{}
	for nr := range Syscalls {
		if n := Syscalls[nr].Name; n != "" {
			byName[n] = uint64(nr)
		}
	}
	for name := range known {
		if _, ok := byName[name]; !ok {
			t.Errorf("strace knows %q, the table does not", name)
		}
	}
	for cname, class := range ClassNames {
		got := straceNames(t, strace, prog, "%"+cname)
		var missing, extra []string
		for name := range known {
			nr := byName[name]
			ours := SyscallClasses(nr)&class != 0
			if got[name] && !ours {
				missing = append(missing, name)
			}
			if ours && !got[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%%%s: strace also selects %v; it does not select %v", cname, missing, extra)
		}
		if len(got) == 0 {
			t.Errorf("%%%s: strace selected nothing", cname)
		}
	}
}
