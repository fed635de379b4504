package kernel

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// cpuProt is what the CPU enforces for requested permissions: on x86 a writable or
// executable page is also readable.
func cpuProt(p uint32) emu.Prot {
	r := emu.Prot(p & 7)
	if r&(emu.ProtWrite|emu.ProtExec) != 0 {
		r |= emu.ProtRead
	}
	return r
}

// sysMmap implements mmap(2): anonymous and file mappings, private and shared, with
// MAP_FIXED and MAP_FIXED_NOREPLACE. A private mapping of a regular file maps a frozen copy
// of it (see frozen.go) where that is worth it, and copies the file's bytes otherwise.
// map32BitTop bounds the mappings MAP_32BIT asks for: below 2 GiB, as on x86-64 Linux.
const map32BitTop mm.Addr = 0x80000000

func sysMmap(t *Task, a Args) (uint64, error) {
	s := t.p.mm
	lockIt := a.Uint(3)&abi.MAP_LOCKED != 0 || s.LockFuture
	if !lockIt {
		return mmapCall(t, a, nil)
	}
	size, ok := mm.PageUp(a[1])
	if a[1] == 0 || !ok {
		return mmapCall(t, a, nil) // its own errors
	}
	// As Linux's do_mmap, once the place is found: MAP_LOCKED needs the right to lock;
	// a locked mapping must fit in RLIMIT_MEMLOCK (mlock_future_ok).
	r, err := mmapCall(t, a, func() error {
		if a.Uint(3)&abi.MAP_LOCKED != 0 && !t.canMlock() {
			return unix.EPERM
		}
		if !t.mlockFits(size) {
			return unix.EAGAIN
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	start := mm.Addr(r)
	s.SetLocked(start, start+mm.Addr(size), true, lockLeaves)
	if !(s.LockFuture && s.LockOnFault && a.Uint(3)&abi.MAP_LOCKED == 0) {
		t.populate(start, start+mm.Addr(size))
	}
	return r, nil
}

// thpSize is the size of a transparent huge page, the PMD's span.
const thpSize = 2 << 20

// thpFree places private anonymous memory of size bytes, a multiple of thpSize, mapped
// without a hint, as Linux 6.7 and later's thp_get_unmapped_area() does, so that huge
// pages may back it: the highest free range of size+thpSize below top, and in it the
// highest start aligned to thpSize; without room for that, anywhere, as for any size.
func thpFree(s *mm.Space, size uint64, top mm.Addr) (mm.Addr, error) {
	ret, err := s.FindFree(size+thpSize, top)
	if err != nil {
		return s.FindFree(size, top)
	}
	if sub := -uint64(ret) & (thpSize - 1); sub != 0 {
		return ret + mm.Addr(sub), nil
	}
	return ret + thpSize, nil
}

// mmapCall maps as mmap(2) asks, before any locking.
func mmapCall(t *Task, a Args, placed func() error) (uint64, error) {
	addr, length, prot, flags, fd, off := a[0], a[1], a.Uint(2), a.Uint(3), a.Fd(4), a[5]
	s := t.p.mm
	if off%mm.PageSize != 0 || length == 0 {
		return 0, unix.EINVAL
	}
	// As Linux's do_mmap: bits past PROT_READ|PROT_WRITE|PROT_EXEC (PROT_SEM, PROT_GROWSDOWN,
	// any other) are ignored, not refused as mprotect refuses them.
	prot &= 7
	size, ok := mm.PageUp(length)
	if !ok || size > uint64(mm.TaskSize) {
		return 0, unix.ENOMEM
	}
	typ := flags & abi.MAP_TYPE
	anon := flags&abi.MAP_ANONYMOUS != 0
	zero := false   // a private mapping of /dev/zero
	secret := false // a secret memory file (memfd_secret)
	var f *File
	var st unix.Stat_t
	if !anon {
		var err error
		if f, err = t.file(fd); err != nil {
			return 0, err
		}
		if err := unix.Fstat(f.fd, &st); err != nil {
			return 0, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return 0, unix.ENODEV
		}
		acc, _ := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
		if acc&unix.O_ACCMODE == unix.O_WRONLY {
			return 0, unix.EACCES
		}
		if typ != abi.MAP_PRIVATE && prot&abi.PROT_WRITE != 0 && acc&unix.O_ACCMODE != unix.O_RDWR {
			return 0, unix.EACCES
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			var sf unix.Statfs_t
			secret = unix.Fstatfs(f.fd, &sf) == nil && sf.Type == unix.SECRETMEM_MAGIC
		case unix.S_IFBLK:
		case unix.S_IFCHR:
			// As Linux's mmap_zero(): a private mapping of /dev/zero is anonymous memory
			// (nothing to read in); other character devices vemu passes through have no
			// mmap of their own here.
			if st.Rdev != unix.Mkdev(1, 5) {
				return 0, unix.ENODEV
			}
			zero = typ == abi.MAP_PRIVATE
		default:
			return 0, unix.ENODEV
		}
	}

	if secret {
		if err := t.secretMmapOK(typ, prot, size); err != nil {
			return 0, err
		}
	}
	// placedOK makes the checks that follow the choice of a place, in Linux's order:
	// the caller's, the mapping's type, and the memory charge last, as Linux's
	// mmap_region charges (the old mappings of the range stay when it refuses).
	placedOK := func() error {
		if placed != nil {
			if err := placed(); err != nil {
				return err
			}
		}
		if err := mmapTypeOK(anon, typ, flags, off, size, &st); err != nil {
			return err
		}
		if typ == abi.MAP_PRIVATE && prot&abi.PROT_WRITE != 0 && flags&abi.MAP_NORESERVE == 0 && mm.Overcommits(size) {
			return unix.ENOMEM
		}
		return nil
	}
	fixed := flags&(abi.MAP_FIXED|abi.MAP_FIXED_NOREPLACE) != 0
	var start mm.Addr
	switch {
	case fixed:
		if addr%mm.PageSize != 0 {
			return 0, unix.EINVAL
		}
		start = mm.Addr(addr)
		end, ok := start.RangeEnd(size)
		if !ok {
			return 0, unix.ENOMEM
		}
		if start < mm.MinAddr {
			return 0, unix.EPERM // as Linux's mmap_min_addr for a process without CAP_SYS_RAWIO
		}
		// MAP_FIXED_NOREPLACE wins over MAP_FIXED, as in Linux.
		noReplace := flags&abi.MAP_FIXED_NOREPLACE != 0
		if noReplace && !s.Free(start, end) {
			return 0, unix.EEXIST
		}
		if err := placedOK(); err != nil {
			return 0, err
		}
		if !noReplace {
			if s.Sealed(start, end) {
				return 0, unix.EPERM
			}
			if err := s.Unmap(start, size); err != nil {
				return 0, err
			}
		}
	default:
		// A free, aligned hint is honoured; otherwise top-down from the mmap base.
		hint := mm.Addr(addr).PageDown()
		end, ok := hint.RangeEnd(size)
		if flags&abi.MAP_32BIT != 0 && end > map32BitTop {
			ok = false // Linux's MAP_32BIT looks for room below 2 GiB, hint or not
		}
		if ok && hint >= mm.MinAddr && s.Free(hint, end) {
			start = hint
		} else {
			var err error
			top := s.MmapBase
			switch {
			case t.mmapTop != 0:
				top = min(top, t.mmapTop)
			case flags&abi.MAP_32BIT != 0:
				top = min(top, map32BitTop) // as Linux's: within the first 2 GiB
			}
			if anon && typ == abi.MAP_PRIVATE && addr == 0 && flags&abi.MAP_32BIT == 0 && size%thpSize == 0 {
				start, err = thpFree(s, size, top)
			} else {
				start, err = s.FindFree(size, top)
			}
			if err != nil {
				return 0, err
			}
		}
		if err := placedOK(); err != nil {
			return 0, err
		}
	}

	name := ""
	if f != nil {
		name = f.path
		if p := hostFdPath(f.fd); p != "" {
			name = t.p.k.guestPath(p)
		}
	}
	var v *mm.VMA
	var err error
	if !anon && typ == abi.MAP_PRIVATE && !zero && st.Mode&unix.S_IFMT == unix.S_IFREG {
		// Programs and libraries: the pages of a frozen copy of the file, shared with
		// every process that maps it until one writes them.
		if fz, fsize := t.p.k.frozenFor(f.fd, size); fz != nil {
			defer fz.Unref()
			if int64(off) < fsize {
				in, _ := mm.PageUp(uint64(fsize) - off)
				in = min(in, size)
				v, err = s.MapFrozen(start, in, cpuProt(prot), fz, int64(off), name)
				if err == nil && in < size {
					// Past the end of the file: SIGBUS once SetPrivateFile has seen it.
					var tail *mm.VMA
					if tail, err = s.Map(start+mm.Addr(in), size-in, cpuProt(prot), name); err != nil {
						s.Unmap(start, in)
					} else {
						tail.Dev, tail.Ino, tail.FileOff = uint64(st.Dev), uint64(st.Ino), off+in
					}
				}
				if err != nil {
					if err == mm.ErrNoMem {
						return 0, unix.ENOMEM
					}
					return 0, err
				}
				v.Dev, v.Ino, v.FileOff = uint64(st.Dev), uint64(st.Ino), off
				s.SetPrivateFile(start, start+mm.Addr(size), f.fd, off)
				mmapFlags(s, start, size, flags)
				return uint64(start), nil
			}
		}
	}
	if !anon && typ != abi.MAP_PRIVATE {
		// The host mapping is writable whenever the file is open for writing, so that
		// mprotect can make it writable later, as Linux allows.
		acc, _ := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
		writable := acc&unix.O_ACCMODE == unix.O_RDWR
		v, err = s.MapShared(start, size, cpuProt(prot), f.fd, int64(off), writable, name)
		if err == nil && secret {
			s.MarkSecret(start, start+mm.Addr(size))
		}
		if err == nil && writable {
			// Another process may map the file too (sharedcpu.go).
			t.shareMemoryLater()
		}
	} else if typ != abi.MAP_PRIVATE {
		// As Linux's shmem_zero_setup(): charged for its size unless MAP_NORESERVE, when
		// it is set up, after MAP_FIXED took the range's old mappings away: a refusal
		// leaves a hole.
		if flags&abi.MAP_NORESERVE == 0 && mm.Overcommits(size) {
			return 0, unix.ENOMEM
		}
		// A file of its own on the internal shmem mount
		// (device 0:1), which maps shows as a deleted /dev/zero.
		if name == "" {
			name = "/dev/zero (deleted)"
		}
		if v, err = s.MapSharedAnon(start, size, cpuProt(prot), name); err == nil {
			v.Dev, v.Ino = unix.Mkdev(0, 1), t.p.k.shmemIno.Add(1)
		}
	} else {
		v, err = s.Map(start, size, cpuProt(prot), name)
	}
	if err != nil {
		if err == mm.ErrNoMem {
			return 0, unix.ENOMEM
		}
		return 0, err
	}
	v.Shared = typ != abi.MAP_PRIVATE
	if !anon {
		// Every piece: a shared mapping past the end of its file has one of its own.
		s.SetFile(start, start+mm.Addr(size), uint64(st.Dev), uint64(st.Ino), off)
		if typ == abi.MAP_PRIVATE && !zero {
			// Copy the file's bytes in; past the end of the file stays zero.
			if err := s.Fill(v, func(b []byte) error {
				for done := 0; done < len(b); {
					n, err := unix.Pread(f.fd, b[done:], int64(off)+int64(done))
					if err != nil {
						return err
					}
					if n == 0 {
						break
					}
					done += n
				}
				return nil
			}); err != nil {
				s.Unmap(start, size)
				return 0, err
			}
			if st.Mode&unix.S_IFMT == unix.S_IFREG {
				// Pages past the end of the file are SIGBUS, now or after a shrink.
				s.SetPrivateFile(start, start+mm.Addr(size), f.fd, off)
			}
		}
	}
	mmapFlags(s, start, size, flags)
	return uint64(start), nil
}

// legacyMapFlags are the flags MAP_SHARED_VALIDATE knows on x86-64, as Linux's
// LEGACY_MAP_MASK (MAP_HUGE_2MB and MAP_HUGE_1GB are size bits of MAP_HUGETLB).
const legacyMapFlags = abi.MAP_SHARED | abi.MAP_PRIVATE | abi.MAP_FIXED | abi.MAP_ANONYMOUS |
	abi.MAP_DENYWRITE | abi.MAP_EXECUTABLE | abi.MAP_UNINITIALIZED | abi.MAP_GROWSDOWN |
	abi.MAP_LOCKED | abi.MAP_NORESERVE | abi.MAP_POPULATE | abi.MAP_NONBLOCK | abi.MAP_STACK |
	abi.MAP_HUGETLB | abi.MAP_32BIT | 21<<26 | 30<<26

// mmapTypeOK makes the checks of mapping type, flags and offset that Linux's do_mmap
// makes once the place is known and before anything is unmapped: an anonymous mapping is
// private or plain MAP_SHARED, and not a growing-down shared one; a file mapping's offset
// stays within the file's reach, and it does not grow down, and with MAP_SHARED_VALIDATE
// knows every flag (no file here supports MAP_SYNC).
func mmapTypeOK(anon bool, typ, flags uint32, off, size uint64, st *unix.Stat_t) error {
	if anon {
		if typ != abi.MAP_PRIVATE && typ != abi.MAP_SHARED || typ == abi.MAP_SHARED && flags&abi.MAP_GROWSDOWN != 0 {
			return unix.EINVAL
		}
		return nil
	}
	// As Linux's file_mmap_ok: the end of the range within what the file's offsets reach.
	max := ^uint64(0)
	if m := st.Mode & unix.S_IFMT; m == unix.S_IFREG || m == unix.S_IFBLK {
		max = 1<<63 - 1
	}
	if size > max || off/mm.PageSize > (max-size)/mm.PageSize {
		return unix.EOVERFLOW
	}
	if typ != abi.MAP_PRIVATE && typ != abi.MAP_SHARED && typ != abi.MAP_SHARED_VALIDATE {
		return unix.EINVAL
	}
	if typ == abi.MAP_SHARED_VALIDATE && flags&^legacyMapFlags != 0 {
		return unix.EOPNOTSUPP
	}
	if flags&abi.MAP_GROWSDOWN != 0 {
		return unix.EINVAL
	}
	return nil
}

// mmapFlags gives the new mappings of [start, start+size) the flags of Linux's that mmap's
// flags set: VM_NORESERVE for MAP_NORESERVE, VM_NOHUGEPAGE for MAP_STACK (Linux 6.8
// and later), which keep them apart from neighbours without them.
func mmapFlags(s *mm.Space, start mm.Addr, size uint64, flags uint32) {
	noReserve, stack := flags&abi.MAP_NORESERVE != 0, flags&abi.MAP_STACK != 0
	if !noReserve && !stack {
		return
	}
	s.Update(start, start+mm.Addr(size), func(v *mm.VMA) error {
		v.NoReserve, v.NoHugePage = noReserve, stack
		return nil
	})
}

// secretMmapOK applies Linux's checks to a mapping of a secret memory file: its
// file system is noexec (EPERM for PROT_EXEC, from do_mmap), then secretmem_mmap's: shared
// mappings only, locked, so within RLIMIT_MEMLOCK without CAP_IPC_LOCK (EAGAIN).
func (t *Task) secretMmapOK(typ, prot uint32, size uint64) error {
	switch {
	case prot&abi.PROT_EXEC != 0:
		return unix.EPERM
	case typ == abi.MAP_PRIVATE:
		return unix.EINVAL
	case !t.p.creds.capable(capIpcL) && (t.p.mm.Locked()+size)/mm.PageSize > t.p.rlimits[abi.RLIMIT_MEMLOCK].Cur/mm.PageSize:
		return unix.EAGAIN
	}
	return nil
}

// sysRemapFilePages implements remap_file_pages(2) as Linux 6.x emulates it since it
// deprecated the call: the range, rounded to pages, is mapped again over the same object
// at page offset pgoff, so that another process sharing the object still sees it as
// before. prot must be 0; flags other than MAP_NONBLOCK are ignored, as Linux ignores them.
func sysRemapFilePages(t *Task, a Args) (uint64, error) {
	start, size, pgoff := mm.Addr(a[0]).PageDown(), a[1]&^(mm.PageSize-1), a[3]
	switch {
	case a[2] != 0, uint64(start)+size <= uint64(start), pgoff+size/mm.PageSize < pgoff:
		return 0, unix.EINVAL
	}
	if err := t.p.mm.RemapFile(start, size, pgoff); err != nil {
		if err == mm.ErrNoMem {
			return 0, unix.ENOMEM
		}
		return 0, err
	}
	return 0, nil
}

// sysMunmap implements munmap(2).
func sysMunmap(t *Task, a Args) (uint64, error) {
	addr := a.Ptr(0)
	if !addr.PageAligned() || a[1] == 0 {
		return 0, unix.EINVAL
	}
	size, ok := mm.PageUp(a[1])
	end, in := addr.RangeEnd(size)
	if !ok || !in {
		return 0, unix.EINVAL
	}
	if t.p.mm.Sealed(addr, end) {
		return 0, unix.EPERM
	}
	if err := t.p.mm.Unmap(addr, size); err != nil {
		return 0, unix.ENOMEM
	}
	return 0, nil
}

// protSem is PROT_SEM, which mprotect takes and ignores.
const protSem = 0x8

// sysMprotect implements mprotect(2).
func sysMprotect(t *Task, a Args) (uint64, error) {
	// In Linux's order: both growing directions, alignment, an empty range (whatever the
	// bits), a range past the end, then the bits (PROT_SEM is one x86-64 knows).
	prot := a.Uint(2)
	grows := prot & (abi.PROT_GROWSDOWN | abi.PROT_GROWSUP)
	if grows == abi.PROT_GROWSDOWN|abi.PROT_GROWSUP || !a.Ptr(0).PageAligned() {
		return 0, unix.EINVAL
	}
	if a[1] == 0 {
		return 0, nil
	}
	size, ok := mm.PageUp(a[1])
	if _, nowrap := a.Ptr(0).AddLength(size); !ok || !nowrap {
		return 0, unix.ENOMEM
	}
	if prot&^(7|protSem|grows) != 0 {
		return 0, unix.EINVAL
	}
	if grows != 0 {
		// No mapping here grows (MAP_GROWSDOWN makes a plain one). Linux looks at the
		// first mapping in the range: with PROT_GROWSDOWN any, with PROT_GROWSUP one
		// that holds the start; found, it is refused for not growing, else the range
		// is a hole.
		start := a.Ptr(0)
		end := start + mm.Addr(size)
		if grows == abi.PROT_GROWSUP {
			end = start + mm.PageSize
		}
		if t.p.mm.Free(start, end) {
			return 0, unix.ENOMEM
		}
		return 0, unix.EINVAL
	}
	if t.p.mm.Sealed(a.Ptr(0), a.Ptr(0)+mm.Addr(size)) {
		return 0, unix.EPERM
	}
	if a.Uint(2)&abi.PROT_EXEC != 0 && t.p.mm.Mapped(a.Ptr(0), a.Ptr(0)+mm.Addr(size)) &&
		t.p.mm.Secret(a.Ptr(0), a.Ptr(0)+mm.Addr(size)) {
		// A secret memory file's mount is noexec: its mappings may never execute.
		return 0, unix.EACCES
	}
	// As Linux: the mappings before the first hole change, then the hole is ENOMEM.
	start := a.Ptr(0)
	end := start + mm.Addr(size)
	upto := t.p.mm.MappedUntil(start, end)
	if upto == start {
		return 0, unix.ENOMEM
	}
	if err := t.p.mm.Protect(start, uint64(upto-start), cpuProt(a.Uint(2)&7)); err != nil {
		if err == unix.ENOMEM || err == unix.EACCES {
			return 0, err
		}
		return 0, unix.ENOMEM
	}
	if upto < end {
		return 0, unix.ENOMEM
	}
	return 0, nil
}

// sysMremap implements mremap(2): shrink in place, grow in place when the pages after are
// free, or move (MREMAP_MAYMOVE, MREMAP_FIXED).
func sysMremap(t *Task, a Args) (uint64, error) {
	old, oldLen, newLen, flags, newAddr := a.Ptr(0), a[1], a[2], a.Uint(3), a.Ptr(4)
	s := t.p.mm
	if uint64(old)%mm.PageSize != 0 || flags&^(abi.MREMAP_MAYMOVE|abi.MREMAP_FIXED|abi.MREMAP_DONTUNMAP) != 0 {
		return 0, unix.EINVAL
	}
	oldSize, ok1 := mm.PageUp(oldLen)
	newSize, ok2 := mm.PageUp(newLen)
	if flags&abi.MREMAP_FIXED != 0 && flags&abi.MREMAP_MAYMOVE == 0 ||
		flags&abi.MREMAP_DONTUNMAP != 0 && (flags&abi.MREMAP_MAYMOVE == 0 || oldSize != newSize) {
		return 0, unix.EINVAL
	}
	if !ok1 || !ok2 || newSize == 0 || newSize > uint64(mm.TaskSize) {
		return 0, unix.EINVAL
	}
	if flags&abi.MREMAP_FIXED != 0 {
		// As Linux's check_mremap_params, before the old mapping is looked at: the new
		// range is aligned, in user space, and apart from the old one.
		newEnd, ok := newAddr.RangeEnd(newSize)
		if !newAddr.PageAligned() || !ok || old+mm.Addr(oldSize) > newAddr && newEnd > old {
			return 0, unix.EINVAL
		}
	}
	v := s.Lookup(old)
	if v == nil {
		return 0, unix.EFAULT
	}
	if oldSize == 0 {
		return t.mremapDup(old, v, newSize, flags, newAddr)
	}
	if v.Sealed {
		return 0, unix.EPERM
	}
	// As Linux: an old range past the end is EFAULT for a move, EINVAL (munmap's) for a
	// shrink in place; a shrink unmaps the tail of the old range whatever it holds, and
	// one in place (or no change of size) is all there is.
	// A move to a fixed place without a change of size (Linux's vrm_move_only, judged
	// before any shrink) takes every mapping of the range along, since Linux 6.17.
	moveOnly := flags&abi.MREMAP_FIXED != 0 && newSize == oldSize
	end, ok := old.RangeEnd(oldSize)
	if flags&(abi.MREMAP_FIXED|abi.MREMAP_DONTUNMAP) != 0 && !ok {
		return 0, unix.EFAULT
	}
	if newSize < oldSize && !ok {
		return 0, unix.EINVAL // as munmap's
	}
	if newSize < oldSize {
		if s.Sealed(old+mm.Addr(newSize), end) {
			return 0, unix.EPERM
		}
		if err := s.Unmap(old+mm.Addr(newSize), oldSize-newSize); err != nil {
			return 0, unix.ENOMEM
		}
		oldSize = newSize
	}
	if newSize == oldSize && flags&(abi.MREMAP_FIXED|abi.MREMAP_DONTUNMAP) == 0 {
		return uint64(old), nil
	}
	// What moves or grows otherwise lies in one mapping.
	v = s.Lookup(old)
	if v == nil || !moveOnly && oldSize > uint64(s.MappingEnd(old)-old) {
		return 0, unix.EFAULT
	}
	if s.Sealed(old, old+mm.Addr(oldSize)) {
		return 0, unix.EPERM
	}
	if flags&abi.MREMAP_DONTUNMAP != 0 {
		return t.mremapDontUnmap(old, v, oldSize, flags, newAddr)
	}
	if v.Locked && newSize > oldSize && !t.mlockFits(newSize-oldSize) {
		return 0, unix.EAGAIN // as Linux's vma_to_resize()
	}
	if v.Locked && !v.Secret && newSize > oldSize {
		// The grown mapping stays locked, its new pages populated, as on Linux.
		r, err := t.mremap(old, oldSize, newSize, flags, newAddr, moveOnly)
		if err == nil {
			to := mm.Addr(r)
			s.SetLocked(to, to+mm.Addr(newSize), true, lockLeaves)
			t.populate(to+mm.Addr(oldSize), to+mm.Addr(newSize))
		}
		return r, err
	}
	return t.mremap(old, oldSize, newSize, flags, newAddr, moveOnly)
}

// mremapDup is mremap with an old size of 0: as Linux, a shared mapping's object is
// mapped again elsewhere (MREMAP_MAYMOVE) and the old mapping stays; a private one is
// EINVAL.
func (t *Task) mremapDup(old mm.Addr, v *mm.VMA, newSize uint64, flags uint32, newAddr mm.Addr) (uint64, error) {
	s := t.p.mm
	if !v.Shared {
		return 0, unix.EINVAL
	}
	if flags&abi.MREMAP_MAYMOVE == 0 {
		return 0, unix.ENOMEM // it could only grow in place, and it ends past old
	}
	if v.Sealed {
		return 0, unix.EPERM
	}
	to := newAddr
	if flags&abi.MREMAP_FIXED != 0 {
		if uint64(to)%mm.PageSize != 0 || uint64(to)+newSize > uint64(mm.TaskSize) || uint64(to)+newSize < uint64(to) {
			return 0, unix.EINVAL
		}
		if s.Sealed(to, to+mm.Addr(newSize)) {
			return 0, unix.EPERM
		}
	} else {
		var err error
		if to, err = s.FindFree(newSize, s.MmapBase); err != nil {
			return 0, err
		}
	}
	// What lies at a fixed address goes in the call, once the object is held.
	if err := s.DupShared(old, to, newSize); err != nil {
		return 0, unix.ENOMEM
	}
	return uint64(to), nil
}

// mremap moves or resizes the checked mapping at old.
func (t *Task) mremap(old mm.Addr, oldSize, newSize uint64, flags uint32, newAddr mm.Addr, moveOnly bool) (uint64, error) {
	s := t.p.mm
	if flags&abi.MREMAP_FIXED == 0 && newSize <= oldSize {
		if newSize < oldSize {
			if err := s.Unmap(old+mm.Addr(newSize), oldSize-newSize); err != nil {
				return 0, err
			}
		}
		return uint64(old), nil
	}
	if flags&abi.MREMAP_FIXED == 0 && s.Free(old+mm.Addr(oldSize), old+mm.Addr(newSize)) &&
		uint64(old)+newSize <= uint64(mm.TaskSize) {
		if err := s.Grow(old, oldSize, newSize); err == nil {
			return uint64(old), nil
		}
	}
	if flags&abi.MREMAP_MAYMOVE == 0 {
		return 0, unix.ENOMEM
	}
	var to mm.Addr
	if flags&abi.MREMAP_FIXED != 0 {
		if uint64(newAddr)%mm.PageSize != 0 {
			return 0, unix.EINVAL
		}
		to = newAddr
		if uint64(to) < uint64(old)+oldSize && uint64(old) < uint64(to)+newSize ||
			uint64(to)+newSize > uint64(mm.TaskSize) || uint64(to)+newSize < uint64(to) {
			// As Linux: the new range may not overlap the old one, nor leave user space.
			return 0, unix.EINVAL
		}
		if s.Sealed(to, to+mm.Addr(newSize)) {
			return 0, unix.EPERM
		}
		if err := s.Unmap(to, newSize); err != nil {
			return 0, err
		}
		if to < mm.MinAddr {
			return 0, unix.EPERM // as mmap's MAP_FIXED below mmap_min_addr
		}
		if end := old + mm.Addr(oldSize); moveOnly && s.MappedUntil(old, end) < end {
			// A move of a range with holes: each mapping moves to its place in the
			// new range, the holes stay holes.
			for at := old; at < end; {
				v := s.FindVMA(at)
				if v == nil || v.Start >= end {
					break
				}
				from := max(at, v.Start)
				upto := s.MappedUntil(from, end)
				if err := s.Relocate(from, uint64(upto-from), to+(from-old), uint64(upto-from)); err != nil {
					return 0, unix.ENOMEM
				}
				at = upto
			}
			return uint64(to), nil
		}
	} else {
		var err error
		if to, err = s.FindFree(newSize, s.MmapBase); err != nil {
			return 0, err
		}
	}
	if err := s.Relocate(old, oldSize, to, newSize); err != nil {
		return 0, unix.ENOMEM
	}
	return uint64(to), nil
}

// mremapDontUnmap is mremap with MREMAP_DONTUNMAP: the pages move to a new place of the
// same size, and the old range stays mapped as it was, emptied: private anonymous memory
// reads zeros again, a shared mapping still shows its object (the same pages), and the
// old range is no longer locked. A private file mapping, which would read the file
// again, is not done (EINVAL).
func (t *Task) mremapDontUnmap(old mm.Addr, v *mm.VMA, size uint64, flags uint32, newAddr mm.Addr) (uint64, error) {
	s := t.p.mm
	if !v.Shared && v.Ino != 0 {
		return 0, unix.EINVAL
	}
	to := newAddr
	if flags&abi.MREMAP_FIXED != 0 {
		if uint64(to)%mm.PageSize != 0 {
			return 0, unix.EINVAL
		}
		end, ok := to.RangeEnd(size)
		if !ok || to < old+mm.Addr(size) && old < end {
			return 0, unix.EINVAL
		}
		if s.Sealed(to, end) {
			return 0, unix.EPERM
		}
		if err := s.Unmap(to, size); err != nil {
			return 0, err
		}
		if to < mm.MinAddr {
			return 0, unix.EPERM
		}
	} else {
		var err error
		if to, err = s.FindFree(size, s.MmapBase); err != nil {
			return 0, err
		}
	}
	if v.Shared {
		if err := s.DupShared(old, to, size); err != nil {
			return 0, unix.ENOMEM
		}
		s.SetLocked(old, old+mm.Addr(size), false, lockLeaves)
		return uint64(to), nil
	}
	prot, name := v.Prot, v.Name
	if err := s.Relocate(old, size, to, size); err != nil {
		return 0, unix.ENOMEM
	}
	if _, err := s.Map(old, size, prot, name); err != nil {
		return 0, unix.ENOMEM
	}
	return uint64(to), nil
}

// sysMadvise implements madvise(2): the advice is checked as Linux checks it, and the
// advice that changes what the guest sees acts (see madviseVMA).
func sysMadvise(t *Task, a Args) (uint64, error) {
	advice := a.Int(2)
	if !madviseValid(advice) || !a.Ptr(0).PageAligned() {
		return 0, unix.EINVAL
	}
	size, ok := mm.PageUp(a[1])
	start := a.Ptr(0)
	end, nowrap := start.AddLength(size)
	if !ok || !nowrap {
		return 0, unix.EINVAL
	}
	if size == 0 {
		return 0, nil
	}
	s := t.p.mm
	switch advice {
	case abi.MADV_HWPOISON, abi.MADV_SOFT_OFFLINE:
		// Poisoning host pages is not the guest's to do: refused as to a process
		// without CAP_SYS_ADMIN.
		return 0, unix.EPERM
	case abi.MADV_POPULATE_READ, abi.MADV_POPULATE_WRITE:
		return 0, madvisePopulate(s, start, end, advice)
	}
	// As Linux's madvise_walk_vmas: each mapping in turn, the first refusal ends the
	// walk; a hole is ENOMEM once the mappings around it took the advice. The vsyscall
	// page is no mapping of the process's to advise.
	hole := false
	err := s.Update(start, end, func(v *mm.VMA) error {
		if v.Name == "[vsyscall]" {
			hole = true
			return nil
		}
		if sealedAgainst(v, advice) {
			return unix.EPERM
		}
		return madviseVMA(s, v, advice)
	})
	if err == nil && (hole || !s.Mapped(start, end)) {
		err = unix.ENOMEM
	}
	return 0, err
}

// madviseValid says whether Linux knows the advice (with KSM, transparent huge pages and
// memory failure built in, as on Debian's kernels).
func madviseValid(advice int32) bool {
	switch advice {
	case abi.MADV_NORMAL, abi.MADV_RANDOM, abi.MADV_SEQUENTIAL, abi.MADV_WILLNEED, abi.MADV_DONTNEED,
		abi.MADV_FREE, abi.MADV_REMOVE, abi.MADV_DONTFORK, abi.MADV_DOFORK, abi.MADV_MERGEABLE,
		abi.MADV_UNMERGEABLE, abi.MADV_HUGEPAGE, abi.MADV_NOHUGEPAGE, abi.MADV_DONTDUMP, abi.MADV_DODUMP,
		abi.MADV_WIPEONFORK, abi.MADV_KEEPONFORK, abi.MADV_COLD, abi.MADV_PAGEOUT, abi.MADV_POPULATE_READ,
		abi.MADV_POPULATE_WRITE, abi.MADV_DONTNEED_LOCKED, abi.MADV_COLLAPSE, abi.MADV_HWPOISON,
		abi.MADV_SOFT_OFFLINE:
		return true
	}
	// MADV_GUARD_INSTALL and MADV_GUARD_REMOVE (Linux 6.13) are not implemented: EINVAL,
	// as from a kernel without them, on which their users fall back to mprotect.
	return false
}

// special says what Linux's flags for the kernel's own mappings forbid: [vvar] is
// VM_IO and VM_PFNMAP, and it and [vdso] are VM_DONTEXPAND (VM_SPECIAL).
func special(v *mm.VMA) (io, pfn, dontExpand bool) {
	switch v.Name {
	case "[vvar]":
		return true, true, true
	case "[vdso]":
		return false, false, true
	}
	return false, false, false
}

// madviseVMA gives the advice to v, as Linux's madvise_vma_behavior: the advice that
// changes what vemu does (DONTNEED, REMOVE, the fork flags) acts; the rest are hints
// vemu has no use for, checked as Linux checks them.
func madviseVMA(s *mm.Space, v *mm.VMA, advice int32) error {
	io, pfn, dontExpand := special(v)
	anonPrivate := !v.Shared && v.Ino == 0 && !pfn
	switch advice {
	case abi.MADV_DONTNEED, abi.MADV_FREE, abi.MADV_COLD, abi.MADV_PAGEOUT, abi.MADV_REMOVE:
		if v.Locked {
			// Locked pages (secret memory's) are neither dropped nor paged out.
			return unix.EINVAL
		}
	}
	switch advice {
	case abi.MADV_RANDOM, abi.MADV_SEQUENTIAL, abi.MADV_HUGEPAGE, abi.MADV_NOHUGEPAGE:
		// Flags the kernel's own mappings never take.
		if dontExpand {
			return unix.EINVAL
		}
		if advice == abi.MADV_HUGEPAGE || advice == abi.MADV_NOHUGEPAGE {
			v.HugePage, v.NoHugePage = advice == abi.MADV_HUGEPAGE, advice == abi.MADV_NOHUGEPAGE
		}
	case abi.MADV_DONTDUMP:
		if dontExpand && !pfn { // [vvar] is VM_DONTDUMP already: no change
			return unix.EINVAL
		}
	case abi.MADV_COLD, abi.MADV_PAGEOUT:
		if pfn {
			return unix.EINVAL
		}
	case abi.MADV_DONTNEED, abi.MADV_DONTNEED_LOCKED:
		if pfn {
			return unix.EINVAL
		}
		if !dontExpand { // the [vdso]'s pages come back as they were: its code
			s.Discard(v.Start, v.Len())
		}
	case abi.MADV_FREE:
		// The pages may be dropped under memory pressure, which vemu never sees:
		// they keep their contents, one of the outcomes Linux allows.
		if !anonPrivate || dontExpand {
			return unix.EINVAL
		}
	case abi.MADV_REMOVE:
		switch {
		case pfn || !v.Shared && v.Ino == 0:
			return unix.EINVAL // no file behind it
		case !v.Shared || !v.Writable():
			return unix.EACCES
		}
		return s.Remove(v, v.Start, v.End)
	case abi.MADV_DONTFORK, abi.MADV_DOFORK:
		if io || dontExpand && advice == abi.MADV_DONTFORK {
			return unix.EINVAL
		}
		v.DontFork = advice == abi.MADV_DONTFORK
	case abi.MADV_WIPEONFORK, abi.MADV_KEEPONFORK:
		if advice == abi.MADV_WIPEONFORK && (v.Shared || v.Ino != 0 || dontExpand) {
			return unix.EINVAL
		}
		v.WipeOnFork = advice == abi.MADV_WIPEONFORK
	case abi.MADV_DODUMP:
		if io || pfn || dontExpand {
			return unix.EINVAL
		}
	case abi.MADV_COLLAPSE:
		// A huge page needs an aligned 2 MiB block inside the mapping.
		const huge = 2 << 20
		lo := (uint64(v.Start) + huge - 1) &^ (huge - 1)
		if pfn || lo+huge > uint64(v.End) {
			return unix.EINVAL
		}
	}
	return nil
}

// madvisePopulate is MADV_POPULATE_READ and MADV_POPULATE_WRITE: vemu's memory is there
// once mapped, so what is left is Linux's answer: EINVAL where the pages may not be read
// (or written), EFAULT past the end of a shared file (SIGBUS), ENOMEM at a hole.
func madvisePopulate(s *mm.Space, start, end mm.Addr, advice int32) error {
	want := emu.ProtRead
	if advice == abi.MADV_POPULATE_WRITE {
		want = emu.ProtWrite
	}
	for a := start; a < end; {
		v := s.Lookup(a)
		if v == nil || v.Start > a {
			return unix.ENOMEM
		}
		if _, pfn, _ := special(v); pfn || v.Prot&want == 0 {
			return unix.EINVAL
		}
		if v.Bus {
			return unix.EFAULT
		}
		a = v.End
	}
	return nil
}

// sysBrk implements brk(2). After mlockall(MCL_FUTURE) the heap's growth is locked,
// within RLIMIT_MEMLOCK (otherwise brk fails, as Linux's check_brk_limits()).
func sysBrk(t *Task, a Args) (uint64, error) {
	r, err := t.brk(a.Ptr(0))
	if p := t.p; p.vforkHeap && r != p.vforkBrk {
		p.vforkBrk, p.vforkBrkMoved = r, true
	}
	return uint64(r), err
}

// brk moves the program break, populating and locking what it adds under
// MCL_FUTURE.
func (t *Task) brk(want mm.Addr) (mm.Addr, error) {
	s := t.p.mm
	if !s.LockFuture {
		return s.SetBrk(want), nil
	}
	oldEnd, _ := mm.PageUp(uint64(s.Brk))
	newEnd, ok := mm.PageUp(uint64(want))
	if ok && newEnd > oldEnd && !t.mlockFits(newEnd-oldEnd) {
		return s.Brk, nil
	}
	r := s.SetBrk(want)
	if end, _ := mm.PageUp(uint64(r)); end > oldEnd {
		s.SetLocked(mm.Addr(oldEnd), mm.Addr(end), true, lockLeaves)
		if !s.LockOnFault {
			t.populate(mm.Addr(oldEnd), mm.Addr(end))
		}
	}
	return r, nil
}

// sysMlock implements mlock(2) as Linux's do_mlock(): the range's mappings are marked
// locked (VmLck), within RLIMIT_MEMLOCK without CAP_IPC_LOCK, and their pages populated,
// so that mincore finds them resident. vemu never pages guest memory out.
func sysMlock(t *Task, a Args) (uint64, error) { return t.mlock(a, true, false) }

// mlockOnFault is MLOCK_ONFAULT.
const mlockOnFault = 1

// sysMlock2 implements mlock2(2): mlock, or with MLOCK_ONFAULT without the populating.
func sysMlock2(t *Task, a Args) (uint64, error) {
	if a[2]&^mlockOnFault != 0 {
		return 0, unix.EINVAL
	}
	return t.mlock(a, true, a[2]&mlockOnFault != 0)
}

// sysMunlock implements munlock(2).
func sysMunlock(t *Task, a Args) (uint64, error) { return t.mlock(a, false, false) }

// lockLeaves says which mappings locking leaves as they are, as Linux's mlock_fixup():
// the VM_SPECIAL ones ([vvar], [vdso]) and secret memory, locked already.
func lockLeaves(v *mm.VMA) bool {
	_, _, dontExpand := special(v)
	return dontExpand || v.Secret
}

// canMlock is Linux's can_do_mlock(): a RLIMIT_MEMLOCK above zero, or CAP_IPC_LOCK.
func (t *Task) canMlock() bool {
	return t.p.rlimits[abi.RLIMIT_MEMLOCK].Cur != 0 || t.p.creds.capable(capIpcL)
}

// mlockFits is Linux's mlock_future_ok(): n more locked bytes stay within
// RLIMIT_MEMLOCK, or the process has CAP_IPC_LOCK.
func (t *Task) mlockFits(n uint64) bool {
	if t.p.creds.capable(capIpcL) {
		return true
	}
	locked, lim := t.p.mm.Locked()/mm.PageSize, t.p.rlimits[abi.RLIMIT_MEMLOCK].Cur/mm.PageSize
	return n/mm.PageSize <= lim && locked <= lim-n/mm.PageSize // without wrapping for huge n
}

// populate gives the pages of [start, end) host memory, as Linux's __mm_populate(), and
// answers its errors as mlock does (EAGAIN for want of memory). A request past what the
// host has available is refused before it is tried.
func (t *Task) populate(start, end mm.Addr) error {
	if err := t.p.mm.Populate(start, end, hostAvailable()); err != nil {
		return unix.EAGAIN
	}
	return nil
}

// hostAvailable is the host's MemAvailable in bytes (unbounded when unknown).
func hostAvailable() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ^uint64(0)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			if kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
				return kb * 1024
			}
		}
	}
	return ^uint64(0)
}

func (t *Task) mlock(a Args, lock, onFault bool) (uint64, error) {
	// As Linux's do_mlock: the length from the page of the start, page-aligned with
	// wrapping; a range that then wraps is EINVAL, after the checks of the limit.
	start, s := a.Ptr(0).PageDown(), t.p.mm
	n := (a[1] + uint64(a.Ptr(0)-start) + mm.PageSize - 1) &^ (mm.PageSize - 1)
	end := start + mm.Addr(n)
	if lock {
		if !t.canMlock() {
			return 0, unix.EPERM
		}
		// As do_mlock: what is locked already in the range is not counted twice.
		if !t.mlockFits(n) && (end < start || !t.mlockFits(n-s.LockedIn(start, end))) {
			return 0, unix.ENOMEM
		}
	}
	if end < start {
		return 0, unix.EINVAL
	}
	if end == start {
		return 0, nil
	}
	if lock {
		if s.Secret(start, end) {
			// Linux's mlock faults the pages in, which secret memory refuses (EFAULT, which
			// mlock reports as ENOMEM).
			return 0, unix.ENOMEM
		}
	}
	// As apply_vma_lock_flags(): the mappings before a hole change, then ENOMEM.
	if v := s.Lookup(start); v == nil && start < end {
		return 0, unix.ENOMEM
	}
	hole := s.MappedUntil(start, end)
	s.SetLocked(start, hole, lock, lockLeaves)
	if hole < end {
		return 0, unix.ENOMEM
	}
	if lock && !onFault {
		if err := t.populate(start, end); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysMlockall implements mlockall(2) as Linux's: MCL_FUTURE locks later mappings,
// MCL_CURRENT every mapping now, within RLIMIT_MEMLOCK for the whole address space
// without CAP_IPC_LOCK; pages are populated unless MCL_ONFAULT (what cannot be is left).
func sysMlockall(t *Task, a Args) (uint64, error) {
	flags := a.Int(0)
	if flags == 0 || flags&^(abi.MCL_CURRENT|abi.MCL_FUTURE|abi.MCL_ONFAULT) != 0 || flags == abi.MCL_ONFAULT {
		return 0, unix.EINVAL
	}
	if !t.canMlock() {
		return 0, unix.EPERM
	}
	s := t.p.mm
	if flags&abi.MCL_CURRENT != 0 && !t.p.creds.capable(capIpcL) {
		var total uint64
		for v := range s.VMAs() {
			total += v.Len()
		}
		if total/mm.PageSize > t.p.rlimits[abi.RLIMIT_MEMLOCK].Cur/mm.PageSize {
			return 0, unix.ENOMEM
		}
	}
	onFault := flags&abi.MCL_ONFAULT != 0
	s.LockFuture, s.LockOnFault = flags&abi.MCL_FUTURE != 0, flags&abi.MCL_FUTURE != 0 && onFault
	if flags&abi.MCL_CURRENT != 0 {
		s.SetLocked(0, mm.TaskSize, true, lockLeaves)
		if !onFault {
			t.populate(0, mm.TaskSize)
		}
	}
	return 0, nil
}

// sysMunlockall implements munlockall(2): nothing is locked, now or later.
func sysMunlockall(t *Task, a Args) (uint64, error) {
	s := t.p.mm
	s.LockFuture, s.LockOnFault = false, false
	s.SetLocked(0, mm.TaskSize, false, lockLeaves)
	return 0, nil
}

// sysMsync implements msync(2): shared file mappings are written back by the host.
func sysMsync(t *Task, a Args) (uint64, error) {
	addr, flags := a.Ptr(0), int(a.Int(2))
	if !addr.PageAligned() || flags&^(abi.MS_ASYNC|abi.MS_SYNC|abi.MS_INVALIDATE) != 0 ||
		flags&abi.MS_ASYNC != 0 && flags&abi.MS_SYNC != 0 {
		return 0, unix.EINVAL
	}
	// As Linux's msync: the length page-aligned with wrapping; holes are passed over and
	// answered ENOMEM at the end (at once for plain MS_ASYNC); MS_INVALIDATE of locked
	// memory is EBUSY.
	end := addr + mm.Addr((a[1]+mm.PageSize-1)&^(mm.PageSize-1))
	if end < addr {
		return 0, unix.ENOMEM
	}
	var unmapped error
	for at := addr; at < end; {
		v := t.p.mm.FindVMA(at)
		if v == nil {
			return 0, unix.ENOMEM
		}
		if at < v.Start {
			if flags == abi.MS_ASYNC || v.Start >= end {
				return 0, unix.ENOMEM
			}
			at, unmapped = v.Start, unix.ENOMEM
		}
		if flags&abi.MS_INVALIDATE != 0 && v.Locked {
			return 0, unix.EBUSY
		}
		stop := min(v.End, end)
		if v.Shared {
			h := v.Host()[at-v.Start : stop-v.Start]
			if err := unix.Msync(h, flags); err != nil {
				return 0, err
			}
		}
		at = stop
	}
	return 0, unmapped
}

// sysMincore implements mincore(2): a page is resident where the guest's memory exists
// on the host. The vector is written a piece at a time, as Linux does, so a short one
// faults (EFAULT) before vemu has done work for the whole range.
func sysMincore(t *Task, a Args) (uint64, error) {
	addr := a.Ptr(0)
	if !addr.PageAligned() {
		return 0, unix.EINVAL
	}
	last, ok := addr.RangeEnd(a[1])
	end, up := last.PageUp()
	if !ok || !up {
		return 0, unix.ENOMEM
	}
	const chunk = mm.PageSize // vector bytes per piece
	var vec [chunk]byte
	out := a.Ptr(2)
	for at := addr; at < end; {
		n := min(uint64(end-at)/mm.PageSize, chunk)
		// As Linux's: what is mapped from at on is answered (and copied out) before a
		// hole after it is ENOMEM.
		stop := t.p.mm.MappedUntil(at, at+mm.Addr(n*mm.PageSize))
		if stop == at {
			return 0, unix.ENOMEM
		}
		n = uint64(stop-at) / mm.PageSize
		t.p.mm.Resident(at, vec[:n])
		if err := t.p.mm.CopyOut(out, vec[:n]); err != nil {
			return 0, err
		}
		out += mm.Addr(n)
		at = stop
	}
	return 0, nil
}

// sealedAgainst says whether advice that discards memory meets sealed, read-only,
// private anonymous memory, which Linux's can_madvise_modify() refuses: its contents
// could otherwise change.
func sealedAgainst(v *mm.VMA, advice int32) bool {
	switch advice {
	case abi.MADV_DONTNEED, abi.MADV_FREE, abi.MADV_DONTNEED_LOCKED, abi.MADV_REMOVE, abi.MADV_DONTFORK,
		abi.MADV_WIPEONFORK:
		return v.Sealed && !v.Shared && v.Ino == 0 && v.Prot&emu.ProtWrite == 0
	}
	return false
}

// sysMseal implements mseal(2).
func sysMseal(t *Task, a Args) (uint64, error) {
	if a[2] != 0 || !a.Ptr(0).PageAligned() {
		return 0, unix.EINVAL
	}
	size, ok := mm.PageUp(a[1])
	end, nowrap := a.Ptr(0).AddLength(size)
	if !ok || !nowrap {
		return 0, unix.EINVAL
	}
	if size == 0 {
		return 0, nil
	}
	return 0, t.p.mm.Seal(a.Ptr(0), end)
}
