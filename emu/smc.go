package emu

/*
#include <stdlib.h>
#include "hooks.h"
*/
import "C"

import "unsafe"

// pageSet is the C set of pages the TLB fill hook keeps (smc.c), on its own, for tests.
type pageSet struct{ s *C.struct_vemu_pageset }

func newPageSet() pageSet {
	return pageSet{(*C.struct_vemu_pageset)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_vemu_pageset{}))))}
}

func (p pageSet) add(page uint64) bool { return C.vemu_ps_add(p.s, C.uint64_t(page), maxXPages) != 0 }
func (p pageSet) del(page uint64)      { C.vemu_ps_del(p.s, C.uint64_t(page)) }
func (p pageSet) has(page uint64) bool { return C.vemu_ps_has(p.s, C.uint64_t(page)) != 0 }
func (p pageSet) len() int             { return int(p.s.n) }

func (p pageSet) free() {
	C.vemu_ps_free(p.s)
	C.free(unsafe.Pointer(p.s))
}

// maxXPages bounds the set (VEMU_XPAGES_MAX).
const maxXPages = C.VEMU_XPAGES_MAX

// boundCodePages bounds the engine's set of code pages to n (at least 2) for tests; 0
// restores the usual bound.
func (e *Engine) boundCodePages(n uint64) { e.st.xpages_max = C.uint64_t(n) }
