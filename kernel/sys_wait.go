package kernel

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// waitSpec says which children a wait call takes, and how.
type waitSpec struct {
	match   func(c *Process) bool // the id selection; called with pt.mu held
	options uint32                // WNOHANG, WNOWAIT, WEXITED, __WCLONE, __WALL
	id      int                   // the one pid or tid asked for; 0: any the selection takes
}

// byID is the selection of a wait for one id: the child with that pid, or the traced
// process that has a thread with that id (each thread of a tracee is the tracer's to
// wait for, as on Linux). Called with pt.mu held.
func (p *Process) byID(id int) func(c *Process) bool {
	k := p.k
	return func(c *Process) bool {
		if c.pid == id {
			return true
		}
		l := c.ptrace
		if l == nil || l.tracer != p {
			return false
		}
		if k.pt.tids[id] == c {
			return true
		}
		for _, e := range l.threadExits {
			if e.tid == id {
				return true // an ended thread the tracer has yet to wait for
			}
		}
		return false
	}
}

// threadOnly says whether the wait asks for a thread of c other than its first: only
// that thread's stops and end are reported, not the process's.
func (w waitSpec) threadOnly(c *Process) bool { return w.id != 0 && w.id != c.pid }

// eligible says whether child c is one the wait is about, as Linux's eligible_child():
// without __WALL, __WCLONE selects the children whose exit signal is not SIGCHLD, and its
// absence the others.
func (w waitSpec) eligible(c *Process) bool {
	if w.options&abi.WALL == 0 && (c.exitSignal != abi.SIGCHLD) != (w.options&abi.WCLONE != 0) {
		return false
	}
	return w.match(c)
}

// waitEvent is what a wait reports of a child: its end, a stop or a continuation.
type waitEvent struct {
	c      *Process
	code   int32 // CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_TRAPPED or CLD_CONTINUED
	status int   // the exit code, or the signal (a ptrace stop's: signal | event<<8)
	tid    int   // the thread a ptrace stop is of; 0: the process
	used   usage // an ended child's use of resources, with its own children's
}

// id is the pid (or a traced thread's tid) that wait returns.
func (e *waitEvent) id() int {
	if e.tid != 0 {
		return e.tid
	}
	return e.c.pid
}

// findChild returns an eligible child that has something to report (an ended child is
// removed from the tree, and a stop or continuation counts as reported, unless WNOWAIT),
// whether any child is eligible at all, and a channel closed at the next change of a
// child after this look.
func (p *Process) findChild(w waitSpec) (*waitEvent, bool, <-chan struct{}) {
	k := p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	wake := p.childWake
	any := false
	keep := w.options&abi.WNOWAIT != 0
	for i, c := range p.children {
		if !w.eligible(c) {
			continue
		}
		any = true
		traced := c.ptrace != nil && c.ptrace.tracer == p
		if traced {
			if ev := p.traceEvent(c, w, keep); ev != nil {
				return ev, true, wake
			}
		}
		switch {
		case w.threadOnly(c):
		case c.reported && w.options&abi.WEXITED != 0:
			if !keep {
				p.children = append(p.children[:i], p.children[i+1:]...)
				delete(k.pt.procs, c.pid)
			}
			used := c.used
			used.add(c.childUsed)
			if !keep {
				p.childUsed.add(used) // as Linux's wait_task_zombie()
			}
			info := childInfo(c)
			return &waitEvent{c: c, code: info.Code, status: int(info.Status), used: used}, true, wake
		case c.zombie:
		case c.job.stopSig != 0 && w.options&abi.WSTOPPED != 0:
			ev := &waitEvent{c: c, code: abi.CLD_STOPPED, status: c.job.stopSig, used: c.liveUsageLocked(c.job.used)}
			if !keep {
				c.job.stopSig = 0
			}
			return ev, true, wake
		case c.job.continued && w.options&abi.WCONTINUED != 0:
			if !keep {
				c.job.continued = false
			}
			return &waitEvent{c: c, code: abi.CLD_CONTINUED, status: abi.SIGCONT, used: c.liveUsageLocked(c.job.used)}, true, wake
		}
	}
	// Tracees other than children: their ptrace stops and their end, whatever the
	// options ask of children (as Linux's ptrace_stop and exit notifications).
	for _, c := range p.tracees {
		l := c.ptrace
		if c.parent == p || l == nil || l.tracer != p || !w.match(c) {
			continue
		}
		any = true
		if ev := p.traceEvent(c, w, keep); ev != nil {
			return ev, true, wake
		}
		if l.exited && w.options&abi.WEXITED != 0 && !w.threadOnly(c) {
			if !keep {
				l.unlinkLocked()
			}
			return &waitEvent{c: c, code: l.exitInfo.Code, status: int(l.exitInfo.Status)}, true, wake
		}
	}
	return nil, any, wake
}

// traceEvent is what tracee c's threads have for their tracer p's wait w: a thread's
// end, or a thread's stop. Called with pt.mu held.
func (p *Process) traceEvent(c *Process, w waitSpec, keep bool) *waitEvent {
	if w.options&(abi.WALL|abi.WCLONE) != 0 {
		if ev := p.threadEnd(c, w, keep); ev != nil {
			return ev
		}
	}
	if c.zombie {
		return nil
	}
	return p.traceStop(c, w, keep)
}

// threadEnd reports the end of a thread of tracee c that w asks for (a wait for the
// process's id is not for its other threads). Called with pt.mu held.
func (p *Process) threadEnd(c *Process, w waitSpec, keep bool) *waitEvent {
	l := c.ptrace
	i := 0
	if w.id != 0 {
		for i < len(l.threadExits) && l.threadExits[i].tid != w.id {
			i++
		}
	}
	if i == len(l.threadExits) {
		return nil
	}
	e := l.threadExits[i]
	if !keep {
		if i == 0 {
			l.threadExits = l.threadExits[1:] // a wait for any takes the oldest: O(1)
		} else {
			l.threadExits = append(l.threadExits[:i:i], l.threadExits[i+1:]...)
		}
		if len(l.threadExits) == 0 && c.zombie && !l.exited {
			l.unlinkLocked() // the parent reports the process itself
		}
	}
	ev := &waitEvent{c: c, code: abi.CLD_EXITED, status: e.status >> 8 & 0xff, tid: e.tid}
	if e.status&0x7f != 0 {
		ev.code, ev.status = abi.CLD_KILLED, e.status&0x7f
	}
	return ev
}

// traceStop reports a ptrace stop of tracee c's that w asks for. Called with pt.mu held.
func (p *Process) traceStop(c *Process, w waitSpec, keep bool) *waitEvent {
	id, st, ok := c.ptrace.reportLocked(w.id, keep)
	if !ok {
		return nil
	}
	ev := &waitEvent{c: c, code: abi.CLD_TRAPPED, status: st.code, used: c.liveUsageLocked(st.used)}
	if id != c.pid {
		ev.tid = id
	}
	return ev
}

// liveUsageLocked is what a wait reports of live child c's use of resources: its own
// at the stop or continuation reported (its loop took it then), with its waited-for
// children's, as Linux's getrusage(RUSAGE_BOTH) of the child. Called with pt.mu held.
func (c *Process) liveUsageLocked(own usage) usage {
	own.add(c.childUsed)
	return own
}

// status is the event as wait4 encodes it.
func (e *waitEvent) waitStatus() int {
	switch e.code {
	case abi.CLD_STOPPED, abi.CLD_TRAPPED:
		return e.status<<8 | 0x7f
	case abi.CLD_CONTINUED:
		return 0xffff
	case abi.CLD_EXITED:
		return (e.status & 0xff) << 8
	case abi.CLD_DUMPED:
		return e.status&0x7f | 0x80
	}
	return e.status & 0x7f
}

// wait finds or waits for a child as w says and returns report's result for it; report
// gets nil for WNOHANG with no child ready.
func (t *Task) wait(w waitSpec, report func(e *waitEvent) (uint64, error)) (uint64, error) {
	p := t.p
	c, any, _ := p.findChild(w)
	if c != nil {
		return report(c)
	}
	if !any {
		return 0, unix.ECHILD
	}
	if w.options&abi.WNOHANG != 0 {
		return report(nil)
	}
	var got *waitEvent
	// Interrupted by a handled signal, wait restarts under SA_RESTART (ERESTARTSYS).
	return t.blockIntr(intrRestart, func(cn *cancel) (uint64, error) {
		for {
			c, any, wakeCh := p.findChild(w)
			if c != nil {
				got = c
				return 0, nil
			}
			if !any {
				return 0, unix.ECHILD
			}
			select {
			case <-wakeCh:
			case <-cn.ch:
				return 0, errInterrupted
			}
		}
	}, func(r uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		return report(got)
	})
}

// sysWait4 implements wait4(2): pid > 0 a child, -1 any, 0 the caller's process group,
// < -1 the group -pid.
func sysWait4(t *Task, a Args) (uint64, error) {
	pid, statusAddr, ruAddr := a.Int(0), a.Ptr(1), a.Ptr(3)
	options := a.Uint(2)
	if options&^uint32(abi.WNOHANG|abi.WUNTRACED|abi.WCONTINUED|abi.WALL|abi.WCLONE|abi.WNOTHREAD) != 0 {
		return 0, unix.EINVAL
	}
	if pid == -1<<31 {
		return 0, unix.ESRCH // -INT_MIN overflows, as Linux says
	}
	p := t.p
	pgid := 0
	switch {
	case pid == 0:
		pgid = p.groupID()
	case pid < -1:
		pgid = int(-pid)
	}
	w := waitSpec{options: options | abi.WEXITED, match: func(c *Process) bool {
		if pid == -1 {
			return true
		}
		return c.pgid == pgid
	}}
	if pid > 0 {
		w.match, w.id = p.byID(int(pid)), int(pid)
	}
	return t.wait(w, func(e *waitEvent) (uint64, error) {
		if e == nil {
			return 0, nil
		}
		if statusAddr != 0 {
			if err := p.mm.CopyOut(statusAddr, binary.LittleEndian.AppendUint32(nil, uint32(e.waitStatus()))); err != nil {
				return 0, err
			}
		}
		// A stopped or continued child's own use is not known here: zero, as an ended one's
		// is exact.
		if err := t.putRusage(ruAddr, e.used); err != nil {
			return 0, err
		}
		return uint64(e.id()), nil
	})
}

// sysWaitid implements waitid(2).
func sysWaitid(t *Task, a Args) (uint64, error) {
	idtype, id, infoAddr, ruAddr := a.Int(0), a.Int(1), a.Ptr(2), a.Ptr(4)
	options := a.Uint(3)
	if options&^uint32(abi.WNOHANG|abi.WNOWAIT|abi.WEXITED|abi.WSTOPPED|abi.WCONTINUED|abi.WNOTHREAD|abi.WCLONE|abi.WALL) != 0 {
		return 0, unix.EINVAL
	}
	if options&(abi.WEXITED|abi.WSTOPPED|abi.WCONTINUED) == 0 {
		return 0, unix.EINVAL
	}
	p := t.p
	var match func(c *Process) bool
	switch idtype {
	case abi.P_ALL:
		match = func(*Process) bool { return true }
	case abi.P_PID:
		if id <= 0 {
			return 0, unix.EINVAL
		}
		match = p.byID(int(id))
	case abi.P_PGID:
		if id < 0 {
			return 0, unix.EINVAL
		}
		pgid := int(id)
		if pgid == 0 {
			pgid = p.groupID()
		}
		match = func(c *Process) bool { return c.pgid == pgid }
	case abi.P_PIDFD:
		if id < 0 {
			return 0, unix.EINVAL
		}
		q, err := t.pidfdProcess(id)
		if err != nil {
			return 0, err
		}
		match = func(c *Process) bool { return c == q }
	default:
		return 0, unix.EINVAL
	}
	w := waitSpec{match: match, options: options}
	if idtype == abi.P_PID {
		w.id = int(id)
	}
	return t.wait(w, func(e *waitEvent) (uint64, error) {
		// As Linux: only these fields are written; all zero when nothing was ready.
		var info abi.Siginfo
		if e != nil {
			info = abi.Siginfo{Signo: abi.SIGCHLD, Code: e.code, Pid: int32(e.id()), UID: uint32(os.Getuid()), Status: int32(e.status)}
		}
		if infoAddr != 0 {
			var b [abi.SiginfoSize]byte
			info.Marshal(b[:])
			if err := p.mm.CopyOut(infoAddr, b[:12]); err != nil {
				return 0, err
			}
			if err := p.mm.CopyOut(infoAddr+16, b[16:28]); err != nil {
				return 0, err
			}
		}
		var used usage
		if e != nil {
			used = e.used
		}
		if err := t.putRusage(ruAddr, used); err != nil {
			return 0, err
		}
		return 0, nil
	})
}

// childInfo is the siginfo that reports how child c ended, as SIGCHLD and waitid give
// it: CLD_DUMPED when its signal wrote a core file.
func childInfo(c *Process) abi.Siginfo {
	info := abi.Siginfo{Signo: abi.SIGCHLD, Code: abi.CLD_EXITED, Pid: int32(c.pid), UID: uint32(os.Getuid()),
		Status: int32(c.exit.Code & 0xff)}
	if c.exit.Signal != 0 {
		info.Code, info.Status = abi.CLD_KILLED, int32(c.exit.Signal)
		if c.exit.Core {
			info.Code = abi.CLD_DUMPED
		}
	}
	return info
}

// WaitStatus is the status wait(2) reports for an ended process.
func (s ExitStatus) WaitStatus() int {
	if s.Signal != 0 {
		st := s.Signal & 0x7f
		if s.Core {
			st |= 0x80
		}
		return st
	}
	return (s.Code & 0xff) << 8
}
