package kernel

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Reads and writes that may wait (pipes, terminals, sockets in blocking mode) must not
// hold the process's run loop: the other threads run meanwhile, and a signal interrupts
// the wait. Such a call first asks the host whether the file is ready; when it is, the
// transfer happens at once, straight between the file and guest memory. Otherwise the
// wait and the transfer run on a goroutine of their own, through a private buffer:
// guest memory may be unmapped by another thread while it waits.

// maxBlockingRead bounds the buffer of a read that waited; pipes, terminals and sockets
// return short reads anyway (a pipe holds 1 MiB at most by default).
const maxBlockingRead = 1 << 20

// pipeBuf is PIPE_BUF: a blocking write larger than this may wait for the reader even
// when the pipe is writable.
const pipeBuf = 4096

// File kinds for mayBlock.
const (
	blockUnknown = iota
	blockMay
	blockNever
)

// mayBlock says whether reads and writes of f can wait: FIFOs, sockets and character
// devices (terminals) can; regular files, directories and the memory devices that never
// wait (memDeviceNeverWaits) cannot.
func (f *File) mayBlock() bool {
	if f.blockKind == blockUnknown {
		f.blockKind = blockNever
		var st unix.Stat_t
		if unix.Fstat(f.fd, &st) == nil {
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFIFO, unix.S_IFSOCK:
				f.blockKind = blockMay
			case unix.S_IFCHR:
				if !memDeviceNeverWaits(st.Rdev) {
					f.blockKind = blockMay
				}
			}
		}
	}
	return f.blockKind == blockMay
}

// memDeviceNeverWaits says whether the character device rdev is one of Linux's memory
// devices (major 1) whose reads and writes of any size complete at once: /dev/null,
// /dev/zero, /dev/full, /dev/random and /dev/urandom. A large write to one of them is
// not a pipe's write that may wait for room, so it need not leave the run loop, and a
// splice(2) into /dev/null with SPLICE_F_NONBLOCK succeeds as on Linux.
func memDeviceNeverWaits(rdev uint64) bool {
	if unix.Major(rdev) != 1 {
		return false
	}
	switch unix.Minor(rdev) {
	case 3, 5, 7, 8, 9: // null, zero, full, random, urandom
		return true
	}
	return false
}

// counter says whether f is an eventfd or a timerfd of the host, whose reads and writes
// move one 8-byte counter: a shorter one fails with EINVAL without waiting.
func (f *File) counter() bool {
	return f.path == "anon_inode:[eventfd]" || f.path == "anon_inode:[timerfd]"
}

// unwritable says whether f is a timerfd of the host, which has no write: it fails with
// EINVAL, though the file never polls writable.
func (f *File) unwritable() bool { return f.path == "anon_inode:[timerfd]" }

// wouldBlock says whether a read (in) or write of n bytes on f would wait: f is not ready
// for it (or the write is larger than PIPE_BUF) and f is in blocking mode.
func (t *Task) wouldBlock(f *File, in bool, n uint64) bool {
	if n == 0 || n < 8 && f.counter() || !in && f.unwritable() {
		return false // EINVAL at once
	}
	ev := int16(unix.POLLIN)
	if !in {
		ev = unix.POLLOUT
	}
	fds := []unix.PollFd{{Fd: int32(f.fd), Events: ev}}
	ready, err := unix.Ppoll(fds, &unix.Timespec{}, nil)
	if err != nil {
		return false // the transfer itself reports what is wrong
	}
	if ready > 0 && (in || n <= pipeBuf) {
		return false
	}
	fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
	if err != nil {
		return false
	}
	// A read of a descriptor open for writing only (a pipe's write end), or a write of
	// one open for reading only, is EBADF at once: the transfer itself says so.
	if acc := fl & unix.O_ACCMODE; in && acc == unix.O_WRONLY || !in && acc == unix.O_RDONLY {
		return false
	}
	return fl&unix.O_NONBLOCK == 0
}

// blockingRead waits for f to be readable off the run loop, reads, and copies what it
// read into the guest's buffers, found again by resolve.
func (t *Task) blockingRead(f *File, want uint64, resolve func() ([][]byte, error)) (uint64, error) {
	var got []byte
	read := func(fd, sockFlags int) (uint64, error) {
		buf := make([]byte, min(want, maxBlockingRead))
		var n int
		var err error
		if sockFlags != 0 {
			n, _, _, _, err = hostMsg(unix.SYS_RECVMSG, fd, buf, nil, nil, int32(sockFlags))
		} else {
			n, err = unix.Read(fd, buf)
		}
		if err != nil {
			return 0, err
		}
		got = buf[:n]
		return uint64(n), nil
	}
	done := func(r uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		b, err := resolve()
		if err != nil {
			return 0, err
		}
		rest := got
		for _, p := range b {
			rest = rest[copy(p, rest):]
		}
		return r - uint64(len(rest)), nil
	}
	return t.waitHostFd(f, unix.POLLIN, true, read, done)
}

// blockingWrite copies the guest's data and writes it off the run loop once f is
// writable, waiting as long as the write takes.
func (t *Task) blockingWrite(f *File, b [][]byte) (uint64, error) {
	data := flatten(b)
	off := 0 // written so far, over the turns of a write the reader takes in parts
	write := func(fd, sockFlags int) (uint64, error) {
		for off < len(data) {
			var n int
			var err error
			if sockFlags != 0 {
				n, _, _, _, err = hostMsg(unix.SYS_SENDMSG, fd, data[off:], nil, nil, int32(sockFlags|unix.MSG_NOSIGNAL))
			} else {
				n, err = unix.Write(fd, data[off:])
			}
			if err != nil || n <= 0 {
				if err == unix.EAGAIN {
					f.full()
				}
				return moved(off, err)
			}
			off += n
		}
		return uint64(off), nil
	}
	done := func(r uint64, err error) (uint64, error) {
		if err == unix.EPIPE {
			t.sigpipe()
		}
		return r, err
	}
	return t.waitHostFd(f, unix.POLLOUT, true, write, done)
}

// moved is what a write that moved off bytes before err returns: errMore when it has to
// wait for room, the count when it failed after some (the error comes on the next write,
// as on Linux).
func moved(off int, err error) (uint64, error) {
	switch {
	case off == 0:
		if err == nil {
			err = unix.EAGAIN
		}
		return 0, err
	case err == nil || err == unix.EAGAIN:
		return uint64(off), errMore
	}
	return uint64(off), nil
}

// waitHostFd blocks the thread until f is ready for events (POLLIN or POLLOUT), then runs
// transfer on it: on a descriptor that does not wait, if nowait allows (sockFlags then
// gives a socket's calls MSG_DONTWAIT), where a transfer that finds nothing (EAGAIN)
// waits again, and one that moved part of its bytes (errMore) waits for the rest.
func (t *Task) waitHostFd(f *File, events int16, nowait bool, transfer func(fd, sockFlags int) (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	out := events&unix.POLLOUT != 0
	timeo := sockTimeout(f, out)
	if timeo <= 0 {
		return t.waitHostFdUntimed(f, events, nowait, intrRestart, nil, transfer, done)
	}
	// A socket with SO_RCVTIMEO (reads, accept) or SO_SNDTIMEO (writes) waits that long
	// at most: then the call returns what it moved so far, or EAGAIN. A signal ends such
	// a wait with EINTR, never a restart, as Linux's sock_intr_errno() says.
	var timedOut atomic.Bool
	var stop func()
	r, err := t.waitHostFdUntimed(f, events, nowait, intrKind(unix.EINTR), &timedOut, transfer, func(r uint64, err error) (uint64, error) {
		if stop != nil {
			stop()
		}
		return done(r, err)
	})
	if err != errBlocked {
		return r, err
	}
	pend, gen := t.pending, t.gen+1
	stop = t.p.after(timeo, func() {
		if t.gen != gen || t.state != taskBlocked || t.blocked != pend || pend.interrupted {
			return
		}
		timedOut.Store(true)
		if pend.wait != nil {
			// Parked, in a repeatable run: the part moved so far, or EAGAIN.
			if pend.partial != nil {
				if n, ok := pend.partial(); ok {
					t.complete(pend, n, nil)
					return
				}
			}
			t.complete(pend, 0, unix.EAGAIN)
			return
		}
		pend.interrupted = true // no signal fires the cancel again
		pend.stop.fire()
	})
	return r, err
}

// sockTimeout is the host socket's SO_RCVTIMEO (or, for out, SO_SNDTIMEO) behind f: 0
// when f is no socket, the option is not set, or it is longer than maxWait.
func sockTimeout(f *File, out bool) time.Duration {
	opt := unix.SO_RCVTIMEO
	if out {
		opt = unix.SO_SNDTIMEO
	}
	tv, err := unix.GetsockoptTimeval(f.fd, unix.SOL_SOCKET, opt)
	if err != nil || tv.Sec < 0 || tv.Sec >= int64(maxWait/time.Second) {
		return 0 // as long as anyone can tell, forever
	}
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}

// waitHostFdUntimed is waitHostFd's wait, interrupted as kind says; when timedOut is
// given and set, a cancel means the socket's timeout passed.
func (t *Task) waitHostFdUntimed(f *File, events int16, nowait bool, kind intrKind, timedOut *atomic.Bool, transfer func(fd, sockFlags int) (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	out := events&unix.POLLOUT != 0
	if t.p.k.repeatable() {
		var sofar uint64
		hw := &hostWait{fds: []unix.PollFd{{Fd: int32(f.fd), Events: events}}, files: []*File{f}, retry: func() (uint64, error) {
			fd, sockFlags, nb, err := waitFd(f, out, nowait)
			if err != nil {
				return 0, err
			}
			defer unix.Close(fd)
			r, err := transfer(fd, sockFlags)
			if nb && (err == unix.EAGAIN || err == errMore) {
				sofar = r
				return 0, errNotReady
			}
			return r, err
		}}
		r, err := t.blockWait(kind, hw, nil, done)
		t.pending.partial = func() (uint64, bool) { return sofar, sofar > 0 }
		return r, err
	}
	// The line holds a descriptor of its own for the object: the guest may close its fd
	// meanwhile, and a waiter costs vemu no descriptor.
	line, err := t.p.k.lines.join(f, out, nowait)
	if err != nil {
		return 0, err
	}
	r, err := t.blockIntrChan(kind, func(c *cancel) (uint64, error) {
		defer t.p.k.lines.leave(line)
		var sofar uint64
		ended := func(err error) (uint64, error) {
			if err == errInterrupted && timedOut != nil && timedOut.Load() {
				err = unix.EAGAIN
			}
			if sofar > 0 {
				return sofar, nil // a signal after part of a write: the count so far
			}
			return 0, err
		}
		if err := line.first(c); err != nil {
			return ended(err)
		}
		held := true // the turn, while first in line
		defer func() {
			if held {
				line.next()
			}
		}()
		for {
			if err := hostPoller.await(line.fd, events, c); err != nil {
				return ended(err)
			}
			r, err := transfer(line.fd, line.sockFlags)
			if !line.nowait || (err != unix.EAGAIN && err != errMore) {
				return r, err
			}
			if err == errMore {
				// Part done: the others in line get their turn before the rest.
				sofar = r
				line.next()
				held = false
				if err := line.first(c); err != nil {
					return ended(err)
				}
				held = true
			}
		}
	}, done)
	t.pending.credless = true
	return r, err
}

// flatten copies host slices of guest memory into one private buffer.
func flatten(b [][]byte) []byte {
	data := make([]byte, 0, total(b))
	for _, p := range b {
		data = append(data, p...)
	}
	return data
}

// sigpipe sends SIGPIPE to the thread, as a write to a pipe or socket with no reader
// does on Linux besides failing with EPIPE.
func (t *Task) sigpipe() {
	t.p.queueSignal(t, abi.Siginfo{Signo: abi.SIGPIPE, Code: abi.SI_USER, Pid: int32(t.p.pid), UID: uint32(unix.Getuid())})
}
