package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
)

// An epoll instance is the host's, but Linux keys its entries on the open file and the
// descriptor number, where the host can only see host descriptors: two guest descriptors
// of one open file (a dup, Go's net.FileListener) share one host descriptor, and the
// host would refuse the second with EEXIST. The first entry of a host descriptor is
// registered under it; another entry of the same file gets a host duplicate of its own,
// kept until the entry is deleted, the file's last guest descriptor is closed (when
// Linux drops the file's entries too) or the instance goes away.

// epollFile is an epoll instance.
type epollFile struct {
	hostFile
	st *epollEntries
}

// epollEntries are an instance's entries, shared by the processes that have it since a
// fork (each has its own File, and host descriptor, for it).
type epollEntries struct {
	mu     sync.Mutex
	refs   int                         // Files of the instance
	keys   map[epollKey]int            // entry → the host descriptor it is registered under
	used   map[int]bool                // host descriptors registered
	byFile map[*File]map[epollKey]bool // the entries of each open file
	dups   map[int]bool                // registered host descriptors that are vemu's duplicates
}

// epollKey is what Linux keys an entry on: the guest descriptor number, and the open file
// (named by its File).
type epollKey struct {
	fd int32
	f  *File
}

func newEpollFile() *epollFile {
	return &epollFile{st: &epollEntries{refs: 1, keys: map[epollKey]int{}, used: map[int]bool{},
		byFile: map[*File]map[epollKey]bool{}, dups: map[int]bool{}}}
}

func (e *epollFile) fork(f *File, child *Process) (*File, error) {
	nf, err := e.hostFile.fork(f, child)
	if err == nil {
		e.st.mu.Lock()
		e.st.refs++
		e.st.mu.Unlock()
	}
	return nf, err
}

// release drops the duplicates when the instance's last File goes.
func (e *epollFile) release() {
	st := e.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.refs--; st.refs > 0 {
		return
	}
	for hfd := range st.dups {
		unix.Close(hfd)
	}
	clear(st.keys)
	clear(st.used)
	clear(st.byFile)
	clear(st.dups)
}

// ctl is epoll_ctl(2) on the instance ep for guest descriptor fd, open file f.
func (e *epollFile) ctl(ep *File, op int32, fd int32, f *File, ev *unix.EpollEvent) error {
	st := e.st
	st.mu.Lock()
	defer st.mu.Unlock()
	k := epollKey{fd, f}
	hfd, ok := st.keys[k]
	switch op {
	case unix.EPOLL_CTL_ADD:
		if ok {
			return unix.EEXIST
		}
		hfd = f.fd
		if st.used[hfd] {
			dup, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 3)
			if err != nil {
				return err
			}
			hfd = dup
		}
		if err := unix.EpollCtl(ep.fd, unix.EPOLL_CTL_ADD, hfd, ev); err != nil {
			if hfd != f.fd {
				unix.Close(hfd)
			}
			return err
		}
		st.keys[k], st.used[hfd] = hfd, true
		if hfd != f.fd {
			st.dups[hfd] = true
		}
		if f.epolls == nil {
			f.epolls = map[*epollEntries]bool{}
		}
		f.epolls[st] = true
		if st.byFile[f] == nil {
			st.byFile[f] = map[epollKey]bool{}
		}
		st.byFile[f][k] = true
		return nil
	case unix.EPOLL_CTL_MOD:
		if !ok {
			return e.absent(ep, op, f, ev)
		}
		return unix.EpollCtl(ep.fd, unix.EPOLL_CTL_MOD, hfd, ev)
	case unix.EPOLL_CTL_DEL:
		if !ok {
			return e.absent(ep, op, f, ev)
		}
		err := unix.EpollCtl(ep.fd, unix.EPOLL_CTL_DEL, hfd, ev)
		st.drop(k, hfd)
		keys := st.byFile[f]
		delete(keys, k)
		if len(keys) == 0 {
			delete(st.byFile, f)
		}
		return err
	}
	return unix.EpollCtl(ep.fd, int(op), f.fd, ev) // an unknown op: the host says EINVAL
}

// absent answers MOD or DEL of an entry the instance does not have: ENOENT, or what the
// host says (EPERM for a file it cannot poll). Called with st.mu held.
func (e *epollFile) absent(ep *File, op int32, f *File, ev *unix.EpollEvent) error {
	if e.st.used[f.fd] {
		return unix.ENOENT // the host's entry under f.fd is another descriptor's
	}
	return unix.EpollCtl(ep.fd, int(op), f.fd, ev)
}

// drop forgets entry k, registered under hfd, closing hfd if it is a duplicate (which
// removes the host's entry); called with st.mu held.
func (st *epollEntries) drop(k epollKey, hfd int) {
	delete(st.keys, k)
	delete(st.used, hfd)
	if st.dups[hfd] {
		delete(st.dups, hfd)
		unix.Close(hfd)
	}
}

// forget drops the entries of f, whose last guest descriptor is being closed: Linux
// removes a file's entries when the file is released.
func (st *epollEntries) forget(f *File) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k := range st.byFile[f] {
		if hfd, ok := st.keys[k]; ok {
			st.drop(k, hfd)
		}
	}
	delete(st.byFile, f)
}
