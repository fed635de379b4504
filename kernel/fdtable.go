package kernel

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// File is an open file description: a host file descriptor shared by the guest fds that
// dup it, and the kind of file it is (ops; nil is a plain host file).
type File struct {
	fd    int
	refs  int
	path  string
	flags uint32  // guest open flags, for F_GETFL of synthetic files
	ops   fileOps // what this kind of file does differently from a host file

	blockKind uint8 // whether I/O may wait (see mayBlock), found on first use
	// ttyKind says whether the host descriptor is a terminal (ttyDev): 0 not yet known,
	// 1 no, 2 yes, with its device ttyRdev.
	ttyKind uint8
	ttyRdev uint64
	// statAs is the host path fstat answers for, when the file was opened through a
	// name that stands for another (/dev/tty for the controlling terminal).
	statAs string

	epolls map[*epollEntries]bool // epoll instances that had entries for this file (see epoll.go)
	own    *fown                  // owner and signal for O_ASYNC (sigio.go); guarded by asyncMu
	desc   *openDesc              // a regular file's open description, for leases (lease.go)
	k      *Kernel                // the kernel desc belongs to

	// The poll sets that have a registration of fd (pollwait.go): polls is guarded by
	// hostPoller.mu, and pollRegs counts them for a look without the lock.
	polls    []*pollReg
	pollRegs atomic.Int32
}

// kind is the file's behaviour: its own kind's, or a host file's.
func (f *File) kind() fileOps {
	if f.ops == nil {
		return hostFile{}
	}
	return f.ops
}

type fdEntry struct {
	f       *File
	cloexec bool
}

// FDTable maps guest file descriptors to open files.
type FDTable struct {
	fds  []fdEntry
	used fdBits // which of fds name a file
	// mu guards fds against the owner's changes for readers in other processes' goroutines
	// (kcmp); the owner itself reads without it.
	mu sync.Mutex
	// dropped, when set, runs each time a descriptor stops naming its file (see
	// Process.fileDropped).
	dropped func(f *File)
	// nofile is the RLIMIT_NOFILE of the process the table was made for (a table that
	// CLONE_FILES shares follows its first owner's); nil: maxFDs alone.
	nofile *abi.Rlimit
}

// limit is the number of descriptors the table may hold: RLIMIT_NOFILE's soft limit,
// within maxFDs.
func (ft *FDTable) limit() int {
	if ft.nofile == nil {
		return maxFDs
	}
	return int(min(ft.nofile.Cur, maxFDs))
}

// drop runs ft.dropped for f.
func (ft *FDTable) drop(f *File) {
	if ft.dropped != nil {
		ft.dropped(f)
	}
}

// maxFDs is the guest's RLIMIT_NOFILE ceiling.
const maxFDs = 1 << 16

// newFDTable gives the guest fds 0, 1 and 2, and those cfg.Inherit names, as duplicates
// of the host's, so the guest closing them never closes vemu's own.
func newFDTable(cfg Config) (*FDTable, error) {
	ft := &FDTable{}
	for i, f := range []*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr} {
		hfd := i
		if f != nil {
			hfd = int(f.Fd())
		}
		nfd, err := unix.FcntlInt(uintptr(hfd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			// A closed host stdio stays closed for the guest too.
			ft.fds = append(ft.fds, fdEntry{})
			continue
		}
		ft.fds = append(ft.fds, fdEntry{f: &File{fd: nfd, refs: 1, path: fmt.Sprintf("/dev/fd/%d", i)}})
		ft.used.set(i)
	}
	for _, hfd := range cfg.Inherit {
		nfd, err := unix.FcntlInt(uintptr(hfd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			continue
		}
		if err := ft.installAt(hfd, &File{fd: nfd, refs: 1, path: hostFdPath(nfd)}, false); err != nil {
			unix.Close(nfd)
		}
	}
	return ft, nil
}

func (ft *FDTable) get(fd int32) (*File, error) {
	if fd < 0 || int(fd) >= len(ft.fds) || ft.fds[fd].f == nil {
		return nil, unix.EBADF
	}
	return ft.fds[fd].f, nil
}

// lookup returns the open file at fd, nil when none, for a reader off the run loop (a
// poll's wait, which looks whether its descriptors are still the files it polls).
func (ft *FDTable) lookup(fd int32) *File {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if fd < 0 || int(fd) >= len(ft.fds) {
		return nil
	}
	return ft.fds[fd].f
}

// install puts f at the lowest free fd >= min.
func (ft *FDTable) install(f *File, cloexec bool, min int) (int, error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	n := ft.used.firstFree(min)
	if n >= ft.limit() {
		return 0, unix.EMFILE
	}
	for len(ft.fds) <= n {
		ft.fds = append(ft.fds, fdEntry{})
	}
	ft.fds[n] = fdEntry{f, cloexec}
	ft.used.set(n)
	return n, nil
}

// full says whether no descriptor is free below the limit: what Linux checks first
// when a call will make one (accept takes no connection then).
func (ft *FDTable) full() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.used.firstFree(0) >= ft.limit()
}

// installAt puts f at fd, closing what was there (dup2).
func (ft *FDTable) installAt(fd int, f *File, cloexec bool) error {
	if fd < 0 || fd >= ft.limit() {
		return unix.EBADF
	}
	ft.mu.Lock()
	for len(ft.fds) <= fd {
		ft.fds = append(ft.fds, fdEntry{})
	}
	old := ft.fds[fd].f
	f.refs++
	ft.fds[fd] = fdEntry{f, cloexec}
	ft.used.set(fd)
	ft.mu.Unlock()
	if old != nil {
		ft.drop(old)
		old.release()
	}
	return nil
}

func (ft *FDTable) close(fd int32) error {
	f, err := ft.get(fd)
	if err != nil {
		return err
	}
	ft.mu.Lock()
	ft.fds[fd] = fdEntry{}
	ft.used.clear(int(fd))
	ft.mu.Unlock()
	ft.drop(f)
	return f.release()
}

func (ft *FDTable) closeAll() {
	for i := range ft.fds {
		if f := ft.fds[i].f; f != nil {
			ft.mu.Lock()
			ft.fds[i] = fdEntry{}
			ft.used.clear(i)
			ft.mu.Unlock()
			ft.drop(f)
			f.release()
		}
	}
}

// dupHost gives a duplicate of the host descriptor behind fd, for a reader in another
// process's goroutine; the caller closes it.
func (ft *FDTable) dupHost(fd int32) (int, error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if fd < 0 || int(fd) >= len(ft.fds) || ft.fds[fd].f == nil {
		return -1, unix.EBADF
	}
	return unix.FcntlInt(uintptr(ft.fds[fd].f.fd), unix.F_DUPFD_CLOEXEC, 0)
}

func (f *File) release() error {
	f.refs--
	if f.refs == 0 {
		for st := range f.epolls {
			st.forget(f)
		}
		asyncMu.Lock()
		o := f.own
		asyncMu.Unlock()
		if o != nil && o.k != nil {
			o.k.unwatchAsync(f)
		}
		f.kind().release()
		if f.desc != nil {
			f.k.leases.released(f.desc, f)
		}
		forgetPolls(f)
		var err error
		if f.k != nil && f.k.sessionsMade.Load() {
			err = f.k.closeTerminal(f)
		} else {
			err = unix.Close(f.fd)
		}
		forgetPeerID(f.path)
		return err
	}
	return nil
}

func (ft *FDTable) fork(child *Process) (*FDTable, error) {
	c := &FDTable{fds: make([]fdEntry, len(ft.fds)), nofile: &child.rlimits[abi.RLIMIT_NOFILE]}
	files := map[*File]*File{}
	for i, e := range ft.fds {
		if e.f == nil {
			continue
		}
		nf, ok := files[e.f]
		if !ok {
			var err error
			if nf, err = e.f.kind().fork(e.f, child); err != nil {
				// Each open file needs a host descriptor of the child's own: with none
				// left, the fork fails (the child closes what it has) rather than give a
				// child without its stdout.
				return c, err
			}
			files[e.f] = nf
		}
		nf.refs++
		c.fds[i] = fdEntry{nf, e.cloexec}
		c.used.set(i)
	}
	return c, nil
}

// closeOnExec closes the descriptors marked FD_CLOEXEC.
func (ft *FDTable) closeOnExec() {
	for i, e := range ft.fds {
		if e.f != nil && e.cloexec {
			ft.close(int32(i))
		}
	}
}

// file is the guest's descriptor fd for a call that uses its file, as Linux's fdget: an
// O_PATH descriptor is EBADF, as one not open.
func (t *Task) file(fd int32) (*File, error) {
	f, err := t.p.files.get(fd)
	if err == nil && f.flags&abi.O_PATH != 0 {
		return nil, unix.EBADF
	}
	return f, err
}

// fileRaw is descriptor fd whatever it is, O_PATH too, as Linux's fdget_raw: for the
// calls that name a file by it (fstat, fchdir, fcntl, dup, a directory or AT_EMPTY_PATH).
func (t *Task) fileRaw(fd int32) (*File, error) { return t.p.files.get(fd) }
