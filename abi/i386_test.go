package abi

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestI386Syscalls checks the int $0x80 table against x/sys/unix's linux/386 numbers,
// read from the module's zsysnum_linux_386.go (not compiled for this architecture), and
// that each entry runs the x86-64 call of the same name.
func TestI386Syscalls(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	if err != nil {
		t.Skipf("cannot find the golang.org/x/sys module: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "unix", "zsysnum_linux_386.go"))
	if err != nil {
		t.Fatal(err)
	}
	nums := map[string]uint32{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(SYS_\w+)\s*=\s*(\d+)`).FindAllStringSubmatch(string(src), -1) {
		n, _ := strconv.ParseUint(m[2], 10, 32)
		nums[m[1]] = uint32(n)
	}
	if len(nums) < 300 {
		t.Fatalf("found %d numbers in zsysnum_linux_386.go", len(nums))
	}
	for nr, c := range I386Syscalls {
		if want, ok := nums[c.Name]; !ok || want != nr {
			t.Errorf("%s: i386 number %d, x/sys/unix says %d (found %v)", c.Name, nr, want, ok)
		}
		name := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(c.Name, "SYS_"), "32"))
		if c.Name == "SYS_MMAP2" {
			name = "mmap" // with its offset in pages
		}
		if got := SyscallName(c.Amd64); got != name {
			t.Errorf("%s runs x86-64 call %d (%s), want %s", c.Name, c.Amd64, got, name)
		}
	}
}
