package kernel

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// waitSpec says which children a wait call takes, and how.
type waitSpec struct {
	match   func(c *Process) bool // the id selection; called with pt.mu held
	options uint32                // WNOHANG, WNOWAIT, WEXITED, __WCLONE, __WALL
}

// eligible says whether child c is one the wait is about, as Linux's eligible_child():
// without __WALL, __WCLONE selects the children whose exit signal is not SIGCHLD, and its
// absence the others.
func (w waitSpec) eligible(c *Process) bool {
	if w.options&abi.WALL == 0 && (c.exitSignal != abi.SIGCHLD) != (w.options&abi.WCLONE != 0) {
		return false
	}
	return w.match(c)
}

// findChild returns an eligible child that has something to report (removed from the
// tree unless WNOWAIT) and whether any child is eligible at all. Stopped and continued
// children are never reported: vemu does not stop processes.
func (p *Process) findChild(w waitSpec) (*Process, bool) {
	k := p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	any := false
	for i, c := range p.children {
		if !w.eligible(c) {
			continue
		}
		any = true
		if !c.reported || w.options&abi.WEXITED == 0 {
			continue
		}
		if w.options&abi.WNOWAIT == 0 {
			p.children = append(p.children[:i], p.children[i+1:]...)
			delete(k.pt.procs, c.pid)
		}
		return c, true
	}
	return nil, any
}

// wait finds or waits for a child as w says and returns report's result for it; report
// gets nil for WNOHANG with no child ready.
func (t *Task) wait(w waitSpec, report func(c *Process) (uint64, error)) (uint64, error) {
	p := t.p
	c, any := p.findChild(w)
	if c != nil {
		return report(c)
	}
	if !any {
		return 0, unix.ECHILD
	}
	if w.options&abi.WNOHANG != 0 {
		return report(nil)
	}
	wakeCh := p.childWake
	var got *Process
	// Interrupted by a handled signal, wait restarts under SA_RESTART (ERESTARTSYS).
	return t.blockIntr(intrRestart, func(cn *cancel) (uint64, error) {
		for {
			c, any := p.findChild(w)
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

// zeroRusage writes an all-zero struct rusage at addr, when addr is not NULL: vemu does
// not account children's resources.
func (t *Task) zeroRusage(addr mm.Addr) error {
	if addr == 0 {
		return nil
	}
	var b [abi.RusageSize]byte
	return t.p.mm.CopyOut(addr, b[:])
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
		switch {
		case pid > 0:
			return c.pid == int(pid)
		case pid == -1:
			return true
		}
		return c.pgid == pgid
	}}
	return t.wait(w, func(c *Process) (uint64, error) {
		if c == nil {
			return 0, nil
		}
		if statusAddr != 0 {
			if err := p.mm.CopyOut(statusAddr, binary.LittleEndian.AppendUint32(nil, uint32(waitStatus(*c.exit)))); err != nil {
				return 0, err
			}
		}
		if err := t.zeroRusage(ruAddr); err != nil {
			return 0, err
		}
		return uint64(c.pid), nil
	})
}

// sysWaitid implements waitid(2). P_PIDFD fails with EBADF, as for a descriptor that is
// not a pidfd: vemu has no pidfds.
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
		match = func(c *Process) bool { return c.pid == int(id) }
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
		return 0, unix.EBADF
	default:
		return 0, unix.EINVAL
	}
	return t.wait(waitSpec{match: match, options: options}, func(c *Process) (uint64, error) {
		// As Linux: only these fields are written; all zero when nothing was ready.
		var info abi.Siginfo
		if c != nil {
			info = childInfo(c)
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
		if err := t.zeroRusage(ruAddr); err != nil {
			return 0, err
		}
		return 0, nil
	})
}

// childInfo is the siginfo that reports how child c ended, as SIGCHLD and waitid give
// it. No core is ever dumped, so a core signal is CLD_KILLED as on a system with
// RLIMIT_CORE 0.
func childInfo(c *Process) abi.Siginfo {
	info := abi.Siginfo{Signo: abi.SIGCHLD, Code: abi.CLD_EXITED, Pid: int32(c.pid), UID: uint32(os.Getuid()),
		Status: int32(c.exit.Code & 0xff)}
	if c.exit.Signal != 0 {
		info.Code, info.Status = abi.CLD_KILLED, int32(c.exit.Signal)
	}
	return info
}

// waitStatus encodes how a process ended as wait(2) reports it.
func waitStatus(s ExitStatus) int {
	if s.Signal != 0 {
		return s.Signal & 0x7f
	}
	return (s.Code & 0xff) << 8
}
