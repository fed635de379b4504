package vdsoimage

import (
	"encoding/binary"
	"fmt"
)

// Reg is a general-purpose x86-64 register, numbered as in ModRM encoding.
type Reg uint8

// The general-purpose registers.
const (
	RAX Reg = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

var regNames = [...]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

func (r Reg) String() string {
	if int(r) < len(regNames) {
		return regNames[r]
	}
	return fmt.Sprintf("Reg(%d)", uint8(r))
}

// low3 is the register's number in a ModRM or opcode field; ext is the REX bit.
func (r Reg) low3() byte { return byte(r) & 7 }
func (r Reg) ext() bool  { return r >= R8 }

// Cond is a condition code, as in the low nibble of Jcc's opcode.
type Cond uint8

// Condition codes.
const (
	CondO  Cond = 0x0
	CondNO Cond = 0x1
	CondB  Cond = 0x2 // below (unsigned <), carry set
	CondAE Cond = 0x3 // above or equal (unsigned >=), carry clear
	CondE  Cond = 0x4 // equal, zero
	CondNE Cond = 0x5 // not equal, not zero
	CondBE Cond = 0x6 // below or equal (unsigned <=)
	CondA  Cond = 0x7 // above (unsigned >)
	CondS  Cond = 0x8
	CondNS Cond = 0x9
	CondL  Cond = 0xc // less (signed <)
	CondGE Cond = 0xd
	CondLE Cond = 0xe
	CondG  Cond = 0xf // greater (signed >)

	CondC  = CondB
	CondNC = CondAE
	CondZ  = CondE
	CondNZ = CondNE
)

// Mem is a memory operand: [base+disp], or an absolute image address reached
// RIP-relative.
type Mem struct {
	base   Reg
	disp   int32
	rip    bool
	target int64
}

// Ind is the operand [base+disp].
func Ind(base Reg, disp int32) Mem { return Mem{base: base, disp: disp} }

// RIPAbs is the operand at image address target (which may be negative, in
// the vvar pages below the image), encoded as [rip+disp32].
func RIPAbs(target int64) Mem { return Mem{rip: true, target: target} }

// Label names a position in the code. Create labels with Asm.NewLabel, place
// them with Asm.Bind.
type Label struct {
	id int
}

type fixup struct {
	label Label
	pos   int // offset of the displacement in the code
	size  int // 1 or 4
	end   int // offset of the end of the instruction (displacements are relative to it)
}

// Asm assembles x86-64 machine code at a known image address. Jumps to
// labels are fixed up by Finish; RIP-relative operands are resolved as each
// instruction is emitted, since the code's address (org) is known.
type Asm struct {
	org    int64
	code   []byte
	labels []int // position of each label, -1 until bound
	fixups []fixup
	err    error

	// CounterReads and Syscalls collect the offsets (from the start of the
	// code) of every rdtsc and syscall instruction.
	CounterReads []int
	Syscalls     []int
}

// NewAsm returns an assembler whose first byte will sit at image address org.
func NewAsm(org int64) *Asm { return &Asm{org: org} }

// Pos is the current offset from the start of the code.
func (a *Asm) Pos() int { return len(a.code) }

func (a *Asm) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("asm at %#x: "+format, append([]any{a.Pos()}, args...)...)
	}
}

// NewLabel returns a new unbound label.
func (a *Asm) NewLabel() Label {
	a.labels = append(a.labels, -1)
	return Label{id: len(a.labels) - 1}
}

// Bind places l at the current position.
func (a *Asm) Bind(l Label) {
	if a.labels[l.id] >= 0 {
		a.fail("label %d bound twice", l.id)
		return
	}
	a.labels[l.id] = a.Pos()
}

// Align pads with int3 to a multiple of n bytes.
func (a *Asm) Align(n int) {
	for a.Pos()%n != 0 {
		a.code = append(a.code, 0xcc)
	}
}

// Finish resolves the jumps and returns the code.
func (a *Asm) Finish() ([]byte, error) {
	for _, f := range a.fixups {
		target := a.labels[f.label.id]
		if target < 0 {
			a.fail("label %d used at %#x but never bound", f.label.id, f.pos)
			continue
		}
		rel := int64(target - f.end)
		switch f.size {
		case 1:
			if rel < -128 || rel > 127 {
				a.fail("short jump at %#x cannot reach %#x", f.pos-1, target)
				continue
			}
			a.code[f.pos] = byte(int8(rel))
		case 4:
			binary.LittleEndian.PutUint32(a.code[f.pos:], uint32(int32(rel)))
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	return a.code, nil
}

// Err returns the first error met so far.
func (a *Asm) Err() error { return a.err }

// rm is the r/m side of a ModRM instruction: a register or memory.
type rm struct {
	isReg bool
	reg   Reg
	mem   Mem
}

func rmReg(r Reg) rm  { return rm{isReg: true, reg: r} }
func rmMem(m Mem) rm  { return rm{mem: m} }
func (o rm) b() bool  { return (o.isReg && o.reg.ext()) || (!o.isReg && !o.mem.rip && o.mem.base.ext()) }
func (o rm) ok() bool { return o.isReg || o.mem.rip || o.mem.base <= R15 }

// emit encodes [REX] opcode ModRM [SIB] [disp] [imm]. w selects 64-bit
// operand size; reg is the ModRM reg field (a register or an opcode
// extension /digit, with regExt its REX.R bit).
func (a *Asm) emit(w bool, opcode []byte, reg byte, regExt bool, o rm, imm []byte) {
	if !o.ok() {
		a.fail("bad operand")
		return
	}
	rex := byte(0x40)
	if w {
		rex |= 8
	}
	if regExt {
		rex |= 4
	}
	if o.b() {
		rex |= 1
	}
	if rex != 0x40 {
		a.code = append(a.code, rex)
	}
	a.code = append(a.code, opcode...)
	ripPos := -1
	switch {
	case o.isReg:
		a.code = append(a.code, 0xc0|reg<<3|o.reg.low3())
	case o.mem.rip:
		a.code = append(a.code, reg<<3|0x05)
		ripPos = a.Pos()
		a.code = append(a.code, 0, 0, 0, 0)
	default:
		base := o.mem.base.low3()
		var mod byte
		switch {
		case o.mem.disp == 0 && base != 5: // [rbp]/[r13] need a displacement
			mod = 0
		case o.mem.disp >= -128 && o.mem.disp <= 127:
			mod = 1
		default:
			mod = 2
		}
		a.code = append(a.code, mod<<6|reg<<3|base)
		if base == 4 { // [rsp]/[r12] need a SIB byte: no index, base
			a.code = append(a.code, 0x24)
		}
		switch mod {
		case 1:
			a.code = append(a.code, byte(int8(o.mem.disp)))
		case 2:
			a.code = binary.LittleEndian.AppendUint32(a.code, uint32(o.mem.disp))
		}
	}
	a.code = append(a.code, imm...)
	if ripPos >= 0 {
		next := a.org + int64(a.Pos())
		disp := o.mem.target - next
		if disp != int64(int32(disp)) {
			a.fail("rip-relative target %#x out of range", o.mem.target)
			return
		}
		binary.LittleEndian.PutUint32(a.code[ripPos:], uint32(int32(disp)))
	}
}

func imm8(v int8) []byte    { return []byte{byte(v)} }
func imm32(v int32) []byte  { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
func fitsInt8(v int32) bool { return v >= -128 && v <= 127 }

// Mov64 is mov dst, src (64-bit registers).
func (a *Asm) Mov64(dst, src Reg) { a.emit(true, []byte{0x89}, src.low3(), src.ext(), rmReg(dst), nil) }

// Mov32 is mov dst32, src32, which zero-extends into dst.
func (a *Asm) Mov32(dst, src Reg) {
	a.emit(false, []byte{0x89}, src.low3(), src.ext(), rmReg(dst), nil)
}

// MovImm32 is mov dst32, imm32, which zero-extends into dst.
func (a *Asm) MovImm32(dst Reg, v uint32) {
	if dst.ext() {
		a.code = append(a.code, 0x41)
	}
	a.code = append(a.code, 0xb8+dst.low3())
	a.code = binary.LittleEndian.AppendUint32(a.code, v)
}

// Load64 is mov dst, qword [m].
func (a *Asm) Load64(dst Reg, m Mem) {
	a.emit(true, []byte{0x8b}, dst.low3(), dst.ext(), rmMem(m), nil)
}

// Load32 is mov dst32, dword [m], which zero-extends into dst.
func (a *Asm) Load32(dst Reg, m Mem) {
	a.emit(false, []byte{0x8b}, dst.low3(), dst.ext(), rmMem(m), nil)
}

// Store64 is mov qword [m], src.
func (a *Asm) Store64(m Mem, src Reg) {
	a.emit(true, []byte{0x89}, src.low3(), src.ext(), rmMem(m), nil)
}

// Store32 is mov dword [m], src32.
func (a *Asm) Store32(m Mem, src Reg) {
	a.emit(false, []byte{0x89}, src.low3(), src.ext(), rmMem(m), nil)
}

// StoreImm64 is mov qword [m], imm32 (sign-extended).
func (a *Asm) StoreImm64(m Mem, v int32) { a.emit(true, []byte{0xc7}, 0, false, rmMem(m), imm32(v)) }

// Lea is lea dst, [m].
func (a *Asm) Lea(dst Reg, m Mem) { a.emit(true, []byte{0x8d}, dst.low3(), dst.ext(), rmMem(m), nil) }

// Movsxd is movsxd dst, src32: sign-extends a 32-bit register.
func (a *Asm) Movsxd(dst, src Reg) {
	a.emit(true, []byte{0x63}, dst.low3(), dst.ext(), rmReg(src), nil)
}

// Cdqe sign-extends eax into rax.
func (a *Asm) Cdqe() { a.code = append(a.code, 0x48, 0x98) }

// alu emits one of the classic two-operand ALU instructions (add, or, adc,
// sbb, and, sub, xor, cmp), numbered as in their /digit: op r/m, reg is
// opcode 8*n+1 and op reg, r/m is 8*n+3.
type aluOp byte

const (
	aluAdd aluOp = 0
	aluOr  aluOp = 1
	aluAdc aluOp = 2
	aluAnd aluOp = 4
	aluSub aluOp = 5
	aluXor aluOp = 6
	aluCmp aluOp = 7
)

func (a *Asm) aluRR(op aluOp, w bool, dst, src Reg) {
	a.emit(w, []byte{byte(op)*8 + 1}, src.low3(), src.ext(), rmReg(dst), nil)
}

func (a *Asm) aluRM(op aluOp, w bool, dst Reg, m Mem) {
	a.emit(w, []byte{byte(op)*8 + 3}, dst.low3(), dst.ext(), rmMem(m), nil)
}

func (a *Asm) aluImm(op aluOp, w bool, o rm, v int32) {
	if fitsInt8(v) {
		a.emit(w, []byte{0x83}, byte(op), false, o, imm8(int8(v)))
	} else {
		a.emit(w, []byte{0x81}, byte(op), false, o, imm32(v))
	}
}

// Add64 is add dst, src.
func (a *Asm) Add64(dst, src Reg) { a.aluRR(aluAdd, true, dst, src) }

// Add64Mem is add dst, qword [m].
func (a *Asm) Add64Mem(dst Reg, m Mem) { a.aluRM(aluAdd, true, dst, m) }

// AddImm64 is add dst, imm (sign-extended).
func (a *Asm) AddImm64(dst Reg, v int32) { a.aluImm(aluAdd, true, rmReg(dst), v) }

// AdcImm64 is adc dst, imm (sign-extended): dst += imm + CF.
func (a *Asm) AdcImm64(dst Reg, v int32) { a.aluImm(aluAdc, true, rmReg(dst), v) }

// Sub64 is sub dst, src.
func (a *Asm) Sub64(dst, src Reg) { a.aluRR(aluSub, true, dst, src) }

// Sub64Mem is sub dst, qword [m].
func (a *Asm) Sub64Mem(dst Reg, m Mem) { a.aluRM(aluSub, true, dst, m) }

// Or64 is or dst, src.
func (a *Asm) Or64(dst, src Reg) { a.aluRR(aluOr, true, dst, src) }

// And64 is and dst, src.
func (a *Asm) And64(dst, src Reg) { a.aluRR(aluAnd, true, dst, src) }

// Xor32 is xor dst32, src32; Xor32(r, r) zeroes all of r.
func (a *Asm) Xor32(dst, src Reg) { a.aluRR(aluXor, false, dst, src) }

// Cmp32 is cmp a32, b32.
func (a *Asm) Cmp32(x, y Reg) { a.aluRR(aluCmp, false, x, y) }

// Cmp64 is cmp a, b.
func (a *Asm) Cmp64(x, y Reg) { a.aluRR(aluCmp, true, x, y) }

// Cmp32Mem is cmp r32, dword [m].
func (a *Asm) Cmp32Mem(r Reg, m Mem) { a.aluRM(aluCmp, false, r, m) }

// CmpImm32 is cmp r32, imm.
func (a *Asm) CmpImm32(r Reg, v int32) { a.aluImm(aluCmp, false, rmReg(r), v) }

// CmpMemImm32 is cmp dword [m], imm.
func (a *Asm) CmpMemImm32(m Mem, v int32) { a.aluImm(aluCmp, false, rmMem(m), v) }

// TestImm32 is test r32, imm32.
func (a *Asm) TestImm32(r Reg, v uint32) {
	a.emit(false, []byte{0xf7}, 0, false, rmReg(r), imm32(int32(v)))
}

// Test64 is test x, y.
func (a *Asm) Test64(x, y Reg) { a.emit(true, []byte{0x85}, y.low3(), y.ext(), rmReg(x), nil) }

// Bt32 is bt base32, index32: CF = bit (index mod 32) of base.
func (a *Asm) Bt32(base, index Reg) {
	a.emit(false, []byte{0x0f, 0xa3}, index.low3(), index.ext(), rmReg(base), nil)
}

func (a *Asm) shiftImm(digit byte, w bool, r Reg, n uint8) {
	if n == 1 {
		a.emit(w, []byte{0xd1}, digit, false, rmReg(r), nil)
		return
	}
	a.emit(w, []byte{0xc1}, digit, false, rmReg(r), []byte{n})
}

// ShlImm64 is shl r, n.
func (a *Asm) ShlImm64(r Reg, n uint8) { a.shiftImm(4, true, r, n) }

// ShrImm64 is shr r, n.
func (a *Asm) ShrImm64(r Reg, n uint8) { a.shiftImm(5, true, r, n) }

// ShrCL64 is shr r, cl.
func (a *Asm) ShrCL64(r Reg) { a.emit(true, []byte{0xd3}, 5, false, rmReg(r), nil) }

// ShrdCL64 is shrd dst, src, cl: dst = low 64 bits of (src:dst) >> (cl mod 64).
func (a *Asm) ShrdCL64(dst, src Reg) {
	a.emit(true, []byte{0x0f, 0xad}, src.low3(), src.ext(), rmReg(dst), nil)
}

// Mul64 is mul r: rdx:rax = rax * r, unsigned.
func (a *Asm) Mul64(r Reg) { a.emit(true, []byte{0xf7}, 4, false, rmReg(r), nil) }

// Div64 is div r: rax = rdx:rax / r, rdx = rdx:rax % r, unsigned. It faults
// unless rdx < r.
func (a *Asm) Div64(r Reg) { a.emit(true, []byte{0xf7}, 6, false, rmReg(r), nil) }

// Imul64 is imul dst, src (truncated signed or unsigned product).
func (a *Asm) Imul64(dst, src Reg) {
	a.emit(true, []byte{0x0f, 0xaf}, dst.low3(), dst.ext(), rmReg(src), nil)
}

// Jcc jumps to l if cond holds (rel32, or rel8 when l is bound and near).
func (a *Asm) Jcc(cond Cond, l Label) {
	if a.nearBackward(l, 2) {
		a.code = append(a.code, 0x70|byte(cond))
		a.rel(l, 1)
		return
	}
	a.code = append(a.code, 0x0f, 0x80|byte(cond))
	a.rel(l, 4)
}

// JccShort jumps to l if cond holds with a rel8; Finish fails if l is too far.
func (a *Asm) JccShort(cond Cond, l Label) {
	a.code = append(a.code, 0x70|byte(cond))
	a.rel(l, 1)
}

// Jmp jumps to l (rel32, or rel8 when l is bound and near).
func (a *Asm) Jmp(l Label) {
	if a.nearBackward(l, 2) {
		a.code = append(a.code, 0xeb)
		a.rel(l, 1)
		return
	}
	a.code = append(a.code, 0xe9)
	a.rel(l, 4)
}

// JmpShort jumps to l with a rel8; Finish fails if l is too far.
func (a *Asm) JmpShort(l Label) {
	a.code = append(a.code, 0xeb)
	a.rel(l, 1)
}

// nearBackward reports whether l is already bound and a short jump of n
// bytes emitted here reaches it.
func (a *Asm) nearBackward(l Label, n int) bool {
	t := a.labels[l.id]
	return t >= 0 && t-(a.Pos()+n) >= -128
}

func (a *Asm) rel(l Label, size int) {
	pos := a.Pos()
	a.code = append(a.code, make([]byte, size)...)
	a.fixups = append(a.fixups, fixup{label: l, pos: pos, size: size, end: a.Pos()})
}

// Lfence is lfence.
func (a *Asm) Lfence() { a.code = append(a.code, 0x0f, 0xae, 0xe8) }

// Rdtsc is rdtsc (edx:eax = counter); its offset is recorded in CounterReads.
func (a *Asm) Rdtsc() {
	a.CounterReads = append(a.CounterReads, a.Pos())
	a.code = append(a.code, 0x0f, 0x31)
}

// RdtscOrdered is lfence; rdtsc, as Linux's rdtsc_ordered(): the counter is
// read after every earlier load has completed.
func (a *Asm) RdtscOrdered() {
	a.Lfence()
	a.Rdtsc()
}

// Pause is pause, the spin-wait hint.
func (a *Asm) Pause() { a.code = append(a.code, 0xf3, 0x90) }

// Syscall is syscall; its offset is recorded in Syscalls.
func (a *Asm) Syscall() {
	a.Syscalls = append(a.Syscalls, a.Pos())
	a.code = append(a.code, 0x0f, 0x05)
}

// Ret is ret.
func (a *Asm) Ret() { a.code = append(a.code, 0xc3) }

// Int3 is int3.
func (a *Asm) Int3() { a.code = append(a.code, 0xcc) }
