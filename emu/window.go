package emu

/*
#include "hooks.h"
*/
import "C"

import (
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Windows of shared memory. A mapping of host memory that no region holds would need a
// Unicorn region of its own, and regions are few and dear (see mem.go): shared mappings
// (of files, System V segments, shared anonymous memory), made one at a time at addresses
// that continue nothing else, took one each, so that 2,000 of them cost seconds and some
// 3,500 were all a process could have. So such memory lives in windows instead: host
// address space reserved without access, each window one Unicorn region at a physical
// address above every guest address, whose slots hold the mappings (the caller maps its
// memory over a slot, MAP_FIXED). The table entry of a guest range in a slot carries the
// offset from its guest addresses to the slot's physical ones, which the TLB fill hook
// adds: any number of mappings, anywhere in the guest, cost the CPU one region per window
// in use. Windows are shared by every engine of the process (a fork's child sees its
// parent's shared memory at the same physical addresses) and live as long as it; slots
// come and go, handed out by a buddy allocator in O(log) steps.

const (
	// windowOrder: a window is PageSize<<windowOrder bytes of host address space (4 GiB).
	windowOrder = 20
	windowSize  = PageSize << windowOrder
	// windowPhys is the physical address of the first window: above every guest address
	// but the vsyscall page's (0xffffffffff600000), and each window is aligned to its size.
	windowPhys = uint64(1) << 47
	// maxWindows bounds the host address space windows take (1 TiB).
	maxWindows = 256
	// WindowMax is the largest slot: a larger mapping takes a window of its own (bigAlloc).
	WindowMax = PageSize << 16
	// physMax bounds the physical addresses windows take.
	physMax = uint64(1) << 62
)

// maxBig bounds the windows of one mapping each that are ever made: engines keep the
// region of each they used (see bigAlloc). A variable for tests.
var maxBig = 512

// windows is the process's set of windows and the free slots in them.
var windows struct {
	mu   sync.Mutex
	list []*window // by index, never reused
	next uint64    // the physical address after the last window's
	// free holds the free blocks of each order by physical address, at holds the index
	// in free of each (keyed by address | order), used each slot handed out.
	free [windowOrder + 1][]uint64
	at   map[uint64]int
	used map[uint64]slot
	// slotWin is the index of each window of slots by physical address.
	slotWin map[uint64]int
	// byHost is a sorted copy of the live windows for lock-free lookups (windowAt).
	byHost atomic.Pointer[[]*window]
	// bigFree holds the windows of one mapping each that hold none now, by size; bigMade
	// counts those made.
	bigFree map[uint64][]*window
	bigMade int
}

// slot is a block handed out: its order, and the bytes at its start the caller maps
// (the rest of the block stays reserved).
type slot struct {
	order uint8
	n     uint64
}

// window is host memory given to the CPU at phys. Its fields never change but dropped,
// which windows.mu guards (lookups go through byHost).
type window struct {
	mem     []byte
	host    uintptr
	phys    uint64
	idx     int
	dropped bool
	// big: a window of one mapping (bigAlloc), of bigN bytes while it holds one.
	big  bool
	bigN uint64
}

// blockOrder returns the order of the smallest block holding n bytes.
func blockOrder(n uint64) int {
	pages := (n + PageSize - 1) / PageSize
	if pages <= 1 {
		return 0
	}
	return bits.Len64(pages - 1)
}

// WindowAlloc returns n bytes (a positive multiple of the page size, at most WindowMax)
// of host address space in a window, reserved without access, for the caller to map
// memory over (MAP_FIXED) and give to engines with MapHost; nil when no window has room.
// The memory stays in the window until WindowFree. maps is how many more host mappings
// the windows hold once the caller has mapped the slot (at most WindowAllocMaps): a
// window's reservation is one, each slot one, and each piece of reservation left
// between them one (the host joins neighbouring pieces of reservation, and is assumed
// never to join slots).
// A larger n takes a window of its own (see bigAlloc).
func WindowAlloc(n uint64) (mem []byte, maps int) {
	if n == 0 || n%PageSize != 0 {
		return nil, 0
	}
	w := &windows
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.at == nil {
		w.at = make(map[uint64]int)
		w.used = make(map[uint64]slot)
		w.slotWin = make(map[uint64]int)
		w.bigFree = make(map[uint64][]*window)
	}
	if n > WindowMax {
		return bigAlloc(n)
	}
	k := blockOrder(n)
	j := k
	for j <= windowOrder && len(w.free[j]) == 0 {
		j++
	}
	if j > windowOrder {
		if !newWindow() {
			return nil, 0
		}
		maps++
		j = windowOrder
	}
	p := w.free[j][len(w.free[j])-1]
	takeFree(p, j)
	for j > k {
		j--
		putFree(p+PageSize<<j, j)
	}
	w.used[p] = slot{uint8(k), n}
	// The slot takes the place of reservation: the piece it lay in becomes the pieces on
	// either side of it that are left.
	maps += reservedAround(p, n)
	win := w.list[w.slotWin[p&^(windowSize-1)]]
	off := p - win.phys
	return win.mem[off : off+n : off+n], maps
}

// WindowAllocMaps bounds the host mappings one WindowAlloc adds.
const WindowAllocMaps = 3

// A mapping larger than a slot takes a window of its own: an engine would otherwise give
// it a Unicorn region at its guest address, and Unicorn unmaps a region page by page
// (it empties the TLB entries and the jump cache of each page, ~80 ns a page: 1.3 s for
// 64 GiB, minutes for terabytes), whatever the guest touched. A window is never unmapped
// from an engine: when its mapping goes, its memory is reserved again and the window
// waits for the next mapping of its size class, so that the guest's munmap and mprotect
// change the permission table only. Sizes are rounded up to three significant bits (at
// most a quarter more host address space). Free windows of other sizes are given back
// to the host when a new one finds no room; their physical addresses, and the regions
// engines keep of them, are never used again, so at most maxBig windows are ever made.

// BigWindowsSpent says whether every window of one mapping that may ever be made was
// made: a mapping larger than a slot then finds a window only where one is free.
func BigWindowsSpent() bool {
	windows.mu.Lock()
	defer windows.mu.Unlock()
	return windows.bigMade >= maxBig
}

// bigSize rounds n up to a big window's size: its pages with three significant bits.
func bigSize(n uint64) uint64 {
	p := (n + PageSize - 1) / PageSize
	shift := max(bits.Len64(p)-3, 0)
	p = (p + 1<<shift - 1) >> shift << shift
	return p * PageSize
}

// bigAlloc is WindowAlloc of a window of its own. windows.mu is held.
func bigAlloc(n uint64) (mem []byte, maps int) {
	w := &windows
	size := bigSize(n)
	if size < n {
		return nil, 0
	}
	var win *window
	if free := w.bigFree[size]; len(free) > 0 {
		win = free[len(free)-1]
		w.bigFree[size] = free[:len(free)-1]
	} else {
		if w.bigMade >= maxBig {
			return nil, 0
		}
		p, err := unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_NONE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
		if err != nil {
			// Host address space kept for other sizes goes back: one more try.
			maps -= dropBigFree()
			if p, err = unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_NONE,
				unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE); err != nil {
				return nil, maps
			}
		}
		// SAFETY: the reservation is size bytes outside the Go heap, unmapped only by
		// dropBigFree once no mapping is in it.
		mem := unsafe.Slice((*byte)(p), size)
		if !physRoom(size) {
			unix.MunmapPtr(p, uintptr(size))
			return nil, maps
		}
		win = addWindow(mem)
		win.big = true
		w.bigMade++
		maps++
	}
	win.bigN = n
	if n < size {
		maps++ // the reservation left after the mapping
	}
	return win.mem[:n:n], maps
}

// bigFreeWin reserves the memory of big window win again and keeps the window for the
// next mapping of its size; it returns the change in host mappings. windows.mu is held.
func bigFreeWin(win *window) (maps int) {
	n := win.bigN
	// SAFETY: [0, n) is the window's own reservation, which the caller mapped over.
	unix.MmapPtr(-1, 0, unsafe.Pointer(&win.mem[0]), uintptr(n), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED)
	win.bigN = 0
	size := uint64(len(win.mem))
	windows.bigFree[size] = append(windows.bigFree[size], win)
	if n < size {
		return -1
	}
	return 0
}

// dropBigFree gives the free big windows back to the host and returns how many host
// mappings that was. windows.mu is held.
func dropBigFree() int {
	n := 0
	for size, free := range windows.bigFree {
		for _, win := range free {
			win.dropped = true
			unix.MunmapPtr(unsafe.Pointer(&win.mem[0]), uintptr(len(win.mem)))
			n++
		}
		delete(windows.bigFree, size)
	}
	if n > 0 {
		publish()
	}
	return n
}

// physRoom says whether a window of size bytes still finds physical addresses.
// windows.mu is held.
func physRoom(size uint64) bool {
	next := max(windows.next, windowPhys)
	align := uint64(1) << bits.Len64(size-1)
	phys := (next + align - 1) &^ (align - 1)
	return phys >= next && phys+size > phys && phys+size <= physMax
}

// WindowFree reserves mem (memory WindowAlloc returned, whatever the caller mapped over
// it) again without access and frees its slot. Other memory is left alone. It returns
// the change in the host mappings the windows hold (0 or less).
func WindowFree(mem []byte) (maps int) {
	if len(mem) == 0 {
		return 0
	}
	// SAFETY: only the address of mem is taken.
	host := uintptr(unsafe.Pointer(&mem[0]))
	p, win := windowPhysOf(host, uint64(len(mem)))
	w := &windows
	w.mu.Lock()
	defer w.mu.Unlock()
	if win != nil && win.big {
		if win.dropped || win.bigN != uint64(len(mem)) || win.host != host {
			return 0
		}
		return bigFreeWin(win)
	}
	sl, used := w.used[p]
	if win == nil || !used || sl.n != uint64(len(mem)) {
		return 0
	}
	// SAFETY: mem is a slot of a window: the reservation's own memory.
	unix.MmapPtr(-1, 0, unsafe.Pointer(&mem[0]), uintptr(len(mem)), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED)
	// The slot and the pieces of reservation beside it become one piece.
	maps = -reservedAround(p, sl.n)
	delete(w.used, p)
	j := int(sl.order)
	for j < windowOrder {
		b := p ^ PageSize<<j
		if _, free := w.at[b|uint64(j)]; !free {
			break
		}
		takeFree(b, j)
		p = min(p, b)
		j++
	}
	putFree(p, j)
	return maps
}

// reservedAround counts the pages right before and right after the slot at p of n bytes
// that are reservation (0 to 2). windows.mu is held.
func reservedAround(p, n uint64) int {
	base := p &^ (windowSize - 1)
	c := 0
	if p > base && reserved(p-PageSize) {
		c++
	}
	if p+n < base+windowSize && reserved(p+n) {
		c++
	}
	return c
}

// reserved says whether the page at physical address x (in a window of slots) is
// reservation: in a free block, or in the part of a slot's block beyond what it maps.
func reserved(x uint64) bool {
	w := &windows
	for j := 0; j <= windowOrder; j++ {
		b := x &^ (PageSize<<j - 1)
		if _, free := w.at[b|uint64(j)]; free {
			return true
		}
		if sl, used := w.used[b]; used && int(sl.order) == j {
			return x >= b+sl.n
		}
	}
	return false
}

// WindowSlots is the number of slots handed out and not freed.
func WindowSlots() int {
	windows.mu.Lock()
	defer windows.mu.Unlock()
	return len(windows.used)
}

// newWindow reserves one more window of slots, whose one block is free. windows.mu is
// held.
func newWindow() bool {
	w := &windows
	if len(w.slotWin) >= maxWindows {
		return false
	}
	p, err := unix.MmapPtr(-1, 0, nil, windowSize, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return false
	}
	// SAFETY: the reservation is windowSize bytes outside the Go heap, never unmapped.
	win := addWindow(unsafe.Slice((*byte)(p), windowSize))
	w.slotWin[win.phys] = win.idx
	putFree(win.phys, windowOrder)
	return true
}

// addWindow gives mem a physical address, aligned to its size rounded up to a power of
// two (so that a window of slots is one block). windows.mu is held.
func addWindow(mem []byte) *window {
	w := &windows
	if w.next == 0 {
		w.next = windowPhys
	}
	align := uint64(1) << bits.Len64(uint64(len(mem))-1)
	phys := (w.next + align - 1) &^ (align - 1)
	w.next = phys + uint64(len(mem))
	win := &window{mem: mem, host: uintptr(unsafe.Pointer(&mem[0])), phys: phys, idx: len(w.list)}
	w.list = append(w.list, win)
	publish()
	return win
}

// publish makes byHost the live windows. windows.mu is held.
func publish() {
	var live []*window
	for _, win := range windows.list {
		if !win.dropped {
			live = append(live, win)
		}
	}
	sort.Slice(live, func(a, b int) bool { return live[a].host < live[b].host })
	windows.byHost.Store(&live)
}

// AddWindow makes mem (host memory outside the Go heap, page-aligned, that stays mapped
// until DropWindow) a window: memory in it that MapHost gives an engine needs no region
// of its own, whatever its guest address. A reservation that mappings are carved from
// (one address space's private memory) is one.
func AddWindow(mem []byte) {
	if len(mem) == 0 || len(mem)%PageSize != 0 {
		return
	}
	windows.mu.Lock()
	defer windows.mu.Unlock()
	if windows.next == 0 {
		windows.next = windowPhys
	}
	if windows.next+uint64(len(mem)) < windows.next || windows.next+2*uint64(len(mem)) >= physMax {
		return // out of physical addresses: mappings there take regions of their own
	}
	addWindow(mem)
}

// DropWindow ends the window mem, before its memory is unmapped; nothing may be mapped
// from it any more. Engines keep its region until they close (no table entry leads
// there: the guest cannot reach it), and its physical addresses are never given again.
func DropWindow(mem []byte) {
	if len(mem) == 0 {
		return
	}
	windows.mu.Lock()
	defer windows.mu.Unlock()
	host := uintptr(unsafe.Pointer(&mem[0]))
	for _, win := range windows.list {
		if !win.dropped && win.host == host {
			win.dropped = true
			publish()
			return
		}
	}
}

func putFree(p uint64, k int) {
	w := &windows
	w.at[p|uint64(k)] = len(w.free[k])
	w.free[k] = append(w.free[k], p)
}

func takeFree(p uint64, k int) {
	w := &windows
	i := w.at[p|uint64(k)]
	last := len(w.free[k]) - 1
	moved := w.free[k][last]
	w.free[k][i] = moved
	w.at[moved|uint64(k)] = i
	w.free[k] = w.free[k][:last]
	delete(w.at, p|uint64(k))
}

// windowAt returns the live window holding host address h.
func windowAt(h uintptr) *window {
	refs := windows.byHost.Load()
	if refs == nil {
		return nil
	}
	r := *refs
	i := sort.Search(len(r), func(i int) bool { return r[i].host+uintptr(len(r[i].mem)) > h })
	if i == len(r) || r[i].host > h {
		return nil
	}
	return r[i]
}

// windowPhysOf returns the physical address of host memory [h, h+n) and its window if
// it lies in one window.
func windowPhysOf(h uintptr, n uint64) (uint64, *window) {
	win := windowAt(h)
	if win == nil || uint64(h-win.host)+n > uint64(len(win.mem)) {
		return 0, nil
	}
	return win.phys + uint64(h-win.host), win
}

// useWindow gives the engine win as a region, once.
func (e *Engine) useWindow(win *window) error {
	if win.idx < len(e.windows) && e.windows[win.idx] {
		return nil
	}
	if e.Regions() >= MaxRegions {
		return ErrRegions
	}
	if err := ucErr("map", C.vemu_map_ptr(e.uc, C.uint64_t(win.phys), C.uint64_t(len(win.mem)), C.uintptr_t(win.host))); err != nil {
		return err
	}
	for len(e.windows) <= win.idx {
		e.windows = append(e.windows, false)
	}
	e.windows[win.idx] = true
	return nil
}

// mapWindow maps guest [begin, end) with prot onto window memory from host, which holds
// guest address base.
func (e *Engine) mapWindow(base uint64, host uintptr, n uint64, begin, end uint64, prot Prot) (bool, error) {
	phys, win := windowPhysOf(host, n)
	if win == nil {
		return false, nil
	}
	if err := e.useWindow(win); err != nil {
		return true, err
	}
	off := phys - base // modulo 2^64: the hook adds it to guest addresses
	e.setWord(begin, end, uint64(prot)|off, true)
	return true, nil
}
