package kernel

import (
	"container/list"
	"math/bits"
	"time"

	"golang.org/x/sys/unix"
)

// How poll, select and epoll_wait wait for host files (pollWatch, awaitReady).
//
// A blocked poll holds no host thread: its files are registered in vemu's single epoll
// instance (hostPoller, which also serves the lines of hostwait.go), and the call's
// goroutine waits on a channel for a word from the poller's one goroutine, then polls
// its files again without waiting, so that what it answers is the host's poll, level-
// triggered and exact, as before.
//
// One epoll instance cannot hold one host descriptor twice (EEXIST), and thousands of
// threads may poll the same pipe. So registrations are per open file (File), shared by
// every waiter on it: the first waiter registers the file's host descriptor, the last one
// takes it out, and the events asked of the host are the union of the waiters'. This
// costs no descriptor at all, where a nested epoll instance per waiter would cost one
// each, and a registration of the file's own descriptor needs no one-shot re-arm: it is
// edge-triggered, and each waiter joins before it polls, so no change after its poll
// goes unseen. A file whose descriptor the guest closes meanwhile leaves every
// registration first (forgetPolls), before the host descriptor is closed and its number
// used again; the waits go on for their other files, as an epoll instance drops a closed
// file. Files the host cannot register (regular files: EPERM) are always ready, and need
// none. When the host refuses a registration otherwise (a guest epoll instance nested as
// deep as Linux allows cannot go into another: ELOOP), the goroutine polls again at
// intervals growing to pollTickMax, still without a host thread of its own.
//
// Waiters of epoll_wait on one guest epoll instance are woken one at a time, first come
// first, as Linux wakes them exclusively: the one woken takes the events, then wakes the
// next, which finds the events that are still ready (level-triggered ones) or waits
// again; a waiter that leaves without taking any hands its wake-up on.
//
// In repeatable runs (--seed with the virtual clock) the waits are parked and the run
// loop checks them (intr.go): each process has an epoll instance of its own, level-
// triggered, with the same registrations per file, which the loop reads without waiting
// at each turn, so that a turn costs what is ready, not what waits.

// pollTickMax is the longest interval between two looks of a wait the host would not
// register.
const pollTickMax = 50 * time.Millisecond

// pollReg is an open file's registration in a poll set, shared by the waits on it.
type pollReg struct {
	set    *pollSet
	f      *File
	fd     int    // f's host descriptor, registered
	id     uint64 // the registration's event data
	counts [16]int32
	events uint32 // what the host is asked for: the union of the waiters'
	gone   bool   // taken out of the host's instance

	waiters map[*pollWaiter]uint32 // woken together, each for the events it waits for
	excl    list.List              // epoll_wait's waiters, woken one at a time, first first
	// watching counts the waiters that joined and have not left: an exclusive waiter
	// that was woken is out of excl until it looks again, and still watches.
	watching int

	// Repeatable runs: the parked waits on the file, in the order they parked, and how
	// many of them have ended since the last compaction.
	parks     []*parkEntry
	parksDead int
	revents   uint32 // the host's last answer for the file, read at changes (see pollParked)
	checked   uint64
}

// pollSet is an epoll instance of registrations by file. hostPoller's mu guards it.
type pollSet struct {
	epfd    int
	trigger uint32 // EPOLLET, or 0 for level-triggered registrations
	regs    map[*File]*pollReg
	ids     map[uint64]*pollReg
}

// pollEventBits are the poll events a registration may ask for.
const pollEventBits = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLOUT | unix.EPOLLRDNORM |
	unix.EPOLLRDBAND | unix.EPOLLWRNORM | unix.EPOLLWRBAND | unix.EPOLLMSG | unix.EPOLLRDHUP

// join adds a waiter's events to set's registration of f, made on first use. Called with
// hostPoller.mu held.
func (s *pollSet) join(f *File, events uint32) (*pollReg, error) {
	events &= pollEventBits
	r := s.regs[f]
	if r == nil {
		hostPoller.next++
		r = &pollReg{set: s, f: f, fd: f.fd, id: hostPoller.next}
		ev := unix.EpollEvent{Events: events | s.trigger, Fd: int32(uint32(r.id)), Pad: int32(uint32(r.id >> 32))}
		if err := unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, f.fd, &ev); err != nil {
			return nil, err
		}
		r.events = events
		s.regs[f], s.ids[r.id] = r, r
		f.polls = append(f.polls, r)
		f.pollRegs.Add(1)
	}
	for b := events; b != 0; b &= b - 1 {
		r.counts[bits.TrailingZeros32(b)]++
	}
	if events&^r.events != 0 {
		r.events |= events
		r.modify()
	}
	return r, nil
}

// leave takes a waiter's events out of r, which ends with its last waiter. Called with
// hostPoller.mu held.
func (r *pollReg) leave(events uint32) {
	if r.gone {
		return
	}
	events &= pollEventBits
	var now uint32
	for b := events; b != 0; b &= b - 1 {
		r.counts[bits.TrailingZeros32(b)]--
	}
	for i, c := range r.counts {
		if c > 0 {
			now |= 1 << i
		}
	}
	if r.watching == 0 && len(r.parks) == r.parksDead {
		r.end()
		return
	}
	if now != r.events {
		// Ask no more than the waiters want: a level-triggered set would otherwise
		// answer, at every turn, for events no one waits for.
		r.events = now
		r.modify()
	}
}

func (r *pollReg) modify() {
	ev := unix.EpollEvent{Events: r.events | r.set.trigger, Fd: int32(uint32(r.id)), Pad: int32(uint32(r.id >> 32))}
	unix.EpollCtl(r.set.epfd, unix.EPOLL_CTL_MOD, r.fd, &ev)
}

// end takes r out of the host's instance and its file. Called with hostPoller.mu held.
func (r *pollReg) end() {
	if r.gone {
		return
	}
	r.gone = true
	unix.EpollCtl(r.set.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	delete(r.set.regs, r.f)
	delete(r.set.ids, r.id)
	ps := r.f.polls
	for i, o := range ps {
		if o == r {
			ps[i] = ps[len(ps)-1]
			ps[len(ps)-1] = nil
			r.f.polls = ps[:len(ps)-1]
			break
		}
	}
	r.f.pollRegs.Add(-1)
}

// forgetPolls takes f out of every poll set, before its host descriptor closes: the
// number may name another file next.
func forgetPolls(f *File) {
	if f.pollRegs.Load() == 0 {
		return
	}
	hostPoller.mu.Lock()
	defer hostPoller.mu.Unlock()
	for len(f.polls) > 0 {
		f.polls[len(f.polls)-1].end()
	}
}

// pollWaiter is a blocked poll, select or epoll_wait waiting for hostPoller's word.
type pollWaiter struct {
	ch     chan struct{} // a word: something it waits for may be ready
	regs   []*pollReg
	events []uint32
	excl   *list.Element // its place among an epoll instance's waiters, while it waits there

	exclusive bool // an epoll_wait's waiter
	took      bool // it took events, and woke the next waiter
}

// watch registers a waiter for files, each for the events beside it (nil files are
// skipped); excl makes it an exclusive waiter (epoll_wait's). It fails when hostPoller
// has no instance or the host refuses a registration other than with EPERM.
func (p *fdPoller) watch(files []*File, events []uint32, excl bool) (*pollWaiter, error) {
	if err := p.start(); err != nil {
		return nil, err
	}
	w := &pollWaiter{ch: make(chan struct{}, 1), exclusive: excl}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range files {
		if f == nil {
			continue
		}
		r, err := p.set.join(f, events[i])
		if err == unix.EPERM {
			continue // always ready, as Linux's poll says of a file without a poll method
		}
		if err != nil {
			p.unwatchLocked(w)
			return nil, err
		}
		r.watching++
		if excl {
			w.excl = r.excl.PushBack(w)
		} else {
			if r.waiters == nil {
				r.waiters = map[*pollWaiter]uint32{}
			}
			r.waiters[w] |= events[i]
		}
		w.regs = append(w.regs, r)
		w.events = append(w.events, events[i])
	}
	return w, nil
}

// unwatch takes w out of its registrations. An exclusive waiter that took events, or
// was woken and leaves without taking any, wakes the next.
func (p *fdPoller) unwatch(w *pollWaiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unwatchLocked(w)
}

func (p *fdPoller) unwatchLocked(w *pollWaiter) {
	for i, r := range w.regs {
		if w.excl != nil {
			r.excl.Remove(w.excl)
			w.excl = nil
		} else if w.exclusive && !w.took {
			r.wakeNext() // woken, and leaving without the events: the word goes on
		}
		delete(r.waiters, w)
		r.watching--
		r.leave(w.events[i])
	}
	w.regs = nil
}

// wakeNext gives the word to r's first exclusive waiter, out of line. Called with
// hostPoller.mu held.
func (r *pollReg) wakeNext() {
	if e := r.excl.Front(); e != nil {
		w := r.excl.Remove(e).(*pollWaiter)
		w.excl = nil
		w.wake()
	}
}

func (w *pollWaiter) wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// dispatch hands an event of the shared set to its waiters. Called with p.mu held.
func (p *fdPoller) dispatch(id uint64, events uint32) {
	r := p.set.ids[id]
	if r == nil {
		return
	}
	for w, want := range r.waiters {
		if events&(want|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			w.wake()
		}
	}
	r.wakeNext()
}

// requeue puts an exclusive waiter that was woken back at the end of the line, before
// it looks for events: one that comes meanwhile wakes it again.
func (p *fdPoller) requeue(w *pollWaiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.excl == nil && len(w.regs) == 1 && !w.regs[0].gone {
		w.excl = w.regs[0].excl.PushBack(w)
	}
}

// awaitReady waits off the run loop until try (which must not wait) finds something
// ready, w runs out (try's last answer), or w's cancel fires (errInterrupted, unless
// try then finds something after all: a wait that took events answers with them). pw's
// registrations end with it. Without pw (the host would not register the files), try
// runs again at growing intervals, up to pollTickMax.
func (p *fdPoller) awaitReady(pw *pollWaiter, w pollWait, try func() (int, error)) (int, error) {
	var ticks *time.Timer
	var tick <-chan time.Time
	interval := time.Millisecond
	if pw == nil {
		pw = &pollWaiter{} // no word comes on its nil channel
		ticks = time.NewTimer(interval)
		defer ticks.Stop()
		tick = ticks.C
	}
	excl := pw.exclusive
	took := func(n int, err error) (int, error) {
		if excl && err == nil && n > 0 {
			p.mu.Lock()
			pw.took = true
			for _, r := range pw.regs {
				if pw.excl != nil {
					r.excl.Remove(pw.excl)
					pw.excl = nil
				}
				r.wakeNext() // events may be left: the next waiter looks, as Linux wakes it
			}
			p.mu.Unlock()
		}
		return n, err
	}
	defer p.unwatch(pw)
	var timeout <-chan time.Time
	if !w.forever {
		tm := time.NewTimer(w.remaining())
		defer tm.Stop()
		timeout = tm.C
	}
	for {
		if n, err := try(); err != nil || n > 0 {
			return took(n, err)
		}
		select {
		case <-pw.ch:
			if excl {
				p.requeue(pw)
			}
		case <-w.cancel.ch:
			if n, err := try(); err != nil || n > 0 {
				return took(n, err)
			}
			return 0, errInterrupted
		case <-timeout:
			return took(try())
		case <-tick:
			interval = min(2*interval, pollTickMax)
			ticks.Reset(interval)
		}
	}
}
