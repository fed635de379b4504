package kernel

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"golang.org/x/arch/x86/x86asm"

	"vemu/abi"
	"vemu/emu"
)

// exitInternal ends the process because of a bug in vemu, with status 125 and a message.
func (p *Process) exitInternal(err error) {
	if p.exit == nil {
		p.exit = &ExitStatus{Code: 125, Detail: err.Error()}
	}
	p.stop = true
}

// kill ends the process with a fatal signal (until signals are delivered to handlers).
func (t *Task) kill(sig int, detail string) {
	p := t.p
	if p.exit == nil {
		p.exit = &ExitStatus{Signal: sig, Detail: detail}
	}
	p.stop = true
}

// interruptSignal maps a CPU exception or int N to the signal Linux sends, and the
// address of the instruction responsible.
func interruptSignal(ev emu.Event) (int, uint64) {
	switch ev.Vector {
	case 0: // divide error: rip is the div
		return abi.SIGFPE, ev.RIP
	case 3: // int3: rip is after it
		return abi.SIGTRAP, ev.RIP - 1
	case 1:
		return abi.SIGTRAP, ev.RIP
	case 16, 19:
		return abi.SIGFPE, ev.RIP
	case 17:
		return abi.SIGBUS, ev.RIP
	case 6:
		return abi.SIGILL, ev.RIP
	}
	// int N with N not meant for user mode is a general protection fault; rip is after
	// the two-byte instruction.
	return abi.SIGSEGV, ev.RIP - 2
}

func faultDetail(cpu *emu.Engine, ev emu.Event) string {
	return fmt.Sprintf("fault at %#x, %s", ev.Addr, insnDetail(cpu, ev.RIP))
}

// insnDetail names the instruction at rip: "rip 0x401136: mov eax, dword ptr [rax]".
func insnDetail(cpu *emu.Engine, rip uint64) string {
	return fmt.Sprintf("rip %#x: %s", rip, disasmAt(cpu, rip))
}

func disasmAt(cpu *emu.Engine, rip uint64) string {
	buf := make([]byte, 15)
	n := len(buf)
	for n > 0 && cpu.ReadMem(rip, buf[:n]) != nil {
		n--
	}
	if n == 0 {
		return "(unreadable)"
	}
	in, err := x86asm.Decode(buf[:n], 64)
	if err != nil {
		return fmt.Sprintf("(bad instruction: % x)", buf[:min(n, 4)])
	}
	return x86asm.IntelSyntax(in, rip, nil)
}

// newPID returns the pid of a new process: the host's when runs need not repeat, a fixed
// one with a seed so that traces are identical.
func (k *Kernel) newPID() int {
	if k.cfg.HasSeed {
		return 1000
	}
	return os.Getpid()
}

func (k *Kernel) parentPID() int {
	if k.cfg.HasSeed {
		return 1
	}
	return os.Getppid()
}

// sessionIDs returns the process group and session of the first process. Unseeded, they are
// vemu's own, as a program started by a shell would see them; that includes 0 where the session
// leader is outside the pid namespace, as in many containers. Seeded, the process leads both.
func (k *Kernel) sessionIDs(pid int) (pgid, sid int) {
	if k.cfg.HasSeed {
		return pid, pid
	}
	pgid, sid = unix.Getpgrp(), pid
	if s, err := unix.Getsid(0); err == nil {
		sid = s
	}
	return pgid, sid
}
