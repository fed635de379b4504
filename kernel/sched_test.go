package kernel

import "testing"

func init() {
	// Every test that runs a guest checks the counts of blocked signals at each turn.
	checkBlocked = true
}

func TestNextQuantum(t *testing.T) {
	draw := func(seed uint64) []uint64 {
		p := &Process{ticks: seed}
		q := make([]uint64, 10000)
		for i := range q {
			q[i] = p.nextQuantum()
		}
		return q
	}
	a, b, c := draw(1), draw(1), draw(2)
	var sum uint64
	lo, hi := a[0], a[0]
	differ := 0
	for i, n := range a {
		if n < quantumBlocks/2 || n >= quantumBlocks*3/2 {
			t.Fatalf("quantum %d: %d blocks, outside [%d, %d)", i, n, quantumBlocks/2, quantumBlocks*3/2)
		}
		if n != b[i] {
			t.Fatalf("quantum %d: %d and %d blocks from one seed", i, n, b[i])
		}
		if n != c[i] {
			differ++
		}
		sum += n
		lo, hi = min(lo, n), max(hi, n)
	}
	if mean := sum / uint64(len(a)); mean < quantumBlocks*95/100 || mean > quantumBlocks*105/100 {
		t.Errorf("mean quantum %d blocks, want about %d", mean, quantumBlocks)
	}
	if hi-lo < quantumBlocks/2 {
		t.Errorf("quanta from %d to %d blocks: too little spread", lo, hi)
	}
	if differ < len(a)/2 {
		t.Errorf("seeds 1 and 2 drew %d different quanta of %d", differ, len(a))
	}
}
