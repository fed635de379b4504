package emu

/*
#include <stdlib.h>
#include "hooks.h"
*/
import "C"

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
	return c, nil
}

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
	}
}

// EnableQuantum installs the block counter that stops the engine after n translated
// blocks, for preemption that repeats exactly from run to run. SetQuantum(0) pauses it.
func (e *Engine) EnableQuantum() error { return ucErr("hook block", C.vemu_hook_quantum(e.uc, e.st)) }

// SetQuantum sets how many blocks run before the engine stops (0: never).
func (e *Engine) SetQuantum(n uint64) {
	e.st.quantum = C.uint64_t(n)
	e.st.blocks = 0
}
