package mm

import (
	"sync"

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
