package kernel

import (
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// isFifo says whether opening (d, hp) with flags would wait for the other end of a named
// pipe: a FIFO opened for reading or writing alone, without O_NONBLOCK.
func isFifo(d int, hp string, flags uint32) bool {
	if flags&(abi.O_NONBLOCK|abi.O_PATH) != 0 || flags&abi.O_ACCMODE == abi.O_RDWR {
		return false
	}
	at := 0
	if flags&abi.O_NOFOLLOW != 0 {
		at = unix.AT_SYMLINK_NOFOLLOW
	}
	var st unix.Stat_t
	return unix.Fstatat(d, hp, &st, at) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// fifoAt returns where the guest's (dirfd, p) is on the host when opening it with flags
// would wait for the other end of a named pipe. Under a confining root, which resolves
// paths itself, it is an O_PATH descriptor of the FIFO (name ""), which is no reader
// or writer.
func (t *Task) fifoAt(dirfd int32, p string, flags uint32) (hostPath, bool) {
	if flags&(abi.O_NONBLOCK|abi.O_PATH) != 0 || flags&abi.O_ACCMODE == abi.O_RDWR {
		return hostPath{}, false
	}
	if t.p.k.root != nil {
		fd, err := t.openPath(dirfd, p, unix.O_PATH|hostOpenFlags(flags)&unix.O_NOFOLLOW, 0)
		if err != nil {
			return hostPath{}, false
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			unix.Close(fd)
			return hostPath{}, false
		}
		return hostPath{dir: fd, own: fd}, true
	}
	h, err := t.lookup(dirfd, p, flags&abi.O_NOFOLLOW == 0)
	if err != nil {
		return hostPath{}, false
	}
	if h.name == "" || !isFifo(h.dir, h.name, flags) {
		h.close()
		return hostPath{}, false
	}
	return h, true
}

// openFifo opens a named pipe off the run loop: the open waits until another opens the
// other end, perhaps another thread of this process, which must run meanwhile. A handled
// signal ends the wait (the call restarts under SA_RESTART, as Linux's ERESTARTSYS): the
// wait is released by opening the other end without waiting, and what it opened closed.
func (t *Task) openFifo(d int, hp string, flags, mode uint32, install func(hfd int) (uint64, error)) (uint64, error) {
	dir := d
	if d >= 0 {
		var err error
		if dir, err = unix.FcntlInt(uintptr(d), unix.F_DUPFD_CLOEXEC, 3); err != nil { // the guest may close d meanwhile
			return 0, err
		}
	}
	at, name := dir, hp
	if hp == "" {
		// An O_PATH descriptor of the FIFO itself: reopened through its magic link.
		at, name = unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(dir)
	}
	other := unix.O_RDONLY
	if flags&abi.O_ACCMODE == abi.O_RDONLY {
		other = unix.O_WRONLY
	}
	var hfd int
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		if dir >= 0 {
			defer unix.Close(dir)
		}
		done := make(chan struct{})
		cancelled := make(chan bool, 1)
		go func() {
			select {
			case <-done:
				cancelled <- false
			case <-c.ch:
				// Open the other end until the waiting open is released.
				for {
					if fd, err := unix.Openat(at, name, other|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
						unix.Close(fd)
					}
					select {
					case <-done:
						cancelled <- true
						return
					case <-time.After(100 * time.Microsecond):
					}
				}
			}
		}()
		fd, err := unix.Openat(at, name, hostOpenFlags(flags)|unix.O_CLOEXEC, mode&0o7777)
		close(done)
		if <-cancelled {
			if err == nil {
				unix.Close(fd)
			}
			return 0, errInterrupted
		}
		hfd = fd
		return 0, err
	}, func(_ uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		return install(hfd)
	})
}
