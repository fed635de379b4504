package kernel

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"vemu/emu"
	"vemu/kernel/mm"
	vdsoimage "vemu/vdso_image"
)

// vdsoMapping is where a process's vDSO and vvar pages are.
type vdsoMapping struct {
	base    uint64 // AT_SYSINFO_EHDR; 0 when there is none
	vvar    []byte // the host memory of the first vvar page (Layout: see vdsoimage.Data)
	img     *vdsoimage.Image
	counter map[uint64]bool   // addresses of the code's counter reads
	entries map[uint64]string // function entry addresses, when counting calls
}

var (
	vdsoOnce  sync.Once
	vdsoImage *vdsoimage.Image
	vdsoErr   error
)

// theVDSO builds the image once per vemu process: it is the same for every guest.
func theVDSO() (*vdsoimage.Image, error) {
	vdsoOnce.Do(func() { vdsoImage, vdsoErr = vdsoimage.Build(vdsoimage.Options{}) })
	return vdsoImage, vdsoErr
}

// mapVDSO maps the vvar pages, read-only, and right above them the vDSO, in the mmap
// area (whose base is random, so the vDSO's address is too), and publishes the time.
func (k *Kernel) mapVDSO(p *Process) error {
	img, err := theVDSO()
	if err != nil {
		return fmt.Errorf("build vDSO: %w", err)
	}
	vvarSize := uint64(vdsoimage.VVarSize)
	size := vvarSize + uint64(len(img.Bytes))
	start, err := p.mm.FindFree(size, p.mm.MmapBase)
	if err != nil {
		return fmt.Errorf("place vDSO: %w", err)
	}
	vv, err := p.mm.Map(start, vvarSize, emu.ProtRead, "[vvar]")
	if err != nil {
		return fmt.Errorf("map vvar: %w", err)
	}
	base := start + mm.Addr(vvarSize)
	code, err := p.mm.Map(base, uint64(len(img.Bytes)), emu.ProtRead|emu.ProtExec, "[vdso]")
	if err != nil {
		return fmt.Errorf("map vDSO: %w", err)
	}
	copy(code.Host(), img.Bytes)
	p.vdso = vdsoMapping{base: uint64(base), vvar: vv.Host()[:vdsoimage.PageSize], img: img}
	p.watchVDSO()

	if k.cfg.Clock == ClockVirtual {
		// The code's counter reads return the virtual clock: installHooks hooks exactly
		// those addresses.
		p.vdso.counter = map[uint64]bool{}
		for _, off := range img.CounterReads {
			p.vdso.counter[uint64(base)+off] = true
		}
	}
	if k.stats.vdsoCalls != nil {
		p.vdso.entries = map[uint64]string{}
		for _, s := range img.Symbols {
			if strings.HasPrefix(s.Name, "__vdso_") {
				p.vdso.entries[uint64(base)+s.Value] = strings.TrimPrefix(s.Name, "__vdso_")
			}
		}
	}
	return nil
}

// watchVDSO makes p's address space report when the guest unmaps its vvar or vDSO pages
// (munmap, or mmap or mremap over them), which Linux allows.
func (p *Process) watchVDSO() {
	p.mm.OnUnmap = func(start, end mm.Addr) { p.vdsoUnmapping(uint64(start), uint64(end)) }
}

// vdsoUnmapping forgets the vvar page or the vDSO when [start, end) covers them, before
// their memory goes: the timekeeper stops writing the page (the system calls keep the
// time), and the vDSO's hooked addresses no longer act on whatever is mapped there next.
func (p *Process) vdsoUnmapping(start, end uint64) {
	v := &p.vdso
	if v.base == 0 {
		return
	}
	vvar := v.base - vdsoimage.VVarSize
	if v.vvar != nil && start < vvar+vdsoimage.PageSize && vvar < end {
		p.k.clock.dropVVar(p)
	}
	if start < v.base+uint64(len(v.img.Bytes)) && v.base < end {
		v.counter, v.entries = nil, nil
	}
}

// vdsoCounters makes the vDSO call counters, one per function, before any process runs
// (processes then only add to them, from their own goroutines).
func vdsoCounters() map[string]*atomic.Uint64 {
	m := map[string]*atomic.Uint64{}
	if img, err := theVDSO(); err == nil {
		for _, s := range img.Symbols {
			if strings.HasPrefix(s.Name, "__vdso_") {
				m[strings.TrimPrefix(s.Name, "__vdso_")] = new(atomic.Uint64)
			}
		}
	}
	return m
}

// onCode runs at the vDSO addresses hooked by mapVDSO.
func (t *Task) onCode(addr uint64) {
	v := &t.p.vdso
	if name, ok := v.entries[addr]; ok {
		t.p.k.stats.vdsoCalls[name].Add(1)
	}
	if v.counter[addr] {
		// Emulate rdtsc (0f 31): edx:eax = the virtual counter; continue after it.
		c := t.p.k.clock.virtualCounter()
		t.cpu.SetRegs([]emu.Reg{emu.RAX, emu.RDX, emu.RIP}, []uint64{c & 0xffffffff, c >> 32, addr + 2})
	}
}
