package emu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestTableAgainstModel changes the permission table at random and compares it, after
// each change, with a page-by-page model: the same ranges, joined where alike, and a
// tree that keeps its rules.
func TestTableAgainstModel(t *testing.T) {
	e, err := New()
	require.NoError(t, err)
	defer e.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	const pages = 2000
	model := make([]Prot, pages) // noEntry: no entry
	for i := range model {
		model[i] = noEntry
	}
	type r struct {
		b, e uint64
		p    Prot
	}
	for step := range 6000 {
		lo := rng.IntN(pages)
		hi := min(pages, lo+1+rng.IntN([]int{3, 40, 400}[rng.IntN(3)]))
		keep := rng.IntN(4) != 0
		prot := Prot(rng.IntN(8))
		e.setPerms(uint64(lo)*PageSize, uint64(hi)*PageSize, prot, keep)
		for i := lo; i < hi; i++ {
			model[i] = noEntry
			if keep {
				model[i] = prot
			}
		}
		if step%10 != 0 {
			continue
		}
		var want, got []r
		for i := 0; i < pages; i++ {
			if model[i] == noEntry {
				continue
			}
			if n := len(want); n > 0 && want[n-1].e == uint64(i)*PageSize && want[n-1].p == model[i] {
				want[n-1].e += PageSize
			} else {
				want = append(want, r{uint64(i) * PageSize, uint64(i+1) * PageSize, model[i]})
			}
		}
		e.entries(0, math.MaxUint64, func(b, end uint64, p Prot) bool {
			got = append(got, r{b, end, p})
			return true
		})
		require.Equal(t, want, got, "step %d", step)
		ok, _ := e.tableShape()
		require.True(t, ok, "step %d", step)
		for range 20 {
			a := uint64(rng.IntN(pages)) * PageSize
			want := model[a/PageSize]
			require.Equal(t, want, e.permsAt(a+123), "step %d: %#x", step, a)
			lo, hi, ok := e.entrySpan(a, a+64*PageSize)
			var wlo, whi uint64
			for i := a / PageSize; i < min(pages, a/PageSize+64); i++ {
				if model[i] != noEntry {
					if whi == 0 {
						wlo = i * PageSize
					}
					whi = (i + 1) * PageSize
				}
			}
			require.Equal(t, whi != 0, ok, "step %d: span of %#x", step, a)
			if ok {
				require.Equal(t, [2]uint64{wlo, whi}, [2]uint64{lo, hi}, "step %d: span of %#x", step, a)
			}
		}
	}
}

// Tens of thousands of entries made at descending addresses or in random order keep the
// tree a few levels deep: each change and each lookup of the fill hook reads one path.
func TestTableStaysShallow(t *testing.T) {
	e, err := New()
	require.NoError(t, err)
	defer e.Close()
	const n = 32000
	bound := func(entries int) int { // every node but the root at least half full
		return 1 + int(math.Ceil(math.Log(float64(entries))/math.Log(8)))
	}
	e.setPerms(0, 2*n*PageSize, ProtRead|ProtWrite, true)
	for i := n - 1; i >= 0; i-- {
		e.setPerms(uint64(2*i)*PageSize, uint64(2*i+1)*PageSize, ProtRead, true)
	}
	ok, h := e.tableShape()
	require.True(t, ok)
	require.LessOrEqual(t, h, bound(2*n))
	require.Equal(t, ProtRead, e.permsAt(40*PageSize))
	require.Equal(t, ProtRead|ProtWrite, e.permsAt(41*PageSize))
	for _, i := range rand.New(rand.NewPCG(7, 8)).Perm(n) {
		e.setPerms(uint64(2*i)*PageSize, uint64(2*i+1)*PageSize, 0, false)
	}
	ok, h = e.tableShape()
	require.True(t, ok)
	require.LessOrEqual(t, h, bound(n))
	e.setPerms(0, 2*n*PageSize, 0, false)
	ok, h = e.tableShape()
	require.True(t, ok)
	require.Zero(t, h)
}

func BenchmarkTableDescending(b *testing.B) {
	e, err := New()
	require.NoError(b, err)
	defer e.Close()
	const n = 32000
	for range b.N {
		e.setPerms(0, 2*n*PageSize, ProtRead|ProtWrite, true)
		for i := n - 1; i >= 0; i-- {
			e.setPerms(uint64(2*i)*PageSize, uint64(2*i+1)*PageSize, ProtRead, true)
		}
		e.setPerms(0, 2*n*PageSize, 0, false)
	}
}

// BenchmarkFills reads one long from each of 16,384 pages (more than the TLB ever holds,
// so that every read is a TLB fill) whose table holds entries ranges: the cost of the
// fill hook's lookup against the size of the table.
func BenchmarkFills(b *testing.B) {
	for _, entries := range []int{2, 64, 4096, 16384} {
		b.Run(fmt.Sprint(entries), func(b *testing.B) {
			const pages = 16384
			// loop: mov rdx,[rdi+rcx]; add rcx,4096; and rcx,rsi; dec rbx; jnz loop; hlt
			code := []byte{0x48, 0x8b, 0x14, 0x0f, 0x48, 0x81, 0xc1, 0x00, 0x10, 0, 0, 0x48, 0x21, 0xf1, 0x48, 0xff, 0xcb, 0x75, 0xed, 0xf4}
			e, _ := newEngine(b, code)
			mem, err := unix.Mmap(-1, 0, pages*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
			require.NoError(b, err)
			defer unix.Munmap(mem)
			const base = 0x10000000
			require.NoError(b, e.MapHost(base, mem, ProtRead|ProtWrite))
			per := pages / entries
			for i := 1; i < entries; i += 2 {
				require.True(b, e.Protect(base+uint64(i*per)*PageSize, uint64(per)*PageSize, ProtRead))
			}
			e.SetReg(RDI, base)
			e.SetReg(RSI, pages*PageSize-1)
			e.SetReg(RBX, uint64(b.N))
			b.ResetTimer()
			if ev := e.Run(codeAddr); ev.Kind != Halt {
				b.Fatal(ev)
			}
		})
	}
}
