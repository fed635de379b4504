package loader

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const helloC = `#include <stdio.h>
int main(int argc, char **argv) { printf("hello from %s\n", argv[0]); return argc - 1; }
`

// buildC compiles src with cc and flags into dir, or skips the test saying why.
func buildC(t testing.TB, dir, name, cc, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("%s is not installed", cc)
	}
	c := filepath.Join(dir, name+".c")
	require.NoError(t, os.WriteFile(c, []byte(src), 0o644))
	out := filepath.Join(dir, name)
	args := append(append([]string{}, flags...), "-o", out, c)
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Skipf("%s %v cannot build here: %v\n%s", cc, flags, err, b)
	}
	return out
}

// sstrip removes the section headers and everything after the last
// PT_LOAD's file bytes, as sstrip does.
func sstrip(t testing.TB, b []byte) []byte {
	f, err := elf.NewFile(bytesReaderAt(b))
	require.NoError(t, err)
	var end uint64
	for _, p := range f.Progs {
		end = max(end, p.Off+p.Filesz)
	}
	out := append([]byte(nil), b[:end]...)
	clear(out[40:48]) // e_shoff
	clear(out[58:64]) // e_shentsize, e_shnum, e_shstrndx
	return out
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, errors.New("EOF")
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, errors.New("EOF")
	}
	return n, nil
}

// checkAgainstDebugELF compares img with what debug/elf reads from b.
func checkAgainstDebugELF(t *testing.T, b []byte, img *Image) {
	t.Helper()
	f, err := elf.NewFile(bytesReaderAt(b))
	require.NoError(t, err)
	assert.Equal(t, f.Entry, img.Entry)
	assert.Equal(t, f.Type == elf.ET_DYN, img.PIE)
	var loads []Segment
	var tls *Segment
	gnuStack := false
	for i, p := range f.Progs {
		s := segment(phdr{flags: p.Flags, off: p.Off, vaddr: p.Vaddr, filesz: p.Filesz, memsz: p.Memsz}, i)
		switch p.Type {
		case elf.PT_LOAD:
			loads = append(loads, s)
		case elf.PT_TLS:
			tls = &s
		case elf.PT_PHDR:
			assert.Equal(t, p.Vaddr, img.PhdrAddr, "AT_PHDR agrees with PT_PHDR")
		case elf.PT_GNU_STACK:
			gnuStack = true
			assert.Equal(t, p.Flags&elf.PF_X != 0, img.ExecStack)
		}
	}
	assert.Equal(t, loads, img.Segments)
	assert.Equal(t, tls, img.TLS)
	assert.Equal(t, gnuStack, img.HasGNUStack)
	assert.Equal(t, uint64(len(f.Progs)), img.Phnum)
	assert.NotZero(t, img.PhdrAddr, "static libcs find PT_TLS through AT_PHDR")
}

func TestParseRealStatic(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, cc string
		flags    []string
		pie      bool
	}{
		{"gcc-static", "gcc", []string{"-static", "-O2"}, false},
		{"gcc-static-pie", "gcc", []string{"-static-pie", "-O2"}, true},
		{"musl-static", "musl-gcc", []string{"-static", "-O2"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := buildC(t, dir, c.name, c.cc, helloC, c.flags...)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			img, err := Parse(b)
			require.NoError(t, err)
			checkInvariants(t, img)
			checkAgainstDebugELF(t, b, img)
			assert.Equal(t, c.pie, img.PIE)
			assert.False(t, img.ExecStack)
			assert.Empty(t, img.Interp)

			stripped := sstrip(t, b)
			img2, err := Parse(stripped)
			require.NoError(t, err, "without section headers")
			assert.Equal(t, img, img2)
		})
	}
}

func TestParseBusybox(t *testing.T) {
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no /bin/busybox: %v", err)
	}
	f, err := elf.NewFile(bytesReaderAt(b))
	require.NoError(t, err)
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Skip("/bin/busybox is dynamically linked here")
		}
	}
	img, err := Parse(b)
	require.NoError(t, err)
	checkInvariants(t, img)
	checkAgainstDebugELF(t, b, img)
	assert.Equal(t, f.Type == elf.ET_DYN, img.PIE)
}

func TestParseRealDynamic(t *testing.T) {
	dir := t.TempDir()
	path := buildC(t, dir, "gcc-dynamic", "gcc", helloC, "-O2")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := elf.NewFile(bytesReaderAt(b))
	require.NoError(t, err)
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			s := make([]byte, p.Filesz-1)
			_, err := p.ReadAt(s, 0)
			require.NoError(t, err)
			interp = string(s)
		}
	}
	require.NotEmpty(t, interp)
	img, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, interp, img.Interp)
	checkAgainstDebugELF(t, b, img)
}
