package kernel

import "math/bits"

// fdBits marks the descriptors in use: one bit per descriptor, and one bit per word of
// those that is full, as Linux's open_fds and full_fds_bits, so that finding the lowest
// free descriptor skips 4096 used ones at a step (a few steps for maxFDs).
type fdBits struct {
	used, full []uint64
}

func (b *fdBits) set(i int) {
	w := i / 64
	for len(b.used) <= w {
		b.used = append(b.used, 0)
	}
	for len(b.full) <= w/64 {
		b.full = append(b.full, 0)
	}
	b.used[w] |= 1 << (i % 64)
	if b.used[w] == ^uint64(0) {
		b.full[w/64] |= 1 << (w % 64)
	}
}

func (b *fdBits) clear(i int) {
	w := i / 64
	if w >= len(b.used) {
		return
	}
	b.used[w] &^= 1 << (i % 64)
	b.full[w/64] &^= 1 << (w % 64)
}

// firstFree returns the lowest descriptor >= min not in use.
func (b *fdBits) firstFree(min int) int {
	w := min / 64
	if w >= len(b.used) {
		return min
	}
	if free := ^b.used[w] >> (min % 64); free != 0 {
		return min + bits.TrailingZeros64(free)
	}
	// The next word that is not full; words past the end are free.
	for w++; w < len(b.used); {
		f := w / 64
		if open := ^b.full[f] >> (w % 64); open != 0 {
			w += bits.TrailingZeros64(open)
			if w >= len(b.used) {
				break
			}
			return w*64 + bits.TrailingZeros64(^b.used[w])
		}
		w = (f + 1) * 64
	}
	return len(b.used) * 64
}
