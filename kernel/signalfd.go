package kernel

import (
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// signalfd: the signals of a mask, taken from the reading thread's queues by read(2) as
// struct signalfd_siginfo records instead of being delivered. A host eventfd stands for
// the file so that poll, select and epoll see it readable exactly while one of the
// signals is pending for the process (the union of its threads' queues and its own).

// signalfdNote is what the table says of signalfd.
const signalfdNote = "readiness for poll and epoll follows the signals pending for the whole process, not the polling thread's"

// signalfdSiginfoSize is the size of struct signalfd_siginfo.
const signalfdSiginfoSize = 128

// signalFD is one process's signalfd. The mask belongs to the open file, which a forked
// child shares: the child gets a signalFD of its own, whose eventfd follows the child's
// pending signals, with the same mask.
type signalFD struct {
	hostFile
	mask   *atomic.Uint64
	evfd   int  // the host eventfd behind the File, always non-blocking
	closed bool // its last descriptor is closed
}

// sysSignalfd implements signalfd(2).
func sysSignalfd(t *Task, a Args) (uint64, error) {
	return t.signalfd(a.Fd(0), a, 0)
}

// sysSignalfd4 implements signalfd4(2).
func sysSignalfd4(t *Task, a Args) (uint64, error) {
	return t.signalfd(a.Fd(0), a, a.Int(3))
}

func (t *Task) signalfd(fd int32, a Args, flags int32) (uint64, error) {
	if flags&^(abi.O_CLOEXEC|abi.O_NONBLOCK) != 0 || a[2] != abi.SigsetSize {
		return 0, unix.EINVAL
	}
	mask, err := t.readSigset(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	mask &^= unblockable
	if fd != -1 {
		f, err := t.file(fd)
		if err != nil {
			return 0, err
		}
		s, ok := f.ops.(*signalFD)
		if !ok {
			return 0, unix.EINVAL
		}
		s.mask.Store(mask)
		t.p.refreshSignalfds()
		return uint64(fd), nil
	}
	hfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return 0, err
	}
	s := &signalFD{mask: new(atomic.Uint64), evfd: hfd}
	s.mask.Store(mask)
	f := &File{fd: hfd, refs: 1, path: "anon_inode:[signalfd]", flags: abi.O_RDWR | uint32(flags&abi.O_NONBLOCK), ops: s}
	gfd, err := t.p.files.install(f, flags&abi.O_CLOEXEC != 0, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	t.p.signalfds = append(t.p.signalfds, s)
	t.p.refreshSignalfds()
	return uint64(gfd), nil
}

// refreshSignalfds makes each signalfd's eventfd readable exactly when one of its signals
// is pending. It runs wherever signals are queued or taken; it costs nothing without
// signalfds.
func (p *Process) refreshSignalfds() {
	if len(p.signalfds) == 0 {
		return
	}
	pending := p.sigs().pending.set | p.sigQueued.threadsAny
	live := p.signalfds[:0]
	for _, s := range p.signalfds {
		if s.closed {
			continue
		}
		live = append(live, s)
		var b [8]byte
		unix.Read(s.evfd, b[:]) // empty it
		if pending&s.mask.Load() != 0 {
			unix.Write(s.evfd, binary.LittleEndian.AppendUint64(nil, 1))
		}
	}
	p.signalfds = live
}

// io is read(2) on a signalfd: as many pending signals of its mask as there is room for,
// waiting for one unless the file is non-blocking. Writes are EINVAL, and positional
// reads ESPIPE, as Linux's signalfd has neither.
func (s *signalFD) io(t *Task, f *File, r ioReq) (uint64, error) {
	switch {
	case r.positional:
		return 0, unix.ESPIPE
	case !r.in:
		return 0, unix.EINVAL
	}
	addr, size, err := r.first(t)
	if err != nil {
		return 0, err
	}
	n := size / signalfdSiginfoSize
	if n == 0 {
		return 0, unix.EINVAL
	}
	take := func() (uint64, error) {
		var out []byte
		for uint64(len(out)) < n*signalfdSiginfoSize {
			info, ok := t.takeSignal(s.mask.Load())
			if !ok {
				break
			}
			out = append(out, signalfdRecord(info)...)
		}
		t.p.refreshSignalfds()
		if len(out) == 0 {
			return 0, unix.EAGAIN
		}
		return uint64(len(out)), t.p.mm.CopyOut(addr, out)
	}
	if r, err := take(); err != unix.EAGAIN || f.flags&abi.O_NONBLOCK != 0 {
		return r, err
	}
	_, ret, err := t.sigSleep(s.mask.Load(), func(_ uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		r, err := take()
		if err == unix.EAGAIN {
			return 0, unix.EINTR
		}
		return r, err
	})
	return ret, err
}

// getfl and setfl keep O_NONBLOCK in f.flags: the host eventfd stays non-blocking,
// since refreshSignalfds empties it.
func (s *signalFD) getfl(f *File) (uint32, error) { return f.flags &^ abi.O_CLOEXEC, nil }

func (s *signalFD) setfl(f *File, flags uint32) error {
	f.flags = f.flags&^abi.O_NONBLOCK | flags&abi.O_NONBLOCK
	return nil
}

// fork gives the child a signalFD of its own (see signalFD).
func (s *signalFD) fork(f *File, child *Process) (*File, error) {
	hfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	cs := &signalFD{mask: s.mask, evfd: hfd}
	child.signalfds = append(child.signalfds, cs)
	return &File{fd: hfd, path: f.path, flags: f.flags, ops: cs}, nil
}

func (s *signalFD) release() { s.closed = true }

// signalfdRecord is struct signalfd_siginfo for info.
func signalfdRecord(info abi.Siginfo) []byte {
	b := make([]byte, signalfdSiginfoSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(info.Signo))
	le.PutUint32(b[4:], uint32(info.Errno))
	le.PutUint32(b[8:], uint32(info.Code))
	le.PutUint32(b[12:], uint32(info.Pid))
	le.PutUint32(b[16:], info.UID)
	le.PutUint32(b[24:], uint32(info.TimerID)) // ssi_tid: the timer's id
	le.PutUint32(b[32:], uint32(info.Overrun))
	le.PutUint32(b[40:], uint32(info.Status))
	le.PutUint32(b[44:], uint32(info.Value)) // ssi_int
	le.PutUint64(b[48:], info.Value)         // ssi_ptr
	le.PutUint64(b[72:], info.Addr)
	return b
}
