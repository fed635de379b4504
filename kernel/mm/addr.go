package mm

// Arithmetic on guest addresses, checked: a guest passes any 64-bit values, and an
// address plus a length that wraps must be an error, never a small address.

// AddLength returns a+n, and false if the sum wraps past 2^64.
func (a Addr) AddLength(n uint64) (Addr, bool) {
	end := a + Addr(n)
	return end, end >= a
}

// RangeEnd returns the end of the n bytes at a, and false if they wrap past 2^64 or end
// above TaskSize, the top of user space.
func (a Addr) RangeEnd(n uint64) (Addr, bool) {
	end, ok := a.AddLength(n)
	return end, ok && end <= TaskSize
}

// PageDown rounds a down to a page boundary.
func (a Addr) PageDown() Addr { return a &^ (PageSize - 1) }

// PageUp rounds a up to a page boundary, and false if that wraps.
func (a Addr) PageUp() (Addr, bool) {
	r := (a + PageSize - 1) &^ (PageSize - 1)
	return r, r >= a
}

// PageAligned says whether a is on a page boundary.
func (a Addr) PageAligned() bool { return a%PageSize == 0 }
