package mm

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bits of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const (
	PMPresent   = 1 << 63
	PMSwapped   = 1 << 62
	PMFile      = 1 << 61 // a file's page, or shared anonymous memory's
	PMExclusive = 1 << 56 // mapped by this process alone
	PMSoftDirty = 1 << 55
	// pmKept are the bits a guest may see of the host's entry for vemu's page: never
	// the frame number nor the swap slot (bits 0-54), which describe the host.
	pmKept = PMPresent | PMSwapped | PMFile | PMExclusive | PMSoftDirty
)

// hostPagemap is vemu's own /proc/self/pagemap, or -1 without one. vemu may read frame
// numbers there (when it has CAP_SYS_ADMIN); Pagemap drops them.
var hostPagemap = sync.OnceValue(func() int {
	fd, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
})

// Pagemap fills out with the pagemap entries of the guest pages from vpn on, one page
// an entry, as Linux's pagemap_read() gives them to a reader without CAP_SYS_ADMIN: no
// frame numbers. The caller keeps the pages below TaskSize. A page is present when
// vemu's page tables map its host page (the CPU and the kernel reach guest memory
// through them, as Linux's page tables); the other bits are the host's for that page,
// but for private anonymous memory, which vemu keeps in a file of its own: never a
// file's page there, and the process's own (a fork copies it). Pages outside every
// mapping, past a shared file's end and of the kernel's own mappings are 0. The cost
// follows len(out): the host walks only the range asked, whatever the mappings' size.
func (s *Space) Pagemap(vpn uint64, out []uint64) {
	clear(out)
	if len(out) == 0 {
		return
	}
	start := Addr(vpn * PageSize)
	end := start + Addr(len(out))*PageSize
	raw := make([]byte, 8*min(len(out), pagemapBatch))
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		v := n.v
		if v.Bus || v.back == nil || v.back.mem == nil {
			continue
		}
		lo, hi := max(v.Start, start), min(v.End, end)
		host := v.host()[lo-v.Start : hi-v.Start]
		dst := out[(lo-start)/PageSize : (hi-start)/PageSize]
		for len(dst) > 0 {
			k := min(len(dst), pagemapBatch)
			hostEntries(host[:k*PageSize], raw[:8*k], dst[:k])
			for i := range dst[:k] {
				dst[i] = v.guestEntry(dst[i])
			}
			host, dst = host[k*PageSize:], dst[k:]
		}
	}
}

// pagemapBatch is how many pages one read of the host's pagemap asks about.
const pagemapBatch = 4096

// hostEntries reads the host's pagemap entries of mem's pages into out (raw is room
// for them), keeping only pmKept; without the host's pagemap, mincore says which pages
// the host holds.
func hostEntries(mem []byte, raw []byte, out []uint64) {
	base := uint64(uintptr(unsafe.Pointer(&mem[0])))
	if fd := hostPagemap(); fd >= 0 {
		n, err := unix.Pread(fd, raw, int64(base/PageSize*8))
		if err == nil && n == len(raw) {
			for i := range out {
				out[i] = binary.LittleEndian.Uint64(raw[8*i:]) & pmKept
			}
			return
		}
	}
	vec := raw[:len(out)]
	if mincore(mem, vec) != nil {
		clear(out)
		return
	}
	for i, c := range vec {
		out[i] = 0
		if c&1 != 0 {
			out[i] = PMPresent
		}
	}
}

// guestEntry turns the host's entry e for a page of v into the guest's.
func (v *VMA) guestEntry(e uint64) uint64 {
	if v.back.ar == nil || v.Shared {
		if hostPagemap() < 0 && e&PMPresent != 0 {
			e |= PMFile // the host cannot say: a file's page, or shared memory's
		}
		return e
	}
	// Private anonymous memory (and private copies of files) in the arena, which the
	// host counts as shared memory of vemu's.
	e &^= PMFile | PMExclusive
	if e&PMPresent != 0 {
		e |= PMExclusive
	}
	return e
}
