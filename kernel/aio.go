package kernel

import (
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Native AIO (io_setup and family). A context is a ring in the guest's memory laid out as
// Linux's struct aio_ring, whose address is the aio_context_t: vemu appends each
// completion at the ring's tail and io_getevents consumes from its head, so a program
// that reads the ring itself (libaio skips the call when head == tail) sees what it
// would see on Linux. Reads and writes of regular files, fsyncs and polls that are ready
// complete inside io_submit, as Linux completes buffered I/O; a read or write of a pipe,
// socket or terminal that would wait, and a poll that is not ready, wait on a goroutine
// and complete through the run loop, so io_submit never waits (Linux's would, for the
// pipe). Contexts belong to their process: fork does not pass them on, exit and execve
// end them.

// aioNote is what the table says of the aio calls.
const aioNote = "a read or write of a pipe or socket that would wait completes later instead of holding io_submit; only hosts' files (not vemu's own kinds) take reads and writes"

// The ABI: struct iocb, struct io_event and struct aio_ring (include/uapi/linux/aio_abi.h
// and fs/aio.c).
const (
	iocbSize        = 64
	ioEventSize     = 32
	aioRingHeader   = 32
	aioRingMagic    = 0xa10a10a1
	iocbCmdPread    = 0
	iocbCmdPwrite   = 1
	iocbCmdFsync    = 2
	iocbCmdFdsync   = 3
	iocbCmdPoll     = 5
	iocbCmdPreadv   = 7
	iocbCmdPwritev  = 8
	iocbFlagResfd   = 1
	iocbFlagIoprio  = 2
	aioRwfSupported = 0xff // RWF_HIPRI .. RWF_DONTCACHE
	aioMaxEvents    = 0x10000000 / ioEventSize
)

// aioMaxNr is /proc/sys/fs/aio-max-nr, the host's value where it has one.
func aioMaxNr() uint64 {
	if b, err := os.ReadFile("/proc/sys/fs/aio-max-nr"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			return n
		}
	}
	return 65536
}

// aioLimits is the kernel-wide count of requests that contexts reserve (aio-nr).
type aioLimits struct {
	mu  sync.Mutex
	nr  uint64
	max uint64
}

func (k *Kernel) aioLimits() *aioLimits {
	k.aioOnce.Do(func() { k.aioLim = &aioLimits{max: aioMaxNr()} })
	return k.aioLim
}

// aioCtx is one context of a process; only its run loop touches it.
type aioCtx struct {
	ring     mm.Addr // the aio_context_t
	size     uint64  // of the ring's mapping
	nr       uint32  // slots in the ring
	maxReqs  uint64  // what io_setup asked, counted in aio-nr
	tail     uint32
	inflight int
	seq      uint64
	pending  map[*aioReq]bool // requests waiting for their files
	waiters  []*aioWaiter
}

// aioReq is a request completing off the run loop.
type aioReq struct {
	iocb  mm.Addr
	seq   uint64 // submission order
	poll  bool
	fd    int // the file to wait for (a duplicate)
	ev    int16
	ready func() int64
	done  func(int64) int64
	stop  *cancel // ends the goroutine's wait
	mu    sync.Mutex
	ended bool // the goroutine's wait is over and stop.fd closed
	event [ioEventSize]byte
	resfd int // host eventfd duplicate, or -1
}

// aioWaiter is a thread in io_getevents.
type aioWaiter struct {
	t      *Task
	pend   *pendingOp
	min    int64
	nr     int64
	events mm.Addr
	stop   func()
}

func (p *Process) aioCtx(id uint64) (*aioCtx, error) {
	if c := p.aio[mm.Addr(id)]; c != nil {
		return c, nil
	}
	return nil, unix.EINVAL
}

// header reads the ring's head, which the guest may move, as a slot number.
func (c *aioCtx) head(p *Process) uint32 {
	var b [4]byte
	if p.mm.CopyIn(c.ring+8, b[:]) != nil {
		return c.tail
	}
	return binary.LittleEndian.Uint32(b[:]) % c.nr
}

// available counts completions in the ring not yet consumed.
func (c *aioCtx) available(p *Process) uint32 { return (c.tail + c.nr - c.head(p)) % c.nr }

// sysIoSetup implements io_setup(2).
func sysIoSetup(t *Task, a Args) (uint64, error) {
	p := t.p
	var b [8]byte
	if err := p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
		return 0, err
	}
	nr := a.Uint(0)
	if binary.LittleEndian.Uint64(b[:]) != 0 || nr == 0 {
		return 0, unix.EINVAL
	}
	// As ioctx_alloc(): room for twice what was asked, at least 4 per CPU.
	events := max(uint64(nr), 4*uint64(len(hostCPUs())))
	events = uint64(uint32(events * 2))
	if events > aioMaxEvents {
		return 0, unix.EINVAL
	}
	lim := p.k.aioLimits()
	if uint64(nr) > lim.max {
		return 0, unix.EAGAIN
	}
	events += 2
	size, _ := mm.PageUp(aioRingHeader + events*ioEventSize)
	slots := uint32((size - aioRingHeader) / ioEventSize)
	lim.mu.Lock()
	if lim.nr+uint64(nr) > lim.max {
		lim.mu.Unlock()
		return 0, unix.EAGAIN
	}
	lim.nr += uint64(nr)
	lim.mu.Unlock()
	unreserve := func() {
		lim.mu.Lock()
		lim.nr -= uint64(nr)
		lim.mu.Unlock()
	}
	s := p.mm
	at, err := s.FindFree(size, s.MmapBase)
	if err != nil {
		unreserve()
		return 0, unix.ENOMEM
	}
	if _, err := s.Map(at, size, emu.ProtRead|emu.ProtWrite, "/[aio] (deleted)"); err != nil {
		unreserve()
		return 0, unix.ENOMEM
	}
	hdr := make([]byte, aioRingHeader)
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], ^uint32(0))
	le.PutUint32(hdr[4:], slots)
	le.PutUint32(hdr[16:], aioRingMagic)
	le.PutUint32(hdr[20:], 1)
	le.PutUint32(hdr[28:], aioRingHeader)
	if err := s.CopyOut(at, hdr); err != nil {
		s.Unmap(at, size)
		unreserve()
		return 0, unix.ENOMEM
	}
	if err := s.CopyOut(a.Ptr(1), le.AppendUint64(nil, uint64(at))); err != nil {
		s.Unmap(at, size)
		unreserve()
		return 0, err
	}
	if p.aio == nil {
		p.aio = map[mm.Addr]*aioCtx{}
	}
	p.aio[at] = &aioCtx{ring: at, size: size, nr: slots, maxReqs: uint64(nr), pending: map[*aioReq]bool{}}
	return 0, nil
}

// hostCPUs is the CPUs vemu may run on, which Linux's num_possible_cpus() stands for.
func hostCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return []int{0}
	}
	var cpus []int
	for i := range 1024 {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// destroy ends a context: requests off the loop are told to stop and their completions
// dropped, waiters get EINVAL, the ring goes.
func (p *Process) aioDestroy(c *aioCtx, unmap bool) {
	delete(p.aio, c.ring)
	for r := range c.pending {
		r.cancelWait()
		unix.Close(r.fd)
		if r.resfd >= 0 {
			unix.Close(r.resfd)
		}
	}
	c.pending = nil
	for _, w := range c.waiters {
		w.stop()
		w.t.complete(w.pend, 0, unix.EINVAL)
	}
	c.waiters = nil
	if unmap {
		p.mm.Unmap(c.ring, c.size)
	}
	lim := p.k.aioLimits()
	lim.mu.Lock()
	lim.nr -= c.maxReqs
	lim.mu.Unlock()
}

// aioExit ends every context of the process, at exit and execve.
func (p *Process) aioExit(unmap bool) {
	for _, c := range p.aio {
		c.waiters = nil // the process's threads are gone
		p.aioDestroy(c, unmap)
	}
}

// sysIoDestroy implements io_destroy(2).
func sysIoDestroy(t *Task, a Args) (uint64, error) {
	c, err := t.p.aioCtx(a[0])
	if err != nil {
		return 0, err
	}
	t.p.aioDestroy(c, true)
	return 0, nil
}

// complete appends a completion to the ring, tells the request's eventfd and wakes the
// waiters it satisfies.
func (c *aioCtx) complete(p *Process, ev []byte, resfd int) {
	s := p.mm
	s.CopyOut(c.ring+aioRingHeader+mm.Addr(c.tail)*ioEventSize, ev)
	c.tail = (c.tail + 1) % c.nr
	s.CopyOut(c.ring+12, binary.LittleEndian.AppendUint32(nil, c.tail))
	c.inflight--
	if resfd >= 0 {
		unix.Write(resfd, binary.LittleEndian.AppendUint64(nil, 1))
		unix.Close(resfd)
	}
	c.wake(p)
}

// wake completes the waiters that the ring now satisfies, in order.
func (c *aioCtx) wake(p *Process) {
	for len(c.waiters) > 0 {
		w := c.waiters[0]
		if int64(c.available(p)) < w.min {
			return
		}
		c.waiters = c.waiters[1:]
		w.stop()
		n, err := c.read(p, w.nr, w.events)
		w.t.complete(w.pend, n, err)
	}
}

// read moves up to n completions from the ring to the guest's array at to, advancing
// the ring's head, as aio_read_events_ring().
func (c *aioCtx) read(p *Process, n int64, to mm.Addr) (uint64, error) {
	s := p.mm
	head := c.head(p)
	got := int64(0)
	for got < n && head != c.tail {
		ev := make([]byte, ioEventSize)
		if err := s.CopyIn(c.ring+aioRingHeader+mm.Addr(head)*ioEventSize, ev); err != nil {
			break
		}
		if err := s.CopyOut(to+mm.Addr(got*ioEventSize), ev); err != nil {
			if got == 0 {
				return 0, err
			}
			break
		}
		head = (head + 1) % c.nr
		got++
	}
	s.CopyOut(c.ring+8, binary.LittleEndian.AppendUint32(nil, head))
	return uint64(got), nil
}

// iocb is struct iocb.
type iocb struct {
	data            uint64
	rwFlags         uint32
	opcode          uint16
	reqprio         int16
	fd              int32
	buf, nbytes     uint64
	offset          int64
	reserved2       uint64
	flags           uint32
	resfd           int32
	addr            mm.Addr
	hostFd          int
	file            *File
	res, res2       int64
	waitFd          int                   // a duplicate of the file to wait for, when the request waits
	waitEv          int16                 // what to wait for on it
	ready           func() int64          // the request once waitFd is ready, off the loop
	readyDone       func(res int64) int64 // back on the loop, with guest memory
	pollable, write bool
}

// sysIoSubmit implements io_submit(2): the number of requests taken, or the first one's
// error when none was.
func sysIoSubmit(t *Task, a Args) (uint64, error) {
	nr := a.Int64(1)
	if nr < 0 {
		return 0, unix.EINVAL
	}
	c, err := t.p.aioCtx(a[0])
	if err != nil {
		return 0, err
	}
	nr = min(nr, int64(c.nr))
	var i int64
	for ; i < nr; i++ {
		var b [8]byte
		if err = t.p.mm.CopyIn(a.Ptr(2)+mm.Addr(8*i), b[:]); err != nil {
			break
		}
		if err = t.aioSubmitOne(c, mm.Addr(binary.LittleEndian.Uint64(b[:]))); err != nil {
			break
		}
	}
	if i > 0 {
		return uint64(i), nil
	}
	return 0, err
}

func (t *Task) aioSubmitOne(c *aioCtx, at mm.Addr) error {
	p := t.p
	var b [iocbSize]byte
	if err := p.mm.CopyIn(at, b[:]); err != nil {
		return err
	}
	le := binary.LittleEndian
	cb := iocb{data: le.Uint64(b[0:]), rwFlags: le.Uint32(b[12:]), opcode: le.Uint16(b[16:]),
		reqprio: int16(le.Uint16(b[18:])), fd: int32(le.Uint32(b[20:])), buf: le.Uint64(b[24:]),
		nbytes: le.Uint64(b[32:]), offset: int64(le.Uint64(b[40:])), reserved2: le.Uint64(b[48:]),
		flags: le.Uint32(b[56:]), resfd: int32(le.Uint32(b[60:])), addr: at, hostFd: -1}
	if cb.reserved2 != 0 || int64(cb.nbytes) < 0 {
		return unix.EINVAL
	}
	if c.inflight+int(c.available(p)) >= int(c.nr)-1 {
		return unix.EAGAIN
	}
	f, err := t.file(cb.fd)
	if err != nil {
		return unix.EBADF
	}
	cb.file = f
	resfd := -1
	if cb.flags&iocbFlagResfd != 0 {
		ef, err := t.file(cb.resfd)
		if err != nil {
			return unix.EBADF
		}
		if ef.ops != nil || ef.path != "anon_inode:[eventfd]" {
			return unix.EINVAL
		}
		if resfd, err = unix.FcntlInt(uintptr(ef.fd), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			return unix.EAGAIN
		}
	}
	fail := func(err error) error {
		if resfd >= 0 {
			unix.Close(resfd)
		}
		return err
	}
	if err := p.mm.CopyOut(at+8, []byte{0, 0, 0, 0}); err != nil { // aio_key: KIOCB_KEY
		return fail(err)
	}
	if err := t.aioPrepare(&cb); err != nil {
		return fail(err)
	}
	c.inflight++
	ev := make([]byte, ioEventSize)
	le.PutUint64(ev[0:], cb.data)
	le.PutUint64(ev[8:], uint64(at))
	if cb.ready == nil {
		le.PutUint64(ev[16:], uint64(cb.res))
		le.PutUint64(ev[24:], uint64(cb.res2))
		c.complete(p, ev, resfd)
		return nil
	}
	c.seq++
	r := &aioReq{seq: c.seq, iocb: at, poll: cb.opcode == iocbCmdPoll, resfd: resfd, fd: cb.waitFd, ev: cb.waitEv,
		ready: cb.ready, done: cb.readyDone, stop: &cancel{ch: make(chan struct{}), fd: -1}}
	copy(r.event[:], ev)
	c.pending[r] = true
	if p.k.repeatable() {
		return nil // the run loop polls r.fd (aioPollParked), so runs repeat
	}
	if cfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err == nil {
		r.stop.fd = cfd
	}
	go func() {
		fds := []unix.PollFd{{Fd: int32(r.fd), Events: r.ev}}
		_, err := hostPoll(fds, pollWait{forever: true, cancel: r.stop})
		var res int64
		if err == nil {
			res = r.ready()
		}
		r.mu.Lock()
		r.ended = true
		if r.stop.fd >= 0 {
			unix.Close(r.stop.fd)
		}
		r.mu.Unlock()
		p.send(wakeup{fn: func() {
			if err == nil && c.pending[r] {
				c.finish(p, r, res)
			}
		}})
	}()
	return nil
}

// cancelWait tells the goroutine waiting for r, if any, to give up.
func (r *aioReq) cancelWait() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended {
		r.ended = true
		r.stop.fire()
	}
}

// finish completes a request that waited, on the run loop.
func (c *aioCtx) finish(p *Process, r *aioReq, res int64) {
	delete(c.pending, r)
	unix.Close(r.fd)
	if r.done != nil {
		res = r.done(res)
	}
	binary.LittleEndian.PutUint64(r.event[16:], uint64(res))
	c.complete(p, r.event[:], r.resfd)
}

// aioPollParked finishes the waiting requests whose files are ready, in repeatable runs,
// where the run loop polls them instead of goroutines; it says whether any finished.
func (p *Process) aioPollParked() bool {
	ended := false
	for _, c := range p.aioSorted() {
		for _, r := range c.sortedPending() {
			fds := []unix.PollFd{{Fd: int32(r.fd), Events: r.ev}}
			if n, err := unix.Ppoll(fds, &unix.Timespec{}, nil); err != nil || n == 0 {
				continue
			}
			c.finish(p, r, r.ready())
			ended = true
		}
	}
	return ended
}

// aioParkedFds are the fds of the waiting requests, for idle to wait on.
func (p *Process) aioParkedFds() []unix.PollFd {
	var fds []unix.PollFd
	for _, c := range p.aio {
		for r := range c.pending {
			fds = append(fds, unix.PollFd{Fd: int32(r.fd), Events: r.ev})
		}
	}
	return fds
}

// aioSorted and sortedPending give contexts and requests in a repeatable order.
func (p *Process) aioSorted() []*aioCtx {
	var cs []*aioCtx
	for _, c := range p.aio {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *aioCtx) int { return int(a.ring>>12) - int(b.ring>>12) })
	return cs
}

func (c *aioCtx) sortedPending() []*aioReq {
	var rs []*aioReq
	for r := range c.pending {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *aioReq) int { return int(a.seq) - int(b.seq) })
	return rs
}

// aioPrepare checks a request as Linux's __io_submit_one() and either does it (cb.res) or
// says what is left to do off the loop (cb.async).
func (t *Task) aioPrepare(cb *iocb) error {
	f := cb.file
	switch cb.opcode {
	case iocbCmdPread, iocbCmdPreadv, iocbCmdPwrite, iocbCmdPwritev:
		return t.aioRW(cb)
	case iocbCmdFsync, iocbCmdFdsync:
		if cb.buf != 0 || cb.offset != 0 || cb.nbytes != 0 || cb.rwFlags != 0 {
			return unix.EINVAL
		}
		var st unix.Stat_t
		if unix.Fstat(f.fd, &st) != nil || f.ops != nil {
			return unix.EINVAL
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFDIR, unix.S_IFBLK:
		default:
			return unix.EINVAL
		}
		var err error
		if cb.opcode == iocbCmdFsync {
			err = unix.Fsync(f.fd)
		} else {
			err = unix.Fdatasync(f.fd)
		}
		cb.res = errRes(err)
		return nil
	case iocbCmdPoll:
		if uint64(uint16(cb.buf)) != cb.buf || cb.offset != 0 || cb.nbytes != 0 || cb.rwFlags != 0 {
			return unix.EINVAL
		}
		events := int16(cb.buf) | unix.POLLERR | unix.POLLHUP
		fds := []unix.PollFd{{Fd: int32(f.fd), Events: events}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			cb.res = int64(fds[0].Revents & events)
			return nil
		}
		fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return unix.EAGAIN
		}
		cb.waitFd, cb.waitEv = fd, events
		cb.ready = func() int64 {
			// Linux completes a poll that waited with the mask its waker reported,
			// which names the NORM companions of POLLIN and POLLOUT too (POLLRDNORM
			// 0x40, POLLWRNORM 0x100).
			wide := events
			if events&unix.POLLIN != 0 {
				wide |= 0x40
			}
			if events&unix.POLLOUT != 0 {
				wide |= 0x100
			}
			all := []unix.PollFd{{Fd: int32(fd), Events: wide}}
			if n, err := unix.Poll(all, 0); err == nil && n > 0 {
				return int64(all[0].Revents & wide)
			}
			return 0
		}
		return nil
	}
	return unix.EINVAL
}

// errRes is a completion's res for a host result.
func errRes(err error) int64 {
	if e, ok := err.(unix.Errno); ok {
		return -int64(e)
	}
	if err != nil {
		return -int64(unix.EIO)
	}
	return 0
}

// aioRW is a read or write request, vectored or not.
func (t *Task) aioRW(cb *iocb) error {
	f := cb.file
	in := cb.opcode == iocbCmdPread || cb.opcode == iocbCmdPreadv
	vector := cb.opcode == iocbCmdPreadv || cb.opcode == iocbCmdPwritev
	if cb.flags&iocbFlagIoprio != 0 && cb.reqprio < 0 {
		return unix.EINVAL
	}
	if cb.rwFlags&^aioRwfSupported != 0 {
		return unix.EOPNOTSUPP
	}
	if f.ops != nil {
		return unix.EINVAL // vemu's own kinds of file have no asynchronous path
	}
	fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFL, 0)
	if err != nil {
		return unix.EBADF
	}
	acc := fl & unix.O_ACCMODE
	if in && acc == unix.O_WRONLY || !in && acc == unix.O_RDONLY {
		return unix.EBADF
	}
	want := emu.ProtWrite
	if !in {
		want = emu.ProtRead
	}
	var bufs [][]byte
	var berr error
	if vector {
		if int64(cb.nbytes) > 1024 {
			return unix.EINVAL
		}
		raw := make([]byte, int(cb.nbytes)*abi.IovecSize)
		if err := t.p.mm.CopyIn(mm.Addr(cb.buf), raw); err != nil {
			return err
		}
		bufs, berr = t.iovecs(mm.Addr(cb.buf), int32(cb.nbytes), want)
	} else if cb.nbytes > 0 {
		bufs, berr = t.bufs(mm.Addr(cb.buf), cb.nbytes, want)
	}
	if berr != nil {
		cb.res = errRes(berr)
		return nil
	}
	stream := f.mayBlock()
	if stream && t.wouldBlock(f, in, total(bufs)) {
		return t.aioLater(cb, in, bufs)
	}
	var n int
	switch {
	case stream && in:
		n, err = unix.Readv(f.fd, bufs)
	case stream:
		n, err = unix.Writev(f.fd, bufs)
	case in:
		n, err = unix.Preadv2(f.fd, bufs, cb.offset, int(cb.rwFlags))
	default:
		n, err = unix.Pwritev2(f.fd, bufs, cb.offset, int(cb.rwFlags))
	}
	if err == unix.EPIPE {
		t.sigpipe()
	}
	if err != nil {
		cb.res = errRes(err)
	} else {
		cb.res = int64(n)
	}
	return nil
}

// aioLater does a stream's read or write that would wait on a goroutine, through a
// private buffer (the guest may unmap its own meanwhile), and puts a read's bytes in
// guest memory back on the run loop.
func (t *Task) aioLater(cb *iocb, in bool, bufs [][]byte) error {
	fd, err := unix.FcntlInt(uintptr(cb.file.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return unix.EAGAIN
	}
	size := total(bufs)
	ev := int16(unix.POLLIN)
	var data []byte
	if !in {
		ev = unix.POLLOUT
		data = flatten(bufs)
	}
	var got []byte
	cb.waitFd, cb.waitEv = fd, ev
	cb.ready = func() int64 {
		if !in {
			n, err := unix.Write(fd, data)
			if err != nil {
				return errRes(err)
			}
			return int64(n)
		}
		buf := make([]byte, min(size, maxBlockingRead))
		n, err := unix.Read(fd, buf)
		if err != nil {
			return errRes(err)
		}
		got = buf[:n]
		return int64(n)
	}
	vector, addr, n := cb.opcode == iocbCmdPreadv, mm.Addr(cb.buf), cb.nbytes
	cb.readyDone = func(res int64) int64 {
		if !in || res <= 0 {
			return res
		}
		// The guest's buffers, found again: they may have changed meanwhile.
		var b [][]byte
		var err error
		if vector {
			b, err = t.iovecs(addr, int32(n), emu.ProtWrite)
		} else {
			b, err = t.bufs(addr, n, emu.ProtWrite)
		}
		if err != nil {
			return -int64(unix.EFAULT)
		}
		rest := got
		for _, q := range b {
			rest = rest[copy(q, rest):]
		}
		return res - int64(len(rest))
	}
	return nil
}

// sysIoCancel implements io_cancel(2): only a poll still waiting can be cancelled; it
// completes with no events, and the call says EINPROGRESS, as Linux's.
func sysIoCancel(t *Task, a Args) (uint64, error) {
	p := t.p
	var key [4]byte
	if err := p.mm.CopyIn(a.Ptr(1)+8, key[:]); err != nil {
		return 0, err
	}
	if binary.LittleEndian.Uint32(key[:]) != 0 {
		return 0, unix.EINVAL
	}
	c, err := p.aioCtx(a[0])
	if err != nil {
		return 0, err
	}
	for r := range c.pending {
		if r.iocb == a.Ptr(1) && r.poll {
			// Linux completes a cancelled poll with no events.
			r.cancelWait()
			c.finish(p, r, 0)
			return 0, unix.EINPROGRESS
		}
	}
	return 0, unix.EINVAL
}

// sysIoGetevents implements io_getevents(2).
func sysIoGetevents(t *Task, a Args) (uint64, error) {
	return t.ioGetevents(a, func(error) {})
}

// sysIoPgetevents implements io_pgetevents(2): io_getevents under a temporary mask.
func sysIoPgetevents(t *Task, a Args) (uint64, error) {
	restore := func(error) {}
	if a[5] != 0 {
		var b [16]byte
		if err := t.p.mm.CopyIn(a.Ptr(5), b[:]); err != nil {
			return 0, err
		}
		le := binary.LittleEndian
		mask, ok, err := t.pollSigmask(mm.Addr(le.Uint64(b[0:])), le.Uint64(b[8:]))
		if err != nil {
			return 0, err
		}
		restore = t.pollSwapMask(mask, ok)
	}
	return t.ioGetevents(a, restore)
}

func (t *Task) ioGetevents(a Args, restore func(error)) (uint64, error) {
	p := t.p
	d := time.Duration(-1)
	if a[4] != 0 {
		var b [abi.TimespecSize]byte
		if err := p.mm.CopyIn(a.Ptr(4), b[:]); err != nil {
			restore(err)
			return 0, err
		}
		var ts abi.Timespec
		ts.Unmarshal(b[:])
		d = max(time.Duration(timespecNs(ts)), 0)
	}
	c, err := p.aioCtx(a[0])
	minNr, nr := a.Int64(1), a.Int64(2)
	if err == nil && (minNr > nr || minNr < 0) {
		err = unix.EINVAL
	}
	if err != nil {
		restore(err)
		return 0, err
	}
	if d == 0 || int64(c.available(p)) >= minNr {
		restore(nil)
		return c.read(p, nr, a.Ptr(3))
	}
	r, err := t.park()
	pend := t.pending
	pend.nr, pend.args = abi.SYS_IO_GETEVENTS, a
	w := &aioWaiter{t: t, pend: pend, min: max(minNr, 1), nr: nr, events: a.Ptr(3), stop: func() {}}
	pend.done = func(r uint64, err error) (uint64, error) {
		restore(err)
		return r, err
	}
	c.waiters = append(c.waiters, w)
	t.interruptible(intrNoHand, func() {
		w.stop()
		if i := slices.Index(c.waiters, w); i >= 0 {
			c.waiters = slices.Delete(c.waiters, i, i+1)
		}
	})
	if d > 0 {
		gen := t.gen + 1
		w.stop = p.after(d, func() {
			i := slices.Index(c.waiters, w)
			if i < 0 || t.gen != gen || t.state != taskBlocked {
				return
			}
			c.waiters = slices.Delete(c.waiters, i, i+1)
			n, err := c.read(p, nr, w.events)
			t.complete(pend, n, err)
		})
	}
	return r, err
}
