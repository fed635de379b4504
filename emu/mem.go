package emu

/*
#include "hooks.h"
*/
import "C"

import (
	"errors"
	"sort"
	"unsafe"
)

// Guest memory is given to the CPU in two layers. Unicorn's regions say which host memory
// lies behind a guest range (uc_mem_map_ptr, with every permission); the permission table
// (st.ptab in C memory, a tree of disjoint ranges) says what the guest may do there, and the
// TLB fill hook grants each page from it. Changing a permission, or unmapping part of a
// region, then changes the table and empties the TLB before guest code runs again, where
// a region operation would cost time growing with the region's size and with the number
// of regions (Unicorn flushes an unmapped region page by page and rebuilds its address
// space at every map). A region goes only when no table entry is left in it, or when a
// mapping of other host memory takes its place.

// MaxRegions bounds the Unicorn regions of an engine: Unicorn aborts the process near
// 4,000. A mapping that would need one more fails with ErrRegions.
const MaxRegions = 3500

// ErrRegions is returned when a mapping would need more Unicorn regions than MaxRegions.
var ErrRegions = errors.New("emu: too many memory regions")

// noEntry is what permsAt returns for an address without a table entry.
const noEntry Prot = 1 << 31

// ucRegion is one Unicorn region: guest [begin, end) onto host memory from host.
type ucRegion struct {
	begin, end uint64
	host       uintptr
}

// MapHost maps guest addresses [addr, addr+len(mem)) onto the host memory mem with prot, so
// that the guest's loads and stores and Go's reads and writes of mem see each other at
// once. mem must not be Go heap memory (use unix.Mmap) and must stay mapped until Unmap.
// addr and len(mem) must be page-aligned. What the range held before is replaced.
func (e *Engine) MapHost(addr uint64, mem []byte, prot Prot) error {
	return e.MapHostIn(addr, mem, addr, addr+uint64(len(mem)), prot)
}

// MapHostIn maps [begin, end) with prot onto the host memory mem holds for guest
// addresses [base, base+len(mem)), which must contain it, as MapHost does. The rest of mem
// (host memory that continues the mapping for guest addresses nothing else maps yet, or
// that other mappings of the same memory hold) may be given to the CPU too, without
// access until mapped, so that mappings there need no region of their own. All bounds
// must be page-aligned. What [begin, end) held before is replaced.
func (e *Engine) MapHostIn(base uint64, mem []byte, begin, end uint64, prot Prot) error {
	top := base + uint64(len(mem))
	if begin >= end || begin < base || end > top || top < base || base%PageSize != 0 ||
		begin%PageSize != 0 || end%PageSize != 0 || len(mem)%PageSize != 0 {
		return &Error{Op: "map", Msg: "unaligned or empty mapping"}
	}
	// SAFETY: mem is host memory outside the Go heap (the caller's contract): its address
	// stays valid while it is mapped.
	host := uintptr(unsafe.Pointer(&mem[0]))
	if in, err := e.mapWindow(base, host, uint64(len(mem)), begin, end, prot); in {
		return err
	}
	if !e.covered(begin, end, host+uintptr(begin-base)) {
		if err := e.makeRegion(base, top, begin, end, host); err != nil {
			return err
		}
	}
	e.setPerms(begin, end, prot, true)
	return nil
}

// Covered says whether [addr, addr+len(mem)) is given to the CPU onto mem already, so
// that MapHost there changes permissions only.
func (e *Engine) Covered(addr uint64, mem []byte) bool {
	if len(mem) == 0 {
		return false
	}
	// SAFETY: only the address of mem's host memory is taken.
	host := uintptr(unsafe.Pointer(&mem[0]))
	if _, win := windowPhysOf(host, uint64(len(mem))); win != nil {
		return true // a window: MapHost sets the table only
	}
	return e.covered(addr, addr+uint64(len(mem)), host)
}

// RegionSize returns the size of the region that maps addr onto mem's first byte, or 0.
func (e *Engine) RegionSize(addr uint64, mem []byte) uint64 {
	if len(mem) == 0 {
		return 0
	}
	i := e.regionAt(addr)
	// SAFETY: only the address of mem's host memory is taken.
	if i < len(e.ucRegions) && e.ucRegions[i].begin <= addr &&
		e.ucRegions[i].host+uintptr(addr-e.ucRegions[i].begin) == uintptr(unsafe.Pointer(&mem[0])) {
		return e.ucRegions[i].end - e.ucRegions[i].begin
	}
	return 0
}

// Protect sets the permissions of [addr, addr+size) if the range lies in memory given
// to the CPU (by MapHost, possibly for other permissions before), and reports whether
// it did. With ProtNone the memory stays given, without access.
func (e *Engine) Protect(addr, size uint64, prot Prot) bool {
	end := addr + size
	if size == 0 || end < addr {
		return false
	}
	// Each entry keeps its physical offset (a window's); pages without one must lie in
	// regions, which map them at their own addresses.
	type piece struct{ begin, end, off uint64 }
	var pieces []piece
	a, ok := addr, true
	e.words(addr, end, func(b, en, w uint64) bool {
		b, en = max(b, addr), min(en, end)
		if a < b {
			if ok = e.inRegions(a, b); !ok {
				return false
			}
			pieces = append(pieces, piece{a, b, 0})
		}
		pieces = append(pieces, piece{b, en, w & offMask})
		a = en
		return true
	})
	if ok && a < end {
		if ok = e.inRegions(a, end); ok {
			pieces = append(pieces, piece{a, end, 0})
		}
	}
	if !ok {
		return false
	}
	for _, p := range pieces {
		e.setWord(p.begin, p.end, uint64(prot)|p.off, true)
	}
	return true
}

// Unmap removes any mapping in [addr, addr+size), and drops code translated from it.
func (e *Engine) Unmap(addr, size uint64) error {
	end := addr + size
	if size == 0 || end < addr {
		return &Error{Op: "unmap", Msg: "empty or wrapping range"}
	}
	e.setPerms(addr, end, 0, false)
	// Regions left without any table entry go.
	i := e.regionAt(addr)
	for i < len(e.ucRegions) && e.ucRegions[i].begin < end {
		r := e.ucRegions[i]
		if e.anyEntry(r.begin, r.end) {
			i++
			continue
		}
		if err := e.dropRegion(i); err != nil {
			return err
		}
	}
	return nil
}

// Regions is the number of Unicorn regions mapped (windows included); Unicorn aborts the
// process near 4,000.
func (e *Engine) Regions() int {
	n := len(e.ucRegions)
	for _, used := range e.windows {
		if used {
			n++
		}
	}
	return n
}

// ProtRanges calls f with each range the guest may access, in address order, with its
// permissions (adjacent ranges with the same permissions may come apart).
func (e *Engine) ProtRanges(f func(begin, end uint64, prot Prot)) {
	e.entries(0, ^uint64(0), func(b, end uint64, p Prot) bool {
		if p &^= ProtShared; p != 0 {
			f(b, end, p)
		}
		return true
	})
}

// FlushCode drops translated code for [begin, end), as needed after Go writes code bytes.
func (e *Engine) FlushCode(begin, end uint64) {
	C.vemu_remove_cache(e.uc, e.st, C.uint64_t(begin), C.uint64_t(end))
}

// regionAt returns the index of the first Unicorn region whose end is above a.
func (e *Engine) regionAt(a uint64) int {
	return sort.Search(len(e.ucRegions), func(i int) bool { return e.ucRegions[i].end > a })
}

// covered says whether one region maps [begin, end) onto host memory from host.
func (e *Engine) covered(begin, end uint64, host uintptr) bool {
	i := e.regionAt(begin)
	if i == len(e.ucRegions) {
		return false
	}
	r := e.ucRegions[i]
	return r.begin <= begin && end <= r.end && r.host+uintptr(begin-r.begin) == host
}

// inRegions says whether regions map every page of [begin, end).
func (e *Engine) inRegions(begin, end uint64) bool {
	for i := e.regionAt(begin); begin < end; i++ {
		if i == len(e.ucRegions) || e.ucRegions[i].begin > begin {
			return false
		}
		begin = e.ucRegions[i].end
	}
	return true
}

// makeRegion gives the CPU a region onto the host memory from host for guest addresses
// [base, top), covering at least [begin, end) and as much of the rest as no other region
// holds. Regions in [begin, end) are other host memory whose mappings there are gone:
// they are cut out first.
func (e *Engine) makeRegion(base, top, begin, end uint64, host uintptr) error {
	for {
		i := e.regionAt(begin)
		if i == len(e.ucRegions) || e.ucRegions[i].begin >= end {
			break
		}
		if err := e.cutRegion(i, begin, end); err != nil {
			return err
		}
	}
	if len(e.ucRegions) >= MaxRegions {
		return ErrRegions
	}
	lo, hi := base, top
	i := e.regionAt(begin)
	if i < len(e.ucRegions) {
		hi = min(hi, e.ucRegions[i].begin)
	}
	if i > 0 {
		lo = max(lo, e.ucRegions[i-1].end)
	}
	return e.mapRegion(ucRegion{begin: lo, end: hi, host: host + uintptr(lo-base)})
}

// mapRegion maps r into Unicorn and records it.
func (e *Engine) mapRegion(r ucRegion) error {
	// The host address goes to C as a number: it is memory outside the Go heap.
	err := ucErr("map", C.vemu_map_ptr(e.uc, C.uint64_t(r.begin), C.uint64_t(r.end-r.begin), C.uintptr_t(r.host)))
	if err != nil {
		return err
	}
	i := e.regionAt(r.begin)
	e.ucRegions = append(e.ucRegions, ucRegion{})
	copy(e.ucRegions[i+1:], e.ucRegions[i:])
	e.ucRegions[i] = r
	return nil
}

// dropRegion unmaps region i, which holds no table entry (so no translated code: code
// is dropped when its pages lose their entry).
func (e *Engine) dropRegion(i int) error {
	r := e.ucRegions[i]
	e.st.flush_grant = 1
	if err := ucErr("unmap", C.vemu_unmap(e.uc, e.st, C.uint64_t(r.begin), C.uint64_t(r.end-r.begin))); err != nil {
		return err
	}
	e.ucRegions = append(e.ucRegions[:i], e.ucRegions[i+1:]...)
	return nil
}

// cutRegion removes [begin, end) from region i: the table entries there are dropped and
// the region is mapped again as the pieces on either side that still hold entries.
func (e *Engine) cutRegion(i int, begin, end uint64) error {
	r := e.ucRegions[i]
	e.setPerms(max(begin, r.begin), min(end, r.end), 0, false)
	if err := e.dropRegion(i); err != nil {
		return err
	}
	for _, p := range []ucRegion{{r.begin, min(begin, r.end), r.host}, {max(end, r.begin), r.end, 0}} {
		if p.begin >= p.end {
			continue
		}
		lo, hi, ok := e.entrySpan(p.begin, p.end)
		if !ok {
			continue
		}
		q := ucRegion{begin: lo, end: hi, host: r.host + uintptr(lo-r.begin)}
		if err := e.mapRegion(q); err != nil {
			// The pages lose their access rather than their host memory.
			e.setPerms(lo, hi, 0, false)
			return err
		}
	}
	return nil
}

// The permission table in C memory (ptab.c), looked up by the TLB fill hook.

// entry returns the first table entry whose end is above a.
func (e *Engine) entry(a uint64) (r C.struct_vemu_region, ok bool) {
	ok = C.vemu_pt_next(&e.st.ptab, C.uint64_t(a), &r) != 0
	return r, ok
}

// entries calls f with each table entry that overlaps [begin, end), in order, until f
// returns false.
func (e *Engine) entries(begin, end uint64, f func(b, e uint64, p Prot) bool) {
	e.words(begin, end, func(b, end uint64, w uint64) bool { return f(b, end, Prot(w&^offMask)) })
}

// words is entries with each entry's whole word (permissions and physical offset).
func (e *Engine) words(begin, end uint64, f func(b, e uint64, w uint64) bool) {
	for a := begin; a < end; {
		r, ok := e.entry(a)
		if !ok || uint64(r.begin) >= end || !f(uint64(r.begin), uint64(r.end), uint64(r.perms)) {
			return
		}
		a = uint64(r.end)
	}
}

// anyEntry says whether a table entry overlaps [begin, end).
func (e *Engine) anyEntry(begin, end uint64) bool {
	r, ok := e.entry(begin)
	return ok && uint64(r.begin) < end
}

// entrySpan returns the smallest range holding every table entry's part in [begin, end).
func (e *Engine) entrySpan(begin, end uint64) (lo, hi uint64, ok bool) {
	first, ok := e.entry(begin)
	if !ok || uint64(first.begin) >= end {
		return 0, 0, false
	}
	var last C.struct_vemu_region
	C.vemu_pt_last_below(&e.st.ptab, C.uint64_t(end), &last)
	return max(begin, uint64(first.begin)), min(end, uint64(last.end)), true
}

// offMask selects the physical offset in a table entry's word (see hooks.h).
const offMask = ^uint64(C.VEMU_PT_PROT)

// setPerms makes [begin, end) one table entry with prot (keep) or no entry (!keep). Pages
// that lose a permission leave the TLB before guest code runs again, and those that lose
// execution lose the code translated from them. Without memory for the change the
// entries it overlaps go whole: the guest faults there, as if the map had failed.
func (e *Engine) setPerms(begin, end uint64, prot Prot, keep bool) {
	e.setWord(begin, end, uint64(prot), keep)
}

// setWord is setPerms with an entry's whole word: the permissions, and the offset to the
// physical addresses behind the range (0: the same addresses).
func (e *Engine) setWord(begin, end, word uint64, keep bool) {
	k := C.int(0)
	if keep {
		k = 1
	}
	C.vemu_pt_set(e.uc, e.st, C.uint64_t(begin), C.uint64_t(end), C.uint64_t(word), k)
}

// tableShape says whether the permission table keeps the rules of its tree, and its height.
func (e *Engine) tableShape() (ok bool, height int) {
	return C.vemu_pt_check(&e.st.ptab) != 0, int(e.st.ptab.height)
}
