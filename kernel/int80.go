package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
)

// int80 runs a system call a 64-bit program makes with int $0x80, as Linux's
// entry_INT80_compat does: the number in eax indexes the i386 table, the arguments are
// ebx, ecx, edx, esi, edi and ebp, 32 bits each, and the result goes to rax; the other
// registers are kept. The calls of abi.I386Syscalls run their x86-64 handlers (with the
// tracing, tampering and blocking of the SYSCALL entry); the others answer ENOSYS. The
// engine's rip is past the instruction, which is as long as syscall, so a restarted
// call goes back to it with its i386 number.
// i386Mmap2 is mmap2's i386 number; i386TaskTop is Linux's IA32_PAGE_OFFSET, the top of
// a 32-bit address space.
const (
	i386Mmap2   = 192
	i386TaskTop = 0xffffe000
)

func (t *Task) int80(rip uint64) {
	regs := []emu.Reg{emu.RAX, emu.RBX, emu.RCX, emu.RDX, emu.RSI, emu.RDI, emu.RBP, emu.RFLAGS}
	v := make([]uint64, len(regs))
	if err := t.cpu.Regs(regs, v); err != nil {
		t.p.exitInternal(err)
		return
	}
	nr := uint32(v[0])
	c, ok := abi.I386Syscalls[nr]
	if t.seccomp.mode != 0 {
		// The filters see the i386 number and arch, whatever vemu implements of it.
		sc := seccompCall{nr: nr, arch: abi.AUDIT_ARCH_I386, ip: rip, args: [6]uint64(v[1:7]), rax: uint64(nr)}
		run, rax, what := t.seccompEnter(&sc)
		if !run {
			t.cpu.SetReg(emu.RAX, rax)
			if ok {
				t.p.counts.count(c.Amd64)
				if t.trace {
					t.traceSeccomp(c.Amd64, Args(sc.args), rax, what)
				}
			}
			return
		}
		t.seccompPassed = ok
	}
	if !ok {
		t.cpu.SetReg(emu.RAX, errnoRet(unix.ENOSYS))
		return
	}
	var a Args
	for i := range a {
		w := uint32(v[1+i])
		a[i] = uint64(w)
		if c.Signed&(1<<i) != 0 {
			a[i] = uint64(int64(int32(w)))
		}
	}
	if nr == i386Mmap2 {
		// Pages, not bytes; and the mapping must be one a 32-bit pointer reaches, as
		// Linux places a compat call's mappings below the 32-bit task size.
		a[5] <<= 12
		t.mmapTop = i386TaskTop
		defer func() { t.mmapTop = 0 }()
	}
	s := emu.Syscall{Nr: c.Amd64, Args: a, RIP: rip - 2, RFlags: v[7]}
	t.compat = true
	t.onSyscall(&s)
	t.compat = false
	if op := t.pending; op != nil {
		op.i386 = uint64(nr) + 1 // restarted with its own number (see endInterrupted)
		return
	}
	t.cpu.SetReg(emu.RAX, s.Ret)
}
