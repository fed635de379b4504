package loader

import (
	"debug/elf"
	"encoding/binary"
)

// tPhdr is a program header as the test writer lays it out.
type tPhdr struct {
	Type                                    elf.ProgType
	Flags                                   elf.ProgFlag
	Off, Vaddr, Paddr, Filesz, Memsz, Align uint64
}

// tELF is a minimal ELF executable that tests build and then corrupt.
type tELF struct {
	Ident     [16]byte
	Type      elf.Type
	Machine   elf.Machine
	Version   uint32
	Entry     uint64
	Phoff     uint64
	Phentsize uint16
	Phnum     uint16
	Phdrs     []tPhdr
	Size      int               // file size
	Fill      map[uint64][]byte // bytes placed at file offsets
}

// exitCode is "mov eax, 60; xor edi, edi; syscall": exit(0).
var exitCode = []byte{0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05}

// Indexes of the headers of newTestELF.
const (
	hPhdr = iota
	hText0
	hText
	hData
	hStack
	hTLS
)

// newTestELF returns a valid static executable that exits with status 0:
// a read-only PT_LOAD holding the headers, an executable one, a writable one
// with bss, PT_PHDR, PT_GNU_STACK and PT_TLS.
func newTestELF() *tELF {
	e := &tELF{
		Type:      elf.ET_EXEC,
		Machine:   elf.EM_X86_64,
		Version:   1,
		Entry:     0x401000,
		Phoff:     64,
		Phentsize: 56,
		Size:      0x3000,
		Fill:      map[uint64][]byte{0x1000: exitCode},
	}
	copy(e.Ident[:], elf.ELFMAG)
	e.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	e.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	e.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	e.Phdrs = []tPhdr{
		hPhdr:  {Type: elf.PT_PHDR, Flags: elf.PF_R, Off: 64, Vaddr: 0x400040, Filesz: 6 * 56, Memsz: 6 * 56, Align: 8},
		hText0: {Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0, Vaddr: 0x400000, Filesz: 0x200, Memsz: 0x200, Align: 0x1000},
		hText:  {Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x1000, Vaddr: 0x401000, Filesz: 0x100, Memsz: 0x100, Align: 0x1000},
		hData:  {Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x2000, Vaddr: 0x402000, Filesz: 0x80, Memsz: 0x1800, Align: 0x1000},
		hStack: {Type: elf.PT_GNU_STACK, Flags: elf.PF_R | elf.PF_W, Align: 16},
		hTLS:   {Type: elf.PT_TLS, Flags: elf.PF_R, Off: 0x2000, Vaddr: 0x402000, Filesz: 0x10, Memsz: 0x20, Align: 8},
	}
	e.Phnum = uint16(len(e.Phdrs))
	return e
}

// bytes writes the file. Program headers that do not fit are left out.
func (e *tELF) bytes() []byte {
	b := make([]byte, max(e.Size, 64))
	le := binary.LittleEndian
	copy(b, e.Ident[:])
	le.PutUint16(b[16:], uint16(e.Type))
	le.PutUint16(b[18:], uint16(e.Machine))
	le.PutUint32(b[20:], e.Version)
	le.PutUint64(b[24:], e.Entry)
	le.PutUint64(b[32:], e.Phoff)
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], e.Phentsize)
	le.PutUint16(b[56:], e.Phnum)
	le.PutUint16(b[58:], 64)
	for off, v := range e.Fill {
		if off < uint64(len(b)) {
			copy(b[off:], v)
		}
	}
	for i, p := range e.Phdrs {
		at := e.Phoff + uint64(i)*56
		if at < e.Phoff || at > uint64(len(b)) || uint64(len(b))-at < 56 {
			break
		}
		h := b[at:]
		le.PutUint32(h[0:], uint32(p.Type))
		le.PutUint32(h[4:], uint32(p.Flags))
		le.PutUint64(h[8:], p.Off)
		le.PutUint64(h[16:], p.Vaddr)
		le.PutUint64(h[24:], p.Paddr)
		le.PutUint64(h[32:], p.Filesz)
		le.PutUint64(h[40:], p.Memsz)
		le.PutUint64(h[48:], p.Align)
	}
	return b[:e.Size]
}

// addInterp appends a PT_INTERP naming path, stored at file offset 0x300.
func (e *tELF) addInterp(path string) {
	s := append([]byte(path), 0)
	e.Fill[0x300] = s
	e.Phdrs = append(e.Phdrs, tPhdr{Type: elf.PT_INTERP, Flags: elf.PF_R, Off: 0x300, Vaddr: 0x400300, Filesz: uint64(len(s)), Memsz: uint64(len(s)), Align: 1})
	e.Phnum = uint16(len(e.Phdrs))
	e.Phdrs[hPhdr].Filesz = uint64(len(e.Phdrs)) * 56
	e.Phdrs[hPhdr].Memsz = e.Phdrs[hPhdr].Filesz
}

// pie turns the file into a static PIE linked at address 0.
func (e *tELF) pie() {
	e.Type = elf.ET_DYN
	e.Entry -= 0x400000
	for i := range e.Phdrs {
		if e.Phdrs[i].Vaddr != 0 {
			e.Phdrs[i].Vaddr -= 0x400000
		}
	}
}
