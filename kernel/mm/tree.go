package mm

// vmaTree holds a space's mappings in address order: a balanced search tree (AVL) for
// lookups by address, whose nodes are also linked in address order for walks without a
// search, and which keeps in every subtree the largest free gap below one of its
// mappings, so that the top-down search for free space (FindFree) skips the subtrees
// without room. Every change costs O(log n) steps, as Linux's maple tree does: a guest
// splitting one mapping into tens of thousands, in any order, pays no more per call than
// at the first.
//
// A node stays the same node while it is in the tree (removing a neighbour never moves
// its mapping to another node), so that a walk may remove the nodes it has passed.
type vmaTree struct {
	root        *vnode
	first, last *vnode
	n           int
	files       *fileIndex // the file mappings that follow their file's size (nil until the first)
	// size is the bytes mapped, and peak the most there were since the tree was made
	// (Linux's total_vm and hiwater_vm).
	size, peak uint64
}

// grew counts n bytes more mapped.
func (t *vmaTree) grew(n uint64) {
	t.size += n
	t.peak = max(t.peak, t.size)
}

// vnode is one mapping in the tree.
type vnode struct {
	v                   *VMA
	left, right, parent *vnode
	prev, next          *vnode // in address order
	height              int32
	// gap is the free space between the previous mapping's end (0 for the first) and
	// v.Start; maxGap is the largest gap in the subtree.
	gap, maxGap uint64
	file        *MapFile // the file v shows, as files knows it
}

func height(n *vnode) int32 {
	if n == nil {
		return 0
	}
	return n.height
}

func maxGap(n *vnode) uint64 {
	if n == nil {
		return 0
	}
	return n.maxGap
}

// update recomputes n's height and largest gap from its children.
func update(n *vnode) {
	n.height = 1 + max(height(n.left), height(n.right))
	n.maxGap = max(n.gap, maxGap(n.left), maxGap(n.right))
}

// setGap recomputes n's gap from its predecessor.
func setGap(n *vnode) {
	var below Addr
	if n.prev != nil {
		below = n.prev.v.End
	}
	n.gap = uint64(n.v.Start - below)
}

// Len is the number of mappings.
func (t *vmaTree) Len() int { return t.n }

// seek returns the first mapping whose end is above a, or nil.
func (t *vmaTree) seek(a Addr) *vnode {
	var res *vnode
	for n := t.root; n != nil; {
		if n.v.End > a {
			res, n = n, n.left
		} else {
			n = n.right
		}
	}
	return res
}

// lastBelow returns the last mapping that starts below a, or nil.
func (t *vmaTree) lastBelow(a Addr) *vnode {
	var res *vnode
	for n := t.root; n != nil; {
		if n.v.Start < a {
			res, n = n, n.right
		} else {
			n = n.left
		}
	}
	return res
}

// replace puts c where n hangs from its parent (or at the root).
func (t *vmaTree) replace(n, c *vnode) {
	p := n.parent
	switch {
	case p == nil:
		t.root = c
	case p.left == n:
		p.left = c
	default:
		p.right = c
	}
	if c != nil {
		c.parent = p
	}
}

func (t *vmaTree) rotateRight(n *vnode) *vnode {
	l := n.left
	n.left = l.right
	if l.right != nil {
		l.right.parent = n
	}
	t.replace(n, l)
	l.right = n
	n.parent = l
	update(n)
	update(l)
	return l
}

func (t *vmaTree) rotateLeft(n *vnode) *vnode {
	r := n.right
	n.right = r.left
	if r.left != nil {
		r.left.parent = n
	}
	t.replace(n, r)
	r.left = n
	n.parent = r
	update(n)
	update(r)
	return r
}

// rebalance walks from n to the root, restoring heights, gaps and balance.
func (t *vmaTree) rebalance(n *vnode) {
	for n != nil {
		update(n)
		switch b := height(n.left) - height(n.right); {
		case b > 1:
			if height(n.left.left) < height(n.left.right) {
				t.rotateLeft(n.left)
			}
			n = t.rotateRight(n)
		case b < -1:
			if height(n.right.right) < height(n.right.left) {
				t.rotateRight(n.right)
			}
			n = t.rotateLeft(n)
		}
		n = n.parent
	}
}

// fixGaps recomputes the largest gaps from n to the root (after n's gap changed).
func fixGaps(n *vnode) {
	for ; n != nil; n = n.parent {
		g := max(n.gap, maxGap(n.left), maxGap(n.right))
		if g == n.maxGap {
			return // the same here, the same above
		}
		n.maxGap = g
	}
}

// insert adds v, whose range must be free, and returns its node.
func (t *vmaTree) insert(v *VMA) *vnode {
	x := &vnode{v: v, height: 1}
	var p *vnode
	left := false
	for n := t.root; n != nil; {
		p = n
		if left = v.Start < n.v.Start; left {
			n = n.left
		} else {
			n = n.right
		}
	}
	x.parent = p
	switch {
	case p == nil:
		t.root = x
	case left:
		p.left = x
		x.prev, x.next = p.prev, p
	default:
		p.right = x
		x.prev, x.next = p, p.next
	}
	if x.prev != nil {
		x.prev.next = x
	} else {
		t.first = x
	}
	if x.next != nil {
		x.next.prev = x
	} else {
		t.last = x
	}
	t.n++
	t.grew(v.Len())
	setGap(x)
	x.maxGap = x.gap
	if x.next != nil {
		setGap(x.next)
	}
	t.rebalance(x)
	if x.next != nil {
		fixGaps(x.next)
	}
	if v.back != nil {
		if f, _ := v.back.watched(); f != nil {
			if t.files == nil {
				t.files = &fileIndex{}
			}
			t.files.watch(x, f)
		}
	}
	return x
}

// remove takes n out of the tree.
func (t *vmaTree) remove(n *vnode) {
	if n.file != nil {
		t.files.unwatch(n)
	}
	var from *vnode // where the walk to the root starts
	switch {
	case n.left != nil && n.right != nil:
		// n's successor (the leftmost node of its right subtree) takes n's place.
		y := n.next
		if y.parent == n {
			from = y
		} else {
			from = y.parent
			t.replace(y, y.right)
			y.right = n.right
			y.right.parent = y
		}
		t.replace(n, y)
		y.left = n.left
		y.left.parent = y
		y.height = n.height
	case n.left != nil:
		from = n.parent
		t.replace(n, n.left)
	default:
		from = n.parent
		t.replace(n, n.right)
	}
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		t.first = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		t.last = n.prev
	}
	t.n--
	t.size -= n.v.Len()
	next := n.next
	if next != nil {
		setGap(next)
	}
	t.rebalance(from)
	if next != nil {
		fixGaps(next)
	}
	*n = vnode{v: n.v}
}

// reset empties the tree.
func (t *vmaTree) reset() {
	if t.files != nil {
		t.files.forget()
	}
	*t = vmaTree{}
}

// setEnd moves the end of n's mapping to end, which must stay below the next one's start.
func (t *vmaTree) setEnd(n *vnode, end Addr) {
	if end >= n.v.End {
		t.grew(uint64(end - n.v.End))
	} else {
		t.size -= uint64(n.v.End - end)
	}
	n.v.End = end
	if n.next != nil {
		setGap(n.next)
		fixGaps(n.next)
	}
}

// all calls f for each mapping in address order until f returns false.
func (t *vmaTree) all(f func(v *VMA) bool) {
	for n := t.first; n != nil; n = n.next {
		if !f(n.v) {
			return
		}
	}
}

// topDown returns the highest start of a free range of length bytes that ends at or below
// top and starts at or above low, or false.
func (t *vmaTree) topDown(length uint64, low, top Addr) (Addr, bool) {
	// Above the last mapping that starts below top.
	lo := low
	if l := t.lastBelow(top); l != nil {
		lo = max(l.v.End, low)
	}
	if top > lo && uint64(top-lo) >= length {
		return top - Addr(length), true
	}
	if n := t.gapBelow(t.root, length, low, top); n != nil {
		return min(n.v.Start, top) - Addr(length), true
	}
	return 0, false
}

// gapBelow returns the highest mapping of n's subtree below which length bytes are free
// between low and top, or nil. Subtrees whose largest gap is too small are skipped, and so
// are those above top: the search goes down one path and returns along it.
func (t *vmaTree) gapBelow(n *vnode, length uint64, low, top Addr) *vnode {
	if n == nil || n.maxGap < length {
		return nil
	}
	if n.v.End < top {
		// The gaps of the right subtree lie above n's end.
		if r := t.gapBelow(n.right, length, low, top); r != nil {
			return r
		}
	}
	var below Addr
	if n.prev != nil {
		below = n.prev.v.End
	}
	lo, hi := max(below, low), min(n.v.Start, top)
	if hi > lo && uint64(hi-lo) >= length {
		return n
	}
	return t.gapBelow(n.left, length, low, top)
}
