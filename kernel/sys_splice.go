package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// splice(2), tee(2) and vmsplice(2) go to the host's pipes, sockets and files. As for
// read and write, the call runs on the run loop when its files are ready; when one is not
// and may block, the call waits off the run loop until both are.

// spliceFlagsAll is Linux's SPLICE_F_ALL: MOVE, NONBLOCK, MORE, GIFT.
const spliceFlagsAll = 0xf

// spliceNonblock is SPLICE_F_NONBLOCK.
const spliceNonblock = 0x2

// sysSplice implements splice(2).
func sysSplice(t *Task, a Args) (uint64, error) {
	// Linux's order: a length of 0, the flags, both descriptors, an offset given for a
	// pipe, the offsets' memory (out's first), the descriptors' modes, then at least one
	// pipe.
	if a[4] == 0 {
		return 0, nil
	}
	flags := a.Uint(5)
	if flags&^spliceFlagsAll != 0 {
		return 0, unix.EINVAL
	}
	in, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	out, err := t.file(a.Fd(2))
	if err != nil {
		return 0, err
	}
	inPipe, outPipe := isPipe(in), isPipe(out)
	if inPipe && a.Ptr(1) != 0 || outPipe && a.Ptr(3) != 0 {
		return 0, unix.ESPIPE
	}
	outOff, err := t.readOffset(a.Ptr(3))
	if err != nil {
		return 0, err
	}
	inOff, err := t.readOffset(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if !inPipe && !outPipe || int64(a[4]) < 0 && !(inPipe && outPipe) {
		// No pipe; or a negative length, which Linux's rw_verify_area refuses of the
		// file's side (between pipes it is only large).
		if !hostMode(in.fd, true) || !hostMode(out.fd, false) {
			return 0, unix.EBADF
		}
		return 0, unix.EINVAL
	}
	room, err := t.writeRoom(out, outOff, min(a[4], maxIO))
	if err != nil {
		return 0, err
	}
	n := int(room)
	call := func(ifd, ofd int, extra int) (uint64, error) {
		r, err := unix.Splice(ifd, inOff, ofd, outOff, n, int(flags)|extra)
		return uint64(r), err
	}
	done := func(r uint64, err error) (uint64, error) {
		if err == unix.EPIPE {
			t.sigpipe()
		}
		if err != nil {
			return 0, err
		}
		if err := t.writeOffset(a.Ptr(1), inOff); err != nil {
			return 0, err
		}
		return r, t.writeOffset(a.Ptr(3), outOff)
	}
	return t.pipeTransfer(in, out, n, flags, call, done)
}

// sysTee implements tee(2).
func sysTee(t *Task, a Args) (uint64, error) {
	flags := a.Uint(3)
	if flags&^spliceFlagsAll != 0 {
		return 0, unix.EINVAL
	}
	if a[2] == 0 {
		return 0, nil // as Linux's, before the descriptors
	}
	in, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	out, err := t.file(a.Fd(1))
	if err != nil {
		return 0, err
	}
	if !isPipe(in) || !isPipe(out) {
		// Linux checks the modes first: the input readable, the output writable.
		if !hostMode(in.fd, true) || !hostMode(out.fd, false) {
			return 0, unix.EBADF
		}
		return 0, unix.EINVAL
	}
	n := int(min(a[2], maxIO))
	call := func(ifd, ofd int, extra int) (uint64, error) {
		r, err := unix.Tee(ifd, ofd, n, int(flags)|extra)
		return uint64(r), err
	}
	return t.pipeTransfer(in, out, n, flags, call, nil)
}

// pipeTransfer runs call at once when in and out are ready (or never block), fails with
// EAGAIN when one that is not ready is non-blocking (or the call asked SPLICE_F_NONBLOCK),
// and otherwise waits for both off the run loop, interruptibly.
func (t *Task) pipeTransfer(in, out *File, n int, flags uint32, call func(ifd, ofd int, extra int) (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	if done == nil {
		done = func(r uint64, err error) (uint64, error) { return r, err }
	}
	inWait := in.mayBlock() && t.wouldBlock(in, true, uint64(n))
	outWait := out.mayBlock() && t.wouldBlock(out, false, uint64(n))
	if !inWait && !outWait {
		return done(call(in.fd, out.fd, 0))
	}
	if flags&spliceNonblock != 0 || inWait && nonblocking(in) || outWait && nonblocking(out) {
		return 0, unix.EAGAIN
	}
	ifd, err := unix.Dup(in.fd)
	if err != nil {
		return 0, err
	}
	ofd, err := unix.Dup(out.fd)
	if err != nil {
		unix.Close(ifd)
		return 0, err
	}
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		defer unix.Close(ifd)
		defer unix.Close(ofd)
		for {
			var fds []unix.PollFd
			if inWait {
				fds = append(fds, unix.PollFd{Fd: int32(ifd), Events: unix.POLLIN})
			}
			if outWait {
				fds = append(fds, unix.PollFd{Fd: int32(ofd), Events: unix.POLLOUT})
			}
			if _, err := hostPoll(fds, pollWait{forever: true, cancel: c}); err != nil {
				return 0, err
			}
			ready := true
			for _, p := range fds {
				ready = ready && p.Revents != 0
			}
			if !ready {
				continue
			}
			r, err := call(ifd, ofd, spliceNonblock)
			if err != unix.EAGAIN {
				return r, err
			}
		}
	}, done)
}

// sysVmsplice implements vmsplice(2) as Linux does today for user memory: a copy, as
// writev into a pipe's write end or readv from its read end.
func sysVmsplice(t *Task, a Args) (uint64, error) {
	if a.Uint(3)&^spliceFlagsAll != 0 {
		return 0, unix.EINVAL
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !isPipe(f) {
		return 0, unix.EBADF
	}
	fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
	if err != nil {
		return 0, err
	}
	rw := Args{a[0], a[1], a[2]}
	switch fl & unix.O_ACCMODE {
	case unix.O_WRONLY:
		if a.Uint(3)&spliceNonblock != 0 && t.wouldBlock(f, false, 1) {
			return 0, unix.EAGAIN
		}
		if rs, err := t.readIovecs(a.Ptr(1), a[2]); err == nil {
			for _, r := range rs {
				if t.p.mm.Secret(r.addr.PageDown(), r.addr+mm.Addr(r.n)) {
					// Linux pins the pages it splices, which secret memory refuses.
					return 0, unix.EFAULT
				}
			}
		}
		return sysWritev(t, rw)
	case unix.O_RDONLY:
		if a.Uint(3)&spliceNonblock != 0 && t.wouldBlock(f, true, 1) {
			return 0, unix.EAGAIN
		}
		return sysReadv(t, rw)
	}
	return 0, unix.EBADF
}

// isPipe says whether f is a pipe (or FIFO).
func isPipe(f *File) bool {
	var st unix.Stat_t
	return unix.Fstat(f.fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// hostMode is whether host descriptor fd may be read (read) or written (!read): its open
// mode, neither for O_PATH.
func hostMode(fd int, read bool) bool {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_PATH != 0 {
		return false
	}
	// An access mode of 3 is neither, as Linux's OPEN_FMODE.
	acc := fl & unix.O_ACCMODE
	if read {
		return acc == unix.O_RDONLY || acc == unix.O_RDWR
	}
	return acc == unix.O_WRONLY || acc == unix.O_RDWR
}
