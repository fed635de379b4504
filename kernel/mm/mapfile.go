package mm

import (
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// MapFile is a host file that shared mappings show, held open while a mapping does, as
// Linux's vm_file: remap_file_pages maps it again at another offset. There is one per
// file and access mode in the whole run, so that n mappings of one file cost one
// descriptor.
type MapFile struct {
	fd   int
	key  mapFileKey
	refs int // guarded by mapFiles.mu
	// watchers are the spaces' lists that hold a mapping of the file (guarded by
	// mapFiles.mu): a shrink of the file is queued to each (see Shrunk).
	watchers map[*fileIndex]struct{}
	// backs holds, by file offset, a host mapping of the file that starts there (guarded
	// by mapFiles.mu): a new mapping of the same pages shares it (see MapShared).
	backs map[int64]*backing
}

// backingAt returns a reference to a host mapping of the file from off on, at least n
// bytes long, that mappings hold now, or nil. The caller releases the reference.
func (f *MapFile) backingAt(off int64, n uint64) *backing {
	mapFiles.Lock()
	defer mapFiles.Unlock()
	b := f.backs[off]
	if b == nil || uint64(len(b.mem)) < n {
		return nil
	}
	// Another process may be releasing its last mapping of it: once no mapping
	// holds it, it is being freed and no one takes it again.
	for {
		r := b.refs.Load()
		if r <= 0 {
			return nil
		}
		if b.refs.CompareAndSwap(r, r+1) {
			return b
		}
	}
}

// keep makes b, a new host mapping of the file, the one later mappings of its first
// page share.
func (f *MapFile) keep(b *backing) {
	mapFiles.Lock()
	if f.backs == nil {
		f.backs = map[int64]*backing{}
	}
	f.backs[b.foff] = b
	mapFiles.Unlock()
}

// forget drops b, about to be freed, from what later mappings may share.
func (f *MapFile) forget(b *backing) {
	mapFiles.Lock()
	if f.backs[b.foff] == b {
		delete(f.backs, b.foff)
	}
	mapFiles.Unlock()
}

type mapFileKey struct {
	dev, ino uint64
	writable bool
}

var mapFiles struct {
	sync.Mutex
	m map[mapFileKey]*MapFile
}

// mapFileLimit bounds the descriptors MapFiles hold, at a quarter of vemu's own limit:
// past it, new shared mappings keep no file (and remap_file_pages of them is ENOMEM),
// rather than vemu running out of descriptors for its own use.
var mapFileLimit = sync.OnceValue(func() int {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Cur < 64 {
		return 16
	}
	return int(min(rl.Cur/4, 1<<20))
})

// openMapFile returns a reference to the MapFile of the file fd is open on, or nil (a
// file that is not regular, or too many held already).
func openMapFile(fd int, writable bool) *MapFile {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil
	}
	key := mapFileKey{dev: st.Dev, ino: st.Ino, writable: writable}
	mapFiles.Lock()
	defer mapFiles.Unlock()
	if f := mapFiles.m[key]; f != nil {
		f.refs++
		return f
	}
	if len(mapFiles.m) >= mapFileLimit() {
		return nil
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil
	}
	if mapFiles.m == nil {
		mapFiles.m = map[mapFileKey]*MapFile{}
	}
	f := &MapFile{fd: nfd, key: key, refs: 1}
	mapFiles.m[key] = f
	return f
}

func (f *MapFile) ref() {
	mapFiles.Lock()
	f.refs++
	mapFiles.Unlock()
}

// unref drops a reference; the last closes the file.
func (f *MapFile) unref() {
	mapFiles.Lock()
	defer mapFiles.Unlock()
	if f.refs--; f.refs == 0 {
		delete(mapFiles.m, f.key)
		unix.Close(f.fd)
	}
}

// MapFilesOpen is how many MapFiles hold a descriptor now.
func MapFilesOpen() int {
	mapFiles.Lock()
	defer mapFiles.Unlock()
	return len(mapFiles.m)
}

// fileIndex is what a space's list knows of its shared file mappings: which nodes show
// each file, so that a file's shrink costs what the space maps of that file, and the
// files that shrank since the space last looked (queued by other processes, whose
// goroutines may not change the space themselves).
type fileIndex struct {
	nodes map[*MapFile]map[*vnode]struct{} // owned by the space's goroutine
	// shrunk is guarded by mapFiles.mu; pending says it is not empty.
	shrunk  []*MapFile
	pending atomic.Bool
}

// watch records that n, just inserted, shows file f.
func (x *fileIndex) watch(n *vnode, f *MapFile) {
	set := x.nodes[f]
	if set == nil {
		if x.nodes == nil {
			x.nodes = map[*MapFile]map[*vnode]struct{}{}
		}
		set = map[*vnode]struct{}{}
		x.nodes[f] = set
		mapFiles.Lock()
		if f.watchers == nil {
			f.watchers = map[*fileIndex]struct{}{}
		}
		f.watchers[x] = struct{}{}
		mapFiles.Unlock()
	}
	set[n] = struct{}{}
	n.file = f
}

// unwatch forgets n, about to leave the list.
func (x *fileIndex) unwatch(n *vnode) {
	f := n.file
	if f == nil {
		return
	}
	n.file = nil
	set := x.nodes[f]
	delete(set, n)
	if len(set) == 0 {
		delete(x.nodes, f)
		mapFiles.Lock()
		delete(f.watchers, x)
		mapFiles.Unlock()
	}
}

// forget drops every node (the list is emptied at once).
func (x *fileIndex) forget() {
	mapFiles.Lock()
	for f := range x.nodes {
		delete(f.watchers, x)
	}
	x.shrunk = nil
	x.pending.Store(false)
	mapFiles.Unlock()
	x.nodes = nil
}

// Shrunk tells every space that maps the regular file fd is open on that the file may
// have become shorter (a truncate, an open with O_TRUNC, a collapsed range): each looks
// at its size before its guest runs again (see Space.Refresh) and makes what lies wholly
// past the end of the file SIGBUS. It reports whether any space maps the file.
func Shrunk(fd int) bool {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	any := false
	mapFiles.Lock()
	defer mapFiles.Unlock()
	for _, w := range []bool{false, true} {
		f := mapFiles.m[mapFileKey{dev: st.Dev, ino: st.Ino, writable: w}]
		if f == nil {
			continue
		}
		for x := range f.watchers {
			any = true
			if !slices.Contains(x.shrunk, f) {
				x.shrunk = append(x.shrunk, f)
			}
			x.pending.Store(true)
		}
	}
	return any
}
