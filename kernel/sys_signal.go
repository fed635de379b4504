package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// sysRtSigaction implements rt_sigaction(2): dispositions are recorded; delivery to
// handlers is not yet implemented, so a signal whose action is a handler is only recorded.
func sysRtSigaction(t *Task, a Args) (uint64, error) {
	sig := a.Int(0)
	if a[3] != abi.SigsetSize || sig < 1 || sig >= abi.NSIG {
		return 0, unix.EINVAL
	}
	var act abi.Sigaction
	if a[1] != 0 {
		if sig == abi.SIGKILL || sig == abi.SIGSTOP {
			return 0, unix.EINVAL
		}
		var b [abi.SigactionSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
		act.Unmarshal(b[:])
		// SIGKILL and SIGSTOP can never be blocked.
		act.Mask &^= 1<<(abi.SIGKILL-1) | 1<<(abi.SIGSTOP-1)
	}
	if a[2] != 0 {
		var b [abi.SigactionSize]byte
		old := t.p.sigactions[sig]
		old.Marshal(b[:])
		if err := t.p.mm.CopyOut(a.Ptr(2), b[:]); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		t.p.sigactions[sig] = act
	}
	return 0, nil
}

// sysRtSigprocmask implements rt_sigprocmask(2).
func sysRtSigprocmask(t *Task, a Args) (uint64, error) {
	if a[3] != abi.SigsetSize {
		return 0, unix.EINVAL
	}
	old := t.sigmask
	if a[1] != 0 {
		var b [8]byte
		if err := t.p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
		set := le64get(b[:]) &^ (1<<(abi.SIGKILL-1) | 1<<(abi.SIGSTOP-1))
		switch a.Int(0) {
		case abi.SIG_BLOCK:
			t.sigmask |= set
		case abi.SIG_UNBLOCK:
			t.sigmask &^= set
		case abi.SIG_SETMASK:
			t.sigmask = set
		default:
			return 0, unix.EINVAL
		}
	}
	if a[2] != 0 {
		if err := t.p.mm.CopyOut(a.Ptr(2), le64(nil, old)); err != nil {
			t.sigmask = old
			return 0, err
		}
	}
	return 0, nil
}

// sysSigaltstack implements sigaltstack(2) as bookkeeping.
func sysSigaltstack(t *Task, a Args) (uint64, error) {
	if a[1] != 0 {
		var b [abi.StackTSize]byte
		(&abi.StackT{Flags: abi.SS_DISABLE}).Marshal(b[:])
		if err := t.p.mm.CopyOut(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// defaultIgnored lists the signals whose default action is to do nothing.
func defaultIgnored(sig int32) bool {
	return sig == abi.SIGCHLD || sig == abi.SIGURG || sig == abi.SIGWINCH || sig == abi.SIGCONT
}

// signalSelf acts on a signal sent to this process: the default action terminates it
// (or does nothing); an ignored or blocked signal is dropped.
func (t *Task) signalSelf(sig int32) error {
	if sig == 0 {
		return nil
	}
	if sig < 0 || sig >= abi.NSIG {
		return unix.EINVAL
	}
	act := t.p.sigactions[sig]
	if sig != abi.SIGKILL && sig != abi.SIGSTOP {
		if act.Handler == abi.SIG_IGN || t.sigmask&(1<<(sig-1)) != 0 {
			return nil
		}
		if act.Handler != abi.SIG_DFL {
			// A handler: delivery is not implemented yet; treat as ignored.
			return nil
		}
		if defaultIgnored(sig) {
			return nil
		}
	}
	if sig == abi.SIGSTOP || sig == abi.SIGTSTP || sig == abi.SIGTTIN || sig == abi.SIGTTOU {
		return nil
	}
	t.kill(int(sig), "")
	return nil
}

// sysKill implements kill(2) for the process itself.
func sysKill(t *Task, a Args) (uint64, error) {
	pid := a.Int(0)
	if pid != int32(t.p.pid) && pid != 0 && pid != -1 && pid != -int32(t.p.pgid) {
		return 0, unix.ESRCH
	}
	return 0, t.signalSelf(a.Int(1))
}

// sysTgkill implements tgkill(2) for the calling thread.
func sysTgkill(t *Task, a Args) (uint64, error) {
	if a.Int(0) <= 0 || a.Int(1) <= 0 {
		return 0, unix.EINVAL
	}
	if int(a.Int(0)) != t.p.pid || int(a.Int(1)) != t.tid {
		return 0, unix.ESRCH
	}
	return 0, t.signalSelf(a.Int(2))
}

// sysTkill implements tkill(2) for the calling thread.
func sysTkill(t *Task, a Args) (uint64, error) {
	if a.Int(0) <= 0 {
		return 0, unix.EINVAL
	}
	if int(a.Int(0)) != t.tid {
		return 0, unix.ESRCH
	}
	return 0, t.signalSelf(a.Int(1))
}
