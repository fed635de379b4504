package abi

// The x86-64 signal frame, as Linux's setup_rt_frame() builds it: struct rt_sigframe
// (arch/x86/include/asm/sigframe.h) holding a struct ucontext and a struct siginfo, the
// ucontext holding a struct sigcontext (uapi asm/sigcontext.h). The handler is entered
// with rsp at the frame, rsi at Info and rdx at Uc.

// Indexes of the general registers in Sigcontext.Regs, in the kernel's order (glibc's
// REG_R8 ... REG_RIP).
const (
	SCR8 = iota
	SCR9
	SCR10
	SCR11
	SCR12
	SCR13
	SCR14
	SCR15
	SCRDI
	SCRSI
	SCRBP
	SCRBX
	SCRDX
	SCRAX
	SCRCX
	SCRSP
	SCRIP
	SCNumRegs
)

// Sigcontext is struct sigcontext: the interrupted registers and the fault's details.
type Sigcontext struct {
	Regs           [SCNumRegs]uint64 // r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip
	Eflags         uint64
	CS, GS, FS, SS uint16
	Err            uint64 // the page fault's error code
	Trapno         uint64 // the exception vector
	Oldmask        uint64
	CR2            uint64 // the fault address
	Fpstate        uint64 // guest address of the FXSAVE area, or 0
}

// Sizes and offsets of the frame's parts in guest memory.
const (
	SigcontextSize = 256
	UcontextSize   = 304
	RtSigframeSize = 440

	// Where the handler's siginfo and ucontext pointers point, from the frame's start.
	RtSigframeUcOffset   = 8
	RtSigframeInfoOffset = RtSigframeUcOffset + UcontextSize

	// In struct ucontext.
	UcontextStackOffset    = 16
	UcontextMcontextOffset = 40
	UcontextSigmaskOffset  = 296

	// In struct sigcontext (glibc's REG_EFL ... and fpregs, times 8).
	SigcontextEflagsOffset  = 8 * SCNumRegs
	SigcontextCSOffset      = SigcontextEflagsOffset + 8
	SigcontextErrOffset     = SigcontextCSOffset + 8
	SigcontextTrapnoOffset  = SigcontextErrOffset + 8
	SigcontextOldmaskOffset = SigcontextTrapnoOffset + 8
	SigcontextCR2Offset     = SigcontextOldmaskOffset + 8
	SigcontextFpstateOffset = SigcontextCR2Offset + 8
)

// uc_flags bits (asm/ucontext.h).
const (
	UC_FP_XSTATE         = 0x1
	UC_SIGCONTEXT_SS     = 0x2
	UC_STRICT_RESTORE_SS = 0x4
)

// Marshal encodes s into b[:SigcontextSize].
func (s *Sigcontext) Marshal(b []byte) {
	clear(b[:SigcontextSize])
	for i, v := range s.Regs {
		put64(b, 8*i, v)
	}
	put64(b, SigcontextEflagsOffset, s.Eflags)
	put16(b, SigcontextCSOffset, s.CS)
	put16(b, SigcontextCSOffset+2, s.GS)
	put16(b, SigcontextCSOffset+4, s.FS)
	put16(b, SigcontextCSOffset+6, s.SS)
	put64(b, SigcontextErrOffset, s.Err)
	put64(b, SigcontextTrapnoOffset, s.Trapno)
	put64(b, SigcontextOldmaskOffset, s.Oldmask)
	put64(b, SigcontextCR2Offset, s.CR2)
	put64(b, SigcontextFpstateOffset, s.Fpstate)
}

// Unmarshal decodes s from b[:SigcontextSize].
func (s *Sigcontext) Unmarshal(b []byte) {
	for i := range s.Regs {
		s.Regs[i] = get64(b, 8*i)
	}
	s.Eflags = get64(b, SigcontextEflagsOffset)
	s.CS = get16(b, SigcontextCSOffset)
	s.GS = get16(b, SigcontextCSOffset+2)
	s.FS = get16(b, SigcontextCSOffset+4)
	s.SS = get16(b, SigcontextCSOffset+6)
	s.Err = get64(b, SigcontextErrOffset)
	s.Trapno = get64(b, SigcontextTrapnoOffset)
	s.Oldmask = get64(b, SigcontextOldmaskOffset)
	s.CR2 = get64(b, SigcontextCR2Offset)
	s.Fpstate = get64(b, SigcontextFpstateOffset)
}

// Ucontext is struct ucontext, as the kernel lays it out (its sigset is the kernel's 8
// bytes, not libc's 128).
type Ucontext struct {
	Flags    uint64
	Link     uint64
	Stack    StackT
	Mcontext Sigcontext
	Sigmask  uint64
}

// Marshal encodes u into b[:UcontextSize].
func (u *Ucontext) Marshal(b []byte) {
	clear(b[:UcontextSize])
	put64(b, 0, u.Flags)
	put64(b, 8, u.Link)
	u.Stack.Marshal(b[UcontextStackOffset:])
	u.Mcontext.Marshal(b[UcontextMcontextOffset:])
	put64(b, UcontextSigmaskOffset, u.Sigmask)
}

// Unmarshal decodes u from b[:UcontextSize].
func (u *Ucontext) Unmarshal(b []byte) {
	u.Flags = get64(b, 0)
	u.Link = get64(b, 8)
	u.Stack.Unmarshal(b[UcontextStackOffset:])
	u.Mcontext.Unmarshal(b[UcontextMcontextOffset:])
	u.Sigmask = get64(b, UcontextSigmaskOffset)
}

// RtSigframe is struct rt_sigframe: where the handler returns to, the ucontext and the
// siginfo.
type RtSigframe struct {
	Pretcode uint64
	Uc       Ucontext
	Info     Siginfo
}

// Marshal encodes f into b[:RtSigframeSize].
func (f *RtSigframe) Marshal(b []byte) {
	clear(b[:RtSigframeSize])
	put64(b, 0, f.Pretcode)
	f.Uc.Marshal(b[RtSigframeUcOffset:])
	f.Info.Marshal(b[RtSigframeInfoOffset:])
}
