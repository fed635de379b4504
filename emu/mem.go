package emu

/*
#include "hooks.h"
*/
import "C"

import "unsafe"

// MapHost maps guest addresses [addr, addr+len(mem)) onto the host memory mem, so that the
// guest's loads and stores and Go's reads and writes of mem see each other at once.
// mem must not be Go heap memory (use unix.Mmap) and must stay mapped until Unmap.
// addr and len(mem) must be page-aligned.
func (e *Engine) MapHost(addr uint64, mem []byte, prot Prot) error {
	if len(mem) == 0 || addr%PageSize != 0 || len(mem)%PageSize != 0 {
		return &Error{Op: "map", Msg: "unaligned or empty mapping"}
	}
	// SAFETY: mem is host memory outside the Go heap (the caller's contract), so the
	// garbage collector never moves or frees it while Unicorn holds the pointer.
	err := ucErr("map", C.uc_mem_map_ptr(e.uc, C.uint64_t(addr), C.size_t(len(mem)), C.uint32_t(prot), unsafe.Pointer(&mem[0])))
	if err == nil {
		e.regions++
	}
	return err
}

// Unmap removes the mapping of [addr, addr+size), which must be exactly one earlier MapHost
// region, and drops code translated from it.
func (e *Engine) Unmap(addr, size uint64) error {
	err := ucErr("unmap", C.uc_mem_unmap(e.uc, C.uint64_t(addr), C.size_t(size)))
	if err == nil {
		e.regions--
		e.FlushCode(addr, addr+size)
	}
	return err
}

// Regions is the number of regions mapped; Unicorn aborts the process near 4,000.
func (e *Engine) Regions() int { return e.regions }

// FlushCode drops translated code for [begin, end), as needed after Go writes code bytes.
func (e *Engine) FlushCode(begin, end uint64) {
	C.vemu_remove_cache(e.uc, C.uint64_t(begin), C.uint64_t(end))
}
