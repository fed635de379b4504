package emu

/*
#include "hooks.h"
*/
import "C"

import "fmt"

// Debugging support: breakpoints that leave the guest's code bytes alone (a code hook
// bounded to one address), watchpoints (memory hooks bounded to the watched range) and
// single steps. A per-instruction hook serves steps and watchpoints; it is installed only
// while one of them needs it, since it costs every instruction of the run.

// DebugReason says why a run stopped with a Debug event.
type DebugReason int

// Reasons for a Debug event.
const (
	BreakHit DebugReason = 1 + iota // Addr is the breakpoint; rip is there, not yet run
	WatchHit                        // Addr was accessed (Access); rip is the next instruction
	StepDone                        // one instruction ran; rip is the next
)

// watch is one watched range and the kinds of access it catches.
type watch struct {
	begin, end  uint64 // inclusive
	write, read bool
}

// watchHook is a watch's hook and the C memory it reads.
type watchHook struct {
	h C.uc_hook
	w *C.struct_vemu_watch
}

// debugState is the engine's breakpoints, watchpoints and step request.
type debugState struct {
	breaks  map[uint64]C.uc_hook
	watches map[watch]watchHook
	trace   C.uc_hook
	step    bool
	skip    int  // for the next run only: 1 a breakpoint at its start stops it, 2 it does not
	purge   bool // hooks were deleted: purge them before the next run (purgeHooks)
}

// AddBreak stops runs before the instruction at addr executes. The code already
// translated there is dropped, so that the hook takes effect.
func (e *Engine) AddBreak(addr uint64) error {
	if e.dbg.breaks == nil {
		e.dbg.breaks = map[uint64]C.uc_hook{}
	}
	if _, ok := e.dbg.breaks[addr]; ok {
		return nil
	}
	var h C.uc_hook
	if err := ucErr("hook break", C.vemu_hook_break(e.uc, e.st, C.uint64_t(addr), &h)); err != nil {
		return err
	}
	e.dbg.breaks[addr] = h
	e.FlushCode(addr&^(PageSize-1), addr&^(PageSize-1)+PageSize)
	return nil
}

// RemoveBreak removes the breakpoint at addr, if any.
func (e *Engine) RemoveBreak(addr uint64) {
	h, ok := e.dbg.breaks[addr]
	if !ok {
		return
	}
	C.uc_hook_del(e.uc, h)
	delete(e.dbg.breaks, addr)
	e.dbg.purge = true
	e.FlushCode(addr&^(PageSize-1), addr&^(PageSize-1)+PageSize)
}

// AddWatch stops a run after an instruction that writes (write) or reads (read) any byte
// of [addr, addr+size).
func (e *Engine) AddWatch(addr, size uint64, write, read bool) error {
	if size == 0 || addr+size < addr || (!write && !read) {
		return &Error{Op: "watch", Msg: fmt.Sprintf("bad range %#x+%d", addr, size)}
	}
	w := watch{addr, addr + size - 1, write, read}
	if e.dbg.watches == nil {
		e.dbg.watches = map[watch]watchHook{}
	}
	if _, ok := e.dbg.watches[w]; ok {
		return nil
	}
	var h C.uc_hook
	wr, rd := 0, 0
	if write {
		wr = 1
	}
	if read {
		rd = 1
	}
	var cw *C.struct_vemu_watch
	if err := ucErr("hook watch", C.vemu_hook_watch(e.uc, e.st, C.uint64_t(w.begin), C.uint64_t(w.end), C.int(wr), C.int(rd), &h, &cw)); err != nil {
		return err
	}
	e.dbg.watches[w] = watchHook{h, cw}
	return e.updateTrace()
}

// RemoveWatch removes a watchpoint set by AddWatch with the same arguments.
func (e *Engine) RemoveWatch(addr, size uint64, write, read bool) {
	w := watch{addr, addr + size - 1, write, read}
	if h, ok := e.dbg.watches[w]; ok {
		C.vemu_unhook_watch(e.uc, h.h, h.w)
		delete(e.dbg.watches, w)
		e.dbg.purge = true
		e.updateTrace()
	}
}

// SetStep makes the next runs stop after one instruction, with StepDone, until
// SetStep(false). A run that stops earlier (a system call that stops the engine, a
// fault) reports that instead.
func (e *Engine) SetStep(on bool) error {
	e.dbg.step = on
	return e.updateTrace()
}

// updateTrace installs the per-instruction hook when a step or a watchpoint needs it,
// and removes it otherwise. Translated code is dropped either way, since Unicorn decides
// at translation which hooks a block calls.
func (e *Engine) updateTrace() error {
	need := e.dbg.step || len(e.dbg.watches) > 0
	switch {
	case need && e.st.trace_on == 0:
		if err := ucErr("hook trace", C.vemu_hook_trace(e.uc, e.st, &e.dbg.trace)); err != nil {
			return err
		}
		e.st.trace_on = 1
	case !need && e.st.trace_on != 0:
		C.uc_hook_del(e.uc, e.dbg.trace)
		e.st.trace_on = 0
		e.dbg.purge = true
	default:
		return nil
	}
	e.flushAll()
	return nil
}

// flushAll drops all translated code.
func (e *Engine) flushAll() { C.vemu_flush_exec(e.uc, e.st) }

// prepareDebug arms the per-run debugging state before a run from pc.
func (e *Engine) prepareDebug(pc uint64) {
	e.st.watch_hit = 0
	e.st.dbg_skip_on = 0
	skip := e.dbg.skip
	e.dbg.skip = 0
	if _, ok := e.dbg.breaks[pc]; ok && skip != 1 {
		// Resuming from a breakpoint: its instruction runs once without stopping.
		e.st.dbg_skip = C.uint64_t(pc)
		e.st.dbg_skip_on = 1
	}
	e.st.step = 0
	if e.dbg.step {
		e.st.step = 1
	}
}

// BreakAtStart decides, for the next run only, whether a breakpoint at the address it
// starts from stops it (stop), or lets its instruction run once, as by default: the
// x86 resume flag that lets a thread resume from a breakpoint its debugger reported.
func (e *Engine) BreakAtStart(stop bool) {
	e.dbg.skip = 2
	if stop {
		e.dbg.skip = 1
	}
}

// debugEvent turns a stop for the debugger into an event.
func (e *Engine) debugEvent(rip uint64) Event {
	ev := Event{Kind: Debug, RIP: rip, Reason: DebugReason(e.st.dbg_kind), Addr: uint64(e.st.dbg_addr)}
	if ev.Reason == WatchHit {
		ev.Access, ev.Size = Read, int(e.st.dbg_size)
		if e.st.dbg_write != 0 {
			ev.Access = Write
		}
	}
	return ev
}

// Stepped says whether the last run began the instruction it was asked to step: when it
// stopped before the per-instruction hook reported the step done (a system call that
// stopped the engine, say), the instruction still ran.
func (e *Engine) Stepped() bool { return e.st.step == 2 }

// purgeHooks makes Unicorn forget the hooks deleted since the last run before code is
// translated again. It keeps deleted hooks listed until a run ends, and code translated
// meanwhile keeps calling into them: a removed watchpoint left every load and store on
// the slow path, at about 20 times the cost. A run that stops before the instruction at
// pc ends that; the code translated before is dropped.
func (e *Engine) purgeHooks(pc uint64) {
	if C.vemu_exit_at(e.uc, C.uint64_t(pc)) == C.UC_ERR_OK {
		C.vemu_run(e.uc, e.st, C.uint64_t(pc))
	}
	C.vemu_exits_none(e.uc)
	C.vemu_clear_exception(e.uc, e.st)
	e.st.event = C.VEMU_EV_NONE
	e.SetReg(RIP, pc)
	e.flushAll()
}
