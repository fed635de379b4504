package abi

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The frame's layout, against the numbers of the kernel's headers and glibc's REG_*.
func TestSigframeLayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"sizeof(struct sigcontext)", SigcontextSize, 256},
		{"offsetof(struct ucontext, uc_stack)", UcontextStackOffset, 16},
		{"offsetof(struct ucontext, uc_mcontext)", UcontextMcontextOffset, 40},
		{"offsetof(struct ucontext, uc_sigmask)", UcontextSigmaskOffset, 296},
		{"sizeof(struct ucontext)", UcontextSize, 304},
		{"offsetof(struct rt_sigframe, uc)", RtSigframeUcOffset, 8},
		{"offsetof(struct rt_sigframe, info)", RtSigframeInfoOffset, 312},
		{"sizeof(struct rt_sigframe)", RtSigframeSize, 440},
		{"REG_RIP", 8 * SCRIP, 8 * 16},
		{"REG_RSP", 8 * SCRSP, 8 * 15},
		{"REG_RAX", 8 * SCRAX, 8 * 13},
		{"REG_RDI", 8 * SCRDI, 8 * 8},
		{"REG_EFL", SigcontextEflagsOffset, 8 * 17},
		{"REG_CSGSFS", SigcontextCSOffset, 8 * 18},
		{"REG_ERR", SigcontextErrOffset, 8 * 19},
		{"REG_TRAPNO", SigcontextTrapnoOffset, 8 * 20},
		{"REG_OLDMASK", SigcontextOldmaskOffset, 8 * 21},
		{"REG_CR2", SigcontextCR2Offset, 8 * 22},
		{"fpregs", SigcontextFpstateOffset, 8 * 23},
		{"sizeof(siginfo_t)", SiginfoSize, 128},
		{"sizeof(stack_t)", StackTSize, 24},
	} {
		assert.Equal(t, c.want, c.got, c.name)
	}
}

// A frame marshalled and its ucontext read back give the same values, at the places the
// header numbers say.
func TestSigframeRoundTrip(t *testing.T) {
	var f RtSigframe
	f.Pretcode = 0x401000
	f.Uc.Flags = UC_SIGCONTEXT_SS
	f.Uc.Stack = StackT{Sp: 0x7000, Flags: SS_DISABLE, Size: 0x2000}
	for i := range f.Uc.Mcontext.Regs {
		f.Uc.Mcontext.Regs[i] = 0x1000 + uint64(i)
	}
	sc := &f.Uc.Mcontext
	sc.Eflags, sc.CS, sc.GS, sc.FS, sc.SS = 0x246, 0x33, 0, 0, 0x2b
	sc.Err, sc.Trapno, sc.Oldmask, sc.CR2, sc.Fpstate = 6, 14, 0x400, 0xdead000, 0x7fff0040
	f.Uc.Sigmask = 0x400
	f.Info = Siginfo{Signo: SIGSEGV, Code: SEGV_MAPERR, Addr: 0xdead000}
	b := make([]byte, RtSigframeSize)
	for i := range b {
		b[i] = 0xa5 // Marshal must clear what it does not set
	}
	f.Marshal(b)

	le := binary.LittleEndian
	assert.Equal(t, uint64(0x401000), le.Uint64(b[0:]), "pretcode")
	assert.Equal(t, uint64(0x7000), le.Uint64(b[8+16:]), "uc_stack.ss_sp")
	assert.Equal(t, uint64(0x1000+16), le.Uint64(b[8+40+8*16:]), "rip")
	assert.Equal(t, uint16(0x2b), le.Uint16(b[8+40+8*18+6:]), "ss")
	assert.Equal(t, uint64(0xdead000), le.Uint64(b[8+40+8*22:]), "cr2")
	assert.Equal(t, uint64(0x400), le.Uint64(b[8+296:]), "uc_sigmask")
	assert.Equal(t, uint64(0xdead000), le.Uint64(b[312+16:]), "si_addr")
	assert.Equal(t, uint64(0), le.Uint64(b[8+40+8*24:]), "reserved words cleared")

	var uc Ucontext
	uc.Unmarshal(b[RtSigframeUcOffset:])
	assert.Equal(t, f.Uc, uc)
}
