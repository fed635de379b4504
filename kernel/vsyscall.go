package kernel

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// VsyscallMode is Linux's vsyscall= boot option.
type VsyscallMode int

// The vsyscall modes.
const (
	// VsyscallXonly: the page is there but unreadable; calls fault and are emulated.
	VsyscallXonly VsyscallMode = iota
	// VsyscallEmulate: as xonly, and the page is readable, holding the legacy code.
	VsyscallEmulate
	// VsyscallNone: no page; a call is a plain SIGSEGV.
	VsyscallNone
)

// ParseVsyscallMode reads "xonly", "emulate" or "none".
func ParseVsyscallMode(s string) (VsyscallMode, error) {
	switch s {
	case "xonly":
		return VsyscallXonly, nil
	case "emulate":
		return VsyscallEmulate, nil
	case "none":
		return VsyscallNone, nil
	}
	return 0, fmt.Errorf("vsyscall mode %q: want xonly, emulate or none", s)
}

func (m VsyscallMode) String() string { return [...]string{"xonly", "emulate", "none"}[m] }

// vsyscallBase is the page's fixed address.
const vsyscallBase = 0xffffffffff600000

// vsyscalls maps the legacy entry points to the system call each one emulates.
var vsyscalls = map[uint64]uint64{
	vsyscallBase:         abi.SYS_GETTIMEOFDAY,
	vsyscallBase + 0x400: abi.SYS_TIME,
	vsyscallBase + 0x800: abi.SYS_GETCPU,
}

// vsyscallHandler is the system call handler each entry point shares with the table
// (named directly: the table's initialization must not depend on the run loop).
func vsyscallHandler(nr uint64) Handler {
	switch nr {
	case abi.SYS_GETTIMEOFDAY:
		return sysGettimeofday
	case abi.SYS_TIME:
		return sysTime
	}
	return sysGetcpu
}

// mapVsyscall maps the page for the xonly and emulate modes.
func (k *Kernel) mapVsyscall(p *Process) error {
	mode := k.cfg.Vsyscall
	if mode == VsyscallNone {
		return nil
	}
	prot, perm := emu.ProtNone, "--xp"
	if mode == VsyscallEmulate {
		prot, perm = emu.ProtRead, "r-xp"
	}
	v, err := p.mm.Map(vsyscallBase, mm.PageSize, prot, "[vsyscall]")
	if err != nil {
		return fmt.Errorf("map vsyscall page: %w", err)
	}
	v.MapsPerm = perm
	if mode == VsyscallEmulate {
		// As the legacy page: "mov $NR, %rax; syscall; ret" at each entry, int3 around.
		page := v.Host()
		for i := range page {
			page[i] = 0xcc
		}
		for addr, nr := range vsyscalls {
			off := addr - vsyscallBase
			copy(page[off:], []byte{0x48, 0xc7, 0xc0, byte(nr), byte(nr >> 8), 0, 0, 0x0f, 0x05, 0xc3})
		}
	}
	return nil
}

// vsyscallFault handles an instruction fetch in the vsyscall page as Linux's
// emulate_vsyscall() does: only the three entry points, called with a readable return
// address on the stack, are emulated. It reports whether it dealt with the fault: the call
// emulated (rip at the return address), or SIGSEGV raised as Linux raises it, with rip at
// the address fetched: si_code SI_KERNEL for a misaligned entry, an unreadable return
// address or a pointer the call could not write (force_sig()), SEGV_MAPERR at the pointer
// for one outside user space (write_ok_or_segv()). With vsyscall=none it leaves the fault
// to be the plain page fault it is.
func (t *Task) vsyscallFault(ev emu.Event) bool {
	if ev.Access != emu.Fetch || ev.Addr&^0xfff != vsyscallBase {
		return false
	}
	regs := []emu.Reg{emu.RSP, emu.RDI, emu.RSI, emu.RDX, emu.RAX}
	v := make([]uint64, len(regs))
	t.cpu.Regs(regs, v)
	rsp, di, si := v[0], v[1], v[2]
	mode := t.p.k.cfg.Vsyscall
	if mode == VsyscallNone {
		if t.trace {
			t.p.k.writeTrace(t.tid, fmt.Sprintf("[vsyscall] vsyscall attempted with vsyscall=none ip:%x cs:33 sp:%x ax:%x si:%x di:%x",
				ev.Addr, rsp, v[4], si, di))
		}
		return false
	}
	segv := func(code int32, addr uint64, why string) bool {
		t.cpu.SetReg(emu.RIP, ev.Addr)
		// As Linux: force_sig() leaves the frame's trap number and error code as the
		// last fault set them; write_ok_or_segv() sets them to a user write's page fault.
		f := t.lastFault
		if code == abi.SEGV_MAPERR {
			f = sigFault{trapno: 14, err: 4 | pfWrite, cr2: addr}
			t.lastFault = f
		}
		t.faultSignalFrame(abi.SIGSEGV, code, addr, f, fmt.Sprintf("rip %#x: %s", ev.Addr, why))
		return true
	}
	nr, ok := vsyscalls[ev.Addr]
	if !ok {
		return segv(abi.SI_KERNEL, 0, "misaligned vsyscall")
	}
	var ret [8]byte
	if err := t.p.mm.CopyIn(mm.Addr(rsp), ret[:]); err != nil {
		return segv(abi.SI_KERNEL, 0, fmt.Sprintf("vsyscall with bad stack (%#x)", rsp))
	}
	var outs [][2]uint64
	switch nr {
	case abi.SYS_GETTIMEOFDAY:
		outs = [][2]uint64{{di, abi.TimevalSize}, {si, abi.TimezoneSize}}
	case abi.SYS_TIME:
		outs = [][2]uint64{{di, 8}}
	case abi.SYS_GETCPU:
		outs = [][2]uint64{{di, 4}, {si, 4}}
	}
	for _, o := range outs {
		if o[0]+o[1] < o[0] || o[0]+o[1] > uint64(mm.TaskSize) {
			return segv(abi.SEGV_MAPERR, o[0], fmt.Sprintf("vsyscall output pointer %#x outside user space", o[0]))
		}
	}
	if t.seccomp.mode != 0 {
		// As Linux's emulate_vsyscall(): the filters see the call at the entry point;
		// one they do not let run returns to the caller with rax as they left it.
		regs := []emu.Reg{emu.R10, emu.R8, emu.R9}
		more := make([]uint64, len(regs))
		t.cpu.Regs(regs, more)
		sc := seccompCall{nr: uint32(nr), arch: abi.AUDIT_ARCH_X86_64, ip: ev.Addr,
			args: [6]uint64{di, si, v[3], more[0], more[1], more[2]}, rax: nr}
		run, rax, what := t.seccompEnter(&sc)
		if !run {
			t.vsyscall = true
			if t.trace {
				t.traceSeccomp(nr, Args(sc.args), rax, what)
			}
			t.vsyscall = false
			t.p.counts.count(nr)
			t.cpu.SetRegs([]emu.Reg{emu.RAX, emu.RSP, emu.RIP}, []uint64{rax, rsp + 8, binary.LittleEndian.Uint64(ret[:])})
			return true
		}
	}
	t.vsyscall = true
	r, err := vsyscallHandler(nr)(t, Args{di, si, v[3]})
	rax := r
	if err != nil {
		rax = errnoRet(err.(unix.Errno))
	}
	if t.trace {
		t.traceCall(nr, Args{di, si, v[3]}, rax)
	}
	t.vsyscall = false
	t.p.counts.vsyscalls[(ev.Addr-vsyscallBase)/0x400]++
	if err == unix.EFAULT {
		// A bad user pointer: Linux does not emulate the return; the task gets SIGSEGV.
		return segv(abi.SI_KERNEL, 0, fmt.Sprintf("vsyscall %s with a bad pointer", abi.SyscallName(nr)))
	}
	// Return to the caller: rax = result, rip = [rsp], rsp += 8.
	t.cpu.SetRegs([]emu.Reg{emu.RAX, emu.RSP, emu.RIP}, []uint64{rax, rsp + 8, binary.LittleEndian.Uint64(ret[:])})
	return true
}
