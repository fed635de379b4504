package mm

import (
	"bytes"
	"strings"

	"vemu/emu"
)

// CoreSegment is one mapping as a core dump records it: a PT_LOAD of Start..End whose
// first Dump bytes the file holds.
type CoreSegment struct {
	Start, End Addr
	Prot       Prot // as the guest sees it (the vsyscall page is executable)
	// Dump is what Linux's vma_dump_size() decides under the default coredump_filter
	// (0x33: anonymous private and shared memory, ELF headers): the whole mapping, its
	// first page, or nothing.
	Dump uint64
	// File is set for a mapping of a file, named Name, at FileOff (for NT_FILE).
	File    bool
	Name    string
	FileOff uint64
	vmas    []*VMA
}

// The bits of a coredump_filter (Linux's MMF_DUMP_*), and its default.
const (
	DumpAnonPrivate   = 1 << 0
	DumpAnonShared    = 1 << 1
	DumpFilePrivate   = 1 << 2
	DumpFileShared    = 1 << 3
	DumpELFHeaders    = 1 << 4
	DumpFilterBits    = 9
	DumpFilterDefault = 0x33
)

// CoreSegments lists the mappings for a core dump, in address order, the pieces of one
// mapping kept apart for the CPU as one; filter (coredump_filter's bits) says which kinds
// of mapping are dumped.
func (s *Space) CoreSegments(filter uint32) []CoreSegment {
	s.Refresh() // a file shrunk by another process: its lost pages are left out
	var segs []CoreSegment
	for x := s.vmas.first; x != nil; x = x.next {
		v := x.v
		seg := CoreSegment{Start: v.Start, End: v.End, Prot: v.Prot, Name: v.Name, FileOff: v.FileOff,
			File: strings.HasPrefix(v.Name, "/"), vmas: []*VMA{v}}
		for x.next != nil && continues(x.v, x.next.v) {
			x = x.next
			seg.vmas = append(seg.vmas, x.v)
			seg.End = x.v.End
		}
		if p := v.MapsPerm; p != "" {
			seg.Prot = 0
			if p[0] == 'r' {
				seg.Prot |= emu.ProtRead
			}
			if p[1] == 'w' {
				seg.Prot |= emu.ProtWrite
			}
			if p[2] == 'x' {
				seg.Prot |= emu.ProtExec
			}
		}
		seg.Dump = s.dumpSize(&seg, filter)
		segs = append(segs, seg)
	}
	return segs
}

// dumpSize is Linux's vma_dump_size() for seg under filter, with what vemu knows of its
// pages.
func (s *Space) dumpSize(seg *CoreSegment, filter uint32) uint64 {
	v := seg.vmas[0]
	whole := uint64(seg.End - seg.Start)
	wholeIf := func(bit uint32) uint64 {
		if filter&bit != 0 {
			return whole
		}
		return 0
	}
	switch {
	case v.Name == "[vdso]" || v.Name == "[vvar]" || v.Name == "[vsyscall]":
		return whole // always dumped, as Linux's always_dump_vma()
	case v.Bus:
		return 0 // a shared file mapping past its file's end
	case v.Prot == 0:
		return 0 // no access: nothing the guest could have left there to read
	case v.Shared && v.back.ar == nil:
		// A shared file mapping: only a file without a name (System V memory, a memfd:
		// Linux's i_nlink == 0) counts as anonymous shared memory.
		if strings.HasSuffix(v.Name, " (deleted)") {
			return wholeIf(DumpAnonShared)
		}
		return wholeIf(DumpFileShared)
	case v.back.frozen != nil:
		// A private file mapping: whole once written (Linux's anon_vma) or with the
		// filter's file bit; else the first page of an ELF file, to say what was
		// mapped there.
		for _, w := range seg.vmas {
			if w.back.written.Load() && filter&DumpAnonPrivate != 0 {
				return whole
			}
		}
		if filter&DumpFilePrivate != 0 {
			return whole
		}
		if filter&DumpELFHeaders != 0 && v.FileOff == 0 && v.Prot&emu.ProtRead != 0 &&
			bytes.HasPrefix(v.host(), []byte("\x7fELF")) {
			return PageSize
		}
		return 0
	}
	bit := uint32(DumpAnonPrivate)
	if v.Shared {
		bit = DumpAnonShared
	}
	if filter&bit == 0 {
		return 0
	}
	// Anonymous memory (and private file copies): whole once a page of it was touched.
	touched := false
	for _, w := range seg.vmas {
		w.back.extents(w.off, w.Len(), func(lo, hi uint64) bool {
			touched = true
			return false
		})
		if touched {
			return whole
		}
	}
	return 0
}

// coreChunk bounds one piece that CoreData hands over.
const coreChunk = 1 << 20

// CoreData calls f with the bytes of seg's dumped part that hold data on the host, in
// order, in pieces of at most 1 MiB; the rest reads as zero and is never touched (a hole
// in the file, as Linux's dump_skip leaves one). f returns false to stop.
func (s *Space) CoreData(seg *CoreSegment, f func(at Addr, b []byte) bool) bool {
	end := seg.Start + Addr(seg.Dump)
	for _, v := range seg.vmas {
		if v.Start >= end {
			break
		}
		stop := min(end, v.End)
		n := uint64(stop - v.Start)
		ok := true
		emit := func(lo, hi uint64) bool {
			for at := lo; at < hi && ok; at += coreChunk {
				e := min(hi, at+coreChunk)
				ok = f(v.Start+Addr(at-v.off), v.back.mem[at:e])
			}
			return ok
		}
		switch {
		case v.back.ar != nil:
			v.back.extents(v.off, n, emit)
		case v.Shared:
			// A shared host mapping (System V memory, a memfd): the pages the host has.
			// Reading the others would make them.
			residentRuns(v.back.mem[v.off:v.off+n], func(lo, hi uint64) bool { return emit(v.off+lo, v.off+hi) })
		default:
			emit(v.off, v.off+n)
		}
		if !ok {
			return false
		}
	}
	return true
}

// residentRuns calls f for each run of mem's pages the host holds in memory.
func residentRuns(mem []byte, f func(lo, hi uint64) bool) {
	const batch = 4096 // pages asked at once
	vec := make([]byte, batch)
	for base := uint64(0); base < uint64(len(mem)); base += batch * PageSize {
		end := min(uint64(len(mem)), base+batch*PageSize)
		pages := (end - base) / PageSize
		if mincore(mem[base:end], vec[:pages]) != nil {
			for i := range vec[:pages] {
				vec[i] = 1
			}
		}
		for i := uint64(0); i < pages; {
			if vec[i]&1 == 0 {
				i++
				continue
			}
			j := i
			for j < pages && vec[j]&1 != 0 {
				j++
			}
			if !f(base+i*PageSize, base+j*PageSize) {
				return
			}
			i = j
		}
	}
}
