package loader

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProtString(t *testing.T) {
	assert.Equal(t, "---", Prot(0).String())
	assert.Equal(t, "r-x", (ProtRead | ProtExec).String())
	assert.Equal(t, "rw-", (ProtRead | ProtWrite).String())
	assert.Equal(t, "rwx", (ProtRead | ProtWrite | ProtExec).String())
}

func TestParseValid(t *testing.T) {
	img, err := Parse(newTestELF().bytes())
	require.NoError(t, err)
	assert.Equal(t, &Image{
		Entry: 0x401000,
		Segments: []Segment{
			{Vaddr: 0x400000, Memsz: 0x200, Off: 0, Filesz: 0x200, Prot: ProtRead, Index: hText0},
			{Vaddr: 0x401000, Memsz: 0x100, Off: 0x1000, Filesz: 0x100, Prot: ProtRead | ProtExec, Index: hText},
			{Vaddr: 0x402000, Memsz: 0x1800, Off: 0x2000, Filesz: 0x80, Prot: ProtRead | ProtWrite, Index: hData},
		},
		PhdrAddr:    0x400040,
		Phent:       56,
		Phnum:       6,
		HasGNUStack: true,
		TLS:         &Segment{Vaddr: 0x402000, Memsz: 0x20, Off: 0x2000, Filesz: 0x10, Prot: ProtRead, Index: hTLS},
		Low:         0x400000,
		High:        0x404000,
	}, img)
}

// TestWriterMakesRealExecutables runs the test writer's output on the host,
// so that the valid cases below are known to be valid to Linux too.
func TestWriterMakesRealExecutables(t *testing.T) {
	dir := t.TempDir()
	for name, e := range map[string]*tELF{
		"exec": newTestELF(),
		"static-pie": func() *tELF {
			e := newTestELF()
			e.pie()
			return e
		}(),
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, e.bytes(), 0o755))
		out, err := exec.Command(path).CombinedOutput()
		if err != nil && strings.Contains(err.Error(), "permission denied") {
			t.Skipf("cannot run files in %s: %v", dir, err)
		}
		assert.NoError(t, err, "%s: %s", name, out)
	}
}

type parseCase struct {
	name    string
	mod     func(e *tELF)         // applied to a valid file
	raw     func(b []byte) []byte // applied to its bytes, after mod
	wantErr string                // substring of the error; "" means success
	wantOff int64                 // FormatError.Off, checked when nonzero
	is      error                 // sentinel the error must wrap
	check   func(t *testing.T, img *Image)
}

func phoffOf(i int) int64 { return 64 + int64(i)*56 }

var parseCases = []parseCase{
	{name: "valid"},
	{name: "empty", raw: func([]byte) []byte { return nil }, wantErr: "not an ELF file", is: ErrNotELF},
	{name: "shell-script", raw: func([]byte) []byte { return []byte("#!/bin/sh\necho hi\n") }, wantErr: `bad magic "#!/b"`, is: ErrNotELF},
	{name: "partial-magic", raw: func(b []byte) []byte { return b[:3] }, wantErr: "not an ELF file", is: ErrNotELF},
	{name: "truncated-header", raw: func(b []byte) []byte { return b[:40] }, wantErr: "truncated ELF header: file is 40 bytes", wantOff: 40},
	{name: "wrong-class", mod: func(e *tELF) { e.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32) }, wantErr: "32-bit", wantOff: 4},
	{name: "bad-class", mod: func(e *tELF) { e.Ident[elf.EI_CLASS] = 9 }, wantErr: "bad class 9", wantOff: 4},
	{name: "big-endian", mod: func(e *tELF) { e.Ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB) }, wantErr: "big-endian", wantOff: 5},
	{name: "bad-data", mod: func(e *tELF) { e.Ident[elf.EI_DATA] = 0 }, wantErr: "bad data encoding", wantOff: 5},
	{name: "bad-ident-version", mod: func(e *tELF) { e.Ident[elf.EI_VERSION] = 0 }, wantErr: "ident version 0", wantOff: 6},
	{name: "bad-version", mod: func(e *tELF) { e.Version = 2 }, wantErr: "e_version 2", wantOff: 20},
	{name: "relocatable", mod: func(e *tELF) { e.Type = elf.ET_REL }, wantErr: "not an executable (relocatable object)", wantOff: 16},
	{name: "core", mod: func(e *tELF) { e.Type = elf.ET_CORE }, wantErr: "not an executable (core dump)", wantOff: 16},
	{name: "no-type", mod: func(e *tELF) { e.Type = elf.ET_NONE }, wantErr: "not an executable (no file type)", wantOff: 16},
	{name: "unknown-type", mod: func(e *tELF) { e.Type = 0xfe00 }, wantErr: "unknown type 0xfe00", wantOff: 16},
	{name: "wrong-machine", mod: func(e *tELF) { e.Machine = elf.EM_386 }, wantErr: "machine EM_386, want EM_X86_64", wantOff: 18},
	{name: "wrong-machine-aarch64", mod: func(e *tELF) { e.Machine = elf.EM_AARCH64 }, wantErr: "machine EM_AARCH64"},
	{name: "bad-phentsize", mod: func(e *tELF) { e.Phentsize = 64 }, wantErr: "e_phentsize 64, want 56", wantOff: 54},
	{name: "no-phdrs", mod: func(e *tELF) { e.Phnum = 0 }, wantErr: "no program headers", wantOff: 56},
	{name: "absurd-phnum", mod: func(e *tELF) { e.Phnum = 0xffff }, wantErr: "e_phnum 65535 is absurd", wantOff: 56},
	{name: "phdrs-past-end", mod: func(e *tELF) { e.Phoff = uint64(e.Size) - 100 }, wantErr: "program header table [0x2f9c, +0x150) is outside the file", wantOff: 32},
	{name: "phoff-overflow", mod: func(e *tELF) { e.Phoff = ^uint64(0) - 8 }, wantErr: "outside the file", wantOff: 32},
	{name: "phnum-larger-than-file", mod: func(e *tELF) { e.Phnum = 4000 }, wantErr: "outside the file", wantOff: 32},
	{name: "no-load", mod: func(e *tELF) {
		for i := range e.Phdrs {
			if e.Phdrs[i].Type == elf.PT_LOAD {
				e.Phdrs[i].Type = elf.PT_NULL
			}
		}
	}, wantErr: "no PT_LOAD segment"},
	{name: "segment-outside-file", mod: func(e *tELF) { e.Phdrs[hData].Filesz = 0x1001; e.Phdrs[hData].Memsz = 0x2000 },
		wantErr: "program header 3: PT_LOAD file range [0x2000, +0x1001) is outside the file (0x3000 bytes)", wantOff: phoffOf(hData)},
	{name: "segment-offset-overflow", mod: func(e *tELF) { e.Phdrs[hData].Off = ^uint64(0) - 0x10 }, wantErr: "is outside the file", wantOff: phoffOf(hData)},
	{name: "segment-size-overflow", mod: func(e *tELF) { e.Phdrs[hData].Filesz = ^uint64(0) - 0x1000 }, wantErr: "is outside the file", wantOff: phoffOf(hData)},
	{name: "filesz-gt-memsz", mod: func(e *tELF) { e.Phdrs[hText].Filesz = 0x200 },
		wantErr: "program header 2: PT_LOAD p_filesz 0x200 is larger than p_memsz 0x100", wantOff: phoffOf(hText)},
	{name: "align-not-power-of-two", mod: func(e *tELF) { e.Phdrs[hText].Align = 0x1800 }, wantErr: "p_align 0x1800 is not a power of two"},
	{name: "misaligned-offset", mod: func(e *tELF) { e.Phdrs[hText].Off = 0x1010 },
		wantErr: "program header 2: p_vaddr 0x401000 and p_offset 0x1010 differ modulo 0x1000", wantOff: phoffOf(hText)},
	{name: "misaligned-offset-small-align", mod: func(e *tELF) { e.Phdrs[hText].Off = 0x1010; e.Phdrs[hText].Align = 0x20 },
		wantErr: "differ modulo 0x20"},
	{name: "unaligned-offset-align-1", mod: func(e *tELF) { e.Phdrs[hText].Off = 0x1010; e.Phdrs[hText].Align = 1; e.Fill[0x1010] = exitCode }},
	{name: "bss-only-any-offset", mod: func(e *tELF) { e.Phdrs[hData].Filesz = 0; e.Phdrs[hData].Off = 0x123 }},
	{name: "overflowing-vaddr", mod: func(e *tELF) { e.Phdrs[hData].Vaddr = ^uint64(0) - 0xfff },
		wantErr: "program header 3: segment [0xfffffffffffff000, +0x1800) is outside user space", wantOff: phoffOf(hData)},
	{name: "overflowing-memsz", mod: func(e *tELF) { e.Phdrs[hData].Memsz = ^uint64(0) - 0x1000 }, wantErr: "outside user space"},
	{name: "above-user-space", mod: func(e *tELF) { e.Phdrs[hData].Vaddr = 0x7ffffffff000 - 0x1000 }, wantErr: "outside user space (which ends at 0x7ffffffff000)"},
	{name: "at-top-of-user-space", mod: func(e *tELF) { e.Phdrs[hData].Vaddr = 0x7ffffffff000 - 0x2000 }},
	{name: "absurd-memsz", mod: func(e *tELF) { e.Phdrs[hData].Memsz = 2 << 40 }, wantErr: "more than 1 TiB", wantOff: phoffOf(hData)},
	{name: "overlapping-segments", mod: func(e *tELF) { e.Phdrs[hData].Vaddr = 0x4010f0; e.Phdrs[hData].Off = 0x20f0 },
		wantErr: "program header 3: segment [0x4010f0, 0x4028f0) overlaps program header 2 (ends at 0x401100)", wantOff: phoffOf(hData)},
	{name: "overlap-past-empty-segment", mod: func(e *tELF) {
		e.Phdrs[hText].Memsz, e.Phdrs[hText].Filesz = 0x2000, 0x10
		e.Phdrs[hStack] = tPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R, Vaddr: 0x402800, Off: 0x800}
		e.Phdrs[hData].Vaddr, e.Phdrs[hData].Off = 0x402800, 0x2800
		e.Phdrs[hData], e.Phdrs[hStack] = e.Phdrs[hStack], e.Phdrs[hData]
	}, wantErr: "program header 4: segment [0x402800, 0x404000) overlaps program header 2 (ends at 0x403000)"},
	{name: "shared-page", mod: func(e *tELF) { e.Phdrs[hData].Vaddr = 0x401100; e.Phdrs[hData].Off = 0x2100 },
		check: func(t *testing.T, img *Image) {
			assert.Equal(t, uint64(0x401100), img.Segments[2].Vaddr)
			assert.Equal(t, uint64(0x403000), img.High)
		}},
	{name: "unsorted-segments", mod: func(e *tELF) { e.Phdrs[hData].Vaddr = 0x300000 },
		wantErr: "program header 3: PT_LOAD at 0x300000 is not sorted after program header 2 at 0x401000"},
	{name: "empty-segment", mod: func(e *tELF) {
		e.Phdrs[hStack] = tPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R, Vaddr: 0x500000}
	}, check: func(t *testing.T, img *Image) {
		assert.Len(t, img.Segments, 4)
		assert.Equal(t, uint64(0x404000), img.High, "an empty segment does not move brk")
	}},
	{name: "entry-outside-exec", mod: func(e *tELF) { e.Entry = 0x402000 },
		wantErr: "entry point 0x402000 is not inside an executable PT_LOAD segment", wantOff: 24},
	{name: "entry-at-segment-end", mod: func(e *tELF) { e.Entry = 0x401100 }, wantErr: "entry point 0x401100"},
	{name: "entry-in-bss-of-exec", mod: func(e *tELF) { e.Phdrs[hText].Memsz = 0x800; e.Entry = 0x401400 }},
	{name: "dynamic", mod: func(e *tELF) { e.addInterp("/lib64/ld-linux-x86-64.so.2") },
		check: func(t *testing.T, img *Image) { assert.Equal(t, "/lib64/ld-linux-x86-64.so.2", img.Interp) }},
	{name: "dynamic-pie", mod: func(e *tELF) { e.addInterp("/lib/ld-musl-x86_64.so.1"); e.pie() },
		check: func(t *testing.T, img *Image) {
			assert.True(t, img.PIE)
			assert.Equal(t, "/lib/ld-musl-x86_64.so.1", img.Interp)
		}},
	{name: "dynamic-odd-interp", mod: func(e *tELF) { e.addInterp("a b\n") },
		check: func(t *testing.T, img *Image) { assert.Equal(t, "a b\n", img.Interp) }},
	{name: "interp-empty", mod: func(e *tELF) { e.addInterp("") }, wantErr: "program header 6: PT_INTERP path is empty"},
	{name: "interp-too-long", mod: func(e *tELF) { e.addInterp(strings.Repeat("/a", 2048)) }, wantErr: "PT_INTERP path is 0x1001 bytes, longer than PATH_MAX"},
	{name: "interp-outside-file", mod: func(e *tELF) { e.addInterp("/x"); e.Phdrs[len(e.Phdrs)-1].Off = 0x2fff },
		wantErr: "program header 6: PT_INTERP file range [0x2fff, +0x3) is outside the file"},
	{name: "tls-outside-file", mod: func(e *tELF) { e.Phdrs[hTLS].Filesz = 0x10000; e.Phdrs[hTLS].Memsz = 0x10000 }, wantErr: "program header 5: PT_TLS file range"},
	{name: "tls-filesz-gt-memsz", mod: func(e *tELF) { e.Phdrs[hTLS].Filesz = 0x30 }, wantErr: "PT_TLS p_filesz 0x30 is larger than p_memsz 0x20"},
	{name: "tls-bad-align", mod: func(e *tELF) { e.Phdrs[hTLS].Align = 3 }, wantErr: "PT_TLS p_align 0x3 is not a power of two"},
	{name: "tls-overflowing", mod: func(e *tELF) { e.Phdrs[hTLS].Vaddr = ^uint64(0) }, wantErr: "PT_TLS [0xffffffffffffffff, +0x20) is outside user space"},
	{name: "no-gnu-stack", mod: func(e *tELF) { e.Phdrs[hStack].Type = elf.PT_NULL }, check: func(t *testing.T, img *Image) {
		assert.False(t, img.HasGNUStack)
		assert.False(t, img.ExecStack, "x86-64 Linux 5.8+ gives no executable stack without PT_GNU_STACK")
	}},
	{name: "exec-stack", mod: func(e *tELF) { e.Phdrs[hStack].Flags |= elf.PF_X }, check: func(t *testing.T, img *Image) {
		assert.True(t, img.HasGNUStack)
		assert.True(t, img.ExecStack)
	}},
	{name: "no-tls", mod: func(e *tELF) { e.Phdrs[hTLS].Type = elf.PT_NOTE }, check: func(t *testing.T, img *Image) { assert.Nil(t, img.TLS) }},
	{name: "static-pie", mod: func(e *tELF) { e.pie() }, check: func(t *testing.T, img *Image) {
		assert.True(t, img.PIE)
		assert.Equal(t, uint64(0x1000), img.Entry)
		assert.Equal(t, uint64(0), img.Low)
		assert.Equal(t, uint64(0x4000), img.High)
		assert.Equal(t, uint64(0x40), img.PhdrAddr)
	}},
	{name: "phdrs-not-loaded", mod: func(e *tELF) {
		e.Phdrs[hPhdr].Type = elf.PT_NULL
		e.Phdrs[hText0].Off, e.Phdrs[hText0].Vaddr, e.Phdrs[hText0].Filesz = 0x1000, 0x400000, 0
	}, check: func(t *testing.T, img *Image) { assert.Zero(t, img.PhdrAddr) }},
	{name: "phdr-from-pt-phdr-only", mod: func(e *tELF) {
		e.Phdrs[hText0].Filesz = 0
		e.Phdrs[hPhdr].Vaddr = 0x400100
	}, check: func(t *testing.T, img *Image) { assert.Equal(t, uint64(0x400100), img.PhdrAddr) }},
	{name: "phdr-load-wins-over-pt-phdr", mod: func(e *tELF) { e.Phdrs[hPhdr].Vaddr = 0x400100 },
		check: func(t *testing.T, img *Image) { assert.Equal(t, uint64(0x400040), img.PhdrAddr) }},
	{name: "phdrs-at-end-of-file", mod: func(e *tELF) {
		e.Phoff = uint64(e.Size) - 6*56
		e.Phdrs[hPhdr].Type = elf.PT_NULL
	}, check: func(t *testing.T, img *Image) {
		assert.Zero(t, img.PhdrAddr, "table lies past the data segment's file bytes")
	}},
	{name: "section-headers-ignored", raw: func(b []byte) []byte {
		b[40] = 0xff // e_shoff far outside the file
		b[60] = 0xff // e_shnum
		return b
	}},
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestELF()
			if c.mod != nil {
				c.mod(e)
			}
			b := e.bytes()
			if c.raw != nil {
				b = c.raw(b)
			}
			img, err := Parse(b)
			if c.wantErr == "" {
				require.NoError(t, err)
				checkInvariants(t, img)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.wantErr)
				var fe *FormatError
				require.True(t, errors.As(err, &fe), "error %T is not a *FormatError", err)
				if c.wantOff != 0 {
					assert.Equal(t, c.wantOff, fe.Off, "offset")
				}
				assert.Contains(t, err.Error(), "(offset 0x")
				if c.is != nil {
					assert.ErrorIs(t, err, c.is)
				} else {
					assert.NotErrorIs(t, err, ErrNotELF)
				}
			}
			if c.check != nil {
				require.NotNil(t, img)
				c.check(t, img)
			}
		})
	}
}

// checkInvariants checks what Parse promises about a returned Image.
func checkInvariants(t testing.TB, img *Image) {
	t.Helper()
	require.NotEmpty(t, img.Segments)
	entryOK := false
	var end uint64
	for i, s := range img.Segments {
		if i > 0 {
			assert.GreaterOrEqual(t, s.Vaddr, img.Segments[i-1].Vaddr, "sorted")
		}
		assert.LessOrEqual(t, s.Filesz, s.Memsz)
		assert.LessOrEqual(t, s.Vaddr+s.Memsz, uint64(userEnd))
		assert.GreaterOrEqual(t, s.Vaddr+s.Memsz, s.Vaddr, "no overflow")
		if s.Memsz > 0 {
			assert.GreaterOrEqual(t, s.Vaddr, end, "no overlap")
			end = s.Vaddr + s.Memsz
			assert.LessOrEqual(t, img.Low, s.Vaddr)
			assert.GreaterOrEqual(t, img.High, s.Vaddr+s.Memsz)
		}
		if s.Prot&ProtExec != 0 && img.Entry >= s.Vaddr && img.Entry < s.Vaddr+s.Memsz {
			entryOK = true
		}
	}
	assert.True(t, entryOK, "entry inside an executable segment")
	assert.Zero(t, img.Low%pageSize)
	assert.Zero(t, img.High%pageSize)
	assert.Less(t, img.Low, img.High)
	assert.LessOrEqual(t, img.High, uint64(userEnd))
}
