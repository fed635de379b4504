package kernel

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// System V IPC within vemu: message queues, semaphore sets and shared memory segments
// are kernel-wide, shared by the guest processes of one vemu and by nothing else, with
// Linux's keys, ids, permissions, limits and IPC_RMID. One mutex guards them all; a
// blocked semop, msgsnd or msgrcv waits off its run loop for the object's change
// channel, closed and replaced at each change.

// ipcNote is what the table says of the System V IPC calls.
const ipcNote = "shared by the guest processes of one vemu, not with the host's; IPC_RMID of an attached segment frees its id at once"

// IPC command and flag values (ipc.h, shm.h, sem.h, msg.h).
const (
	ipcPrivate = 0
	ipcCreat   = 0o1000
	ipcExcl    = 0o2000
	ipcNowait  = 0o4000
	ipcRmid    = 0
	ipcSet     = 1
	ipcStat    = 2
	ipcInfo    = 3
	ipc64      = 0x100 // glibc's IPC_64 marker in cmd, ignored on x86-64

	shmRdonly  = 0o10000
	shmRnd     = 0o20000
	shmRemap   = 0o40000
	shmExec    = 0o100000
	shmLock    = 11
	shmUnlock  = 12
	shmStat    = 13
	shmInfo    = 14
	shmStatAny = 15
	shmDest    = 0o1000
	shmLocked  = 0o2000

	semGetpid  = 11
	semGetval  = 12
	semGetall  = 13
	semGetncnt = 14
	semGetzcnt = 15
	semSetval  = 16
	semSetall  = 17
	semStat    = 18
	semInfo    = 19
	semStatAny = 20
	semUndo    = 0x1000

	msgStat    = 11
	msgInfo    = 12
	msgStatAny = 13
	msgNoerror = 0o10000
	msgExcept  = 0o20000
	msgCopy    = 0o40000
)

// Linux's default limits.
const (
	ipcMni  = 32000   // SEMMNI, MSGMNI; SHMMNI is 4096
	shmMni  = 4096    // SHMMNI
	shmMax  = 1 << 40 // vemu's ceiling on one segment (Linux's SHMMAX is larger)
	shmAll  = 1 << 40 // pages (SHMALL)
	semMsl  = 32000   // SEMMSL
	semOpm  = 500     // SEMOPM
	semVmx  = 32767   // SEMVMX
	semMns  = 1 << 30 // SEMMNS
	msgMax  = 8192    // MSGMAX
	msgMnb  = 16384   // MSGMNB
	ipcSeqM = 32768   // ids are index + seq * 32768
	capIpcO = 15      // CAP_IPC_OWNER
	capIpcL = 14      // CAP_IPC_LOCK
	capRes  = 24      // CAP_SYS_RESOURCE
	permSz  = 48      // struct ipc64_perm
)

// ipcPerm is struct ipc64_perm, kept.
type ipcPerm struct {
	key                  int32
	uid, gid, cuid, cgid uint32
	mode                 uint32
	seq                  uint16
}

func (p *ipcPerm) marshal(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(p.key))
	le.PutUint32(b[4:], p.uid)
	le.PutUint32(b[8:], p.gid)
	le.PutUint32(b[12:], p.cuid)
	le.PutUint32(b[16:], p.cgid)
	le.PutUint32(b[20:], p.mode)
	le.PutUint16(b[24:], p.seq)
}

// access checks want (4 read, 2 write) against the mode for the caller, as ipcperms().
func (p *ipcPerm) access(c *creds, want uint32) error {
	granted := p.mode
	switch {
	case c.euid == p.cuid || c.euid == p.uid:
		granted >>= 6
	case c.inGroup(p.cgid) || c.inGroup(p.gid):
		granted >>= 3
	}
	if want&^granted&7 != 0 && !c.capable(capIpcO) {
		return unix.EACCES
	}
	return nil
}

// owner checks the right to IPC_SET and IPC_RMID: the owner, the creator, or
// CAP_SYS_ADMIN.
func (p *ipcPerm) owner(c *creds) error {
	if c.euid == p.uid || c.euid == p.cuid || c.capable(capSysAdmin) {
		return nil
	}
	return unix.EPERM
}

// setFrom applies IPC_SET's uid, gid and mode from a guest ipc64_perm.
func (p *ipcPerm) setFrom(b []byte) {
	le := binary.LittleEndian
	p.uid, p.gid = le.Uint32(b[4:]), le.Uint32(b[8:])
	p.mode = p.mode&^0o777 | le.Uint32(b[20:])&0o777
}

func (c *creds) inGroup(g uint32) bool {
	if c.egid == g {
		return true
	}
	for _, x := range c.groups {
		if x == g {
			return true
		}
	}
	return false
}

// ipcObject is what the three kinds share.
type ipcObject interface {
	perm() *ipcPerm
}

// ipcSpace is one kind's table: ids by index, keys to indexes.
type ipcSpace struct {
	objs []ipcObject // by index; nil is free
	seqs []uint16
	max  int
}

func (s *ipcSpace) add(o ipcObject, key int32, c *creds, mode uint32) (int, error) {
	i := 0
	for i < len(s.objs) && s.objs[i] != nil {
		i++
	}
	if i >= s.max {
		return 0, unix.ENOSPC
	}
	if i == len(s.objs) {
		s.objs, s.seqs = append(s.objs, nil), append(s.seqs, 0)
	}
	s.objs[i] = o
	p := o.perm()
	*p = ipcPerm{key: key, uid: c.euid, gid: c.egid, cuid: c.euid, cgid: c.egid, mode: mode & 0o777, seq: s.seqs[i]}
	return i + int(s.seqs[i])*ipcSeqM, nil
}

func (s *ipcSpace) byKey(key int32) (ipcObject, int) {
	for i, o := range s.objs {
		if o != nil && o.perm().key == key {
			return o, i + int(s.seqs[i])*ipcSeqM
		}
	}
	return nil, 0
}

// byID finds id; a wrong sequence or a free slot is EINVAL, as Linux answers.
func (s *ipcSpace) byID(id int32) (ipcObject, error) {
	if id < 0 {
		return nil, unix.EINVAL
	}
	i, seq := int(id)%ipcSeqM, int(id)/ipcSeqM
	if i >= len(s.objs) || s.objs[i] == nil || int(s.seqs[i]) != seq {
		return nil, unix.EINVAL
	}
	return s.objs[i], nil
}

// byIndex is for the *_STAT commands, which take an index.
func (s *ipcSpace) byIndex(i int32) (ipcObject, int, error) {
	if i < 0 || int(i) >= len(s.objs) || s.objs[i] == nil {
		return nil, 0, unix.EINVAL
	}
	return s.objs[i], int(i) + int(s.seqs[i])*ipcSeqM, nil
}

func (s *ipcSpace) remove(id int) {
	i := id % ipcSeqM
	s.objs[i] = nil
	s.seqs[i]++
	if s.seqs[i] >= 0x8000/1 {
		s.seqs[i] = 0
	}
}

func (s *ipcSpace) highest() int {
	h := 0
	for i, o := range s.objs {
		if o != nil {
			h = i
		}
	}
	return h
}

func (s *ipcSpace) count() int {
	n := 0
	for _, o := range s.objs {
		if o != nil {
			n++
		}
	}
	return n
}

// sysvIPC is the kernel's System V IPC namespace.
type sysvIPC struct {
	mu   sync.Mutex
	shm  ipcSpace
	sem  ipcSpace
	msg  ipcSpace
	undo map[*Process]map[int]map[uint16]int // SEM_UNDO adjustments by process, set id, semaphore
}

func (k *Kernel) ipc() *sysvIPC {
	k.ipcOnce.Do(func() {
		k.sysv = &sysvIPC{shm: ipcSpace{max: shmMni}, sem: ipcSpace{max: ipcMni}, msg: ipcSpace{max: ipcMni},
			undo: map[*Process]map[int]map[uint16]int{}}
	})
	return k.sysv
}

// get is the *get calls' common part: find or create the object for key.
func (t *Task) ipcGet(s *ipcSpace, key int32, flg int32, create func() (ipcObject, error), check func(o ipcObject) error) (uint64, error) {
	c := &t.p.creds
	if key != ipcPrivate {
		if o, id := s.byKey(key); o != nil {
			if flg&ipcCreat != 0 && flg&ipcExcl != 0 {
				return 0, unix.EEXIST
			}
			if err := check(o); err != nil {
				return 0, err
			}
			if err := o.perm().access(c, uint32(flg)>>6&7|uint32(flg)>>3&7|uint32(flg)&7); err != nil {
				return 0, err
			}
			return uint64(id), nil
		}
		if flg&ipcCreat == 0 {
			return 0, unix.ENOENT
		}
	}
	o, err := create()
	if err != nil {
		return 0, err
	}
	id, err := s.add(o, key, c, uint32(flg))
	return uint64(id), err
}

func nowSec() int64 { return time.Now().Unix() }

// ---- shared memory ----

type shmSeg struct {
	p                   ipcPerm
	size                uint64
	fd                  int // host memfd
	nattch              int
	atime, dtime, ctime int64
	cpid, lpid          int
	dest, locked        bool
	id                  int
}

func (s *shmSeg) perm() *ipcPerm { return &s.p }

// shmAttach is one shmat of a process.
type shmAttach struct {
	seg  *shmSeg
	size uint64
}

func (s *shmSeg) release(ipc *sysvIPC) {
	if s.dest && s.nattch == 0 && s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

// sysShmget implements shmget(2).
func sysShmget(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	size := a[1]
	return t.ipcGet(&ipc.shm, a.Int(0), a.Int(2), func() (ipcObject, error) {
		if size < 1 || size > shmMax {
			return nil, unix.EINVAL
		}
		if ipc.shm.count() >= shmMni {
			return nil, unix.ENOSPC
		}
		fd, err := unix.MemfdCreate("SYSV", unix.MFD_CLOEXEC)
		if err != nil {
			return nil, unix.ENOMEM
		}
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			unix.Close(fd)
			return nil, unix.ENOMEM
		}
		return &shmSeg{size: size, fd: fd, ctime: nowSec(), cpid: t.p.pid}, nil
	}, func(o ipcObject) error {
		if size > o.(*shmSeg).size {
			return unix.EINVAL
		}
		return nil
	})
}

// sysShmat implements shmat(2): the segment's memfd mapped shared.
func sysShmat(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	o, err := ipc.shm.byID(a.Int(0))
	if err != nil {
		return 0, err
	}
	seg := o.(*shmSeg)
	flg := a.Int(2)
	want := uint32(4)
	prot := unix.PROT_READ
	if flg&shmRdonly == 0 {
		want |= 2
		prot |= unix.PROT_WRITE
	}
	if flg&shmExec != 0 {
		prot |= unix.PROT_EXEC
	}
	if err := seg.p.access(&t.p.creds, want); err != nil {
		return 0, err
	}
	s := t.p.mm
	size, _ := mm.PageUp(seg.size)
	addr := mm.Addr(a[1])
	var start mm.Addr
	if addr != 0 {
		if addr%mm.PageSize != 0 {
			if flg&shmRnd == 0 {
				return 0, unix.EINVAL
			}
			addr = addr.PageDown()
		}
		end, ok := addr.RangeEnd(size)
		if !ok || addr < mm.MinAddr {
			return 0, unix.EINVAL
		}
		if !s.Free(addr, end) {
			if flg&shmRemap == 0 {
				return 0, unix.EINVAL
			}
			if s.Sealed(addr, end) {
				return 0, unix.EPERM
			}
			if err := s.Unmap(addr, size); err != nil {
				return 0, err
			}
		}
		start = addr
	} else {
		if flg&shmRemap != 0 {
			return 0, unix.EINVAL
		}
		if start, err = s.FindFree(size, s.MmapBase); err != nil {
			return 0, unix.ENOMEM
		}
	}
	v, err := s.MapShared(start, size, cpuProt(uint32(prot)), seg.fd, 0, true, fmt.Sprintf("/SYSV%08x (deleted)", uint32(seg.p.key)))
	if err != nil {
		return 0, unix.ENOMEM
	}
	v.Shared = true
	t.shareMemoryLater() // other processes may attach the segment (sharedcpu.go)
	var st unix.Stat_t
	if unix.Fstat(seg.fd, &st) == nil {
		v.Dev, v.Ino = uint64(st.Dev), uint64(st.Ino) // a shared futex in it is keyed so
	}
	if t.p.shm == nil {
		t.p.shm = map[mm.Addr]shmAttach{}
	}
	t.p.shm[start] = shmAttach{seg: seg, size: size}
	seg.nattch++
	seg.atime, seg.lpid = nowSec(), t.p.pid
	return uint64(start), nil
}

// sysShmdt implements shmdt(2).
func sysShmdt(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	at, ok := t.p.shm[a.Ptr(0)]
	if !ok {
		return 0, unix.EINVAL
	}
	delete(t.p.shm, a.Ptr(0))
	t.p.mm.Unmap(a.Ptr(0), at.size)
	at.seg.nattch--
	at.seg.dtime, at.seg.lpid = nowSec(), t.p.pid
	at.seg.release(ipc)
	return 0, nil
}

// shmForked counts a child's inherited attachments.
func (p *Process) shmForked(parent *Process) {
	if len(parent.shm) == 0 {
		return
	}
	ipc := p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	p.shm = map[mm.Addr]shmAttach{}
	for a, at := range parent.shm {
		p.shm[a] = at
		at.seg.nattch++
	}
}

// shmDetachAll drops the process's attachments, at exit and exec.
func (p *Process) shmDetachAll() {
	if len(p.shm) == 0 {
		return
	}
	ipc := p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	for _, at := range p.shm {
		at.seg.nattch--
		at.seg.dtime = nowSec()
		at.seg.release(ipc)
	}
	p.shm = nil
}

// sysShmctl implements shmctl(2).
func sysShmctl(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	cmd, c := a.Int(1)&^ipc64, &t.p.creds
	switch cmd {
	case ipcInfo, shmInfo:
		b := make([]byte, 72)
		le := binary.LittleEndian
		if cmd == ipcInfo {
			for i, v := range []uint64{shmMax, 1, shmMni, shmMni, shmAll} {
				le.PutUint64(b[8*i:], v)
			}
		} else {
			var pages uint64
			for _, o := range ipc.shm.objs {
				if o != nil {
					n, _ := mm.PageUp(o.(*shmSeg).size)
					pages += n / mm.PageSize
				}
			}
			le.PutUint32(b[0:], uint32(ipc.shm.count()))
			le.PutUint64(b[8:], pages)
			le.PutUint64(b[16:], pages)
		}
		return uint64(ipc.shm.highest()), t.p.mm.CopyOut(a.Ptr(2), b)
	case ipcStat, shmStat, shmStatAny:
		var o ipcObject
		var id int
		var err error
		if cmd == ipcStat {
			o, err = ipc.shm.byID(a.Int(0))
			id = 0
		} else {
			o, id, err = ipc.shm.byIndex(a.Int(0))
		}
		if err != nil {
			return 0, err
		}
		seg := o.(*shmSeg)
		if cmd != shmStatAny {
			if err := seg.p.access(c, 4); err != nil {
				return 0, err
			}
		}
		b := make([]byte, 112)
		p := seg.p
		if seg.dest {
			p.mode |= shmDest
		}
		if seg.locked {
			p.mode |= shmLocked
		}
		p.marshal(b)
		le := binary.LittleEndian
		le.PutUint64(b[48:], seg.size)
		le.PutUint64(b[56:], uint64(seg.atime))
		le.PutUint64(b[64:], uint64(seg.dtime))
		le.PutUint64(b[72:], uint64(seg.ctime))
		le.PutUint32(b[80:], uint32(seg.cpid))
		le.PutUint32(b[84:], uint32(seg.lpid))
		le.PutUint64(b[88:], uint64(seg.nattch))
		return uint64(id), t.p.mm.CopyOut(a.Ptr(2), b)
	case ipcSet, ipcRmid, shmLock, shmUnlock:
		o, err := ipc.shm.byID(a.Int(0))
		if err != nil {
			return 0, err
		}
		seg := o.(*shmSeg)
		switch cmd {
		case ipcSet:
			b := make([]byte, permSz)
			if err := t.p.mm.CopyIn(a.Ptr(2), b); err != nil {
				return 0, err
			}
			if err := seg.p.owner(c); err != nil {
				return 0, err
			}
			seg.p.setFrom(b)
			seg.ctime = nowSec()
		case ipcRmid:
			if err := seg.p.owner(c); err != nil {
				return 0, err
			}
			seg.dest = true
			seg.p.key = ipcPrivate
			ipc.shm.remove(int(a.Int(0)))
			seg.release(ipc)
		case shmLock, shmUnlock:
			if !c.capable(capIpcL) {
				return 0, unix.EPERM
			}
			seg.locked = cmd == shmLock
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}

// ---- semaphores ----

type semSet struct {
	p            ipcPerm
	vals         []uint16
	pids         []int32
	ncnt, zcnt   []int
	otime, ctime int64
	removed      bool
	changed      chan struct{}
	id           int
}

func (s *semSet) perm() *ipcPerm { return &s.p }

func (s *semSet) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// sysSemget implements semget(2).
func sysSemget(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	n := a.Int(1)
	if n < 0 || n > semMsl {
		return 0, unix.EINVAL
	}
	var made *semSet
	id, err := t.ipcGet(&ipc.sem, a.Int(0), a.Int(2), func() (ipcObject, error) {
		if n == 0 {
			return nil, unix.EINVAL
		}
		made = &semSet{vals: make([]uint16, n), pids: make([]int32, n), ncnt: make([]int, n), zcnt: make([]int, n),
			ctime: nowSec(), changed: make(chan struct{})}
		return made, nil
	}, func(o ipcObject) error {
		if int(n) > len(o.(*semSet).vals) {
			return unix.EINVAL
		}
		return nil
	})
	if made != nil && err == nil {
		made.id = int(id)
	}
	return id, err
}

type sembuf struct {
	num      uint16
	op, flag int16
}

// sysSemop implements semop(2).
func sysSemop(t *Task, a Args) (uint64, error) { return t.semop(a, 0) }

// sysSemtimedop implements semtimedop(2).
func sysSemtimedop(t *Task, a Args) (uint64, error) { return t.semop(a, a.Ptr(3)) }

func (t *Task) semop(a Args, timeout mm.Addr) (uint64, error) {
	n := a.Int(2)
	if n < 1 {
		return 0, unix.EINVAL
	}
	if n > semOpm {
		return 0, unix.E2BIG
	}
	raw := make([]byte, 6*int(n))
	if err := t.p.mm.CopyIn(a.Ptr(1), raw); err != nil {
		return 0, err
	}
	ops := make([]sembuf, n)
	alter := false
	for i := range ops {
		le := binary.LittleEndian
		ops[i] = sembuf{le.Uint16(raw[6*i:]), int16(le.Uint16(raw[6*i+2:])), int16(le.Uint16(raw[6*i+4:]))}
		alter = alter || ops[i].op != 0
	}
	var deadline time.Time
	if timeout != 0 {
		ts, err := t.getTimespec(timeout)
		if err != nil {
			return 0, err
		}
		deadline = time.Now().Add(time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec))
	}
	ipc := t.p.k.ipc()
	p, id, cr := t.p, a.Int(0), t.p.creds // the wait runs off the run loop: its own copy
	// try applies the operations at once if they all can go; it reports the index of
	// the operation that has to wait.
	try := func() (int, error) {
		o, err := ipc.sem.byID(id)
		if err != nil {
			return -1, err
		}
		s := o.(*semSet)
		for _, op := range ops {
			if int(op.num) >= len(s.vals) {
				return -1, unix.EFBIG
			}
		}
		want := uint32(4)
		if alter {
			want = 2
		}
		if err := s.p.access(&cr, want); err != nil {
			return -1, err
		}
		vals := append([]uint16(nil), s.vals...)
		for i, op := range ops {
			v := int(vals[op.num]) + int(op.op)
			switch {
			case op.op == 0 && vals[op.num] != 0, v < 0:
				if op.flag&ipcNowait != 0 {
					return -1, unix.EAGAIN
				}
				return i, nil
			case v > semVmx:
				return -1, unix.ERANGE
			}
			vals[op.num] = uint16(v)
		}
		copy(s.vals, vals)
		for _, op := range ops {
			s.pids[op.num] = int32(p.pid)
			if op.flag&semUndo != 0 && op.op != 0 {
				u := ipc.undo[p]
				if u == nil {
					u = map[int]map[uint16]int{}
					ipc.undo[p] = u
				}
				if u[int(id)] == nil {
					u[int(id)] = map[uint16]int{}
				}
				u[int(id)][op.num] -= int(op.op)
			}
		}
		s.otime = nowSec()
		s.notify()
		return -1, nil
	}
	ipc.mu.Lock()
	blockAt, err := try()
	var s *semSet
	var ch chan struct{}
	if blockAt >= 0 {
		o, _ := ipc.sem.byID(id)
		s = o.(*semSet)
		ch = s.changed
	}
	ipc.mu.Unlock()
	if blockAt < 0 {
		return 0, err
	}
	return t.blockIntr(intrNoHand, func(c *cancel) (uint64, error) {
		for {
			op := ops[blockAt]
			ipc.mu.Lock()
			if op.op == 0 {
				s.zcnt[op.num]++
			} else {
				s.ncnt[op.num]++
			}
			ipc.mu.Unlock()
			var timer <-chan time.Time
			if !deadline.IsZero() {
				timer = time.After(time.Until(deadline))
			}
			var werr error
			select {
			case <-ch:
			case <-c.ch:
				werr = errInterrupted
			case <-timer:
				werr = unix.EAGAIN
			}
			ipc.mu.Lock()
			if op.op == 0 {
				s.zcnt[op.num]--
			} else {
				s.ncnt[op.num]--
			}
			if werr != nil {
				ipc.mu.Unlock()
				return 0, werr
			}
			if s.removed {
				ipc.mu.Unlock()
				return 0, unix.EIDRM
			}
			blockAt, err = try()
			ch = s.changed
			ipc.mu.Unlock()
			if blockAt < 0 {
				return 0, err
			}
		}
	}, nil)
}

// semExit applies the process's SEM_UNDO adjustments, at exit.
func (p *Process) semExit() {
	ipc := p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	for id, adj := range ipc.undo[p] {
		o, err := ipc.sem.byID(int32(id))
		if err != nil {
			continue
		}
		s := o.(*semSet)
		for num, d := range adj {
			if int(num) < len(s.vals) {
				s.vals[num] = uint16(min(max(int(s.vals[num])+d, 0), semVmx))
				s.pids[num] = int32(p.pid)
			}
		}
		s.notify()
	}
	delete(ipc.undo, p)
}

// sysSemctl implements semctl(2); the fourth argument is union semun, passed by value.
func sysSemctl(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	cmd, c, le := a.Int(2)&^ipc64, &t.p.creds, binary.LittleEndian
	switch cmd {
	case ipcInfo, semInfo:
		b := make([]byte, 40)
		for i, v := range []uint32{ipcMni, ipcMni, semMns, semMns, semMsl, semOpm, semOpm, 0, semVmx, semVmx} {
			le.PutUint32(b[4*i:], v)
		}
		if cmd == semInfo {
			used := 0
			for _, o := range ipc.sem.objs {
				if o != nil {
					used += len(o.(*semSet).vals)
				}
			}
			le.PutUint32(b[28:], uint32(ipc.sem.count()))
			le.PutUint32(b[36:], uint32(used))
		}
		return uint64(ipc.sem.highest()), t.p.mm.CopyOut(a.Ptr(3), b)
	case semStat, semStatAny:
		o, id, err := ipc.sem.byIndex(a.Int(0))
		if err != nil {
			return 0, err
		}
		return uint64(id), t.semStat(o.(*semSet), cmd == semStat, a.Ptr(3))
	}
	o, err := ipc.sem.byID(a.Int(0))
	if err != nil {
		return 0, err
	}
	s := o.(*semSet)
	num := a.Int(1)
	single := func() error {
		if num < 0 || int(num) >= len(s.vals) {
			return unix.EINVAL
		}
		return s.p.access(c, 4)
	}
	switch cmd {
	case ipcStat:
		return 0, t.semStat(s, true, a.Ptr(3))
	case ipcSet:
		b := make([]byte, permSz)
		if err := t.p.mm.CopyIn(a.Ptr(3), b); err != nil {
			return 0, err
		}
		if err := s.p.owner(c); err != nil {
			return 0, err
		}
		s.p.setFrom(b)
		s.ctime = nowSec()
		return 0, nil
	case ipcRmid:
		if err := s.p.owner(c); err != nil {
			return 0, err
		}
		s.removed = true
		ipc.sem.remove(int(a.Int(0)))
		s.notify()
		return 0, nil
	case semGetval, semGetpid, semGetncnt, semGetzcnt:
		if err := single(); err != nil {
			return 0, err
		}
		switch cmd {
		case semGetval:
			return uint64(s.vals[num]), nil
		case semGetpid:
			return uint64(s.pids[num]), nil
		case semGetncnt:
			return uint64(s.ncnt[num]), nil
		}
		return uint64(s.zcnt[num]), nil
	case semGetall:
		if err := s.p.access(c, 4); err != nil {
			return 0, err
		}
		b := make([]byte, 2*len(s.vals))
		for i, v := range s.vals {
			le.PutUint16(b[2*i:], v)
		}
		return 0, t.p.mm.CopyOut(a.Ptr(3), b)
	case semSetval, semSetall:
		var vals []uint16
		if cmd == semSetval {
			if num < 0 || int(num) >= len(s.vals) {
				return 0, unix.EINVAL
			}
			v := int32(a[3])
			if v < 0 || v > semVmx {
				return 0, unix.ERANGE
			}
			vals = append([]uint16(nil), s.vals...)
			vals[num] = uint16(v)
		} else {
			b := make([]byte, 2*len(s.vals))
			if err := t.p.mm.CopyIn(a.Ptr(3), b); err != nil {
				return 0, err
			}
			vals = make([]uint16, len(s.vals))
			for i := range vals {
				if vals[i] = le.Uint16(b[2*i:]); vals[i] > semVmx {
					return 0, unix.ERANGE
				}
			}
		}
		if err := s.p.access(c, 2); err != nil {
			return 0, err
		}
		for i, v := range vals {
			if v != s.vals[i] || cmd == semSetall || int32(i) == num {
				s.pids[i] = int32(t.p.pid)
			}
		}
		copy(s.vals, vals)
		for _, u := range ipc.undo {
			if adj := u[int(a.Int(0))]; adj != nil {
				if cmd == semSetval {
					delete(adj, uint16(num))
				} else {
					clear(adj)
				}
			}
		}
		s.ctime = nowSec()
		s.notify()
		return 0, nil
	}
	return 0, unix.EINVAL
}

func (t *Task) semStat(s *semSet, check bool, addr mm.Addr) error {
	if check {
		if err := s.p.access(&t.p.creds, 4); err != nil {
			return err
		}
	}
	b := make([]byte, 104)
	s.p.marshal(b)
	le := binary.LittleEndian
	le.PutUint64(b[48:], uint64(s.otime))
	le.PutUint64(b[64:], uint64(s.ctime))
	le.PutUint64(b[80:], uint64(len(s.vals)))
	return t.p.mm.CopyOut(addr, b)
}

// ---- message queues ----

type sysvMsg struct {
	typ  int64
	data []byte
}

type msgQueue struct {
	p                   ipcPerm
	msgs                []sysvMsg
	cbytes, qbytes      uint64
	lspid, lrpid        int
	stime, rtime, ctime int64
	removed             bool
	changed             chan struct{}
}

func (q *msgQueue) perm() *ipcPerm { return &q.p }

func (q *msgQueue) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// sysMsgget implements msgget(2).
func sysMsgget(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	return t.ipcGet(&ipc.msg, a.Int(0), a.Int(1), func() (ipcObject, error) {
		return &msgQueue{qbytes: msgMnb, ctime: nowSec(), changed: make(chan struct{})}, nil
	}, func(ipcObject) error { return nil })
}

// sysMsgsnd implements msgsnd(2).
func sysMsgsnd(t *Task, a Args) (uint64, error) {
	size := a.Int64(2)
	if size < 0 || size > msgMax {
		return 0, unix.EINVAL
	}
	b := make([]byte, 8+size)
	if err := t.p.mm.CopyIn(a.Ptr(1), b); err != nil {
		return 0, err
	}
	typ := int64(binary.LittleEndian.Uint64(b))
	if typ < 1 {
		return 0, unix.EINVAL
	}
	m := sysvMsg{typ: typ, data: b[8:]}
	ipc, id, flg, p, cr := t.p.k.ipc(), a.Int(0), a.Int(3), t.p, t.p.creds
	try := func() (bool, chan struct{}, error) {
		o, err := ipc.msg.byID(id)
		if err != nil {
			if err == unix.EINVAL {
				return false, nil, unix.EIDRM
			}
			return false, nil, err
		}
		q := o.(*msgQueue)
		if err := q.p.access(&cr, 2); err != nil {
			return false, nil, err
		}
		if uint64(size)+q.cbytes > q.qbytes || uint64(len(q.msgs))+1 > q.qbytes {
			return false, q.changed, nil
		}
		q.msgs = append(q.msgs, m)
		q.cbytes += uint64(size)
		q.lspid, q.stime = p.pid, nowSec()
		q.notify()
		return true, nil, nil
	}
	ipc.mu.Lock()
	if _, err := ipc.msg.byID(id); err != nil {
		ipc.mu.Unlock()
		return 0, err
	}
	ok, ch, err := try()
	ipc.mu.Unlock()
	if ok || err != nil {
		return 0, err
	}
	if flg&ipcNowait != 0 {
		return 0, unix.EAGAIN
	}
	return t.waitMsgQueue(ipc, try, ch, nil)
}

// waitMsgQueue is how msgsnd and msgrcv wait: off the run loop, interruptibly, until
// try, run under ipc.mu, succeeds or fails; each failed try gives the channel its queue
// closes at its next change, and ch is the first one.
func (t *Task) waitMsgQueue(ipc *sysvIPC, try func() (bool, chan struct{}, error), ch chan struct{},
	done func(uint64, error) (uint64, error)) (uint64, error) {
	return t.blockIntr(intrNoHand, func(c *cancel) (uint64, error) {
		for {
			select {
			case <-ch:
			case <-c.ch:
				return 0, errInterrupted
			}
			ipc.mu.Lock()
			ok, next, err := try()
			ipc.mu.Unlock()
			if ok || err != nil {
				return 0, err
			}
			ch = next
		}
	}, done)
}

// sysMsgrcv implements msgrcv(2).
func sysMsgrcv(t *Task, a Args) (uint64, error) {
	size, typ, flg := a.Int64(2), a.Int64(3), a.Int(4)
	if size < 0 {
		return 0, unix.EINVAL
	}
	if flg&msgCopy != 0 && (flg&msgExcept != 0 || flg&ipcNowait == 0) {
		return 0, unix.EINVAL
	}
	ipc, id, p, cr := t.p.k.ipc(), a.Int(0), t.p, t.p.creds
	var got sysvMsg
	try := func() (bool, chan struct{}, error) {
		o, err := ipc.msg.byID(id)
		if err != nil {
			if err == unix.EINVAL {
				return false, nil, unix.EIDRM
			}
			return false, nil, err
		}
		q := o.(*msgQueue)
		if err := q.p.access(&cr, 4); err != nil {
			return false, nil, err
		}
		at := -1
		switch {
		case flg&msgCopy != 0:
			if typ >= 0 && typ < int64(len(q.msgs)) {
				at = int(typ)
			}
		case typ == 0:
			if len(q.msgs) > 0 {
				at = 0
			}
		case typ > 0:
			for i, m := range q.msgs {
				if (m.typ == typ) != (flg&msgExcept != 0) {
					at = i
					break
				}
			}
		default:
			for i, m := range q.msgs {
				if m.typ <= -typ && (at < 0 || m.typ < q.msgs[at].typ) {
					at = i
				}
			}
		}
		if at < 0 {
			return false, q.changed, nil
		}
		m := q.msgs[at]
		if int64(len(m.data)) > size && flg&msgNoerror == 0 {
			return false, nil, unix.E2BIG
		}
		got = m
		if flg&msgCopy == 0 {
			q.msgs = append(q.msgs[:at:at], q.msgs[at+1:]...)
			q.cbytes -= uint64(len(m.data))
			q.lrpid, q.rtime = p.pid, nowSec()
			q.notify()
		}
		return true, nil, nil
	}
	done := func(_ uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		n := min(int64(len(got.data)), size)
		out := binary.LittleEndian.AppendUint64(nil, uint64(got.typ))
		out = append(out, got.data[:n]...)
		return uint64(n), t.p.mm.CopyOut(a.Ptr(1), out)
	}
	ipc.mu.Lock()
	if _, err := ipc.msg.byID(id); err != nil {
		ipc.mu.Unlock()
		return 0, err
	}
	ok, ch, err := try()
	ipc.mu.Unlock()
	if ok || err != nil {
		return done(0, err)
	}
	if flg&ipcNowait != 0 {
		return 0, unix.ENOMSG
	}
	return t.waitMsgQueue(ipc, try, ch, done)
}

// sysMsgctl implements msgctl(2).
func sysMsgctl(t *Task, a Args) (uint64, error) {
	ipc := t.p.k.ipc()
	ipc.mu.Lock()
	defer ipc.mu.Unlock()
	cmd, c, le := a.Int(1)&^ipc64, &t.p.creds, binary.LittleEndian
	stat := func(q *msgQueue, check bool) error {
		if check {
			if err := q.p.access(c, 4); err != nil {
				return err
			}
		}
		b := make([]byte, 120)
		q.p.marshal(b)
		le.PutUint64(b[48:], uint64(q.stime))
		le.PutUint64(b[56:], uint64(q.rtime))
		le.PutUint64(b[64:], uint64(q.ctime))
		le.PutUint64(b[72:], q.cbytes)
		le.PutUint64(b[80:], uint64(len(q.msgs)))
		le.PutUint64(b[88:], q.qbytes)
		le.PutUint32(b[96:], uint32(q.lspid))
		le.PutUint32(b[100:], uint32(q.lrpid))
		return t.p.mm.CopyOut(a.Ptr(2), b)
	}
	switch cmd {
	case ipcInfo, msgInfo:
		b := make([]byte, 32)
		vals := []uint32{ipcMni * msgMnb / 1024, 16384, msgMax, msgMnb, ipcMni, 16, 16384}
		if cmd == msgInfo {
			var n, bytes uint64
			for _, o := range ipc.msg.objs {
				if o != nil {
					n += uint64(len(o.(*msgQueue).msgs))
					bytes += o.(*msgQueue).cbytes
				}
			}
			vals[0], vals[1], vals[6] = uint32(ipc.msg.count()), uint32(n), uint32(bytes)
		}
		for i, v := range vals {
			le.PutUint32(b[4*i:], v)
		}
		le.PutUint16(b[28:], 0xffff)
		return uint64(ipc.msg.highest()), t.p.mm.CopyOut(a.Ptr(2), b)
	case msgStat, msgStatAny:
		o, id, err := ipc.msg.byIndex(a.Int(0))
		if err != nil {
			return 0, err
		}
		return uint64(id), stat(o.(*msgQueue), cmd == msgStat)
	}
	o, err := ipc.msg.byID(a.Int(0))
	if err != nil {
		return 0, err
	}
	q := o.(*msgQueue)
	switch cmd {
	case ipcStat:
		return 0, stat(q, true)
	case ipcSet:
		b := make([]byte, 120)
		if err := t.p.mm.CopyIn(a.Ptr(2), b); err != nil {
			return 0, err
		}
		if err := q.p.owner(c); err != nil {
			return 0, err
		}
		qb := le.Uint64(b[88:])
		if qb > msgMnb && !c.capable(capRes) {
			return 0, unix.EPERM
		}
		q.p.setFrom(b)
		q.qbytes, q.ctime = qb, nowSec()
		q.notify()
		return 0, nil
	case ipcRmid:
		if err := q.p.owner(c); err != nil {
			return 0, err
		}
		q.removed = true
		ipc.msg.remove(int(a.Int(0)))
		q.notify()
		return 0, nil
	}
	return 0, unix.EINVAL
}
