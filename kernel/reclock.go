package kernel

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Record locks (fcntl F_SETLK, F_SETLKW, F_GETLK) belong to a process on Linux, but every
// guest process lives in the one vemu process, where the host's POSIX locks cannot tell
// them apart. vemu keeps them in a table of its own, for all guest processes, keyed by the
// host file (device and inode), with Linux's rules: one owner's locks of one type merge
// when they overlap or touch, a lock of another type or an unlock splits them, locks of
// different owners conflict when they overlap and one of them writes, a wait that would
// close a cycle of waiting owners fails with EDEADLK, and a process's locks on a file go
// when it closes any descriptor of that file, and at its exit.
//
// Other host processes are kept out by host locks too: the union of the guest's locks on
// a file is held as open-file-description locks on a host descriptor of vemu's own for
// that file (not POSIX ones, which any close of the file by vemu would drop). Guest OFD
// locks (F_OFD_*) are the host's on the guest's own open file description, which already
// belongs to one guest open file (and to the processes that share it since a fork), and
// they meet the union there.

// lockTypes, weakest first: what a point of a file is held as.
const (
	lockNone = iota
	lockRead
	lockWrite
)

// recLock is one lock of the table: [start, end] (end included; math.MaxInt64 is to the
// end of the file, however it grows).
type recLock struct {
	owner      int // the guest pid
	typ        int // lockRead or lockWrite
	start, end int64
}

func (l recLock) overlaps(o recLock) bool { return l.start <= o.end && o.start <= l.end }

// conflicts says whether locks l and o of different owners exclude each other.
func (l recLock) conflicts(o recLock) bool {
	return l.owner != o.owner && l.overlaps(o) && (l.typ == lockWrite || o.typ == lockWrite)
}

// setLock applies l (typ lockNone unlocks) to its owner's locks in locks and returns the
// new list, sorted by start, as Linux's posix_lock_inode(): locks of the same type that
// overlap or touch l merge with it; the parts of other locks outside l stay.
func setLock(locks []recLock, l recLock) []recLock {
	out := make([]recLock, 0, len(locks)+2)
	ns, ne := l.start, l.end
	touches := func(o recLock) bool {
		return o.start <= l.end && (o.end >= l.start || o.end+1 == l.start) || l.end != math.MaxInt64 && o.start == l.end+1
	}
	for _, o := range locks {
		switch {
		case o.owner != l.owner:
			out = append(out, o)
		case l.typ != lockNone && o.typ == l.typ && touches(o):
			ns, ne = min(ns, o.start), max(ne, o.end)
		case !o.overlaps(l):
			out = append(out, o)
		default:
			if o.start < l.start {
				out = append(out, recLock{o.owner, o.typ, o.start, l.start - 1})
			}
			if o.end > l.end {
				out = append(out, recLock{o.owner, o.typ, l.end + 1, o.end})
			}
		}
	}
	if l.typ != lockNone {
		out = append(out, recLock{l.owner, l.typ, ns, ne})
	}
	slices.SortFunc(out, func(a, b recLock) int {
		switch {
		case a.start != b.start:
			return cmpInt64(a.start, b.start)
		case a.owner != b.owner:
			return a.owner - b.owner
		}
		return 0
	})
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// conflict returns the first lock in locks that excludes l.
func conflict(locks []recLock, l recLock) (recLock, bool) {
	for _, o := range locks {
		if l.conflicts(o) {
			return o, true
		}
	}
	return recLock{}, false
}

// span is a stretch [start, end] of a file held as typ by the union of all owners' locks.
type span struct {
	start, end int64
	typ        int
}

// union returns how [start, end] is held by all of locks together, in order, as spans
// that cover it exactly.
func union(locks []recLock, start, end int64) []span {
	cuts := []int64{start}
	for _, o := range locks {
		if o.start > start && o.start <= end {
			cuts = append(cuts, o.start)
		}
		if o.end < end && o.end >= start {
			cuts = append(cuts, o.end+1)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var out []span
	for i, c := range cuts {
		e := end
		if i+1 < len(cuts) {
			e = cuts[i+1] - 1
		}
		typ := lockNone
		for _, o := range locks {
			if o.start <= c && c <= o.end {
				typ = max(typ, o.typ)
			}
		}
		if n := len(out); n > 0 && out[n-1].typ == typ {
			out[n-1].end = e
		} else {
			out = append(out, span{c, e, typ})
		}
	}
	return out
}

// maxDeadlockSteps bounds the walk along waiting owners, as Linux's
// MAX_DEADLK_ITERATIONS.
const maxDeadlockSteps = 10

// Beyond these many locks on one file, or in all, a new lock fails with ENOLCK: each
// change costs time in the number of locks on its file, and memory.
const (
	maxFileLocks   = 1 << 12
	maxRecordLocks = 1 << 16
)

// fileID names a host file.
type fileID struct{ dev, ino uint64 }

// lockedFile is one file's locks.
type lockedFile struct {
	locks   []recLock
	hostFd  int           // vemu's own open file description for the host locks; -1 if none
	changed chan struct{} // closed and replaced when locks go or weaken
}

// recordLocks is the kernel's table of record locks.
type recordLocks struct {
	mu      sync.Mutex
	files   map[fileID]*lockedFile
	owned   map[int]map[fileID]bool // the files each owner has locks on
	waiting map[int]int             // owner → the owner whose lock it waits for
	count   int
}

func newRecordLocks() *recordLocks {
	return &recordLocks{files: map[fileID]*lockedFile{}, owned: map[int]map[fileID]bool{}, waiting: map[int]int{}}
}

// file returns the entry for id, made with a host descriptor reopened from hfd.
func (rl *recordLocks) file(id fileID, hfd int) *lockedFile {
	lf := rl.files[id]
	if lf == nil {
		lf = &lockedFile{hostFd: -1, changed: make(chan struct{})}
		for _, mode := range []int{unix.O_RDWR, unix.O_RDONLY, unix.O_WRONLY} {
			if fd, err := unix.Open(hostFdPath(hfd), mode|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0); err == nil {
				lf.hostFd = fd
				break
			}
		}
		rl.files[id] = lf
	}
	return lf
}

// hostSet holds [start, end] on the host as typ, on lf's own descriptor.
func (lf *lockedFile) hostSet(s span) error {
	if lf.hostFd < 0 {
		return nil
	}
	t := []int16{unix.F_UNLCK, unix.F_RDLCK, unix.F_WRLCK}[s.typ]
	lk := unix.Flock_t{Type: t, Whence: unix.SEEK_SET, Start: s.start}
	if s.end != math.MaxInt64 {
		lk.Len = s.end - s.start + 1
	}
	err := unix.FcntlFlock(uintptr(lf.hostFd), unix.F_OFD_SETLK, &lk)
	if err == unix.EBADF {
		return nil // vemu's descriptor cannot hold that type: the guest's lock stays vemu's
	}
	return err
}

// apply makes l the new state of its owner's locks on lf, if the host lets the union
// change: EAGAIN when another host process (or a guest OFD lock) holds part of it.
// Called with rl.mu held.
func (rl *recordLocks) apply(id fileID, lf *lockedFile, l recLock) error {
	next := setLock(lf.locks, l)
	if len(next) > max(len(lf.locks), maxFileLocks) || len(next)-len(lf.locks)+rl.count > maxRecordLocks {
		return unix.ENOLCK
	}
	before, after := union(lf.locks, l.start, l.end), union(next, l.start, l.end)
	// Take what is new first (it may fail, and nothing was given up yet), then give up.
	var done []span
	for _, s := range after {
		if s.typ == lockNone {
			continue
		}
		if err := lf.hostSet(s); err != nil {
			for _, b := range before {
				lf.hostSet(b)
			}
			return err
		}
		done = append(done, s)
	}
	for _, s := range after {
		if s.typ == lockNone {
			lf.hostSet(s)
		}
	}
	weaker := false
	for _, b := range before {
		for _, a := range after {
			if a.overlaps(b) && a.typ < b.typ {
				weaker = true
			}
		}
	}
	rl.count += len(next) - len(lf.locks)
	lf.locks = next
	has := slices.ContainsFunc(next, func(o recLock) bool { return o.owner == l.owner })
	if has {
		if rl.owned[l.owner] == nil {
			rl.owned[l.owner] = map[fileID]bool{}
		}
		rl.owned[l.owner][id] = true
	} else if m := rl.owned[l.owner]; m != nil {
		delete(m, id)
		if len(m) == 0 {
			delete(rl.owned, l.owner)
		}
	}
	if weaker || l.typ == lockNone {
		close(lf.changed)
		lf.changed = make(chan struct{})
	}
	rl.dropEmpty(id, lf)
	return nil
}

// dropEmpty forgets lf, the entry of id, when it holds no lock. Called with rl.mu held.
func (rl *recordLocks) dropEmpty(id fileID, lf *lockedFile) {
	if len(lf.locks) == 0 && rl.files[id] == lf {
		if lf.hostFd >= 0 {
			unix.Close(lf.hostFd)
		}
		delete(rl.files, id)
	}
}

func (s span) overlaps(o span) bool { return s.start <= o.end && o.start <= s.end }

// deadlock says whether owner waiting for holder would close a cycle of waits, as
// Linux's posix_locks_deadlock(). Called with rl.mu held.
func (rl *recordLocks) deadlock(owner, holder int) bool {
	for range maxDeadlockSteps {
		if holder == owner {
			return true
		}
		next, ok := rl.waiting[holder]
		if !ok {
			return false
		}
		holder = next
	}
	return false
}

// releaseOwner drops every lock of owner (at its exit).
func (rl *recordLocks) releaseOwner(owner int) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for id := range rl.owned[owner] {
		if lf := rl.files[id]; lf != nil {
			rl.apply(id, lf, recLock{owner: owner, typ: lockNone, start: 0, end: math.MaxInt64})
		}
	}
	delete(rl.owned, owner)
}

// closed drops owner's locks on the file behind host descriptor hfd, which one of its
// descriptors no longer names: Linux drops a process's locks on a file at any close of it.
func (rl *recordLocks) closed(owner int, hfd int) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if len(rl.owned[owner]) == 0 {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(hfd, &st) != nil {
		return
	}
	id := fileID{st.Dev, st.Ino}
	if lf := rl.files[id]; lf != nil && rl.owned[owner][id] {
		rl.apply(id, lf, recLock{owner: owner, typ: lockNone, start: 0, end: math.MaxInt64})
	}
}

// guestLock is a struct flock read from the guest and made absolute.
type guestLock struct {
	typ        int // lockNone, lockRead, lockWrite
	start, end int64
}

// lockRange turns a struct flock's whence, start and len into [start, end] of f, as
// Linux's flock_to_posix_lock(): EINVAL for a range before the start of the file.
func lockRange(f *File, whence int16, start, length int64) (int64, int64, error) {
	switch whence {
	case abi.SEEK_SET:
	case abi.SEEK_CUR:
		pos, err := unix.Seek(f.fd, 0, unix.SEEK_CUR)
		if err == unix.ESPIPE {
			pos, err = 0, nil // a pipe's or socket's position is 0, as its f_pos
		}
		if err != nil {
			return 0, 0, err
		}
		start += pos
	case abi.SEEK_END:
		var st unix.Stat_t
		if err := unix.Fstat(f.fd, &st); err != nil {
			return 0, 0, err
		}
		start += st.Size
	default:
		return 0, 0, unix.EINVAL
	}
	if start < 0 {
		return 0, 0, unix.EINVAL
	}
	end := int64(math.MaxInt64)
	switch {
	case length > 0:
		if start > math.MaxInt64-length+1 {
			return 0, 0, unix.EOVERFLOW
		}
		end = start + length - 1
	case length < 0:
		end = start - 1
		start += length
		if start < 0 {
			return 0, 0, unix.EINVAL
		}
	}
	return start, end, nil
}

// posixLock is F_SETLK (and with wait F_SETLKW) for the calling process. A wait ends
// early with a handled signal: restarted under SA_RESTART, as Linux's ERESTARTSYS.
func (t *Task) posixLock(f *File, gl guestLock, wait bool) (uint64, error) {
	rl := t.p.k.locks
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, err
	}
	id := fileID{st.Dev, st.Ino}
	l := recLock{owner: t.p.pid, typ: gl.typ, start: gl.start, end: gl.end}
	// try takes the lock, or says what to wait for: a channel closed when the file's
	// locks weaken, or nil when the host holds it (another process: look again later).
	try := func() (<-chan struct{}, error) {
		rl.mu.Lock()
		defer rl.mu.Unlock()
		delete(rl.waiting, l.owner)
		lf := rl.files[id]
		if lf == nil {
			if l.typ == lockNone {
				return nil, nil
			}
			lf = rl.file(id, f.fd)
		}
		if l.typ != lockNone {
			if o, ok := conflict(lf.locks, l); ok {
				if !wait {
					return nil, unix.EAGAIN
				}
				if rl.deadlock(l.owner, o.owner) {
					return nil, unix.EDEADLK
				}
				rl.waiting[l.owner] = o.owner
				return lf.changed, unix.EAGAIN
			}
		}
		err := rl.apply(id, lf, l)
		rl.dropEmpty(id, lf)
		if err == unix.EACCES {
			err = unix.EAGAIN
		}
		return nil, err
	}
	ch, err := try()
	if err != unix.EAGAIN || !wait {
		return 0, err
	}
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		defer func() {
			rl.mu.Lock()
			delete(rl.waiting, l.owner)
			rl.mu.Unlock()
		}()
		for {
			var retry <-chan time.Time
			if ch == nil {
				retry = time.After(lockRetry)
			}
			select {
			case <-c.ch:
				return 0, errInterrupted
			case <-ch:
			case <-retry:
			}
			if ch, err = try(); err != unix.EAGAIN {
				return 0, err
			}
		}
	}, nil)
}

// getLock is F_GETLK (ofd false) and F_OFD_GETLK: the first lock that would keep gl
// from being taken, guest processes' first (with their pids), then the host's; ok false
// when there is none.
func (t *Task) getLock(f *File, gl guestLock, ofd bool) (recLock, bool, error) {
	rl := t.p.k.locks
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return recLock{}, false, err
	}
	id := fileID{st.Dev, st.Ino}
	l := recLock{owner: t.p.pid, typ: gl.typ, start: gl.start, end: gl.end}
	if ofd {
		l.owner = -1 // an open file description: every process's record lock is another owner's
	}
	lk := unix.Flock_t{Type: []int16{unix.F_UNLCK, unix.F_RDLCK, unix.F_WRLCK}[gl.typ], Whence: unix.SEEK_SET, Start: gl.start}
	if gl.end != math.MaxInt64 {
		lk.Len = gl.end - gl.start + 1
	}
	// The host is asked on the guest's own descriptor for OFD locks (vemu's union of the
	// record locks conflicts there exactly when the table does); for record locks, on
	// vemu's descriptor that holds the union, whose own locks the host does not report,
	// or on a fresh one when there is no union.
	hfd := f.fd
	rl.mu.Lock()
	if lf := rl.files[id]; lf != nil {
		if o, ok := conflict(lf.locks, l); ok {
			rl.mu.Unlock()
			return o, true, nil
		}
		if !ofd && lf.hostFd >= 0 {
			// Duplicated, so that the answer can be read after the table is let go.
			if fd, err := unix.FcntlInt(uintptr(lf.hostFd), unix.F_DUPFD_CLOEXEC, 3); err == nil {
				defer unix.Close(fd)
				hfd = fd
			}
		}
	}
	rl.mu.Unlock()
	if !ofd && hfd == f.fd {
		fd, err := unix.Open(hostFdPath(f.fd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
		if err != nil {
			return recLock{}, false, nil
		}
		defer unix.Close(fd)
		hfd = fd
	}
	if err := unix.FcntlFlock(uintptr(hfd), unix.F_OFD_GETLK, &lk); err != nil || lk.Type == unix.F_UNLCK {
		return recLock{}, false, nil
	}
	o := recLock{owner: int(lk.Pid), typ: lockRead, start: lk.Start, end: math.MaxInt64}
	if lk.Type == unix.F_WRLCK {
		o.typ = lockWrite
	}
	if lk.Len > 0 {
		o.end = lk.Start + lk.Len - 1
	}
	return o, true, nil
}

// fcntlLock implements fcntl's lock commands: record locks (F_GETLK, F_SETLK, F_SETLKW)
// in the kernel's table, OFD locks (F_OFD_*) on the host.
func (t *Task) fcntlLock(f *File, cmd int32, addr mm.Addr) (uint64, error) {
	// struct flock is the same on every 64-bit Linux: 32 bytes.
	var b [32]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	typ, whence := int16(binary.LittleEndian.Uint16(b[0:])), int16(binary.LittleEndian.Uint16(b[2:]))
	start, length := int64(binary.LittleEndian.Uint64(b[8:])), int64(binary.LittleEndian.Uint64(b[16:]))
	ofd := cmd == abi.F_OFD_GETLK || cmd == abi.F_OFD_SETLK || cmd == abi.F_OFD_SETLKW
	// Linux's order: F_GETLK wants a read or write lock, then the range, then an OFD
	// lock's l_pid of 0; F_OFD_GETLK takes F_UNLCK (nothing is in its way).
	var gl guestLock
	known := true
	switch typ {
	case abi.F_RDLCK:
		gl.typ = lockRead
	case abi.F_WRLCK:
		gl.typ = lockWrite
	case abi.F_UNLCK:
		gl.typ = lockNone
	default:
		known = false
	}
	if cmd == abi.F_GETLK && (!known || gl.typ == lockNone) {
		return 0, unix.EINVAL
	}
	var err error
	if gl.start, gl.end, err = lockRange(f, whence, start, length); err != nil {
		return 0, err
	}
	if ofd && binary.LittleEndian.Uint32(b[24:]) != 0 || !known {
		return 0, unix.EINVAL // l_pid must be 0 for OFD locks
	}
	if cmd == abi.F_GETLK || cmd == abi.F_OFD_GETLK {
		// An unlock is in no lock's way: as Linux's vfs_test_lock, F_UNLCK comes back.
		var o recLock
		var ok bool
		if gl.typ != lockNone {
			o, ok, err = t.getLock(f, gl, ofd)
		}
		if err != nil {
			return 0, err
		}
		if !ok {
			// As Linux: only l_type changes when nothing is in the way.
			binary.LittleEndian.PutUint16(b[0:], uint16(abi.F_UNLCK))
			return 0, t.p.mm.CopyOut(addr, b[:])
		}
		out := make([]byte, 32)
		binary.LittleEndian.PutUint16(out[0:], uint16([]int16{abi.F_UNLCK, abi.F_RDLCK, abi.F_WRLCK}[o.typ]))
		binary.LittleEndian.PutUint16(out[2:], abi.SEEK_SET)
		binary.LittleEndian.PutUint64(out[8:], uint64(o.start))
		if o.end != math.MaxInt64 {
			binary.LittleEndian.PutUint64(out[16:], uint64(o.end-o.start+1))
		}
		binary.LittleEndian.PutUint32(out[24:], uint32(int32(o.owner)))
		return 0, t.p.mm.CopyOut(addr, out)
	}
	// Setting a lock needs the file open for its kind of access, as on Linux.
	if gl.typ != lockNone {
		fl, err := f.kind().getfl(f)
		if err != nil {
			return 0, err
		}
		acc := fl & abi.O_ACCMODE
		if gl.typ == lockRead && acc == abi.O_WRONLY || gl.typ == lockWrite && acc == abi.O_RDONLY {
			return 0, unix.EBADF
		}
	}
	wait := cmd == abi.F_SETLKW || cmd == abi.F_OFD_SETLKW
	if !ofd {
		return t.posixLock(f, gl, wait)
	}
	lk := unix.Flock_t{Type: typ, Whence: unix.SEEK_SET, Start: gl.start}
	if gl.end != math.MaxInt64 {
		lk.Len = gl.end - gl.start + 1
	}
	if wait {
		// The waiting form waits off the run loop, interruptibly.
		return t.waitLock(f, func(fd int) error { l := lk; return unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &l) })
	}
	return 0, unix.FcntlFlock(uintptr(f.fd), unix.F_OFD_SETLK, &lk)
}

// fileDropped runs when one of p's descriptors stops naming f (close, dup2 over it, exec,
// exit): p's record locks on the file go, and a queue's notification registered by p,
// as on Linux.
func (p *Process) fileDropped(f *File) {
	p.k.locks.closed(p.pid, f.fd)
	p.k.dnotify.forget(f)
	if m, ok := f.ops.(*mqFile); ok {
		m.flush(p)
	}
}
