package kernel

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/x86/x86asm"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// handleEvent turns what stopped the CPU into the thread's next state.
func (t *Task) handleEvent(ev emu.Event) {
	p := t.p
	switch ev.Kind {
	case emu.Stopped:
	case emu.Debug:
		if len(p.hw.breaks)+len(p.hw.watches) > 0 && t.hwHit(ev) {
			return
		}
		if d := p.dbg; d != nil {
			d.onDebug(t, ev)
		}
	case emu.Fault:
		if t.vsyscallFault(ev) {
			return
		}
		if p.exit != nil {
			return
		}
		if ev.Lost != nil {
			// The host raised SIGBUS for guest memory (a file shrank under a shared
			// mapping, truncated by another program): the memory is mapped again,
			// the pages past the file's end become SIGBUS, and the guest gets its
			// signal where the engine stopped, up to a block after the access.
			lost := make([]mm.Addr, len(ev.Lost))
			for i, a := range ev.Lost {
				lost[i] = mm.Addr(a)
			}
			p.mm.Reattach(lost, ev.LostAll)
			p.cpu.SetReg(emu.RIP, ev.RIP)
			t.faultSignal(abi.SIGBUS, abi.BUS_ADRERR, ev.Addr, faultDetail(p.cpu, ev))
			return
		}
		if v := p.mm.Lookup(mm.Addr(ev.Addr)); v != nil && v.Bus && busAccess(v.Prot, ev.Access) {
			// A shared file mapping past the end of its file, unless the file has grown
			// since: then the instruction runs again over the file's pages. An access
			// the mapping does not allow is a SIGSEGV first, as on Linux.
			p.cpu.SetReg(emu.RIP, ev.RIP)
			if p.mm.FileGrew(mm.Addr(ev.Addr)) {
				return
			}
			t.faultSignal(abi.SIGBUS, abi.BUS_ADRERR, ev.Addr, faultDetail(p.cpu, ev))
			return
		}
		// As Linux: ACCERR where a mapping lacks the access, MAPERR where there is none
		// (the CPU is not given mappings without access). The vsyscall page is no user
		// mapping to Linux: a fault there is MAPERR.
		code := int32(abi.SEGV_ACCERR)
		if p.mm.Lookup(mm.Addr(ev.Addr)) == nil || ev.Addr&^0xfff == vsyscallBase {
			code = abi.SEGV_MAPERR
		}
		// A handler's frame must hold the faulting instruction itself (the engine stands
		// there already unless Unicorn's own check reported the fault).
		p.cpu.SetReg(emu.RIP, ev.RIP)
		if ev.Addr >= 1<<47 && ev.Addr < 0xffff800000000000 {
			// A non-canonical address: a general protection fault, which names no address.
			t.faultSignal(abi.SIGSEGV, abi.SI_KERNEL, 0, faultDetail(p.cpu, ev))
			return
		}
		var pf uint64
		switch ev.Access {
		case emu.Write:
			pf = pfWrite
		case emu.Fetch:
			pf = pfInstr
		}
		t.faultSignalErr(abi.SIGSEGV, code, ev.Addr, pf, true, faultDetail(p.cpu, ev))
	case emu.Interrupt:
		if ev.Int && ev.Vector == 0x80 {
			t.int80(ev.RIP)
			return
		}
		sig, at, errCode := interruptSignal(ev)
		code, addr := int32(abi.SI_KERNEL), at
		if !ev.Int && (ev.Vector == 11 || ev.Vector == 12) {
			// A segment not present (or a stack segment's): SIGBUS with the selector,
			// as Linux's exc_segment_not_present and exc_stack_segment.
			p.cpu.SetReg(emu.RIP, at)
			f := sigFault{trapno: uint64(ev.Vector), err: errCode, resume: true}
			t.lastFault = f
			t.faultSignalFrame(sig, code, 0, f, insnDetail(p.cpu, at))
			return
		}
		if !ev.Int && (ev.Vector == 16 || ev.Vector == 19) {
			// A floating-point exception (#MF, #XM) at the waiting instruction after the
			// one that raised it, as Linux's math_error reports it.
			if code = fpuErrorCode(p.cpu, ev.Vector); code == 0 {
				return
			}
			f := sigFault{trapno: uint64(ev.Vector), resume: true}
			t.lastFault = f
			t.faultSignalFrame(sig, code, at, f, insnDetail(p.cpu, at))
			return
		}
		switch sig {
		case abi.SIGFPE:
			code = abi.FPE_INTDIV
		case abi.SIGSEGV:
			// A general protection fault: the instruction itself, and no address,
			// as Linux's do_general_protection reports it.
			p.cpu.SetReg(emu.RIP, at)
			addr = 0
		}
		// int3, into and int $4 (the gates open to user mode) and the debug exception
		// are traps; the rest, int N's general protection included, faults.
		trap := ev.Vector == 1 || ev.Vector == 3 || ev.Int && ev.Vector == 4
		t.faultSignalErr(sig, code, addr, errCode, !trap, insnDetail(p.cpu, at))
	case emu.Invalid:
		t.faultSignal(abi.SIGILL, abi.ILL_ILLOPN, ev.RIP, insnDetail(p.cpu, ev.RIP))
	case emu.Halt:
		// hlt is privileged: a general protection fault in user mode.
		p.cpu.SetReg(emu.RIP, ev.RIP)
		t.faultSignal(abi.SIGSEGV, abi.SI_KERNEL, 0, insnDetail(p.cpu, ev.RIP))
	case emu.Panic:
		p.exitInternal(fmt.Errorf("%w: %v", ErrInternal, ev.PanicValue))
	default:
		p.exitInternal(fmt.Errorf("%w: %v", ErrInternal, ev))
	}
}

// sigFault is what the CPU reports with a fault, for struct sigcontext.
type sigFault struct {
	trapno, err, cr2 uint64
	// resume: a fault-class exception, whose saved flags have RF set, as the CPU pushes
	// them; a trap's (int3, into) and a signal's that no exception raised have it clear.
	resume bool
}

// faultSignal acts on a signal the CPU raised in t: delivered to its handler at once, or,
// when blocked, ignored or left to its default action, the end of the process (Linux
// does not let a synchronous fault be blocked or ignored). The engine's rip is the
// instruction to resume at after the handler: the faulting one, or the next for a trap.
func (t *Task) faultSignal(sig int, code int32, addr uint64, detail string) {
	t.faultSignalErr(sig, code, addr, 0, sig != abi.SIGTRAP, detail)
}

// Bits of a page fault's error code that the access decides; faultSignalErr adds the
// others (user, present).
const (
	pfWrite = 2
	pfInstr = 16
)

// faultSignalErr is faultSignal with the error code the CPU pushed, for the frame (for a
// page fault, pfWrite or pfInstr), and whether the exception was fault-class (resume).
func (t *Task) faultSignalErr(sig int, code int32, addr, errCode uint64, resume bool, detail string) {
	f := sigFault{resume: resume}
	switch sig {
	case abi.SIGSEGV:
		switch code {
		case abi.SEGV_MAPERR, abi.SEGV_ACCERR:
			f.trapno, f.cr2 = 14, addr // page fault
			f.err = 4 | errCode        // from user mode
			// The page is present; Linux says so of every address above the user range too,
			// not to tell how the kernel's half is mapped.
			if code == abi.SEGV_ACCERR || addr >= uint64(mm.TaskSize) {
				f.err |= 1
			}
		default:
			f.trapno, f.err = 13, errCode // general protection
		}
	case abi.SIGFPE:
		f.trapno = 0
	case abi.SIGILL:
		f.trapno = 6
	case abi.SIGTRAP:
		f.trapno = 3
	case abi.SIGBUS:
		f.trapno = 17
	}
	t.lastFault = f
	t.faultSignalFrame(sig, code, addr, f, detail)
}

// faultSignalFrame is faultSignal with what the frame's sigcontext says of the fault (as
// Linux's thread trap_nr, error_code and cr2, which a signal the kernel forces without a
// fault of its own leaves as the last fault set them).
func (t *Task) faultSignalFrame(sig int, code int32, addr uint64, f sigFault, detail string) {
	if d := t.p.dbg; d != nil {
		d.signalStop(t, abi.Siginfo{Signo: int32(sig), Code: code, Addr: addr}, func(info abi.Siginfo, ok bool) {
			switch {
			case !ok || t.p.exit != nil:
				// The debugger discarded it: the instruction runs again.
			case int(info.Signo) != sig:
				t.deliverNow(info)
			default:
				t.faultDeliver(sig, code, addr, f, detail)
			}
		})
		return
	}
	t.faultDeliver(sig, code, addr, f, detail)
}

// faultDeliver is faultSignalFrame past the debugger.
func (t *Task) faultDeliver(sig int, code int32, addr uint64, f sigFault, detail string) {
	act := t.p.sigactions[sig]
	info := abi.Siginfo{Signo: int32(sig), Code: code, Addr: addr}
	if t.sigmask&sigBit(sig) != 0 || act.Handler == abi.SIG_DFL || act.Handler == abi.SIG_IGN {
		t.killWith(info, detail)
		return
	}
	if err := t.setupFrame(info, act, f); err != nil {
		t.kill(abi.SIGSEGV, fmt.Sprintf("%s; cannot deliver %s: %v", detail, abi.SignalName(sig), err))
	}
}

// interruptSignal maps a CPU exception or int N to the signal Linux sends, the address
// of the instruction responsible, and the error code the CPU pushed.
func interruptSignal(ev emu.Event) (sig int, at uint64, errCode uint64) {
	if ev.Int {
		// int3, and int N for the gates Linux opens to user mode (3 and 4); any other
		// int N is a general protection fault naming the gate: the error code is the
		// vector's IDT selector, rip the instruction itself.
		switch {
		case ev.Vector == 3 && ev.RIP >= 1:
			return abi.SIGTRAP, ev.RIP - 1, 0
		case ev.Vector == 3:
			return abi.SIGTRAP, ev.RIP - 2, 0
		case ev.Vector == 4:
			return abi.SIGSEGV, ev.RIP - 2, 0
		}
		return abi.SIGSEGV, ev.RIP - 2, uint64(ev.Vector)<<3 | 2
	}
	switch ev.Vector {
	case 0: // divide error: rip is the div
		return abi.SIGFPE, ev.RIP, 0
	case 1, 3:
		return abi.SIGTRAP, ev.RIP, 0
	case 16, 19:
		return abi.SIGFPE, ev.RIP, 0
	case 17:
		return abi.SIGBUS, ev.RIP, 0
	case 6:
		return abi.SIGILL, ev.RIP, 0
	case 11, 12:
		return abi.SIGBUS, ev.RIP, uint64(ev.ErrCode)
	case 13:
		// A general protection fault: a privileged or I/O instruction in user mode
		// (error code 0), or a segment load, whose error code names the selector.
		return abi.SIGSEGV, ev.RIP, uint64(ev.ErrCode)
	}
	// Anything else: rip is the instruction.
	return abi.SIGSEGV, ev.RIP, 0
}

// fpuErrorCode is the si_code of a floating-point exception (#MF from the x87, #XM from
// SSE) for the first unmasked exception pending, in Linux's order; 0 for none, when the
// x87's error summary is cleared so that the instruction can run again (Linux ignores
// such a spurious exception, and the CPU would raise it again and again).
func fpuErrorCode(cpu *emu.Engine, vector uint32) int32 {
	fx, err := cpu.FXSave()
	if err != nil {
		return abi.FPE_FLTINV
	}
	var pending uint32
	if vector == 16 {
		cw, sw := binary.LittleEndian.Uint16(fx[0:]), binary.LittleEndian.Uint16(fx[2:])
		if pending = uint32(sw &^ cw & 0x3f); pending == 0 {
			binary.LittleEndian.PutUint16(fx[2:], sw&^0x8080)
			cpu.FXRestore(&fx)
			return 0
		}
	} else {
		mxcsr := binary.LittleEndian.Uint32(fx[24:])
		pending = mxcsr &^ (mxcsr >> 7)
	}
	switch {
	case pending&0x01 != 0: // invalid operation (a stack fault too)
		return abi.FPE_FLTINV
	case pending&0x04 != 0:
		return abi.FPE_FLTDIV
	case pending&0x08 != 0:
		return abi.FPE_FLTOVF
	case pending&0x12 != 0: // underflow, or a denormal operand
		return abi.FPE_FLTUND
	case pending&0x20 != 0:
		return abi.FPE_FLTRES
	}
	return 0
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

// busAccess says whether prot allows the access, so that a fault past the end of a file
// is the file's (SIGBUS) rather than the permissions' (SIGSEGV). As on x86, any access
// allows a read.
func busAccess(prot emu.Prot, access emu.Access) bool {
	switch access {
	case emu.Write:
		return prot&emu.ProtWrite != 0
	case emu.Fetch:
		return prot&emu.ProtExec != 0
	}
	return prot != 0
}
