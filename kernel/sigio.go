package kernel

import (
	"encoding/binary"
	"math"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Signal-driven I/O: a file with O_ASYNC and an owner (F_SETOWN, F_SETOWN_EX) sends the
// owner SIGIO, or the signal F_SETSIG chose with si_code POLL_IN or POLL_OUT, si_band and
// si_fd, each time it becomes readable or writable. One goroutine per kernel watches the
// host descriptors of such files with an edge-triggered epoll instance, so that every
// write into a pipe or socket is an event, whoever wrote it; it runs while some file is
// watched.

// F_SETOWN_EX's owner kinds.
const (
	fOwnerTid  = 0
	fOwnerPid  = 1
	fOwnerPgrp = 2
)

// fown is an open file's owner and signal, as Linux's struct fown_struct.
type fown struct {
	kind, id  int32  // fOwner*, and the pid, tid or process group; id 0: none
	sig       int32  // F_SETSIG's signal; 0: SIGIO without siginfo
	uid, euid uint32 // of whoever set the owner, for sigio_perm
	fd        int32  // the descriptor O_ASYNC was set through, si_fd
	async     bool   // O_ASYNC
	// noSpace: a write found the socket full since its last POLL_OUT signal, as Linux's
	// SOCKWQ_ASYNC_NOSPACE, without which a socket's room to write sends nothing.
	noSpace bool
	k       *Kernel
	eps     [2]int // the file's own epoll instances (readable, writable); 0: none
}

// sigioWatch is the kernel's watcher of O_ASYNC files.
type sigioWatch struct {
	mu    sync.Mutex
	epfd  int               // -1 when the watcher is not running
	wake  int               // eventfd that tells the watcher to look at its set again
	files map[int32]watched // by the file's own epoll instance
}

// watched is a file and the POLL_* reason its own epoll instance stands for.
type watched struct {
	f      *File
	reason int32
	sock   bool // a socket: room to write is news only after a write found none
}

// asyncMu guards every File's own, read by the watcher.
var asyncMu sync.Mutex

// owner returns f's owner state, made on first use. Called with asyncMu held.
func (f *File) owner() *fown {
	if f.own == nil {
		f.own = &fown{}
	}
	return f.own
}

// fcntlOwn answers F_GETOWN, F_SETOWN, F_GETOWN_EX, F_SETOWN_EX, F_GETSIG and F_SETSIG.
func (t *Task) fcntlOwn(f *File, cmd int32, arg uint64) (uint64, error) {
	asyncMu.Lock()
	defer asyncMu.Unlock()
	o := f.owner()
	switch cmd {
	case abi.F_GETOWN:
		if o.kind == fOwnerPgrp {
			return uint64(-int64(o.id)), nil
		}
		return uint64(int64(o.id)), nil
	case abi.F_SETOWN:
		id, kind := int32(arg), int32(fOwnerPid)
		if id == math.MinInt32 {
			// No group has the id -INT_MIN.
			return 0, unix.EINVAL
		}
		if id < 0 {
			id, kind = -id, fOwnerPgrp
		}
		return 0, t.setOwner(o, kind, id)
	case abi.F_GETOWN_EX:
		b := binary.LittleEndian.AppendUint32(nil, uint32(o.kind))
		b = binary.LittleEndian.AppendUint32(b, uint32(o.id))
		return 0, t.p.mm.CopyOut(mm.Addr(arg), b)
	case abi.F_SETOWN_EX:
		var b [8]byte
		if err := t.p.mm.CopyIn(mm.Addr(arg), b[:]); err != nil {
			return 0, err
		}
		kind, id := int32(binary.LittleEndian.Uint32(b[:])), int32(binary.LittleEndian.Uint32(b[4:]))
		if kind != fOwnerTid && kind != fOwnerPid && kind != fOwnerPgrp || id < 0 {
			return 0, unix.EINVAL
		}
		return 0, t.setOwner(o, kind, id)
	case abi.F_GETSIG:
		return uint64(o.sig), nil
	case abi.F_SETSIG:
		if arg >= abi.NSIG {
			return 0, unix.EINVAL
		}
		o.sig = int32(arg)
		return 0, nil
	}
	return 0, unix.EINVAL
}

// setOwner makes (kind, id) the owner, as Linux's f_setown(): ESRCH for an id that
// names nothing.
func (t *Task) setOwner(o *fown, kind, id int32) error {
	if id != 0 && !t.p.k.ownerExists(kind, int(id)) {
		return unix.ESRCH
	}
	o.kind, o.id = kind, id
	if id != 0 {
		// As Linux's f_modown: who set the owner, when there is one.
		o.uid, o.euid = t.p.creds.ruid, t.p.creds.euid
	}
	return nil
}

// ownerExists says whether id is a live pid number, as Linux's find_vpid() in
// f_setown(): a thread's, a process's, or a process group's or session's in use. The kind
// does not matter: a process's pid is accepted as a process group.
func (k *Kernel) ownerExists(kind int32, id int) bool {
	if k.threadOwner(id) != nil {
		return true
	}
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if q := k.pt.procs[id]; q != nil && !q.zombie {
		return true
	}
	for _, q := range k.pt.procs {
		if (q.pgid == id || q.sid == id) && !q.zombie {
			return true
		}
	}
	return false
}

// setAsync turns O_ASYNC on or off for f, set through guest descriptor fd.
func (t *Task) setAsync(f *File, fd int32, on bool) {
	asyncMu.Lock()
	o := f.owner()
	was := o.async
	o.async = on
	if on {
		o.fd, o.k = fd, t.p.k
	}
	asyncMu.Unlock()
	if on && !was {
		t.p.k.watchAsync(f)
	} else if !on && was {
		t.p.k.unwatchAsync(f)
	}
}

// canSignal says whether f is a kind of file that can send SIGIO, one whose Linux file
// operations have fasync: sockets, pipes and FIFOs, terminals, /dev/random and
// /dev/urandom, and inotify instances. O_ASYNC does not stay set on any other (F_SETFL
// leaves it off, as Linux 6.x does) and FIOASYNC's change is ENOTTY.
func (f *File) canSignal() bool {
	if f.ops != nil {
		return false // vemu's own kinds: signalfd, pidfd, epoll, /proc files...
	}
	if strings.HasPrefix(f.path, "anon_inode:") {
		return f.path == "anon_inode:inotify"
	}
	if _, tty := f.ttyDev(); tty {
		return true
	}
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK:
		return true
	case unix.S_IFCHR:
		return st.Rdev == unix.Mkdev(1, 8) || st.Rdev == unix.Mkdev(1, 9)
	}
	return false
}

// full notes that a write to f found no room: a socket with O_ASYNC signals POLL_OUT
// when room comes, and only then.
func (f *File) full() {
	asyncMu.Lock()
	if f.own != nil && f.own.async {
		f.own.noSpace = true
	}
	asyncMu.Unlock()
}

// asyncFlag is O_ASYNC as F_GETFL shows it.
func (f *File) asyncFlag() uint32 {
	asyncMu.Lock()
	defer asyncMu.Unlock()
	if f.own != nil && f.own.async {
		return abi.O_ASYNC
	}
	return 0
}

// watchAsync adds f's host descriptor to the watcher's set, starting the watcher.
func (k *Kernel) watchAsync(f *File) {
	w := &k.sigio
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.files == nil {
		w.files, w.epfd = map[int32]watched{}, -1
	}
	if w.epfd < 0 {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			unix.Close(ep)
			return
		}
		unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ev, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1})
		w.epfd, w.wake = ep, ev
		go k.sigioLoop(ep, ev)
	}
	// Two edge-triggered instances of the file's own, one woken by arriving data and one
	// by room to write (a wake says which it is, and an instance is woken only by its
	// kind), each drained once here: what is ready already is no event, as Linux
	// signals only what happens from now on. The watcher waits on these instances,
	// each readable while it holds an event.
	var eps [2]int
	var st unix.Stat_t
	sock := unix.Fstat(f.fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK
	for i, kind := range []uint32{unix.EPOLLIN, unix.EPOLLOUT} {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err == nil {
			if err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, f.fd, &unix.EpollEvent{Events: kind | unix.EPOLLET}); err != nil {
				unix.Close(ep) // a regular file, say: O_ASYNC stays set and sends nothing
			}
		}
		if err != nil {
			if i == 1 {
				unix.Close(eps[0])
			}
			return
		}
		var evs [1]unix.EpollEvent
		unix.EpollWait(ep, evs[:], 0)
		eps[i] = ep
	}
	for i, ep := range eps {
		unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, ep, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(ep)})
		w.files[int32(ep)] = watched{f, int32(abi.POLL_IN + i), sock}
	}
	asyncMu.Lock()
	f.own.eps = eps
	asyncMu.Unlock()
}

// unwatchAsync takes f out of the watcher's set, ending the watcher with the last one.
func (k *Kernel) unwatchAsync(f *File) {
	w := &k.sigio
	w.mu.Lock()
	defer w.mu.Unlock()
	asyncMu.Lock()
	eps := f.own.eps
	f.own.eps = [2]int{}
	asyncMu.Unlock()
	if eps[0] == 0 {
		return
	}
	for _, ep := range eps {
		delete(w.files, int32(ep))
		unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, ep, nil)
		unix.Close(ep)
	}
	if len(w.files) == 0 {
		unix.Write(w.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		w.epfd = -1 // the loop closes the old instance and its eventfd
	}
}

// sigioLoop waits for events on ep until it is told the set is empty.
func (k *Kernel) sigioLoop(ep, wake int) {
	w := &k.sigio
	evs := make([]unix.EpollEvent, 32)
	for {
		n, err := unix.EpollWait(ep, evs, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			n = 0
		}
		w.mu.Lock()
		if w.epfd != ep {
			w.mu.Unlock()
			unix.Close(ep)
			unix.Close(wake)
			return
		}
		var sends []fown
		var reasons []int32
		for _, ev := range evs[:n] {
			x, ok := w.files[ev.Fd]
			if !ok || ev.Fd < 0 {
				continue
			}
			var fev [1]unix.EpollEvent
			if m, _ := unix.EpollWait(int(ev.Fd), fev[:], 0); m != 1 {
				continue
			}
			asyncMu.Lock()
			o := *x.f.own
			if x.sock && x.reason == abi.POLL_OUT {
				// As Linux's sock_wake_async(SOCK_WAKE_SPACE): only after a full send.
				x.f.own.noSpace = false
				o.async = o.async && o.noSpace
			}
			asyncMu.Unlock()
			if o.async && o.id != 0 {
				reason := x.reason
				if x.sock && reason == abi.POLL_IN && fev[0].Events&unix.EPOLLHUP != 0 {
					// Both ways shut (the peer closed): Linux's unix_release_sock()
					// and tcp_fin() say POLL_HUP.
					reason = abi.POLL_HUP
				}
				sends, reasons = append(sends, o), append(reasons, reason)
			}
		}
		w.mu.Unlock()
		for i, o := range sends {
			k.sendSigio(o, reasons[i])
		}
	}
}

// pollMsg is POLLMSG, in si_band of a lease break.
const pollMsg = 0x400

// sigioBand is si_band for each POLL_* code, as Linux's band_table.
var sigioBand = [...]int64{
	abi.POLL_IN:  abi.POLLIN | abi.POLLRDNORM,
	abi.POLL_OUT: abi.POLLOUT | abi.POLLWRNORM | abi.POLLWRBAND,
	abi.POLL_MSG: abi.POLLIN | abi.POLLRDNORM | pollMsg,
	abi.POLL_ERR: abi.POLLERR,
	abi.POLL_PRI: abi.POLLPRI | abi.POLLRDBAND,
	abi.POLL_HUP: abi.POLLHUP | abi.POLLERR,
}

// sendSigio sends o's signal to its owner, as Linux's send_sigio(): to each process of a
// group, to a process, or to one thread, where the setter's ids allow (sigio_perm). A
// chosen signal that cannot be queued falls back to SIGIO.
func (k *Kernel) sendSigio(o fown, reason int32) {
	info := abi.Siginfo{Signo: abi.SIGIO, Code: abi.SI_KERNEL}
	if o.sig != 0 {
		info = abi.Siginfo{Signo: o.sig, Code: reason, Band: sigioBand[reason], Fd: o.fd}
	}
	var targets []*Process
	tid := 0
	k.pt.mu.Lock()
	switch o.kind {
	case fOwnerTid:
		if q := k.lookupLocked(int(o.id)); q != nil && !q.zombie {
			targets, tid = append(targets, q), int(o.id)
		}
	case fOwnerPid:
		if q := k.pt.procs[int(o.id)]; q != nil && !q.zombie {
			targets = append(targets, q)
		}
	default:
		for _, q := range k.pt.procs {
			if q.pgid == int(o.id) && !q.zombie {
				targets = append(targets, q)
			}
		}
	}
	live := targets[:0]
	for _, q := range targets {
		c := &q.creds
		if o.euid == 0 || o.euid == c.suid || o.euid == c.ruid || o.uid == c.suid || o.uid == c.ruid {
			live = append(live, q)
		}
	}
	k.pt.mu.Unlock()
	for _, q := range live {
		q.send(wakeup{fn: func() {
			var t *Task
			if tid != 0 {
				if t = q.thread(tid); t == nil {
					return
				}
			}
			if !q.queueSignal(t, info) {
				q.queueSignal(t, abi.Siginfo{Signo: abi.SIGIO, Code: abi.SI_KERNEL})
			}
		}})
	}
}
