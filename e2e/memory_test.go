package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// peakLimitKiB bounds vemu's peak RSS in TestPeakMemory: each case once cost gigabytes
// (the guest reserved or mapped them without touching them), or 260 MiB for 50 children;
// vemu alone needs ~15 MiB.
const peakLimitKiB = 200 << 10

// runPeak runs vemu on argv and returns its exit status and peak RSS in KiB.
func runPeak(t *testing.T, dir string, argv ...string) (int, int64, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vemuBin, append([]string{"run"}, argv...)...)
	cmd.Dir = dir
	cmd.Env = guestEnv
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("vemu %v: %v", argv, err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		t.Skip("no rusage on this platform")
	}
	return cmd.ProcessState.ExitCode(), ru.Maxrss, out.Bytes()
}

// TestPeakMemory checks that what a guest reserves, maps or carries in its file but does
// not touch costs vemu nothing: each case once took gigabytes.
func TestPeakMemory(t *testing.T) {
	dir := t.TempDir()
	// A small program at the start of a 1 GiB (sparse) file.
	hello, err := os.ReadFile(guest("hello.glibc"))
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	mustWrite(t, big, hello, 0o755)
	if err := os.Truncate(big, 1<<30); err != nil {
		t.Fatal(err)
	}
	// The same program with its writable segment's p_memsz grown by 512 GiB.
	huge := filepath.Join(dir, "huge")
	mustWrite(t, huge, growLastLoad(t, hello, 512<<30), 0o755)

	cases := []struct {
		name   string
		argv   []string
		status int
	}{
		{"protnone-fork", []string{guest("memcost.glibc"), "protnone-fork"}, 0},
		{"devzero-fork", []string{guest("memcost.musl"), "devzero-fork"}, 0},
		{"mincore-huge", []string{guest("memcost.glibc"), "mincore-huge"}, 0},
		{"mremap-big", []string{guest("memcost.musl"), "mremap-big"}, 0},
		{"big-file", []string{big}, 0},
		// Each guest process is an engine of its own: ~1.7 MiB each (5 MiB once).
		{"50-children", []string{guest("memcost.glibc"), "children", "50"}, 0},
		// More mappings than the host allows vemu: refused with ENOMEM, never fatal.
		{"many-maps", []string{guest("memcost.musl"), "many-maps", "100000"}, 0},
		// Linux refuses the segment (ENOMEM); vemu says so and exits 126.
		{"huge-bss", []string{huge}, 126},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			status, kib, out := runPeak(t, dir, c.argv...)
			if status != c.status {
				t.Errorf("status %d, want %d; output:\n%s", status, c.status, tail(out, 2000))
			}
			if kib > peakLimitKiB {
				t.Errorf("peak RSS %d MiB, want below %d MiB", kib>>10, peakLimitKiB>>10)
			}
			t.Logf("peak RSS %d MiB in %v", kib>>10, time.Since(start).Round(time.Millisecond))
		})
	}
}

// growLastLoad returns a copy of the ELF program b with the p_memsz of its last PT_LOAD
// grown by n bytes.
func growLastLoad(t *testing.T, b []byte, n uint64) []byte {
	t.Helper()
	b = bytes.Clone(b)
	le := binary.LittleEndian
	phoff, phnum := le.Uint64(b[32:]), int(le.Uint16(b[56:]))
	last := -1
	for i := 0; i < phnum; i++ {
		if le.Uint32(b[phoff+uint64(i)*56:]) == 1 { // PT_LOAD
			last = int(phoff) + i*56
		}
	}
	if last < 0 {
		t.Fatal("no PT_LOAD")
	}
	le.PutUint64(b[last+40:], le.Uint64(b[last+40:])+n)
	return b
}
