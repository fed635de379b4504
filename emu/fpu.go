package emu

/*
#include "fpu.h"
*/
import "C"

import "unsafe"

// FXSaveSize is the size of an FXSAVE image.
const FXSaveSize = 512

// FXSave returns the x87, MXCSR and XMM0-15 state as the 64-bit FXSAVE instruction would
// store it (Intel SDM vol. 1, table 10-2), with the abridged tag word.
func (e *Engine) FXSave() ([FXSaveSize]byte, error) {
	var img [FXSaveSize]byte
	// SAFETY: img is Go memory without pointers, written by C during the call only.
	err := ucErr("fxsave", C.vemu_fxsave(e.uc, (*C.uint8_t)(unsafe.Pointer(&img[0]))))
	return img, err
}

// FXRestore loads the x87, MXCSR and XMM0-15 state from an FXSAVE image, as FXRSTOR
// would. Reserved MXCSR bits are cleared rather than faulting.
func (e *Engine) FXRestore(img *[FXSaveSize]byte) error {
	// SAFETY: img is Go memory without pointers, read by C during the call only.
	return ucErr("fxrstor", C.vemu_fxrstor(e.uc, (*C.uint8_t)(unsafe.Pointer(&img[0]))))
}

// CR0 is control register 0. Its bit 5 (NE) makes an unmasked x87 exception pending in
// the status word a #MF at the next waiting instruction, as under Linux; Unicorn starts
// with it clear.
const CR0 Reg = C.UC_X86_REG_CR0

const cr0NE = 1 << 5

// CR4 is control register 4. Its bit 9 (OSFXSR) makes the guest's own FXSAVE and FXRSTOR
// include MXCSR and the XMM registers, as under Linux; Unicorn starts with it clear.
const CR4 Reg = C.UC_X86_REG_CR4

// CR4 bits that Linux sets for user programs: FXSAVE and FXRSTOR include the SSE state
// (OSFXSR), unmasked SIMD floating-point exceptions are #XM rather than #UD (OSXMMEXCPT),
// and rdfsbase and its family may be used (FSGSBASE; the engine drops it on a model
// without the instructions).
const (
	cr4OSFXSR     = 1 << 9
	cr4OSXMMEXCPT = 1 << 10
	cr4FSGSBASE   = 1 << 16
)

// ResetFPU puts the x87 and SSE units in the state a new Linux process starts with: FCW
// 0x37f, an empty x87 stack, MXCSR 0x1f80, zero XMM registers, and CR4.OSFXSR set.
func (e *Engine) ResetFPU() error {
	var img [FXSaveSize]byte
	img[0], img[1] = 0x7f, 0x03
	img[24], img[25] = 0x80, 0x1f
	if err := e.FXRestore(&img); err != nil {
		return err
	}
	return e.SetReg(CR4, e.Reg(CR4)|cr4OSFXSR)
}
