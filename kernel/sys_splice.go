package kernel

import (
	"golang.org/x/sys/unix"
)

// spliceNonblock is SPLICE_F_NONBLOCK: the call does not wait for the pipe.
const spliceNonblock = 0x2

// sysSplice implements splice(2) with the host's, between the host descriptors behind
// the guest's, as sendfile does: at once when neither side has to wait (or the guest
// asked not to), else on a goroutine of its own while the process's other threads run.
func sysSplice(t *Task, a Args) (uint64, error) {
	in, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	out, err := t.file(a.Fd(2))
	if err != nil {
		return 0, err
	}
	inOff, err := t.readOffset(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	outOff, err := t.readOffset(a.Ptr(3))
	if err != nil {
		return 0, err
	}
	n := int(min(a[4], maxIO))
	flags := int(a.Uint(5))
	move := func(ifd, ofd int) (uint64, error) {
		r, err := unix.Splice(ifd, inOff, ofd, outOff, n, flags)
		return rw(int(r), err)
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
	waits := func(f *File, reading bool) bool { return f.mayBlock() && t.wouldBlock(f, reading, uint64(n)) }
	if flags&spliceNonblock != 0 || !waits(in, true) && !waits(out, false) {
		return done(move(in.fd, out.fd))
	}
	return t.dupsFor(in, out, move, done)
}

// sysTee implements tee(2) with the host's, between two pipes.
func sysTee(t *Task, a Args) (uint64, error) {
	in, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	out, err := t.file(a.Fd(1))
	if err != nil {
		return 0, err
	}
	n := int(min(a[2], maxIO))
	flags := int(a.Uint(3))
	move := func(ifd, ofd int) (uint64, error) {
		r, err := unix.Tee(ifd, ofd, n, flags)
		return rw(int(r), err)
	}
	if flags&spliceNonblock != 0 || !(in.mayBlock() && t.wouldBlock(in, true, uint64(n))) && !(out.mayBlock() && t.wouldBlock(out, false, uint64(n))) {
		return move(in.fd, out.fd)
	}
	return t.dupsFor(in, out, move, nil)
}

// dupsFor runs move on duplicates of in's and out's host descriptors on a goroutine of
// its own (the guest may close its descriptors meanwhile), and done with its result.
func (t *Task) dupsFor(in, out *File, move func(ifd, ofd int) (uint64, error), done func(uint64, error) (uint64, error)) (uint64, error) {
	ifd, err := unix.Dup(in.fd)
	if err != nil {
		return 0, err
	}
	ofd, err := unix.Dup(out.fd)
	if err != nil {
		unix.Close(ifd)
		return 0, err
	}
	return t.blockIntr(intrRestart, func(*cancel) (uint64, error) {
		defer unix.Close(ifd)
		defer unix.Close(ofd)
		return move(ifd, ofd)
	}, done)
}
