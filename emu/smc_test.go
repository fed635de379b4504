package emu

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestPageSetAgainstMap adds and deletes pages at random, many of them in one run of
// slots, and compares the set with a map after each step; then fills it to its bound.
func TestPageSetAgainstMap(t *testing.T) {
	s := newPageSet()
	defer s.free()
	rng := rand.New(rand.NewPCG(7, 8))
	model := map[uint64]bool{}
	for step := range 200000 {
		// Few distinct pages, so that runs form and deletions move entries back.
		page := uint64(rng.IntN(3000)) << 12
		if rng.IntN(5) < 3 {
			require.True(t, s.add(page))
			model[page] = true
		} else {
			s.del(page)
			delete(model, page)
		}
		require.Equal(t, len(model), s.len(), "step %d", step)
		if step%1000 == 0 {
			for p := uint64(0); p < 3000; p++ {
				require.Equal(t, model[p<<12], s.has(p<<12), "step %d page %d", step, p)
			}
		}
	}
	for p := uint64(0); s.len() < maxXPages; p++ {
		require.True(t, s.add(p<<12|0xfff)) // any address within the page
	}
	require.False(t, s.add(1<<40), "a full set refuses")
	require.True(t, s.has(5<<12))
}

// TestRewrittenCode runs a driver that calls a function on each of seven writable and
// executable pages, then stores beside the first function and rewrites its immediate
// with another store, and calls it again: with the set of code pages of its usual size, and bounded to two pages, when
// every new page empties it and drops all translated code.
func TestRewrittenCode(t *testing.T) {
	driver := []byte{
		0x31, 0xdb, // xor ebx, ebx
		0x48, 0xc7, 0xc6, 0x00, 0x10, 0x40, 0x00, // mov rsi, 0x401000
		0xb9, 0x07, 0x00, 0x00, 0x00, // mov ecx, 7
		0xff, 0xd6, // loop: call rsi
		0x01, 0xc3, // add ebx, eax
		0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, // add rsi, 0x1000
		0xff, 0xc9, // dec ecx
		0x75, 0xf1, // jnz loop
		0xc6, 0x04, 0x25, 0x00, 0x18, 0x40, 0x00, 0x00, // mov byte [0x401800], 0: data beside the code
		0xc7, 0x04, 0x25, 0x01, 0x10, 0x40, 0x00, 0x64, 0x00, 0x00, 0x00, // mov dword [0x401001], 100
		0xb8, 0x00, 0x10, 0x40, 0x00, // mov eax, 0x401000
		0xff, 0xd0, // call rax
		0x01, 0xc3, // add ebx, eax
		0xf4, // hlt
	}
	for _, bound := range []uint64{0, 2} {
		e, err := New()
		require.NoError(t, err)
		mem, err := unix.Mmap(-1, 0, 9*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		require.NoError(t, err)
		copy(mem, driver)
		for k := 1; k <= 7; k++ {
			copy(mem[k*PageSize:], []byte{0xb8, byte(k), 0, 0, 0, 0xc3}) // mov eax, k; ret
		}
		require.NoError(t, e.MapHost(codeAddr, mem[:8*PageSize], ProtRead|ProtWrite|ProtExec))
		require.NoError(t, e.MapHost(0x7ff000, mem[8*PageSize:], ProtRead|ProtWrite))
		require.NoError(t, e.SetReg(RSP, 0x800000))
		e.boundCodePages(bound)
		// The first run translates everything; the second finds the code kept.
		for run := range 2 {
			if run == 1 {
				copy(mem[PageSize+1:], []byte{1, 0, 0, 0})
				e.FlushCode(codeAddr+PageSize, codeAddr+2*PageSize)
			}
			ev := e.Run(codeAddr)
			require.Equal(t, Halt, ev.Kind, "bound %d run %d: %v", bound, run, ev)
			assert.Equal(t, uint64(128), e.Reg(RBX), "bound %d run %d", bound, run)
		}
		pages, all := e.TakeCodeDrops()
		if bound == 0 {
			assert.NotZero(t, pages, "the store dropped the page's code")
			assert.Zero(t, all)
		} else {
			assert.NotZero(t, all, "new pages emptied the set")
		}
		e.Close()
		unix.Munmap(mem)
	}
}
