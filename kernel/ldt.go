package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/emu"
	"vemu/kernel/mm"
)

// Segment descriptors, as Linux keeps them for a 64-bit process: a GDT with the kernel's
// and user's code and data segments, three thread-local (TLS) entries per thread that
// set_thread_area fills, and an LDT per process that modify_ldt fills. The CPU reads them
// from the engine's descriptor tables (see emu/desc.go) on every segment load.

// Linux's x86-64 GDT entries (arch/x86/include/asm/segment.h), and the descriptors of the
// fixed ones (GDT_ENTRY_INIT in cpu/common.c: every one accessed, so never written).
const (
	gdtTLSMin     = 12 // GDT_ENTRY_TLS_MIN
	gdtTLSEntries = 3  // GDT_ENTRY_TLS_ENTRIES
	gdtCPUNode    = 15 // GDT_ENTRY_CPUNODE: the CPU number in the limit, for lsl
)

var linuxGDT = [emu.GDTEntries]uint64{
	1: 0x00cf9b000000ffff, // kernel 32-bit code
	2: 0x00af9b000000ffff, // kernel code
	3: 0x00cf93000000ffff, // kernel data
	4: 0x00cffb000000ffff, // user 32-bit code (0x23)
	5: 0x00cff3000000ffff, // user data (0x2b)
	6: 0x00affb000000ffff, // user code (0x33)
	// 8-9: the TSS, 10-11: the LDT (16-byte system descriptors), loaded by no selector
	// a program can use: a system descriptor faults as an empty one.
	8: 0x00008b0000000067,
}

// cpuNodeDesc is GDT_ENTRY_CPUNODE's descriptor for cpu on node 0 (setup_getcpu: read-only
// expand-down data, DPL 3, present, 32-bit, the CPU number in the limit).
func cpuNodeDesc(cpu int) uint64 {
	lim := uint64(cpu) & 0xfffff
	return lim&0xffff | 0xf5<<40 | (lim>>16)<<48 | 0x4<<52
}

// initDescriptors gives a new engine Linux's GDT and an empty LDT.
func initDescriptors(cpu *emu.Engine) {
	g := cpu.GDT()
	if g == nil {
		return
	}
	copy(g, linuxGDT[:])
	g[gdtCPUNode] = cpuNodeDesc(0)
}

// userDesc is struct user_desc (asm/ldt.h): 16 bytes, the flags a bit field in the last
// word.
type userDesc struct {
	entry, base, limit uint32
	flags              uint32
}

// The bits of user_desc's flags word.
const (
	udSeg32       = 1 << 0
	udContents    = 3 << 1
	udReadExec    = 1 << 3
	udLimitPages  = 1 << 4
	udNotPresent  = 1 << 5
	udUseable     = 1 << 6
	udLM          = 1 << 7
	udKnownFlags  = 0xff
	userDescBytes = 16
)

func (u *userDesc) contents() uint32 { return u.flags & udContents >> 1 }

func parseUserDesc(b []byte) userDesc {
	return userDesc{binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]),
		binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])}
}

func (u *userDesc) bytes() []byte {
	b := make([]byte, userDescBytes)
	binary.LittleEndian.PutUint32(b, u.entry)
	binary.LittleEndian.PutUint32(b[4:], u.base)
	binary.LittleEndian.PutUint32(b[8:], u.limit)
	binary.LittleEndian.PutUint32(b[12:], u.flags)
	return b
}

// empty is Linux's LDT_empty: the way to ask for no segment.
func (u *userDesc) empty() bool {
	return u.base == 0 && u.limit == 0 && u.flags&udKnownFlags&^udLM == udReadExec|udNotPresent
}

// zero is Linux's LDT_zero: all zero but the entry number, which programs also take to
// mean no segment.
func (u *userDesc) zero() bool {
	return u.base == 0 && u.limit == 0 && u.flags&udKnownFlags&^udLM == 0
}

// descriptor encodes u as Linux's fill_ldt does: a code or data segment of DPL 3, always
// accessed (the CPU then never writes it), never 64-bit code (the lm bit is ignored).
func (u *userDesc) descriptor() uint64 {
	f := u.flags
	typ := uint64((f&udReadExec>>3)^1)<<1 | uint64(u.contents())<<2 | 1
	d := uint64(u.limit&0xffff) | uint64(u.base&0xffffff)<<16 | typ<<40 | 1<<44 | 3<<45
	if f&udNotPresent == 0 {
		d |= 1 << 47
	}
	d |= uint64(u.limit>>16&0xf) << 48
	if f&udUseable != 0 {
		d |= 1 << 52
	}
	if f&udSeg32 != 0 {
		d |= 1 << 54
	}
	if f&udLimitPages != 0 {
		d |= 1 << 55
	}
	return d | uint64(u.base>>24)<<56
}

// fromDescriptor is Linux's fill_user_desc: what get_thread_area reports of entry idx.
func fromDescriptor(idx uint32, d uint64) userDesc {
	u := userDesc{entry: idx}
	u.base = uint32(d>>16&0xffffff | d>>56<<24)
	u.limit = uint32(d&0xffff | d>>48&0xf<<16)
	typ := uint32(d >> 40 & 0xf)
	f := uint32(0)
	if d>>54&1 != 0 {
		f |= udSeg32
	}
	f |= typ >> 2 << 1
	if typ&2 == 0 {
		f |= udReadExec
	}
	if d>>55&1 != 0 {
		f |= udLimitPages
	}
	if d>>47&1 == 0 {
		f |= udNotPresent
	}
	if d>>52&1 != 0 {
		f |= udUseable
	}
	if d>>53&1 != 0 {
		f |= udLM
	}
	u.flags = f
	return u
}

// tlsOkay is Linux's tls_desc_okay: a TLS entry is a present 32-bit data segment, or none.
func (u *userDesc) tlsOkay() bool {
	if u.empty() || u.zero() {
		return true
	}
	return u.flags&udSeg32 != 0 && u.contents() <= 1 && u.flags&udNotPresent == 0
}

// loadTLS puts t's TLS entries in the GDT, as Linux's load_TLS at a switch to t (which
// runs on the process's engine now).
func (t *Task) loadTLS() {
	if g := t.p.cpu.GDT(); g != nil {
		copy(g[gdtTLSMin:gdtTLSMin+gdtTLSEntries], t.tls[:])
	}
}

// sysSetThreadArea implements set_thread_area(2), which Linux gives 32-bit callers: a
// 64-bit program reaches it through int $0x80 (the x86-64 table's entry is ENOSYS).
func sysSetThreadArea(t *Task, a Args) (uint64, error) {
	if !t.compat {
		return 0, unix.ENOSYS
	}
	ptr := mm.Addr(a[0])
	var b [userDescBytes]byte
	if err := t.p.mm.CopyIn(ptr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	u := parseUserDesc(b[:])
	if !u.tlsOkay() {
		return 0, unix.EINVAL
	}
	idx := int32(u.entry)
	if idx == -1 {
		idx = -1
		for i, d := range t.tls {
			if d == 0 {
				idx = int32(gdtTLSMin + i)
				break
			}
		}
		if idx == -1 {
			return 0, unix.ESRCH
		}
		var nb [4]byte
		binary.LittleEndian.PutUint32(nb[:], uint32(idx))
		if err := t.p.mm.CopyOut(ptr, nb[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if idx < gdtTLSMin || idx >= gdtTLSMin+gdtTLSEntries {
		return 0, unix.EINVAL
	}
	t.setTLS(int(idx), &u)
	t.reloadSegments(uint16(idx)<<3|3, false)
	return 0, nil
}

// setTLS is Linux's set_tls_desc: entry idx (checked) of t becomes u, or empty.
func (t *Task) setTLS(idx int, u *userDesc) {
	d := uint64(0)
	if !u.empty() && !u.zero() {
		d = u.descriptor()
	}
	t.tls[idx-gdtTLSMin] = d
	if t.p.cur == t {
		t.loadTLS()
	}
}

// sysGetThreadArea implements get_thread_area(2), for 32-bit callers as set_thread_area.
func sysGetThreadArea(t *Task, a Args) (uint64, error) {
	if !t.compat {
		return 0, unix.ENOSYS
	}
	ptr := mm.Addr(a[0])
	var nb [4]byte
	if err := t.p.mm.CopyIn(ptr, nb[:]); err != nil {
		return 0, unix.EFAULT
	}
	idx := int32(binary.LittleEndian.Uint32(nb[:]))
	if idx < gdtTLSMin || idx >= gdtTLSMin+gdtTLSEntries {
		return 0, unix.EINVAL
	}
	u := fromDescriptor(uint32(idx), t.tls[idx-gdtTLSMin])
	if err := t.p.mm.CopyOut(ptr, u.bytes()); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// reloadSegments loads again those of ds, es, fs and gs that hold sel (or, with ldt,
// any LDT selector in ds or es), so that they see a descriptor just changed, as Linux
// does after set_thread_area and modify_ldt; a register whose descriptor no longer loads
// gets the null selector, as Linux's loadsegment leaves it.
func (t *Task) reloadSegments(sel uint16, ldt bool) {
	regs := []emu.Reg{emu.DS, emu.ES, emu.FS, emu.GS}
	if ldt {
		regs = regs[:2]
	}
	for _, r := range regs {
		cur := uint16(t.p.cpu.Reg(r))
		if cur == sel || (ldt && cur&4 != 0) {
			t.p.cpu.LoadSegment(r, cur)
		}
	}
}

// sysModifyLDT implements modify_ldt(2). Linux returns its result as an unsigned int,
// so an error reaches rax as 2^32-errno (not negative as a long).
func sysModifyLDT(t *Task, a Args) (uint64, error) {
	r, err := t.modifyLDT(int32(a[0]), mm.Addr(a[1]), a[2])
	if errno, ok := err.(unix.Errno); ok {
		return uint64(uint32(-int32(errno))), nil
	}
	return uint64(uint32(r)), err
}

func (t *Task) modifyLDT(fn int32, ptr mm.Addr, count uint64) (int, error) {
	p := t.p
	switch fn {
	case 0:
		// read_ldt: the table's entries, zeros to bytecount, and bytecount as the result.
		if p.ldtEntries == 0 {
			return 0, nil
		}
		count = min(count, emu.LDTEntries*8)
		n := min(uint64(p.ldtEntries)*8, count)
		b := make([]byte, count)
		for i, d := range p.cpu.LDT()[:n/8] {
			binary.LittleEndian.PutUint64(b[i*8:], d)
		}
		if n%8 != 0 {
			var last [8]byte
			binary.LittleEndian.PutUint64(last[:], p.cpu.LDT()[n/8])
			copy(b[n&^7:n], last[:])
		}
		if err := p.mm.CopyOut(ptr, b); err != nil {
			return 0, unix.EFAULT
		}
		return int(count), nil
	case 2:
		// read_default_ldt: 128 bytes of zeros at most.
		count = min(count, 128)
		if err := p.mm.CopyOut(ptr, make([]byte, count)); err != nil {
			return 0, unix.EFAULT
		}
		return int(count), nil
	case 1, 0x11:
		return 0, t.writeLDT(ptr, count, fn == 1)
	}
	return 0, unix.ENOSYS
}

// writeLDT is Linux's write_ldt; oldmode is func 1, where an all-zero base and limit
// also clear the entry and the available bit is never set.
func (t *Task) writeLDT(ptr mm.Addr, count uint64, oldmode bool) error {
	p := t.p
	if count != userDescBytes {
		return unix.EINVAL
	}
	var b [userDescBytes]byte
	if err := p.mm.CopyIn(ptr, b[:]); err != nil {
		return unix.EFAULT
	}
	u := parseUserDesc(b[:])
	if u.entry >= emu.LDTEntries {
		return unix.EINVAL
	}
	if u.contents() == 3 && (oldmode || u.flags&udNotPresent == 0) {
		return unix.EINVAL
	}
	var d uint64
	if !(oldmode && u.base == 0 && u.limit == 0) && !u.empty() {
		// 16-bit segments are allowed (CONFIG_X86_16BIT, as Debian's kernels).
		d = u.descriptor()
		if oldmode {
			d &^= 1 << 52
		}
	}
	ldt := p.cpu.LDT()
	if ldt == nil {
		return unix.ENOMEM
	}
	ldt[u.entry] = d
	p.ldtEntries = max(p.ldtEntries, int(u.entry)+1)
	// Every thread of the process runs on this engine: the one running sees the new
	// entry in ds and es at once, as Linux's refresh_ldt_segments; the others load
	// their segments from their saved state.
	t.reloadSegments(0, true)
	return nil
}

// forkDescriptors gives a fork child c its parent's LDT (copied, as Linux's
// ldt_dup_context) and the calling thread ct its parent's TLS entries.
func (t *Task) forkDescriptors(c *Process, ct *Task) {
	p := t.p
	ct.tls = t.tls
	c.ldtEntries = p.ldtEntries
	if p.ldtEntries > 0 {
		copy(c.cpu.LDT()[:p.ldtEntries], p.cpu.LDT()[:p.ldtEntries])
	}
	ct.loadTLS()
}

// Notes of the table's rows.
const (
	ldtNote        = "segment limits are not enforced in 32-bit code (the emulated CPU ignores them); a CLONE_VM child without CLONE_THREAD gets a copy of the LDT, not the same one"
	threadAreaNote = "ENOSYS through syscall, as Linux's x86-64 table; the i386 calls through int $0x80 (243, 244) work, with per-thread GDT entries 12-14"
)

// ptraceThreadArea implements PTRACE_GET_THREAD_AREA and PTRACE_SET_THREAD_AREA (set):
// entry idx of the tracee tid, as Linux's do_get_thread_area and do_set_thread_area
// without allocation. A selector of the entry already in the tracee's fs or gs keeps
// its base (Linux gives the saved base the new entry's).
func (t *Task) ptraceThreadArea(l *ptraceLink, tid int, idx uint64, addr mm.Addr, set bool) (uint64, error) {
	if int32(idx) < 0 {
		return 0, unix.EIO
	}
	var b [userDescBytes]byte
	var u userDesc
	if set {
		if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		u = parseUserDesc(b[:])
		if !u.tlsOkay() {
			return 0, unix.EINVAL
		}
	}
	if idx < gdtTLSMin || idx >= gdtTLSMin+gdtTLSEntries {
		return 0, unix.EINVAL
	}
	d := l.d
	err := d.call(func() error {
		q := d.p.thread(tid)
		if q == nil {
			return errNoThread
		}
		if set {
			q.setTLS(int(idx), &u)
		} else {
			u = fromDescriptor(uint32(idx), q.tls[idx-gdtTLSMin])
		}
		return nil
	})
	if err != nil {
		return 0, ptraceErr(err)
	}
	if !set {
		if err := t.p.mm.CopyOut(addr, u.bytes()); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}
