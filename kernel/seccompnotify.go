package kernel

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Seccomp user notification (SECCOMP_RET_USER_NOTIF), as Linux's seccomp_do_user_notification()
// and the listener's ioctls.
//
// A listener belongs to the filter installed with SECCOMP_FILTER_FLAG_NEW_LISTENER and
// may be used from any guest process (it passes on by fork and over Unix sockets). Its
// descriptor is the read end of a host pipe, so that it travels in SCM_RIGHTS messages
// and the host's poll and epoll see it: vemu keeps one byte in the pipe while
// notifications wait to be received (POLLIN), and closes the write end when no thread
// uses the filter any more (POLLHUP). The host tells vemu when the last descriptor of the
// read end is gone, in whatever process or socket it was: the write end then reports an
// error (watched by one epoll for all listeners), and the listener is closed: its waiting
// threads get ENOSYS, as Linux's seccomp_notify_release() answers them.
//
// A notified thread waits off its run loop for the answer; SECCOMP_IOCTL_NOTIF_ADDFD
// wakes it to install the descriptor in its own table on its loop, and it waits again.

// The listener's ioctls, as <linux/seccomp.h> numbers them.
const (
	seccompIoctlRecv          = 0xc0502100 // _IOWR('!', 0, struct seccomp_notif)
	seccompIoctlSend          = 0xc0182101 // _IOWR('!', 1, struct seccomp_notif_resp)
	seccompIoctlIDValid       = 0x40082102 // _IOW('!', 2, __u64)
	seccompIoctlIDValidWrong  = 0x80082102 // the first, wrong, direction: still accepted
	seccompIoctlAddfdBase     = 0x00002103 // _IOW('!', 3, struct seccomp_notif_addfd), without size and direction
	seccompIoctlSetFlags      = 0x40082104 // _IOW('!', 4, __u64)
	seccompAddfdSizeVer0      = 24
	seccompUserNotifContinue  = 1 // SECCOMP_USER_NOTIF_FLAG_CONTINUE
	seccompAddfdFlagSetfd     = 1 // SECCOMP_ADDFD_FLAG_SETFD
	seccompAddfdFlagSend      = 2 // SECCOMP_ADDFD_FLAG_SEND
	seccompNotifFdSyncWakeUp  = 1 // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
	iocSizeMask               = 0x3fff0000
	iocDirMask                = 0xc0000000
	seccompMaxPendingNotifies = 1 << 16 // notifications one listener holds, at most
)

// Notification states, as Linux's enum notify_state.
const (
	notifyInit    = iota // queued, not yet received
	notifySent           // received by the supervisor, waiting for its answer
	notifyReplied        // answered
)

// seccompListener is the notification side of one filter.
type seccompListener struct {
	mu       sync.Mutex
	wr       int // the pipe's write end, vemu's (-1 once closed); the guest has the read end
	ino      uint64
	nextID   uint64
	requests int // queued notifications not yet taken by a receive (Linux's semaphore)
	notifs   []*seccompNotif
	users    int           // live threads whose filters include this one
	closed   bool          // the last descriptor went: no more notifications
	change   chan struct{} // closed and replaced at each change receivers wait for
	flags    uint64        // SECCOMP_IOCTL_NOTIF_SET_FLAGS
}

// seccompNotif is one notified call.
type seccompNotif struct {
	id    uint64
	tid   int32
	data  seccompCall
	state int
	val   int64
	err   int32
	flags uint32
	addfd []*seccompAddfd
	wake  chan struct{} // one token: something for the waiting thread
}

// seccompAddfd is one ADDFD request, carried out by the notified thread.
type seccompAddfd struct {
	hfd     int // the host descriptor to install (vemu's duplicate)
	setfd   bool
	newfd   int
	cloexec bool
	send    bool
	ret     chan int64 // the descriptor installed, or -errno
}

// changed wakes receivers; l.mu held.
func (l *seccompListener) changed() {
	close(l.change)
	l.change = make(chan struct{})
}

// raise puts the byte that makes the listener readable, when a first request waits; l.mu held.
func (l *seccompListener) raise() {
	if l.requests == 1 && l.wr >= 0 {
		unix.Write(l.wr, []byte{0})
	}
}

// find is the notification with id; l.mu held.
func (l *seccompListener) find(id uint64) *seccompNotif {
	for _, n := range l.notifs {
		if n.id == id {
			return n
		}
	}
	return nil
}

// remove takes n off the list, failing its pending ADDFD requests (ESRCH); l.mu held.
func (l *seccompListener) remove(n *seccompNotif) {
	for i, o := range l.notifs {
		if o == n {
			l.notifs = append(l.notifs[:i], l.notifs[i+1:]...)
			break
		}
	}
	for _, a := range n.addfd {
		unix.Close(a.hfd)
		a.ret <- -int64(unix.ESRCH)
	}
	n.addfd = nil
}

// poke gives n's waiting thread a token.
func (n *seccompNotif) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// seccompListeners finds listeners by their pipe's inode, for descriptors that come back
// in SCM_RIGHTS messages, and watches their write ends for the last reader's close.
var seccompListeners struct {
	mu    sync.Mutex
	byIno map[uint64]*seccompListener
	byWr  map[int]*seccompListener
	ep    int
	once  sync.Once
}

// watchListeners runs the epoll that sees listeners' pipes lose their last reader.
func watchListeners() {
	w := &seccompListeners
	ev := make([]unix.EpollEvent, 16)
	for {
		n, err := unix.EpollWait(w.ep, ev, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		for _, e := range ev[:n] {
			w.mu.Lock()
			l := w.byWr[int(e.Fd)]
			w.mu.Unlock()
			if l != nil {
				l.release()
			}
		}
	}
}

// newSeccompListener makes a listener and the guest's descriptor for it (the pipe's
// read end).
func newSeccompListener() (*seccompListener, int, error) {
	w := &seccompListeners
	w.once.Do(func() {
		w.byIno, w.byWr = map[uint64]*seccompListener{}, map[int]*seccompListener{}
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			w.ep = -1
			return
		}
		w.ep = ep
		go watchListeners()
	})
	if w.ep < 0 {
		return nil, -1, unix.ENOMEM
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, -1, err
	}
	unix.SetNonblock(p[1], true)
	var st unix.Stat_t
	if err := unix.Fstat(p[0], &st); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, -1, err
	}
	l := &seccompListener{wr: p[1], ino: st.Ino, nextID: 1, change: make(chan struct{})}
	w.mu.Lock()
	w.byIno[st.Ino], w.byWr[p[1]] = l, l
	w.mu.Unlock()
	// Events 0: the host reports EPOLLERR on the write end when no reader is left.
	if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, p[1], &unix.EpollEvent{Fd: int32(p[1])}); err != nil {
		l.release()
		unix.Close(p[0])
		return nil, -1, err
	}
	return l, p[0], nil
}

// release closes the listener: its last descriptor went. Waiting threads get ENOSYS.
func (l *seccompListener) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	l.closeWr()
	for _, n := range l.notifs {
		if n.state != notifyReplied {
			n.state, n.err, n.val, n.flags = notifyReplied, -int32(unix.ENOSYS), 0, 0
			n.poke()
		}
	}
	l.changed()
}

// closeWr closes vemu's write end (readers see POLLHUP); l.mu held.
func (l *seccompListener) closeWr() {
	if l.wr < 0 {
		return
	}
	w := &seccompListeners
	unix.EpollCtl(w.ep, unix.EPOLL_CTL_DEL, l.wr, nil)
	w.mu.Lock()
	delete(w.byWr, l.wr)
	delete(w.byIno, l.ino) // a descriptor that comes back now is a plain pipe's
	w.mu.Unlock()
	unix.Close(l.wr)
	l.wr = -1
}

// seccompListenerOf is the listener behind host descriptor hfd, if it is one.
func seccompListenerOf(hfd int) *seccompListener {
	w := &seccompListeners
	var st unix.Stat_t
	if unix.Fstat(hfd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byIno == nil {
		return nil
	}
	return w.byIno[st.Ino]
}

// listenerFile is the guest's descriptor of a listener: it has no read or write (EINVAL
// as on Linux), only the ioctls and poll.
type listenerFile struct{ l *seccompListener }

// seccompListenerPath is what /proc/self/fd shows of a listener.
const seccompListenerPath = "anon_inode:seccomp notify"

func (*listenerFile) io(t *Task, f *File, r ioReq) (uint64, error) { return 0, unix.EINVAL }
func (*listenerFile) seek(f *File, off int64, whence int32) (uint64, error) {
	return 0, unix.ESPIPE
}
func (*listenerFile) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	return 0, unix.ENOTDIR
}
func (*listenerFile) getfl(f *File) (uint32, error) { return f.flags &^ abi.O_CLOEXEC, nil }
func (*listenerFile) setfl(f *File, flags uint32) error {
	f.flags = f.flags&^abi.O_NONBLOCK | flags&abi.O_NONBLOCK
	return nil
}
func (lf *listenerFile) fork(f *File, child *Process) (*File, error) {
	fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return &File{fd: fd, path: f.path, flags: f.flags, ops: lf}, nil
}
func (*listenerFile) release() {}

// listenerFileFor is the guest file for host descriptor hfd of listener l.
func listenerFileFor(l *seccompListener, hfd int) *File {
	return &File{fd: hfd, refs: 1, path: seccompListenerPath, flags: abi.O_RDWR, ops: &listenerFile{l}}
}

// hold counts t's thread as a user of the listeners in its filters (n = 1) or no longer
// (n = -1); the last user gone makes the listeners hang up.
func (st *seccompState) hold(n int) {
	for f := st.filter; f != nil; f = f.prev {
		l := f.listener
		if l == nil {
			continue
		}
		l.mu.Lock()
		l.users += n
		if l.users <= 0 {
			l.closeWr()
		}
		l.mu.Unlock()
	}
}

// hasListener says whether one of the filters has a listener still open, which makes a
// new one EBUSY (has_duplicate_listener).
func (st *seccompState) hasListener() bool {
	for f := st.filter; f != nil; f = f.prev {
		if l := f.listener; l != nil {
			l.mu.Lock()
			open := !l.closed
			l.mu.Unlock()
			if open {
				return true
			}
		}
	}
	return false
}

// seccompNotify queues call c for filter f's listener and blocks the thread until the
// supervisor answers. ok is false when there is no listener (ENOSYS).
func (t *Task) seccompNotify(f *seccompFilter, c *seccompCall) (ok bool) {
	l := f.listener
	if l == nil {
		return false
	}
	l.mu.Lock()
	if l.closed || len(l.notifs) >= seccompMaxPendingNotifies {
		l.mu.Unlock()
		return false
	}
	n := &seccompNotif{id: l.nextID, tid: int32(t.tid), data: *c, wake: make(chan struct{}, 1)}
	l.nextID++
	l.notifs = append(l.notifs, n)
	l.requests++
	l.raise()
	l.changed()
	l.mu.Unlock()
	t.seccompWait(l, n, c.rax)
	return true
}

// seccompWait blocks the thread until n is answered, installing ADDFD's descriptors on
// the way.
func (t *Task) seccompWait(l *seccompListener, n *seccompNotif, nr uint64) {
	const addfdDue = ^uint64(0)
	op := func(c *cancel) (uint64, error) {
		for {
			l.mu.Lock()
			if len(n.addfd) > 0 {
				l.mu.Unlock()
				return addfdDue, nil
			}
			if n.state == notifyReplied {
				l.mu.Unlock()
				return 0, nil
			}
			l.mu.Unlock()
			select {
			case <-n.wake:
			case <-c.ch:
				l.mu.Lock()
				defer l.mu.Unlock()
				if n.state == notifyReplied && len(n.addfd) == 0 {
					return 0, nil // the answer came first
				}
				// A request not yet received stays counted, as in Linux's semaphore: a
				// receive then finds nothing (ENOENT).
				l.remove(n)
				l.changed()
				return 0, errInterrupted
			}
		}
	}
	var done func(uint64, error) (uint64, error)
	done = func(r uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		if r == addfdDue {
			// Under the lock, as Linux's seccomp_handle_addfd(): an interrupted ADDFD then
			// finds its request either waiting or done.
			l.mu.Lock()
			if len(n.addfd) == 0 {
				l.mu.Unlock()
				return t.blockIntr(intrRestart, op, done)
			}
			a := n.addfd[0]
			n.addfd = n.addfd[1:]
			fd := t.seccompInstall(a)
			if a.send {
				if fd < 0 {
					n.state = notifySent
				} else {
					n.state, n.flags, n.err, n.val = notifyReplied, 0, 0, fd
				}
			}
			l.mu.Unlock()
			a.ret <- fd
			return t.blockIntr(intrRestart, op, done)
		}
		l.mu.Lock()
		l.remove(n)
		val, e, flags := n.val, n.err, n.flags
		l.mu.Unlock()
		if flags&seccompUserNotifContinue != 0 {
			// The call runs after all, without its filters: it starts again.
			t.seccompPassed = true
			t.restart, t.restartNr = true, nr
			return 0, nil
		}
		if e != 0 {
			return uint64(int64(e)), nil
		}
		return uint64(val), nil
	}
	t.blockIntr(intrRestart, op, done)
}

// seccompInstall puts ADDFD's descriptor in t's table: the descriptor, or -errno.
func (t *Task) seccompInstall(a *seccompAddfd) int64 {
	f := &File{fd: a.hfd, path: hostFdPath(a.hfd)}
	if l := seccompListenerOf(a.hfd); l != nil {
		f = listenerFileFor(l, a.hfd)
	}
	if a.setfd {
		f.refs = 0
		if err := t.p.files.installAt(a.newfd, f, a.cloexec); err != nil {
			unix.Close(a.hfd)
			return -int64(err.(unix.Errno))
		}
		return int64(a.newfd)
	}
	f.refs = 1
	fd, err := t.p.files.install(f, a.cloexec, 0)
	if err != nil {
		unix.Close(a.hfd)
		return -int64(err.(unix.Errno))
	}
	return int64(fd)
}

// seccompIoctl answers the listener's ioctls, as Linux's seccomp_notify_ioctl().
func (t *Task) seccompIoctl(f *File, l *seccompListener, req uint32, arg mm.Addr) (uint64, error) {
	switch req {
	case seccompIoctlRecv:
		return t.seccompRecv(f, l, arg)
	case seccompIoctlSend:
		return t.seccompSend(l, arg)
	case seccompIoctlIDValid, seccompIoctlIDValidWrong:
		var b [8]byte
		if err := t.p.mm.CopyIn(arg, b[:]); err != nil {
			return 0, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if n := l.find(binary.LittleEndian.Uint64(b[:])); n != nil && n.state == notifySent {
			return 0, nil
		}
		return 0, unix.ENOENT
	case seccompIoctlSetFlags:
		if uint64(arg)&^seccompNotifFdSyncWakeUp != 0 {
			return 0, unix.EINVAL
		}
		l.mu.Lock()
		l.flags = uint64(arg)
		l.mu.Unlock()
		return 0, nil
	}
	if req&^(iocSizeMask|iocDirMask) == seccompIoctlAddfdBase {
		return t.seccompAddfd(l, arg, uint64(req&iocSizeMask)>>16)
	}
	return 0, unix.EINVAL
}

// seccompRecv is SECCOMP_IOCTL_NOTIF_RECV: the struct must come zeroed; it waits for a
// notification (whatever O_NONBLOCK says, as Linux) and hands out the oldest.
func (t *Task) seccompRecv(f *File, l *seccompListener, arg mm.Addr) (uint64, error) {
	var b [seccompNotifSize]byte
	if err := t.p.mm.CopyIn(arg, b[:]); err != nil {
		return 0, err
	}
	for _, c := range b {
		if c != 0 {
			return 0, unix.EINVAL
		}
	}
	// A duplicate, which a close by another thread cannot take away while it waits.
	hfd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return 0, err
	}
	var closeOnce sync.Once
	release := func() { closeOnce.Do(func() { unix.Close(hfd) }) }
	var got *seccompNotif
	take := func() (bool, error) {
		if l.requests == 0 {
			return false, nil
		}
		l.requests--
		if l.requests == 0 {
			// The last request taken: the listener is not readable any more.
			var n int
			if v, err := unix.IoctlGetInt(hfd, unix.TIOCINQ); err == nil {
				n = v
			}
			if n > 0 {
				var one [1]byte
				unix.Read(hfd, one[:])
			}
		}
		for _, n := range l.notifs {
			if n.state == notifyInit {
				n.state, got = notifySent, n
				return true, nil
			}
		}
		return true, unix.ENOENT
	}
	done := func(_ uint64, err error) (uint64, error) {
		release()
		if err != nil {
			return 0, err
		}
		n := got
		var out [seccompNotifSize]byte
		binary.LittleEndian.PutUint64(out[0:], n.id)
		binary.LittleEndian.PutUint32(out[8:], uint32(n.tid))
		d := out[16:]
		binary.LittleEndian.PutUint32(d[0:], n.data.nr)
		binary.LittleEndian.PutUint32(d[4:], n.data.arch)
		binary.LittleEndian.PutUint64(d[8:], n.data.ip)
		for i, v := range n.data.args {
			binary.LittleEndian.PutUint64(d[16+8*i:], v)
		}
		if err := t.p.mm.CopyOut(arg, out[:]); err != nil {
			// As Linux: the notification goes back to the queue for another receive.
			l.mu.Lock()
			if n.state == notifySent {
				n.state = notifyInit
				l.requests++
				l.raise()
				l.changed()
			}
			l.mu.Unlock()
			return 0, err
		}
		return 0, nil
	}
	l.mu.Lock()
	ok, err := take()
	l.mu.Unlock()
	if ok {
		return done(0, err)
	}
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		for {
			l.mu.Lock()
			ok, err := take()
			ch := l.change
			l.mu.Unlock()
			if ok {
				return 0, err
			}
			select {
			case <-ch:
			case <-c.ch:
				release() // the process may be ending, and done never run
				return 0, errInterrupted
			}
		}
	}, done)
}

// seccompSend is SECCOMP_IOCTL_NOTIF_SEND: one answer for a received notification.
func (t *Task) seccompSend(l *seccompListener, arg mm.Addr) (uint64, error) {
	var b [seccompNotifRespSize]byte
	if err := t.p.mm.CopyIn(arg, b[:]); err != nil {
		return 0, err
	}
	id, val := binary.LittleEndian.Uint64(b[0:]), int64(binary.LittleEndian.Uint64(b[8:]))
	e, flags := int32(binary.LittleEndian.Uint32(b[16:])), binary.LittleEndian.Uint32(b[20:])
	if flags&^seccompUserNotifContinue != 0 || flags&seccompUserNotifContinue != 0 && (e != 0 || val != 0) {
		return 0, unix.EINVAL
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.find(id)
	if n == nil {
		return 0, unix.ENOENT
	}
	if n.state != notifySent {
		return 0, unix.EINPROGRESS
	}
	n.state, n.val, n.err, n.flags = notifyReplied, val, e, flags
	n.poke()
	return 0, nil
}

// seccompAddfd is SECCOMP_IOCTL_NOTIF_ADDFD: the notified thread installs a duplicate
// of the supervisor's descriptor, and the call answers the number it got there.
func (t *Task) seccompAddfd(l *seccompListener, arg mm.Addr, size uint64) (uint64, error) {
	if size < seccompAddfdSizeVer0 || size > pageSize {
		return 0, unix.EINVAL
	}
	b, err := t.copyStruct(arg, size, seccompAddfdSizeVer0)
	if err != nil {
		return 0, err
	}
	id, flags := binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint32(b[8:])
	srcfd, newfd, newfdFlags := binary.LittleEndian.Uint32(b[12:]), binary.LittleEndian.Uint32(b[16:]), binary.LittleEndian.Uint32(b[20:])
	switch {
	case newfdFlags&^abi.O_CLOEXEC != 0,
		flags&^(seccompAddfdFlagSetfd|seccompAddfdFlagSend) != 0,
		newfd != 0 && flags&seccompAddfdFlagSetfd == 0:
		return 0, unix.EINVAL
	}
	src, err := t.file(int32(srcfd))
	if err != nil {
		return 0, err
	}
	hfd, err := unix.FcntlInt(uintptr(src.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return 0, err
	}
	a := &seccompAddfd{hfd: hfd, setfd: flags&seccompAddfdFlagSetfd != 0, newfd: int(int32(newfd)),
		cloexec: newfdFlags&abi.O_CLOEXEC != 0, send: flags&seccompAddfdFlagSend != 0, ret: make(chan int64, 1)}
	l.mu.Lock()
	n := l.find(id)
	switch {
	case n == nil:
		err = unix.ENOENT
	case n.state != notifySent:
		err = unix.EINPROGRESS
	case a.send && len(n.addfd) > 0:
		err = unix.EBUSY
	}
	if err != nil {
		l.mu.Unlock()
		unix.Close(hfd)
		return 0, err
	}
	if a.send {
		n.state = notifyReplied
	}
	n.addfd = append(n.addfd, a)
	n.poke()
	l.mu.Unlock()
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		select {
		case r := <-a.ret:
			return uint64(r), nil
		case <-c.ch:
			l.mu.Lock()
			defer l.mu.Unlock()
			select {
			case r := <-a.ret:
				return uint64(r), nil
			default:
			}
			for i, o := range n.addfd {
				if o == a {
					n.addfd = append(n.addfd[:i], n.addfd[i+1:]...)
					unix.Close(a.hfd)
					break
				}
			}
			return 0, errInterrupted
		}
	}, func(r uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		if v := int64(r); v < 0 {
			return 0, unix.Errno(-v)
		}
		return r, nil
	})
}
