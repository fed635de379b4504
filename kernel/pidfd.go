package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// A pidfd is a descriptor for a guest process. Its host descriptor is a duplicate of an
// eventfd the process keeps and writes when it exits, so poll, select and epoll see it
// readable from then on, as Linux's pidfd; reading it is EINVAL.
type pidfdFile struct {
	hostFile
	p *Process
}

func (*pidfdFile) io(t *Task, f *File, r ioReq) (uint64, error) { return 0, unix.EINVAL }

func (*pidfdFile) seek(f *File, off int64, whence int32) (uint64, error) { return 0, unix.ESPIPE }

func (*pidfdFile) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	return 0, unix.ENOTDIR
}

// getfl and setfl keep O_NONBLOCK in f.flags: the host eventfd is shared by every pidfd
// of the process.
func (*pidfdFile) getfl(f *File) (uint32, error) { return f.flags &^ abi.O_CLOEXEC, nil }

func (*pidfdFile) setfl(f *File, flags uint32) error {
	f.flags = f.flags&^abi.O_NONBLOCK | flags&abi.O_NONBLOCK
	return nil
}

// fork gives the child its own duplicate of the pidfd.
func (pf *pidfdFile) fork(f *File, child *Process) (*File, error) {
	fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return &File{fd: fd, path: f.path, flags: f.flags, ops: pf}, nil
}

// pidfd flags: PIDFD_NONBLOCK is O_NONBLOCK, PIDFD_THREAD is O_EXCL.
const (
	pidfdNonblock = unix.O_NONBLOCK
	pidfdThread   = unix.O_EXCL
)

// exitEvent is the host eventfd written when p exits, made on first use; the caller
// holds pt.mu.
func (p *Process) exitEventLocked() (int, error) {
	if p.exitEvent == 0 {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return 0, err
		}
		p.exitEvent = fd + 1
	}
	return p.exitEvent - 1, nil
}

// signalExitEvent makes the pidfds of p readable; the caller holds pt.mu.
func (p *Process) signalExitEvent() {
	if p.exitEvent != 0 {
		unix.Write(p.exitEvent-1, binary.LittleEndian.AppendUint64(nil, 1))
	}
}

// openPidfd makes a pidfd for process q (found under pt.mu by the caller) and installs it
// in t's process.
func (t *Task) openPidfd(q *Process, flags uint32) (int, error) {
	k := t.p.k
	k.pt.mu.Lock()
	var hfd int
	var err error
	if q.zombie {
		// Exited already: an eventfd of its own, readable at once.
		if hfd, err = unix.Eventfd(1, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
			hfd = -1
		}
	} else {
		var ev int
		if ev, err = q.exitEventLocked(); err == nil {
			hfd, err = unix.FcntlInt(uintptr(ev), unix.F_DUPFD_CLOEXEC, 0)
		}
	}
	k.pt.mu.Unlock()
	if err != nil {
		return 0, err
	}
	gflags := uint32(abi.O_RDWR | abi.O_CLOEXEC)
	if flags&pidfdNonblock != 0 {
		gflags |= abi.O_NONBLOCK
	}
	fd, err := t.p.files.install(&File{fd: hfd, refs: 1, path: "anon_inode:[pidfd]", flags: gflags, ops: &pidfdFile{p: q}}, true, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return fd, nil
}

// sysPidfdOpen implements pidfd_open(2) for guest processes.
func sysPidfdOpen(t *Task, a Args) (uint64, error) {
	pid, flags := a.Int(0), a.Uint(1)
	if flags&^uint32(pidfdNonblock|pidfdThread) != 0 || pid <= 0 {
		return 0, unix.EINVAL
	}
	k := t.p.k
	k.pt.mu.Lock()
	q := k.lookupLocked(int(pid))
	leader := q != nil && q.pid == int(pid)
	k.pt.mu.Unlock()
	if q == nil {
		return 0, unix.ESRCH
	}
	if !leader && flags&pidfdThread == 0 {
		return 0, unix.EINVAL
	}
	fd, err := t.openPidfd(q, flags)
	return uint64(fd), err
}

// pidfdProcess is the process behind the guest's descriptor fd: EBADF when fd is not a
// pidfd.
func (t *Task) pidfdProcess(fd int32) (*Process, error) {
	f, err := t.fileRaw(fd)
	if err != nil {
		return nil, err
	}
	pf, ok := f.ops.(*pidfdFile)
	if !ok {
		return nil, unix.EBADF
	}
	return pf.p, nil
}

// pidfd_send_signal's flags: the thread, the thread group (the default), or the
// process group.
const (
	pidfdSignalThread       = 1
	pidfdSignalProcessGroup = 4
)

// sysPidfdSendSignal implements pidfd_send_signal(2) as kill(2), or rt_sigqueueinfo(2)
// with a siginfo, to the process of the pidfd.
// A descriptor of the process's /proc/PID directory names the process too, as on Linux.
func sysPidfdSendSignal(t *Task, a Args) (uint64, error) {
	q, err := t.pidfdProcess(a.Fd(0))
	if f, ferr := t.fileRaw(a.Fd(0)); err == unix.EBADF && ferr == nil {
		if d, ok := f.ops.(*procFdDir); ok && d.dir == "self" {
			q, err = d.p, nil
		}
	}
	if err != nil {
		return 0, err
	}
	flags := a.Uint(3)
	if flags&^7 != 0 || flags&(flags-1) != 0 {
		return 0, unix.EINVAL
	}
	k := t.p.k
	k.pt.mu.Lock()
	gone, pgid := q.zombie, q.pgid
	k.pt.mu.Unlock()
	if gone {
		return 0, unix.ESRCH
	}
	switch flags {
	case pidfdSignalThread:
		if a[2] != 0 {
			return sysRtTgsigqueueinfo(t, Args{uint64(q.pid), uint64(q.pid), a[1], a[2]})
		}
		return sysTgkill(t, Args{uint64(q.pid), uint64(q.pid), a[1]})
	case pidfdSignalProcessGroup:
		return sysKill(t, Args{uint64(uint32(-int32(pgid))), a[1]})
	}
	if a[2] != 0 {
		return sysRtSigqueueinfo(t, Args{uint64(q.pid), a[1], a[2]})
	}
	return sysKill(t, Args{uint64(q.pid), a[1]})
}

// sysPidfdGetfd implements pidfd_getfd(2): a new descriptor, close-on-exec, for the
// open file behind descriptor a[1] of the pidfd's process.
func sysPidfdGetfd(t *Task, a Args) (uint64, error) {
	q, err := t.pidfdProcess(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if a.Uint(2) != 0 {
		return 0, unix.EINVAL
	}
	k := t.p.k
	k.pt.mu.Lock()
	gone := q.zombie || q.files == nil
	k.pt.mu.Unlock()
	if gone {
		return 0, unix.ESRCH
	}
	var hfd int
	if q == t.p {
		f, err := t.fileRaw(a.Fd(1))
		if err != nil {
			return 0, err
		}
		hfd, err = unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
	} else if hfd, err = q.files.dupHost(a.Fd(1)); err != nil {
		return 0, err
	}
	fd, err := t.p.files.install(&File{fd: hfd, refs: 1, path: hostFdPath(hfd)}, true, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return uint64(fd), nil
}
