package emu

/*
#include <stdlib.h>
#include "hooks.h"
*/
import "C"

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// Context holds a saved CPU state of an engine: a thread of the guest while another runs.
type Context struct {
	c *C.uc_context
}

// NewContext allocates a context for this engine.
func (e *Engine) NewContext() (*Context, error) {
	c := &Context{}
	// SAFETY: uc_context_alloc writes a C pointer into c.c for the duration of the call.
	if err := ucErr("context alloc", C.uc_context_alloc(e.uc, &c.c)); err != nil {
		return nil, err
	}
	liveContexts.Add(1)
	return c, nil
}

// liveContexts counts the contexts allocated and not yet freed.
var liveContexts atomic.Int64

// LiveContexts is how many contexts are allocated and not freed: a leak check for tests.
func LiveContexts() int64 { return liveContexts.Load() }

// Save stores the engine's CPU state in c.
func (e *Engine) Save(c *Context) error { return ucErr("context save", C.uc_context_save(e.uc, c.c)) }

// Restore loads the CPU state saved in c.
func (e *Engine) Restore(c *Context) error {
	return ucErr("context restore", C.uc_context_restore(e.uc, c.c))
}

// Free releases c.
func (c *Context) Free() {
	if c.c != nil {
		C.uc_context_free(c.c)
		c.c = nil
		liveContexts.Add(-1)
	}
}

// EnableQuantum installs the block hook: a counter that stops the engine after n
// translated blocks, for preemption that repeats exactly from run to run (SetQuantum(0)
// pauses it), and the exact way for Kick to stop it. It is a call before every block,
// whose common path is one count and a test (hooks.c), yet code made of short blocks pays
// for it: a Go loop of two blocks an iteration took about twice the CPU time with it as
// without, so it is installed only when a process needs it.
func (e *Engine) EnableQuantum() error {
	if e.blockHook {
		return nil
	}
	if !e.blockInstalled {
		if err := ucErr("hook block", C.vemu_hook_quantum(e.uc, e.st, 0)); err != nil {
			return err
		}
		e.blockInstalled = true
		// Unicorn decides at translation which hooks a block calls: code translated
		// before would run on without the hook, its loops never preempted (a thread
		// made after its process's loop first ran waited for the loop to end).
		e.flushAll()
	}
	C.vemu_block_sync(e.st) // blocks run before this do not count
	e.st.block_on = 1
	C.vemu_block_sync(e.st)
	e.kickMu.Lock()
	e.blockHook = true
	e.kickMu.Unlock()
	return nil
}

// Kick makes a running engine stop at a block boundary, exactly, within a few thousand
// blocks (VEMU_KICK_BLOCKS: the block hook looks for a kick that often, not before every
// block), so that its run loop sees a message from another goroutine; a kick while the
// engine is not running makes its next Run return Stopped before running anything. Only the block hook can stop guest
// code on a kick (see EnableQuantum); without it, the next system call goes to the
// OnSyscall function, which must stop the engine itself, or the caller must find another
// way (Abort). Safe from any goroutine, even after Close.
func (e *Engine) Kick() {
	e.kickMu.Lock()
	defer e.kickMu.Unlock()
	switch {
	case e.gone:
	case !e.running:
		e.pending = true
	default:
		e.kickRunning()
	}
}

// kickRunning asks the running engine's hooks to stop it; called with kickMu held.
func (e *Engine) kickRunning() {
	// SAFETY: st lives until Close, which cannot pass kickMu while we hold it.
	// Without the block hook, only the SYSCALL hook reads it: a call it would
	// answer itself goes to Go, which sees the message.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&e.st.kick)), 1)
}

// Abort stops a running engine from another goroutine with uc_emu_stop. The registers it
// leaves are not a state the guest was in (measured in 2.1.1: a loop interrupted this way
// and resumed computes a different result), so Abort is only for ending the process,
// when nothing of the guest will run again. Safe from any goroutine, even after Close.
func (e *Engine) Abort() {
	e.kickMu.Lock()
	defer e.kickMu.Unlock()
	switch {
	case e.gone:
	case !e.running:
		e.pending = true
	default:
		C.uc_emu_stop(e.uc)
		// uc_emu_start clears a stop request made before it has set up the run (2.1.1
		// resets stop_request there, and uc_emu_stop does nothing while emulation_done is
		// still set from the last run): repeat the request until this run has ended.
		go e.abortAgain(e.runs)
	}
}

func (e *Engine) abortAgain(run uint64) {
	for {
		time.Sleep(time.Millisecond)
		e.kickMu.Lock()
		if e.gone || !e.running || e.runs != run {
			e.kickMu.Unlock()
			return
		}
		C.uc_emu_stop(e.uc)
		e.kickMu.Unlock()
	}
}

// BlocksRun is how many translated blocks the engine has run since the block hook was
// installed (0 without it): a count of the guest's progress that repeats exactly from
// run to run, unlike the host's time.
func (e *Engine) BlocksRun() uint64 { return uint64(C.vemu_blocks_run(e.st)) }

// SetQuantum sets how many blocks run before the engine stops (0: never).
func (e *Engine) SetQuantum(n uint64) {
	C.vemu_block_sync(e.st) // the blocks counted so far, under the old quantum
	e.st.quantum = C.uint64_t(n)
	e.st.blocks = 0
	C.vemu_block_sync(e.st)
}

// QuantumFresh says whether a quantum is set and its count of blocks stands at zero: it
// ran out (the count starts again), or nothing has run since SetQuantum. The blocks the
// hook's fast path counted and has not folded into blocks yet count too.
func (e *Engine) QuantumFresh() bool {
	return e.st.quantum != 0 && e.st.blocks == 0 && e.st.grant == e.st.left
}
