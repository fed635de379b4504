package kernel

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Leases (fcntl F_SETLEASE, F_GETLEASE) belong to an open file description. The host's
// own leases cannot serve the guest: every guest process lives in the one vemu process,
// whose descriptors the host would count as one opener. vemu keeps a table of its own of
// the open file descriptions of regular files among the guest processes of one run, keyed
// by the host file (device and inode): a read lease is granted while no description
// of the file is open for writing, a write lease while the holder's is the only one. An
// open that conflicts breaks the lease: the holder's owner gets SIGIO (or F_SETSIG's
// signal, si_code POLL_MSG, with si_fd), and the opener waits until the holder gives the
// lease up or downgrades it, or until lease-break-time (the host's
// /proc/sys/fs/lease-break-time) has passed, when the lease goes. Openers outside vemu
// are not seen.

// leaseKey is a host file.
type leaseKey struct {
	dev, ino uint64
}

// openDesc is an open file description of a regular file, shared by the File copies a
// fork makes.
type openDesc struct {
	key    leaseKey
	writes bool // opened for writing
	// uncounted is a memfd's, open for writing but not counted as a writer.
	uncounted bool
	copies    int  // Files that are this description
	typ       int  // the lease: lockNone, lockRead or lockWrite
	breaking  bool // an open broke the lease: it must go down to breakTo
	breakTo   int
	deadline  time.Time // when a breaking lease goes by itself
	holder    *File     // the File the lease was set through, whose owner is signalled
}

// leasedFile is one file's open descriptions: all of them, how many write, and those
// holding a lease.
type leasedFile struct {
	descs   map[*openDesc]struct{}
	writers int
	held    map[*openDesc]struct{}
}

// leaseTable is the kernel's table of open descriptions of regular files.
type leaseTable struct {
	mu      sync.Mutex
	files   map[leaseKey]*leasedFile
	leases  int           // descriptions holding a lease
	changed chan struct{} // closed (and replaced) when a lease changes or goes
}

// changedLocked wakes the openers waiting for a lease to change. Called with mu held.
func (lt *leaseTable) changedLocked() {
	if lt.changed != nil {
		close(lt.changed)
		lt.changed = nil
	}
}

// setTyp changes d's lease. Called with mu held.
func (lt *leaseTable) setTyp(d *openDesc, typ int) {
	if lf := lt.files[d.key]; lf != nil {
		if d.typ != lockNone {
			lt.leases--
			delete(lf.held, d)
		}
		if typ != lockNone {
			lt.leases++
			lf.held[d] = struct{}{}
		}
	}
	d.typ, d.breaking = typ, false
	if typ == lockNone {
		d.holder = nil
	}
	lt.changedLocked()
}

// any says whether some description holds a lease, so that opens need to look.
func (lt *leaseTable) any() bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.leases > 0
}

// register enters host descriptor fd, opened with guest flags, as a new description when
// it is a regular file.
func (lt *leaseTable) register(f *File, flags uint32) {
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || flags&abi.O_PATH != 0 {
		return
	}
	d := &openDesc{key: leaseKey{st.Dev, st.Ino}, writes: flags&abi.O_ACCMODE != abi.O_RDONLY, copies: 1}
	lt.mu.Lock()
	lt.add(d)
	lt.mu.Unlock()
	f.desc = d
}

// registerMemfd enters memfd f as a new description. Linux makes a memfd's file without
// counting it as a writer of its inode: it takes a read lease while no other open is for
// writing, never a write lease (EAGAIN).
func (lt *leaseTable) registerMemfd(f *File) {
	lt.register(f, abi.O_RDONLY)
	if f.desc != nil {
		f.desc.uncounted = true
	}
}

// add enters d in the table. Called with mu held.
func (lt *leaseTable) add(d *openDesc) {
	if lt.files == nil {
		lt.files = map[leaseKey]*leasedFile{}
	}
	lf := lt.files[d.key]
	if lf == nil {
		lf = &leasedFile{descs: map[*openDesc]struct{}{}, held: map[*openDesc]struct{}{}}
		lt.files[d.key] = lf
	}
	lf.descs[d] = struct{}{}
	if d.writes {
		lf.writers++
	}
}

// copied counts one more File of d (a fork's).
func (lt *leaseTable) copied(d *openDesc) {
	lt.mu.Lock()
	d.copies++
	lt.mu.Unlock()
}

// released drops one File of d; with the last, the description and its lease go.
func (lt *leaseTable) released(d *openDesc, f *File) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if d.holder == f {
		d.holder = nil // a fork's copy may still hold the lease, signalling nobody
	}
	if d.copies--; d.copies > 0 {
		return
	}
	if d.typ != lockNone {
		lt.setTyp(d, lockNone)
	}
	lf := lt.files[d.key]
	if lf == nil {
		return
	}
	delete(lf.descs, d)
	if d.writes {
		lf.writers--
	}
	if len(lf.descs) == 0 {
		delete(lt.files, d.key)
	}
}

// get answers F_GETLEASE: the lease, or what a breaking one must go down to.
func (lt *leaseTable) get(d *openDesc) int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.expireLocked(d.key, time.Now())
	if d.breaking {
		return d.breakTo
	}
	return d.typ
}

// set answers F_SETLEASE for d, set through f, as Linux's generic_setlease.
func (lt *leaseTable) set(d *openDesc, f *File, typ int) error {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lf := lt.files[d.key]
	if lf == nil {
		return unix.EINVAL
	}
	lt.expireLocked(d.key, time.Now())
	switch typ {
	case lockNone:
		if d.typ == lockNone {
			return unix.EAGAIN
		}
		lt.setTyp(d, lockNone)
		return nil
	case lockRead:
		// Another description holding a write lease would be open alone: d is the
		// only reader then, open for reading.
		if d.writes || lf.writers > 0 || d.breaking && d.breakTo == lockNone {
			return unix.EAGAIN
		}
	case lockWrite:
		if d.breaking || len(lf.descs) > 1 || d.uncounted {
			return unix.EAGAIN
		}
	}
	lt.setTyp(d, typ)
	d.holder = f
	return nil
}

// expireLocked takes away what breaking leases of key have passed their deadline, as
// Linux's time_out_leases. Called with mu held.
func (lt *leaseTable) expireLocked(key leaseKey, now time.Time) {
	lf := lt.files[key]
	if lf == nil {
		return
	}
	for o := range lf.held {
		if o.breaking && !now.Before(o.deadline) {
			lt.setTyp(o, o.breakTo)
		}
	}
}

// breakLeases breaks the leases of key that an open with guest flags conflicts with, and
// returns the earliest deadline among those still breaking and a channel closed at the
// next change; ok false: none conflicts.
func (k *Kernel) breakLeases(key leaseKey, flags uint32) (deadline time.Time, changed chan struct{}, ok bool) {
	lt := &k.leases
	writes := flags&abi.O_ACCMODE != abi.O_RDONLY || flags&abi.O_TRUNC != 0
	var sends []fown
	lt.mu.Lock()
	now := time.Now()
	lt.expireLocked(key, now)
	var held map[*openDesc]struct{}
	if lf := lt.files[key]; lf != nil {
		held = lf.held
	}
	for o := range held {
		if o.typ == lockRead && !writes {
			continue
		}
		to := lockNone
		if o.typ == lockWrite && !writes {
			to = lockRead
		}
		if !o.breaking {
			o.breaking, o.breakTo = true, to
			o.deadline = now.Add(leaseBreakTime())
			if o.holder != nil {
				asyncMu.Lock()
				if o.holder.own != nil {
					sends = append(sends, *o.holder.own)
				}
				asyncMu.Unlock()
			}
		} else if to < o.breakTo {
			o.breakTo = to
		}
		if !ok || o.deadline.Before(deadline) {
			deadline = o.deadline
		}
		ok = true
	}
	if ok {
		if lt.changed == nil {
			lt.changed = make(chan struct{})
		}
		changed = lt.changed
	}
	lt.mu.Unlock()
	for _, o := range sends {
		k.sendSigio(o, abi.POLL_MSG)
	}
	return deadline, changed, ok
}

// leaseBreakTime is the host's /proc/sys/fs/lease-break-time, 45 s when unreadable.
func leaseBreakTime() time.Duration {
	b, err := os.ReadFile("/proc/sys/fs/lease-break-time")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 45 * time.Second
}

// fcntlLease answers F_SETLEASE and F_GETLEASE on f, guest descriptor fd.
func (t *Task) fcntlLease(f *File, fd, cmd, arg int32) (uint64, error) {
	d := f.desc
	lt := &t.p.k.leases
	if cmd == abi.F_GETLEASE {
		if d == nil {
			return abi.F_UNLCK, nil // as Linux's, whatever the file: it has no lease
		}
		return uint64(leaseFlock(lt.get(d))), nil
	}
	var typ int
	switch arg {
	case abi.F_RDLCK:
		typ = lockRead
	case abi.F_WRLCK:
		typ = lockWrite
	case abi.F_UNLCK:
		typ = lockNone
	default:
		return 0, unix.EINVAL
	}
	// As Linux's vfs_setlease: the owner check comes before the kind of file.
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, err
	}
	if st.Uid != t.p.creds.fsuid && !t.p.creds.capable(capLease) {
		return 0, unix.EACCES
	}
	if d == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFREG && typ == lockNone {
			return 0, nil // a regular file vemu does not lease (a memfd): none to remove
		}
		return 0, unix.EINVAL // not a regular file
	}
	if err := lt.set(d, f, typ); err != nil {
		return 0, err
	}
	if typ != lockNone {
		// As Linux's lease_setup: the setter's process becomes the file's owner.
		asyncMu.Lock()
		o := f.owner()
		o.kind, o.id, o.fd = fOwnerPid, int32(t.p.pid), fd
		o.uid, o.euid = t.p.creds.ruid, t.p.creds.euid
		o.k = t.p.k
		asyncMu.Unlock()
	}
	return 0, nil
}

// leaseFlock is a lease as fcntl's F_RDLCK, F_WRLCK or F_UNLCK.
func leaseFlock(typ int) int {
	switch typ {
	case lockRead:
		return abi.F_RDLCK
	case lockWrite:
		return abi.F_WRLCK
	}
	return abi.F_UNLCK
}

// waitLeases breaks the leases host descriptor hfd's file has that an open with guest
// flags conflicts with, and waits for them off the run loop: then (called back on the
// run loop) finishes the open. O_NONBLOCK answers EWOULDBLOCK at once, the break
// started; a signal interrupts the wait (restarting under SA_RESTART).
func (t *Task) waitLeases(hfd int, flags uint32, then func() (uint64, error)) (uint64, error) {
	var st unix.Stat_t
	if unix.Fstat(hfd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return then()
	}
	key := leaseKey{st.Dev, st.Ino}
	k := t.p.k
	_, _, ok := k.breakLeases(key, flags)
	if !ok {
		return then()
	}
	if flags&abi.O_NONBLOCK != 0 {
		unix.Close(hfd)
		return 0, unix.EWOULDBLOCK
	}
	return t.blockIntr(intrRestart, func(c *cancel) (uint64, error) {
		for {
			deadline, changed, ok := k.breakLeases(key, flags)
			if !ok {
				return 0, nil
			}
			timer := time.NewTimer(time.Until(deadline))
			select {
			case <-changed:
			case <-timer.C:
			case <-c.ch:
				timer.Stop()
				unix.Close(hfd)
				return 0, errInterrupted
			}
			timer.Stop()
		}
	}, func(_ uint64, err error) (uint64, error) {
		if err != nil {
			unix.Close(hfd)
			return 0, err
		}
		return then()
	})
}
