package kernel

import (
	"fmt"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// The x86 debug registers a tracer reaches through PTRACE_POKEUSER and PTRACE_PEEKUSER:
// DR0-DR3 the addresses of four breakpoints, DR7 which of them are enabled and how (an
// instruction, or a store or any access to 1, 2, 4 or 8 bytes), DR6 which of them hit
// last. They are a thread's, as Linux's ptrace_bps; a process none of whose threads
// enables one has no hook on its engine. While some are enabled, the engine has a code
// hook at each instruction breakpoint and a memory hook over each watched range (with
// the per-instruction hook that watchpoints need), for every thread of the process: a
// hit by a thread that did not ask for it runs on.

// DR6 and DR7 bits, as Linux's asm/debugreg.h.
const (
	dr6Reserved        = 0xffff0ff0         // DR6's bits that read 1: Linux keeps DR6 XOR them
	dr6Step            = 0x4000             // DR_STEP
	dr7ControlReserved = 0xffffffff0000fc00 // ignored when a tracer writes DR7
	drTypeExec         = 0
	drTypeWrite        = 1
	drTypeRW           = 3
)

// hwSlot is one of DR0-DR3 as Linux's ptrace keeps it: made once the tracer wrote its
// address or enabled it, with the type and length DR7 last gave it.
type hwSlot struct {
	made bool
	on   bool
	addr uint64
	typ  uint64 // drTypeExec, drTypeWrite or drTypeRW
	size uint64 // bytes: 1, 2, 4 or 8 (1 for an instruction)
}

// hwDebug is a thread's debug registers.
type hwDebug struct {
	slot [4]hwSlot
	dr6  uint64 // DR6 XOR dr6Reserved, as Linux's virtual_dr6
	dr7  uint64 // as the tracer last wrote it
}

// hwHooks is what a process's engine has installed for its threads' debug registers.
type hwHooks struct {
	breaks  map[uint64]bool
	watches map[hwWatch]bool
	dirty   bool // a thread's registers changed: sync before the next run
}

// hwWatch is a memory hook of the engine: the range starts 7 bytes before the watched
// one, since the engine calls it for accesses that start in its range and an access of
// up to 8 bytes that starts before a watched byte still touches it.
type hwWatch struct {
	begin, size uint64
	read        bool
}

// hwCheck is Linux's hw_breakpoint_arch_parse() and hw_breakpoint_parse() for a user
// breakpoint: aligned to its length, and all of it below the top of user space.
func hwCheck(addr, typ, size uint64) error {
	if typ != drTypeExec && addr&(size-1) != 0 {
		return unix.EINVAL
	}
	if addr >= uint64(mm.TaskSize) || addr+size-1 >= uint64(mm.TaskSize) {
		return unix.EINVAL
	}
	return nil
}

// decodeDR7 is slot i's part of a DR7 value: enabled (locally or globally), type and
// length, or an error for what the CPU or Linux does not have (I/O breakpoints; an
// instruction breakpoint of more than one byte), as Linux's arch_bp_generic_fields().
func decodeDR7(v uint64, i int) (on bool, typ, size uint64, err error) {
	on = v>>(2*i)&3 != 0
	bits := v >> (16 + 4*i)
	typ = bits & 3
	switch bits >> 2 & 3 {
	case 0:
		size = 1
	case 1:
		size = 2
	case 2:
		size = 8
	case 3:
		size = 4
	}
	switch {
	case typ == 2:
		return on, 0, 0, unix.EINVAL
	case typ == drTypeExec && size != 1:
		return on, 0, 0, unix.EINVAL
	}
	return on, typ, size, nil
}

// encodeDR7 is the DR7 value of the enabled slots, as Linux's ptrace_get_dr7().
func (h *hwDebug) encodeDR7() uint64 {
	var v uint64
	for i, s := range h.slot {
		if !s.made || !s.on {
			continue
		}
		var lenBits uint64
		switch s.size {
		case 2:
			lenBits = 1
		case 8:
			lenBits = 2
		case 4:
			lenBits = 3
		}
		v |= (s.typ|lenBits<<2)<<(16+4*i) | 2<<(2*i) | 0x200
	}
	return v
}

// writeDR7 is Linux's ptrace_write_dr7(): slot by slot, and back to the slots' old
// state when one fails.
func (h *hwDebug) writeDR7(v uint64) error {
	old := h.encodeDR7()
	if err := h.applyDR7(v &^ dr7ControlReserved); err != nil {
		h.applyDR7(old)
		return err
	}
	h.dr7 = v
	return nil
}

func (h *hwDebug) applyDR7(v uint64) error {
	for i := range h.slot {
		s := &h.slot[i]
		on, typ, size, err := decodeDR7(v, i)
		if !s.made && !on {
			continue
		}
		if err != nil {
			return err
		}
		if err := hwCheck(s.addr, typ, size); err != nil {
			return err
		}
		s.made, s.on, s.typ, s.size = true, on, typ, size
	}
	return nil
}

// setAddr is a write of DR0-DR3: a new slot is a disabled 1-byte write watch, as Linux
// makes it; an existing one keeps its type and length, checked against the address.
func (h *hwDebug) setAddr(i int, addr uint64) error {
	s := &h.slot[i]
	typ, size := s.typ, s.size
	if !s.made {
		typ, size = drTypeWrite, 1
	}
	if err := hwCheck(addr, typ, size); err != nil {
		return err
	}
	*s = hwSlot{made: true, on: s.on, addr: addr, typ: typ, size: size}
	return nil
}

// hwState is t's debug registers, made on first use.
func (t *Task) hwState() *hwDebug {
	if t.hw == nil {
		t.hw = &hwDebug{}
	}
	return t.hw
}

// peekDebugReg reads debug register n (0-7) of t, as Linux's ptrace_get_debugreg().
func (t *Task) peekDebugReg(n uint64) uint64 {
	h := t.hw
	if h == nil {
		h = &hwDebug{}
	}
	switch {
	case n < 4:
		return h.slot[n].addr
	case n == 6:
		return h.dr6 ^ dr6Reserved
	case n == 7:
		return h.dr7
	}
	return 0
}

// pokeDebugReg writes debug register n (0-7) of t, as Linux's ptrace_set_debugreg().
func (t *Task) pokeDebugReg(n, v uint64) error {
	var err error
	switch {
	case n < 4:
		err = t.hwState().setAddr(int(n), v)
	case n == 6:
		t.hwState().dr6 = v ^ dr6Reserved
	case n == 7:
		err = t.hwState().writeDR7(v)
	default:
		return unix.EIO
	}
	t.p.hw.dirty = true
	return err
}

// hwSync makes the engine's hooks those the threads' enabled slots ask for; it runs
// before a run, after the registers changed, so that a tracer rewriting them many
// times during one stop costs the engine one change.
func (p *Process) hwSync() {
	h := &p.hw
	h.dirty = false
	breaks, watches := map[uint64]bool{}, map[hwWatch]bool{}
	for _, t := range p.tasks {
		if t.hw == nil || t.state == taskDead {
			continue
		}
		for _, s := range t.hw.slot {
			if !s.made || !s.on {
				continue
			}
			if s.typ == drTypeExec {
				breaks[s.addr] = true
				continue
			}
			begin := max(s.addr, 7) - 7
			watches[hwWatch{begin, s.addr + s.size - begin, s.typ == drTypeRW}] = true
		}
	}
	for a := range h.breaks {
		if !breaks[a] {
			p.cpu.RemoveBreak(a)
			delete(h.breaks, a)
		}
	}
	for w := range h.watches {
		if !watches[w] {
			p.cpu.RemoveWatch(w.begin, w.size, true, w.read)
			delete(h.watches, w)
		}
	}
	for a := range breaks {
		if !h.breaks[a] && p.cpu.AddBreak(a) == nil {
			if h.breaks == nil {
				h.breaks = map[uint64]bool{}
			}
			h.breaks[a] = true
		}
	}
	for w := range watches {
		if !h.watches[w] && p.cpu.AddWatch(w.begin, w.size, true, w.read) == nil {
			if h.watches == nil {
				h.watches = map[hwWatch]bool{}
			}
			h.watches[w] = true
		}
	}
}

// hwBeforeRun prepares t's run: the hooks, and whether an instruction breakpoint where
// t resumes stops it (not when t stopped there last: the x86 resume flag).
func (p *Process) hwBeforeRun(t *Task) {
	if p.hw.dirty {
		p.hwSync()
	}
	if t.hwResume && p.cpu.Reg(emu.RIP) != t.hwResumeAt {
		t.hwResume = false // it ran on since (a run that was stopped at once did not)
	}
	if len(p.hw.breaks) > 0 {
		p.cpu.BreakAtStart(!t.hwResume)
	}
}

// hwHit handles an engine stop at a breakpoint or watchpoint of the debug registers:
// a SIGTRAP with si_code TRAP_HWBKPT for t when one of its enabled slots matches, DR6
// saying which; false when none of t's does and the stop is a gdb stub's.
func (t *Task) hwHit(ev emu.Event) bool {
	p := t.p
	h := t.hw
	var bits uint64
	if h != nil {
		for i, s := range h.slot {
			if !s.made || !s.on {
				continue
			}
			switch {
			case ev.Reason == emu.BreakHit && s.typ == drTypeExec && s.addr == ev.Addr:
			case ev.Reason == emu.WatchHit && s.typ != drTypeExec && (ev.Access == emu.Write || s.typ == drTypeRW) &&
				ev.Addr < s.addr+s.size && s.addr < ev.Addr+uint64(max(ev.Size, 1)):
			default:
				continue
			}
			bits |= 1 << i
		}
	}
	d := p.dbg
	switch {
	case bits == 0 && ev.Reason == emu.BreakHit:
		if !p.hw.breaks[ev.Addr] {
			return false
		}
		t.hwResume, t.hwResumeAt = true, ev.Addr // another thread's: the instruction runs when t resumes
		return true
	case bits == 0:
		return ev.Reason == emu.WatchHit && (d == nil || len(d.watches) == 0)
	case ev.Reason == emu.BreakHit && d != nil && d.task(t).stepPend:
		// A step ended here: it is reported first, and the breakpoint stops t's next run.
		return true
	}
	code := int32(trapHWBkpt)
	if ev.Reason == emu.WatchHit && d != nil && d.stepping(t) {
		// The stepped instruction made the access: one trap for both, as one #DB.
		bits |= dr6Step
		code = abi.TRAP_TRACE
		d.stepEnd(t)
	}
	h.dr6 = bits
	if ev.Reason == emu.BreakHit {
		t.hwResume, t.hwResumeAt = true, ev.Addr
	}
	// As Linux's send_sigtrap(): si_addr is where the thread resumes.
	rip := p.cpu.Reg(emu.RIP)
	t.lastFault = sigFault{trapno: 1}
	t.faultSignalFrame(abi.SIGTRAP, code, rip, t.lastFault, fmt.Sprintf("hardware breakpoint (DR6 %#x) at %#x", bits, rip))
	return true
}

// hwExeced drops the debug registers at exec (Linux's flush_ptrace_hw_breakpoint()):
// the new engine has none of the old hooks.
func (p *Process) hwExeced(t *Task) {
	t.hw, t.hwResume = nil, false
	p.hw = hwHooks{}
}
