package kernel

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// A thread's /proc syscall and stack, whose text is made when they are read, as
// Linux's seq files make theirs: the reading call itself shows in the reader's own
// syscall, and stack's permission is checked at the read.

// noteCallRegs keeps the stack pointer and pc of the call t, on the CPU, is about to
// wait in (the engine has its registers, rip past the syscall instruction).
func (t *Task) noteCallRegs() {
	if t != t.p.cur {
		return
	}
	var v [2]uint64
	if t.cpu.Regs([]emu.Reg{emu.RSP, emu.RIP}, v[:]) == nil {
		t.callSP, t.callPC = v[0], v[1]
	}
}

// callLine prints a call as Linux's proc_pid_syscall() does: its number, six arguments,
// stack pointer and pc.
func callLine(nr int64, a Args, sp, pc uint64) []byte {
	return []byte(fmt.Sprintf("%d 0x%x 0x%x 0x%x 0x%x 0x%x 0x%x 0x%x 0x%x\n", nr, a[0], a[1], a[2], a[3], a[4], a[5], sp, pc))
}

// syscallRunning is the text for a thread that may run: Linux cannot look at its call.
var syscallRunning = []byte("running\n")

// syscallText is t's /proc syscall as reader sees it, on t's process's loop (reader nil:
// a reader in another process, whose loop is not t's): the reader's own call, a waiting
// thread's call, "-1 sp pc" for one stopped outside a call, and "running" for one that
// may run. Inside reader's system call, no other thread's registers can be looked at.
func (t *Task) syscallText(reader *Task) []byte {
	p := t.p
	switch {
	case t == reader:
		ids := []emu.Reg{emu.RAX, emu.RDI, emu.RSI, emu.RDX, emu.R10, emu.R8, emu.R9, emu.RSP, emu.RIP}
		v := make([]uint64, len(ids))
		if t.cpu.Regs(ids, v) != nil {
			return syscallRunning
		}
		// Inside the system call's hook rip is still at its syscall instruction.
		return callLine(int64(v[0]), Args(v[1:7]), v[7], v[8]+2)
	case t.state == taskDead:
		return []byte("-1 0x0 0x0\n")
	case t.state == taskBlocked && t.blocked != nil:
		nr := int64(t.blocked.nr)
		if t.blocked.i386 != 0 {
			nr = int64(t.blocked.i386 - 1)
		}
		return callLine(nr, t.blocked.args, t.callSP, t.callPC)
	case reader == nil && t.ctx != nil && (p.stopped || t.ptParked != nil):
		var v [2]uint64
		err := p.onThreadRegs(t, false, func(cpu *emu.Engine) error {
			return cpu.Regs([]emu.Reg{emu.RSP, emu.RIP}, v[:])
		})
		if err == nil {
			return []byte(fmt.Sprintf("-1 0x%x 0x%x\n", v[0], v[1]))
		}
	}
	return syscallRunning
}

// procLive is /proc's syscall or stack of a thread, made at each read from offset 0 or
// from anywhere but where the last read ended, as seq_read() makes its text again.
type procLive struct {
	hostFile
	name string
	p    *Process // whose thread it is
	tid  int
	// remote: p is another process than the reader's, reached on its loop.
	remote bool
	// admin: the opener had CAP_SYS_ADMIN, which stack asks of the file's opener.
	admin bool
	text  []byte
	pos   int64
	end   int64 // where the last read ended
}

func (lv *procLive) io(t *Task, f *File, r ioReq) (uint64, error) {
	off, err := readOnlyAt(f, r, lv.pos)
	if err != nil {
		return 0, err
	}
	if r.positional && !r.vector && min(r.a[2], maxIO) > math.MaxInt64-uint64(off) {
		return 0, unix.EINVAL // as Linux's rw_verify_area()
	}
	if lv.text != nil && off != 0 && off == lv.end {
		return lv.deliver(t, r, off)
	}
	if lv.name == "stack" && !lv.admin {
		return 0, unix.EACCES // as Linux's proc_pid_stack(): for root alone
	}
	if !lv.remote {
		th := lv.p.thread(lv.tid)
		if th == nil {
			return 0, unix.ESRCH
		}
		lv.text = lv.render(th, t)
		return lv.deliver(t, r, off)
	}
	q := lv.p
	if gone, zombie := q.reaped(); gone {
		return 0, unix.ESRCH
	} else if zombie {
		if !t.mayRead(q) {
			return 0, unix.EPERM
		}
		lv.text = lv.render(nil, nil)
		return lv.deliver(t, r, off)
	}
	if !t.mayRead(q) {
		return 0, unix.EPERM // as Linux's lock_trace()
	}
	var text []byte
	return t.blockThen(func() (uint64, error) {
		text, err = lv.renderOnLoop(q)
		return 0, nil
	}, func(uint64, error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		lv.text = text
		return lv.deliver(t, r, off)
	})
}

// render makes the text for thread th (nil: a zombie's) read by reader (nil: from
// another process).
func (lv *procLive) render(th, reader *Task) []byte {
	if lv.name == "stack" {
		return []byte{} // no kernel stack to show: as Linux's for a thread it cannot unwind
	}
	if th == nil {
		return []byte("-1 0x0 0x0\n") // a zombie has no stack left, and no call
	}
	return th.syscallText(reader)
}

// renderOnLoop makes the text of another process's thread on its loop, off the
// caller's. A loop that does not answer within loopPatience runs guest code: its threads
// are running (and at once in repeatable runs, as for the other files of another
// process's). ESRCH once the thread or the process is gone.
func (lv *procLive) renderOnLoop(q *Process) ([]byte, error) {
	type answer struct {
		b    []byte
		gone bool
	}
	got := make(chan answer, 1)
	if !q.k.repeatable() {
		q.send(wakeup{fn: func() {
			th := q.thread(lv.tid)
			if q.exit != nil || th == nil {
				got <- answer{gone: true}
				return
			}
			got <- answer{b: lv.render(th, nil)}
		}})
	}
	tm := time.NewTimer(loopPatience)
	defer tm.Stop()
	if q.k.repeatable() {
		tm.Reset(0)
	}
	select {
	case a := <-got:
		if !a.gone {
			return a.b, nil
		}
	case <-q.done:
	case <-tm.C:
		if lv.name == "stack" {
			return []byte{}, nil
		}
		return syscallRunning, nil
	}
	if gone, zombie := q.reaped(); zombie && !gone {
		return lv.render(nil, nil), nil
	}
	return nil, unix.ESRCH
}

// deliver copies the text from off into the read's buffers.
func (lv *procLive) deliver(t *Task, r ioReq, off int64) (uint64, error) {
	bufs, err := r.bufs(t)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, b := range bufs {
		if off+n >= int64(len(lv.text)) {
			break
		}
		n += int64(copy(b, lv.text[off+n:]))
	}
	lv.end = off + n
	if !r.positional {
		lv.pos = off + n
	}
	return uint64(n), nil
}

func (lv *procLive) seek(f *File, off int64, whence int32) (uint64, error) {
	return seekListing(&lv.pos, off, whence)
}

func (lv *procLive) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	return 0, unix.ENOTDIR
}

// fork: the child's copy reads the same thread, of what is now another process.
func (lv *procLive) fork(f *File, child *Process) (*File, error) {
	nf, err := lv.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	c := *lv
	c.remote = lv.p != child
	nf.ops = &c
	return nf, nil
}

// reaped says whether q was reaped (its pid no longer names it), or is a zombie.
func (q *Process) reaped() (gone, zombie bool) {
	k := q.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	return k.lookupLocked(q.pid) != q, q.zombie
}

// liveProcName says whether name is one of the files of a thread made at each read.
func liveProcName(name string) bool {
	switch name {
	case "pagemap", "syscall", "stack":
		return true
	}
	return false
}

// ownProcOps is the kind of file of the caller's own process's entry name, of thread who.
// pagemap, syscall and stack are their owner's alone (mode 0400): once the process is not
// dumpable (it changed its ids, say), root's.
func (t *Task) ownProcOps(who *Task, name string) (fileOps, error) {
	if liveProcName(name) && !t.mayReadOwned(t.p.procOwner()) {
		return nil, unix.EACCES
	}
	switch name {
	case "pagemap":
		return newPagemap(t.p, false), nil
	case "syscall", "stack":
		return &procLive{name: name, p: t.p, tid: who.tid, admin: t.p.creds.capable(capSysAdmin)}, nil
	}
	return &procText{who: who, name: name}, nil
}

// mayReadOwned says whether the caller may read a file of mode 0400 that uid owns.
func (t *Task) mayReadOwned(uid uint32) bool {
	c := &t.p.creds
	return c.fsuid == uid || c.capable(unix.CAP_DAC_OVERRIDE) || c.capable(unix.CAP_DAC_READ_SEARCH)
}

// openPeerLive opens e, the pagemap, syscall or stack of another guest process's thread
// (p its path). As Linux: pagemap asks at open what ptrace's read check asks (mm_access;
// a zombie's has no memory to guard), syscall and stack are their owner's (mode 0400)
// and check the reader at each read.
func (t *Task) openPeerLive(e peerEntry, p string, flags uint32) (uint64, error) {
	q := e.q
	if !t.procTextWritable(nil, e.name, flags&abi.O_ACCMODE) {
		return 0, unix.EACCES
	}
	var ops fileOps
	switch e.name {
	case "pagemap":
		if gone, zombie := q.reaped(); gone {
			return 0, unix.ENOENT
		} else if !zombie && !t.mayRead(q) {
			return 0, unix.EACCES
		}
		ops = newPagemap(q, true)
	default:
		if !t.mayReadOwned(q.peerOwner()) {
			return 0, unix.EACCES
		}
		c := &t.p.creds
		tid := q.pid
		if _, id, ok := strings.Cut(e.dir, "/task/"); ok {
			tid, _ = strconv.Atoi(id)
		} else if n, err := strconv.Atoi(e.dir); err == nil {
			tid = n // /proc/TID of one of its threads
		}
		ops = &procLive{name: e.name, p: q, tid: tid, remote: true, admin: c.capable(capSysAdmin)}
	}
	hfd, err := memFile(e.name, nil, flags&abi.O_ACCMODE)
	if err != nil {
		return 0, err
	}
	return t.installFile(&File{fd: hfd, refs: 1, path: p, flags: flags, k: t.p.k, ops: ops}, flags)
}

// peerOwner is procOwner of another process q, from what q publishes.
func (q *Process) peerOwner() uint32 {
	if q.notDumpablePub.Load() {
		return 0
	}
	q.k.pt.mu.Lock()
	defer q.k.pt.mu.Unlock()
	return q.creds.euid
}
