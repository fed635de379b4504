package emu

/*
#include "hooks.h"
*/
import "C"

import "unsafe"

// Reg names an x86-64 register.
type Reg C.int

// The registers vemu reads and writes.
const (
	RAX    Reg = C.UC_X86_REG_RAX
	RBX    Reg = C.UC_X86_REG_RBX
	RCX    Reg = C.UC_X86_REG_RCX
	RDX    Reg = C.UC_X86_REG_RDX
	RSI    Reg = C.UC_X86_REG_RSI
	RDI    Reg = C.UC_X86_REG_RDI
	RBP    Reg = C.UC_X86_REG_RBP
	RSP    Reg = C.UC_X86_REG_RSP
	R8     Reg = C.UC_X86_REG_R8
	R9     Reg = C.UC_X86_REG_R9
	R10    Reg = C.UC_X86_REG_R10
	R11    Reg = C.UC_X86_REG_R11
	R12    Reg = C.UC_X86_REG_R12
	R13    Reg = C.UC_X86_REG_R13
	R14    Reg = C.UC_X86_REG_R14
	R15    Reg = C.UC_X86_REG_R15
	RIP    Reg = C.UC_X86_REG_RIP
	RFLAGS Reg = C.UC_X86_REG_RFLAGS
	FSBase Reg = C.UC_X86_REG_FS_BASE
	GSBase Reg = C.UC_X86_REG_GS_BASE
	MXCSR  Reg = C.UC_X86_REG_MXCSR
	FPCW   Reg = C.UC_X86_REG_FPCW
	FPSW   Reg = C.UC_X86_REG_FPSW
	FPTAG  Reg = C.UC_X86_REG_FPTAG
	CS     Reg = C.UC_X86_REG_CS
	SS     Reg = C.UC_X86_REG_SS
	DS     Reg = C.UC_X86_REG_DS
	ES     Reg = C.UC_X86_REG_ES
	FS     Reg = C.UC_X86_REG_FS
	GS     Reg = C.UC_X86_REG_GS
)

// GPRs lists the general registers in the order of Linux's struct sigcontext from r8 on:
// r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip.
var GPRs = []Reg{R8, R9, R10, R11, R12, R13, R14, R15, RDI, RSI, RBP, RBX, RDX, RAX, RCX, RSP, RIP}

// Reg returns the value of register r.
func (e *Engine) Reg(r Reg) uint64 {
	var v [1]uint64
	ids := [1]C.int{C.int(r)}
	// SAFETY: the arrays are passed for the duration of the call; the C side writes
	// one uint64 per id.
	C.vemu_reg_read_n(e.uc, &ids[0], (*C.uint64_t)(unsafe.Pointer(&v[0])), 1)
	return v[0]
}

// SetReg sets register r to v.
func (e *Engine) SetReg(r Reg, v uint64) error {
	vals := [1]uint64{v}
	ids := [1]C.int{C.int(r)}
	// SAFETY: as in Reg.
	return ucErr("reg write", C.vemu_reg_write_n(e.uc, &ids[0], (*C.uint64_t)(unsafe.Pointer(&vals[0])), 1))
}

// Regs reads the registers regs into vals (len(vals) >= len(regs), at most 64).
func (e *Engine) Regs(regs []Reg, vals []uint64) error {
	if len(regs) == 0 {
		return nil
	}
	if len(regs) > 64 || len(vals) < len(regs) {
		return &Error{Op: "reg read", Msg: "bad batch size"}
	}
	ids := make([]C.int, len(regs))
	for i, r := range regs {
		ids[i] = C.int(r)
	}
	// SAFETY: ids is Go memory holding no pointers, and vals has room for len(regs) values;
	// both are used only during the call.
	return ucErr("reg read", C.vemu_reg_read_n(e.uc, &ids[0], (*C.uint64_t)(unsafe.Pointer(&vals[0])), C.int(len(regs))))
}

// SetRegs writes vals into the registers regs (at most 64).
func (e *Engine) SetRegs(regs []Reg, vals []uint64) error {
	if len(regs) == 0 {
		return nil
	}
	if len(regs) > 64 || len(vals) < len(regs) {
		return &Error{Op: "reg write", Msg: "bad batch size"}
	}
	ids := make([]C.int, len(regs))
	for i, r := range regs {
		ids[i] = C.int(r)
	}
	// SAFETY: as in Regs.
	return ucErr("reg write", C.vemu_reg_write_n(e.uc, &ids[0], (*C.uint64_t)(unsafe.Pointer(&vals[0])), C.int(len(regs))))
}
