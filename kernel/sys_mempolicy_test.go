package kernel

import (
	"testing"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

func TestRangePolicySplits(t *testing.T) {
	p := &Process{}
	a, b := &mempolicy{mode: mpolBind}, &mempolicy{mode: mpolInterleave}
	const pg = mm.PageSize
	steps := []struct {
		start, end mm.Addr
		pol        *mempolicy
	}{{0, 10 * pg, a}, {3 * pg, 5 * pg, b}, {4 * pg, 12 * pg, nil}, {0, pg, b}}
	for _, s := range steps {
		if err := p.setRangePolicy(s.start, s.end, s.pol); err != nil {
			t.Fatal(err)
		}
	}
	want := []mpolRange{{0, pg, b}, {pg, 3 * pg, a}, {3 * pg, 4 * pg, b}}
	if len(p.mpolRanges) != len(want) {
		t.Fatalf("ranges %v, want %v", p.mpolRanges, want)
	}
	for i, r := range want {
		if p.mpolRanges[i] != r {
			t.Fatalf("range %d: %v, want %v", i, p.mpolRanges[i], r)
		}
	}
	for _, at := range []struct {
		addr mm.Addr
		pol  *mempolicy
	}{{0, b}, {2 * pg, a}, {3 * pg, b}, {4 * pg, nil}, {100 * pg, nil}} {
		if got := p.rangePolicy(at.addr); got != at.pol {
			t.Errorf("policy at %#x: %v, want %v", at.addr, got, at.pol)
		}
	}
}

// TestRangePolicyLimit checks that alternating pages stop at the limit.
func TestRangePolicyLimit(t *testing.T) {
	p := &Process{}
	pol := &mempolicy{mode: mpolBind}
	var err error
	n := 0
	for ; n < maxPolicyRanges+10; n++ {
		if err = p.setRangePolicy(mm.Addr(2*n)*mm.PageSize, mm.Addr(2*n+1)*mm.PageSize, pol); err != nil {
			break
		}
	}
	if err != unix.ENOMEM || n != maxPolicyRanges {
		t.Fatalf("stopped after %d ranges with %v", n, err)
	}
}
