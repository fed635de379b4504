package kernel

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// A timerfd under --clock=virtual: the timer counts on the virtual clock (through
// Process.after, as Linux's timerfd counts on an hrtimer), and a host eventfd stands for
// it wherever the host looks at the descriptor: poll, select and epoll see it readable
// exactly while expirations wait to be read. Reads are answered here, never by the host.
// As Linux's fs/timerfd.c, a periodic timer is not re-armed until its expirations are
// read (or timerfd_gettime or timerfd_settime looks at it): the count of expirations
// missed meanwhile comes from the clock.

// virtTimerfd is the state of one virtual timerfd, shared by the guest fds (and, after
// fork, the processes) that refer to it.
type virtTimerfd struct {
	hostFile            // for what the host eventfd answers: seek, getdents, flags
	mu       sync.Mutex // processes sharing it after fork run in parallel
	efd      int        // the host eventfd, non-zero exactly while ticks > 0
	refs     int        // the Files that hold it
	clock    int32
	at       int64 // expiry, ns on clock
	interval int64
	armed    bool
	expired  bool   // the expiry at `at` happened and has not been forwarded past
	ticks    uint64 // expirations not yet read
	signaled bool   // the eventfd's counter is non-zero
	gen      uint64 // counts settings: a wakeup of an older one does nothing
	owner    *Process
	stop     func()
	waiters  []*vtfdWaiter
}

// vtfdWaiter is a thread blocked reading the timerfd.
type vtfdWaiter struct {
	t    *Task
	pend *pendingOp
}

// virtualTimerfd creates the timerfd of sysTimerfdCreate under the virtual clock.
func (t *Task) virtualTimerfd(clk int32, flags int32) (uint64, error) {
	if clk == abi.CLOCK_REALTIME_ALARM || clk == abi.CLOCK_BOOTTIME_ALARM {
		// The host decides whether the alarm clocks may be used (CAP_WAKE_ALARM).
		hfd, err := unix.TimerfdCreate(int(clk), unix.TFD_CLOEXEC)
		if err != nil {
			return 0, err
		}
		unix.Close(hfd)
	}
	hflags := unix.EFD_CLOEXEC
	if flags&abi.TFD_NONBLOCK != 0 {
		hflags |= unix.EFD_NONBLOCK
	}
	hfd, err := unix.Eventfd(0, hflags)
	if err != nil {
		return 0, err
	}
	efd, err := unix.FcntlInt(uintptr(hfd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		unix.Close(hfd)
		return 0, err
	}
	v := &virtTimerfd{efd: efd, refs: 1, clock: clk}
	fd, err := t.p.files.install(&File{fd: hfd, refs: 1, path: "anon_inode:[timerfd]",
		flags: abi.O_RDWR | uint32(flags&abi.TFD_NONBLOCK), ops: v}, flags&abi.TFD_CLOEXEC != 0, 0)
	if err != nil {
		unix.Close(hfd)
		unix.Close(efd)
		return 0, err
	}
	return uint64(fd), nil
}

// hold and release count the Files that refer to v; the last one closes the eventfd.
func (v *virtTimerfd) hold() *virtTimerfd {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.refs++
	return v
}

func (v *virtTimerfd) release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.refs--
	if v.refs == 0 {
		v.gen++
		v.armed = false
		unix.Close(v.efd)
		v.efd = -1
	}
}

// setReady makes the eventfd's readiness follow ticks. Called with v.mu held.
func (v *virtTimerfd) setReady() {
	if v.efd < 0 {
		return
	}
	switch {
	case v.ticks > 0 && !v.signaled:
		unix.Write(v.efd, binary.LittleEndian.AppendUint64(nil, 1))
		v.signaled = true
	case v.ticks == 0 && v.signaled:
		// The counter is non-zero, so this read never blocks whatever the fd's mode.
		var b [8]byte
		unix.Read(v.efd, b[:])
		v.signaled = false
	}
}

// arm schedules the expiry on p's run loop. Called with v.mu held.
func (v *virtTimerfd) arm(p *Process) {
	if v.stop != nil && v.owner == p {
		v.stop()
	}
	v.gen++
	gen := v.gen
	v.owner = p
	d := min(time.Duration(max(v.at-p.timerNow(v.clock), 0)), maxWait)
	v.stop = p.after(d, func() { v.expire(p, gen) })
}

// expire is the timer's expiry, on p's run loop: one more expiration to read, and the
// threads blocked reading it are woken.
func (v *virtTimerfd) expire(p *Process, gen uint64) {
	v.mu.Lock()
	if v.gen != gen || !v.armed || p.exit != nil {
		v.mu.Unlock()
		return
	}
	if p.timerNow(v.clock) < v.at {
		v.arm(p)
		v.mu.Unlock()
		return
	}
	v.stop = nil
	v.ticks++
	v.expired = true
	if v.interval == 0 {
		v.armed = false
	}
	v.setReady()
	waiters := v.waiters
	v.waiters = nil
	v.mu.Unlock()
	for _, w := range waiters {
		w := w
		if w.t.p == p {
			w.t.complete(w.pend, 0, nil)
			continue
		}
		w.t.p.send(wakeup{fn: func() {
			if w.t.state == taskBlocked {
				w.t.complete(w.pend, 0, nil)
			}
		}})
	}
}

// forward counts the expirations of a periodic timer that has expired up to now and arms
// it for the next one, as Linux's timerfd does with hrtimer_forward_now(). Called with
// v.mu held.
func (v *virtTimerfd) forward(p *Process) {
	if !v.expired || v.interval == 0 {
		return
	}
	v.expired = false
	now := p.timerNow(v.clock)
	if now >= v.at {
		k := (now-v.at)/v.interval + 1
		v.at = addSat(v.at, k*v.interval)
		v.ticks += uint64(k) - 1
	}
	v.arm(p)
}

// value is the current setting, for timerfd_gettime and timerfd_settime. Called with
// v.mu held.
func (v *virtTimerfd) value(p *Process) abi.Itimerspec {
	v.forward(p)
	var it abi.Itimerspec
	it.Interval = nsTimespec(v.interval)
	if v.armed {
		if left := v.at - p.timerNow(v.clock); left > 0 {
			it.Value = nsTimespec(left)
		}
	}
	return it
}

// settime is timerfd_settime on a virtual timerfd: expirations not read are discarded.
func (v *virtTimerfd) settime(t *Task, abs bool, it abi.Itimerspec) abi.Itimerspec {
	p := t.p
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.value(p)
	if v.stop != nil && v.owner == p {
		v.stop()
	}
	v.stop = nil
	v.gen++
	v.ticks, v.expired, v.armed = 0, false, false
	v.setReady()
	v.interval = 0
	value := timespecNs(it.Value)
	if value == 0 {
		return old
	}
	v.interval = timespecNs(it.Interval)
	v.at = value
	if !abs {
		v.at = addSat(p.timerNow(v.clock), value)
	}
	v.armed = true
	v.arm(p)
	return old
}

// gettime is timerfd_gettime on a virtual timerfd.
func (v *virtTimerfd) gettime(t *Task) abi.Itimerspec {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.value(t.p)
}

// vtfdRead is read(2) of a virtual timerfd into the guest buffer at addr: the count of
// expirations since the last read, waiting for one unless the fd is non-blocking.
func (t *Task) vtfdRead(v *virtTimerfd, f *File, addr mm.Addr, n uint64) (uint64, error) {
	if n < 8 {
		return 0, unix.EINVAL
	}
	take := func() (uint64, bool, error) {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.forward(t.p)
		if v.ticks == 0 {
			return 0, false, nil
		}
		if err := t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint64(nil, v.ticks)); err != nil {
			return 0, false, err
		}
		v.ticks = 0
		v.setReady()
		return 8, true, nil
	}
	r, ok, err := take()
	if err != nil || ok {
		return r, err
	}
	fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
	if err != nil {
		return 0, err
	}
	if fl&unix.O_NONBLOCK != 0 {
		return 0, unix.EAGAIN
	}
	r, err = t.blockThen(nil, func(_ uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		r, ok, err := take()
		if err == nil && !ok {
			err = unix.EAGAIN // another reader took the expirations first
		}
		return r, err
	})
	w := &vtfdWaiter{t: t, pend: t.pending}
	v.mu.Lock()
	v.waiters = append(v.waiters, w)
	v.mu.Unlock()
	// A handled signal interrupts the read, which restarts under SA_RESTART.
	t.interruptible(intrRestart, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if i := slices.Index(v.waiters, w); i >= 0 {
			v.waiters = slices.Delete(v.waiters, i, i+1)
		}
	})
	return r, err
}

// io is the I/O of read, readv, write and their positional forms on a virtual timerfd:
// only reads, of at least 8 bytes, into the first buffer.
func (v *virtTimerfd) io(t *Task, f *File, r ioReq) (uint64, error) {
	switch {
	case r.positional:
		return 0, unix.ESPIPE
	case !r.in:
		return 0, unix.EINVAL
	}
	addr, n, err := r.first(t)
	if err != nil {
		return 0, err
	}
	return t.vtfdRead(v, f, addr, n)
}

// fork shares the timer with the child, as the open file is shared on Linux.
func (v *virtTimerfd) fork(f *File, child *Process) (*File, error) {
	nf, err := v.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	nf.ops = v.hold()
	return nf, nil
}
