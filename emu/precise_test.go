package emu

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const dataAddr = 0x600000 // one read-write page; the page after it is unmapped

// mapData maps the data page and fills it with the longs 0, 1, 2...
func mapData(t *testing.T, e *Engine) []byte {
	t.Helper()
	mem, err := unix.Mmap(-1, 0, PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	for i := 0; i < PageSize/8; i++ {
		binary.LittleEndian.PutUint64(mem[8*i:], uint64(i))
	}
	require.NoError(t, e.MapHost(dataAddr, mem, ProtRead|ProtWrite))
	return mem
}

const flagsMask = 0x8d5 // carry, parity, adjust, zero, sign, overflow

func TestFaultAfterChainedBlocks(t *testing.T) {
	// start: xor ecx,ecx; xor eax,eax
	// loop:  call f; cmp rcx,rsi; jne loop; hlt
	// f:     add rcx,1; cmp rcx,1000; mov rdx,[rdi+rcx*8-8]; add rax,rdx; ret
	// The loop's blocks are chained to each other by the time f reads past the page:
	// Unicorn's own report would name the start of the chain, in the caller.
	code := []byte{
		0x31, 0xc9, 0x31, 0xc0,
		0xe8, 0x06, 0, 0, 0, 0x48, 0x39, 0xf1, 0x75, 0xf6, 0xf4,
		0x48, 0x83, 0xc1, 0x01, 0x48, 0x81, 0xf9, 0xe8, 0x03, 0, 0, 0x48, 0x8b, 0x54, 0xcf, 0xf8, 0x48, 0x01, 0xd0, 0xc3,
	}
	const load = codeAddr + 0x1a
	e, _ := newEngine(t, code)
	mapData(t, e)
	require.NoError(t, e.SetReg(RDI, dataAddr))
	require.NoError(t, e.SetReg(RSI, 600))
	for range 3 {
		ev := e.Run(codeAddr)
		require.Equal(t, Fault, ev.Kind, ev.String())
		assert.Equal(t, Read, ev.Access)
		assert.True(t, ev.Unmapped)
		assert.Equal(t, uint64(dataAddr+PageSize), ev.Addr)
		assert.Equal(t, uint64(load), ev.RIP, "the load itself")
		assert.Equal(t, uint64(load), e.Reg(RIP), "the engine stands at it")
		assert.Equal(t, uint64(513), e.Reg(RCX), "the add before the load ran")
		assert.Equal(t, uint64(511*512/2), e.Reg(RAX), "the add after the load did not")
		// cmp 513, 1000: carry, adjust and sign; the flags are kept lazily inside a block.
		assert.Equal(t, uint64(0x91), e.Reg(RFLAGS)&flagsMask, "flags of the cmp before the load")
	}
}

func TestFaultAddress(t *testing.T) {
	const unmapped = dataAddr + PageSize
	for _, tc := range []struct {
		name   string
		insn   []byte
		regs   map[Reg]uint64
		access Access
		addr   uint64
		check  func(t *testing.T, e *Engine)
	}{
		{name: "push", insn: []byte{0x50}, regs: map[Reg]uint64{RSP: unmapped + 8},
			access: Write, addr: unmapped},
		{name: "load-across-pages", insn: []byte{0x48, 0x8b, 0x07}, regs: map[Reg]uint64{RDI: unmapped - 4},
			access: Read, addr: unmapped},
		{name: "load-inside-page", insn: []byte{0x48, 0x8b, 0x07}, regs: map[Reg]uint64{RDI: unmapped + 100},
			access: Read, addr: unmapped + 100},
		{name: "movsq-load", insn: []byte{0x48, 0xa5}, regs: map[Reg]uint64{RSI: unmapped + 8, RDI: dataAddr},
			access: Read, addr: unmapped + 8},
		{name: "movsq-store", insn: []byte{0x48, 0xa5}, regs: map[Reg]uint64{RSI: dataAddr, RDI: codeAddr + 16},
			access: Write, addr: codeAddr + 16},
		{name: "rep-stosb", insn: []byte{0xf3, 0xaa}, regs: map[Reg]uint64{RDI: unmapped - 16, RCX: 100},
			access: Write, addr: unmapped, check: func(t *testing.T, e *Engine) {
				assert.Equal(t, uint64(84), e.Reg(RCX), "16 bytes stored")
				assert.Equal(t, uint64(unmapped), e.Reg(RDI))
			}},
		{name: "addr32", insn: []byte{0x67, 0x8b, 0x00}, regs: map[Reg]uint64{RAX: 0xffffffff00000000 | (unmapped + 0x10)},
			access: Read, addr: unmapped + 0x10},
		{name: "fs", insn: []byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0x08, 0, 0, 0}, regs: map[Reg]uint64{FSBase: unmapped},
			access: Read, addr: unmapped + 8},
		{name: "call-mem-load", insn: []byte{0xff, 0x17}, regs: map[Reg]uint64{RDI: unmapped + 0x20},
			access: Read, addr: unmapped + 0x20},
		{name: "call-mem-push", insn: []byte{0xff, 0x17}, regs: map[Reg]uint64{RDI: dataAddr, RSP: unmapped + 0x30},
			access: Write, addr: unmapped + 0x28},
		{name: "pop-mem-store", insn: []byte{0x8f, 0x07}, regs: map[Reg]uint64{RDI: codeAddr + 8},
			access: Write, addr: codeAddr + 8, check: func(t *testing.T, e *Engine) {
				assert.Equal(t, uint64(0x800000-8), e.Reg(RSP), "rsp not popped")
			}},
		{name: "xlat", insn: []byte{0xd7}, regs: map[Reg]uint64{RBX: unmapped - 1, RAX: 5},
			access: Read, addr: unmapped + 4},
		{name: "leave", insn: []byte{0xc9}, regs: map[Reg]uint64{RBP: unmapped + 0x40},
			access: Read, addr: unmapped + 0x40},
		{name: "ret", insn: []byte{0xc3}, regs: map[Reg]uint64{RSP: unmapped + 0x50},
			access: Read, addr: unmapped + 0x50},
		{name: "fxsave-across", insn: []byte{0x0f, 0xae, 0x07}, regs: map[Reg]uint64{RDI: unmapped - 0x10},
			access: Write, addr: unmapped},
		{name: "cmpsb", insn: []byte{0xa6}, regs: map[Reg]uint64{RSI: dataAddr, RDI: unmapped + 3},
			access: Read, addr: unmapped + 3},
		{name: "lodsq", insn: []byte{0x48, 0xad}, regs: map[Reg]uint64{RSI: unmapped + 0x18},
			access: Read, addr: unmapped + 0x18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// nop; nop; the instruction; hlt
			e, _ := newEngine(t, cat([]byte{0x90, 0x90}, tc.insn, hlt))
			mapData(t, e)
			require.NoError(t, e.SetReg(RSP, 0x800000-8))
			for r, v := range tc.regs {
				require.NoError(t, e.SetReg(r, v))
			}
			ev := e.Run(codeAddr)
			require.Equal(t, Fault, ev.Kind, ev.String())
			assert.Equal(t, uint64(codeAddr+2), ev.RIP)
			assert.Equal(t, tc.access, ev.Access)
			assert.Equal(t, fmt.Sprintf("%#x", tc.addr), fmt.Sprintf("%#x", ev.Addr))
			assert.Equal(t, tc.addr >= unmapped, ev.Unmapped)
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestFaultAfterPermissionChange(t *testing.T) {
	// mov byte [rdi], 1; hlt
	e, _ := newEngine(t, cat([]byte{0xc6, 0x07, 0x01}, hlt))
	mem := mapData(t, e)
	require.NoError(t, e.SetReg(RDI, dataAddr+8))
	require.Equal(t, Halt, e.Run(codeAddr).Kind)
	assert.Equal(t, byte(1), mem[8])
	// The page is now in the TLB as writable: taking the permission away must reach it.
	require.NoError(t, e.Unmap(dataAddr, PageSize))
	require.NoError(t, e.MapHost(dataAddr, mem, ProtRead))
	ev := e.Run(codeAddr)
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, Write, ev.Access)
	assert.False(t, ev.Unmapped)
	assert.Equal(t, uint64(dataAddr+8), ev.Addr)
	assert.Equal(t, uint64(codeAddr), ev.RIP)
	require.NoError(t, e.Unmap(dataAddr, PageSize))
	ev = e.Run(codeAddr)
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.True(t, ev.Unmapped)
	require.NoError(t, e.MapHost(dataAddr, mem, ProtRead|ProtWrite))
	assert.Equal(t, Halt, e.Run(codeAddr).Kind)
}

func TestUnmapNonExecutableThenRun(t *testing.T) {
	// Unicorn looks up the first page of an unmapped region as a fetch; that lookup must
	// not be refused (it would unwind into a run that is not running), and what it grants
	// must not outlive it.
	e, _ := newEngine(t, cat([]byte{0x48, 0x8b, 0x07}, hlt)) // mov rax,[rdi]; hlt
	mem := mapData(t, e)
	require.NoError(t, e.Unmap(dataAddr, PageSize))
	e.FlushCode(dataAddr, dataAddr+PageSize)
	require.NoError(t, e.MapHost(dataAddr, mem, ProtNone), "the engine still maps")
	require.NoError(t, e.SetReg(RDI, dataAddr+16))
	ev := e.Run(codeAddr)
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, Read, ev.Access)
	assert.Equal(t, uint64(dataAddr+16), ev.Addr)
	// A jump to an unmapped page: a fetch refused, not granted by the lookups above.
	e2, _ := newEngine(t, []byte{0xff, 0xe0}) // jmp rax
	mapData(t, e2)
	require.NoError(t, e2.Unmap(dataAddr, PageSize))
	e2.FlushCode(dataAddr, dataAddr+PageSize)
	require.NoError(t, e2.SetReg(RAX, dataAddr+32))
	ev = e2.Run(codeAddr)
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, Fetch, ev.Access)
	assert.True(t, ev.Unmapped)
	assert.Equal(t, uint64(dataAddr+32), ev.Addr)
	assert.Equal(t, uint64(dataAddr+32), ev.RIP)
}

func TestFetchAcrossPage(t *testing.T) {
	// The last bytes of the code page: mov eax,1; inc rax; then mov ebx,imm32 whose
	// immediate lies on the next, unmapped page. Linux runs the first two and faults at
	// the third with the first byte of the missing page.
	e, mem := newEngine(t, nil)
	at := PageSize - 10
	copy(mem[at:], []byte{0xb8, 1, 0, 0, 0, 0x48, 0xff, 0xc0, 0xbb, 0x78})
	ev := e.Run(codeAddr + uint64(at))
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, Fetch, ev.Access)
	assert.True(t, ev.Unmapped)
	assert.Equal(t, uint64(codeAddr+PageSize), ev.Addr)
	assert.Equal(t, uint64(codeAddr+PageSize-2), ev.RIP)
	assert.Equal(t, uint64(2), e.Reg(RAX), "the instructions before it ran")
	// The stop before the instruction does not stay in the translated code.
	copy(mem[at+8:], []byte{0x90, 0xf4}) // nop; hlt
	e.FlushCode(codeAddr, codeAddr+PageSize)
	ev = e.Run(codeAddr + uint64(at))
	assert.Equal(t, Halt, ev.Kind, ev.String())
}

func TestRanges(t *testing.T) {
	e, err := New()
	require.NoError(t, err)
	defer e.Close()
	type r struct {
		b, e uint64
		p    Prot
	}
	get := func() []r {
		var out []r
		e.entries(0, ^uint64(0), func(b, end uint64, p Prot) bool {
			out = append(out, r{b, end, p})
			return true
		})
		return out
	}
	e.setPerms(0x5000, 0x9000, ProtRead, true)
	e.setPerms(0x1000, 0x2000, ProtWrite, true)
	e.setPerms(0x20000, 0x30000, ProtExec, true)
	assert.Equal(t, []r{{0x1000, 0x2000, ProtWrite}, {0x5000, 0x9000, ProtRead}, {0x20000, 0x30000, ProtExec}}, get())
	e.setPerms(0x6000, 0x7000, 0, false) // splits
	assert.Equal(t, []r{{0x1000, 0x2000, ProtWrite}, {0x5000, 0x6000, ProtRead}, {0x7000, 0x9000, ProtRead}, {0x20000, 0x30000, ProtExec}}, get())
	e.setPerms(0x1000, 0x5800, 0, false) // one whole, the start of the next
	assert.Equal(t, []r{{0x5800, 0x6000, ProtRead}, {0x7000, 0x9000, ProtRead}, {0x20000, 0x30000, ProtExec}}, get())
	e.setPerms(0x6000, 0x7000, ProtRead, true) // fills the hole: one entry again
	assert.Equal(t, []r{{0x5800, 0x9000, ProtRead}, {0x20000, 0x30000, ProtExec}}, get())
	e.setPerms(0x7000, 0x8000, ProtWrite, true) // inside one entry
	assert.Equal(t, []r{{0x5800, 0x7000, ProtRead}, {0x7000, 0x8000, ProtWrite}, {0x8000, 0x9000, ProtRead}, {0x20000, 0x30000, ProtExec}}, get())
	e.setPerms(0x6000, 0x21000, ProtNone, true) // across several, kept without access
	assert.Equal(t, []r{{0x5800, 0x6000, ProtRead}, {0x6000, 0x21000, ProtNone}, {0x21000, 0x30000, ProtExec}}, get())
	assert.True(t, e.mapped(0x7000))
	e.setPerms(0, 1<<40, 0, false)
	assert.Empty(t, get())
	for i := range 100 {
		e.setPerms(uint64(i)*0x2000, uint64(i)*0x2000+0x1000, ProtRead, true)
	}
	assert.Len(t, get(), 100)
	for i := range 100 { // alternate permissions: every other page joins nothing
		e.setPerms(uint64(i)*0x2000+0x1000, uint64(i)*0x2000+0x2000, ProtWrite, true)
	}
	assert.Len(t, get(), 200)
	for i := range 100 {
		e.setPerms(uint64(i)*0x2000+0x1000, uint64(i)*0x2000+0x2000, ProtRead, true)
	}
	assert.Equal(t, []r{{0, 200 * 0x1000, ProtRead}}, get())
	e.setPerms(0, 1<<40, 0, false)
	for i := range 100 {
		e.setPerms(uint64(i)*0x2000, uint64(i)*0x2000+0x1000, ProtRead, true)
	}
	assert.True(t, e.mapped(0x2000*50))
	assert.False(t, e.mapped(0x2000*50+0x1000))
}

// BenchmarkPages reads one long from each of many pages, round after round: the TLB
// fills the hook answers, as memory-heavy guests make them.
func BenchmarkPages(b *testing.B) {
	const pages = 4096
	// loop: mov rdx,[rdi+rcx]; add rcx,4096; and rcx,rsi; dec rbx; jnz loop; hlt
	code := []byte{0x48, 0x8b, 0x14, 0x0f, 0x48, 0x81, 0xc1, 0x00, 0x10, 0, 0, 0x48, 0x21, 0xf1, 0x48, 0xff, 0xcb, 0x75, 0xed, 0xf4}
	e, _ := newEngine(b, code)
	mem, err := unix.Mmap(-1, 0, pages*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(b, err)
	defer unix.Munmap(mem)
	const base = 0x10000000
	require.NoError(b, e.MapHost(base, mem, ProtRead|ProtWrite))
	e.SetReg(RDI, base)
	e.SetReg(RSI, pages*PageSize-1)
	e.SetReg(RBX, uint64(b.N))
	b.ResetTimer()
	if ev := e.Run(codeAddr); ev.Kind != Halt {
		b.Fatal(ev)
	}
}

// BenchmarkFault is one run that ends in a data fault inside a chain of blocks, the
// cost a fault pays on top of a run (compare BenchmarkHaltRun).
func BenchmarkFault(b *testing.B) {
	// loop: add rcx,8; mov rax,[rdi+rcx]; jmp loop
	e, _ := newEngine(b, []byte{0x48, 0x83, 0xc1, 0x08, 0x48, 0x8b, 0x04, 0x0f, 0xeb, 0xf6})
	mem, err := unix.Mmap(-1, 0, PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(b, err)
	defer unix.Munmap(mem)
	require.NoError(b, e.MapHost(dataAddr, mem, ProtRead|ProtWrite))
	e.SetReg(RDI, dataAddr)
	for b.Loop() {
		e.SetReg(RCX, PageSize-64)
		if ev := e.Run(codeAddr); ev.Kind != Fault || ev.RIP != codeAddr+4 {
			b.Fatal(ev)
		}
	}
}

// BenchmarkHaltRun is a run of a few blocks that ends at hlt.
func BenchmarkHaltRun(b *testing.B) {
	// loop: add rcx,8; cmp rcx,rsi; jne loop; hlt
	e, _ := newEngine(b, []byte{0x48, 0x83, 0xc1, 0x08, 0x48, 0x39, 0xf1, 0x75, 0xf7, 0xf4})
	e.SetReg(RSI, PageSize)
	for b.Loop() {
		e.SetReg(RCX, PageSize-64)
		if ev := e.Run(codeAddr); ev.Kind != Halt {
			b.Fatal(ev)
		}
	}
}

// TestStoresWhileTheTLBGrows stores across page boundaries over 16 MiB, round after
// round, so that the fill hook empties the TLB many times in the middle of stores that
// span two pages; every store must land, and a fault after it must still be exact.
func TestStoresWhileTheTLBGrows(t *testing.T) {
	const pages, rounds = 4096, 40
	// outer: xor ecx,ecx
	// inner: mov rax,rcx; shl rax,12; mov rdx,rcx; xor rdx,rbx; mov [rdi+rax+0xffc],rdx
	//        inc rcx; cmp rcx,rsi; jne inner; dec rbx; jnz outer
	//        mov [r8],rdx; hlt
	code := []byte{
		0x31, 0xc9,
		0x48, 0x89, 0xc8, 0x48, 0xc1, 0xe0, 0x0c, 0x48, 0x89, 0xca, 0x48, 0x31, 0xda,
		0x48, 0x89, 0x94, 0x07, 0xfc, 0x0f, 0x00, 0x00,
		0x48, 0xff, 0xc1, 0x48, 0x39, 0xf1, 0x75, 0xe3, 0x48, 0xff, 0xcb, 0x75, 0xdc,
		0x49, 0x89, 0x10, 0xf4,
	}
	const store = codeAddr + 0x24
	e, _ := newEngine(t, code)
	mem, err := unix.Mmap(-1, 0, (pages+1)*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	const base = 0x10000000
	require.NoError(t, e.MapHost(base, mem, ProtRead|ProtWrite))
	unmapped := uint64(base + (pages+1)*PageSize)
	require.NoError(t, e.SetReg(RDI, base))
	require.NoError(t, e.SetReg(RSI, pages))
	require.NoError(t, e.SetReg(RBX, rounds))
	require.NoError(t, e.SetReg(R8, unmapped))
	ev := e.Run(codeAddr)
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, Write, ev.Access)
	assert.Equal(t, unmapped, ev.Addr)
	assert.Equal(t, uint64(store), ev.RIP)
	assert.Equal(t, uint64((pages-1)^1), e.Reg(RDX))
	for i := range pages {
		got := binary.LittleEndian.Uint64(mem[i*PageSize+PageSize-4:])
		if got != uint64(i^1) {
			t.Fatalf("page %d: %#x, want %#x", i, got, i^1)
		}
	}
}
