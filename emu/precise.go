package emu

import "golang.org/x/arch/x86/x86asm"

// On a data fault Unicorn reports the rip of the start of the translated block, though the
// instructions before the faulting one have run and the general registers hold the values
// the faulting instruction saw. preciseRIP finds that instruction: it decodes forward from
// the block start and returns the first instruction whose memory access covers addr.
// A hook on memory accesses would make rip exact too, but costs 15-20x on loads and stores.

// maxBlockInsns bounds the search; QEMU ends a translated block well before this.
const maxBlockInsns = 512

var x86RegToReg = map[x86asm.Reg]Reg{
	x86asm.RAX: RAX, x86asm.RBX: RBX, x86asm.RCX: RCX, x86asm.RDX: RDX,
	x86asm.RSI: RSI, x86asm.RDI: RDI, x86asm.RBP: RBP, x86asm.RSP: RSP,
	x86asm.R8: R8, x86asm.R9: R9, x86asm.R10: R10, x86asm.R11: R11,
	x86asm.R12: R12, x86asm.R13: R13, x86asm.R14: R14, x86asm.R15: R15,
}

// gprIndex gives, for a 32/16/8-bit register name, its 64-bit parent.
func parent64(r x86asm.Reg) (x86asm.Reg, bool) {
	switch {
	case r >= x86asm.RAX && r <= x86asm.R15:
		return r, true
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return x86asm.RAX + (r - x86asm.EAX), true
	}
	return 0, false
}

func (e *Engine) preciseRIP(start, addr uint64) uint64 {
	regs := make(map[x86asm.Reg]uint64, 18)
	for xr, r := range x86RegToReg {
		regs[xr] = e.Reg(r)
	}
	fs, gs := e.Reg(FSBase), e.Reg(GSBase)
	val := func(r x86asm.Reg) uint64 {
		if p, ok := parent64(r); ok {
			v := regs[p]
			if r >= x86asm.EAX && r <= x86asm.R15L {
				v &= 0xffffffff
			}
			return v
		}
		return 0
	}
	covers := func(ea, size uint64) bool { return addr >= ea && addr-ea < size }
	pc := start
	var buf [16]byte
	for range maxBlockInsns {
		if e.ReadMem(pc, buf[:]) != nil {
			// The instruction may end at a page boundary: read what there is.
			n := 15
			for n > 0 && e.ReadMem(pc, buf[:n]) != nil {
				n--
			}
			if n == 0 {
				return start
			}
		}
		in, err := x86asm.Decode(buf[:], 64)
		if err != nil {
			return start
		}
		next := pc + uint64(in.Len)
		for _, a := range in.Args {
			m, ok := a.(x86asm.Mem)
			if !ok {
				continue
			}
			var ea uint64
			switch m.Base {
			case x86asm.RIP:
				ea = next
			default:
				ea = val(m.Base)
			}
			ea += val(m.Index)*uint64(m.Scale) + uint64(m.Disp)
			switch m.Segment {
			case x86asm.FS:
				ea += fs
			case x86asm.GS:
				ea += gs
			}
			if covers(ea, 512) {
				return pc
			}
		}
		rsp := regs[x86asm.RSP]
		switch in.Op {
		case x86asm.PUSH, x86asm.PUSHF, x86asm.PUSHFQ, x86asm.CALL, x86asm.ENTER:
			if covers(rsp-16, 16) {
				return pc
			}
		case x86asm.POP, x86asm.POPF, x86asm.POPFQ, x86asm.RET:
			if covers(rsp, 8) {
				return pc
			}
		case x86asm.LEAVE:
			if covers(regs[x86asm.RBP], 8) {
				return pc
			}
		case x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ, x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ,
			x86asm.STOSB, x86asm.STOSW, x86asm.STOSD, x86asm.STOSQ, x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ,
			x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ:
			// A string operation may have run part of its count: match anywhere near rsi/rdi.
			if covers(regs[x86asm.RDI]-8, 16) || covers(regs[x86asm.RSI]-8, 16) {
				return pc
			}
		}
		switch in.Op {
		case x86asm.JMP, x86asm.RET, x86asm.CALL, x86asm.SYSCALL, x86asm.HLT, x86asm.INT, x86asm.UD2,
			x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JNE, x86asm.JG, x86asm.JGE,
			x86asm.JL, x86asm.JLE, x86asm.JO, x86asm.JNO, x86asm.JP, x86asm.JNP, x86asm.JS, x86asm.JNS,
			x86asm.JRCXZ, x86asm.JECXZ, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE:
			// The block ends at a branch: the fault was not found in it.
			return start
		}
		pc = next
	}
	return start
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
