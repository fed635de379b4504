package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostVsyscallMode reads the host's own mode from its maps: "xonly", "emulate" or "none".
func hostVsyscallMode(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(line, "[vsyscall]") {
			if strings.Contains(line, " r-xp ") {
				return "emulate"
			}
			return "xonly"
		}
	}
	return "none"
}

// TestVsyscallModes runs the vsyscall guest in each mode and checks what Linux booted
// with that vsyscall= value shows; in the host's own mode the native run must match too.
func TestVsyscallModes(t *testing.T) {
	const (
		xonlyMaps   = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
		emulateMaps = "ffffffffff600000-ffffffffff601000 r-xp 00000000 00:00 0                  [vsyscall]\n"
	)
	type want struct {
		status int
		stdout string // exact, or a regexp when it starts with "~"
	}
	cases := map[string]map[string]want{
		"calls": {
			"xonly": {0, "~^(.*: yes\n)+$"}, "emulate": {0, "~^(.*: yes\n)+$"}, "none": {139, ""},
		},
		"maps": {
			"xonly": {0, xonlyMaps}, "emulate": {0, emulateMaps}, "none": {0, "no [vsyscall] line\n"},
		},
		"read": {
			"xonly": {139, ""}, "none": {139, ""},
			"emulate": {0, "first byte 0x48\ntime entry holds mov $201,%rax; syscall; ret: yes\n"},
		},
		"call-then-read": {
			"xonly": {139, ""}, "none": {139, ""},
			"emulate": {0, "first byte 0x48\ntime entry holds mov $201,%rax; syscall; ret: yes\n"},
		},
		"handled-call-then-read": {
			"xonly":   {0, "~^SIGSEGV si_code=1 si_addr=0xffffffffff600000 rip=0x[0-9a-f]+ trap=14 err=0x5\n$"},
			"none":    {0, "SIGSEGV si_code=1 si_addr=0xffffffffff600000 rip=0xffffffffff600000 trap=14 err=0x15\n"},
			"emulate": {0, "first byte 0x48\ntime entry holds mov $201,%rax; syscall; ret: yes\n"},
		},
		"misaligned":       {"xonly": {139, ""}, "emulate": {139, ""}, "none": {139, ""}},
		"kernel-pointer":   {"xonly": {139, ""}, "emulate": {139, ""}, "none": {139, ""}},
		"unmapped-pointer": {"xonly": {139, ""}, "emulate": {139, ""}, "none": {139, ""}},
		// The same with a SIGSEGV handler, which prints what the signal says: si_code
		// (1 SEGV_MAPERR, 128 SI_KERNEL), si_addr, and the rip it interrupted.
		"handled-read": {
			"xonly":   {0, "~^SIGSEGV si_code=1 si_addr=0xffffffffff600000 rip=0x[0-9a-f]+ trap=14 err=0x5\n$"},
			"none":    {0, "~^SIGSEGV si_code=1 si_addr=0xffffffffff600000 rip=0x[0-9a-f]+ trap=14 err=0x5\n$"},
			"emulate": {0, "first byte 0x48\ntime entry holds mov $201,%rax; syscall; ret: yes\n"},
		},
		"handled-misaligned": {
			"xonly":   {0, "SIGSEGV si_code=128 si_addr=0 rip=0xffffffffff600010 trap=0 err=0\n"},
			"emulate": {0, "SIGSEGV si_code=128 si_addr=0 rip=0xffffffffff600010 trap=0 err=0\n"},
			"none":    {0, "SIGSEGV si_code=1 si_addr=0xffffffffff600010 rip=0xffffffffff600010 trap=14 err=0x15\n"},
		},
		"handled-kernel-pointer": {
			"xonly":   {0, "SIGSEGV si_code=1 si_addr=0xffff880000000000 rip=0xffffffffff600000 trap=14 err=0x6\n"},
			"emulate": {0, "SIGSEGV si_code=1 si_addr=0xffff880000000000 rip=0xffffffffff600000 trap=14 err=0x6\n"},
			"none":    {0, "SIGSEGV si_code=1 si_addr=0xffffffffff600000 rip=0xffffffffff600000 trap=14 err=0x15\n"},
		},
		"handled-unmapped-pointer": {
			"xonly":   {0, "SIGSEGV si_code=128 si_addr=0 rip=0xffffffffff600400 trap=0 err=0\n"},
			"emulate": {0, "SIGSEGV si_code=128 si_addr=0 rip=0xffffffffff600400 trap=0 err=0\n"},
			"none":    {0, "SIGSEGV si_code=1 si_addr=0xffffffffff600400 rip=0xffffffffff600400 trap=14 err=0x15\n"},
		},
	}
	host := hostVsyscallMode(t)
	for _, libc := range []string{"glibc", "musl"} {
		prog := guest("vsys." + libc)
		for what, modes := range cases {
			for mode, w := range modes {
				t.Run(what+"/"+mode+"/"+libc, func(t *testing.T) {
					t.Parallel()
					inv := invocation{prog: prog, args: []string{what}, flags: []string{"--vsyscall=" + mode}}
					got := runVemu(t, inv)
					assert.Equal(t, w.status, got.status, "stderr: %s", got.stderr)
					if strings.HasPrefix(w.stdout, "~") {
						assert.Regexp(t, regexp.MustCompile(w.stdout[1:]), string(got.stdout))
					} else {
						assert.Equal(t, w.stdout, string(got.stdout))
					}
					if w.status == 139 {
						assert.Contains(t, string(got.stderr), "killed by SIGSEGV")
					}
					if mode == host {
						native := runNative(t, inv)
						assert.Equal(t, native.status, got.status, "native and vemu status")
						if !strings.HasPrefix(w.stdout, "~") || native.status == 0 || strings.HasPrefix(what, "handled-") {
							assert.Equal(t, string(native.stdout), string(got.stdout), "native and vemu output")
						}
					}
				})
			}
		}
	}
}

// TestVsyscallTrace checks that emulated calls show in the trace as their own lines, and
// that with vsyscall=none the attempt is logged as Linux logs it.
func TestVsyscallTrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, mode := range []string{"xonly", "emulate", "none"} {
		trace := filepath.Join(dir, mode+".trace")
		inv := invocation{prog: guest("vsys.glibc"), args: []string{"calls"},
			flags: []string{"--vsyscall=" + mode, "--strace-file=" + trace}}
		runVemu(t, inv)
		b, err := os.ReadFile(trace)
		require.NoError(t, err)
		if mode == "none" {
			assert.Regexp(t, `(?m)^\[vsyscall\] vsyscall attempted with vsyscall=none ip:ffffffffff600000 `, string(b))
			continue
		}
		for _, re := range []string{
			`(?m)^\[vsyscall\] gettimeofday\(\{tv_sec=\d+, tv_usec=\d+\}, [^)]+\) = 0$`,
			`(?m)^\[vsyscall\] time\(\[\d+\]\) = \d+$`,
			`(?m)^\[vsyscall\] getcpu\(\[0\], \[0\], NULL\) = 0$`,
			`(?m)^gettimeofday\(`, // the program's own syscall, without the prefix
		} {
			assert.Regexp(t, re, string(b), mode)
		}
	}
}
