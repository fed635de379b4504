package kernel

import (
	"errors"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// How a read or write blocked on a host file waits (waitHostFd).
//
// Threads blocked on the same host object in the same direction (readers of one pipe,
// say) wait in line inside vemu, as Linux's pipe and socket waits are exclusive: only the
// first in line asks the host, so a write wakes one waiter, not all of them. The first
// one leaves the line when its transfer is done or a signal ends its wait, and the next
// takes its place; a hang-up or an error reaches each of them in turn.
//
// The first in line waits in vemu's single epoll instance (one goroutine, one host
// thread for all waits), and the waiting goroutines hold no host thread of their own,
// nor a descriptor (the line has one for all): a guest's thread count cannot grow
// vemu's, nor use up its descriptors. Once ready, the transfer never blocks on the
// host: a pipe, FIFO or pseudo-terminal is reopened through /proc/self/fd as a private
// open file description in nonblocking mode (the guest's own description keeps its
// flags), and a socket is given MSG_DONTWAIT. When another process took the data first,
// the transfer finds nothing and the thread waits again, still interruptible.

// errMore is what a transfer returns with the bytes it moved so far when it moved only
// part of what it has to (a large write into a pipe that filled): it waits again for the
// rest.
var errMore = errors.New("transfer not finished")

// fdPoller is vemu's epoll instance for the waits on host files, started on first use.
type fdPoller struct {
	once sync.Once
	epfd int
	err  error

	mu   sync.Mutex
	next uint64
	wait map[uint64]chan struct{} // the waits registered, by the id in their event
	set  pollSet                  // the registrations of blocked polls (pollwait.go)
}

var hostPoller fdPoller

func (p *fdPoller) start() error {
	p.once.Do(func() {
		p.epfd, p.err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if p.err == nil {
			p.wait = map[uint64]chan struct{}{}
			p.set = pollSet{epfd: p.epfd, trigger: unix.EPOLLET, regs: map[*File]*pollReg{}, ids: map[uint64]*pollReg{}}
			go p.run()
		}
	})
	return p.err
}

// run hands the events out to their waits, for vemu's lifetime.
func (p *fdPoller) run() {
	ev := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, ev, -1)
		if err != nil {
			continue // EINTR: the runtime's own signals
		}
		p.mu.Lock()
		for _, e := range ev[:n] {
			id := uint64(uint32(e.Fd)) | uint64(uint32(e.Pad))<<32
			if ch, ok := p.wait[id]; ok {
				select {
				case ch <- struct{}{}:
				default:
				}
			} else {
				p.dispatch(id, e.Events)
			}
		}
		p.mu.Unlock()
	}
}

// await waits until the host fd polls as events asks (or hangs up, or fails), or c
// fires (errInterrupted).
func (p *fdPoller) await(fd int, events int16, c *cancel) error {
	if p.start() != nil {
		return pollTicks(fd, events, c)
	}
	ch := make(chan struct{}, 1)
	p.mu.Lock()
	p.next++
	id := p.next
	p.wait[id] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.wait, id)
		p.mu.Unlock()
	}()
	ev := unix.EpollEvent{Events: uint32(uint16(events)) | unix.EPOLLONESHOT, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return pollTicks(fd, events, c)
	}
	// The registration goes before the fd is closed: epoll forgets it only when the open
	// file description ends, and the guest may hold that one.
	defer unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	select {
	case <-ch:
		return nil
	case <-c.ch:
		return errInterrupted
	}
}

// waitKey names a host object, a direction, and whether the transfer may go without
// waiting, for a line to wait in.
type waitKey struct {
	dev, ino    uint64
	out, nowait bool
}

// waitLine is the line of threads waiting on one host object in one direction: the one
// that holds turn's slot is first; the others wait to put theirs, in order. The line has
// its own descriptor of the object, fd, open while anyone waits in it (see waitFd).
type waitLine struct {
	key       waitKey
	turn      chan struct{}
	refs      int
	fd        int
	sockFlags int
	nowait    bool
}

// waitLines holds the lines that have waiters.
type waitLines struct {
	mu sync.Mutex
	m  map[waitKey]*waitLine
}

// join puts a waiter for a transfer on f (a write if out) in its line, made with its
// descriptor when it is the first.
func (w *waitLines) join(f *File, out, nowait bool) (*waitLine, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return nil, err
	}
	k := waitKey{dev: st.Dev, ino: st.Ino, out: out, nowait: nowait}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[waitKey]*waitLine{}
	}
	l := w.m[k]
	if l == nil {
		fd, sockFlags, nb, err := waitFd(f, out, nowait)
		if err != nil {
			return nil, err
		}
		l = &waitLine{key: k, turn: make(chan struct{}, 1), fd: fd, sockFlags: sockFlags, nowait: nb}
		w.m[k] = l
	}
	l.refs++
	return l, nil
}

// leave takes a waiter out of l, which ends with its last.
func (w *waitLines) leave(l *waitLine) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(w.m, l.key)
		unix.Close(l.fd)
	}
}

// first waits for the line's turn, or for c (errInterrupted).
func (l *waitLine) first(c *cancel) error {
	select {
	case l.turn <- struct{}{}:
		return nil
	case <-c.ch:
		return errInterrupted
	}
}

// next gives the turn to the next in line.
func (l *waitLine) next() { <-l.turn }

// waitFd returns the descriptor a blocked transfer on f (a write if out) uses, and the
// flags its socket calls add: the transfer does not wait when nowait. Without nowait
// (the transfer would wait anyway, or f cannot have a private description), it is a
// duplicate of f's.
func waitFd(f *File, out, nowait bool) (fd int, sockFlags int, ok bool, err error) {
	var st unix.Stat_t
	if nowait && unix.Fstat(f.fd, &st) == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFSOCK:
			fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
			return fd, unix.MSG_DONTWAIT, err == nil, err
		case unix.S_IFIFO:
			if fd, ok := reopenNonblock(f.fd, &st, out); ok {
				return fd, 0, true, nil
			}
		case unix.S_IFCHR:
			if m := unix.Major(st.Rdev); m >= 136 && m <= 143 { // pseudo-terminals' ends
				if fd, ok := reopenNonblock(f.fd, &st, out); ok {
					return fd, 0, true, nil
				}
			}
		}
	}
	fd, err = unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
	return fd, 0, false, err
}

// reopenNonblock opens the object of the host fd again, as a new open file description
// in nonblocking mode, for reading or (out) writing; st is fd's status.
func reopenNonblock(fd int, st *unix.Stat_t, out bool) (int, bool) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_DIRECT != 0 {
		return -1, false // a packet-mode pipe's writes are packets only through its own
	}
	acc := unix.O_RDONLY
	if out {
		acc = unix.O_WRONLY
	}
	nfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), acc|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return -1, false
	}
	var nst unix.Stat_t
	if unix.Fstat(nfd, &nst) != nil || nst.Dev != st.Dev || nst.Ino != st.Ino {
		unix.Close(nfd)
		return -1, false
	}
	return nfd, true
}

// pollTicks is await without the epoll instance (the host refused it one): it polls fd
// on a host thread of its own, looking at c between short waits.
func pollTicks(fd int, events int16, c *cancel) error {
	for !c.stopped() {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, 20)
		if err != nil && err != unix.EINTR {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return errInterrupted
}
