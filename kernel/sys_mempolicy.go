package kernel

import (
	"encoding/binary"
	"slices"
	"sort"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// The memory-policy calls, for a machine with one NUMA node (node 0), validated as
// Linux validates them (mm/mempolicy.c): policies are kept and reported back, and every
// page is on node 0.

// Policy modes and mode flags (MPOL_*), get_mempolicy's flags (MPOL_F_*) and mbind's
// (MPOL_MF_*).
const (
	mpolDefault             = 0
	mpolPreferred           = 1
	mpolBind                = 2
	mpolInterleave          = 3
	mpolLocal               = 4
	mpolPreferredMany       = 5
	mpolWeightedInterleave  = 6
	mpolMax                 = 7
	mpolFStaticNodes        = 1 << 15
	mpolFRelativeNodes      = 1 << 14
	mpolFNumaBalancing      = 1 << 13
	mpolModeFlags           = mpolFStaticNodes | mpolFRelativeNodes | mpolFNumaBalancing
	mpolFNode               = 1
	mpolFAddr               = 2
	mpolFMemsAllowed        = 4
	mpolMFStrict            = 1
	mpolMFMove              = 2
	mpolMFMoveAll           = 4
	mpolMFValid             = mpolMFStrict | mpolMFMove | mpolMFMoveAll
	maxNumNodes             = 1024 // MAX_NUMNODES: CONFIG_NODES_SHIFT 10
	maxPolicyRanges         = 8192
	nodeMaskBytesForOneNode = 8 // BITS_TO_LONGS(nr_node_ids) longs
)

// mempolicy is a thread's or a range's policy: nil is the default.
type mempolicy struct {
	mode  int
	flags int
	node0 bool     // the policy's nodes (of node 0, the only one)
	user  []uint64 // the mask as given, for MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES
}

// mpolRange is a policy mbind set on [start, end).
type mpolRange struct {
	start, end mm.Addr
	pol        *mempolicy
}

// sanitizeMode splits a mode argument as Linux's sanitize_mpol_flags().
func sanitizeMode(m int32) (mode, flags int, err error) {
	flags, mode = int(m)&mpolModeFlags, int(m)&^mpolModeFlags
	switch {
	case uint32(mode) >= mpolMax,
		flags&mpolFStaticNodes != 0 && flags&mpolFRelativeNodes != 0,
		flags&mpolFNumaBalancing != 0 && mode != mpolBind && mode != mpolPreferredMany:
		return 0, 0, unix.EINVAL
	}
	return mode, flags, nil
}

// getNodes reads a node mask of maxnode bits, as Linux's get_nodes(): one bit fewer
// than maxnode says, nothing for a null mask, bits past MAX_NUMNODES must be clear.
func (t *Task) getNodes(addr mm.Addr, maxnode uint64) ([]uint64, error) {
	if maxnode > 0 {
		maxnode--
	}
	if maxnode == 0 || addr == 0 {
		return nil, nil
	}
	if maxnode > pageSize*8 {
		return nil, unix.EINVAL
	}
	words := (maxnode + 63) / 64
	b := make([]byte, words*8)
	if err := t.p.mm.CopyIn(addr, b); err != nil {
		return nil, err
	}
	mask := make([]uint64, words)
	for i := range mask {
		mask[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	if r := maxnode % 64; r != 0 {
		mask[words-1] &= 1<<r - 1
	}
	for bit := uint64(maxNumNodes); bit < maxnode; bit += 64 {
		if w := bit / 64; w < words && mask[w] != 0 {
			return nil, unix.EINVAL
		}
	}
	return mask, nil
}

func emptyMask(m []uint64) bool {
	for _, w := range m {
		if w != 0 {
			return false
		}
	}
	return true
}

// newMempolicy is Linux's mpol_new() and mpol_set_nodemask() on one node: nil for the
// default policy.
func newMempolicy(mode, flags int, mask []uint64) (*mempolicy, error) {
	empty := emptyMask(mask)
	switch mode {
	case mpolDefault:
		if !empty {
			return nil, unix.EINVAL
		}
		return nil, nil
	case mpolPreferred:
		if empty {
			if flags&(mpolFStaticNodes|mpolFRelativeNodes) != 0 {
				return nil, unix.EINVAL
			}
			mode = mpolLocal
		}
	case mpolLocal:
		if !empty || flags&(mpolFStaticNodes|mpolFRelativeNodes) != 0 {
			return nil, unix.EINVAL
		}
	default:
		if empty {
			return nil, unix.EINVAL
		}
	}
	pol := &mempolicy{mode: mode, flags: flags}
	if mode == mpolLocal {
		return pol, nil
	}
	// Relative masks fold onto the allowed nodes: any bit is node 0. Others keep node 0
	// only if it is named.
	pol.node0 = flags&mpolFRelativeNodes != 0 || mask[0]&1 != 0
	if !pol.node0 {
		return nil, unix.EINVAL
	}
	if flags&(mpolFStaticNodes|mpolFRelativeNodes) != 0 {
		pol.user = append([]uint64(nil), mask...)
	}
	return pol, nil
}

// sysSetMempolicy implements set_mempolicy(2): the calling thread's policy.
func sysSetMempolicy(t *Task, a Args) (uint64, error) {
	mode, flags, err := sanitizeMode(a.Int(0))
	if err != nil {
		return 0, err
	}
	mask, err := t.getNodes(a.Ptr(1), a[2])
	if err != nil {
		return 0, err
	}
	pol, err := newMempolicy(mode, flags, mask)
	if err != nil {
		return 0, err
	}
	t.mempolicy = pol
	return 0, nil
}

// rangePolicy is the policy mbind gave the page at addr, or nil.
func (p *Process) rangePolicy(addr mm.Addr) *mempolicy {
	i := sort.Search(len(p.mpolRanges), func(i int) bool { return p.mpolRanges[i].end > addr })
	if i < len(p.mpolRanges) && p.mpolRanges[i].start <= addr {
		return p.mpolRanges[i].pol
	}
	return nil
}

// mapped reports whether [start, end) is mapped without holes.
func (p *Process) mapped(start, end mm.Addr) bool {
	for a := start; a < end; {
		v := p.mm.Lookup(a)
		if v == nil || v.Start > a {
			return false
		}
		a = v.End
	}
	return true
}

// sysGetMempolicy implements get_mempolicy(2).
func sysGetMempolicy(t *Task, a Args) (uint64, error) {
	modeAddr, maskAddr, maxnode, addr, flags := a.Ptr(0), a.Ptr(1), a[2], a.Ptr(3), a[4]
	if maskAddr != 0 && maxnode < 1 {
		return 0, unix.EINVAL
	}
	if flags&^(mpolFNode|mpolFAddr|mpolFMemsAllowed) != 0 {
		return 0, unix.EINVAL
	}
	var mode uint32
	var node0 bool
	var user []uint64
	switch {
	case flags&mpolFMemsAllowed != 0:
		if flags&(mpolFNode|mpolFAddr) != 0 {
			return 0, unix.EINVAL
		}
		node0 = true
	default:
		pol := t.mempolicy
		if flags&mpolFAddr != 0 {
			if v := t.p.mm.Lookup(addr); v == nil || v.Start > addr {
				return 0, unix.EFAULT
			}
			pol = t.p.rangePolicy(addr)
		} else if addr != 0 {
			return 0, unix.EINVAL
		}
		switch {
		case flags&mpolFNode != 0 && flags&mpolFAddr != 0:
			mode = 0 // the node the page is on
		case flags&mpolFNode != 0:
			if pol == nil || pol != t.mempolicy || (pol.mode != mpolInterleave && pol.mode != mpolWeightedInterleave) {
				return 0, unix.EINVAL
			}
			mode = 0 // the next interleave node
		case pol != nil:
			mode = uint32(pol.mode | pol.flags&mpolModeFlags)
		}
		if pol != nil {
			node0, user = pol.node0, pol.user
		}
	}
	if modeAddr != 0 {
		if err := t.p.mm.CopyOut(modeAddr, binary.LittleEndian.AppendUint32(nil, mode)); err != nil {
			return 0, err
		}
	}
	if maskAddr == 0 {
		return 0, nil
	}
	// As Linux's copy_nodes_to_user(): what maxnode-1 bits round up to, zeroed past the
	// kernel's own mask.
	n := ((maxnode - 1 + 63) / 64) * 8
	if n > nodeMaskBytesForOneNode && n > pageSize {
		return 0, unix.EINVAL
	}
	out := make([]byte, n)
	if user != nil {
		for i, w := range user {
			if 8*i+8 <= nodeMaskBytesForOneNode && 8*i+8 <= len(out) {
				binary.LittleEndian.PutUint64(out[8*i:], w)
			}
		}
	} else if node0 && n > 0 {
		out[0] = 1
	}
	return 0, t.p.mm.CopyOut(maskAddr, out)
}

// sysMbind implements mbind(2): the policy of a mapped range, kept for get_mempolicy's
// MPOL_F_ADDR.
func sysMbind(t *Task, a Args) (uint64, error) {
	start, n := a[0], a[1]
	mode, mflags, err := sanitizeMode(a.Int(2))
	if err != nil {
		return 0, err
	}
	mask, err := t.getNodes(a.Ptr(3), a[4])
	if err != nil {
		return 0, err
	}
	flags := a[5]
	switch {
	case flags&^mpolMFValid != 0:
		return 0, unix.EINVAL
	case flags&mpolMFMoveAll != 0 && !t.p.creds.capable(capSysNice):
		return 0, unix.EPERM
	case start&(mm.PageSize-1) != 0:
		return 0, unix.EINVAL
	}
	end := start + (n+mm.PageSize-1)&^(mm.PageSize-1)
	if end < start || n > ^uint64(0)-mm.PageSize {
		return 0, unix.EINVAL
	}
	if end == start {
		return 0, nil
	}
	pol, err := newMempolicy(mode, mflags, mask)
	if err != nil {
		return 0, err
	}
	if !t.p.mapped(mm.Addr(start), mm.Addr(end)) {
		return 0, unix.EFAULT
	}
	return 0, t.p.setRangePolicy(mm.Addr(start), mm.Addr(end), pol)
}

// setRangePolicy gives [start, end) the policy pol (nil: none), splitting the ranges it
// overlaps: a binary search and one move of the ranges after them. Linux stops at
// vm.max_map_count mappings (ENOMEM); vemu stops at maxPolicyRanges ranges, fewer, so
// that moving them stays cheap.
func (p *Process) setRangePolicy(start, end mm.Addr, pol *mempolicy) error {
	rs := p.mpolRanges
	i := sort.Search(len(rs), func(i int) bool { return rs[i].end > start })
	j := sort.Search(len(rs), func(j int) bool { return rs[j].start >= end })
	var mid []mpolRange
	if i < j && rs[i].start < start {
		mid = append(mid, mpolRange{rs[i].start, start, rs[i].pol})
	}
	if pol != nil {
		mid = append(mid, mpolRange{start, end, pol})
	}
	if i < j && rs[j-1].end > end {
		mid = append(mid, mpolRange{end, rs[j-1].end, rs[j-1].pol})
	}
	if i+len(mid)+len(rs)-j > maxPolicyRanges {
		return unix.ENOMEM
	}
	p.mpolRanges = slices.Replace(rs, i, j, mid...)
	return nil
}

// mempolicyTarget finds the process a pid names for migrate_pages and move_pages (0:
// the caller), with the check Linux makes (ptrace_may_access()).
func (t *Task) mempolicyTarget(pid int32) (*Process, error) {
	if pid == 0 {
		return t.p, nil
	}
	return t.vmTarget(pid)
}

// sysMigratePages implements migrate_pages(2): every page is on node 0 already.
func sysMigratePages(t *Task, a Args) (uint64, error) {
	old, err := t.getNodes(a.Ptr(2), a[1])
	if err != nil {
		return 0, err
	}
	_ = old
	to, err := t.getNodes(a.Ptr(3), a[1])
	if err != nil {
		return 0, err
	}
	if _, err := t.mempolicyTarget(a.Int(0)); err != nil {
		return 0, err
	}
	// Nodes other than 0 are outside the task's allowed nodes.
	other := false
	for i, w := range to {
		if i == 0 {
			w &^= 1
		}
		other = other || w != 0
	}
	if other && !t.p.creds.capable(capSysNice) {
		return 0, unix.EPERM
	}
	if len(to) == 0 || to[0]&1 == 0 {
		return 0, unix.EINVAL
	}
	return 0, nil
}

// sysMovePages implements move_pages(2): each mapped page of the target is on node 0
// (vemu does not track which pages were touched, so none reads as -ENOENT); an
// unmapped one is -EFAULT; moving to a node other than 0 is ENODEV.
func sysMovePages(t *Task, a Args) (uint64, error) {
	count, pages, nodes, status, flags := a[1], a.Ptr(2), a.Ptr(3), a.Ptr(4), a[5]
	if flags&^(mpolMFMove|mpolMFMoveAll) != 0 {
		return 0, unix.EINVAL
	}
	if flags&mpolMFMoveAll != 0 && !t.p.creds.capable(capSysNice) {
		return 0, unix.EPERM
	}
	q, err := t.mempolicyTarget(a.Int(0))
	if err != nil {
		return 0, err
	}
	if count > (1<<47)/8 {
		return 0, unix.EFAULT // more addresses than user space could hold
	}
	efault := -int32(unix.EFAULT)
	stat := func(s *mm.Space, pb, sb []byte) {
		for i := range len(sb) / 4 {
			addr := mm.Addr(binary.LittleEndian.Uint64(pb[8*i:]))
			if v := s.Lookup(addr); v == nil || v.Start > addr {
				binary.LittleEndian.PutUint32(sb[4*i:], uint32(efault))
			}
		}
	}
	// The arrays are taken a chunk at a time, as Linux takes them: a count larger than
	// the memory behind the pointers fails at the first chunk that is not there, and
	// costs no more than what the guest mapped.
	walk := func(fill func(pb, sb []byte) bool) (uint64, error) {
		pb, nb, sb := make([]byte, movePagesChunk*8), make([]byte, movePagesChunk*4), make([]byte, movePagesChunk*4)
		for done := uint64(0); done < count; {
			n := min(count-done, movePagesChunk)
			if err := t.p.mm.CopyIn(pages+mm.Addr(8*done), pb[:8*n]); err != nil {
				return 0, err
			}
			if nodes != 0 {
				if err := t.p.mm.CopyIn(nodes+mm.Addr(4*done), nb[:4*n]); err != nil {
					return 0, err
				}
				for i := range n {
					if binary.LittleEndian.Uint32(nb[4*i:]) != 0 {
						return 0, unix.ENODEV
					}
				}
			}
			clear(sb[:4*n])
			if !fill(pb[:8*n], sb[:4*n]) {
				return 0, unix.ESRCH
			}
			if err := t.p.mm.CopyOut(status+mm.Addr(4*done), sb[:4*n]); err != nil {
				return 0, err
			}
			done += n
		}
		return 0, nil
	}
	if q == t.p {
		return walk(func(pb, sb []byte) bool { stat(q.mm, pb, sb); return true })
	}
	return t.blockThen(func() (uint64, error) {
		return walk(func(pb, sb []byte) bool { return onLoop(q, func() { stat(q.mm, pb, sb) }) })
	}, nil)
}

// movePagesChunk is how many entries of move_pages' arrays are taken at a time.
const movePagesChunk = 512

// sysSetMempolicyHomeNode implements set_mempolicy_home_node(2): node 0 is the only
// home; ranges with a policy other than MPOL_BIND or MPOL_PREFERRED_MANY refuse one,
// and a range without any policy is ENOENT.
func sysSetMempolicyHomeNode(t *Task, a Args) (uint64, error) {
	start, n, node := a[0], a[1], a[2]
	switch {
	case start&(mm.PageSize-1) != 0, a[3] != 0, node >= maxNumNodes || node != 0:
		return 0, unix.EINVAL
	}
	end := start + (n+mm.PageSize-1)&^(mm.PageSize-1)
	if end < start || n > ^uint64(0)-mm.PageSize {
		return 0, unix.EINVAL
	}
	err := error(unix.ENOENT) // no range with a policy
	for _, r := range t.p.mpolRanges {
		if uint64(r.end) <= start || uint64(r.start) >= end {
			continue
		}
		if r.pol.mode != mpolBind && r.pol.mode != mpolPreferredMany {
			return 0, unix.EOPNOTSUPP
		}
		err = nil
	}
	return 0, err
}
