package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Prot is a set of segment permissions.
type Prot uint8

// Segment permissions, with the same bits as PROT_READ, PROT_WRITE and PROT_EXEC.
const (
	ProtRead  Prot = 1
	ProtWrite Prot = 2
	ProtExec  Prot = 4
)

// String returns the permissions in the style of /proc/self/maps, e.g. "r-x".
func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Segment is one PT_LOAD (or PT_TLS) program header, validated.
type Segment struct {
	Vaddr  uint64 // p_vaddr as in the file; for a PIE the kernel adds its load bias
	Memsz  uint64
	Off    uint64 // file offset
	Filesz uint64
	Prot   Prot
	Index  int // program header index, for messages
}

// Image is the plan for loading an executable, with addresses as in the file.
type Image struct {
	// PIE is set for ET_DYN files: the kernel chooses a load bias and adds it
	// to every address below.
	PIE bool
	// Entry is e_entry as in the file.
	Entry uint64
	// Segments are the PT_LOAD headers in file order, which is sorted by
	// Vaddr; their byte ranges [Vaddr, Vaddr+Memsz) do not overlap.
	Segments []Segment
	// PhdrAddr is the virtual address of the program headers in memory
	// (AT_PHDR), or 0 if they are not loaded. As Linux's load_elf_binary()
	// since 5.18, it is computed from the PT_LOAD whose file range contains
	// e_phoff; PT_PHDR is used only when no PT_LOAD does.
	PhdrAddr uint64
	Phent    uint64
	Phnum    uint64
	// Interp is the PT_INTERP path, cut at its first NUL, or "" for a static
	// program. The kernel loads that interpreter beside the program and starts
	// it instead; an interpreter's own PT_INTERP is ignored, as by Linux.
	Interp string
	// ExecStack is what Linux (5.8 and later) gives an x86-64 process: an
	// executable stack only when PT_GNU_STACK has PF_X. A file without
	// PT_GNU_STACK gets a non-executable stack on x86-64 (older kernels, and
	// 32-bit processes, made it executable); HasGNUStack tells the two apart.
	ExecStack   bool
	HasGNUStack bool
	// TLS is the PT_TLS header if present; libc sets TLS up itself.
	TLS *Segment
	// Low is the page-aligned lowest address of all PT_LOAD segments and
	// High the page-aligned end of the highest: brk starts at High.
	Low, High uint64
}

// FormatError says what is wrong with a file and where (a byte offset in it).
type FormatError struct {
	Off int64
	Msg string
	// Err is the sentinel the error wraps (ErrNotELF), or nil.
	Err error
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s (offset %#x)", e.Msg, e.Off)
}

// Unwrap returns Err, so that errors.Is(err, ErrNotELF) works.
func (e *FormatError) Unwrap() error { return e.Err }

// ErrNotELF is wrapped by Parse's error when the file does not start with the ELF
// magic.
var ErrNotELF = errors.New("not an ELF file")

const (
	pageSize = 4096
	// userEnd is TASK_SIZE_MAX on x86-64 with 4-level paging: user mappings
	// end below it.
	userEnd = 1<<47 - pageSize
	// maxPhnum bounds the program header count; Linux's own bound is lower
	// (65536 bytes of headers).
	maxPhnum = 4096
	// maxTotalMemsz bounds the sum of all PT_LOAD sizes.
	maxTotalMemsz = 1 << 40
	// pathMax is Linux's PATH_MAX, the longest PT_INTERP it accepts.
	pathMax = 4096

	ehdrSize = 64
	phdrSize = 56
)

// ELF header field offsets.
const (
	offClass     = 4
	offData      = 5
	offIdentVer  = 6
	offType      = 16
	offMachine   = 18
	offVersion   = 20
	offEntry     = 24
	offPhoff     = 32
	offPhentsize = 54
	offPhnum     = 56
)

type phdr struct {
	typ    elf.ProgType
	flags  elf.ProgFlag
	off    uint64
	vaddr  uint64
	filesz uint64
	memsz  uint64
	align  uint64
}

// Parse validates an x86-64 ELF executable or shared object (an ELF interpreter)
// and returns its load plan. Section headers are neither read nor required. A
// malformed file yields a *FormatError.
func Parse(data []byte) (*Image, error) {
	return ParseFile(bytes.NewReader(data), int64(len(data)))
}

// ParseFile is Parse for a file of size bytes read through r: it reads the ELF
// header, the program headers and the interpreter's name, and nothing else, so
// a large file costs no more than a small one. A read error is returned as is.
func ParseFile(r io.ReaderAt, fileSize int64) (*Image, error) {
	head := make([]byte, min(max(fileSize, 0), ehdrSize))
	if err := readAt(r, head, 0); err != nil {
		return nil, err
	}
	if err := checkIdent(head, fileSize); err != nil {
		return nil, err
	}
	data := head
	le := binary.LittleEndian
	if v := le.Uint32(data[offVersion:]); v != uint32(elf.EV_CURRENT) {
		return nil, ferr(offVersion, "ELF header: e_version %d, want EV_CURRENT (1)", v)
	}
	typ := elf.Type(le.Uint16(data[offType:]))
	switch typ {
	case elf.ET_EXEC, elf.ET_DYN:
	case elf.ET_REL:
		return nil, ferr(offType, "ELF header: not an executable (relocatable object)")
	case elf.ET_CORE:
		return nil, ferr(offType, "ELF header: not an executable (core dump)")
	case elf.ET_NONE:
		return nil, ferr(offType, "ELF header: not an executable (no file type)")
	default:
		return nil, ferr(offType, "ELF header: not an executable (unknown type %#x)", uint16(typ))
	}
	if m := elf.Machine(le.Uint16(data[offMachine:])); m != elf.EM_X86_64 {
		return nil, ferr(offMachine, "ELF header: machine %v, want EM_X86_64", m)
	}
	if n := le.Uint16(data[offPhentsize:]); n != phdrSize {
		return nil, ferr(offPhentsize, "ELF header: e_phentsize %d, want %d", n, phdrSize)
	}
	phnum := uint64(le.Uint16(data[offPhnum:]))
	if phnum == 0 {
		return nil, ferr(offPhnum, "ELF header: no program headers")
	}
	if phnum > maxPhnum {
		return nil, ferr(offPhnum, "ELF header: e_phnum %d is absurd (more than %d)", phnum, maxPhnum)
	}
	phoff := le.Uint64(data[offPhoff:])
	size := uint64(fileSize)
	if phoff > size || phnum*phdrSize > size-phoff {
		return nil, ferr(offPhoff, "ELF header: program header table [%#x, +%#x) is outside the file (%#x bytes)",
			phoff, phnum*phdrSize, size)
	}
	phdrs := make([]byte, phnum*phdrSize)
	if err := readAt(r, phdrs, int64(phoff)); err != nil {
		return nil, err
	}

	img := &Image{
		PIE:   typ == elf.ET_DYN,
		Entry: le.Uint64(data[offEntry:]),
		Phent: phdrSize,
		Phnum: phnum,
	}
	var (
		hasInterp bool
		phdrVaddr uint64
		hasPhdr   bool
		total     uint64
		maxEnd    uint64 // end of the highest non-empty PT_LOAD so far
		maxEndIdx = -1
		prevIdx   = -1
	)
	for i := 0; i < int(phnum); i++ {
		at := int64(phoff) + int64(i)*phdrSize
		p := readPhdr(phdrs[i*phdrSize:])
		where := fmt.Sprintf("program header %d", i)
		switch p.typ {
		case elf.PT_LOAD:
			if err := checkFileRange(p, size, where, at); err != nil {
				return nil, err
			}
			if err := checkSizes(p, where, at); err != nil {
				return nil, err
			}
			if p.align > 1 && p.filesz > 0 {
				m := min(p.align, pageSize)
				if p.vaddr%m != p.off%m {
					return nil, ferr(at, "%s: p_vaddr %#x and p_offset %#x differ modulo %#x", where, p.vaddr, p.off, m)
				}
			}
			if p.vaddr > userEnd || p.memsz > userEnd-p.vaddr {
				return nil, ferr(at, "%s: segment [%#x, +%#x) is outside user space (which ends at %#x)",
					where, p.vaddr, p.memsz, uint64(userEnd))
			}
			total += p.memsz
			if total > maxTotalMemsz {
				return nil, ferr(at, "%s: PT_LOAD segments total %#x bytes, more than 1 TiB", where, total)
			}
			if prevIdx >= 0 {
				prev := img.Segments[len(img.Segments)-1]
				if p.vaddr < prev.Vaddr {
					return nil, ferr(at, "%s: PT_LOAD at %#x is not sorted after program header %d at %#x",
						where, p.vaddr, prevIdx, prev.Vaddr)
				}
			}
			if p.memsz > 0 {
				if maxEndIdx >= 0 && p.vaddr < maxEnd {
					return nil, ferr(at, "%s: segment [%#x, %#x) overlaps program header %d (ends at %#x)",
						where, p.vaddr, p.vaddr+p.memsz, maxEndIdx, maxEnd)
				}
				maxEnd, maxEndIdx = p.vaddr+p.memsz, i
			}
			img.Segments = append(img.Segments, segment(p, i))
			prevIdx = i
		case elf.PT_INTERP:
			if err := checkFileRange(p, size, where, at); err != nil {
				return nil, err
			}
			if p.filesz > pathMax {
				return nil, ferr(at, "%s: PT_INTERP path is %#x bytes, longer than PATH_MAX", where, p.filesz)
			}
			s := make([]byte, p.filesz)
			if err := readAt(r, s, int64(p.off)); err != nil {
				return nil, err
			}
			if j := bytes.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			if len(s) == 0 {
				return nil, ferr(at, "%s: PT_INTERP path is empty", where)
			}
			if !hasInterp { // as Linux, the first one counts
				img.Interp, hasInterp = string(s), true
			}
		case elf.PT_PHDR:
			phdrVaddr, hasPhdr = p.vaddr, true
		case elf.PT_GNU_STACK:
			img.HasGNUStack = true
			img.ExecStack = p.flags&elf.PF_X != 0
		case elf.PT_TLS:
			if err := checkFileRange(p, size, where, at); err != nil {
				return nil, err
			}
			if err := checkSizes(p, where, at); err != nil {
				return nil, err
			}
			if p.vaddr > userEnd || p.memsz > userEnd-p.vaddr {
				return nil, ferr(at, "%s: PT_TLS [%#x, +%#x) is outside user space", where, p.vaddr, p.memsz)
			}
			s := segment(p, i)
			img.TLS = &s
		}
	}
	if len(img.Segments) == 0 {
		return nil, ferr(offPhoff, "program headers: no PT_LOAD segment")
	}

	entryOK := false
	for _, s := range img.Segments {
		if s.Prot&ProtExec != 0 && img.Entry >= s.Vaddr && img.Entry-s.Vaddr < s.Memsz {
			entryOK = true
			break
		}
	}
	if !entryOK {
		return nil, ferr(offEntry, "ELF header: entry point %#x is not inside an executable PT_LOAD segment", img.Entry)
	}

	img.Low, img.High = ^uint64(0), 0
	for _, s := range img.Segments {
		if s.Memsz == 0 {
			continue
		}
		img.Low = min(img.Low, pageDown(s.Vaddr))
		img.High = max(img.High, pageUp(s.Vaddr+s.Memsz))
	}

	for _, s := range img.Segments {
		if s.Off <= phoff && phoff-s.Off < s.Filesz {
			img.PhdrAddr = s.Vaddr + (phoff - s.Off)
			break
		}
	}
	if img.PhdrAddr == 0 && hasPhdr {
		img.PhdrAddr = phdrVaddr
	}
	return img, nil
}

// readAt fills b from r at off.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read at %#x: %w", off, err)
}

// checkIdent checks the ELF identification and that the header is complete; data is
// the start of a file of size bytes.
func checkIdent(data []byte, size int64) error {
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		if size == 0 {
			return &FormatError{Off: 0, Msg: "not an ELF file: the file is empty", Err: ErrNotELF}
		}
		n := min(len(data), 4)
		return &FormatError{Off: 0, Msg: fmt.Sprintf("not an ELF file: bad magic %q", data[:n]), Err: ErrNotELF}
	}
	if size < ehdrSize {
		return ferr(size, "truncated ELF header: file is %d bytes, the header needs %d", size, ehdrSize)
	}
	switch c := elf.Class(data[offClass]); c {
	case elf.ELFCLASS64:
	case elf.ELFCLASS32:
		return ferr(offClass, "ELF header: 32-bit file (ELFCLASS32), only x86-64 (ELFCLASS64) is supported")
	default:
		return ferr(offClass, "ELF header: bad class %d, want ELFCLASS64", uint8(c))
	}
	switch d := elf.Data(data[offData]); d {
	case elf.ELFDATA2LSB:
	case elf.ELFDATA2MSB:
		return ferr(offData, "ELF header: big-endian file (ELFDATA2MSB), want little-endian")
	default:
		return ferr(offData, "ELF header: bad data encoding %d, want ELFDATA2LSB", uint8(d))
	}
	if v := data[offIdentVer]; v != byte(elf.EV_CURRENT) {
		return ferr(offIdentVer, "ELF header: ident version %d, want EV_CURRENT (1)", v)
	}
	return nil
}

func readPhdr(b []byte) phdr {
	le := binary.LittleEndian
	return phdr{
		typ:    elf.ProgType(le.Uint32(b[0:])),
		flags:  elf.ProgFlag(le.Uint32(b[4:])),
		off:    le.Uint64(b[8:]),
		vaddr:  le.Uint64(b[16:]),
		filesz: le.Uint64(b[32:]),
		memsz:  le.Uint64(b[40:]),
		align:  le.Uint64(b[48:]),
	}
}

func checkFileRange(p phdr, size uint64, where string, at int64) error {
	if p.off > size || p.filesz > size-p.off {
		return ferr(at, "%s: %v file range [%#x, +%#x) is outside the file (%#x bytes)", where, p.typ, p.off, p.filesz, size)
	}
	return nil
}

func checkSizes(p phdr, where string, at int64) error {
	if p.filesz > p.memsz {
		return ferr(at, "%s: %v p_filesz %#x is larger than p_memsz %#x", where, p.typ, p.filesz, p.memsz)
	}
	if p.align&(p.align-1) != 0 {
		return ferr(at, "%s: %v p_align %#x is not a power of two", where, p.typ, p.align)
	}
	return nil
}

func segment(p phdr, i int) Segment {
	var prot Prot
	if p.flags&elf.PF_R != 0 {
		prot |= ProtRead
	}
	if p.flags&elf.PF_W != 0 {
		prot |= ProtWrite
	}
	if p.flags&elf.PF_X != 0 {
		prot |= ProtExec
	}
	return Segment{Vaddr: p.vaddr, Memsz: p.memsz, Off: p.off, Filesz: p.filesz, Prot: prot, Index: i}
}

func ferr(off int64, format string, args ...any) *FormatError {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}

func pageDown(a uint64) uint64 { return a &^ (pageSize - 1) }

// pageUp rounds a up to a page boundary; callers keep a at or below userEnd.
func pageUp(a uint64) uint64 { return (a + pageSize - 1) &^ (pageSize - 1) }
