package mm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"vemu/emu"
)

// checkTree reports the first broken invariant of t: order, links, balance, heights,
// gaps and largest gaps.
func checkTree(t *vmaTree) error {
	var walk func(n, parent *vnode) (int32, uint64, int, error)
	walk = func(n, parent *vnode) (int32, uint64, int, error) {
		if n == nil {
			return 0, 0, 0, nil
		}
		if n.parent != parent {
			return 0, 0, 0, fmt.Errorf("%#x: wrong parent", n.v.Start)
		}
		if n.left != nil && n.left.v.End > n.v.Start || n.right != nil && n.right.v.Start < n.v.End {
			return 0, 0, 0, fmt.Errorf("%#x: out of order", n.v.Start)
		}
		lh, lg, lc, err := walk(n.left, n)
		if err != nil {
			return 0, 0, 0, err
		}
		rh, rg, rc, err := walk(n.right, n)
		if err != nil {
			return 0, 0, 0, err
		}
		if lh-rh > 1 || rh-lh > 1 {
			return 0, 0, 0, fmt.Errorf("%#x: unbalanced (%d, %d)", n.v.Start, lh, rh)
		}
		if h := 1 + max(lh, rh); n.height != h {
			return 0, 0, 0, fmt.Errorf("%#x: height %d, not %d", n.v.Start, n.height, h)
		}
		var below Addr
		if n.prev != nil {
			below = n.prev.v.End
		}
		if n.gap != uint64(n.v.Start-below) {
			return 0, 0, 0, fmt.Errorf("%#x: gap %#x, not %#x", n.v.Start, n.gap, n.v.Start-below)
		}
		if g := max(n.gap, lg, rg); n.maxGap != g {
			return 0, 0, 0, fmt.Errorf("%#x: largest gap %#x, not %#x", n.v.Start, n.maxGap, g)
		}
		return n.height, n.maxGap, lc + rc + 1, nil
	}
	_, _, count, err := walk(t.root, nil)
	if err != nil {
		return err
	}
	if count != t.n {
		return fmt.Errorf("%d nodes, counted %d", count, t.n)
	}
	seen := 0
	var prev *vnode
	for n := t.first; n != nil; n = n.next {
		if n.prev != prev || (prev != nil && prev.v.End > n.v.Start) {
			return fmt.Errorf("%#x: list broken", n.v.Start)
		}
		prev = n
		seen++
	}
	if prev != t.last || seen != t.n {
		return fmt.Errorf("list of %d, tree of %d", seen, t.n)
	}
	return nil
}

// topDownSlow is the top-down search as a walk over every gap, for comparison.
func topDownSlow(t *vmaTree, length uint64, low, top Addr) (Addr, bool) {
	hi := top
	for n := t.last; ; n = n.prev {
		lo := Addr(0)
		if n != nil {
			lo = n.v.End
		}
		lo = max(lo, low)
		if n == nil || n.v.End <= top {
			if hi > lo && uint64(hi-lo) >= length {
				return hi - Addr(length), true
			}
		}
		if n == nil {
			return 0, false
		}
		hi = min(hi, n.v.Start)
	}
}

// TestTreeAgainstModel makes random changes and searches and checks every invariant
// after each, and each search against a walk over every gap.
func TestTreeAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tr vmaTree
	const slots = 300 // page-sized slots: a mapping takes a few
	used := make([]*vnode, slots)
	for step := range 20000 {
		at := rng.IntN(slots)
		switch op := rng.IntN(10); {
		case op < 5 && used[at] == nil:
			n := 1
			for n < 4 && at+n < slots && used[at+n] == nil && rng.IntN(2) == 0 {
				n++
			}
			x := tr.insert(&VMA{Start: Addr(at) * pg, End: Addr(at+n) * pg})
			for i := range n {
				used[at+i] = x
			}
		case op < 8 && used[at] != nil:
			x := used[at]
			for i := x.v.Start / pg; i < x.v.End/pg; i++ {
				used[i] = nil
			}
			tr.remove(x)
		case op < 9 && used[at] != nil:
			// Shrink a mapping from its end, or grow it into free slots.
			x := used[at]
			end := int(x.v.End / pg)
			if end < slots && used[end] == nil {
				used[end] = x
				tr.setEnd(x, x.v.End+pg)
			} else if x.v.End-x.v.Start > pg {
				used[end-1] = nil
				tr.setEnd(x, x.v.End-pg)
			}
		default:
			length := uint64(1+rng.IntN(6)) * pg
			low := Addr(rng.IntN(20)) * pg
			top := Addr(rng.IntN(slots+20)) * pg
			want, wok := topDownSlow(&tr, length, low, top)
			got, ok := tr.topDown(length, low, top)
			require.Equal(t, wok, ok, "step %d: %#x bytes in [%#x, %#x)", step, length, low, top)
			require.Equal(t, want, got, "step %d: %#x bytes in [%#x, %#x)", step, length, low, top)
		}
		if step%50 == 0 || tr.n < 20 {
			require.NoError(t, checkTree(&tr), "step %d", step)
		}
		for range 5 {
			a := Addr(rng.IntN(slots)) * pg
			x := tr.seek(a)
			want := used[a/pg]
			if want == nil {
				require.True(t, x == nil || x.v.Start > a, "step %d: seek %#x", step, a)
			} else {
				require.Same(t, want, x, "step %d: seek %#x", step, a)
			}
		}
	}
	require.NoError(t, checkTree(&tr))
}

// descendingSplits maps 2n pages and makes every other one read-only from the top down:
// each call splits the mapping below all the pieces made before.
func descendingSplits(tb testing.TB, s *Space, n int) {
	_, err := s.Map(at0, uint64(2*n)*pg, rw, "")
	require.NoError(tb, err)
	for i := n - 1; i >= 0; i-- {
		require.NoError(tb, s.Protect(at0+Addr(2*i)*pg, pg, ro))
	}
}

// randomHoles maps 2n+1 pages and unmaps every other one in random order.
func randomHoles(tb testing.TB, s *Space, n int) {
	_, err := s.Map(at0, uint64(2*n+1)*pg, rw, "")
	require.NoError(tb, err)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, i := range rng.Perm(n) {
		require.NoError(tb, s.Unmap(at0+Addr(2*i+1)*pg, pg))
	}
}

// shallow checks that the mappings are n pieces in a tree of AVL height: each call
// above walked one path of it, whatever the order of the calls.
func shallow(t *testing.T, s *Space, n int) {
	t.Helper()
	require.NoError(t, checkTree(&s.vmas))
	require.Equal(t, n, s.Len())
	limit := 1.45 * math.Log2(float64(n+2))
	require.LessOrEqual(t, float64(s.vmas.root.height), limit)
	require.NoError(t, s.CheckCPU())
}

// Tens of thousands of splits at descending addresses, or holes punched in random order,
// cost each call one path down a balanced tree (Linux's maple tree: O(log n)); a sorted
// list moved every piece above the change at each call.
func TestManySplitsStayShallow(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	defer cpu.Close()
	t.Run("descending-mprotect", func(t *testing.T) {
		s := New(cpu)
		defer s.Close()
		descendingSplits(t, s, 32000)
		shallow(t, s, 64000)
		v := s.Lookup(at0 + 4*pg)
		require.Equal(t, span{at0 + 4*pg, at0 + 5*pg, ro}, span{v.Start, v.End, v.Prot})
		// Making them alike again joins them into one.
		require.NoError(t, s.Protect(at0, 64000*pg, rw))
		require.Equal(t, []span{{at0, at0 + 64000*pg, rw}}, layout(s))
	})
	t.Run("random-munmap-holes", func(t *testing.T) {
		s := New(cpu)
		defer s.Close()
		randomHoles(t, s, 60000)
		shallow(t, s, 60001)
		a, err := s.FindFree(pg, at0+120001*pg)
		require.NoError(t, err)
		require.Equal(t, at0+119999*pg, a, "the highest hole")
		_, err = s.FindFree(2*pg, at0+120001*pg)
		require.NoError(t, err)
		maps := s.Maps()
		require.Equal(t, 60001, strings.Count(maps, "\n"))
		require.True(t, strings.HasPrefix(maps, fmt.Sprintf("%08x-%08x rw-p", at0, at0+pg)), maps[:80])
	})
}

func BenchmarkManySplits(b *testing.B) {
	cpu, err := emu.New()
	require.NoError(b, err)
	defer cpu.Close()
	b.Run("descending-mprotect-32000", func(b *testing.B) {
		for range b.N {
			s := New(cpu)
			descendingSplits(b, s, 32000)
			s.Unmap(at0, 64000*pg)
			s.Close()
		}
	})
	b.Run("random-munmap-holes-60000", func(b *testing.B) {
		for range b.N {
			s := New(cpu)
			randomHoles(b, s, 60000)
			s.Unmap(at0, 120001*pg)
			s.Close()
		}
	})
}
