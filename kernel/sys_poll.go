package kernel

import (
	"encoding/binary"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Guest epoll values (x86-64; the same on every Linux architecture).
const (
	epollCloexec = abi.O_CLOEXEC

	// epMaxEvents is Linux's EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event).
	epMaxEvents = math.MaxInt32 / abi.EpollEventSize
	// epollBatch caps the events one epoll_wait collects, so that a huge maxevents
	// never becomes a huge host buffer. Events left over stay ready for the next call.
	epollBatch = 1024

	// nrOpen is Linux's default fs.nr_open, the ceiling of RLIMIT_NOFILE and so of
	// poll's nfds.
	nrOpen = 1 << 20

	// fdSetBits is the width of one word of an fd_set: Linux handles them as longs.
	fdSetBits = 64
)

// pollWait is how long a call may block: forever, or until a deadline on the host's
// monotonic clock. The zero value does not block at all.
type pollWait struct {
	forever bool
	d       time.Duration // as given
	end     time.Time
	cancel  *cancel // ends the wait early with errInterrupted when fired

	// Under the virtual clock, the deadline is on it: virt is the clock's MONOTONIC ns.
	virt *atomic.Int64
	vend int64
}

// onGuestClock moves a finite wait onto the virtual clock when the guest runs on it, so
// that timeouts repeat exactly from run to run.
func (t *Task) onGuestClock(w pollWait) pollWait {
	if t.p.k.cfg.Clock != ClockVirtual || w.forever || w.zero() {
		return w
	}
	w.virt = &t.p.k.clock.virt
	w.vend = w.virt.Load() + int64(w.d)
	return w
}

// maxWait is the longest finite timeout; longer ones wait forever, as far as anyone can
// tell, and never overflow a time.Time.
const maxWait = 100 * 365 * 24 * time.Hour

var pollForever = pollWait{forever: true}

func pollWaitFor(d time.Duration) pollWait {
	if d <= 0 {
		return pollWait{}
	}
	if d > maxWait {
		return pollForever
	}
	return pollWait{d: d, end: time.Now().Add(d)}
}

// pollMillis is the timeout of poll and epoll_wait: negative waits forever.
func pollMillis(ms int32) pollWait {
	if ms < 0 {
		return pollForever
	}
	return pollWaitFor(time.Duration(ms) * time.Millisecond)
}

// pollTimespec is a timeout given as a (validated) timespec.
func pollTimespec(ts abi.Timespec) pollWait {
	if ts.Sec >= int64(maxWait/time.Second) {
		return pollForever
	}
	return pollWaitFor(time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec))
}

func (w pollWait) zero() bool { return !w.forever && w.d <= 0 }

// remaining is the time left before the deadline, never negative.
func (w pollWait) remaining() time.Duration {
	if w.zero() {
		return 0
	}
	if w.virt != nil {
		return time.Duration(max(w.vend-w.virt.Load(), 0))
	}
	return max(time.Until(w.end), 0)
}

// hostPoll polls the host fds until one is ready or w runs out; a cancel ends it with
// errInterrupted. Signals that interrupt the host call (the Go runtime's own) do not end
// the wait.
func hostPoll(fds []unix.PollFd, w pollWait) (int, error) {
	cfd := -1
	if w.cancel != nil && w.cancel.fd >= 0 {
		// Poll a copy with the cancel's eventfd at the end; the results go back to fds.
		cfd = w.cancel.fd
		all := append(append(make([]unix.PollFd, 0, len(fds)+1), fds...), unix.PollFd{Fd: int32(cfd), Events: unix.POLLIN})
		defer func(fds []unix.PollFd) {
			for i := range fds {
				fds[i].Revents = all[i].Revents
			}
		}(fds)
		fds = all
	}
	for {
		var ts *unix.Timespec
		if !w.forever {
			t := unix.NsecToTimespec(int64(w.remaining()))
			ts = &t
		}
		n, err := unix.Ppoll(fds, ts, nil)
		if err == unix.EINTR {
			continue
		}
		if cfd >= 0 {
			if fds[len(fds)-1].Revents != 0 {
				return 0, errInterrupted
			}
			if w.cancel.stopped() {
				return 0, errInterrupted
			}
		}
		return n, err
	}
}

// hostEpollWait waits on the host epoll instance epfd until an event arrives or w runs
// out; a cancel ends it with errInterrupted.
func hostEpollWait(epfd int, ev []unix.EpollEvent, w pollWait) (int, error) {
	for {
		if w.cancel != nil {
			// Wait for readiness with the cancel beside it, then collect without waiting.
			n, err := hostPoll([]unix.PollFd{{Fd: int32(epfd), Events: unix.POLLIN}}, w)
			if err != nil || n == 0 {
				return 0, err // interrupted, failed, or timed out
			}
			n, err = unix.EpollWait(epfd, ev, 0)
			if err == unix.EINTR || (err == nil && n == 0) {
				continue // the ready event went to someone else
			}
			return n, err
		}
		ms := -1
		if !w.forever {
			r := w.remaining()
			ms = int(min((r+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
		}
		n, err := unix.EpollWait(epfd, ev, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n > 0 || w.forever || w.remaining() == 0 {
			return n, err
		}
	}
}

// waitReady runs try without blocking first, on the run loop; only when it finds nothing
// ready and w allows waiting does the thread block until fds (those of files, nil for
// none) are ready, and try runs again, off the run loop (or, in repeatable runs, parked
// until fds are ready). excl says the waiters are woken one at a time (epoll_wait's).
// finish gets try's result back on the run loop, where it may write guest memory.
func (t *Task) waitReady(w pollWait, fds []unix.PollFd, files []*File, excl bool, try func(w pollWait) (int, error), finish func(n int, err error) (uint64, error)) (uint64, error) {
	n, err := try(pollWait{})
	if err != nil || n > 0 || w.zero() {
		return finish(n, err)
	}
	var timedOut atomic.Bool // a virtual timer ended the wait
	hw := &hostWait{fds: fds, files: files, retry: func() (uint64, error) {
		n, err := try(pollWait{})
		if err == nil && n == 0 {
			return 0, errNotReady
		}
		return uint64(n), err
	}}
	done := func(r uint64, err error) (uint64, error) { return finish(int(r), err) }
	var r uint64
	if t.p.k.repeatable() {
		r, err = t.blockWait(intrNoHand, hw, nil, done)
	} else {
		// No host thread waits: the goroutine waits for hostPoller's word. When the host
		// will not register the files (guest epoll instances nested as deep as Linux
		// allows, say), pw is nil and the goroutine looks again at growing intervals,
		// holding no host thread between looks either.
		pw, werr := hostPoller.watch(files, pollEvents(fds), excl)
		if werr != nil {
			pw = nil
		}
		r, err = t.blockIntrChan(intrNoHand, func(c *cancel) (uint64, error) {
			hw := w
			if w.virt != nil {
				hw = pollWait{forever: true} // a virtual timer ends the wait
			}
			hw.cancel = c
			n, err := hostPoller.awaitReady(pw, hw, func() (int, error) { return try(pollWait{}) })
			if err == errInterrupted && timedOut.Load() {
				return 0, nil
			}
			return uint64(n), err
		}, done)
		t.pending.credless = true
	}
	if w.virt == nil {
		return r, err
	}
	pend, gen := t.pending, t.gen+1
	t.p.after(time.Duration(w.vend-w.virt.Load()), func() {
		if t.gen != gen || t.state != taskBlocked || pend.interrupted {
			return
		}
		if pend.wait != nil {
			t.complete(pend, 0, nil)
			return
		}
		timedOut.Store(true)
		pend.interrupted = true // no signal fires the cancel again
		pend.stop.fire()
	})
	return r, err
}

func finishNow(try func(w pollWait) (int, error), finish func(n int, err error) (uint64, error)) (uint64, error) {
	return finish(try(pollWait{}))
}

// pollEvents are the events of each of fds, as epoll's.
func pollEvents(fds []unix.PollFd) []uint32 {
	ev := make([]uint32, len(fds))
	for i, p := range fds {
		ev[i] = uint32(uint16(p.Events))
	}
	return ev
}

// filesOf returns the open file of each guest fd, nil for those not open.
func (t *Task) filesOf(fds []int32) []*File {
	files := make([]*File, len(fds))
	for i, fd := range fds {
		if fd >= 0 {
			files[i], _ = t.file(fd)
		}
	}
	return files
}

// hostFd returns the host fd behind guest fd, or false when fd is not open.
func (t *Task) hostFdOf(fd int32) (int, bool) {
	f, err := t.file(fd)
	if err != nil {
		return -1, false
	}
	return f.fd, true
}

// readOnlyEvents is the events poll may ask of f's host file: all, but for a signalfd,
// which Linux's signalfd_poll makes readable only, and whose host file (an eventfd) is
// always writable.
func readOnlyEvents(f *File) int16 {
	if _, ok := f.ops.(*signalFD); ok {
		return abi.POLLIN | abi.POLLRDNORM
	}
	return -1
}

// pollSigmask reads the temporary signal mask of ppoll, pselect6 and epoll_pwait: none
// when addr is 0; otherwise size must be a kernel sigset_t's.
func (t *Task) pollSigmask(addr mm.Addr, size uint64) (mask uint64, ok bool, err error) {
	if addr == 0 {
		return 0, false, nil
	}
	if size != abi.SigsetSize {
		return 0, false, unix.EINVAL
	}
	var b [abi.SigsetSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, false, err
	}
	return binary.LittleEndian.Uint64(b[:]) &^ (1<<(abi.SIGKILL-1) | 1<<(abi.SIGSTOP-1)), true, nil
}

// pollSwapMask installs the temporary mask (when there is one), as Linux's
// set_user_sigmask(), and returns what ends it with the call's error. A call that a signal
// interrupted (EINTR) keeps it until the signals it let through are delivered, a handler's
// frame saving the thread's own mask for sigreturn, as restore_saved_sigmask_unless()
// leaves it; restored at once, the mask would block again the signal that ended the wait
// (pselect's race-free wait for SIGCHLD, say), and the handler would never run. Any other
// end restores the thread's own mask at once: a signal that came too late stays pending.
func (t *Task) pollSwapMask(mask uint64, ok bool) func(error) {
	if !ok {
		return func(error) {}
	}
	ts := t.sigs()
	if !ts.restoreMask {
		// A call restarted before its thread ran on (a tracer's stop) keeps the mask
		// saved first.
		ts.savedMask = t.sigmask
	}
	ts.restoreMask = true
	t.putSigmask(mask)
	return func(err error) {
		if err == unix.EINTR {
			t.p.stop = true // the thread takes its signals, and its mask back, first
			return
		}
		if ts.restoreMask {
			t.putSigmask(ts.savedMask)
			ts.restoreMask = false
		}
	}
}

// putPollRemaining writes the time left back into a select, pselect6 or ppoll timeout, as
// Linux's poll_select_finish() does: not for a zero timeout, and a failed copy is ignored.
func (t *Task) putPollRemaining(addr mm.Addr, w pollWait, timeval bool) {
	if addr == 0 || w.zero() || w.forever {
		return
	}
	r := w.remaining()
	var b [abi.TimespecSize]byte
	if timeval {
		tv := abi.Timeval{Sec: int64(r / time.Second), Usec: int64(r%time.Second) / 1000}
		tv.Marshal(b[:])
	} else {
		ts := abi.Timespec{Sec: int64(r / time.Second), Nsec: int64(r % time.Second)}
		ts.Marshal(b[:])
	}
	t.p.mm.CopyOut(addr, b[:])
}

// Poll event bits are the generic Linux values on the host too: only alpha, mips, sparc
// and m68k differ, and vemu runs on none of them. So guest events and revents pass
// through unchanged.

// pollfdsToHost translates guest pollfds into host ones. A negative guest fd is ignored,
// as Linux does; so is one that is not open, which pollfdsFromHost reports as POLLNVAL.
func pollfdsToHost(g []abi.Pollfd, hostFd func(int32) (int, bool)) []unix.PollFd {
	h := make([]unix.PollFd, len(g))
	for i, p := range g {
		h[i].Fd = -1
		if p.Fd < 0 {
			continue
		}
		if hfd, ok := hostFd(p.Fd); ok {
			h[i] = unix.PollFd{Fd: int32(hfd), Events: p.Events}
		}
	}
	return h
}

// pollfdsFromHost sets the guest revents from the host's and returns how many pollfds
// have any, which is poll's result.
func pollfdsFromHost(g []abi.Pollfd, h []unix.PollFd) int {
	n := 0
	for i := range g {
		switch {
		case g[i].Fd < 0:
			g[i].Revents = 0
		case h[i].Fd < 0:
			g[i].Revents = abi.POLLNVAL
		default:
			g[i].Revents = h[i].Revents
		}
		if g[i].Revents != 0 {
			n++
		}
	}
	return n
}

// pollReady counts the pollfds that have events, like pollfdsFromHost without writing.
func pollReady(g []abi.Pollfd, h []unix.PollFd) int {
	n := 0
	for i := range g {
		if g[i].Fd >= 0 && (h[i].Fd < 0 || h[i].Revents != 0) {
			n++
		}
	}
	return n
}

func unmarshalPollfds(b []byte) []abi.Pollfd {
	g := make([]abi.Pollfd, len(b)/abi.PollfdSize)
	for i := range g {
		g[i].Unmarshal(b[i*abi.PollfdSize:])
	}
	return g
}

func marshalPollfds(g []abi.Pollfd) []byte {
	b := make([]byte, len(g)*abi.PollfdSize)
	for i := range g {
		g[i].Marshal(b[i*abi.PollfdSize:])
	}
	return b
}

// sysPoll implements poll(2).
func sysPoll(t *Task, a Args) (uint64, error) {
	return t.poll(a.Ptr(0), a.Uint(1), t.onGuestClock(pollMillis(a.Int(2))))
}

// poll is poll(2) waiting until w's end. A signal that interrupts it fails it with EINTR
// when a handler runs, and otherwise (a stop, a signal the tracer suppressed) has it carry
// on to the same end through restart_syscall, as Linux's ERESTART_RESTARTBLOCK and
// do_restart_poll(); ppoll and select start again from their updated timeouts instead.
func (t *Task) poll(addr mm.Addr, nfds uint32, w pollWait) (uint64, error) {
	r, err := t.pollFds(addr, nfds, w, 0, func(error) {})
	if err == errBlocked && t.pending != nil {
		t.pending.intr = intrBlock
		t.pending.resume = func(t *Task) (uint64, error) { return t.poll(addr, nfds, w) }
	}
	return r, err
}

// sysPpoll implements ppoll(2): the timeout is a timespec, updated with the time left,
// and the signal mask is the given one while it waits.
func sysPpoll(t *Task, a Args) (uint64, error) {
	w := pollForever
	if a[2] != 0 {
		ts, err := t.getTimespec(a.Ptr(2))
		if err != nil {
			return 0, err
		}
		w = t.onGuestClock(pollTimespec(ts))
	}
	mask, ok, err := t.pollSigmask(a.Ptr(3), a[4])
	if err != nil {
		return 0, err
	}
	return t.pollFds(a.Ptr(0), a.Uint(1), w, a.Ptr(2), t.pollSwapMask(mask, ok))
}

// pollFds is poll and ppoll after their timeouts: restore runs when the call ends, and a
// non-zero tsAddr receives the time left.
func (t *Task) pollFds(addr mm.Addr, nfds uint32, w pollWait, tsAddr mm.Addr, restore func(error)) (uint64, error) {
	finish := func(r uint64, err error) (uint64, error) {
		restore(err)
		t.putPollRemaining(tsAddr, w, false)
		return r, err
	}
	if uint64(nfds) > t.p.rlimits[abi.RLIMIT_NOFILE].Cur || nfds > nrOpen {
		return finish(0, unix.EINVAL)
	}
	raw := make([]byte, int(nfds)*abi.PollfdSize)
	if err := t.p.mm.CopyIn(addr, raw); err != nil {
		return finish(0, err)
	}
	g := unmarshalPollfds(raw)
	h := pollfdsToHost(g, t.hostFdOf)
	gfds := make([]int32, len(g))
	for i := range g {
		gfds[i] = g[i].Fd
		if h[i].Fd < 0 {
			gfds[i] = -1
		} else if f, err := t.file(g[i].Fd); err == nil {
			h[i].Events &= readOnlyEvents(f)
		}
	}
	files := t.filesOf(gfds)
	gone := newGoneFds(t.p.files, gfds, files)
	return t.waitReady(w, h, files, false,
		func(w pollWait) (int, error) {
			if _, err := hostPoll(h, w); err != nil {
				return 0, err
			}
			return pollReady(g, h) + gone.look(h), nil
		},
		func(_ int, err error) (uint64, error) {
			if err != nil {
				return finish(0, err)
			}
			gone.repoll(t, h)
			n := pollfdsFromHost(g, h)
			if err := t.p.mm.CopyOut(addr, marshalPollfds(g)); err != nil {
				return finish(0, err)
			}
			return finish(uint64(n), nil)
		})
}

// fdSets are select's read, write and except sets, each nil when not given.
type fdSets [3][]byte

// fdSetBytes is how many bytes of each fd_set Linux reads and writes for nfds n: whole longs.
func fdSetBytes(n int) int { return (n + fdSetBits - 1) / fdSetBits * (fdSetBits / 8) }

func fdIsSet(set []byte, fd int) bool { return set != nil && set[fd/8]&(1<<(fd%8)) != 0 }

// selectPollfds turns the guest fds set in any of the sets below n into host pollfds,
// and returns with them the guest fd of each. A set bit for an fd that is not open is
// EBADF.
func selectPollfds(n int, in fdSets, hostFd func(int32) (int, bool)) ([]unix.PollFd, []int32, error) {
	var h []unix.PollFd
	var g []int32
	for fd := range n {
		var ev int16
		if fdIsSet(in[0], fd) {
			ev |= abi.POLLIN
		}
		if fdIsSet(in[1], fd) {
			ev |= abi.POLLOUT
		}
		if fdIsSet(in[2], fd) {
			ev |= abi.POLLPRI
		}
		if ev == 0 {
			continue
		}
		hfd, ok := hostFd(int32(fd))
		if !ok {
			return nil, nil, unix.EBADF
		}
		h = append(h, unix.PollFd{Fd: int32(hfd), Events: ev})
		g = append(g, int32(fd))
	}
	return h, g, nil
}

// What counts as ready for each set, as Linux's POLLIN_SET, POLLOUT_SET and POLLEX_SET:
// a descriptor closed while select waits (POLLNVAL) is in all three.
const (
	selectInSet  = abi.POLLIN | abi.POLLRDNORM | abi.POLLRDBAND | abi.POLLHUP | abi.POLLERR | abi.POLLNVAL
	selectOutSet = abi.POLLOUT | abi.POLLWRNORM | abi.POLLWRBAND | abi.POLLERR | abi.POLLNVAL
	selectExSet  = abi.POLLPRI | abi.POLLNVAL
)

// selectResults builds the sets select returns from the host's revents: the same shapes
// as in, with a bit set for each ready fd that was asked about, and the count of bits.
func selectResults(in fdSets, g []int32, h []unix.PollFd) (fdSets, int) {
	var out fdSets
	for i := range in {
		if in[i] != nil {
			out[i] = make([]byte, len(in[i]))
		}
	}
	count := 0
	masks := [3]int16{selectInSet, selectOutSet, selectExSet}
	for j, fd := range g {
		for i := range in {
			if fdIsSet(in[i], int(fd)) && h[j].Revents&masks[i] != 0 {
				out[i][fd/8] |= 1 << (fd % 8)
				count++
			}
		}
	}
	return out, count
}

// sysSelect implements select(2): the timeout is a timeval, updated with the time left.
func sysSelect(t *Task, a Args) (uint64, error) {
	w := pollForever
	if a[4] != 0 {
		var b [abi.TimevalSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(4), b[:]); err != nil {
			return 0, err
		}
		var tv abi.Timeval
		tv.Unmarshal(b[:])
		// As Linux: whole seconds of tv_usec move into tv_sec before validation.
		ts := abi.Timespec{Sec: tv.Sec + tv.Usec/1e6, Nsec: tv.Usec % 1e6 * 1000}
		if ts.Sec < 0 || ts.Nsec < 0 {
			return 0, unix.EINVAL
		}
		w = t.onGuestClock(pollTimespec(ts))
	}
	finish := func(r uint64, err error) (uint64, error) {
		t.putPollRemaining(a.Ptr(4), w, true)
		return r, err
	}
	return t.selectFds(a.Int(0), [3]mm.Addr{a.Ptr(1), a.Ptr(2), a.Ptr(3)}, w, finish)
}

// sysPselect6 implements pselect6(2): a timespec timeout, updated with the time left, and
// a signal mask for the wait given as {sigset pointer, size}.
func sysPselect6(t *Task, a Args) (uint64, error) {
	var maskAddr mm.Addr
	var maskSize uint64
	if a[5] != 0 {
		var b [16]byte
		if err := t.p.mm.CopyIn(a.Ptr(5), b[:]); err != nil {
			return 0, err
		}
		maskAddr, maskSize = mm.Addr(binary.LittleEndian.Uint64(b[:])), binary.LittleEndian.Uint64(b[8:])
	}
	w := pollForever
	if a[4] != 0 {
		ts, err := t.getTimespec(a.Ptr(4))
		if err != nil {
			return 0, err
		}
		w = t.onGuestClock(pollTimespec(ts))
	}
	mask, ok, err := t.pollSigmask(maskAddr, maskSize)
	if err != nil {
		return 0, err
	}
	restore := t.pollSwapMask(mask, ok)
	finish := func(r uint64, err error) (uint64, error) {
		restore(err)
		t.putPollRemaining(a.Ptr(4), w, false)
		return r, err
	}
	return t.selectFds(a.Int(0), [3]mm.Addr{a.Ptr(1), a.Ptr(2), a.Ptr(3)}, w, finish)
}

// selectFds is select and pselect6 after their timeouts, waiting through host poll (so
// that host fds above FD_SETSIZE work too).
func (t *Task) selectFds(nfds int32, addrs [3]mm.Addr, w pollWait, finish func(uint64, error) (uint64, error)) (uint64, error) {
	if nfds < 0 {
		return finish(0, unix.EINVAL)
	}
	// As Linux, which looks no further than its fd table's capacity.
	n := min(int(nfds), max(fdSetBits, fdSetBytes(len(t.p.files.fds))*8))
	var in fdSets
	for i, addr := range addrs {
		if addr == 0 {
			continue
		}
		in[i] = make([]byte, fdSetBytes(n))
		if err := t.p.mm.CopyIn(addr, in[i]); err != nil {
			return finish(0, err)
		}
	}
	h, g, err := selectPollfds(n, in, t.hostFdOf)
	if err != nil {
		return finish(0, err)
	}
	files := t.filesOf(g)
	gone := newGoneFds(t.p.files, g, files)
	return t.waitReady(w, h, files, false,
		func(w pollWait) (int, error) {
			if _, err := hostPoll(h, w); err != nil {
				return 0, err
			}
			_, count := selectResults(in, g, h)
			return count + gone.look(h), nil
		},
		func(_ int, err error) (uint64, error) {
			if err != nil {
				return finish(0, err)
			}
			gone.repoll(t, h)
			out, count := selectResults(in, g, h)
			for i, addr := range addrs {
				if out[i] == nil {
					continue
				}
				if err := t.p.mm.CopyOut(addr, out[i]); err != nil {
					return finish(0, err)
				}
			}
			return finish(uint64(count), nil)
		})
}

// epollEventToHost carries a guest epoll_event to the host's: the data is opaque and
// passes through whole, in the host struct's fd and pad fields.
func epollEventToHost(e abi.EpollEvent) unix.EpollEvent {
	return unix.EpollEvent{Events: e.Events, Fd: int32(uint32(e.Data)), Pad: int32(uint32(e.Data >> 32))}
}

// epollEventFromHost is the inverse of epollEventToHost.
func epollEventFromHost(h unix.EpollEvent) abi.EpollEvent {
	return abi.EpollEvent{Events: h.Events, Data: uint64(uint32(h.Fd)) | uint64(uint32(h.Pad))<<32}
}

// marshalEpollEvents encodes host events in the guest's packed 12-byte layout.
func marshalEpollEvents(h []unix.EpollEvent) []byte {
	b := make([]byte, len(h)*abi.EpollEventSize)
	for i := range h {
		e := epollEventFromHost(h[i])
		e.Marshal(b[i*abi.EpollEventSize:])
	}
	return b
}

// sysEpollCreate implements epoll_create(2): the size is only checked.
func sysEpollCreate(t *Task, a Args) (uint64, error) {
	if a.Int(0) <= 0 {
		return 0, unix.EINVAL
	}
	return t.epollCreate(false)
}

// sysEpollCreate1 implements epoll_create1(2).
func sysEpollCreate1(t *Task, a Args) (uint64, error) {
	flags := a.Int(0)
	if flags&^epollCloexec != 0 {
		return 0, unix.EINVAL
	}
	return t.epollCreate(flags&epollCloexec != 0)
}

func (t *Task) epollCreate(cloexec bool) (uint64, error) {
	hfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return 0, err
	}
	fd, err := t.p.files.install(&File{fd: hfd, refs: 1, path: "anon_inode:[eventpoll]", flags: abi.O_RDWR, ops: newEpollFile()}, cloexec, 0)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	return uint64(fd), nil
}

// sysEpollCtl implements epoll_ctl(2) on the host epoll instance, each entry under a host
// descriptor of its own (see epollFile). The operations and event bits are the same
// numbers on every architecture, so the host checks them.
func sysEpollCtl(t *Task, a Args) (uint64, error) {
	op := a.Int(1)
	var ev abi.EpollEvent
	if op != unix.EPOLL_CTL_DEL {
		var b [abi.EpollEventSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(3), b[:]); err != nil {
			return 0, err
		}
		ev.Unmarshal(b[:])
	}
	ep, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	f, err := t.file(a.Fd(2))
	if err != nil {
		return 0, err
	}
	hev := epollEventToHost(ev)
	hev.Events &= uint32(uint16(readOnlyEvents(f))) | 0xffff0000 // the flags above the events stay
	if e, ok := ep.ops.(*epollFile); ok && f != ep {
		return 0, e.ctl(ep, op, a.Fd(2), f, &hev)
	}
	return 0, unix.EpollCtl(ep.fd, int(op), f.fd, &hev)
}

// sysEpollWait implements epoll_wait(2).
func sysEpollWait(t *Task, a Args) (uint64, error) {
	return t.epollWait(a.Fd(0), a.Ptr(1), a.Int(2), t.onGuestClock(pollMillis(a.Int(3))), func(error) {})
}

// sysEpollPwait implements epoll_pwait(2).
func sysEpollPwait(t *Task, a Args) (uint64, error) {
	mask, ok, err := t.pollSigmask(a.Ptr(4), a[5])
	if err != nil {
		return 0, err
	}
	return t.epollWait(a.Fd(0), a.Ptr(1), a.Int(2), t.onGuestClock(pollMillis(a.Int(3))), t.pollSwapMask(mask, ok))
}

// sysEpollPwait2 implements epoll_pwait2(2): a timespec timeout, not written back.
func sysEpollPwait2(t *Task, a Args) (uint64, error) {
	w := pollForever
	if a[3] != 0 {
		ts, err := t.getTimespec(a.Ptr(3))
		if err != nil {
			return 0, err
		}
		w = t.onGuestClock(pollTimespec(ts))
	}
	mask, ok, err := t.pollSigmask(a.Ptr(4), a[5])
	if err != nil {
		return 0, err
	}
	return t.epollWait(a.Fd(0), a.Ptr(1), a.Int(2), w, t.pollSwapMask(mask, ok))
}

func (t *Task) epollWait(epfd int32, addr mm.Addr, maxevents int32, w pollWait, restore func(error)) (uint64, error) {
	finish := func(r uint64, err error) (uint64, error) {
		restore(err)
		return r, err
	}
	// The descriptor first (EBADF), then the count, as Linux 6.x's do_epoll_wait.
	ep, err := t.file(epfd)
	if err != nil {
		return finish(0, err)
	}
	if maxevents <= 0 || maxevents > epMaxEvents {
		return finish(0, unix.EINVAL)
	}
	hfd := ep.fd
	// Events taken off the host's ready list cannot be put back, so take no more than
	// the buffer can hold. When it cannot hold one, Linux fails the copy of the first
	// event and leaves it ready: wait for readiness only, and answer EFAULT.
	want := min(int(maxevents), epollBatch)
	b, err := t.p.mm.Bufs(addr, want*abi.EpollEventSize, emu.ProtWrite, nil)
	if err != nil {
		b = nil
	}
	room := int(total(b)) / abi.EpollEventSize
	if room == 0 {
		pfd := []unix.PollFd{{Fd: int32(hfd), Events: unix.POLLIN}}
		return t.epollIntr(t.waitReady(w, pfd, []*File{ep}, true,
			func(w pollWait) (int, error) { return hostPoll(pfd, w) },
			func(n int, err error) (uint64, error) {
				if err == nil && n > 0 {
					err = unix.EFAULT
				}
				return finish(0, err)
			}))
	}
	ev := make([]unix.EpollEvent, room)
	return t.epollIntr(t.waitReady(w, []unix.PollFd{{Fd: int32(hfd), Events: unix.POLLIN}}, []*File{ep}, true,
		func(w pollWait) (int, error) { return hostEpollWait(hfd, ev, w) },
		func(n int, err error) (uint64, error) {
			if err != nil {
				return finish(0, err)
			}
			if err := t.p.mm.CopyOut(addr, marshalEpollEvents(ev[:n])); err != nil {
				return finish(0, err)
			}
			return finish(uint64(n), nil)
		}))
}

// epollIntr makes a blocked epoll wait one that a signal ends with EINTR, handler or not:
// Linux's ep_poll() returns EINTR, never ERESTARTNOHAND, so a signal discarded on
// delivery (one ignored by default that the call's mask lets through) or a stop and its
// SIGCONT end the wait too, as signal(7) says of epoll_wait.
func (t *Task) epollIntr(r uint64, err error) (uint64, error) {
	if err == errBlocked && t.pending != nil {
		t.pending.intr = intrKind(unix.EINTR)
	}
	return r, err
}

// goneFds follows whether the descriptors a poll or select waits on still name the files
// it polls. Linux looks each descriptor up again at every pass of its wait: one that
// another thread closed meanwhile answers POLLNVAL at the next wake-up or at the timeout
// (select counts it in every set it was asked about), and one that names another file by
// then answers for that file. Closing a descriptor wakes no poll, there as here.
type goneFds struct {
	ft    *FDTable
	fds   []int32
	files []*File // the file of each of fds when the call began; nil: not polled
	gone  []bool  // set by look, off the run loop; read by repoll, on it, after
}

func newGoneFds(ft *FDTable, fds []int32, files []*File) *goneFds {
	return &goneFds{ft: ft, fds: fds, files: files, gone: make([]bool, len(files))}
}

// look marks the descriptors that no longer name their file and returns how many of
// them answer: a closed one, or one whose new file is ready. The wait ends when any
// does. It takes the table's lock, not the run loop; the new file's host descriptor is
// only polled, which a race with its close cannot turn into more than a wrong answer
// that repoll corrects.
func (g *goneFds) look(h []unix.PollFd) int {
	n := 0
	for i, f := range g.files {
		if f == nil {
			continue
		}
		now := g.ft.lookup(g.fds[i])
		switch {
		case now == nil:
		case now != f:
			one := []unix.PollFd{{Fd: int32(now.fd), Events: h[i].Events}}
			if k, _ := hostPoll(one, pollWait{}); k == 0 {
				g.gone[i] = false
				continue // not ready: the wait goes on, as Linux's
			}
		default:
			continue
		}
		g.gone[i] = true
		n++
	}
	return n
}

// repoll answers, on the run loop, for the descriptors look marked: POLLNVAL for one
// that is closed, else the poll of the file it names now.
func (g *goneFds) repoll(t *Task, h []unix.PollFd) {
	for i, gone := range g.gone {
		if !gone {
			continue
		}
		f, err := t.file(g.fds[i])
		if err != nil {
			h[i].Revents = abi.POLLNVAL
			continue
		}
		one := []unix.PollFd{{Fd: int32(f.fd), Events: h[i].Events}}
		h[i].Revents = 0
		if _, err := hostPoll(one, pollWait{}); err == nil {
			h[i].Revents = one[0].Revents
		}
	}
}
