package mm

// Peek copies guest memory at addr into dst whatever the mappings' permissions, as
// /proc/PID/mem reads it (FOLL_FORCE), up to the first page that is not mapped or not
// backed (a shared file mapping past the end of its file). It returns the bytes copied.
func (s *Space) Peek(addr Addr, dst []byte) (n int) {
	s.Refresh()
	var g faultGuard
	defer func() {
		g.done()
		if r := recover(); r != nil {
			s.hostFault(r, g.cur) // n is what was copied
		}
	}()
	for n < len(dst) {
		a := addr + Addr(n)
		if a < addr {
			break
		}
		v := s.Lookup(a)
		if v == nil || v.Bus {
			break
		}
		g.enter(v)
		n += copy(dst[n:], v.host()[a-v.Start:])
	}
	return n
}

// Poke writes src at addr as /proc/PID/mem writes (FOLL_FORCE): private mappings whatever
// their permissions (a debugger's breakpoint in read-only code), shared ones only where
// their file was opened for writing. It stops at the first page it may not write, drops
// the code the CPU translated from what it wrote, and returns the bytes written.
func (s *Space) Poke(addr Addr, src []byte) (n int) {
	s.Refresh()
	var g faultGuard
	defer func() {
		g.done()
		if r := recover(); r != nil {
			s.hostFault(r, g.cur) // n is what was copied
		}
	}()
	for n < len(src) {
		a := addr + Addr(n)
		if a < addr {
			break
		}
		v := s.Lookup(a)
		if v == nil || v.Bus || v.back.hostRO {
			break
		}
		v.back.wrote() // a frozen file's pages written here are no longer the file's
		g.enter(v)
		k := copy(v.host()[a-v.Start:], src[n:])
		if s.cpu != nil {
			s.cpu.FlushCode(uint64(a), uint64(a)+uint64(k))
		}
		n += k
	}
	return n
}
