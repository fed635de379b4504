package vdsoimage

import (
	"crypto/sha1"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
)

// The ELF writer. The image is one R+X PT_LOAD at address 0 holding the whole
// file, in this order (as Linux's vdso-layout.lds.S, except that .text comes
// last so that every table before it has a size known without the code):
//
//	ELF header, program headers
//	.hash .gnu.hash .dynsym .dynstr .gnu.version .gnu.version_d .dynamic
//	.note .eh_frame_hdr .eh_frame .text .shstrtab, section headers, padding
//
// Every address is an offset from the image base.

const (
	soname         = "linux-vdso.so.1"
	versionName    = "LINUX_2.6"
	ehdrSize       = 64
	phdrSize       = 56
	shdrSize       = 64
	symSize        = 24
	dynSize        = 16
	verdefSize     = 20
	verdauxSize    = 8
	numPhdrs       = 4
	cieSize        = 24
	fdeSize        = 24
	buildIDSize    = sha1.Size
	bloomShift     = 6
	versionBaseNdx = 1 // the verdef entry naming the object itself
	versionNdx     = 2 // LINUX_2.6
)

// DefaultLinuxVersion is the LINUX_VERSION_CODE written in the version note
// when Options.LinuxVersion is zero: 6.1.0.
const DefaultLinuxVersion = 6<<16 | 1<<8 | 0

// Section indices.
const (
	shNull = iota
	shHash
	shGnuHash
	shDynsym
	shDynstr
	shVersym
	shVerdef
	shDynamic
	shNote
	shEhFrameHdr
	shEhFrame
	shText
	shShstrtab
	numSections
)

var sectionNames = [numSections]string{"", ".hash", ".gnu.hash", ".dynsym", ".dynstr",
	".gnu.version", ".gnu.version_d", ".dynamic", ".note", ".eh_frame_hdr", ".eh_frame",
	".text", ".shstrtab"}

// section is one section's place in the file (= its address) and size.
type section struct {
	off, size int
}

// dynSymbol is one entry of .dynsym after the null symbol.
type dynSymbol struct {
	name  string
	value uint64
	size  uint64
	bind  elf.SymBind
}

// sysvHash is the ELF hash function of DT_HASH and vd_hash.
func sysvHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
		}
		h &^= 0xf0000000
	}
	return h
}

// gnuHash is the hash function of DT_GNU_HASH (Bernstein's, h*33 + c).
func gnuHash(name string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(name); i++ {
		h = h*33 + uint32(name[i])
	}
	return h
}

// strtab accumulates a string table.
type strtab struct {
	b   []byte
	off map[string]int
}

func newStrtab() *strtab { return &strtab{b: []byte{0}, off: map[string]int{"": 0}} }

func (t *strtab) add(s string) int {
	if o, ok := t.off[s]; ok {
		return o
	}
	o := len(t.b)
	t.b = append(append(t.b, s...), 0)
	t.off[s] = o
	return o
}

func align(n, a int) int { return (n + a - 1) / a * a }

// elfLayout computes where every section goes.
type elfLayout struct {
	sec      [numSections]section
	shoff    int
	size     int // total, a multiple of PageSize
	nbuckets int // both hash tables use the same count
	bloom    int // 64-bit bloom words
	noteDesc int // offset of the build id's descriptor
}

// dynamic tags, in order.
var dynTags = []elf.DynTag{elf.DT_HASH, elf.DT_GNU_HASH, elf.DT_STRTAB, elf.DT_SYMTAB,
	elf.DT_STRSZ, elf.DT_SYMENT, elf.DT_SONAME, elf.DT_VERSYM, elf.DT_VERDEF,
	elf.DT_VERDEFNUM, elf.DT_NULL}

// The note: "Linux" version note (type 0, LINUX_VERSION_CODE) and a GNU
// build id (type NT_GNU_BUILD_ID), each name and descriptor padded to 4.
const (
	noteLinuxSize = 12 + 8 + 4
	noteGNUSize   = 12 + 4 + buildIDSize
	ntGNUBuildID  = 3
)

func layout(nsyms, dynstrSize, nfuncs, textSize int) elfLayout {
	var l elfLayout
	l.nbuckets = nsyms/4 + 1
	l.bloom = 1
	off := ehdrSize + numPhdrs*phdrSize
	place := func(i, alignment, size int) {
		off = align(off, alignment)
		l.sec[i] = section{off: off, size: size}
		off += size
	}
	place(shHash, 8, 4*(2+l.nbuckets+nsyms))
	place(shGnuHash, 8, 16+8*l.bloom+4*l.nbuckets+4*(nsyms-1))
	place(shDynsym, 8, symSize*nsyms)
	place(shDynstr, 1, dynstrSize)
	place(shVersym, 2, 2*nsyms)
	place(shVerdef, 8, 2*(verdefSize+verdauxSize))
	place(shDynamic, 8, dynSize*len(dynTags))
	place(shNote, 4, noteLinuxSize+noteGNUSize)
	place(shEhFrameHdr, 4, 12+8*nfuncs)
	place(shEhFrame, 8, cieSize+fdeSize*nfuncs+4)
	place(shText, 16, textSize)
	l.noteDesc = l.sec[shNote].off + noteLinuxSize + 12 + 4
	shstr := 0
	for _, n := range sectionNames {
		shstr += len(n) + 1
	}
	place(shShstrtab, 1, shstr)
	l.shoff = align(off, 8)
	l.size = align(l.shoff+numSections*shdrSize, PageSize)
	return l
}

// writer puts little-endian values into the image.
type writer []byte

func (w writer) u8(off int, v uint8)   { w[off] = v }
func (w writer) u16(off int, v uint16) { binary.LittleEndian.PutUint16(w[off:], v) }
func (w writer) u32(off int, v uint32) { binary.LittleEndian.PutUint32(w[off:], v) }
func (w writer) u64(off int, v uint64) { binary.LittleEndian.PutUint64(w[off:], v) }

// link lays out the ELF image, assembles the code at its final address and
// writes every table.
func link(opts Options) (*Image, error) {
	// First pass: the code's size, which does not depend on its address.
	probe, err := assemble(0)
	if err != nil {
		return nil, err
	}

	// Dynamic symbols: __vdso_NAME (global) and NAME (weak) for each function.
	// Their values are filled in once .text has an address.
	var syms []dynSymbol
	for _, f := range probe.funcs {
		syms = append(syms,
			dynSymbol{name: "__vdso_" + f.name, size: uint64(f.size), bind: elf.STB_GLOBAL},
			dynSymbol{name: f.name, size: uint64(f.size), bind: elf.STB_WEAK})
	}
	nsyms := len(syms) + 1
	l := layout(nsyms, 0, len(probe.funcs), len(probe.code))

	// DT_GNU_HASH requires the hashed symbols sorted by bucket.
	sort.SliceStable(syms, func(i, j int) bool {
		return gnuHash(syms[i].name)%uint32(l.nbuckets) < gnuHash(syms[j].name)%uint32(l.nbuckets)
	})
	dynstr := newStrtab()
	nameOff := make([]int, len(syms))
	for i, s := range syms {
		nameOff[i] = dynstr.add(s.name)
	}
	sonameOff := dynstr.add(soname)
	versionOff := dynstr.add(versionName)
	l = layout(nsyms, len(dynstr.b), len(probe.funcs), len(probe.code))

	// Second pass: the code at its address.
	textAddr := l.sec[shText].off
	code, err := assemble(int64(textAddr))
	if err != nil {
		return nil, err
	}
	if len(code.code) != len(probe.code) {
		return nil, fmt.Errorf("vdsoimage: code size changed with its address (%d, %d)", len(probe.code), len(code.code))
	}
	funcAddr := map[string]uint64{}
	for _, f := range code.funcs {
		funcAddr["__vdso_"+f.name] = uint64(textAddr + f.start)
		funcAddr[f.name] = uint64(textAddr + f.start)
	}
	for i := range syms {
		syms[i].value = funcAddr[syms[i].name]
	}

	w := writer(make([]byte, l.size))
	writeEhdr(w, &l)
	writePhdrs(w, &l)
	writeHash(w, &l, syms)
	writeGnuHash(w, &l, syms)
	writeDynsym(w, &l, syms, nameOff)
	copy(w[l.sec[shDynstr].off:], dynstr.b)
	writeVersym(w, &l, nsyms)
	writeVerdef(w, &l, sonameOff, versionOff)
	writeDynamic(w, &l, len(dynstr.b), sonameOff)
	writeNote(w, &l, opts)
	writeEhFrame(w, &l, textAddr, code.funcs)
	copy(w[textAddr:], code.code)
	writeShdrs(w, &l)

	// The build id is the SHA-1 of the image with the id itself zeroed, as
	// ld --build-id=sha1 computes it.
	id := sha1.Sum(w)
	copy(w[l.noteDesc:], id[:])

	im := &Image{Bytes: []byte(w), BuildID: id[:], TextOffset: uint64(textAddr), TextSize: uint64(len(code.code))}
	for _, f := range code.funcs {
		v := uint64(textAddr + f.start)
		im.Symbols = append(im.Symbols,
			Symbol{Name: "__vdso_" + f.name, Value: v, Size: uint64(f.size)},
			Symbol{Name: f.name, Value: v, Size: uint64(f.size)})
	}
	for _, o := range code.counterReads {
		im.CounterReads = append(im.CounterReads, uint64(textAddr+o))
	}
	for _, o := range code.syscalls {
		im.Syscalls = append(im.Syscalls, uint64(textAddr+o))
	}
	return im, nil
}

func writeEhdr(w writer, l *elfLayout) {
	copy(w, elf.ELFMAG)
	w.u8(elf.EI_CLASS, byte(elf.ELFCLASS64))
	w.u8(elf.EI_DATA, byte(elf.ELFDATA2LSB))
	w.u8(elf.EI_VERSION, byte(elf.EV_CURRENT))
	w.u8(elf.EI_OSABI, byte(elf.ELFOSABI_NONE))
	w.u16(16, uint16(elf.ET_DYN))
	w.u16(18, uint16(elf.EM_X86_64))
	w.u32(20, uint32(elf.EV_CURRENT))
	w.u64(24, 0) // e_entry: a shared object has none
	w.u64(32, ehdrSize)
	w.u64(40, uint64(l.shoff))
	w.u32(48, 0) // e_flags
	w.u16(52, ehdrSize)
	w.u16(54, phdrSize)
	w.u16(56, numPhdrs)
	w.u16(58, shdrSize)
	w.u16(60, numSections)
	w.u16(62, shShstrtab)
}

func writePhdrs(w writer, l *elfLayout) {
	ph := func(i int, typ elf.ProgType, flags elf.ProgFlag, off, size, alignment int) {
		p := ehdrSize + i*phdrSize
		w.u32(p, uint32(typ))
		w.u32(p+4, uint32(flags))
		w.u64(p+8, uint64(off))   // p_offset
		w.u64(p+16, uint64(off))  // p_vaddr
		w.u64(p+24, uint64(off))  // p_paddr
		w.u64(p+32, uint64(size)) // p_filesz
		w.u64(p+40, uint64(size)) // p_memsz
		w.u64(p+48, uint64(alignment))
	}
	ph(0, elf.PT_LOAD, elf.PF_R|elf.PF_X, 0, l.size, PageSize)
	ph(1, elf.PT_DYNAMIC, elf.PF_R, l.sec[shDynamic].off, l.sec[shDynamic].size, 8)
	ph(2, elf.PT_NOTE, elf.PF_R, l.sec[shNote].off, l.sec[shNote].size, 4)
	ph(3, elf.PT_GNU_EH_FRAME, elf.PF_R, l.sec[shEhFrameHdr].off, l.sec[shEhFrameHdr].size, 4)
}

// writeHash writes DT_HASH: nbucket, nchain, bucket[nbucket], chain[nchain],
// each chain ending at index 0 (STN_UNDEF).
func writeHash(w writer, l *elfLayout, syms []dynSymbol) {
	nsyms := len(syms) + 1
	p := l.sec[shHash].off
	w.u32(p, uint32(l.nbuckets))
	w.u32(p+4, uint32(nsyms))
	bucket := p + 8
	chain := bucket + 4*l.nbuckets
	// Insert from the last symbol down so each chain lists symbols in
	// table order.
	for i := len(syms) - 1; i >= 0; i-- {
		idx := uint32(i + 1)
		b := bucket + 4*int(sysvHash(syms[i].name)%uint32(l.nbuckets))
		w.u32(chain+4*int(idx), binary.LittleEndian.Uint32(w[b:]))
		w.u32(b, idx)
	}
}

// writeGnuHash writes DT_GNU_HASH: nbuckets, symoffset, bloom size, bloom
// shift, the bloom filter, the buckets (first symbol index of each bucket, or
// 0) and the chain of hashes, the low bit set on each bucket's last symbol.
// The symbols are already sorted by bucket.
func writeGnuHash(w writer, l *elfLayout, syms []dynSymbol) {
	const symoffset = 1
	p := l.sec[shGnuHash].off
	w.u32(p, uint32(l.nbuckets))
	w.u32(p+4, symoffset)
	w.u32(p+8, uint32(l.bloom))
	w.u32(p+12, bloomShift)
	bloom := p + 16
	buckets := bloom + 8*l.bloom
	chain := buckets + 4*l.nbuckets
	for i, s := range syms {
		h := gnuHash(s.name)
		word := bloom + 8*int(h/64%uint32(l.bloom))
		bits := binary.LittleEndian.Uint64(w[word:]) | 1<<(h%64) | 1<<((h>>bloomShift)%64)
		w.u64(word, bits)

		b := int(h % uint32(l.nbuckets))
		if binary.LittleEndian.Uint32(w[buckets+4*b:]) == 0 {
			w.u32(buckets+4*b, uint32(i+symoffset))
		}
		v := h &^ 1
		if i == len(syms)-1 || gnuHash(syms[i+1].name)%uint32(l.nbuckets) != uint32(b) {
			v |= 1
		}
		w.u32(chain+4*i, v)
	}
}

func writeDynsym(w writer, l *elfLayout, syms []dynSymbol, nameOff []int) {
	p := l.sec[shDynsym].off + symSize // entry 0 stays null
	for i, s := range syms {
		w.u32(p, uint32(nameOff[i]))
		w.u8(p+4, byte(s.bind)<<4|byte(elf.STT_FUNC))
		w.u8(p+5, byte(elf.STV_DEFAULT))
		w.u16(p+6, shText)
		w.u64(p+8, s.value)
		w.u64(p+16, s.size)
		p += symSize
	}
}

func writeVersym(w writer, l *elfLayout, nsyms int) {
	p := l.sec[shVersym].off
	w.u16(p, 0) // the null symbol: local
	for i := 1; i < nsyms; i++ {
		w.u16(p+2*i, versionNdx)
	}
}

// writeVerdef writes two version definitions: index 1 (VER_FLG_BASE) names
// the object, index 2 is LINUX_2.6.
func writeVerdef(w writer, l *elfLayout, sonameOff, versionOff int) {
	p := l.sec[shVerdef].off
	def := func(p int, flags, ndx uint16, name string, nameOff int, last bool) {
		w.u16(p, 1) // vd_version
		w.u16(p+2, flags)
		w.u16(p+4, ndx)
		w.u16(p+6, 1) // vd_cnt
		w.u32(p+8, sysvHash(name))
		w.u32(p+12, verdefSize) // vd_aux: right after
		if !last {
			w.u32(p+16, verdefSize+verdauxSize) // vd_next
		}
		w.u32(p+verdefSize, uint32(nameOff)) // vda_name; vda_next = 0
	}
	def(p, uint16(elf.VER_FLG_BASE), versionBaseNdx, soname, sonameOff, false)
	def(p+verdefSize+verdauxSize, 0, versionNdx, versionName, versionOff, true)
}

func writeDynamic(w writer, l *elfLayout, dynstrSize, sonameOff int) {
	val := map[elf.DynTag]uint64{
		elf.DT_HASH:      uint64(l.sec[shHash].off),
		elf.DT_GNU_HASH:  uint64(l.sec[shGnuHash].off),
		elf.DT_STRTAB:    uint64(l.sec[shDynstr].off),
		elf.DT_SYMTAB:    uint64(l.sec[shDynsym].off),
		elf.DT_STRSZ:     uint64(dynstrSize),
		elf.DT_SYMENT:    symSize,
		elf.DT_SONAME:    uint64(sonameOff),
		elf.DT_VERSYM:    uint64(l.sec[shVersym].off),
		elf.DT_VERDEF:    uint64(l.sec[shVerdef].off),
		elf.DT_VERDEFNUM: 2,
		elf.DT_NULL:      0,
	}
	p := l.sec[shDynamic].off
	for i, tag := range dynTags {
		w.u64(p+dynSize*i, uint64(tag))
		w.u64(p+dynSize*i+8, val[tag])
	}
}

func writeNote(w writer, l *elfLayout, opts Options) {
	version := opts.LinuxVersion
	if version == 0 {
		version = DefaultLinuxVersion
	}
	p := l.sec[shNote].off
	w.u32(p, 6) // namesz: "Linux\0"
	w.u32(p+4, 4)
	w.u32(p+8, 0)
	copy(w[p+12:], "Linux")
	w.u32(p+20, version)
	p += noteLinuxSize
	w.u32(p, 4) // namesz: "GNU\0"
	w.u32(p+4, buildIDSize)
	w.u32(p+8, ntGNUBuildID)
	copy(w[p+12:], "GNU")
}

// DWARF call frame information constants.
const (
	dwCFADefCFA    = 0x0c
	dwCFAOffset    = 0x80 // | register
	dwEHPEudata4   = 0x03
	dwEHPEsdata4   = 0x0b
	dwEHPEpcrel    = 0x10
	dwEHPEdatarel  = 0x30
	dwRegRSP       = 7
	dwRegRIP       = 16 // the return address column
	cfaDataAlign   = -8
	ehFrameVersion = 1
)

// writeEhFrame writes .eh_frame (one CIE, one FDE per function, a zero
// terminator) and .eh_frame_hdr (with its sorted search table). No function
// moves rsp, so the CIE's initial rules (CFA = rsp+8, return address at
// CFA-8) hold everywhere and the FDEs have no instructions.
func writeEhFrame(w writer, l *elfLayout, textAddr int, fns []codeFunc) {
	eh := l.sec[shEhFrame].off
	cie := []byte{
		0, 0, 0, 0, // CIE id
		ehFrameVersion,
		'z', 'R', 0, // augmentation: has data; R = FDE pointer encoding
		1,                          // code alignment factor (uleb128)
		byte(cfaDataAlign & 0x7f),  // data alignment factor (sleb128 -8)
		dwRegRIP,                   // return address register
		1,                          // augmentation data length
		dwEHPEpcrel | dwEHPEsdata4, // FDE pointers: pc-relative, signed 32-bit
		dwCFADefCFA, dwRegRSP, 8,   // CFA = rsp + 8
		dwCFAOffset | dwRegRIP, 1, // return address at CFA + 1*(-8)
	}
	w.u32(eh, cieSize-4)
	copy(w[eh+4:], cie) // the rest up to cieSize is DW_CFA_nop (0)

	hdr := l.sec[shEhFrameHdr].off
	w.u8(hdr, 1) // version
	w.u8(hdr+1, dwEHPEpcrel|dwEHPEsdata4)
	w.u8(hdr+2, dwEHPEudata4)
	w.u8(hdr+3, dwEHPEdatarel|dwEHPEsdata4)
	w.u32(hdr+4, uint32(int32(eh-(hdr+4))))
	w.u32(hdr+8, uint32(len(fns)))

	// Functions are laid out in increasing address order, as the search
	// table must be.
	for i, f := range fns {
		fde := eh + cieSize + i*fdeSize
		start := textAddr + f.start
		w.u32(fde, fdeSize-4)
		w.u32(fde+4, uint32(fde+4-eh))              // CIE pointer: back to the CIE
		w.u32(fde+8, uint32(int32(start-(fde+8))))  // pc_begin, pc-relative
		w.u32(fde+12, uint32(f.size))               // pc_range
		w.u8(fde+16, 0)                             // augmentation data length
		w.u32(hdr+12+8*i, uint32(int32(start-hdr))) // initial location
		w.u32(hdr+16+8*i, uint32(int32(fde-hdr)))   // FDE address
	}
	// The 4-byte zero terminator after the last FDE is already zero.
}

func writeShdrs(w writer, l *elfLayout) {
	shstr := newStrtab()
	nameOff := make([]int, numSections)
	for i, n := range sectionNames {
		nameOff[i] = shstr.add(n)
	}
	copy(w[l.sec[shShstrtab].off:], shstr.b)

	type shdr struct {
		typ       elf.SectionType
		flags     elf.SectionFlag
		link      int
		info      int
		alignment int
		entsize   int
	}
	alloc := elf.SHF_ALLOC
	hdrs := [numSections]shdr{
		shHash:       {elf.SHT_HASH, alloc, shDynsym, 0, 8, 4},
		shGnuHash:    {elf.SHT_GNU_HASH, alloc, shDynsym, 0, 8, 0},
		shDynsym:     {elf.SHT_DYNSYM, alloc, shDynstr, 1, 8, symSize},
		shDynstr:     {elf.SHT_STRTAB, alloc, 0, 0, 1, 0},
		shVersym:     {elf.SHT_GNU_VERSYM, alloc, shDynsym, 0, 2, 2},
		shVerdef:     {elf.SHT_GNU_VERDEF, alloc, shDynstr, 2, 8, 0},
		shDynamic:    {elf.SHT_DYNAMIC, alloc, shDynstr, 0, 8, dynSize},
		shNote:       {elf.SHT_NOTE, alloc, 0, 0, 4, 0},
		shEhFrameHdr: {elf.SHT_PROGBITS, alloc, 0, 0, 4, 0},
		shEhFrame:    {elf.SHT_PROGBITS, alloc, 0, 0, 8, 0},
		shText:       {elf.SHT_PROGBITS, alloc | elf.SHF_EXECINSTR, 0, 0, 16, 0},
		shShstrtab:   {elf.SHT_STRTAB, 0, 0, 0, 1, 0},
	}
	if len(shstr.b) != l.sec[shShstrtab].size {
		panic("vdsoimage: .shstrtab size mismatch")
	}
	for i := 1; i < numSections; i++ {
		h := hdrs[i]
		p := l.shoff + i*shdrSize
		addr := uint64(l.sec[i].off)
		if h.flags&elf.SHF_ALLOC == 0 {
			addr = 0
		}
		w.u32(p, uint32(nameOff[i]))
		w.u32(p+4, uint32(h.typ))
		w.u64(p+8, uint64(h.flags))
		w.u64(p+16, addr)
		w.u64(p+24, uint64(l.sec[i].off))
		w.u64(p+32, uint64(l.sec[i].size))
		w.u32(p+40, uint32(h.link))
		w.u32(p+44, uint32(h.info))
		w.u64(p+48, uint64(h.alignment))
		w.u64(p+56, uint64(h.entsize))
	}
}
