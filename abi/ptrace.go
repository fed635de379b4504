package abi

import "encoding/binary"

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

// Fields lists r's fields in their order in memory.
func (r *UserRegs) Fields() []*uint64 {
	return []*uint64{&r.R15, &r.R14, &r.R13, &r.R12, &r.Rbp, &r.Rbx, &r.R11, &r.R10, &r.R9, &r.R8,
		&r.Rax, &r.Rcx, &r.Rdx, &r.Rsi, &r.Rdi, &r.OrigRax, &r.Rip, &r.Cs, &r.Eflags, &r.Rsp, &r.Ss,
		&r.FsBase, &r.GsBase, &r.Ds, &r.Es, &r.Fs, &r.Gs}
}

// Marshal encodes r as the guest's struct user_regs_struct.
func (r *UserRegs) Marshal() []byte {
	b := make([]byte, 0, UserRegsSize)
	for _, f := range r.Fields() {
		b = binary.LittleEndian.AppendUint64(b, *f)
	}
	return b
}

// Unmarshal decodes r from b[:UserRegsSize].
func (r *UserRegs) Unmarshal(b []byte) {
	for i, f := range r.Fields() {
		*f = binary.LittleEndian.Uint64(b[8*i:])
	}
}

// The selectors a 64-bit Linux process runs with: __USER_CS and __USER_DS.
const (
	UserCS = 0x33
	UserDS = 0x2b
)

// FXSaveSize is the size of struct user_fpregs_struct, the FXSAVE image (64-bit format)
// that PTRACE_GETFPREGS returns: FCW at 0, FSW 2, abridged tag 4, FOP 6, FIP 8, FDP 16,
// MXCSR 24, MXCSR_MASK 28, ST(i) at 32+16*i, XMM(i) at 160+16*i.
const FXSaveSize = 512

// ptrace(2) requests.
const (
	PTRACE_TRACEME          = 0
	PTRACE_PEEKTEXT         = 1
	PTRACE_PEEKDATA         = 2
	PTRACE_PEEKUSR          = 3
	PTRACE_POKETEXT         = 4
	PTRACE_POKEDATA         = 5
	PTRACE_POKEUSR          = 6
	PTRACE_CONT             = 7
	PTRACE_KILL             = 8
	PTRACE_SINGLESTEP       = 9
	PTRACE_GETREGS          = 12
	PTRACE_SETREGS          = 13
	PTRACE_GETFPREGS        = 14
	PTRACE_SETFPREGS        = 15
	PTRACE_ATTACH           = 16
	PTRACE_DETACH           = 17
	PTRACE_SYSCALL          = 24
	PTRACE_SETOPTIONS       = 0x4200
	PTRACE_GETEVENTMSG      = 0x4201
	PTRACE_GETSIGINFO       = 0x4202
	PTRACE_SETSIGINFO       = 0x4203
	PTRACE_GETREGSET        = 0x4204
	PTRACE_SETREGSET        = 0x4205
	PTRACE_SEIZE            = 0x4206
	PTRACE_INTERRUPT        = 0x4207
	PTRACE_LISTEN           = 0x4208
	PTRACE_GET_SYSCALL_INFO = 0x420e
	// PTRACE_GET_RSEQ_CONFIGURATION answers struct ptrace_rseq_configuration: u64
	// rseq_abi_pointer, u32 rseq_abi_size, u32 signature, u32 flags, u32 pad.
	PTRACE_GET_RSEQ_CONFIGURATION = 0x420f
	// PTRACE_GET_THREAD_AREA and PTRACE_SET_THREAD_AREA read and write the tracee's GDT
	// TLS entry addr as a struct user_desc at data.
	PTRACE_GET_THREAD_AREA      = 0x19
	PTRACE_SET_THREAD_AREA      = 0x1a
	PtraceRseqConfigurationSize = 24
)

// ptrace(2) options (PTRACE_SETOPTIONS, PTRACE_SEIZE's data).
const (
	PTRACE_O_TRACESYSGOOD    = 0x1
	PTRACE_O_TRACEFORK       = 0x2
	PTRACE_O_TRACEVFORK      = 0x4
	PTRACE_O_TRACECLONE      = 0x8
	PTRACE_O_TRACEEXEC       = 0x10
	PTRACE_O_TRACEVFORKDONE  = 0x20
	PTRACE_O_TRACEEXIT       = 0x40
	PTRACE_O_TRACESECCOMP    = 0x80
	PTRACE_O_EXITKILL        = 0x100000
	PTRACE_O_SUSPEND_SECCOMP = 0x200000
	PTRACE_O_MASK            = 0x3000ff
)

// ptrace(2) events, in bits 16 and up of a stop's wait status.
const (
	PTRACE_EVENT_FORK       = 1
	PTRACE_EVENT_VFORK      = 2
	PTRACE_EVENT_CLONE      = 3
	PTRACE_EVENT_EXEC       = 4
	PTRACE_EVENT_VFORK_DONE = 5
	PTRACE_EVENT_EXIT       = 6
	PTRACE_EVENT_SECCOMP    = 7
	PTRACE_EVENT_STOP       = 128
)

// PTRACE_GET_SYSCALL_INFO's op.
const (
	PTRACE_SYSCALL_INFO_NONE    = 0
	PTRACE_SYSCALL_INFO_ENTRY   = 1
	PTRACE_SYSCALL_INFO_EXIT    = 2
	PTRACE_SYSCALL_INFO_SECCOMP = 3
)

// Regset notes for PTRACE_GETREGSET.
const (
	NT_PRSTATUS = 1
	NT_PRFPREG  = 2
)

// AUDIT_ARCH_X86_64 is struct ptrace_syscall_info's arch for x86-64 calls.
const AUDIT_ARCH_X86_64 = 0xc000003e

// UserDebugRegOffset is offsetof(struct user, u_debugreg), UserSize sizeof(struct user)
// as the kernel has it (with error_code and fault_address after the debug registers, which
// the C libraries' struct user lacks): the area PTRACE_PEEKUSR and PTRACE_POKEUSR address.
const (
	UserDebugRegOffset = 848
	UserSize           = 928
)
