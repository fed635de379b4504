package kernel

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"vemu/emu"
)

// Coverage is the guest code a run covered, with Config.Coverage: AFL-style edge
// counters, and the blocks run in each file the processes mapped (Blocks).
type Coverage struct {
	// Edges has emu.CoverSize counters (saturating at 255), indexed by a hash of two
	// consecutive blocks' addresses, as AFL's QEMU mode counts them; the processes' maps
	// added together.
	Edges   []byte
	Modules []CoverModule

	procs  []coverProc
	once   sync.Once
	blocks []CoverBlock
}

// CoverModule is a file mapped into a guest process, where its blocks are counted.
type CoverModule struct {
	Path      string
	Base, End uint64 // the lowest and highest address of its mappings
}

// CoverBlock is a basic block run: its start as an offset in its module, and its size.
type CoverBlock struct {
	Module int
	Offset uint32
	Size   uint16
}

// coverProc is what one process covered, as its CPU left it: the blocks (address, size)
// and the modules its files were, by index in Coverage.Modules.
type coverProc struct {
	blocks  []uint64 // address, size, address, size...
	modules []int
}

// coverage collects what ended processes covered.
type coverage struct {
	mu      sync.Mutex
	edges   []byte
	modules []CoverModule
	procs   []coverProc
}

// collectCoverage adds what p's CPU covered to the kernel's records, before the CPU goes.
// It only copies: sorting blocks into modules waits for someone to ask (Blocks).
func (p *Process) collectCoverage() {
	if !p.k.cfg.Coverage || p.cpu == nil || p.mm == nil {
		return
	}
	edges := p.cpu.CoverMap()
	var raw []uint64
	p.cpu.CoveredBlocks(func(addr uint64, size uint32) { raw = append(raw, addr, uint64(size)) })
	// The modules: every file mapped, from its lowest to its highest address.
	var files []CoverModule
	for v := range p.mm.VMAs() {
		if !strings.HasPrefix(v.Name, "/") {
			continue
		}
		i := slices.IndexFunc(files, func(m CoverModule) bool { return m.Path == v.Name })
		if i < 0 {
			files = append(files, CoverModule{Path: v.Name, Base: uint64(v.Start), End: uint64(v.End)})
			continue
		}
		files[i].Base = min(files[i].Base, uint64(v.Start))
		files[i].End = max(files[i].End, uint64(v.End))
	}
	c := &p.k.cover
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.edges == nil {
		c.edges = edges
	} else {
		for i, n := range edges {
			c.edges[i] = byte(min(int(c.edges[i])+int(n), 255))
		}
	}
	proc := coverProc{blocks: raw}
	for _, f := range files {
		id := slices.Index(c.modules, f)
		if id < 0 {
			id = len(c.modules)
			c.modules = append(c.modules, f)
		}
		proc.modules = append(proc.modules, id)
	}
	c.procs = append(c.procs, proc)
}

// Coverage returns what the processes that have ended covered, or nil without
// Config.Coverage.
func (k *Kernel) Coverage() *Coverage {
	if !k.cfg.Coverage {
		return nil
	}
	c := &k.cover
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &Coverage{Edges: slices.Clone(c.edges), Modules: slices.Clone(c.modules), procs: slices.Clone(c.procs)}
	if out.Edges == nil {
		out.Edges = make([]byte, emu.CoverSize)
	}
	return out
}

// Blocks returns the blocks run in the modules, each once, sorted by module and offset.
// Blocks outside every module (the vDSO, code the guest generated) are left out.
func (c *Coverage) Blocks() []CoverBlock {
	c.once.Do(func() {
		seen := map[CoverBlock]bool{}
		for _, p := range c.procs {
			for i := 0; i+1 < len(p.blocks); i += 2 {
				addr, size := p.blocks[i], p.blocks[i+1]
				for _, id := range p.modules {
					m := c.Modules[id]
					if addr >= m.Base && addr < m.End && addr-m.Base <= 1<<32-1 {
						seen[CoverBlock{Module: id, Offset: uint32(addr - m.Base), Size: uint16(min(size, 1<<16-1))}] = true
						break
					}
				}
			}
		}
		for b := range seen {
			c.blocks = append(c.blocks, b)
		}
		slices.SortFunc(c.blocks, func(a, b CoverBlock) int {
			if a.Module != b.Module {
				return a.Module - b.Module
			}
			return int(a.Offset) - int(b.Offset)
		})
	})
	return c.blocks
}

// WriteDrcov writes the covered blocks in DynamoRIO's drcov format, version 2, which
// coverage tools (Lighthouse, bncov...) read: a text header and module table, then the
// blocks as binary records of a 32-bit offset from the module's base, a 16-bit size and
// a 16-bit module id, little-endian.
func (c *Coverage) WriteDrcov(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\n")
	fmt.Fprintf(bw, "Module Table: version 2, count %d\n", len(c.Modules))
	fmt.Fprintf(bw, "Columns: id, base, end, entry, checksum, timestamp, path\n")
	for i, m := range c.Modules {
		fmt.Fprintf(bw, "%2d, %#016x, %#016x, %#016x, %#08x, %#08x, %s\n", i, m.Base, m.End, 0, 0, 0, m.Path)
	}
	blocks := c.Blocks()
	fmt.Fprintf(bw, "BB Table: %d bbs\n", len(blocks))
	var rec [8]byte
	for _, b := range blocks {
		binary.LittleEndian.PutUint32(rec[0:], b.Offset)
		binary.LittleEndian.PutUint16(rec[4:], b.Size)
		binary.LittleEndian.PutUint16(rec[6:], uint16(b.Module))
		bw.Write(rec[:])
	}
	return bw.Flush()
}
