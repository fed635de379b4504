package mm

import (
	"os"
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
