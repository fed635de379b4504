package abi

// UserRegs is struct user_regs_struct: a thread's general registers as ptrace's
// PTRACE_GETREGS hands them to a debugger, orig_rax included (the system call number
// while a thread is inside a call, else -1).
type UserRegs struct {
	R15, R14, R13, R12, Rbp, Rbx, R11, R10, R9, R8 uint64
	Rax, Rcx, Rdx, Rsi, Rdi, OrigRax               uint64
	Rip, Cs, Eflags, Rsp, Ss                       uint64
	FsBase, GsBase, Ds, Es, Fs, Gs                 uint64
}

// UserRegsSize is the size of UserRegs.
const UserRegsSize = 27 * 8

// The selectors a 64-bit Linux process runs with: __USER_CS and __USER_DS.
const (
	UserCS = 0x33
	UserDS = 0x2b
)

// FXSaveSize is the size of struct user_fpregs_struct, the FXSAVE image (64-bit format)
// that PTRACE_GETFPREGS returns: FCW at 0, FSW 2, abridged tag 4, FOP 6, FIP 8, FDP 16,
// MXCSR 24, MXCSR_MASK 28, ST(i) at 32+16*i, XMM(i) at 160+16*i.
const FXSaveSize = 512
