package mm

import (
	"math"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/emu"
)

// RemapFile makes [start, start+size) (page-aligned, not wrapping) show its object at
// page offset pgoff, as Linux's remap_file_pages emulation does: by mapping the object
// again there, shared, with the range's permissions. The range must lie in shared
// mappings of one object (a file, or the memory of one shared anonymous mapping) with the
// same permissions and no hole (EINVAL); a sealed one is EPERM, as mmap over it; an
// offset past what a file may hold is EOVERFLOW. Other processes' mappings of the object
// are left as they are.
func (s *Space) RemapFile(start Addr, size, pgoff uint64) error {
	end := start + Addr(size)
	first := s.Lookup(start)
	if first == nil || !first.Shared {
		return unix.EINVAL
	}
	for a := first.End; a < end; {
		v := s.Lookup(a)
		if v == nil || !sameObject(first, v) || v.Prot != first.Prot || v.Sealed != first.Sealed ||
			v.Locked != first.Locked {
			return unix.EINVAL
		}
		a = v.End
	}
	if first.Sealed {
		return unix.EPERM
	}
	// As Linux's file_mmap_ok() for a regular file: the mapping must end within an off_t.
	if pgoff > (math.MaxInt64-size)/PageSize {
		return unix.EOVERFLOW
	}
	return s.mapObject(start, size, first, pgoff*PageSize)
}

// DupShared maps the object the shared mapping at from shows, from from's place in it,
// again at to for size bytes, in place of what lies there (from's own mapping too):
// Linux's mremap with an old size of 0. A mapping that is not shared is EINVAL.
func (s *Space) DupShared(from, to Addr, size uint64) error {
	v := s.Lookup(from)
	if v == nil || !v.Shared {
		return unix.EINVAL
	}
	off := v.off + uint64(from-v.Start)
	if v.back.file != nil {
		off += uint64(v.back.foff)
	}
	return s.mapObject(to, size, v, off)
}

// mapObject makes [start, start+size) show the object of first, a shared mapping, from
// offset off in it (a file offset, or one in shared anonymous memory), with first's
// permissions and name, in place of what the range held.
func (s *Space) mapObject(start Addr, size uint64, first *VMA, off uint64) error {
	end := start + Addr(size)
	b := first.back
	if b.file == nil && b.ar == nil {
		// A file mapping without a file kept (see mapFileLimit), or a device's.
		return unix.ENOMEM
	}
	name, dev, ino, prot, secret := first.Name, first.Dev, first.Ino, first.Prot, first.Secret
	if b.file != nil {
		f := b.file
		f.ref() // the old mappings may hold the last reference
		defer f.unref()
		if err := s.unmap(start, size, false); err != nil {
			return err
		}
		if _, err := s.MapShared(start, size, prot, f.fd, int64(off), f.key.writable, name); err != nil {
			return ErrNoMem
		}
	} else {
		// Shared anonymous memory: its object is the backing, as large as the mapping
		// first made; past its end the pages are SIGBUS, as past a file's.
		b.refs.Add(1)
		defer s.release(b)
		if err := s.unmap(start, size, false); err != nil {
			return err
		}
		obj := uint64(len(b.mem))
		in := uint64(0)
		if off < obj {
			in = min(obj-off, size)
			v := &VMA{Start: start, End: start + Addr(in), Prot: prot, Name: name, back: b, off: off, Shared: true}
			if err := s.insert(v); err != nil {
				return err
			}
		}
		if in < size {
			past, err := s.allocHost(size - in)
			if err != nil {
				return err
			}
			v := &VMA{Start: start + Addr(in), End: end, Prot: prot, Name: name, back: past, Shared: true, Bus: true}
			if err := s.insert(v); err != nil {
				past.free()
				return err
			}
		}
	}
	s.SetFile(start, end, dev, ino, off)
	if secret {
		s.MarkSecret(start, end)
	}
	return nil
}

// sameObject reports whether v shows the object first does: the same file, or the same
// shared anonymous memory.
func sameObject(first, v *VMA) bool {
	if first.back.file != nil || v.back.file != nil {
		return first.back.file == v.back.file
	}
	return first.back == v.back && first.Ino == v.Ino
}

// FileGrew makes the part of the mapping at a that lay past the end of its file when it
// was mapped, and lies within it now (the file grew since), accessible as the file's
// pages, and reports whether a is in that part: a fault there is then no SIGBUS, as on
// Linux, whose mappings follow the file's size. A private mapping reads the file's
// bytes there again.
func (s *Space) FileGrew(a Addr) bool {
	v := s.Lookup(a)
	if v == nil || !v.Bus {
		return false
	}
	f, foff := v.back.watched()
	if f == nil {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) != nil {
		return false
	}
	eof, _ := PageUp(uint64(max(st.Size, 0)))
	at := uint64(foff) + v.off // the file offset of v.Start
	if eof <= at+uint64(a.PageDown()-v.Start) {
		return false
	}
	end := min(v.End, v.Start+Addr(eof-at))
	if err := s.split(end); err != nil {
		return false
	}
	if !v.Shared {
		h := v.host()
		v.back.wrote()
		clear(h)
		for done := 0; done < len(h); {
			n, err := unix.Pread(f.fd, h[done:], int64(at)+int64(done))
			if err != nil || n == 0 {
				break
			}
			done += n
		}
		if v.Prot&emu.ProtExec != 0 && s.cpu != nil {
			s.cpu.FlushCode(uint64(v.Start), uint64(v.End))
		}
	}
	v.Bus = false
	if err := s.cpuMap(v); err != nil {
		v.Bus = true
		return false
	}
	s.mergeAround(s.find(v.Start))
	return true
}

// SetPrivateFile makes the private mappings of [start, end) (boundaries, made from the
// file fd is open on at offset off for start) follow the file's size, as Linux's
// private file mappings do: the pages wholly past its end, now or after a shrink, are
// SIGBUS (written ones too), and come back with the file's bytes when it grows. Without
// a file kept (too many held) the mappings stay copies that ignore the file's size.
func (s *Space) SetPrivateFile(start, end Addr, fd int, off uint64) {
	f := openMapFile(fd, false)
	if f == nil {
		return
	}
	defer f.unref()
	var nodes []*vnode
	for n := s.find(start); n != nil && n.v.Start < end; n = n.next {
		v := n.v
		if v.Shared || v.back.file != nil || v.back.pfile != nil && v.back.pfile != f {
			continue
		}
		if v.back.pfile == nil {
			f.ref()
			v.back.pfile = f
			v.back.pfoff = int64(off+uint64(v.Start-start)) - int64(v.off)
		}
		if n.file == nil {
			if s.vmas.files == nil {
				s.vmas.files = &fileIndex{}
			}
			s.vmas.files.watch(n, f)
		}
		nodes = append(nodes, n)
	}
	// Only the new mappings: those made before were cut when the file shrank.
	s.cutPastEnd(f, nodes)
}

// Refresh applies the shrinks of files queued for the space (see Shrunk): in each shared
// mapping of such a file, the pages wholly past its end become SIGBUS, as Linux's
// truncate unmaps them from every process (unmap_mapping_range). The CPU loses access to
// them before the guest runs again; the bytes past the end in the last page stay, reading
// as zero, as on Linux. It costs nothing when no file shrank, and what the space maps of
// the files that did otherwise. A later growth gives the pages back (FileGrew).
func (s *Space) Refresh() {
	if x := s.vmas.files; x != nil && x.pending.Load() {
		s.refresh(x)
	}
}

func (s *Space) refresh(x *fileIndex) {
	mapFiles.Lock()
	files := x.shrunk
	x.shrunk = nil
	x.pending.Store(false)
	mapFiles.Unlock()
	for _, f := range files {
		// A file the space no longer maps may have closed its descriptor: skip it.
		if len(x.nodes[f]) != 0 {
			s.fileShrunk(f)
		}
	}
}

// fileShrunk makes the pages of s's mappings of f that lie wholly past f's end SIGBUS.
func (s *Space) fileShrunk(f *MapFile) {
	nodes := make([]*vnode, 0, len(s.vmas.files.nodes[f]))
	for n := range s.vmas.files.nodes[f] {
		nodes = append(nodes, n)
	}
	s.cutPastEnd(f, nodes)
}

// cutPastEnd makes the pages of nodes (mappings of f) that lie wholly past f's end SIGBUS.
func (s *Space) cutPastEnd(f *MapFile, nodes []*vnode) {
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) != nil {
		return
	}
	eof, _ := PageUp(uint64(max(st.Size, 0)))
	var tails []*vnode
	for _, n := range nodes {
		v := n.v
		_, foff := v.back.watched()
		at := uint64(foff) + v.off // the file offset of v.Start
		if v.Bus || at+v.Len() <= eof {
			continue
		}
		cut := v.Start
		if eof > at {
			cut += Addr(eof - at)
			if s.split(cut) != nil {
				// No room for one more mapping: all of it faults, and a fault in the
				// part still inside the file finds it there (FileGrew).
				cut = v.Start
			}
		}
		tail := s.find(cut)
		tail.v.Bus = true
		if !tail.v.Shared {
			// A private copy's pages go with the file's, written or not.
			tail.v.back.discard(tail.v.off, tail.v.Len())
		}
		if s.cpu != nil && tail.v.Prot != 0 {
			s.cpu.Protect(uint64(tail.v.Start), tail.v.Len(), 0)
		}
		tails = append(tails, tail)
	}
	// A tail and the part past the end that follows it are one mapping again.
	for _, n := range tails {
		if _, ok := s.vmas.files.nodes[f][n]; ok {
			s.mergeAround(n)
		}
	}
}

// Reattach maps again the host memory behind the guest addresses lost, whose pages the
// host took for a SIGBUS while guest code ran (see emu's sigbus.c: they were replaced by
// zero pages): each one's mapping gets its file (or arena) back over all of its host
// memory, and the file's size is looked at again in every space that maps it, as after
// a shrink by the guest (Shrunk). With all, more were lost than listed: every shared
// mapping of the space gets its memory back.
func (s *Space) Reattach(lost []Addr, all bool) {
	done := map[*backing]bool{}
	put := func(b *backing) {
		if done[b] {
			return
		}
		done[b] = true
		b.remap()
		if b.file != nil {
			Shrunk(b.file.fd)
		}
	}
	for _, a := range lost {
		if v := s.Lookup(a); v != nil {
			put(v.back)
		}
	}
	if all {
		for n := s.vmas.first; n != nil; n = n.next {
			if n.v.Shared {
				put(n.v.back)
			}
		}
	}
	s.Refresh()
}

// remap maps b's file (or arena range) over its host memory again, in place.
func (b *backing) remap() {
	fd, off, prot, flags := -1, int64(0), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED
	switch {
	case b.mem == nil:
		return
	case b.file != nil:
		fd, off = b.file.fd, b.foff
		if b.hostRO {
			prot = unix.PROT_READ
		}
	case b.ar != nil:
		fd, off, flags = b.ar.fd, int64(b.aoff), flags|unix.MAP_NORESERVE
	default:
		return // a file not kept, or a frozen file (which never shrinks)
	}
	// SAFETY: b.mem is b's own host mapping; the same file pages go back in its place.
	unix.MmapPtr(fd, off, unsafe.Pointer(&b.mem[0]), uintptr(len(b.mem)), prot, flags)
}
