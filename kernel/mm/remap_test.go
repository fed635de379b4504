package mm

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"vemu/emu"
)

// TestRemapFileKeepsOneDescriptor maps one file many times, remaps and forks, and checks
// that its descriptor is held once while mapped and closed when the last mapping goes.
func TestRemapFileKeepsOneDescriptor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "remap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 4 {
		f.Write([]byte{byte('a' + i)})
		f.Seek(int64(i+1)*PageSize, 0)
	}
	f.Truncate(4 * PageSize)
	before := MapFilesOpen()
	s := newSpace(t)
	const base = Addr(0x100000)
	for i := range Addr(50) {
		if _, err := s.MapShared(base+i*4*PageSize, 4*PageSize, emu.ProtRead|emu.ProtWrite, int(f.Fd()), 0, true, "f"); err != nil {
			t.Fatal(err)
		}
	}
	if got := MapFilesOpen() - before; got != 1 {
		t.Fatalf("%d descriptors held for one file", got)
	}
	if err := s.RemapFile(base, PageSize, 3); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if s.CopyIn(base, b[:]); b[0] != 'd' {
		t.Fatalf("page 0 shows %q after remapping it to page 3", b[0])
	}
	if v := s.Lookup(base); v.FileOff != 3*PageSize {
		t.Fatalf("file offset %#x", v.FileOff)
	}
	c, err := s.Fork(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RemapFile(base+PageSize, 2*PageSize, 0); err != nil {
		t.Fatal(err)
	}
	if s.CopyIn(base+PageSize, b[:]); b[0] != 'b' {
		t.Fatalf("the child's remap changed the parent's page to %q", b[0])
	}
	if err := s.RemapFile(base+3*PageSize, 2*PageSize, 0); err != nil {
		t.Fatalf("a range over two mappings of the file: %v", err)
	}
	if err := s.RemapFile(base-PageSize, 2*PageSize, 0); err != unix.EINVAL {
		t.Fatalf("a range from a hole: %v", err)
	}
	s.Close()
	if got := MapFilesOpen() - before; got != 1 {
		t.Fatalf("%d descriptors held while the child maps the file", got)
	}
	c.Close()
	if got := MapFilesOpen() - before; got != 0 {
		t.Fatalf("%d descriptors held after the last mapping", got)
	}
}

// TestShrunkReachesEveryMapping shrinks a file shared by a space, its fork and a second
// mapping in each: every mapping loses the pages wholly past the new end (in its list and
// in its CPU), the last page stays, the spaces the file is not mapped in are not told,
// and growing the file gives the pages back at the next access.
func TestShrunkReachesEveryMapping(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "shrink")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Truncate(4 * PageSize)
	fd := int(f.Fd())
	cpu, err := emu.New()
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	s := New(cpu)
	defer s.Close()
	rw := emu.ProtRead | emu.ProtWrite
	const a, b = Addr(0x100000), Addr(0x200000)
	if _, err := s.MapShared(a, 4*PageSize, rw, fd, 0, true, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MapShared(b, 2*PageSize, rw, fd, 2*PageSize, true, "f"); err != nil {
		t.Fatal(err)
	}
	ccpu, err := emu.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ccpu.Close()
	c, err := s.Fork(ccpu)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other := New(nil)
	defer other.Close()
	other.Map(a, PageSize, rw, "")

	f.Truncate(PageSize + 10)
	if !Shrunk(fd) {
		t.Fatal("Shrunk: the file is mapped, but no space was told")
	}
	if other.vmas.files != nil {
		t.Fatal("a space without the file was told")
	}
	for name, sp := range map[string]*Space{"parent": s, "child": c} {
		sp.Refresh()
		for _, x := range []struct {
			at  Addr
			bus bool
		}{{a, false}, {a + PageSize, false}, {a + 2*PageSize, true}, {a + 3*PageSize, true}, {b, true}, {b + PageSize, true}} {
			if v := sp.Lookup(x.at); v == nil || v.Bus != x.bus {
				t.Fatalf("%s: the mapping at %#x: %+v, want Bus %v", name, x.at, v, x.bus)
			}
		}
		if err := sp.CheckCPU(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var one [1]byte
		if err := sp.CopyIn(a+2*PageSize, one[:]); err != unix.EFAULT {
			t.Fatalf("%s: a copy past the end: %v, want EFAULT", name, err)
		}
		if err := sp.CopyIn(a+PageSize+100, one[:]); err != nil || one[0] != 0 {
			t.Fatalf("%s: a copy from the last page past the end: %v, %d", name, err, one[0])
		}
	}
	if err := cpu.ReadMem(uint64(a+2*PageSize), make([]byte, 1)); err == nil {
		t.Fatal("the CPU still reads a page past the end")
	}
	f.Truncate(4 * PageSize)
	var one [1]byte
	if err := s.CopyIn(a+3*PageSize, one[:]); err != nil {
		t.Fatalf("after the file grew again: %v", err)
	}
	if err := s.CheckCPU(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkShrink times a shrink and growth of a file mapped once in a space that holds
// many other mappings: the cost follows the mappings of that file, not the others.
func BenchmarkShrink(b *testing.B) {
	for _, others := range []int{10, 10000} {
		b.Run(strconv.Itoa(others)+"-others", func(b *testing.B) {
			f, err := os.CreateTemp(b.TempDir(), "shrink")
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			f.Truncate(2 * PageSize)
			s := New(nil)
			defer s.Close()
			rw := emu.ProtRead | emu.ProtWrite
			for i := range others {
				// A page apart, so that none joins another.
				if _, err := s.Map(Addr(0x10000000+2*i*PageSize), PageSize, rw, ""); err != nil {
					b.Fatal(err)
				}
			}
			const at = Addr(0x100000)
			if _, err := s.MapShared(at, 2*PageSize, rw, int(f.Fd()), 0, true, "f"); err != nil {
				b.Fatal(err)
			}
			var one [1]byte
			for b.Loop() {
				f.Truncate(PageSize)
				Shrunk(int(f.Fd()))
				s.Refresh()
				f.Truncate(2 * PageSize)
				if s.CopyIn(at+PageSize, one[:]) != nil { // the file grew back
					b.Fatal("the page did not come back")
				}
			}
		})
	}
}
