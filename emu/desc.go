package emu

/*
#include "hooks.h"
*/
import "C"

import (
	"unsafe"

	"golang.org/x/arch/x86/x86asm"
	"golang.org/x/sys/unix"
)

// The CPU's descriptor tables. A segment load (mov to a segment register, pop fs, lgs,
// a far jump or return, iret, lar...) reads an 8-byte descriptor from the GDT or the LDT,
// which the CPU finds by linear address, through the same TLB as the guest's own loads.
// The tables live in host memory vemu allocates, mapped at DescBase, in the kernel's half
// of the address space where no guest mapping can be; the TLB fill hook refuses every
// access there, and the refusal comes to Go (refused), which allows it once when the
// faulting instruction is a segment load and the access is not one of the instruction's
// own operands: the read then fills a TLB entry of the CPU's kernel access mode only (the
// mode descriptor reads use), which guest loads and stores never look up. So the guest
// reads a descriptor only by loading it, and never writes one.

// DescBase is the guest address of the GDT; the LDT follows at DescBase+LDTOffset.
const (
	DescBase   = 0xfffffe0000000000
	GDTEntries = 16 // as Linux's GDT_ENTRIES on x86-64
	LDTOffset  = PageSize
	LDTEntries = 8192 // as Linux's LDT_ENTRIES
	descSize   = LDTOffset + LDTEntries*8
)

// descTables maps the descriptor tables; called once per engine.
func (e *Engine) descTables() error {
	mem, err := unix.Mmap(-1, 0, descSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return &Error{Op: "descriptor tables", Msg: err.Error()}
	}
	// SAFETY: mem is host memory outside the Go heap, unmapped only by Close after the
	// engine (and its region over mem) is gone.
	code := C.vemu_desc_tables(e.uc, e.st, DescBase, descSize, C.uintptr_t(uintptr(unsafe.Pointer(&mem[0]))),
		GDTEntries*8-1, LDTOffset, LDTEntries*8-1)
	if err := ucErr("descriptor tables", code); err != nil {
		unix.Munmap(mem)
		return err
	}
	e.desc = mem
	return nil
}

// GDT returns the CPU's global descriptor table, one descriptor in each element; the CPU
// reads what Go writes there at its next segment load.
func (e *Engine) GDT() []uint64 {
	if e.desc == nil {
		return nil
	}
	// SAFETY: e.desc is a page-aligned host mapping of descSize bytes that lives as long
	// as the engine; the GDT is its first GDTEntries*8 bytes.
	return unsafe.Slice((*uint64)(unsafe.Pointer(&e.desc[0])), GDTEntries)
}

// LDT returns the CPU's local descriptor table (LDTEntries descriptors; the CPU's LDT
// register always spans them all, and an empty descriptor faults as one past the end).
func (e *Engine) LDT() []uint64 {
	if e.desc == nil {
		return nil
	}
	// SAFETY: as in GDT; the LDT is the LDTEntries*8 bytes at LDTOffset.
	return unsafe.Slice((*uint64)(unsafe.Pointer(&e.desc[LDTOffset])), LDTEntries)
}

// LoadSegment loads sel into the segment register r (DS, ES, FS or GS) as a mov at
// privilege level 3 would, descriptor and all; a selector whose descriptor would fault
// leaves the null selector there, as Linux's loadsegment does. For FS and GS the base
// becomes the descriptor's.
func (e *Engine) LoadSegment(r Reg, sel uint16) {
	if sel&^3 != 0 && !e.dataLoadable(sel) {
		sel = 0
	}
	e.SetReg(r, uint64(sel))
}

// dataLoadable says whether a mov of the non-null selector sel into a data segment
// register at privilege level 3 succeeds (the checks of the SDM's MOV: within the
// table, a code or data segment, data or readable code, of DPL 3 unless conforming
// code, present). Unicorn's register write must not meet a faulting descriptor: its
// fault would leave through the CPU loop, which is not running.
func (e *Engine) dataLoadable(sel uint16) bool {
	d, ok := e.descriptor(sel)
	if !ok {
		return false
	}
	typ := d >> 40 & 0xf
	code, conforming, readable := typ&8 != 0, typ&4 != 0, typ&2 != 0
	dpl := d >> 45 & 3
	switch {
	case d>>44&1 == 0: // a system descriptor, or none
		return false
	case code && !readable:
		return false
	case !(code && conforming) && dpl != 3:
		return false
	}
	return d>>47&1 != 0
}

// clearDesc empties the descriptor tables (a new user of the engine sets its own).
func (e *Engine) clearDesc() {
	if e.desc != nil {
		unix.Madvise(e.desc, unix.MADV_DONTNEED)
	}
}

// inDesc says whether page belongs to the descriptor tables.
func (e *Engine) inDesc(page uint64) bool {
	return page >= uint64(e.st.desc_begin) && page < uint64(e.st.desc_end)
}

// descLoad decides on a read of the descriptor tables' page that the TLB fill hook
// refused to the instruction at rip: it allows the read once and reports true when the
// instruction loads a descriptor and none of its own memory operands is on that page.
// The allowed read fills the TLB entry of the access mode that made it: the descriptor
// read's, which the instruction (and later segment loads) then find there. Were it
// another read of the instruction's, which the decoding missed, that read would go on
// with an entry of its own and the descriptor read would be refused and allowed in turn:
// at most two rounds, and at worst the guest reads (never writes) its own descriptors,
// which modify_ldt and get_thread_area tell it anyway.
func (e *Engine) descLoad(rip, page uint64) bool {
	in, ok := e.decodeAt(rip)
	if !ok || !loadsDescriptor(in) {
		return false
	}
	for _, m := range e.accesses(rip, in) {
		last := m.ea + m.size - 1
		if last < m.ea || (m.ea <= page+PageSize-1 && last >= page) {
			return false
		}
	}
	e.st.desc_grant = C.uint64_t(page)
	e.descRip = rip
	return true
}

// loadsDescriptor says whether in reads a segment descriptor.
func loadsDescriptor(in x86asm.Inst) bool {
	switch in.Op {
	case x86asm.LFS, x86asm.LGS, x86asm.LSS, x86asm.LAR, x86asm.LSL, x86asm.VERR, x86asm.VERW,
		x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.LRET, x86asm.LJMP, x86asm.LCALL:
		return true
	case x86asm.MOV:
		if r, ok := in.Args[0].(x86asm.Reg); ok && r >= x86asm.ES && r <= x86asm.GS {
			return true
		}
	case x86asm.POP:
		if r, ok := in.Args[0].(x86asm.Reg); ok && r >= x86asm.ES && r <= x86asm.GS {
			return true
		}
	}
	return false
}

// CodeSelectors returns the selectors in cs and ss.
func (e *Engine) CodeSelectors() (cs, ss uint16) {
	var v [2]uint64
	e.Regs([]Reg{CS, SS}, v[:])
	return uint16(v[0]), uint16(v[1])
}

// StackLoadable says whether ss would load into the stack segment register at privilege
// level 3 (a writable data segment of DPL 3, present, RPL 3); SetReg(SS, ss) then loads it.
// Unicorn's register writes do not switch the CPU between 64-bit and 32-bit code: cs
// cannot be set that way.
func (e *Engine) StackLoadable(ss uint16) bool {
	s, ok := e.descriptor(ss)
	return ok && ss&3 == 3 && s>>44&1 != 0 && s>>40&0xa == 0x2 && s>>45&3 == 3 && s>>47&1 != 0
}

// descriptor returns the descriptor sel names, false for the null selector or one past
// its table.
func (e *Engine) descriptor(sel uint16) (uint64, bool) {
	table, idx := e.GDT(), int(sel>>3)
	if sel&4 != 0 {
		table = e.LDT()
	}
	if sel&^3 == 0 || idx >= len(table) {
		return 0, false
	}
	return table[idx], true
}
