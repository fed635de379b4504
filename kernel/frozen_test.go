package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// TestFrozenBounds: frozen copies are shared by key, the cache keeps at most
// frozenMaxEntries of them, and releasing it closes every descriptor it held.
func TestFrozenBounds(t *testing.T) {
	k := New(Config{})
	dir := t.TempDir()
	base := mm.FrozenOpen()
	open := func(i int) int {
		p := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("\x7fELF file %d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	fd := open(0)
	a, size := k.frozenFor(fd, mm.PageSize)
	b, _ := k.frozenFor(fd, mm.PageSize)
	unix.Close(fd)
	if a == nil || a != b || size != int64(len("\x7fELF file 0")) {
		t.Fatalf("the same file froze twice or not at all: %p %p size %d", a, b, size)
	}
	a.Unref()
	b.Unref()
	for i := 1; i < frozenMaxEntries+50; i++ {
		fd := open(i)
		f, _ := k.frozenFor(fd, mm.PageSize)
		unix.Close(fd)
		if f == nil {
			t.Fatalf("file %d was not frozen", i)
		}
		f.Unref()
	}
	if n := k.frozen.lru.Len(); n > frozenMaxEntries {
		t.Errorf("the cache keeps %d copies, more than %d", n, frozenMaxEntries)
	}
	if n := mm.FrozenOpen() - base; n > frozenMaxEntries {
		t.Errorf("%d frozen copies hold descriptors", n)
	}
	k.frozen.release()
	if n := mm.FrozenOpen() - base; n != 0 {
		t.Errorf("%d frozen copies still open after the cache let go", n)
	}
	// A small part of a large file that is not a program is not worth freezing.
	p := filepath.Join(dir, "data")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if f, _ := k.frozenFor(fd, mm.PageSize); f != nil {
		f.Unref()
		t.Errorf("one page of a 1 MiB data file was frozen")
	}
}
