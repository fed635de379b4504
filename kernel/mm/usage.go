package mm

import (
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/emu"
)

// Usage is what /proc's status, stat and statm say of a space's memory, in bytes, with
// Linux's names in mind (fs/proc/task_mmu.c).
type Usage struct {
	// Size is every mapping but the vsyscall page, which Linux keeps outside the
	// process's mappings (total_vm); Peak is the most Size has been (hiwater_vm).
	Size, Peak uint64
	// Anon, File and Shmem are the pages the host holds for the mappings, by kind
	// (MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES): private memory's pages that were
	// touched, shared memory's (shared anonymous, System V, a memfd, tmpfs) and files' pages the
	// host has in memory. A private file mapping counts as file pages, written or not.
	Anon, File, Shmem uint64
	// Data, Stack and Exec are Linux's data_vm, stack_vm and exec_vm: private writable
	// mappings that are not the stack, the stack, and executable mappings that are not
	// writable.
	Data, Stack, Exec uint64
	Locked            uint64
	// PageTables is an estimate of what Linux's page tables for the held pages would
	// take (VmPTE): a page for each 2 MiB and for each 1 GiB of address space that a
	// mapping holding pages spans.
	PageTables uint64
}

// RSS is the resident set: the pages of every kind.
func (u Usage) RSS() uint64 { return u.Anon + u.File + u.Shmem }

// Usage adds the space's mappings up. It walks every mapping and asks the host which of
// its pages vemu's page tables map (PAGEMAP_SCAN), as Linux's smaps walks the process's:
// the CPU reaches guest memory through vemu's mappings, so a page the guest touched is
// mapped there, and a walk skips what was never touched a page table at a time. (Linux
// keeps counts for status, which vemu cannot: the CPU writes guest memory without it.)
// Without PAGEMAP_SCAN (Linux before 6.7), the host's pages are asked of mincore, a byte
// a page, which also counts a file's pages that others brought into memory.
func (s *Space) Usage() Usage {
	u := Usage{Size: s.vmas.size, Peak: s.vmas.peak, Locked: s.locked}
	pte, pmd := blocks{size: 2 << 20}, blocks{size: 1 << 30}
	vec := make([]byte, residentBatch)
	for x := s.vmas.first; x != nil; x = x.next {
		v := x.v
		n := v.Len()
		if v.Name == "[vsyscall]" {
			u.Size -= n
			u.Peak -= n
			continue
		}
		stack := v.Name == "[stack]"
		switch {
		case stack:
			u.Stack += n
		case v.Prot&emu.ProtWrite != 0 && !v.Shared:
			u.Data += n
		case v.Prot&(emu.ProtExec|emu.ProtWrite) == emu.ProtExec:
			u.Exec += n
		}
		anon, file, shmem := v.held(vec)
		if anon+file+shmem > 0 {
			u.PageTables += (pte.add(v) + pmd.add(v)) * PageSize
		}
		u.Anon += anon
		u.File += file
		u.Shmem += shmem
	}
	return u
}

// held is what the host holds of v's pages, by kind: anonymous memory (the arena's
// private memory, and a private file mapping's pages copied on write), a file's pages,
// and shared memory's.
func (v *VMA) held(vec []byte) (anon, file, shmem uint64) {
	if v.Bus || v.Name == "[vvar]" || v.back == nil || v.back.mem == nil {
		// Past a shared file's end nothing is ever mapped; vvar is the kernel's data,
		// which Linux does not count either.
		return 0, 0, 0
	}
	n := v.Len()
	held, ofFile, ok := mapped(v.host())
	switch {
	case ok:
	case v.back.ar != nil:
		held = v.back.resident(v.off, n, vec)
	default:
		residentRuns(v.host(), func(lo, hi uint64) bool {
			held += hi - lo
			return true
		})
		ofFile = held
	}
	switch {
	case v.back.ar != nil && v.Shared:
		return 0, 0, held
	case v.back.ar != nil:
		return held, 0, 0 // the arena's pages are the host's shared memory: all anonymous here
	case v.Shared && v.back.shmem:
		return 0, 0, held
	case v.Shared:
		return 0, held, 0
	}
	return held - ofFile, ofFile, 0
}

// blocks counts the aligned blocks of one size that mappings, taken in address order,
// touch, each once.
type blocks struct {
	size uint64
	next uint64 // the first block not counted yet
}

// add counts the blocks v touches that were not counted, and returns how many.
func (b *blocks) add(v *VMA) uint64 {
	lo := max(uint64(v.Start)/b.size, b.next)
	hi := (uint64(v.End) + b.size - 1) / b.size
	if hi <= lo {
		return 0
	}
	b.next = hi
	return hi - lo
}

// residentBatch is how many pages one mincore call asks about.
const residentBatch = 4096

// resident counts the bytes of b's [off, off+n) that the host holds, b being in an
// arena: mincore's answer a batch of pages at a time (a byte a page), and past a batch
// that holds none, from where the file next holds data (SEEK_DATA), so that a vast
// reservation costs nothing. Runs of data found with SEEK_DATA and SEEK_HOLE would cost
// two calls a run, but the host walks every page of a run to find its end, more slowly
// than mincore answers for it (35 against 1.6 ms a read for 1 GiB of touched memory).
func (b *backing) resident(off, n uint64, vec []byte) uint64 {
	var held uint64
	end := b.aoff + off + n
	for at := b.aoff + off; at < end; {
		if end-at > residentBatch*PageSize {
			d, err := unix.Seek(b.ar.fd, int64(at), unix.SEEK_DATA)
			if err != nil || uint64(d) >= end {
				break
			}
			at = uint64(d) &^ (PageSize - 1)
		}
		for at < end {
			pages := min((end-at)/PageSize, residentBatch)
			m := at - b.aoff
			if mincore(b.mem[m:m+pages*PageSize], vec[:pages]) != nil {
				return held
			}
			found := uint64(0)
			for _, c := range vec[:pages] {
				found += uint64(c & 1)
			}
			held += found * PageSize
			at += pages * PageSize
			if found == 0 {
				break // perhaps a vast hole: look for the next data
			}
		}
	}
	return held
}

// The host's PAGEMAP_SCAN request (Linux 6.7): _IOWR('f', 16, struct pm_scan_arg), and
// its categories of pages that page tables map and of a file's pages.
const (
	pagemapScan   = 0xc0606610
	pageIsFile    = 1 << 2
	pageIsPresent = 1 << 3
)

// pmScanArg is struct pm_scan_arg.
type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages       uint64
	categoryInverted, categoryMask, categoryAnyofMask, returnMask uint64
}

// pagemap is vemu's own /proc/self/pagemap (hostPagemap) when the host answers
// PAGEMAP_SCAN on it; -1 without it.
var pagemap = sync.OnceValue(func() int {
	fd := hostPagemap()
	if fd < 0 {
		return -1
	}
	var region [3]uint64
	if _, err := scan(fd, 0, PageSize, &region, 1); err != nil {
		return -1 // a kernel without PAGEMAP_SCAN
	}
	return fd
})

// scan asks for the regions of [start, end) that vemu's page tables map, at most n of them
// into vec, and returns where the walk stopped.
func scan(fd int, start, end uint64, vec *[3]uint64, n int) (pmScanArg, error) {
	arg := pmScanArg{size: uint64(unsafe.Sizeof(pmScanArg{})), start: start, end: end,
		vec: uint64(uintptr(unsafe.Pointer(vec))), vecLen: uint64(n),
		categoryMask: pageIsPresent, returnMask: pageIsPresent | pageIsFile}
	// SAFETY: arg and the n regions at vec live across the call, which writes only them.
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), pagemapScan, uintptr(unsafe.Pointer(&arg)))
	runtime.KeepAlive(vec)
	if e != 0 {
		return arg, e
	}
	arg.vecLen = uint64(r) // the regions filled
	return arg, nil
}

// mapped counts the bytes of mem that vemu's page tables map, and of those the pages of a
// file (not copied on write), or says it cannot.
func mapped(mem []byte) (n, file uint64, ok bool) {
	fd := pagemap()
	if fd < 0 || len(mem) == 0 {
		return 0, 0, fd >= 0
	}
	var regions [64][3]uint64 // start, end, categories
	start := uint64(uintptr(unsafe.Pointer(&mem[0])))
	end := start + uint64(len(mem))
	for start < end {
		arg, err := scan(fd, start, end, &regions[0], len(regions))
		if err != nil {
			return 0, 0, false
		}
		for _, r := range regions[:arg.vecLen] {
			n += r[1] - r[0]
			if r[2]&pageIsFile != 0 {
				file += r[1] - r[0]
			}
		}
		if arg.walkEnd <= start {
			break
		}
		start = arg.walkEnd
	}
	return n, file, true
}
