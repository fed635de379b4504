package emu

/*
#include "hooks.h"
*/
import "C"

import "golang.org/x/arch/x86/x86asm"

// A refused access (see on_tlb_fill) leaves the engine exactly before the faulting
// instruction: rip, the general registers and the flags are those the instruction saw,
// and the instructions before it, in its block and in the blocks chained before it, have
// run. What Unicorn does not hand out is the address within the page: faultAddr finds it
// from the faulting instruction's operands, which the exact registers make exact.

// maxBlockInsns bounds the searches through a translated block; QEMU ends a block well
// before this.
const maxBlockInsns = 512

// x86RegToReg maps x86asm's 64-bit register names to the engine's.
var x86RegToReg = map[x86asm.Reg]Reg{
	x86asm.RAX: RAX, x86asm.RBX: RBX, x86asm.RCX: RCX, x86asm.RDX: RDX,
	x86asm.RSI: RSI, x86asm.RDI: RDI, x86asm.RBP: RBP, x86asm.RSP: RSP,
	x86asm.R8: R8, x86asm.R9: R9, x86asm.R10: R10, x86asm.R11: R11,
	x86asm.R12: R12, x86asm.R13: R13, x86asm.R14: R14, x86asm.R15: R15,
}

// regValue reads a general register named by x86asm, of any width; 0 for anything else.
func (e *Engine) regValue(r x86asm.Reg) uint64 {
	switch {
	case r >= x86asm.RAX && r <= x86asm.R15:
		return e.Reg(x86RegToReg[r])
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return e.Reg(x86RegToReg[x86asm.RAX+(r-x86asm.EAX)]) & 0xffffffff
	case r >= x86asm.AX && r <= x86asm.R15W:
		return e.Reg(x86RegToReg[x86asm.RAX+(r-x86asm.AX)]) & 0xffff
	}
	return 0
}

// decodeAt decodes the instruction at pc.
func (e *Engine) decodeAt(pc uint64) (x86asm.Inst, bool) {
	var buf [15]byte
	n := len(buf)
	// The instruction may end right before an unmapped page: read what there is.
	for n > 0 && e.ReadMem(pc, buf[:n]) != nil {
		n--
	}
	if n == 0 {
		return x86asm.Inst{}, false
	}
	in, err := x86asm.Decode(buf[:n], 64)
	// A truncated instruction decodes as a lone prefix with no operation.
	return in, err == nil && in.Op != 0
}

// access is one memory access an instruction makes: size bytes at ea.
type access struct {
	ea, size uint64
	write    int // 1 a store, 0 a load, -1 either (read-modify-write, or not known)
}

// effAddr computes the address a memory operand of in (at pc) names.
func (e *Engine) effAddr(pc uint64, in x86asm.Inst, m x86asm.Mem) uint64 {
	var ea uint64
	if m.Base == x86asm.RIP {
		ea = pc + uint64(in.Len)
	} else {
		ea = e.regValue(m.Base)
	}
	ea += e.regValue(m.Index)*uint64(m.Scale) + uint64(m.Disp)
	if in.AddrSize == 32 {
		ea &= 0xffffffff
	}
	switch m.Segment {
	case x86asm.FS:
		ea += e.Reg(FSBase)
	case x86asm.GS:
		ea += e.Reg(GSBase)
	}
	return ea
}

// stringSize is the element size of a string instruction, 0 for other instructions.
func stringSize(op x86asm.Op) uint64 {
	switch op {
	case x86asm.MOVSB, x86asm.STOSB, x86asm.LODSB, x86asm.SCASB, x86asm.CMPSB:
		return 1
	case x86asm.MOVSW, x86asm.STOSW, x86asm.LODSW, x86asm.SCASW, x86asm.CMPSW:
		return 2
	case x86asm.MOVSD, x86asm.STOSD, x86asm.LODSD, x86asm.SCASD, x86asm.CMPSD:
		// CMPSD and MOVSD are also SSE instructions, with registers among their operands.
		return 4
	case x86asm.MOVSQ, x86asm.STOSQ, x86asm.LODSQ, x86asm.SCASQ, x86asm.CMPSQ:
		return 8
	}
	return 0
}

// accesses lists the memory accesses of the instruction in at pc, in the order the CPU
// makes them.
func (e *Engine) accesses(pc uint64, in x86asm.Inst) []access {
	rsp := e.Reg(RSP)
	var mems []access
	explicit := func(write int) {
		for _, a := range in.Args {
			m, ok := a.(x86asm.Mem)
			if !ok {
				continue
			}
			size := uint64(in.MemBytes)
			if s := stringSize(in.Op); s != 0 && !hasReg(in) {
				size = s
			}
			if size == 0 {
				size = PageSize // fxsave, xsave and the like: the page decides
			}
			mems = append(mems, access{e.effAddr(pc, in, m), size, write})
		}
	}
	stackWord := uint64(8)
	if in.DataSize == 16 {
		stackWord = 2
	}
	switch in.Op {
	case x86asm.LEA, x86asm.NOP, x86asm.PREFETCHNTA, x86asm.PREFETCHT0, x86asm.PREFETCHT1,
		x86asm.PREFETCHT2, x86asm.PREFETCHW, x86asm.CLFLUSH:
		return nil
	case x86asm.PUSH, x86asm.CALL:
		explicit(0) // push [m], call [m] read first
		mems = append(mems, access{rsp - stackWord, stackWord, 1})
	case x86asm.PUSHF, x86asm.PUSHFQ:
		mems = append(mems, access{rsp - stackWord, stackWord, 1})
	case x86asm.POP:
		mems = append(mems, access{rsp, stackWord, 0})
		// pop [m] computes its address with rsp already popped.
		if m, ok := in.Args[0].(x86asm.Mem); ok {
			ea := e.effAddr(pc, in, m)
			if m.Base == x86asm.RSP {
				ea += stackWord
			}
			mems = append(mems, access{ea, stackWord, 1})
		}
	case x86asm.POPF, x86asm.POPFQ, x86asm.RET:
		mems = append(mems, access{rsp, 8, 0})
	case x86asm.IRETQ, x86asm.IRETD, x86asm.IRET:
		mems = append(mems, access{rsp, 40, 0})
	case x86asm.LRET:
		// The offset and the selector, each of the operand size (4 bytes unless REX.W).
		w := uint64(in.DataSize / 8)
		if w == 0 {
			w = 4
		}
		mems = append(mems, access{rsp, 2 * w, 0})
	case x86asm.LCALL:
		explicit(0)
		mems = append(mems, access{rsp - 16, 16, 1})
	case x86asm.LEAVE:
		mems = append(mems, access{e.Reg(RBP), 8, 0})
	case x86asm.ENTER:
		level := uint64(0)
		if len(in.Args) > 1 {
			if imm, ok := in.Args[1].(x86asm.Imm); ok {
				level = uint64(imm) & 31
			}
		}
		// It pushes rbp, then copies level-1 frame pointers and pushes the new one.
		mems = append(mems, access{rsp - 8, 8, 1})
		if level > 0 {
			mems = append(mems, access{e.Reg(RBP) - 8*(level-1), 8 * level, 0},
				access{rsp - 8*(level+1), 8 * level, 1})
		}
	case x86asm.XLATB:
		ea := e.Reg(RBX) + e.Reg(RAX)&0xff
		if in.AddrSize == 32 {
			ea &= 0xffffffff
		}
		mems = append(mems, access{ea, 1, 0})
	case x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ:
		if hasReg(in) {
			explicit(-1)
			break
		}
		// Intel order [rdi], [rsi]: the load from rsi comes first.
		d, s := in.Args[0].(x86asm.Mem), in.Args[1].(x86asm.Mem)
		size := stringSize(in.Op)
		mems = append(mems, access{e.effAddr(pc, in, s), size, 0}, access{e.effAddr(pc, in, d), size, 1})
	case x86asm.STOSB, x86asm.STOSW, x86asm.STOSD, x86asm.STOSQ:
		explicit(1)
	case x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ, x86asm.SCASB, x86asm.SCASW,
		x86asm.SCASD, x86asm.SCASQ, x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSQ:
		explicit(0)
	default:
		explicit(-1)
	}
	return mems
}

// hasReg says whether an operand of in is a register (SSE movsd and cmpsd, not the string
// instructions of the same names).
func hasReg(in x86asm.Inst) bool {
	for _, a := range in.Args {
		if _, ok := a.(x86asm.Reg); ok {
			return true
		}
	}
	return false
}

// faultAddr returns the address Linux reports for an access of kind acc, refused on page,
// by the instruction at rip: the first byte of the faulting access on that page.
func (e *Engine) faultAddr(rip, page uint64, acc Access) uint64 {
	in, ok := e.decodeAt(rip)
	if !ok {
		return page
	}
	var best *access
	for _, m := range e.accesses(rip, in) {
		if m.write >= 0 && (m.write == 1) != (acc == Write) {
			continue
		}
		last := m.ea + m.size - 1
		if last < m.ea {
			last = ^uint64(0) // wraps around the top of the address space
		}
		if last < page || m.ea > page+PageSize-1 {
			continue
		}
		best = &m
		break
	}
	if best == nil || best.ea < page {
		// An access that starts on the page before faults at the page's first byte.
		return page
	}
	return best.ea
}

// fetchAcross handles a fetch refused on page while translating the block at rip, on an
// earlier page: the instructions before the one that reaches into page have not run yet.
// It runs them, stopping before that instruction, and returns the event that ends it:
// normally the fetch fault, with rip at the instruction as Linux reports it.
func (e *Engine) fetchAcross(rip, page uint64) Event {
	pc := rip
	for range maxBlockInsns {
		if pc >= page {
			break
		}
		in, ok := e.decodeAt(pc)
		if !ok || pc+uint64(in.Len) > page {
			break
		}
		pc += uint64(in.Len)
	}
	if pc == rip || pc > page || e.across {
		// Nothing to run first (or no way to: the run below reached here again).
		return Event{Kind: Fault, RIP: rip, Addr: page, Access: Fetch, Unmapped: !e.mapped(page)}
	}
	e.across = true
	defer func() { e.across = false }()
	e.st.event = C.VEMU_EV_NONE
	e.st.tlb_fault = 0
	if err := ucErr("exits", C.vemu_exit_at(e.uc, C.uint64_t(pc))); err != nil {
		return Event{Kind: Failed, RIP: rip, Err: err}
	}
	code := C.vemu_run(e.uc, e.st, C.uint64_t(rip))
	err := ucErr("exits", C.vemu_exits_none(e.uc))
	// The blocks translated with the exit end there: drop them.
	e.FlushCode(rip, pc+1)
	if err != nil {
		return Event{Kind: Failed, RIP: rip, Err: err}
	}
	if code == C.UC_ERR_OK && e.st.event == C.VEMU_EV_NONE && e.Reg(RIP) == pc {
		return Event{Kind: Fault, RIP: pc, Addr: page, Access: Fetch, Unmapped: !e.mapped(page)}
	}
	return e.event(code)
}

// mapped says whether page belongs to a mapped range (with or without access).
func (e *Engine) mapped(page uint64) bool {
	return e.permsAt(page) != noEntry
}

// permsAt returns the permissions of the table entry holding a, or noEntry without one.
func (e *Engine) permsAt(a uint64) Prot {
	if r, ok := e.entry(a); ok && uint64(r.begin) <= a {
		return Prot(uint64(r.perms) &^ offMask)
	}
	return noEntry
}

// findIO returns the first port I/O instruction at or after start in its block (start
// itself when none is found).
func (e *Engine) findIO(start uint64) uint64 {
	pc := start
	var buf [16]byte
	for range maxBlockInsns {
		n := len(buf)
		for n > 0 && e.ReadMem(pc, buf[:n]) != nil {
			n--
		}
		in, err := x86asm.Decode(buf[:n], 64)
		if err != nil {
			return start
		}
		switch in.Op {
		case x86asm.IN, x86asm.OUT, x86asm.INSB, x86asm.INSW, x86asm.INSD,
			x86asm.OUTSB, x86asm.OUTSW, x86asm.OUTSD:
			return pc
		}
		pc += uint64(in.Len)
	}
	return start
}
