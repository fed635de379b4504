package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// lockRetry is how often a waiting file lock is tried again. The host's waiting forms
// cannot be cancelled when a signal interrupts the guest's call, so the wait is a retry of
// the non-waiting form.
const lockRetry = 2 * time.Millisecond

// waitLock takes a file lock with try, the non-waiting form of the call, waiting off the
// run loop while it is held elsewhere; a handled signal interrupts the wait, and the call
// restarts under SA_RESTART (Linux's ERESTARTSYS).
func (t *Task) waitLock(f *File, try func(fd int) error) (uint64, error) {
	err := try(f.fd)
	if err != unix.EAGAIN && err != unix.EACCES {
		return 0, err
	}
	fd, err := unix.Dup(f.fd) // the same open file description: the same locks
	if err != nil {
		return 0, err
	}
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		defer unix.Close(fd)
		for {
			select {
			case <-c.ch:
				return 0, errInterrupted
			case <-time.After(lockRetry):
			}
			if err := try(fd); err != unix.EAGAIN && err != unix.EACCES {
				return 0, err
			}
		}
	}, nil)
}

// sysFlock implements flock(2) with the host's, on the host file: locks follow open file
// descriptions, so they hold between guest processes as between host ones. As Linux's,
// the operation is checked before the descriptor, and one with LOCK_MAND (whose locks
// Linux has dropped) succeeds at once, whatever the descriptor.
func sysFlock(t *Task, a Args) (uint64, error) {
	op := int(a.Int(1))
	if op&abi.LOCK_MAND != 0 {
		return 0, nil
	}
	switch op &^ abi.LOCK_NB {
	case abi.LOCK_SH, abi.LOCK_EX, abi.LOCK_UN:
	default:
		return 0, unix.EINVAL
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if op&abi.LOCK_NB != 0 || op == abi.LOCK_UN {
		return 0, unix.Flock(f.fd, op)
	}
	return t.waitLock(f, func(fd int) error {
		if err := unix.Flock(fd, op|abi.LOCK_NB); err != unix.EWOULDBLOCK {
			return err
		}
		return unix.EAGAIN
	})
}
