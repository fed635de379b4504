package emu

/*
#include "hooks.h"
*/
import "C"

import "unsafe"

// CoverSize is the size of the edge map EnableCoverage fills.
const CoverSize = C.VEMU_COVER_SIZE

// EnableCoverage makes the engine record the guest code it runs, from the block hook in
// C: AFL-style edges, each pair of consecutive blocks hashed to a counter in a map of
// CoverSize bytes, and the set of blocks run with their sizes (CoveredBlocks). It costs
// a hook call and a hash per block, so an engine records only when asked.
func (e *Engine) EnableCoverage() error {
	if C.vemu_cover_alloc(e.st) != 0 {
		return &Error{Op: "coverage", Msg: "out of memory"}
	}
	if !e.blockInstalled {
		if err := ucErr("hook block", C.vemu_hook_quantum(e.uc, e.st, 1)); err != nil {
			return err
		}
		e.blockInstalled = true
	}
	C.vemu_block_sync(e.st)
	e.st.cover_on = 1
	C.vemu_block_sync(e.st)
	return nil
}

// CoverMap returns a copy of the edge map (nil when coverage is off).
func (e *Engine) CoverMap() []byte {
	if e.st.cover_on == 0 || e.st.cover_map == nil {
		return nil
	}
	// SAFETY: cover_map is CoverSize bytes of C memory owned by the engine's state,
	// freed only by Close; the bytes are copied out before returning.
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(e.st.cover_map)), CoverSize)...)
}

// CoveredBlocks calls f for each block the engine ran while coverage was on, in no
// particular order: its address and size in bytes.
func (e *Engine) CoveredBlocks(f func(addr uint64, size uint32)) {
	st := e.st
	if st.cover_on == 0 || st.cover_addr == nil {
		return
	}
	// SAFETY: cover_addr and cover_size hold cover_cap entries of C memory that only the
	// engine's own hooks change, and they do not run while the engine is stopped.
	n := int(st.cover_cap)
	addrs := unsafe.Slice((*uint64)(unsafe.Pointer(st.cover_addr)), n)
	sizes := unsafe.Slice((*uint32)(unsafe.Pointer(st.cover_size)), n)
	for i, a := range addrs {
		if a != 0 {
			f(a, sizes[i])
		}
	}
}
