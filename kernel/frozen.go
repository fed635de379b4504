package kernel

import (
	"bytes"
	"container/list"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// Private file mappings of programs and libraries are served from frozen copies: a file
// is copied once into a sealed memfd, and every process maps that copy privately, so the
// pages of libc are on the host once however many processes map it, and a fork does not
// copy them. A host file is not mapped directly: a guest that truncated it would make
// vemu's own access to the lost pages fault.
const (
	frozenMaxFile    = 256 << 20 // larger files are copied into each mapping
	frozenMaxTotal   = 512 << 20 // bytes of frozen copies kept for later mappings
	frozenMaxEntries = 1024      // frozen copies kept for later mappings
	// frozenMaxOpen bounds the frozen copies alive at once (each mapped one holds a
	// descriptor of vemu's): past it, mappings copy the file's bytes as before.
	frozenMaxOpen = 4096
)

// frozenKey names one version of a file: a change to it changes its ctime.
type frozenKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

type frozenEntry struct {
	key  frozenKey
	f    *mm.Frozen
	size int64
}

// frozenCache keeps the frozen copies made so far, least recently used first out.
type frozenCache struct {
	mu    sync.Mutex
	byKey map[frozenKey]*list.Element
	lru   list.List // of *frozenEntry, most recent at the front
	total int64
}

// frozenFor returns a frozen copy of the open host file fd and its size, with a
// reference the caller must drop, or nil when the file is not worth freezing (not regular, too large, or a
// small part of a large file that is not a program) or the copy fails. mapLen is how
// much of it the mapping asks for.
func (k *Kernel) frozenFor(fd int, mapLen uint64) (*mm.Frozen, int64) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size <= 0 || st.Size > frozenMaxFile {
		return nil, 0
	}
	if mapLen < uint64(st.Size)/2 {
		// Freezing costs the whole file: worth it for a program or library, whose
		// pieces are mapped one after another, not for a page of a large data file.
		var magic [4]byte
		if n, _ := unix.Pread(fd, magic[:], 0); n != 4 || !bytes.Equal(magic[:], []byte("\x7fELF")) {
			return nil, 0
		}
	}
	key := frozenKey{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
	c := &k.frozen
	c.mu.Lock()
	if c.byKey == nil {
		c.byKey = map[frozenKey]*list.Element{}
	}
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		f := el.Value.(*frozenEntry).f
		f.Ref()
		c.mu.Unlock()
		return f, st.Size
	}
	c.mu.Unlock()

	if mm.FrozenOpen() >= frozenMaxOpen {
		return nil, 0
	}
	f := freeze(fd, st.Size)
	if f == nil {
		return nil, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok { // another process froze it meanwhile
		f.Unref()
		f = el.Value.(*frozenEntry).f
		f.Ref()
		return f, st.Size
	}
	f.Ref() // the cache's reference
	c.byKey[key] = c.lru.PushFront(&frozenEntry{key: key, f: f, size: st.Size})
	c.total += st.Size
	for (c.total > frozenMaxTotal || c.lru.Len() > frozenMaxEntries) && c.lru.Len() > 1 {
		e := c.lru.Remove(c.lru.Back()).(*frozenEntry)
		delete(c.byKey, e.key)
		c.total -= e.size
		e.f.Unref()
	}
	return f, st.Size
}

// release drops every frozen copy the cache holds (mappings keep theirs).
func (c *frozenCache) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*frozenEntry).f.Unref()
	}
	c.lru.Init()
	c.byKey = nil
	c.total = 0
}

// freeze copies size bytes of fd into a memfd sealed against any change.
func freeze(fd int, size int64) *mm.Frozen {
	mfd, err := unix.MemfdCreate("vemu-file", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(mfd)
		}
	}()
	if unix.Ftruncate(mfd, size) != nil {
		return nil
	}
	for off := int64(0); off < size; {
		in := off
		n, err := unix.Sendfile(mfd, fd, &in, int(min(size-off, 1<<30)))
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil || n <= 0 {
			// The file shrank or cannot be sent: the rest stays zero, as a read
			// past the end of a changed file would find.
			break
		}
		off += int64(n)
	}
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS,
		unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return nil
	}
	ok = true
	return mm.NewFrozen(mfd)
}
