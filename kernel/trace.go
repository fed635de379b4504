package kernel

import (
	"fmt"

	"vemu/abi"
	"vemu/kernel/mm"
	"vemu/kernel/strace"
)

func syscallName(nr uint64, a Args) string {
	name := abi.SyscallName(nr)
	if name == "" {
		name = fmt.Sprintf("syscall_%#x", nr)
	}
	return fmt.Sprintf("%s(%#x, %#x, %#x, %#x, %#x, %#x)", name, a[0], a[1], a[2], a[3], a[4], a[5])
}

// guestMem lets the tracer read guest memory.
type guestMem struct{ s *mm.Space }

func (g guestMem) ReadAt(b []byte, addr uint64) error { return g.s.CopyIn(mm.Addr(addr), b) }

func (t *Task) traceCall(nr uint64, a Args, ret uint64) {
	c := strace.Call{Nr: nr, Args: a, Ret: int64(ret)}
	if nr == abi.SYS_EXIT || nr == abi.SYS_EXIT_GROUP || (nr == abi.SYS_EXECVE && int64(ret) >= 0) {
		c.NoReturn = true
	}
	line := strace.Format(c, guestMem{t.p.mm})
	if t.vsyscall {
		line = "[vsyscall] " + line
	}
	t.p.k.writeTrace(line)
}

func (k *Kernel) writeTrace(line string) {
	if k.cfg.Strace != nil {
		k.cfg.Strace.Write([]byte(line + "\n"))
	}
}
