package emu

/*
#include "hooks.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// EventKind says why the engine stopped.
type EventKind int

// Why Run returned.
const (
	Stopped   EventKind = iota // a hook asked to stop (Syscall.Stop, StopNow)
	Fault                      // a memory access faulted: Addr, Access, Unmapped
	Interrupt                  // int N, int3, or a CPU exception such as divide error: Vector
	Invalid                    // an invalid or unsupported instruction at RIP
	Halt                       // hlt at RIP
	Panic                      // a Go hook panicked: PanicValue
	Failed                     // any other engine error: Err
	Debug                      // a breakpoint, watchpoint or single step: Reason, Addr, Access
)

var kindNames = [...]string{"stopped", "fault", "interrupt", "invalid instruction", "halt", "panic", "failed", "debug"}

func (k EventKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Access is the kind of memory access that faulted.
type Access int

// Memory accesses.
const (
	Read Access = iota
	Write
	Fetch
)

func (a Access) String() string { return [...]string{"read", "write", "fetch"}[a] }

// Event is what stopped a run.
type Event struct {
	Kind       EventKind
	RIP        uint64 // the instruction that faulted or the next to run
	Addr       uint64 // Fault: the address accessed
	Access     Access // Fault
	Unmapped   bool   // Fault: nothing mapped there (else a protection fault)
	Vector     uint32 // Interrupt
	ErrCode    uint32 // Interrupt: the error code of an exception that pushes one (10-14, 17)
	Int        bool   // Interrupt: raised by an int N or int3 instruction; RIP is after it
	PanicValue any    // Panic
	Err        error  // Failed
	Reason     DebugReason
	Size       int // Debug with WatchHit: the size of the access
	// Lost, on a Fault, lists guest addresses whose host pages raised SIGBUS while guest
	// code ran (a file shrank under its mapping outside the kernel's knowledge), Addr
	// being the first; the host pages there are zero pages until the kernel maps the
	// memory again. RIP is where the engine stopped, up to a block past the access.
	// LostAll: more pages than listed.
	Lost    []uint64
	LostAll bool
}

func (ev Event) String() string {
	switch ev.Kind {
	case Fault:
		m := "protection"
		if ev.Unmapped {
			m = "unmapped"
		}
		return fmt.Sprintf("%s fault (%s) at %#x, rip %#x", ev.Access, m, ev.Addr, ev.RIP)
	case Interrupt:
		return fmt.Sprintf("interrupt %d, rip %#x", ev.Vector, ev.RIP)
	case Panic:
		return fmt.Sprintf("panic: %v", ev.PanicValue)
	case Failed:
		return fmt.Sprintf("failed: %v, rip %#x", ev.Err, ev.RIP)
	case Debug:
		return fmt.Sprintf("debug stop %d at %#x, rip %#x", ev.Reason, ev.Addr, ev.RIP)
	}
	return fmt.Sprintf("%s, rip %#x", ev.Kind, ev.RIP)
}

// Run executes from pc until a hook stops the engine or the guest faults.
func (e *Engine) Run(pc uint64) Event {
	if e.dbg.purge && !e.dbg.step {
		// Not before a step: a tracee's single step right after a purge ran on past
		// its instruction; the purge waits for the next run that does not step.
		e.dbg.purge = false
		e.purgeHooks(pc)
	}
	e.st.event = C.VEMU_EV_NONE
	e.st.tlb_fault = 0
	e.panicVal = nil
	e.kickMu.Lock()
	if e.pending {
		e.pending = false
		e.kickMu.Unlock()
		return Event{Kind: Stopped, RIP: pc}
	}
	e.running = true
	e.runs++
	e.st.kick = 0 // a kick left from the last run was for messages seen since
	e.kickMu.Unlock()
	e.prepareDebug(pc)
	if pc != e.descRip {
		e.st.desc_grant = 0
	}
	code := C.vemu_run(e.uc, e.st, C.uint64_t(pc))
	for e.st.smc_page != 0 {
		code = e.rewrote()
	}
	e.st.desc_grant = 0 // a read allowed to a segment load never outlives its run
	e.kickMu.Lock()
	e.running = false
	e.kickMu.Unlock()
	return e.event(code)
}

// rewrote runs on after the TLB fill hook refused a store to a page that may hold
// translated code (xpages in hooks.h): it drops that code and runs the store again, now
// granted. An instruction that both runs from the page and writes it would only fault
// again, its block being translated anew from the page first (one whose first bytes lie
// in the 15 before it, or whose store was refused twice in a row): it runs alone,
// with the page granted everything, and the page's code is dropped after it, so the next
// block is translated from what it wrote, as the CPU would run it.
func (e *Engine) rewrote() C.uc_err {
	page, rip := uint64(e.st.smc_page), e.Reg(RIP)
	e.st.smc_page = 0
	e.st.tlb_fault = 0
	e.st.event = C.VEMU_EV_NONE
	// For a debugger's step or watchpoint, the store has yet to run.
	if e.st.step == 2 {
		e.st.step = 1
	}
	e.st.watch_hit = 0
	if e.st.smc_reset != 0 {
		e.st.smc_reset = 0
		C.vemu_smc_reset(e.uc, e.st)
		return C.vemu_run(e.uc, e.st, C.uint64_t(rip))
	}
	C.vemu_smc_drop(e.uc, e.st, C.uint64_t(page))
	// The same store refused twice, with no write granted to such a page in between:
	// translating the store's block reached the page again.
	again := page == e.smcPage && rip == e.smcRIP && e.st.smc_wrote == 0
	e.smcPage, e.smcRIP = page, rip
	e.st.smc_wrote = 0
	if !again && (rip+15)&^(PageSize-1) != page && rip&^(PageSize-1) != page {
		return C.vemu_run(e.uc, e.st, C.uint64_t(rip))
	}
	e.smcPage = 0
	in, ok := e.decodeAt(rip)
	if !ok {
		return C.vemu_run(e.uc, e.st, C.uint64_t(rip)) // it raises #UD or a fetch fault
	}
	next := rip + uint64(in.Len)
	// A block kept from before would run on past the exit.
	e.FlushCode(rip, next)
	if err := C.vemu_exit_at(e.uc, C.uint64_t(next)); err != C.UC_ERR_OK {
		return err
	}
	e.st.smc_step = C.uint64_t(page)
	code := C.vemu_run(e.uc, e.st, C.uint64_t(rip))
	e.st.smc_step = 0
	exitErr := C.vemu_exits_none(e.uc)
	// The block translated with the exit ends there, and what ran may have rewritten the
	// page's code while the hook kept no watch: both go.
	e.FlushCode(rip, next)
	C.vemu_smc_drop(e.uc, e.st, C.uint64_t(page))
	if exitErr != C.UC_ERR_OK {
		return exitErr
	}
	if code == C.UC_ERR_OK && e.st.event == C.VEMU_EV_NONE && e.st.smc_page == 0 && e.Reg(RIP) == next {
		return C.vemu_run(e.uc, e.st, C.uint64_t(next))
	}
	return code
}

// event turns how uc_emu_start ended into an Event.
func (e *Engine) event(code C.uc_err) Event {
	if ev := e.st.event; ev == C.VEMU_EV_FAULT || ev == C.VEMU_EV_INTR || ev == C.VEMU_EV_PORTIO {
		// Let the next exception be a first one again (see vemu_clear_exception).
		C.vemu_clear_exception(e.uc, e.st)
	}
	rip := e.Reg(RIP)
	if e.st.lost_n != 0 {
		return e.lostEvent(rip)
	}
	switch e.st.event {
	case C.VEMU_EV_DEBUG:
		return e.debugEvent(rip)
	case C.VEMU_EV_BLOCK:
		return Event{Kind: Stopped, RIP: rip}
	case C.VEMU_EV_PANIC:
		return Event{Kind: Panic, RIP: rip, PanicValue: e.panicVal}
	case C.VEMU_EV_FAULT:
		// Unicorn's own check of an access the TLB fill hook granted: not expected while
		// the hook's ranges match the mapped regions. Its rip is that of the start of a
		// chain of blocks, not of the instruction.
		ev := Event{Kind: Fault, RIP: uint64(e.st.fault_rip), Addr: uint64(e.st.fault_addr)}
		switch e.st.mem_type {
		case C.UC_MEM_READ_UNMAPPED, C.UC_MEM_READ_PROT:
			ev.Access = Read
		case C.UC_MEM_WRITE_UNMAPPED, C.UC_MEM_WRITE_PROT:
			ev.Access = Write
		default:
			ev.Access = Fetch
		}
		switch e.st.mem_type {
		case C.UC_MEM_READ_UNMAPPED, C.UC_MEM_WRITE_UNMAPPED, C.UC_MEM_FETCH_UNMAPPED:
			ev.Unmapped = true
		}
		if ev.Access == Fetch {
			ev.RIP = ev.Addr
		}
		return ev
	case C.VEMU_EV_INTR:
		return e.interrupt(uint64(e.st.intr_rip), uint32(e.st.intno))
	case C.VEMU_EV_PORTIO:
		// Port I/O in user mode: a general protection fault at the in or out.
		return Event{Kind: Interrupt, RIP: e.findIO(uint64(e.st.fault_rip)), Vector: 13}
	}
	switch code {
	case C.UC_ERR_OK:
		if e.isHalt(rip) {
			return Event{Kind: Halt, RIP: rip - 1}
		}
		return Event{Kind: Stopped, RIP: rip}
	case C.UC_ERR_INSN_INVALID:
		return Event{Kind: Invalid, RIP: rip}
	case C.UC_ERR_EXCEPTION:
		if e.st.tlb_fault != 0 {
			return e.refused(rip)
		}
	}
	return Event{Kind: Failed, RIP: rip, Err: ucErr("run", code)}
}

// interrupt describes an interrupt the hook saw. Unicorn reports an exception (divide
// error, general protection...) with rip at the faulting instruction and an int N with rip
// after it, and says nothing else that tells them apart: the bytes before rip do. (Only
// code that faults right after the bytes of an int N with the same vector, never run,
// reads as that int N.) The CPU runs at privilege level 3, so hlt raises a general
// protection fault; it is reported as Halt.
func (e *Engine) interrupt(rip uint64, vector uint32) Event {
	ev := Event{Kind: Interrupt, RIP: rip, Vector: vector}
	switch vector {
	case 10, 11, 12, 13, 14, 17:
		ev.ErrCode = uint32(e.st.error_code)
	}
	var b [2]byte
	switch {
	case vector == 3 && rip >= 1 && e.ReadMem(rip-1, b[:1]) == nil && b[0] == 0xcc:
		ev.Int = true
	case rip >= 2 && e.ReadMem(rip-2, b[:]) == nil && b[0] == 0xcd && uint32(b[1]) == vector:
		ev.Int = true
	case vector == 13 && e.ReadMem(rip, b[:1]) == nil && b[0] == 0xf4:
		return Event{Kind: Halt, RIP: rip}
	}
	return ev
}

// refused reports the access the TLB fill hook refused; rip is the faulting instruction,
// or for a fetch the start of the block whose translation reached the page.
func (e *Engine) refused(rip uint64) Event {
	page := uint64(e.st.tlb_page)
	if e.st.tlb_type == C.UC_MEM_READ && e.inDesc(page) && e.descLoad(rip, page) {
		return Event{Kind: Stopped, RIP: rip} // to run the segment load again
	}
	ev := Event{Kind: Fault, RIP: rip, Unmapped: !e.mapped(page)}
	switch e.st.tlb_type {
	case C.UC_MEM_WRITE:
		ev.Access = Write
	case C.UC_MEM_FETCH:
		ev.Access = Fetch
	}
	if ev.Access == Fetch {
		if rip&^(PageSize-1) == page {
			ev.Addr = rip
			return ev
		}
		return e.fetchAcross(rip, page)
	}
	ev.Addr = e.faultAddr(rip, page, ev.Access)
	return ev
}

// isHalt says whether the instruction before rip is hlt: Unicorn stops there without an error.
func (e *Engine) isHalt(rip uint64) bool {
	var b [1]byte
	if rip == 0 || e.ReadMem(rip-1, b[:]) != nil {
		return false
	}
	return b[0] == 0xf4
}

// ReadMem copies guest memory at addr into b through the engine (for diagnostics; the
// kernel reads guest memory through its own host mappings).
func (e *Engine) ReadMem(addr uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	// Unicorn's regions may hold pages the guest has no access to (see mem.go), and
	// uc_mem_read takes physical addresses: each entry's part is read at its own.
	for a, end := addr, addr+uint64(len(b)); a < end; {
		r, ok := e.entry(a)
		if !ok || uint64(r.begin) > a || uint64(r.perms)&^offMask == uint64(ProtNone) {
			return &Error{Op: "mem read", Msg: "unmapped"}
		}
		stop := min(end, uint64(r.end))
		part := b[a-addr : stop-addr]
		phys := a + uint64(r.perms)&offMask
		if err := ucErr("mem read", C.uc_mem_read(e.uc, C.uint64_t(phys), unsafe.Pointer(&part[0]), C.size_t(len(part)))); err != nil {
			return err
		}
		a = stop
	}
	return nil
}
