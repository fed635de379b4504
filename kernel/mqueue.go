package kernel

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// POSIX message queues within vemu: a kernel-wide table of named queues, shared by the
// guest processes of one vemu and by nothing else (not the host's /dev/mqueue), with
// Linux's names, attributes, limits, owners and modes. A queue descriptor is a File whose
// host descriptor is a duplicate of the queue's eventfd, kept readable while the queue
// holds messages and writable while it has room, so poll, select and epoll see it as
// they see Linux's. One mutex guards the table and every queue. A call that has to wait
// waits off its run loop on a waiter of the queue: a sender hands its message straight to
// the first waiting receiver, and a receiver that makes room takes the first waiting
// sender's message into the queue, as Linux's pipelined send and receive do.

// mqNote is what the table says of the mq_* calls.
const mqNote = "queues are shared by the guest processes of one vemu, not with the host's /dev/mqueue; " +
	"a SIGEV_THREAD notification reaches its netlink socket only when vemu has CAP_NET_ADMIN"

// Linux's limits (include/linux/ipc_namespace.h) and the defaults of /proc/sys/fs/mqueue.
const (
	mqPrioMax      = 32768
	mqHardMsgMax   = 65536
	mqHardSizeMax  = 16 << 20
	mqNameMax      = 255
	mqAttrSize     = 64
	mqMsgOverhead  = 48 // sizeof(struct msg_msg), charged per message to RLIMIT_MSGQUEUE
	mqNodeOverhead = 48 // sizeof(struct posix_msg_tree_node), per priority
	mqCookieLen    = 32 // NOTIFY_COOKIE_LEN
	mqWokenUp      = 1  // NOTIFY_WOKENUP
	mqRemoved      = 2  // NOTIFY_REMOVED
	mqFileSize     = 80 // FILENT_SIZE: the size fstat reports
)

// mqSysctl is /proc/sys/fs/mqueue: the host's values where it has them.
type mqSysctl struct {
	msgMax, msgsizeMax, msgDefault, msgsizeDefault, queuesMax int64
}

func readMqSysctl() mqSysctl {
	s := mqSysctl{msgMax: 10, msgsizeMax: 8192, msgDefault: 10, msgsizeDefault: 8192, queuesMax: 256}
	for name, v := range map[string]*int64{"msg_max": &s.msgMax, "msgsize_max": &s.msgsizeMax,
		"msg_default": &s.msgDefault, "msgsize_default": &s.msgsizeDefault, "queues_max": &s.queuesMax} {
		if b, err := os.ReadFile("/proc/sys/fs/mqueue/" + name); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= 0 {
				*v = n
			}
		}
	}
	return s
}

// mqTable is the kernel's message queue namespace.
type mqTable struct {
	mu      sync.Mutex
	byName  map[string]*mqQueue
	count   int              // queues that exist, linked or not (queues_max counts them)
	charged map[uint32]int64 // RLIMIT_MSGQUEUE bytes by owner
	limits  mqSysctl
}

func (k *Kernel) mqueues() *mqTable {
	k.mqOnce.Do(func() {
		k.mq = &mqTable{byName: map[string]*mqQueue{}, charged: map[uint32]int64{}, limits: readMqSysctl()}
	})
	return k.mq
}

type mqMsg struct {
	prio uint32
	data []byte
}

// mqWaiter is a blocked sender (msg is its message) or receiver (msg is what a sender
// gave it); ch closes once ready is set.
type mqWaiter struct {
	msg   mqMsg
	ready bool
	ch    chan struct{}
}

// mqNotification is a process's mq_notify registration.
type mqNotification struct {
	owner  *Process
	notify int32
	signo  int32
	value  uint64
	sock   int // SIGEV_THREAD: a duplicate of the netlink socket
	cookie [mqCookieLen]byte
}

// mqQueue is one queue. Messages are kept by priority, FIFO within one: prios holds the
// priorities present in increasing order, byPrio their messages.
type mqQueue struct {
	name             string
	uid, gid, mode   uint32
	maxmsg, msgsize  int64
	prios            []uint32
	byPrio           map[uint32][]mqMsg
	n                int
	qsize            int64 // bytes of message data queued
	charge           int64 // RLIMIT_MSGQUEUE bytes charged to uid
	opens            int   // open descriptions
	linked           bool
	event            int // host eventfd standing for readiness while the queue is open; -1
	state            int // what the eventfd says: 0 empty, 1 some, 2 full
	senders, readers []*mqWaiter
	note             *mqNotification
}

// put queues m behind the messages of its priority.
func (q *mqQueue) put(m mqMsg) {
	l, ok := q.byPrio[m.prio]
	if !ok {
		i, _ := slices.BinarySearch(q.prios, m.prio)
		q.prios = slices.Insert(q.prios, i, m.prio)
	}
	q.byPrio[m.prio] = append(l, m)
	q.n++
	q.qsize += int64(len(m.data))
}

// take removes the oldest message of the highest priority; the queue is not empty.
func (q *mqQueue) take() mqMsg {
	p := q.prios[len(q.prios)-1]
	l := q.byPrio[p]
	m := l[0]
	l[0] = mqMsg{}
	if len(l) == 1 {
		delete(q.byPrio, p)
		q.prios = q.prios[:len(q.prios)-1]
	} else {
		q.byPrio[p] = l[1:]
	}
	q.n--
	q.qsize -= int64(len(m.data))
	return m
}

// Eventfd values: 0 is writable only, 1 readable and writable, mqEvFull readable only.
const mqEvFull = 0xfffffffffffffffe

// changed brings the eventfd to the queue's state and wakes its pollers, as Linux wakes
// them at each send and receive.
func (q *mqQueue) changed() {
	if q.event < 0 {
		return
	}
	want := 1
	switch {
	case q.n == 0:
		want = 0
	case int64(q.n) >= q.maxmsg:
		want = 2
	}
	add := func(v uint64) { unix.Write(q.event, binary.LittleEndian.AppendUint64(nil, v)) }
	if want < q.state {
		var b [8]byte
		unix.Read(q.event, b[:])
		q.state = 0
	}
	switch {
	case want == q.state:
		add(0)
	case want == 1:
		add(1)
	case q.state == 0:
		add(mqEvFull)
	default:
		add(mqEvFull - 1)
	}
	q.state = want
}

// destroyIfUnused forgets a queue that is unlinked and no longer open.
func (tb *mqTable) destroyIfUnused(q *mqQueue) {
	if q.linked || q.opens > 0 {
		return
	}
	tb.count--
	tb.charged[q.uid] -= q.charge
	if tb.charged[q.uid] <= 0 {
		delete(tb.charged, q.uid)
	}
}

// closed lets a queue go when nothing names it, and its eventfd when no descriptor does:
// a guest with many queues and no descriptors holds no host descriptors for them.
func (tb *mqTable) closed(q *mqQueue) {
	if q.opens == 0 && q.event >= 0 {
		unix.Close(q.event)
		q.event, q.state = -1, 0
	}
	tb.destroyIfUnused(q)
}

// opened gives an open queue its eventfd, ready as the queue is.
func (q *mqQueue) opened() error {
	if q.event >= 0 {
		return nil
	}
	ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return unix.ENFILE
	}
	q.event, q.state = ev, 0
	q.changed()
	return nil
}

// mqOpenFile is one open description of a queue, shared by the descriptors dup and fork
// make of it.
type mqOpenFile struct {
	mu     sync.Mutex
	q      *mqQueue
	flags  uint32 // guest open flags: the access mode and O_NONBLOCK
	pos    int64  // read(2)'s position in the status line
	copies int    // Files (one per process) that share it
}

// mqFile is a queue descriptor.
type mqFile struct {
	hostFile
	o  *mqOpenFile
	tb *mqTable
}

func (m *mqFile) canRead() bool {
	acc := m.o.flags & abi.O_ACCMODE
	return acc == abi.O_RDONLY || acc == abi.O_RDWR
}

func (m *mqFile) canWrite() bool {
	acc := m.o.flags & abi.O_ACCMODE
	return acc == abi.O_WRONLY || acc == abi.O_RDWR
}

func (m *mqFile) nonblock() bool {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	return m.o.flags&abi.O_NONBLOCK != 0
}

// io reads the queue's status line, as Linux's mqueue_read_file(); there is no write.
func (m *mqFile) io(t *Task, f *File, r ioReq) (uint64, error) {
	if !r.in {
		if !m.canWrite() {
			return 0, unix.EBADF
		}
		return 0, unix.EINVAL
	}
	if !m.canRead() {
		return 0, unix.EBADF
	}
	tb := m.tb
	tb.mu.Lock()
	q := m.o.q
	notify, signo, pid := int32(0), int32(0), 0
	if n := q.note; n != nil {
		notify, pid = n.notify, n.owner.pid
		if n.notify == abi.SIGEV_SIGNAL {
			signo = n.signo
		}
	}
	line := fmt.Sprintf("QSIZE:%-10d NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n", q.qsize, notify, signo, pid)
	tb.mu.Unlock()
	b, err := r.bufs(t)
	if err != nil {
		return 0, err
	}
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	pos := m.o.pos
	if r.positional {
		pos = r.a.Int64(3)
		if pos < 0 {
			return 0, unix.EINVAL
		}
	}
	rest := []byte(line)[min(pos, int64(len(line))):]
	n := 0
	for _, p := range b {
		c := copy(p, rest[n:])
		n += c
		if n == len(rest) {
			break
		}
	}
	if !r.positional {
		m.o.pos += int64(n)
	}
	return uint64(n), nil
}

func (m *mqFile) seek(f *File, off int64, whence int32) (uint64, error) {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	switch whence {
	case abi.SEEK_SET:
	case abi.SEEK_CUR:
		off += m.o.pos
	case abi.SEEK_END:
		off += mqFileSize
	default:
		return 0, unix.EINVAL
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	m.o.pos = off
	return uint64(off), nil
}

func (*mqFile) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	return 0, unix.ENOTDIR
}

func (m *mqFile) getfl(f *File) (uint32, error) {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	return m.o.flags, nil
}

func (m *mqFile) setfl(f *File, flags uint32) error {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	m.o.flags = m.o.flags&^abi.O_NONBLOCK | flags&abi.O_NONBLOCK
	return nil
}

// fork gives the child a File of its own on the same open description.
func (m *mqFile) fork(f *File, child *Process) (*File, error) {
	fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	m.o.mu.Lock()
	m.o.copies++
	m.o.mu.Unlock()
	return &File{fd: fd, path: f.path, flags: f.flags, ops: &mqFile{o: m.o, tb: m.tb}}, nil
}

// release closes the open description when its last File goes.
func (m *mqFile) release() {
	m.o.mu.Lock()
	m.o.copies--
	last := m.o.copies == 0
	m.o.mu.Unlock()
	if !last {
		return
	}
	tb := m.tb
	tb.mu.Lock()
	defer tb.mu.Unlock()
	q := m.o.q
	q.opens--
	tb.closed(q)
}

// flush is what each close of a descriptor of the queue does, as Linux's
// mqueue_flush_file(): the closing process's notification goes.
func (m *mqFile) flush(p *Process) {
	tb := m.tb
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if n := m.o.q.note; n != nil && n.owner == p {
		m.o.q.removeNote()
	}
}

// removeNote drops the registration, telling a SIGEV_THREAD socket so.
func (q *mqQueue) removeNote() {
	n := q.note
	q.note = nil
	if n.notify == abi.SIGEV_THREAD {
		n.tellSocket(mqRemoved)
		unix.Close(n.sock)
	}
}

// tellSocket sends the cookie, its last byte set to code, to the registered netlink
// socket, as Linux queues it there. A socket is reached through its port id, from a
// netlink socket of vemu's of the same protocol, which the host allows only with
// CAP_NET_ADMIN; an unbound socket is bound first (Linux needs no port id).
func (n *mqNotification) tellSocket(code byte) {
	sa, err := unix.Getsockname(n.sock)
	nl, ok := sa.(*unix.SockaddrNetlink)
	if err != nil || !ok {
		return
	}
	if nl.Pid == 0 {
		unix.Bind(n.sock, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if sa, err = unix.Getsockname(n.sock); err != nil {
			return
		}
		if nl, ok = sa.(*unix.SockaddrNetlink); !ok {
			return
		}
	}
	proto, err := unix.GetsockoptInt(n.sock, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	if err != nil {
		return
	}
	s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return
	}
	defer unix.Close(s)
	msg := n.cookie
	msg[mqCookieLen-1] = code
	unix.Sendto(s, msg[:], unix.MSG_DONTWAIT, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: nl.Pid})
}

// mqFile finds the queue behind guest descriptor fd: EBADF when it is not one.
func (t *Task) mqFile(fd int32) (*mqFile, error) {
	f, err := t.file(fd)
	if err != nil {
		return nil, err
	}
	m, ok := f.ops.(*mqFile)
	if !ok {
		return nil, unix.EBADF
	}
	return m, nil
}

// mqName reads a queue name as Linux's getname() and its lookup in the mqueue root do.
func (t *Task) mqName(addr mm.Addr) (string, error) {
	name, err := t.path(addr)
	if err != nil {
		return "", err
	}
	switch {
	case name == "":
		return "", unix.ENOENT
	case name == "." || name == ".." || strings.ContainsRune(name, '/'):
		return "", unix.EACCES
	case len(name) > mqNameMax:
		return "", unix.ENAMETOOLONG
	}
	return name, nil
}

// mqPermitted checks want (4 read, 2 write) against the queue's owner and mode for the
// guest's filesystem ids, as inode_permission() does for a regular file.
func (c *creds) mqPermitted(q *mqQueue, want uint32) bool {
	granted := q.mode
	switch {
	case c.fsuid == q.uid:
		granted >>= 6
	case c.fsgid == q.gid || c.inGroup(q.gid):
		granted >>= 3
	}
	return want&^granted&7 == 0 || c.capable(capDacOverride)
}

// sysMqOpen implements mq_open(2).
func sysMqOpen(t *Task, a Args) (uint64, error) {
	oflag, mode := a.Uint(1), a.Uint(2)&0o7777
	var attr [mqAttrSize]byte
	hasAttr := a[3] != 0
	if hasAttr {
		if err := t.p.mm.CopyIn(a.Ptr(3), attr[:]); err != nil {
			return 0, err
		}
	}
	name, err := t.mqName(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	if t.p.files.full() {
		return 0, unix.EMFILE
	}
	c := &t.p.creds
	tb := t.p.k.mqueues()
	tb.mu.Lock()
	q := tb.byName[name]
	switch {
	case q == nil:
		if oflag&abi.O_CREAT == 0 {
			tb.mu.Unlock()
			return 0, unix.ENOENT
		}
		le := binary.LittleEndian
		maxmsg := min(tb.limits.msgMax, tb.limits.msgDefault)
		msgsize := min(tb.limits.msgsizeMax, tb.limits.msgsizeDefault)
		if hasAttr {
			maxmsg, msgsize = int64(le.Uint64(attr[8:])), int64(le.Uint64(attr[16:]))
		}
		if q, err = tb.create(t, name, mode&^t.p.umask(), maxmsg, msgsize, hasAttr); err != nil {
			tb.mu.Unlock()
			return 0, err
		}
	case oflag&(abi.O_CREAT|abi.O_EXCL) == abi.O_CREAT|abi.O_EXCL:
		tb.mu.Unlock()
		return 0, unix.EEXIST
	case oflag&abi.O_ACCMODE == abi.O_ACCMODE:
		tb.mu.Unlock()
		return 0, unix.EINVAL
	default:
		want := [...]uint32{4, 2, 6}[oflag&abi.O_ACCMODE]
		if !c.mqPermitted(q, want) {
			tb.mu.Unlock()
			return 0, unix.EACCES
		}
	}
	hfd := -1
	if err = q.opened(); err == nil {
		if hfd, err = unix.FcntlInt(uintptr(q.event), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			err = unix.ENFILE
		}
	}
	if err != nil {
		tb.closed(q)
		tb.mu.Unlock()
		return 0, err
	}
	q.opens++
	tb.mu.Unlock()
	flags := oflag & (abi.O_ACCMODE | abi.O_NONBLOCK)
	m := &mqFile{o: &mqOpenFile{q: q, flags: flags, copies: 1}, tb: tb}
	f := &File{fd: hfd, refs: 1, path: "/" + name, flags: flags, ops: m}
	// Linux gives every queue descriptor close-on-exec, whatever oflag says.
	fd, err := t.p.files.install(f, true, 0)
	if err != nil {
		f.release()
		return 0, err
	}
	return uint64(fd), nil
}

// create makes a queue, with the checks of Linux's mq_attr_ok() and mqueue_get_inode();
// the caller holds tb.mu.
func (tb *mqTable) create(t *Task, name string, mode uint32, maxmsg, msgsize int64, given bool) (*mqQueue, error) {
	c := &t.p.creds
	if given {
		if maxmsg <= 0 || msgsize <= 0 {
			return nil, unix.EINVAL
		}
		if c.capable(capSysResource) {
			if maxmsg > mqHardMsgMax || msgsize > mqHardSizeMax {
				return nil, unix.EINVAL
			}
		} else if maxmsg > tb.limits.msgMax || msgsize > tb.limits.msgsizeMax {
			return nil, unix.EINVAL
		}
	}
	if int64(tb.count) >= tb.limits.queuesMax && !c.capable(capSysResource) {
		return nil, unix.ENOSPC
	}
	charge := maxmsg*(msgsize+mqMsgOverhead) + min(maxmsg, mqPrioMax)*mqNodeOverhead
	if lim := t.p.rlimits[abi.RLIMIT_MSGQUEUE].Cur; lim != abi.RLIM_INFINITY && uint64(tb.charged[c.euid]+charge) > lim {
		return nil, unix.EMFILE
	}
	q := &mqQueue{name: name, uid: c.euid, gid: c.egid, mode: mode, maxmsg: maxmsg, msgsize: msgsize,
		byPrio: map[uint32][]mqMsg{}, charge: charge, linked: true, event: -1}
	tb.byName[name] = q
	tb.count++
	tb.charged[c.euid] += charge
	return q, nil
}

// sysMqUnlink implements mq_unlink(2): the queue lives on while descriptors name it.
func sysMqUnlink(t *Task, a Args) (uint64, error) {
	name, err := t.mqName(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	tb := t.p.k.mqueues()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	q := tb.byName[name]
	if q == nil {
		return 0, unix.ENOENT
	}
	if c := &t.p.creds; c.euid != q.uid && !c.capable(capFowner) {
		return 0, unix.EACCES
	}
	delete(tb.byName, name)
	q.linked = false
	tb.closed(q)
	return 0, nil
}

// mqDeadline reads an absolute CLOCK_REALTIME timeout: how long from now on the guest's
// clock (<= 0: passed), or -1 without one.
func (t *Task) mqDeadline(addr mm.Addr) (time.Duration, error) {
	if addr == 0 {
		return -1, nil
	}
	ts, err := t.getTimespec(addr)
	if err != nil {
		return 0, err
	}
	now, _ := t.p.k.clock.Now(abi.CLOCK_REALTIME)
	d := time.Duration(timespecNs(ts) - timespecNs(now))
	if d <= 0 {
		d = 0
	}
	return d, nil
}

// sysMqTimedsend implements mq_timedsend(2).
func sysMqTimedsend(t *Task, a Args) (uint64, error) {
	d, err := t.mqDeadline(a.Ptr(4))
	if err != nil {
		return 0, err
	}
	prio := a.Uint(3)
	if prio >= mqPrioMax {
		return 0, unix.EINVAL
	}
	m, err := t.mqFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !m.canWrite() {
		return 0, unix.EBADF
	}
	q, tb := m.o.q, m.tb
	if a[2] > uint64(q.msgsize) {
		return 0, unix.EMSGSIZE
	}
	data := make([]byte, a[2])
	if err := t.p.mm.CopyIn(a.Ptr(1), data); err != nil {
		return 0, err
	}
	msg := mqMsg{prio: prio, data: data}
	tb.mu.Lock()
	if int64(q.n) < q.maxmsg {
		if len(q.readers) > 0 {
			w := q.readers[0]
			q.readers = q.readers[1:]
			w.msg, w.ready = msg, true
			close(w.ch)
		} else {
			q.put(msg)
			q.changed()
			if q.n == 1 && q.note != nil {
				t.mqNotify(q)
			}
		}
		tb.mu.Unlock()
		return 0, nil
	}
	if m.nonblock() {
		tb.mu.Unlock()
		return 0, unix.EAGAIN
	}
	if d == 0 {
		tb.mu.Unlock()
		return 0, unix.ETIMEDOUT
	}
	w := &mqWaiter{msg: msg, ch: make(chan struct{})}
	q.senders = append(q.senders, w)
	tb.mu.Unlock()
	return t.mqWait(tb, q, w, &q.senders, d, nil)
}

// mqNotify sends the registered notification, which then goes, as Linux's __do_notify():
// the queue just became non-empty and no receiver was waiting. The caller holds tb.mu.
func (t *Task) mqNotify(q *mqQueue) {
	n := q.note
	switch n.notify {
	case abi.SIGEV_SIGNAL:
		if n.signo != 0 {
			info := abi.Siginfo{Signo: n.signo, Code: abi.SI_MESGQ, Pid: int32(t.p.pid), UID: t.p.creds.ruid, Value: n.value}
			t.p.deliverTo(n.owner, 0, info)
		}
		q.note = nil
	case abi.SIGEV_THREAD:
		n.tellSocket(mqWokenUp)
		unix.Close(n.sock)
		q.note = nil
	default:
		q.note = nil
	}
}

// mqWait blocks the thread on waiter w of queue q until a partner makes it ready, the
// timeout d (-1: none) passes on the guest's clock, or a signal interrupts it; done then
// finishes the call on the run loop.
func (t *Task) mqWait(tb *mqTable, q *mqQueue, w *mqWaiter, list *[]*mqWaiter, d time.Duration,
	done func(uint64, error) (uint64, error)) (uint64, error) {
	timedOut := make(chan struct{})
	var stop func()
	if d > 0 {
		var once sync.Once
		stop = t.p.after(d, func() { once.Do(func() { close(timedOut) }) })
	}
	finish := func(r uint64, err error) (uint64, error) {
		if stop != nil {
			stop()
		}
		if done != nil {
			return done(r, err)
		}
		return r, err
	}
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		var why error
		select {
		case <-w.ch:
		case <-c.ch:
			why = errInterrupted
		case <-timedOut:
			why = unix.ETIMEDOUT
		}
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if w.ready {
			return 0, nil
		}
		if i := slices.Index(*list, w); i >= 0 {
			*list = slices.Delete(*list, i, i+1)
		}
		return 0, why
	}, finish)
}

// sysMqTimedreceive implements mq_timedreceive(2).
func sysMqTimedreceive(t *Task, a Args) (uint64, error) {
	d, err := t.mqDeadline(a.Ptr(4))
	if err != nil {
		return 0, err
	}
	m, err := t.mqFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !m.canRead() {
		return 0, unix.EBADF
	}
	q, tb := m.o.q, m.tb
	if a[2] < uint64(q.msgsize) {
		return 0, unix.EMSGSIZE
	}
	deliver := func(msg mqMsg) (uint64, error) {
		if a[3] != 0 {
			if err := t.p.mm.CopyOut(a.Ptr(3), binary.LittleEndian.AppendUint32(nil, msg.prio)); err != nil {
				return 0, err
			}
		}
		return uint64(len(msg.data)), t.p.mm.CopyOut(a.Ptr(1), msg.data)
	}
	tb.mu.Lock()
	if q.n > 0 {
		msg := q.take()
		if len(q.senders) > 0 {
			w := q.senders[0]
			q.senders = q.senders[1:]
			q.put(w.msg)
			w.ready = true
			close(w.ch)
		}
		q.changed()
		tb.mu.Unlock()
		return deliver(msg)
	}
	if m.nonblock() {
		tb.mu.Unlock()
		return 0, unix.EAGAIN
	}
	if d == 0 {
		tb.mu.Unlock()
		return 0, unix.ETIMEDOUT
	}
	w := &mqWaiter{ch: make(chan struct{})}
	q.readers = append(q.readers, w)
	tb.mu.Unlock()
	return t.mqWait(tb, q, w, &q.readers, d, func(_ uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		return deliver(w.msg)
	})
}

// sysMqNotify implements mq_notify(2).
func sysMqNotify(t *Task, a Args) (uint64, error) {
	var ev abi.Sigevent
	var note *mqNotification
	if a[1] != 0 {
		var b [abi.SigeventSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
		ev.Unmarshal(b[:])
		note = &mqNotification{owner: t.p, notify: ev.Notify, signo: ev.Signo, value: ev.Value, sock: -1}
		switch ev.Notify {
		case abi.SIGEV_NONE:
		case abi.SIGEV_SIGNAL:
			if uint32(ev.Signo) > abi.NSIG-1 {
				return 0, unix.EINVAL
			}
		case abi.SIGEV_THREAD:
			if err := t.p.mm.CopyIn(mm.Addr(ev.Value), note.cookie[:]); err != nil {
				return 0, err
			}
			sock, err := t.mqNotifySocket(ev.Signo)
			if err != nil {
				return 0, err
			}
			note.sock = sock
		default:
			return 0, unix.EINVAL
		}
	}
	fail := func(err error) (uint64, error) {
		if note != nil && note.sock >= 0 {
			unix.Close(note.sock)
		}
		return 0, err
	}
	m, err := t.mqFile(a.Fd(0))
	if err != nil {
		return fail(err)
	}
	tb := m.tb
	tb.mu.Lock()
	defer tb.mu.Unlock()
	q := m.o.q
	switch {
	case note == nil:
		if q.note != nil && q.note.owner == t.p {
			q.removeNote()
		}
	case q.note != nil:
		return fail(unix.EBUSY)
	default:
		q.note = note
	}
	return 0, nil
}

// mqNotifySocket checks that guest descriptor fd is a netlink socket, as Linux's
// netlink_getsockbyfilp(), and gives a duplicate of its host descriptor.
func (t *Task) mqNotifySocket(fd int32) (int, error) {
	f, err := t.file(fd)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return -1, unix.ENOTSOCK
	}
	if dom, err := unix.GetsockoptInt(f.fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_NETLINK {
		return -1, unix.EINVAL
	}
	return unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
}

// sysMqGetsetattr implements mq_getsetattr(2): only O_NONBLOCK can change.
func sysMqGetsetattr(t *Task, a Args) (uint64, error) {
	var nb [mqAttrSize]byte
	if a[1] != 0 {
		if err := t.p.mm.CopyIn(a.Ptr(1), nb[:]); err != nil {
			return 0, err
		}
		if binary.LittleEndian.Uint64(nb[0:])&^abi.O_NONBLOCK != 0 {
			return 0, unix.EINVAL
		}
	}
	m, err := t.mqFile(a.Fd(0))
	if err != nil {
		return 0, err
	}
	tb := m.tb
	tb.mu.Lock()
	q := m.o.q
	var old [mqAttrSize]byte
	le := binary.LittleEndian
	le.PutUint64(old[8:], uint64(q.maxmsg))
	le.PutUint64(old[16:], uint64(q.msgsize))
	le.PutUint64(old[24:], uint64(q.n))
	tb.mu.Unlock()
	m.o.mu.Lock()
	le.PutUint64(old[0:], uint64(m.o.flags&abi.O_NONBLOCK))
	if a[1] != 0 {
		m.o.flags = m.o.flags&^abi.O_NONBLOCK | uint32(le.Uint64(nb[0:]))&abi.O_NONBLOCK
	}
	m.o.mu.Unlock()
	if a[2] != 0 {
		return 0, t.p.mm.CopyOut(a.Ptr(2), old[:])
	}
	return 0, nil
}

// mqStat fills fstat's answer for a queue descriptor: a regular file with the queue's
// owner and mode, as the mqueue file system shows it.
func (m *mqFile) mqStat(st *unix.Stat_t) {
	m.tb.mu.Lock()
	defer m.tb.mu.Unlock()
	q := m.o.q
	st.Mode = unix.S_IFREG | q.mode
	st.Uid, st.Gid = q.uid, q.gid
	st.Size = mqFileSize
	st.Nlink = 1
	if !q.linked {
		st.Nlink = 0
	}
}
