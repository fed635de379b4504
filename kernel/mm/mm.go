package mm

import (
	"errors"
	"fmt"
	"iter"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/emu"
)

// Addr is a guest virtual address.
type Addr uint64

// PageSize is the guest page size.
const PageSize = 4096

// Address-space limits, as on x86-64 Linux with 4-level page tables.
const (
	// TaskSize is the end of user space.
	TaskSize Addr = 0x7ffffffff000
	// MinAddr is the lowest address mmap hands out (vm.mmap_min_addr).
	MinAddr Addr = 0x10000
)

// PageDown rounds a down to a page boundary.
func PageDown(a uint64) uint64 { return a &^ (PageSize - 1) }

// PageUp rounds a up to a page boundary; ok is false on overflow.
func PageUp(a uint64) (uint64, bool) {
	r := (a + PageSize - 1) &^ (PageSize - 1)
	return r, r >= a
}

// Prot is a set of PROT_* permissions.
type Prot = emu.Prot

// backing is host memory behind one or more mappings: a range of an arena (the guest's
// private and anonymous memory), a host mapping of a file (shared file mappings), or a
// private host mapping of a frozen file (libraries and programs).
type backing struct {
	mem  []byte
	refs atomic.Int32 // mappings holding it, in any process (see release)
	ar   *arena       // nil for a host file mapping
	aoff uint64       // offset of mem in ar
	// carved: mem lies in ar's reservation, at host offset aoff in it.
	carved bool
	// hostRO: a host file mapping without write access (its file was not opened for
	// writing): the guest may never make it writable.
	hostRO bool
	// frozen is the file behind a private host mapping at foff, or nil. Until a write
	// may have reached the mapping (written), its pages are the file's, so a fork maps
	// the file again instead of copying them.
	frozen  *Frozen
	foff    int64
	written atomic.Bool
	// file is the host file behind a shared file mapping (nil where none is kept), whose
	// offset foff mem starts at.
	file *MapFile
	// pfile is the host file a private file mapping was made from (see SetPrivateFile),
	// at offset pfoff for mem's first byte: its pages past the file's end are SIGBUS.
	pfile *MapFile
	pfoff int64
	// shmem: a shared mapping of a file in memory (tmpfs, a memfd, System V memory),
	// whose pages Linux counts as shared memory rather than a file's.
	shmem bool
	// window: mem is a slot of one of the CPU's windows of shared memory (emu's
	// WindowAlloc), mapped over it; it goes back with emu.WindowFree.
	window bool
}

// watched returns the file whose size b's mappings follow, and the file offset of mem's
// first byte, or nil.
func (b *backing) watched() (*MapFile, int64) {
	if b.file != nil {
		return b.file, b.foff
	}
	return b.pfile, b.pfoff
}

// follow makes nb, a copy of b for another process, follow b's private file.
func (nb *backing) follow(b *backing) {
	if b.pfile != nil && nb.pfile == nil {
		b.pfile.ref()
		nb.pfile, nb.pfoff = b.pfile, b.pfoff
	}
}

// Frozen is a host file whose contents never change (a sealed memfd), counted by its
// users. Private mappings of it share its pages on the host until one writes them.
type Frozen struct {
	fd   int
	refs atomic.Int32
}

// NewFrozen takes fd, which must never shrink (a memfd sealed against it): a mapping
// past its end would fault in vemu itself. The caller holds the one reference.
func NewFrozen(fd int) *Frozen {
	f := &Frozen{fd: fd}
	f.refs.Store(1)
	frozenOpen.Add(1)
	return f
}

// frozenOpen counts the Frozen files open in this process (each holds a descriptor).
var frozenOpen atomic.Int64

// FrozenOpen is how many frozen files hold a descriptor now, in every space of the process.
func FrozenOpen() int64 { return frozenOpen.Load() }

// Ref adds a reference.
func (f *Frozen) Ref() { f.refs.Add(1) }

// Unref drops a reference; the last closes the file (mappings keep its pages).
func (f *Frozen) Unref() {
	if f.refs.Add(-1) == 0 {
		unix.Close(f.fd)
		frozenOpen.Add(-1)
	}
}

// arena is an in-memory file (memfd) whose ranges back a space's anonymous and private
// memory, mapped shared into vemu. A page exists on the host only once something touched
// it, and the file says which do (SEEK_DATA): a fork copies those and nothing else, and
// mincore answers from them, so what the guest reserved but never touched costs nothing.
//
// Ranges of up to carveMax bytes are carved from a reservation of host address space,
// from its top down, at the file offset of their place in it: mappings the guest makes
// one below the other (mmap places them top-down: thread stacks, malloc's arenas) then
// lie one below the other on the host too, so that one CPU region can hold many of them
// (see cpuSpan). Host addresses there are never handed out twice; a freed range is
// reserved again.
type arena struct {
	fd   int
	size uint64       // the file's size: larger ranges are handed out at its end
	refs atomic.Int32 // backings in the arena, plus one while it is a space's current arena
	res  []byte       // the reservation (nil without one), at file offsets [0, len(res))
	low  uint64       // res[low:] is handed out: the next carved range ends at low
}

// arenaMax is the size at which a space starts a new arena (offsets are never reused).
const arenaMax = 1 << 60

// arenaRes is the host address space an arena reserves; ranges up to carveMax come from it.
const (
	arenaRes = 32 << 30
	carveMax = arenaRes / 4
	// regionMax is the largest anonymous range given a region of its own (~20 ms to
	// unmap) when no window has room for it.
	regionMax = 1 << 30
)

func newArena() (*arena, error) {
	fd, err := unix.MemfdCreate("vemu-guest", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, ErrNoMem
	}
	a := &arena{fd: fd}
	a.refs.Store(1)
	if res := pooledRes(); res != nil {
		if unix.Ftruncate(fd, arenaRes) != nil {
			poolRes(res)
			return a, nil
		}
		a.res = res
		a.low, a.size = arenaRes, arenaRes
		return a, nil
	}
	if hostMaps.Add(1) > guestMapLimit() {
		hostMaps.Add(-1)
		return a, nil
	}
	p, err := unix.MmapPtr(-1, 0, nil, arenaRes, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		hostMaps.Add(-1)
		return a, nil // no reservation: every range is a host mapping of its own
	}
	if unix.Ftruncate(fd, arenaRes) != nil {
		unix.MunmapPtr(p, arenaRes)
		hostMaps.Add(-1)
		return a, nil
	}
	// SAFETY: p is a host mapping of arenaRes bytes outside the Go heap, unmapped only
	// when the arena goes (unref), after every range carved from it.
	a.res = unsafe.Slice((*byte)(p), arenaRes)
	a.low, a.size = arenaRes, arenaRes
	// The CPU reaches memory carved from it through one region, wherever its mappings lie.
	emu.AddWindow(a.res)
	return a, nil
}

func (a *arena) unref() {
	if a.refs.Add(-1) == 0 {
		unix.Close(a.fd)
		a.fd = -1
		if a.res != nil {
			// Every range carved from it is reserved again: the next arena may have it.
			poolRes(a.res)
			a.res = nil
		}
	}
}

// resPool holds the reservations of arenas that ended, for the next arenas. Each is a
// window that the engines which used it keep as a region: an engine handed from one run
// of an image to the next (see Space.Retire) finds the next run's memory in a region it
// has, where a new reservation per run made it one more region per run (3000 runs of a
// hello world: 66 runs/s against 1229 for 300, and Unicorn aborts near 4,000 regions).
// A pooled reservation stays counted in hostMaps.
var resPool struct {
	sync.Mutex
	res [][]byte
}

// resPoolMax bounds the reservations kept: an ended arena beyond it gives its own back.
const resPoolMax = 64

// pooledRes returns a reservation of arenaRes bytes from the pool, or nil.
func pooledRes() []byte {
	resPool.Lock()
	defer resPool.Unlock()
	n := len(resPool.res)
	if n == 0 {
		return nil
	}
	res := resPool.res[n-1]
	resPool.res = resPool.res[:n-1]
	return res
}

// poolRes keeps res, whose memory is all reserved again, for the next arena, or gives it
// back to the host.
func poolRes(res []byte) {
	resPool.Lock()
	if len(resPool.res) < resPoolMax {
		resPool.res = append(resPool.res, res)
		resPool.Unlock()
		return
	}
	resPool.Unlock()
	emu.DropWindow(res)
	unix.MunmapPtr(unsafe.Pointer(&res[0]), uintptr(len(res)))
	hostMaps.Add(-1)
}

// alloc hands out n fresh zero bytes (a multiple of the page size), mapped into vemu.
func (a *arena) alloc(n uint64) (*backing, error) {
	if n == 0 || n > arenaMax-a.size {
		return nil, ErrNoMem
	}
	if a.res != nil && n <= carveMax && n <= a.low {
		if b := a.carve(n); b != nil {
			return b, nil
		}
	}
	// Else in a window (a large range in one of its own): the CPU keeps no region at
	// its guest address, which would take time growing with n to give up (see emu's
	// WindowAlloc).
	if b := a.allocWindow(n); b != nil {
		return b, nil
	}
	if n > regionMax && emu.BigWindowsSpent() {
		// Every window of one mapping is in use: a region this large would let each
		// munmap of it hold the run loop for a long while (80 ns a page).
		return nil, ErrNoMem
	}
	if err := unix.Ftruncate(a.fd, int64(a.size+n)); err != nil {
		return nil, ErrNoMem
	}
	mem, err := hostMmap(a.fd, int64(a.size), int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		return nil, ErrNoMem
	}
	b := &backing{mem: mem, ar: a, aoff: a.size}
	a.size += n
	a.refs.Add(1)
	return b, nil
}

// carve hands out the n bytes of the reservation below the last ones, or nil.
func (a *arena) carve(n uint64) *backing {
	off := a.low - n
	if hostMaps.Add(1) > guestMapLimit() {
		hostMaps.Add(-1)
		return nil
	}
	if _, err := unix.MmapPtr(a.fd, int64(off), unsafe.Pointer(&a.res[off]), uintptr(n),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE|unix.MAP_FIXED); err != nil {
		hostMaps.Add(-1)
		return nil
	}
	a.low = off
	a.refs.Add(1)
	return &backing{mem: a.res[off : off+n : off+n], ar: a, aoff: off, carved: true}
}

// allocWindow hands out n fresh zero bytes of the arena's file in a slot of a window (see
// emu's WindowAlloc), or nil: memory that the CPU of each process that maps it reaches
// without a region of its own, and that leaves no region behind.
func (a *arena) allocWindow(n uint64) *backing {
	if n > arenaMax-a.size {
		return nil
	}
	slot := windowSlot(n, func(slot []byte) error {
		if err := unix.Ftruncate(a.fd, int64(a.size+n)); err != nil {
			return err
		}
		// SAFETY: slot is n bytes of a window's reservation, ours until WindowFree.
		_, err := unix.MmapPtr(a.fd, int64(a.size), unsafe.Pointer(&slot[0]), uintptr(n),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE|unix.MAP_FIXED)
		return err
	})
	if slot == nil {
		return nil
	}
	b := &backing{mem: slot, ar: a, aoff: a.size, window: true}
	a.size += n
	a.refs.Add(1)
	return b
}

// takeHostMaps counts n more host mappings if the budget allows.
func takeHostMaps(n int64) bool {
	if hostMaps.Add(n) > guestMapLimit() {
		hostMaps.Add(-n)
		return false
	}
	return true
}

// mapWindowFile maps n bytes of the host file fd from off, shared, into a slot of a
// window (see allocWindow), or returns nil.
func mapWindowFile(fd int, off int64, n uint64, prot int) []byte {
	return windowSlot(n, func(slot []byte) error {
		// SAFETY: slot is n bytes of a window's reservation, ours until WindowFree.
		_, err := unix.MmapPtr(fd, off, unsafe.Pointer(&slot[0]), uintptr(n), prot, unix.MAP_SHARED|unix.MAP_FIXED)
		return err
	})
}

// windowSlot hands out a slot of n bytes in a window once mapOver has mapped memory over
// it, counting in hostMaps what the windows gain on the host (see emu's WindowAlloc), or
// returns nil.
func windowSlot(n uint64, mapOver func(slot []byte) error) []byte {
	if n == 0 || !takeHostMaps(emu.WindowAllocMaps) {
		return nil
	}
	slot, maps := emu.WindowAlloc(n)
	if slot == nil {
		hostMaps.Add(-emu.WindowAllocMaps)
		return nil
	}
	hostMaps.Add(int64(maps - emu.WindowAllocMaps))
	if mapOver(slot) != nil {
		freeWindowSlot(slot)
		return nil
	}
	return slot
}

// freeWindowSlot gives a slot back to its window.
func freeWindowSlot(slot []byte) { hostMaps.Add(int64(emu.WindowFree(slot))) }

// uncarve gives a carved range's host memory back to the reservation.
func (a *arena) uncarve(mem []byte) {
	// SAFETY: mem lies in the reservation, which stays mapped while the arena lives.
	unix.MmapPtr(-1, 0, unsafe.Pointer(&mem[0]), uintptr(len(mem)), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED)
	hostMaps.Add(-1)
}

// hostMaps counts the host mappings behind guest memory, in every process of the run: the
// host allows vemu vm.max_map_count of them in all (65,530 by default), and the Go
// runtime dies when it cannot map its own memory. Guest memory therefore gets what the
// host allows less what vemu itself needs — a fixed margin and a share for each open
// engine — and a guest asking for more gets ENOMEM.
var (
	hostMaps     atomic.Int64
	hostMapLimit = sync.OnceValue(func() int64 {
		limit := maxMapCount()
		return max(limit-hostMapMargin, limit/2)
	})
	// maxMapCount is vm.max_map_count, which also bounds the mappings of one process:
	// past it, a call that would add one fails with ENOMEM, as on Linux.
	maxMapCount = sync.OnceValue(func() int64 {
		limit := int64(65530)
		if b, err := os.ReadFile("/proc/sys/vm/max_map_count"); err == nil {
			if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
				limit = v
			}
		}
		return limit
	})
)

// hostMapMargin is what vemu keeps for its own mappings apart from its engines' (Go's
// heap, the vDSO image, libraries; about a hundred with one guest process), and
// hostMapsPerEngine what it keeps for each engine, that is for each guest process
// (Unicorn's translation buffer and tables, the engine thread's stack and guard, the
// process's timers and pipes: 12-13 measured with 50 and 100 processes).
const (
	hostMapMargin     = 4096
	hostMapsPerEngine = 32
)

// guestMapLimit is how many host mappings guest memory may hold now.
func guestMapLimit() int64 { return hostMapLimit() - hostMapsPerEngine*emu.Live() }

// hostMmap maps host memory for the guest, within the run's budget of host mappings.
func hostMmap(fd int, off int64, n int, prot, flags int) ([]byte, error) {
	if hostMaps.Add(1) > guestMapLimit() {
		hostMaps.Add(-1)
		return nil, ErrNoMem
	}
	mem, err := unix.Mmap(fd, off, n, prot, flags)
	if err != nil {
		hostMaps.Add(-1)
		return nil, err
	}
	return mem, nil
}

func hostMunmap(mem []byte) {
	if unix.Munmap(mem) == nil {
		hostMaps.Add(-1)
	}
}

// free releases b's host memory.
func (b *backing) free() {
	if b.mem == nil {
		return
	}
	switch {
	case b.ar != nil:
		b.discard(0, uint64(len(b.mem)))
		switch {
		case b.carved:
			b.ar.uncarve(b.mem)
		case b.window:
			freeWindowSlot(b.mem)
		default:
			hostMunmap(b.mem)
		}
		b.ar.unref()
	case b.window:
		freeWindowSlot(b.mem)
	default:
		hostMunmap(b.mem)
	}
	b.mem = nil
	if b.frozen != nil {
		b.frozen.Unref()
		b.frozen = nil
	}
	if b.file != nil {
		b.file.forget(b)
		b.file.unref()
		b.file = nil
	}
	if b.pfile != nil {
		b.pfile.unref()
		b.pfile = nil
	}
}

// wrote records that a write may have reached b's memory. Private backings belong to
// one process (or a vfork child that runs while it waits): frozen-file ones keep it for
// Fork, and every one for Retire.
func (b *backing) wrote() {
	if !b.written.Load() {
		b.written.Store(true)
	}
}

// discard gives the host pages of b's [off, off+n) back: they read as zero afterwards.
func (b *backing) discard(off, n uint64) {
	if b.frozen != nil && n > 0 {
		// A private file mapping reads the file's bytes again, as on Linux.
		unix.Madvise(b.mem[off:off+n], unix.MADV_DONTNEED)
		return
	}
	if b.ar == nil || n == 0 {
		return
	}
	unix.Fallocate(b.ar.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(b.aoff+off), int64(n))
}

// extents calls f for each range of b's [off, off+n) that holds pages on the host (the
// rest reads as zero), with offsets relative to b, in order. f returns false to stop.
func (b *backing) extents(off, n uint64, f func(lo, hi uint64) bool) {
	if b.ar == nil {
		f(off, off+n)
		return
	}
	end := b.aoff + off + n
	for at := b.aoff + off; at < end; {
		d, err := unix.Seek(b.ar.fd, int64(at), unix.SEEK_DATA)
		if err != nil || uint64(d) >= end {
			return
		}
		h, err := unix.Seek(b.ar.fd, d, unix.SEEK_HOLE)
		if err != nil {
			h = int64(end)
		}
		hi := min(uint64(h), end)
		if !f(uint64(d)-b.aoff, hi-b.aoff) {
			return
		}
		at = hi
	}
}

// VMA is one mapping: a page-aligned range with one permission and one backing.
type VMA struct {
	Start, End Addr
	Prot       Prot
	Shared     bool   // MAP_SHARED (shown as 's' in maps)
	Name       string // path or [heap], [stack], [vdso]...
	Dev, Ino   uint64 // of the file, for maps
	FileOff    uint64 // file offset of Start, for maps
	// MapsPerm, when set, is what /proc/self/maps shows instead of Prot (the vsyscall
	// page is shown executable though the CPU may not fetch from it).
	MapsPerm string
	back     *backing
	off      uint64 // offset of Start in back.mem
	// Bus marks the part of a shared file mapping past the end of its file: the CPU
	// maps it without access and the kernel never touches it (the host would raise
	// SIGBUS in vemu); the guest's access is a SIGBUS, as on Linux.
	Bus bool
	// Sealed mappings (mseal) can no longer be unmapped, moved, resized or
	// reprotected; fork passes the seal on.
	Sealed bool
	// Secret mappings show a secret memory file (memfd_secret).
	Secret bool
	// Locked mappings are locked in memory, as Linux's VM_LOCKED (a secret memory
	// file's, in the process that mapped it: fork does not pass locks on), and
	// counted in Locked.
	Locked bool
	// DontFork mappings (MADV_DONTFORK) are left out of a forked child; WipeOnFork ones
	// (MADV_WIPEONFORK, private anonymous memory only) are zero in it.
	DontFork, WipeOnFork bool
	// NoReserve (MAP_NORESERVE), Accounted (a private mapping that has been writable,
	// whose memory Linux charged: see Charged), HugePage and NoHugePage (MADV_HUGEPAGE,
	// MADV_NOHUGEPAGE, MAP_STACK) are Linux's VM_NORESERVE, VM_ACCOUNT, VM_HUGEPAGE and
	// VM_NOHUGEPAGE: smaps shows them, and mappings that differ in them stay apart.
	NoReserve, Accounted, HugePage, NoHugePage bool
	// origin is the mapping of an Image's space this one was made from (see Start).
	origin *VMA
	// noCPU mappings exist for the kernel only (for example the vsyscall page in the
	// "none" mode is absent, but xonly's is mapped without access).
}

// Charged says whether Linux's VM_ACCOUNT is set: on a private mapping without
// MAP_NORESERVE that is or has been writable (accountable_mapping() at mmap,
// mprotect_fixup() when it becomes writable; it stays when it no longer is).
func (v *VMA) Charged() bool {
	return !v.Shared && !v.NoReserve && (v.Accounted || v.Prot&emu.ProtWrite != 0)
}

func (v *VMA) host() []byte { return v.back.mem[v.off : v.off+uint64(v.End-v.Start)] }

// Writable says whether the mapping may be made writable: a shared file mapping only if
// its file was opened for writing (Linux's VM_MAYWRITE).
func (v *VMA) Writable() bool { return !v.back.hostRO }

// Len is the mapping's length in bytes.
func (v *VMA) Len() uint64 { return uint64(v.End - v.Start) }

// Space is an address space.
type Space struct {
	cpu  *emu.Engine
	vmas vmaTree // in address order, non-overlapping
	ar   *arena  // where new private memory comes from (nil until the first)

	// MmapBase is where top-down mmap placement starts.
	MmapBase Addr
	// brk state: the heap is one growing mapping over a reserved backing.
	BrkStart, Brk Addr
	heap          *backing

	// shareBase holds the backings a Share space started with: the others are what
	// it mapped for itself (Apart).
	shareBase map[*backing]bool

	// borrowed: the memory belongs to another space too (Share), so the heap's
	// reservation is never unmapped from here.
	borrowed bool

	// locked is the length of the Locked mappings, in bytes.
	locked uint64
	// LockFuture makes later mappings locked (mlockall's MCL_FUTURE, Linux's VM_LOCKED in
	// mm->def_flags), populated unless LockOnFault (MCL_ONFAULT). A new space (exec, fork)
	// starts without it, as on Linux.
	LockFuture, LockOnFault bool

	// OnUnmap, when set, is told of every range about to be unmapped, before its
	// memory goes (whatever the call: munmap, mmap over it, mremap...).
	OnUnmap func(start, end Addr)
}

// Overcommits reports whether a private writable mapping of n bytes is more than Linux's
// heuristic overcommit would grant (vm.overcommit_memory 0: no single mapping larger
// than the host's RAM and swap together); such a request fails with ENOMEM.
func Overcommits(n uint64) bool {
	commitOnce.Do(func() {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			commitLimit = (uint64(si.Totalram) + uint64(si.Totalswap)) * uint64(max(si.Unit, 1))
		}
	})
	return commitLimit != 0 && n > commitLimit
}

var (
	commitOnce  sync.Once
	commitLimit uint64
)

// ErrNoMem is returned when the address space or the CPU's region table is full.
var ErrNoMem = errors.New("out of address space")

// New returns an empty address space mapped into cpu.
func New(cpu *emu.Engine) *Space { return &Space{cpu: cpu} }

// Close releases every mapping's host memory.
func (s *Space) Close() {
	for n := s.vmas.first; n != nil; n = n.next {
		s.release(n.v.back)
	}
	s.vmas.reset()
	if s.heap != nil && s.heap.refs.Load() == 0 && !s.borrowed {
		s.heap.free()
	}
	if s.ar != nil {
		s.ar.unref()
		s.ar = nil
	}
}

// release drops one mapping's hold on b. A MAP_SHARED backing (and the arena it lies in)
// is held by mappings of several processes, each changed from its own goroutine: the
// counts are atomic, and only the release that takes one to zero frees.
func (s *Space) release(b *backing) {
	if b.refs.Add(-1) == 0 && b != s.heap {
		b.free()
	}
}

// allocHost returns n bytes of fresh zeroed memory, reserved but not committed.
func (s *Space) allocHost(n uint64) (*backing, error) {
	if s.ar != nil && n > arenaMax-s.ar.size {
		s.ar.unref()
		s.ar = nil
	}
	if s.ar == nil {
		a, err := newArena()
		if err != nil {
			return nil, err
		}
		s.ar = a
	}
	return s.ar.alloc(n)
}

// find returns the node of the first VMA whose End is above a, or nil.
func (s *Space) find(a Addr) *vnode { return s.vmas.seek(a) }

// Lookup returns the VMA containing a, or nil.
func (s *Space) Lookup(a Addr) *VMA {
	if n := s.find(a); n != nil && n.v.Start <= a {
		return n.v
	}
	return nil
}

// FindVMA returns the first VMA that ends above a (it may start above a), or nil: Linux's
// find_vma.
func (s *Space) FindVMA(a Addr) *VMA {
	if n := s.find(a); n != nil {
		return n.v
	}
	return nil
}

// VMAs yields the mappings in address order. The caller must not modify them, nor change
// the space before the loop ends.
func (s *Space) VMAs() iter.Seq[*VMA] {
	return func(yield func(*VMA) bool) { s.vmas.all(yield) }
}

// Len is the number of mappings (pieces kept apart for the CPU counted apart).
func (s *Space) Len() int { return s.vmas.Len() }

// HasShared reports whether any mapping is MAP_SHARED.
func (s *Space) HasShared() bool {
	for n := s.vmas.first; n != nil; n = n.next {
		if n.v.Shared {
			return true
		}
	}
	return false
}

// Free reports whether [start, end) overlaps no mapping.
func (s *Space) Free(start, end Addr) bool {
	n := s.find(start)
	return n == nil || n.v.Start >= end
}

// cpuMap gives v to the CPU. A mapping without access (a reservation, a guard page) is
// not given at all: the CPU faults there as it would on a protection fault, and the
// kernel tells the two apart from its own list. The CPU keeps host memory in regions
// apart from permissions (see emu's MapHostIn): a mapping whose memory a region already
// holds costs a change of permissions only, and a new region takes in the memory around
// the mapping that continues it (the rest of the heap's reservation, or the pieces next
// to it of one mapping split by mprotect), so that later mappings there need none.
func (s *Space) cpuMap(v *VMA) error { return s.cpuMapFrom(v, &s.vmas) }

// cpuMapFrom is cpuMap for a VMA of the space being built from list (v's own list, or the
// list a new space copies): v's pieces there tell which memory around it continues it.
func (s *Space) cpuMapFrom(v *VMA, list *vmaTree) error {
	if s.cpu == nil || v.Prot == 0 {
		return nil
	}
	prot := v.Prot
	if v.Bus {
		prot = 0
	} else if v.Shared {
		prot |= emu.ProtShared // code may be written through another mapping of it
	}
	if prot&emu.ProtWrite != 0 {
		v.back.wrote()
	}
	mem := v.host()
	if s.cpu.Covered(uint64(v.Start), mem) {
		return s.cpu.MapHost(uint64(v.Start), mem, prot)
	}
	lo, hi := s.cpuSpan(v, list)
	if b := v.back; b.carved {
		at := b.aoff + v.off // v's place in the reservation
		if top := at + uint64(hi-v.Start); top < uint64(len(b.ar.res)) {
			// Below a region of memory that continues this run: as much again as it
			// holds, so that mappings made one below the other make O(log n) regions
			// even where holes between them cut the run short.
			more := s.cpu.RegionSize(uint64(hi), b.ar.res[top:])
			more = min(more, at-uint64(v.Start-lo), uint64(lo-s.freeBelow(lo, list)))
			lo -= Addr(more)
		}
		mem = b.ar.res[at-uint64(v.Start-lo) : at+uint64(hi-v.Start)]
	} else {
		mem = b.mem[v.off-uint64(v.Start-lo) : v.off+uint64(hi-v.Start)]
	}
	err := s.cpu.MapHostIn(uint64(lo), mem, uint64(v.Start), uint64(v.End), prot)
	if errors.Is(err, emu.ErrRegions) {
		return ErrNoMem
	}
	return err
}

// cpuSpan returns the guest range around v whose host memory continues v's: VMAs of list
// next to it whose memory continues it (whatever their permissions), then free addresses
// around those whose host memory is reserved for what continues it: for the heap, after
// it, up to as much again as the heap holds below (so that n growths of the break make
// O(log n) regions); for memory carved from an arena's reservation, below it (where the
// next mappings go, top-down, and their memory too), as much again as the run holds.
func (s *Space) cpuSpan(v *VMA, list *vmaTree) (lo, hi Addr) {
	lo, hi = v.Start, v.End
	if at := list.seek(v.Start); at != nil && at.v.Start == v.Start {
		// The walks cost what the run holds: a run is given to the CPU whole, and its
		// pieces after the first are covered already (see cpuMapFrom).
		for j := at; j.prev != nil && hostLinear(j.prev.v, j.v); j = j.prev {
			lo = j.prev.v.Start
		}
		for j := at; j.next != nil && hostLinear(j.v, j.next.v); j = j.next {
			hi = j.next.v.End
		}
	}
	b := v.back
	switch {
	case b == s.heap && b != nil:
		room := uint64(len(b.mem)) - (v.off + uint64(hi-v.Start))
		want := max(uint64(hi-v.Start), v.off, heapStep) // the heap doubles
		next := TaskSize
		if j := list.seek(hi); j != nil {
			next = j.v.Start
		}
		if next >= hi {
			hi += Addr(min(room, want, uint64(next-hi)))
		}
	case b.carved:
		room := b.aoff + v.off - uint64(v.Start-lo) // reserved host memory below the run
		lo -= Addr(min(room, max(uint64(hi-lo), heapStep), uint64(lo-s.freeBelow(lo, list))))
	}
	return lo, hi
}

// freeBelow returns where the free guest addresses below a (a VMA start or free) begin.
func (s *Space) freeBelow(a Addr, list *vmaTree) Addr {
	if a == 0 {
		return 0
	}
	j := list.seek(a - 1)
	switch {
	case j != nil && j.v.Start < a:
		return a // a is inside a mapping
	case j != nil && j.prev != nil:
		return max(j.prev.v.End, MinAddr)
	case j == nil && list.last != nil:
		return max(list.last.v.End, MinAddr)
	}
	return min(MinAddr, a)
}

// hostLinear reports whether b's host memory continues a's, with b right after a.
func hostLinear(a, b *VMA) bool {
	if a.End != b.Start {
		return false
	}
	if a.back == b.back {
		return a.off+a.Len() == b.off
	}
	return a.back.carved && b.back.carved && a.back.ar == b.back.ar &&
		a.back.aoff+a.off+a.Len() == b.back.aoff+b.off
}

// heapStep is the least a new region of the heap takes in beyond the break.
const heapStep = 64 << 10

// CheckCPU reports the first difference between what the CPU lets the guest access and
// the mappings (their permissions, none in the parts of shared file mappings past the
// end of their file), or nil.
func (s *Space) CheckCPU() error {
	if s.cpu == nil {
		return nil
	}
	type span struct {
		start, end Addr
		prot       Prot
	}
	add := func(l []span, x span) []span {
		if n := len(l); n > 0 && l[n-1].end == x.start && l[n-1].prot == x.prot {
			l[n-1].end = x.end
			return l
		}
		return append(l, x)
	}
	var want, got []span
	for n := s.vmas.first; n != nil; n = n.next {
		if v := n.v; v.Prot != 0 && !v.Bus {
			want = add(want, span{v.Start, v.End, v.Prot})
		}
	}
	s.cpu.ProtRanges(func(b, e uint64, p Prot) { got = add(got, span{Addr(b), Addr(e), p}) })
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			return fmt.Errorf("the CPU gives no access to %#x-%#x (%v)", want[i].start, want[i].end, want[i].prot)
		case i >= len(want):
			return fmt.Errorf("the CPU gives access to %#x-%#x (%v) outside the mappings", got[i].start, got[i].end, got[i].prot)
		case want[i] != got[i]:
			return fmt.Errorf("the CPU gives %#x-%#x (%v) where the mapping is %#x-%#x (%v)",
				got[i].start, got[i].end, got[i].prot, want[i].start, want[i].end, want[i].prot)
		}
	}
	return nil
}

// cpuUnmap takes v's range from the CPU (its permissions, and regions left without any).
func (s *Space) cpuUnmap(v *VMA) {
	if s.cpu != nil {
		s.cpu.Unmap(uint64(v.Start), v.Len())
	}
}

// insert adds v (whose range must be free) and maps it.
func (s *Space) insert(v *VMA) error {
	if int64(s.vmas.Len()) > maxMapCount() {
		return ErrNoMem
	}
	if err := s.cpuMap(v); err != nil {
		return err
	}
	v.back.refs.Add(1)
	if v.Locked {
		s.locked += v.Len()
	}
	s.mergeAround(s.vmas.insert(v))
	return nil
}

// mergeAround joins the VMA of n with neighbours that continue it: same backing at the
// next offset, same permissions and name, so that the list stays as short as the guest's
// view of it (brk growth would otherwise add one per call). It returns the node that
// holds n's range afterwards.
func (s *Space) mergeAround(n *vnode) *vnode {
	if n.next != nil {
		s.merge(n)
	}
	for p := n.prev; p != nil && s.merge(p); p = p.prev {
		n = p // p took n's range in
	}
	return n
}

// MappingEnd returns the end of the mapping that contains a, as the guest sees it (pieces
// kept apart for the CPU included), or 0.
func (s *Space) MappingEnd(a Addr) Addr {
	n := s.find(a)
	if n == nil || n.v.Start > a {
		return 0
	}
	for n.next != nil && continues(n.v, n.next.v) {
		n = n.next
	}
	return n.v.End
}

// continues reports whether b continues a: adjacent, the same backing at the next offset,
// and alike in everything else.
func continues(a, b *VMA) bool {
	return a.End == b.Start && a.back == b.back && a.off+a.Len() == b.off && a.Prot == b.Prot &&
		a.Name == b.Name && a.Shared == b.Shared && a.Ino == b.Ino && a.MapsPerm == b.MapsPerm && a.Bus == b.Bus &&
		a.Sealed == b.Sealed && a.Secret == b.Secret && a.Locked == b.Locked && a.DontFork == b.DontFork &&
		a.WipeOnFork == b.WipeOnFork && sameVMFlags(a, b)
}

// sameVMFlags says whether a and b agree in the flags of Linux's that only smaps shows.
func sameVMFlags(a, b *VMA) bool {
	return a.NoReserve == b.NoReserve && a.Charged() == b.Charged() && a.HugePage == b.HugePage &&
		a.NoHugePage == b.NoHugePage
}

// joins reports whether b, adjacent to a, is one mapping with it as Linux's vma_merge()
// makes them: private anonymous memory alike in everything shown. vemu gives each mmap
// memory of its own, which continues does not join; Linux merges a new mapping with a
// neighbour whatever either holds.
func joins(a, b *VMA) bool {
	anon := func(v *VMA) bool {
		return !v.Shared && v.Ino == 0 && v.Dev == 0 && v.Name == "" && !v.Secret && v.back.frozen == nil
	}
	return a.End == b.Start && anon(a) && anon(b) && a.Prot == b.Prot && a.MapsPerm == b.MapsPerm &&
		a.Bus == b.Bus && a.Sealed == b.Sealed && a.Locked == b.Locked && a.DontFork == b.DontFork &&
		a.WipeOnFork == b.WipeOnFork && sameVMFlags(a, b)
}

// merge joins n's VMA and the next one if the second continues the first, and reports
// whether it did. The CPU is not involved: its regions and permissions do not follow VMAs.
func (s *Space) merge(n *vnode) bool {
	a, b := n.v, n.next.v
	if !continues(a, b) {
		return false
	}
	b.back.refs.Add(-1)
	s.vmas.remove(n.next)
	s.vmas.setEnd(n, b.End)
	return true
}

// split makes a a VMA boundary (if a lies inside a VMA).
func (s *Space) split(a Addr) error {
	n := s.find(a)
	if n == nil || n.v.Start >= a {
		return nil
	}
	if int64(s.vmas.Len()) >= maxMapCount() {
		// As Linux's split_vma: the permission table and the list stay bounded.
		return unix.ENOMEM
	}
	v := n.v
	hi := *v
	hi.Start = a
	hi.off += uint64(a - v.Start)
	if v.FileOff != 0 || v.Ino != 0 {
		hi.FileOff += uint64(a - v.Start)
	}
	v.back.refs.Add(1)
	s.vmas.setEnd(n, a)
	s.vmas.insert(&hi)
	return nil
}

// Map creates a mapping of [start, start+length) with fresh zeroed memory. The range must
// be page-aligned and free.
func (s *Space) Map(start Addr, length uint64, prot Prot, name string) (*VMA, error) {
	if length == 0 || uint64(start)%PageSize != 0 || length%PageSize != 0 {
		return nil, unix.EINVAL
	}
	if !s.Free(start, start+Addr(length)) {
		return nil, unix.EEXIST
	}
	b, err := s.allocHost(length)
	if err != nil {
		return nil, err
	}
	v := &VMA{Start: start, End: start + Addr(length), Prot: prot, Name: name, back: b}
	if err := s.insert(v); err != nil {
		b.free()
		return nil, err
	}
	return v, nil
}

// MapSharedAnon maps fresh zeroed memory at [start, start+length), shared (MAP_SHARED |
// MAP_ANONYMOUS: a fork's child shares it). The range must be free.
func (s *Space) MapSharedAnon(start Addr, length uint64, prot Prot, name string) (*VMA, error) {
	if length == 0 || uint64(start)%PageSize != 0 || length%PageSize != 0 {
		return nil, unix.EINVAL
	}
	if !s.Free(start, start+Addr(length)) {
		return nil, unix.EEXIST
	}
	if s.ar == nil {
		a, err := newArena()
		if err != nil {
			return nil, err
		}
		s.ar = a
	}
	// In a window, the CPU of every process that shares it needs no region for it, where
	// memory carved for the parent continues nothing in a child's address space.
	b := s.ar.allocWindow(length)
	if b == nil {
		var err error
		if b, err = s.allocHost(length); err != nil {
			return nil, err
		}
	}
	v := &VMA{Start: start, End: start + Addr(length), Prot: prot, Name: name, back: b, Shared: true}
	if err := s.insert(v); err != nil {
		b.free()
		return nil, err
	}
	return v, nil
}

// Unmap removes every mapping in [start, start+length).
func (s *Space) Unmap(start Addr, length uint64) error { return s.unmap(start, length, true) }

// unmap removes every mapping in [start, start+length); with discard, the host pages of
// private memory go back to the host at once (the rest of a backing may still be mapped).
func (s *Space) unmap(start Addr, length uint64, discard bool) error {
	end := start + Addr(length)
	if s.OnUnmap != nil {
		s.OnUnmap(start, end)
	}
	if err := s.split(start); err != nil {
		return err
	}
	if err := s.split(end); err != nil {
		return err
	}
	for n := s.find(start); n != nil && n.v.Start < end; {
		v, next := n.v, n.next
		s.cpuUnmap(v)
		if v.Locked {
			s.locked -= v.Len()
		}
		if discard && !v.Shared && !s.borrowed {
			// A vfork child's memory is its parent's: only the parent gives it back.
			v.back.discard(v.off, v.Len())
		}
		s.release(v.back)
		s.vmas.remove(n)
		n = next
	}
	return nil
}

// Protect sets the permissions of [start, start+length), which must be fully mapped.
func (s *Space) Protect(start Addr, length uint64, prot Prot) error {
	end := start + Addr(length)
	if !s.Mapped(start, end) {
		return unix.ENOMEM
	}
	if err := s.split(start); err != nil {
		return err
	}
	if err := s.split(end); err != nil {
		return err
	}
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		if v := n.v; v.back.hostRO && prot&emu.ProtWrite != 0 {
			// Linux: a shared mapping of a file not open for writing never becomes
			// writable (EACCES), and the host mapping behind it could not be written.
			return unix.EACCES
		}
	}
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		v := n.v
		if v.Prot == prot {
			continue
		}
		// The CPU's permission table changes, never a region's own permissions: on a
		// map_ptr region uc_mem_protect moves the pages into memory of Unicorn's own, so
		// the guest's stores would no longer reach the host memory the kernel reads.
		old := v.Prot
		if (old|prot)&emu.ProtWrite != 0 && !v.Shared && !v.NoReserve {
			v.Accounted = true // charged when it became writable, and kept charged
		}
		v.Prot = prot
		if prot == 0 {
			// The memory stays given to the CPU, without access, for the next change.
			if s.cpu != nil && !s.cpu.Protect(uint64(v.Start), v.Len(), 0) {
				s.cpuUnmap(v)
			}
			continue
		}
		if err := s.cpuMap(v); err != nil {
			v.Prot = old
			return err
		}
	}
	for n := s.find(start); n != nil && n.v.Start <= end; n = n.next {
		n = s.mergeAround(n)
	}
	return nil
}

// Update runs f on the mappings in [start, end), split at start and end so that f sees
// only what lies inside, in order; the first error f returns ends the walk (the mappings
// before it keep what f did, as Linux's madvise leaves them). Unmapped pages are skipped.
func (s *Space) Update(start, end Addr, f func(v *VMA) error) error {
	if err := s.split(start); err != nil {
		return err
	}
	if err := s.split(end); err != nil {
		return err
	}
	var err error
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		if err = f(n.v); err != nil {
			break
		}
	}
	for n := s.find(start); n != nil && n.v.Start <= end; n = n.next {
		n = s.mergeAround(n)
	}
	return err
}

// Remove frees the pages of the shared mapping v in [start, end) (MADV_REMOVE): they
// read as zero afterwards in every process that maps them, and a file gets a hole.
func (s *Space) Remove(v *VMA, start, end Addr) error {
	off := v.off + uint64(start-v.Start)
	if v.back.ar != nil {
		v.back.discard(off, uint64(end-start))
		return nil
	}
	return unix.Madvise(v.back.mem[off:off+uint64(end-start)], unix.MADV_REMOVE)
}

// Mapped reports whether every page of [start, end) is mapped.
func (s *Space) Mapped(start, end Addr) bool {
	for a := start; a < end; {
		v := s.Lookup(a)
		if v == nil {
			return false
		}
		a = v.End
	}
	return true
}

// Locked is the length in bytes of the space's Locked mappings, Linux's locked_vm.
func (s *Space) Locked() uint64 { return s.locked }

// SetLocked locks or unlocks the mappings in [start, end) (page-aligned), splitting them
// at the ends, as Linux's mlock_fixup() sets VM_LOCKED, and keeps Locked's count; the
// mappings leave says to leave alone (Linux's VM_SPECIAL ones, secret memory) stay as
// they are. Holes are passed over: the caller checks them.
func (s *Space) SetLocked(start, end Addr, lock bool, leave func(v *VMA) bool) error {
	if start >= end {
		return nil
	}
	return s.Update(start, end, func(v *VMA) error {
		if v.Locked == lock || leave != nil && leave(v) {
			return nil
		}
		v.Locked = lock
		if lock {
			s.locked += v.Len()
		} else {
			s.locked -= v.Len()
		}
		return nil
	})
}

// LockedIn is the length in bytes of the Locked mappings in [start, end).
func (s *Space) LockedIn(start, end Addr) uint64 {
	var n uint64
	for x := s.find(start); x != nil && x.v.Start < end; x = x.next {
		if x.v.Locked {
			n += uint64(min(x.v.End, end) - max(x.v.Start, start))
		}
	}
	return n
}

// MappedUntil is the first address of [start, end) that no mapping holds, or end.
func (s *Space) MappedUntil(start, end Addr) Addr {
	for a := start; a < end; {
		v := s.Lookup(a)
		if v == nil {
			return a
		}
		a = v.End
	}
	return end
}

// Populate gives the pages of the accessible mappings in [start, end) host memory, as
// Linux's populate_vma_page_range() faults them in for mlock: the host faults in the
// memory behind them. Mappings without access are passed over, as Linux passes them over. More
// than budget bytes to populate is ErrNoMem, before anything is done.
func (s *Space) Populate(start, end Addr, budget uint64) error {
	populated := func(v *VMA) bool { return v.Prot&(emu.ProtRead|emu.ProtWrite) != 0 && !v.Bus }
	var total uint64
	for x := s.find(start); x != nil && x.v.Start < end; x = x.next {
		if populated(x.v) {
			total += uint64(min(x.v.End, end) - max(x.v.Start, start))
		}
	}
	if total > budget {
		return ErrNoMem
	}
	for x := s.find(start); x != nil && x.v.Start < end; x = x.next {
		v := x.v
		if !populated(v) {
			continue
		}
		lo, hi := max(v.Start, start), min(v.End, end)
		off := v.off + uint64(lo-v.Start)
		// A read fault gives shared memory a page of its own (the host has no zero page
		// for it), which the backing file's SEEK_DATA then finds.
		if err := unix.Madvise(v.back.mem[off:off+uint64(hi-lo)], unix.MADV_POPULATE_READ); err != nil && v.back.ar != nil {
			return err
		}
	}
	return nil
}

// MarkSecret marks the mappings in [start, end), which must be mapped and start and end
// their boundaries, as Secret and Locked.
func (s *Space) MarkSecret(start, end Addr) {
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		v := n.v
		v.Secret = true
		if !v.Locked {
			v.Locked = true
			s.locked += v.Len()
		}
	}
}

// Secret says whether any mapping in [start, end) is Secret.
func (s *Space) Secret(start, end Addr) bool {
	return s.any(start, end, func(v *VMA) bool { return v.Secret })
}

func (s *Space) any(start, end Addr, f func(v *VMA) bool) bool {
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		if f(n.v) {
			return true
		}
	}
	return false
}

// Sealed says whether any mapping in [start, end) is sealed.
func (s *Space) Sealed(start, end Addr) bool {
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		if n.v.Sealed {
			return true
		}
	}
	return false
}

// Seal seals [start, end), which must be mapped throughout (ENOMEM otherwise), as
// Linux's mseal(2).
func (s *Space) Seal(start, end Addr) error {
	if !s.Mapped(start, end) {
		return unix.ENOMEM
	}
	if err := s.split(start); err != nil {
		return err
	}
	if err := s.split(end); err != nil {
		return err
	}
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		n.v.Sealed = true
	}
	return nil
}

// FindFree returns the highest free, page-aligned range of length bytes below top and at
// or above MinAddr, as Linux's top-down allocator does.
func (s *Space) FindFree(length uint64, top Addr) (Addr, error) {
	if length == 0 || length > uint64(top) {
		return 0, unix.ENOMEM
	}
	if a, ok := s.vmas.topDown(length, MinAddr, top); ok {
		return a, nil
	}
	return 0, unix.ENOMEM
}

// SetupHeap reserves host memory for the heap at start (brk's first value).
func (s *Space) SetupHeap(start Addr, reserve uint64) error {
	b, err := s.allocHost(reserve)
	if err != nil {
		return err
	}
	s.heap = b
	s.BrkStart, s.Brk = start, start
	return nil
}

// SetBrk moves the program break as brk(2) does and returns the new break (the old one
// when the request cannot be met).
func (s *Space) SetBrk(want Addr) Addr {
	if s.heap == nil || want < s.BrkStart || uint64(want-s.BrkStart) > uint64(len(s.heap.mem)) {
		return s.Brk
	}
	oldEnd, _ := PageUp(uint64(s.Brk))
	newEnd, _ := PageUp(uint64(want))
	switch {
	case newEnd > oldEnd:
		if !s.Free(Addr(oldEnd), Addr(newEnd)) {
			return s.Brk
		}
		v := &VMA{Start: Addr(oldEnd), End: Addr(newEnd), Prot: emu.ProtRead | emu.ProtWrite, Name: "[heap]",
			back: s.heap, off: oldEnd - uint64(s.BrkStart)}
		if err := s.insert(v); err != nil {
			return s.Brk
		}
	case newEnd < oldEnd:
		if err := s.Unmap(Addr(newEnd), oldEnd-newEnd); err != nil {
			return s.Brk
		}
	}
	if want < s.Brk {
		// Linux zeroes what a later brk exposes again: clear the tail of the last page.
		if p := s.Lookup(want); p != nil && p.back == s.heap {
			end := min(Addr(newEnd), p.End)
			clear(p.host()[want-p.Start : end-p.Start])
		}
	}
	s.Brk = want
	return want
}

// Errors for guest memory access.
var errFault = unix.EFAULT

// access walks [addr, addr+n) through the mappings, calling f on each host piece. want is
// the permission each page needs.
func (s *Space) access(addr Addr, n int, want Prot, f func(host []byte, v *VMA)) (err error) {
	s.Refresh()
	end := addr + Addr(n)
	if end < addr || (end > TaskSize && want != 0) {
		// Like access_ok(): user copies never reach above user space (the vsyscall page
		// included); only the kernel's own writes (want 0) may.
		return errFault
	}
	var g faultGuard
	defer func() {
		g.done()
		if r := recover(); r != nil {
			err = s.hostFault(r, g.cur)
		}
	}()
	for a := addr; a < end; {
		v := s.Lookup(a)
		if v != nil && v.Bus && s.FileGrew(a) {
			v = s.Lookup(a)
		}
		if v == nil || v.Prot&want != want || v.Bus {
			return errFault
		}
		stop := min(end, v.End)
		g.enter(v)
		f(v.host()[a-v.Start:stop-v.Start], v)
		a = stop
	}
	return nil
}

// faultGuard is kept by a copy of guest memory that may meet a host fault: where it
// copies a shared mapping's file (whose end the host enforces), the goroutine panics on
// a fault instead of ending vemu (debug.SetPanicOnFault), and the copy recovers. Other
// memory never faults, and costs nothing more. Use with a deferred function that calls
// done, then recover (which only works there) and hostFault.
type faultGuard struct {
	cur     *VMA // the mapping being copied
	on, old bool
}

// enter notes that v is being copied.
func (g *faultGuard) enter(v *VMA) {
	g.cur = v
	if !g.on && v.back.file != nil {
		g.on, g.old = true, debug.SetPanicOnFault(true)
	}
}

// done ends the guard.
func (g *faultGuard) done() {
	if g.on {
		debug.SetPanicOnFault(g.old)
	}
}

// hostFault turns r, recovered from a copy of guest memory in cur, into EFAULT when it is
// a host fault (a SIGBUS where a file shrank under a shared mapping without the kernel
// knowing, see Shrunk): Linux's copies fail there, where vemu would end. The file's
// size is then looked at again, in every space. Any other panic goes on. Copies run
// with debug.SetPanicOnFault, which makes such a fault a panic.
func (s *Space) hostFault(r any, cur *VMA) error {
	if _, ok := r.(interface{ Addr() uintptr }); !ok || cur == nil {
		panic(r)
	}
	if b := cur.back; b.file != nil {
		Shrunk(b.file.fd)
		s.Refresh()
	}
	return errFault
}

// CopyIn copies len(dst) bytes from guest address addr. A fault returns EFAULT.
func (s *Space) CopyIn(addr Addr, dst []byte) error {
	if len(dst) == 0 {
		return nil
	}
	return s.access(addr, len(dst), emu.ProtRead, func(h []byte, _ *VMA) { dst = dst[copy(dst, h):] })
}

// CopyOut copies src to guest address addr. A fault returns EFAULT, after the bytes
// before it are written, as Linux's copy_to_user leaves them.
func (s *Space) CopyOut(addr Addr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	a := addr
	return s.access(addr, len(src), emu.ProtWrite, func(h []byte, v *VMA) {
		n := copy(h, src)
		if v.Prot&emu.ProtExec != 0 && s.cpu != nil {
			s.cpu.FlushCode(uint64(a), uint64(a)+uint64(n))
		}
		a += Addr(n)
		src = src[n:]
	})
}

// Write copies src to addr whatever the permissions (the kernel loading a program).
func (s *Space) Write(addr Addr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return s.access(addr, len(src), 0, func(h []byte, v *VMA) {
		v.back.wrote()
		src = src[copy(h, src):]
	})
}

// CopyString reads a NUL-terminated string of at most max bytes (without the NUL) from
// addr. EFAULT if unreadable, ENAMETOOLONG if longer than max.
func (s *Space) CopyString(addr Addr, max int) (str string, err error) {
	s.Refresh()
	var sb strings.Builder
	var g faultGuard
	defer func() {
		g.done()
		if r := recover(); r != nil {
			err = s.hostFault(r, g.cur)
		}
	}()
	for a := addr; ; {
		v := s.Lookup(a)
		if v != nil && v.Bus && s.FileGrew(a) {
			v = s.Lookup(a)
		}
		if v == nil || v.Prot&emu.ProtRead == 0 || v.Bus {
			return "", errFault
		}
		g.enter(v)
		h := v.host()[a-v.Start:]
		for i, c := range h {
			if c == 0 {
				sb.Write(h[:i])
				return sb.String(), nil
			}
			if sb.Len()+i >= max {
				return "", unix.ENAMETOOLONG
			}
		}
		if sb.Len()+len(h) >= max {
			// As strncpy_from_user: max bytes without a NUL is too long, whatever follows.
			return "", unix.ENAMETOOLONG
		}
		sb.Write(h)
		a = v.End
	}
}

// Maps renders the address space as /proc/self/maps does.
func (s *Space) Maps() string {
	var sb strings.Builder
	s.mappings(func(v *VMA, _ []*VMA) {
		sb.WriteString(mapsLine(v))
		sb.WriteByte('\n')
	})
	return sb.String()
}

// mappings calls f for each mapping as the guest sees them, in address order: pieces
// that continue each other, or that Linux would have merged (see joins), are one mapping
// (v, a copy that spans them), each piece in pieces.
func (s *Space) mappings(f func(v *VMA, pieces []*VMA)) {
	var pieces []*VMA
	for x := s.vmas.first; x != nil; x = x.next {
		v := x.v
		pieces = append(pieces[:0], v)
		if x.next != nil && (continues(v, x.next.v) || joins(v, x.next.v)) {
			m := *v
			for x.next != nil && (continues(&m, x.next.v) || joins(&m, x.next.v)) {
				m.End = x.next.v.End
				x = x.next
				pieces = append(pieces, x.v)
			}
			v = &m
		}
		f(v, pieces)
	}
}

// mapsLine is v's line of /proc/self/maps, without its newline.
func mapsLine(v *VMA) string {
	perm := []byte("---p")
	if v.Prot&emu.ProtRead != 0 {
		perm[0] = 'r'
	}
	if v.Prot&emu.ProtWrite != 0 {
		perm[1] = 'w'
	}
	if v.Prot&emu.ProtExec != 0 {
		perm[2] = 'x'
	}
	if v.Shared {
		perm[3] = 's'
	}
	if v.MapsPerm != "" {
		perm = []byte(v.MapsPerm)
	}
	line := fmt.Sprintf("%08x-%08x %s %08x %02x:%02x %d", uint64(v.Start), uint64(v.End), perm,
		v.FileOff, unix.Major(v.Dev), unix.Minor(v.Dev), v.Ino)
	if v.Name == "" {
		return line + " " // Linux ends the fields with a space, as it does before a name
	}
	return line + strings.Repeat(" ", max(1, 73-len(line))) + v.Name
}

// Bufs appends to dst the host slices behind [addr, addr+n), one per mapping, stopping at
// the first byte without permission want or past the end of a shared mapping's file: a
// short result is a partial transfer, as when Linux's copy stops at a fault. Nothing
// accessible at addr is EFAULT. A file that shrinks afterwards (another program
// truncating it) can still fault under a host system call, which then fails with EFAULT.
func (s *Space) Bufs(addr Addr, n int, want Prot, dst [][]byte) ([][]byte, error) {
	if n == 0 {
		return dst, nil
	}
	s.Refresh()
	end := addr + Addr(n)
	if end < addr || end > TaskSize {
		end = TaskSize
	}
	first := true
	for a := addr; a < end; {
		v := s.Lookup(a)
		if v != nil && v.Bus && s.FileGrew(a) {
			v = s.Lookup(a)
		}
		if v == nil || v.Prot&want != want || v.Bus {
			// Past the end of a shared mapping's file, a copy faults, on Linux as here.
			break
		}
		stop := min(end, v.End)
		if want&emu.ProtWrite != 0 || want == 0 {
			v.back.wrote()
		}
		if want&emu.ProtWrite != 0 && v.Prot&emu.ProtExec != 0 && s.cpu != nil {
			s.cpu.FlushCode(uint64(a), uint64(stop))
		}
		dst = append(dst, v.host()[a-v.Start:stop-v.Start])
		first = false
		a = stop
	}
	if first {
		return dst, errFault
	}
	return dst, nil
}

// Host returns the host memory behind v, for the kernel's own use.
func (v *VMA) Host() []byte {
	v.back.wrote()
	return v.host()
}

// Fill lets f write the initial contents of v's memory (a file's bytes).
func (s *Space) Fill(v *VMA, f func([]byte) error) error {
	v.back.wrote()
	return f(v.host())
}

// MapFrozen maps [start, start+length) privately onto f at off (page-aligned, and the
// range inside the file). The pages are the file's, shared with every other mapping of
// it, until written. The range must be free.
func (s *Space) MapFrozen(start Addr, length uint64, prot Prot, f *Frozen, off int64, name string) (*VMA, error) {
	b, err := mapFrozen(f, off, length)
	if err != nil {
		return nil, err
	}
	v := &VMA{Start: start, End: start + Addr(length), Prot: prot, Name: name, back: b}
	if err := s.insert(v); err != nil {
		b.free()
		return nil, err
	}
	return v, nil
}

func mapFrozen(f *Frozen, off int64, length uint64) (*backing, error) {
	mem, err := hostMmap(f.fd, off, int(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, ErrNoMem
	}
	f.Ref()
	return &backing{mem: mem, frozen: f, foff: off}, nil
}

// MapShared maps [start, start+length) onto the host file fd at off, shared: stores reach
// the file. The range must be free. A mapping of the file from the same offset that
// another mapping holds already shares that one's host memory: a program that writes
// code through one mapping and runs it through another (a JIT's two views of a memfd)
// then has one physical page behind both for the CPU, which watches it as code (see
// emu's ProtShared).
func (s *Space) MapShared(start Addr, length uint64, prot Prot, fd int, off int64, writable bool, name string) (*VMA, error) {
	f := openMapFile(fd, writable)
	var b *backing
	if f != nil {
		b = f.backingAt(off, length)
	}
	if b != nil {
		f.unref() // b holds its own
	} else {
		hp := unix.PROT_READ
		if writable {
			hp |= unix.PROT_WRITE
		}
		// In a window of shared memory, the CPU needs no region of its own for it; a
		// large mapping (or one no window has room for) is a host mapping of its own.
		mem, inWindow := mapWindowFile(fd, off, length, hp), true
		if mem == nil {
			var err error
			if mem, err = hostMmap(fd, off, int(length), hp, unix.MAP_SHARED); err != nil {
				if f != nil {
					f.unref()
				}
				return nil, err
			}
			inWindow = false
		}
		b = &backing{mem: mem, hostRO: !writable, file: f, foff: off, window: inWindow}
		b.refs.Add(1) // held until the mappings hold it
		if f != nil {
			f.keep(b)
		}
		var fs unix.Statfs_t
		if unix.Fstatfs(fd, &fs) == nil && (fs.Type == unix.TMPFS_MAGIC || fs.Type == unix.HUGETLBFS_MAGIC) {
			b.shmem = true
		}
	}
	defer s.release(b)
	v := &VMA{Start: start, End: start + Addr(length), Prot: prot, Name: name, back: b, off: uint64(off - b.foff), Shared: true}
	// Pages wholly past the end of the file would raise SIGBUS in vemu if touched.
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		eof, _ := PageUp(uint64(max(st.Size, 0)))
		if eof <= uint64(off) {
			v.Bus = true
		} else if inFile := eof - uint64(off); inFile < length {
			tail := &VMA{Start: start + Addr(inFile), End: v.End, Prot: prot, Name: name, back: b,
				off: v.off + inFile, Shared: true, Bus: true}
			v.End = tail.Start
			if err := s.insert(tail); err != nil {
				return nil, err
			}
		}
	}
	if err := s.insert(v); err != nil {
		if n := s.Lookup(v.End); n != nil && n.back == b {
			s.unmap(v.End, length-v.Len(), false)
		}
		return nil, err
	}
	return v, nil
}

// mapFileAt maps [start, start+length) shared onto the file that v (a shared file
// mapping) shows, at the file offset of v's address at, with v's permissions and name.
func (s *Space) mapFileAt(start Addr, length uint64, v *VMA, at Addr) error {
	f := v.back.file
	off := uint64(v.back.foff) + v.off + uint64(at-v.Start)
	if _, err := s.MapShared(start, length, v.Prot, f.fd, int64(off), f.key.writable, v.Name); err != nil {
		return err
	}
	s.SetFile(start, start+Addr(length), v.Dev, v.Ino, off)
	if v.Secret {
		s.MarkSecret(start, start+Addr(length))
	}
	return nil
}

// SetFile records in the mappings of [start, end), which must be boundaries, the file
// they show (its device and inode) and the file offset of start, for /proc/self/maps.
func (s *Space) SetFile(start, end Addr, dev, ino, off uint64) {
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		v := n.v
		v.Dev, v.Ino, v.FileOff = dev, ino, off+uint64(v.Start-start)
	}
}

// Resident writes into vec one byte per page of [start, start+len(vec)*PageSize), which
// must be mapped: 1 where the page holds memory on the host, as mincore(2) reports it.
func (s *Space) Resident(start Addr, vec []byte) {
	clear(vec)
	end := start + Addr(len(vec))*PageSize
	for a := start; a < end; {
		v := s.Lookup(a)
		if v == nil {
			return
		}
		stop := min(end, v.End)
		off := v.off + uint64(a-v.Start)
		v.back.extents(off, uint64(stop-a), func(lo, hi uint64) bool {
			// Inside an extent, the host says which pages are in memory.
			out := vec[(uint64(a-start)+lo-off)/PageSize:][:(hi-lo)/PageSize]
			if err := mincore(v.back.mem[lo:hi], out); err != nil {
				for i := range out {
					out[i] = 1
				}
			}
			for i := range out {
				out[i] &= 1
			}
			return true
		})
		a = stop
	}
}

// mincore asks the host which pages of mem (vemu's own mapping) are in memory.
func mincore(mem, vec []byte) error {
	// SAFETY: mem is a live host mapping and vec holds one byte per page of it.
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		return e
	}
	return nil
}

// Discard drops the contents of private pages in [start, start+length): they read back
// as zero (MADV_DONTNEED).
func (s *Space) Discard(start Addr, length uint64) {
	end := start + Addr(length)
	for a := start; a < end; {
		v := s.Lookup(a)
		if v == nil {
			return
		}
		stop := min(end, v.End)
		if !v.Shared {
			v.back.discard(v.off+uint64(a-v.Start), uint64(stop-a))
		}
		a = stop
	}
}

// Grow extends the mapping at old from oldSize to newSize in place; the pages after it
// must be free. The new part is fresh zeroed memory with the same permissions.
func (s *Space) Grow(old Addr, oldSize, newSize uint64) error {
	v := s.Lookup(old + Addr(oldSize) - 1)
	if v == nil {
		return unix.EFAULT
	}
	if f := v.back.file; v.Shared && f != nil {
		// A shared file mapping grows over the file's next pages.
		return s.mapFileAt(old+Addr(oldSize), newSize-oldSize, v, old+Addr(oldSize))
	}
	mapAnon := s.Map
	if v.Shared {
		mapAnon = s.MapSharedAnon
	}
	nv, err := mapAnon(old+Addr(oldSize), newSize-oldSize, v.Prot, v.Name)
	if err != nil {
		return err
	}
	nv.Dev, nv.Ino, nv.Shared = v.Dev, v.Ino, v.Shared
	return nil
}

// Relocate moves [old, old+oldSize) to [to, to+newSize) (to must be free), leaving the
// rest of a larger new range zero. A move that does not grow moves the memory itself; one
// that grows copies into one new mapping (as Linux shows it) only the pages the guest
// touched.
func (s *Space) Relocate(old Addr, oldSize uint64, to Addr, newSize uint64) error {
	first := s.Lookup(old)
	if first == nil {
		return unix.EFAULT
	}
	n := min(oldSize, newSize)
	if !s.Mapped(old, old+Addr(n)) {
		return unix.EFAULT
	}
	if !s.Free(to, to+Addr(newSize)) {
		return unix.EEXIST
	}
	if f := first.back.file; newSize > n && first.Shared && f != nil {
		// A shared file mapping moves to a new mapping of the file, larger.
		if err := s.mapFileAt(to, newSize, first, old); err != nil {
			return err
		}
		return s.Unmap(old, oldSize)
	}
	if newSize > n {
		mapAnon := s.Map
		if first.Shared {
			mapAnon = s.MapSharedAnon
		}
		nv, err := mapAnon(to, newSize, first.Prot, first.Name)
		if err != nil {
			return err
		}
		nv.Dev, nv.Ino, nv.FileOff, nv.Shared = first.Dev, first.Ino, first.FileOff+uint64(old-first.Start), first.Shared
		for a := old; a < old+Addr(n); {
			v := s.Lookup(a)
			stop := min(old+Addr(n), v.End)
			voff := v.off + uint64(a-v.Start)
			v.back.extents(voff, uint64(stop-a), func(lo, hi uint64) bool {
				d := nv.off + uint64(a-old) + (lo - voff)
				copy(nv.back.mem[d:d+(hi-lo)], v.back.mem[lo:hi])
				return true
			})
			a = stop
		}
		return s.Unmap(old, oldSize)
	}
	if err := s.split(old); err != nil {
		return err
	}
	if err := s.split(old + Addr(n)); err != nil {
		return err
	}
	var moved []*VMA
	var heapParts [][2]uint64 // heap offsets whose pages were copied away
	for x := s.find(old); x != nil && x.v.Start < old+Addr(n); {
		nv := *x.v
		nv.Start = to + (nv.Start - old)
		nv.End = to + (nv.End - old)
		if nv.back == s.heap {
			// brk hands the heap's offsets out again: heap pages move by copy.
			nb, err := s.allocHost(nv.Len())
			if err != nil {
				s.unmapAll(moved)
				return err
			}
			src := nv.back
			src.extents(nv.off, nv.Len(), func(lo, hi uint64) bool {
				copy(nb.mem[lo-nv.off:hi-nv.off], src.mem[lo:hi])
				return true
			})
			heapParts = append(heapParts, [2]uint64{nv.off, nv.Len()})
			nv.back, nv.off = nb, 0
		}
		if err := s.insert(&nv); err != nil {
			if nv.back.refs.Load() == 0 && nv.back != s.heap {
				nv.back.free()
			}
			s.unmapAll(moved)
			return err
		}
		moved = append(moved, &VMA{Start: nv.Start, End: nv.End})
		x = s.find(old + (nv.End - to)) // the next piece

	}
	s.unmap(old, n, false)
	for _, h := range heapParts {
		s.heap.discard(h[0], h[1])
	}
	return s.unmap(old+Addr(n), oldSize-n, true)
}

// unmapAll undoes a partial move.
func (s *Space) unmapAll(moved []*VMA) {
	for _, m := range moved {
		s.unmap(m.Start, m.Len(), false)
	}
}

// Fork copies the address space for a child process whose CPU is cpu: private memory is
// copied, shared memory (MAP_SHARED) stays shared, as fork(2) leaves it. Only the pages
// that exist on the host are copied: memory the parent never touched costs nothing.
func (s *Space) Fork(cpu *emu.Engine) (*Space, error) {
	c := &Space{cpu: cpu, MmapBase: s.MmapBase, BrkStart: s.BrkStart, Brk: s.Brk}
	copies := map[*backing]*backing{}
	clone := func(b *backing) (*backing, error) {
		if nb, ok := copies[b]; ok {
			return nb, nil
		}
		nb, err := c.allocHost(uint64(len(b.mem)))
		if err != nil {
			return nil, err
		}
		nb.follow(b)
		copies[b] = nb
		return nb, nil
	}
	if s.heap != nil {
		nb, err := clone(s.heap)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.heap = nb
	}
	// The copies are carved top-down, as mmap placed the originals, so that the child's
	// memory lies on the host as the parent's does and its CPU needs as few regions.
	for x := s.vmas.last; x != nil; x = x.prev {
		if b := x.v.back; !x.v.Shared && (b.frozen == nil || b.written.Load()) {
			if _, err := clone(b); err != nil {
				c.Close()
				return nil, err
			}
		}
	}
	err := s.mapInto(c, func(v *VMA) (*backing, error) {
		if v.DontFork {
			return nil, nil
		}
		if v.Shared {
			return v.back, nil
		}
		if v.WipeOnFork {
			return c.allocHost(uint64(len(v.back.mem)))
		}
		if b := v.back; b.frozen != nil && !b.written.Load() {
			// Still the file's pages: map the file again rather than copy them.
			if nb, ok := copies[b]; ok {
				return nb, nil
			}
			nb, err := mapFrozen(b.frozen, b.foff, uint64(len(b.mem)))
			if err != nil {
				return nil, err
			}
			nb.follow(b)
			copies[b] = nb
			return nb, nil
		}
		nb, err := clone(v.back)
		if err != nil {
			return nil, err
		}
		v.back.extents(v.off, v.Len(), func(lo, hi uint64) bool {
			copy(nb.mem[lo:hi], v.back.mem[lo:hi])
			return true
		})
		return nb, nil
	})
	if err != nil {
		return nil, err
	}
	for n := c.vmas.first; n != nil; n = n.next {
		n.v.Locked = false // as Linux's dup_mmap: memory locks are not inherited
	}
	return c, nil
}

// mapInto gives c (new and empty) each of s's mappings, backed by what back returns for
// it (nil: c does not get it), and maps them into c's CPU. The CPU's regions are chosen
// from c's own list, whose memory may not continue where s's does (a mapping left out,
// or one given fresh memory). On failure c is closed.
func (s *Space) mapInto(c *Space, back func(v *VMA) (*backing, error)) error {
	for x := s.vmas.first; x != nil; x = x.next {
		v := x.v
		b, err := back(v)
		if err != nil {
			c.Close()
			return err
		}
		if b == nil {
			continue
		}
		nv := *v
		nv.back = b
		nv.back.refs.Add(1)
		c.vmas.insert(&nv)
	}
	for x := c.vmas.first; x != nil; x = x.next {
		if err := c.cpuMapFrom(x.v, &c.vmas); err != nil {
			c.Close()
			return err
		}
	}
	return nil
}

// Share maps the same memory into cpu, for a CLONE_VM child that runs in its parent's
// memory (a vfork child until it execs or exits, or one alongside its parent): writes
// either makes are the other's. The mappings themselves are the child's own list, so
// mmap, munmap and mprotect made later by either stay its own.
func (s *Space) Share(cpu *emu.Engine) (*Space, error) {
	c := &Space{cpu: cpu, MmapBase: s.MmapBase, BrkStart: s.BrkStart, Brk: s.Brk, heap: s.heap, borrowed: true,
		locked: s.locked}
	if err := s.mapInto(c, func(v *VMA) (*backing, error) { return v.back, nil }); err != nil {
		return nil, err
	}
	c.shareBase = map[*backing]bool{}
	for x := c.vmas.first; x != nil; x = x.next {
		c.shareBase[x.v.back] = true
	}
	return c, nil
}

// Apart returns copies of the mappings a space made by Share has made for itself since
// (not its heap, whose break is passed on apart), each holding its memory until Adopt
// or Drop takes them: on Linux a CLONE_VM child and its parent are one mm, so what the
// child mapped stays its parent's when it execs or exits.
func (s *Space) Apart() []*VMA {
	if s.shareBase == nil {
		return nil
	}
	var out []*VMA
	for x := s.vmas.first; x != nil; x = x.next {
		v := x.v
		if s.shareBase[v.back] || v.back == s.heap || v.Secret {
			continue
		}
		nv := *v
		nv.origin, nv.Locked = nil, false
		nv.back.refs.Add(1)
		out = append(out, &nv)
	}
	return out
}

// TakeApart maps each of vs (from Apart) where s has no mapping, and lets go of the
// holds Apart took.
func (s *Space) TakeApart(vs []*VMA) {
	for _, v := range vs {
		if s.Free(v.Start, v.End) {
			nv := *v
			s.insert(&nv) // without room for it (ENOMEM), the mapping is not kept
		}
		s.release(v.back)
	}
}

// DropApart lets go of the holds Apart took, for a parent that cannot take them.
func DropApart(vs []*VMA) {
	for _, v := range vs {
		if v.back.refs.Add(-1) == 0 {
			v.back.free()
		}
	}
}

// Start makes a space for cpu with a copy of s's mappings, as Fork does, except that
// kept mappings (returned by an earlier Retire of a space started from s on the same
// CPU) are taken as they are: they are still in the CPU, with the code translated from
// them. s is an image's space that never runs.
func (s *Space) Start(cpu *emu.Engine, kept []*VMA) (*Space, error) {
	c := &Space{cpu: cpu, MmapBase: s.MmapBase, BrkStart: s.BrkStart, Brk: s.Brk}
	byOrigin := map[*VMA]*VMA{}
	for _, k := range kept {
		byOrigin[k.origin] = k
	}
	if s.heap != nil {
		nb, err := c.allocHost(uint64(len(s.heap.mem)))
		if err != nil {
			c.releaseKept(kept)
			return nil, err
		}
		c.heap = nb
	}
	copies := map[*backing]*backing{}
	for x := s.vmas.first; x != nil; x = x.next {
		v := x.v
		if k := byOrigin[v]; k != nil {
			c.vmas.insert(k)
			delete(byOrigin, v)
			continue
		}
		nv := *v
		nv.origin = v
		b := copies[v.back]
		switch {
		case b != nil:
		case v.back == s.heap:
			b = c.heap
		case v.Shared:
			b = v.back
		case v.back.frozen != nil && !v.back.written.Load():
			nb, err := mapFrozen(v.back.frozen, v.back.foff, uint64(len(v.back.mem)))
			if err != nil {
				c.abandon(kept)
				return nil, err
			}
			b = nb
		default:
			nb, err := c.allocHost(uint64(len(v.back.mem)))
			if err != nil {
				c.abandon(kept)
				return nil, err
			}
			b = nb
		}
		copies[v.back] = b
		if b != v.back && b.frozen == nil {
			v.back.extents(v.off, v.Len(), func(lo, hi uint64) bool {
				copy(b.mem[lo:hi], v.back.mem[lo:hi])
				return true
			})
		}
		nv.back = b
		if err := c.cpuMapFrom(&nv, &s.vmas); err != nil {
			if b.refs.Load() == 0 && b != c.heap {
				b.free()
			}
			c.abandon(kept)
			return nil, err
		}
		b.refs.Add(1)
		c.vmas.insert(&nv)
	}
	if len(byOrigin) != 0 {
		// A kept mapping of another image: not this space's to take.
		c.abandon(kept)
		return nil, errors.New("mm: kept mappings are not the image's")
	}
	return c, nil
}

// abandon undoes a Start that failed: mappings it made are unmapped and freed, and kept
// ones too (their CPU must not run them again without an image that knows them).
func (c *Space) abandon(kept []*VMA) {
	isKept := map[*VMA]bool{}
	for _, k := range kept {
		isKept[k] = true
	}
	for x := c.vmas.first; x != nil; x = x.next {
		if v := x.v; !isKept[v] {
			c.cpuUnmap(v)
			c.release(v.back)
		}
	}
	c.vmas.reset()
	c.releaseKept(kept)
	c.Close()
}

// releaseKept unmaps and frees kept mappings that will not be used.
func (c *Space) releaseKept(kept []*VMA) {
	for _, k := range kept {
		c.cpuUnmap(k)
		c.release(k.back)
	}
}

// Retire ends a space started from an image whose CPU will start the image again: the
// mappings still laid out as the image's (same range and permissions, private) stay in
// the CPU and are returned, for Start to take. Those never writable nor written since
// the start are kept as they are, with the code translated from them; writable ones that
// are not executable (the stack, data) get the image's bytes back, which costs what the
// run touched rather than unmapping and mapping again (Unicorn's unmap flushes its TLB
// page by page). Every other mapping is unmapped from the CPU, its translated code
// dropped, and released as Close does.
func (s *Space) Retire() []*VMA {
	var kept []*VMA
	for x := s.vmas.first; x != nil; x = x.next {
		v := x.v
		o := v.origin
		same := o != nil && !v.Shared && v.Prot != 0 && v.Start == o.Start && v.End == o.End &&
			v.Prot == o.Prot && v.off == o.off
		switch {
		case same && v.Prot&emu.ProtWrite == 0 && !v.back.written.Load():
			kept = append(kept, v)
			continue
		case same && v.Prot&emu.ProtExec == 0 && v.back != s.heap &&
			len(v.back.mem) == len(o.back.mem):
			// Zero what the run touched, in place: giving the pages back to the host
			// would cost more (page frees, TLB shootdowns) than it saves.
			v.back.extents(v.off, v.Len(), func(lo, hi uint64) bool {
				clear(v.back.mem[lo:hi])
				return true
			})
			o.back.extents(o.off, o.Len(), func(lo, hi uint64) bool {
				copy(v.back.mem[lo:hi], o.back.mem[lo:hi])
				return true
			})
			kept = append(kept, v)
			continue
		}
		s.cpuUnmap(v)
		s.release(v.back)
	}
	s.vmas.reset()
	s.Close()
	return kept
}

// Adopt makes kept mappings (from Retire) the empty space's own, so that Close releases them.
func (s *Space) Adopt(kept []*VMA) {
	for _, k := range kept {
		s.vmas.insert(k)
	}
}
