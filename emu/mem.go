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
		e.addRange(addr, addr+uint64(len(mem)), prot)
	}
	return err
}

// Unmap removes the mapping of [addr, addr+size), which must be exactly one earlier MapHost
// region, and drops code translated from it.
func (e *Engine) Unmap(addr, size uint64) error {
	// Only executable pages can hold translated code. Drop it while the pages are still
	// mapped: Unicorn finds the code through the TLB, which would refuse an unmapped page.
	if e.executable(addr, addr+size) {
		e.FlushCode(addr, addr+size)
	}
	err := ucErr("unmap", C.vemu_unmap(e.uc, e.st, C.uint64_t(addr), C.uint64_t(size)))
	if err == nil {
		e.regions--
		e.removeRange(addr, addr+size)
	}
	return err
}

// Regions is the number of regions mapped; Unicorn aborts the process near 4,000.
func (e *Engine) Regions() int { return e.regions }

// FlushCode drops translated code for [begin, end), as needed after Go writes code bytes.
func (e *Engine) FlushCode(begin, end uint64) {
	C.vemu_remove_cache(e.uc, C.uint64_t(begin), C.uint64_t(end))
}

// The TLB fill hook looks pages up in a copy of the mapped ranges kept in C memory
// (st.regions), sorted by address. Unicorn refuses overlapping maps, so the ranges are
// disjoint.

// ranges returns the table, in place.
func (e *Engine) ranges() []C.struct_vemu_region {
	if e.st.regions == nil {
		return nil
	}
	// SAFETY: st.regions points to rangeCap elements allocated in C by growRanges, of
	// which the first st.nregions are in use; only this goroutine changes them.
	return unsafe.Slice(e.st.regions, e.rangeCap)[:e.st.nregions]
}

// growRanges makes room for n more ranges.
func (e *Engine) growRanges(n int) bool {
	need := int(e.st.nregions) + n
	if need <= e.rangeCap {
		return true
	}
	c := max(2*e.rangeCap, need, 16)
	p := C.realloc(unsafe.Pointer(e.st.regions), C.size_t(c)*C.sizeof_struct_vemu_region)
	if p == nil {
		return false
	}
	e.st.regions = (*C.struct_vemu_region)(p)
	e.rangeCap = c
	return true
}

// executable says whether a range mapped executable overlaps [begin, end).
func (e *Engine) executable(begin, end uint64) bool {
	for _, r := range e.ranges() {
		if uint64(r.begin) < end && begin < uint64(r.end) && Prot(r.perms)&ProtExec != 0 {
			return true
		}
	}
	return false
}

// addRange records the mapping of [begin, end) with prot.
func (e *Engine) addRange(begin, end uint64, prot Prot) {
	if !e.growRanges(1) {
		// Without a record the fill hook refuses the pages: the guest faults there, as it
		// would if the map had failed.
		return
	}
	r := e.ranges()
	i := 0
	for i < len(r) && uint64(r[i].begin) < begin {
		i++
	}
	r = r[:len(r)+1]
	copy(r[i+1:], r[i:])
	r[i] = C.struct_vemu_region{begin: C.uint64_t(begin), end: C.uint64_t(end), perms: C.uint64_t(prot)}
	e.st.nregions++
}

// removeRange forgets [begin, end), cutting the ranges that overlap it.
func (e *Engine) removeRange(begin, end uint64) {
	r := e.ranges()
	i := 0
	for i < len(r) && uint64(r[i].end) <= begin {
		i++
	}
	j := i
	var keep []C.struct_vemu_region
	for j < len(r) && uint64(r[j].begin) < end {
		if uint64(r[j].begin) < begin {
			left := r[j]
			left.end = C.uint64_t(begin)
			keep = append(keep, left)
		}
		if uint64(r[j].end) > end {
			right := r[j]
			right.begin = C.uint64_t(end)
			keep = append(keep, right)
		}
		j++
	}
	if len(keep) > j-i && !e.growRanges(len(keep)-(j-i)) {
		return
	}
	r = e.ranges()
	n := len(r) - (j - i) + len(keep)
	full := r[:max(n, len(r))]
	copy(full[i+len(keep):], r[j:])
	copy(full[i:], keep)
	e.st.nregions = C.uint64_t(n)
}
