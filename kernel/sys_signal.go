package kernel

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// uapiSAFlags are the sigaction flags Linux keeps (its UAPI_SA_FLAGS on x86-64).
const uapiSAFlags = abi.SA_NOCLDSTOP | abi.SA_NOCLDWAIT | abi.SA_SIGINFO | abi.SA_ONSTACK | abi.SA_RESTART |
	abi.SA_NODEFER | abi.SA_RESETHAND | abi.SA_EXPOSE_TAGBITS | abi.SA_RESTORER

// sysRtSigaction implements rt_sigaction(2).
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
		// SIGKILL and SIGSTOP can never be blocked. Unknown flags are dropped, as Linux
		// drops them, so that a program can tell which ones the kernel knows.
		act.Mask &^= unblockable
		act.Flags &= uapiSAFlags
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
		t.p.dispositionsChanged()
		if act.Handler != abi.SIG_DFL && act.Handler != abi.SIG_IGN {
			t.p.needHook() // the handler may have to interrupt a loop
		}
		// As POSIX says: setting an ignoring action discards the pending instances.
		if t.ignored(int(sig)) {
			t.p.sigs().pending.drop(int(sig), t.p.queued())
			for _, o := range t.p.tasks {
				o.sigs().pending.drop(int(sig), t.p.queued())
			}
		}
	}
	return 0, nil
}

// readSigset reads a sigset_t of the kernel's size from addr.
func (t *Task) readSigset(addr mm.Addr) (uint64, error) {
	var b [abi.SigsetSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// setSigmask changes t's mask; signals it unblocks are delivered when the call returns.
func (t *Task) setSigmask(mask uint64) {
	t.putSigmask(mask &^ unblockable)
	if t.deliverable() {
		t.p.stop = true
	}
}

// sysRtSigprocmask implements rt_sigprocmask(2).
func sysRtSigprocmask(t *Task, a Args) (uint64, error) {
	if a[3] != abi.SigsetSize {
		return 0, unix.EINVAL
	}
	old := t.sigmask
	mask := old
	if a[1] != 0 {
		set, err := t.readSigset(a.Ptr(1))
		if err != nil {
			return 0, err
		}
		switch a.Int(0) {
		case abi.SIG_BLOCK:
			mask |= set
		case abi.SIG_UNBLOCK:
			mask &^= set
		case abi.SIG_SETMASK:
			mask = set
		default:
			return 0, unix.EINVAL
		}
	}
	if a[2] != 0 {
		if err := t.p.mm.CopyOut(a.Ptr(2), binary.LittleEndian.AppendUint64(nil, old)); err != nil {
			return 0, err
		}
	}
	t.setSigmask(mask)
	return 0, nil
}

// sysRtSigpending implements rt_sigpending(2): the blocked signals that are pending.
func sysRtSigpending(t *Task, a Args) (uint64, error) {
	if a[1] > abi.SigsetSize {
		return 0, unix.EINVAL
	}
	set := (t.sigs().pending.set | t.p.sigs().pending.set) & t.sigmask
	return 0, t.p.mm.CopyOut(a.Ptr(0), binary.LittleEndian.AppendUint64(nil, set)[:a[1]])
}

// sigSleep parks t until a signal it takes arrives (see signalWake), with set the signals
// sigtimedwait takes, and returns the parked call's placeholder result.
func (t *Task) sigSleep(set uint64, done func(uint64, error) (uint64, error)) (*sigWait, uint64, error) {
	r, err := t.blockThen(nil, done)
	w := &sigWait{set: set, pend: t.pending}
	t.setSigWait(w)
	return w, r, err
}

// sysRtSigsuspend implements rt_sigsuspend(2): it waits with a temporary mask until a
// handler runs, then fails with EINTR; the frame keeps the original mask for sigreturn.
func sysRtSigsuspend(t *Task, a Args) (uint64, error) {
	if a[1] != abi.SigsetSize {
		return 0, unix.EINVAL
	}
	mask, err := t.readSigset(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	ts := t.sigs()
	if !ts.restoreMask {
		// A restarted call (a stop came, no handler ran) keeps the mask saved first.
		ts.savedMask = t.sigmask
	}
	ts.restoreMask = true
	t.putSigmask(mask &^ unblockable)
	if t.deliverable() {
		t.p.stop = true
		return 0, unix.EINTR
	}
	_, r, err := t.sigSleep(0, nil)
	t.interruptible(intrNoHand, func() { t.setSigWait(nil) })
	return r, err
}

// sysPause implements pause(2): it waits until a handler runs, then fails with EINTR.
func sysPause(t *Task, a Args) (uint64, error) {
	if t.deliverable() {
		t.p.stop = true
		return 0, unix.EINTR
	}
	_, r, err := t.sigSleep(0, nil)
	t.interruptible(intrNoHand, func() { t.setSigWait(nil) })
	return r, err
}

// takeSignal dequeues the first pending signal of t in set, from the thread's queue
// first, then the process's; a stale POSIX timer signal is dropped on the way.
func (t *Task) takeSignal(set uint64) (abi.Siginfo, bool) {
	for {
		var info abi.Siginfo
		if sig := t.sigs().pending.next(set); sig != 0 {
			info, _ = t.sigs().pending.take(sig, t.p.queued())
		} else if sig := t.p.sigs().pending.next(set); sig != 0 {
			info, _ = t.p.sigs().pending.take(sig, t.p.queued())
		} else {
			return abi.Siginfo{}, false
		}
		if info.SysPrivate == 0 || t.p.timerTaken(&info) {
			t.p.refreshSignalfds()
			return info, true
		}
	}
}

// sysRtSigtimedwait implements rt_sigtimedwait(2): it takes a pending signal of the set
// without running its handler, waiting for one if need be (until the timeout: EAGAIN).
// A signal outside the set that has a handler interrupts it with EINTR.
func sysRtSigtimedwait(t *Task, a Args) (uint64, error) {
	if a[3] != abi.SigsetSize {
		return 0, unix.EINVAL
	}
	set, err := t.readSigset(a.Ptr(0))
	if err != nil {
		return 0, err
	}
	set &^= unblockable
	var timeout time.Duration = -1
	if a[2] != 0 {
		ts, err := t.getTimespec(a.Ptr(2))
		if err != nil {
			return 0, err
		}
		if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
			return 0, unix.EINVAL
		}
		timeout = time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec)
	}
	infoAddr := a.Ptr(1)
	finish := func(info abi.Siginfo) (uint64, error) {
		if infoAddr != 0 {
			var b [abi.SiginfoSize]byte
			info.Marshal(b[:])
			if err := t.p.mm.CopyOut(infoAddr, b[:]); err != nil {
				return 0, err
			}
		}
		return uint64(info.Signo), nil
	}
	if info, ok := t.takeSignal(set); ok {
		return finish(info)
	}
	if timeout == 0 {
		return 0, unix.EAGAIN
	}
	if t.deliverable() {
		t.p.stop = true
		return 0, unix.EINTR
	}
	w, r, err := t.sigSleep(set, func(_ uint64, err error) (uint64, error) {
		if err != nil {
			return 0, err
		}
		info, ok := t.takeSignal(set)
		if !ok {
			return 0, unix.EINTR
		}
		return finish(info)
	})
	if timeout > 0 {
		t.p.after(timeout, func() {
			if ts := t.sigs(); ts.wait == w && t.state == taskBlocked {
				t.setSigWait(nil)
				t.complete(w.pend, 0, unix.EAGAIN)
			}
		})
	}
	return r, err
}

// sendInfo is the siginfo of a signal sent by t with kill (SI_USER) or tkill (SI_TKILL).
func (t *Task) sendInfo(sig int32, code int32) abi.Siginfo {
	return abi.Siginfo{Signo: sig, Code: code, Pid: int32(t.p.pid), UID: uint32(os.Getuid())}
}

// validSignal checks a signal number given to kill and friends; 0 only checks the target.
func validSignal(sig int32) error {
	if sig < 0 || sig >= abi.NSIG {
		return unix.EINVAL
	}
	return nil
}

// sysKill implements kill(2): pid > 0 a process (or the process of a thread), 0 the
// caller's process group, -1 every process but init and the caller, < -1 the group -pid.
// Signal 0 only checks that a process matched and may be signalled (see killTargets).
func sysKill(t *Task, a Args) (uint64, error) {
	pid, sig := a.Int(0), a.Int(1)
	if err := validSignal(sig); err != nil {
		// As Linux: the signal is checked against a process found (ESRCH first).
		if q := t.p.k.threadOwner(int(pid)); pid > 0 && (q == nil || q.pid != int(pid)) {
			return 0, unix.ESRCH
		}
		return 0, err
	}
	if pid == -1<<31 {
		return 0, unix.ESRCH
	}
	return 0, t.p.k.kill(t.p, int(pid), t.sendInfo(sig, abi.SI_USER))
}

// threadTarget reads the (tgid, tid, sig) arguments of tgkill and rt_tgsigqueueinfo: both
// ids positive, a valid signal, and thread tid in process tgid, whose process it returns.
func (t *Task) threadTarget(a Args) (*Process, int32, int32, error) {
	tgid, tid, sig := a.Int(0), a.Int(1), a.Int(2)
	if tgid <= 0 || tid <= 0 {
		return nil, 0, 0, unix.EINVAL
	}
	q := t.p.k.threadOwner(int(tid))
	if q == nil || q.pid != int(tgid) {
		return nil, 0, 0, unix.ESRCH
	}
	if err := validSignal(sig); err != nil {
		return nil, 0, 0, err // as Linux's do_send_specific: once the thread is found
	}
	if !t.p.k.mayKill(t.p, q, int(sig)) {
		return nil, 0, 0, unix.EPERM
	}
	return q, tid, sig, nil
}

// sysTgkill implements tgkill(2).
func sysTgkill(t *Task, a Args) (uint64, error) {
	q, tid, sig, err := t.threadTarget(a)
	if err != nil {
		return 0, err
	}
	return 0, t.sendToThread(q, int(tid), t.sendInfo(sig, abi.SI_TKILL))
}

// sysTkill implements tkill(2).
func sysTkill(t *Task, a Args) (uint64, error) {
	tid, sig := a.Int(0), a.Int(1)
	if tid <= 0 {
		return 0, unix.EINVAL
	}
	if err := validSignal(sig); err != nil {
		return 0, err
	}
	q := t.p.k.threadOwner(int(tid))
	if q == nil {
		return 0, unix.ESRCH
	}
	if !t.p.k.mayKill(t.p, q, int(sig)) {
		return 0, unix.EPERM
	}
	return 0, t.sendToThread(q, int(tid), t.sendInfo(sig, abi.SI_TKILL))
}

// sendToThread sends info to thread tid of q. In the caller's own process the thread is
// checked and a full real-time queue fails with EAGAIN; another process's thread gets it
// through that process's loop (a thread gone meanwhile drops it).
func (t *Task) sendToThread(q *Process, tid int, info abi.Siginfo) error {
	if q != t.p {
		t.p.deliverTo(q, tid, info)
		return nil
	}
	return q.sendToOwnThread(tid, info)
}

func (p *Process) sendToOwnThread(tid int, info abi.Siginfo) error {
	target := p.thread(tid)
	if target == nil {
		return unix.ESRCH
	}
	if info.Signo != 0 && !p.queueSignal(target, info) {
		return unix.EAGAIN
	}
	return nil
}

// readQueuedInfo reads the siginfo given to rt_sigqueueinfo and rt_tgsigqueueinfo. As
// Linux: a process may not pretend to be the kernel or kill(2) when signalling another.
func (t *Task) readQueuedInfo(addr mm.Addr, sig int32, self bool) (abi.Siginfo, error) {
	var b [abi.SiginfoSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return abi.Siginfo{}, err
	}
	var info abi.Siginfo
	info.Unmarshal(b[:])
	if !self && (info.Code >= 0 || info.Code == abi.SI_TKILL) {
		return abi.Siginfo{}, unix.EPERM
	}
	info.Signo = sig
	return info, nil
}

// sysRtSigqueueinfo implements rt_sigqueueinfo(2): to one process, by pid.
func sysRtSigqueueinfo(t *Task, a Args) (uint64, error) {
	pid, sig := a.Int(0), a.Int(1)
	if err := validSignal(sig); err != nil {
		return 0, err
	}
	info, err := t.readQueuedInfo(a.Ptr(2), sig, pid == int32(t.p.pid))
	if err != nil {
		return 0, err
	}
	if pid == int32(t.p.pid) {
		if sig != 0 && !t.p.queueSignal(nil, info) {
			return 0, unix.EAGAIN
		}
		return 0, nil
	}
	if pid <= 0 {
		return 0, unix.ESRCH // one process only: no groups
	}
	targets, err := t.p.k.killTargets(t.p, int(pid), int(sig))
	if err != nil {
		return 0, err
	}
	for _, q := range targets {
		t.p.deliverTo(q, 0, info)
	}
	return 0, nil
}

// sysRtTgsigqueueinfo implements rt_tgsigqueueinfo(2).
func sysRtTgsigqueueinfo(t *Task, a Args) (uint64, error) {
	q, tid, sig, err := t.threadTarget(a)
	if err != nil {
		return 0, err
	}
	info, err := t.readQueuedInfo(a.Ptr(3), sig, int(tid) == t.tid)
	if err != nil {
		return 0, err
	}
	return 0, t.sendToThread(q, int(tid), info)
}

// sysSigaltstack implements sigaltstack(2).
func sysSigaltstack(t *Task, a Args) (uint64, error) {
	ts := t.sigs()
	sp := t.cpu.Reg(emu.RSP)
	old := abi.StackT{Sp: ts.altSp, Size: ts.altSize, Flags: ts.altStackFlags(sp)}
	if a[0] != 0 {
		var b [abi.StackTSize]byte
		if err := t.p.mm.CopyIn(a.Ptr(0), b[:]); err != nil {
			return 0, err
		}
		var ss abi.StackT
		ss.Unmarshal(b[:])
		if err := ts.setAltStack(ss, sp); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		var b [abi.StackTSize]byte
		old.Marshal(b[:])
		if err := t.p.mm.CopyOut(a.Ptr(1), b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysRtSigreturn implements rt_sigreturn(2): the restorer's system call after a handler
// returns. The ucontext is at rsp (the handler's ret popped pretcode); registers, flags,
// FPU state, mask and alternate stack come back from it, and the interrupted code resumes.
func sysRtSigreturn(t *Task, a Args) (uint64, error) {
	t.restartBlock = nil // as Linux's restore_sigcontext: a handler ran, nothing carries on
	sp := t.cpu.Reg(emu.RSP)
	var b [abi.UcontextSize]byte
	if err := t.p.mm.CopyIn(mm.Addr(sp), b[:]); err != nil {
		t.kill(abi.SIGSEGV, fmt.Sprintf("rt_sigreturn: bad frame at %#x", sp-8))
		return 0, nil
	}
	var uc abi.Ucontext
	uc.Unmarshal(b[:])
	regs := uc.Mcontext.Regs[:]
	flags := uc.Mcontext.Eflags
	var fx *[emu.FXSaveSize]byte
	if fp := uc.Mcontext.Fpstate; fp != 0 {
		fx = new([emu.FXSaveSize]byte)
		if err := t.p.mm.CopyIn(mm.Addr(fp), fx[:]); err != nil {
			t.kill(abi.SIGSEGV, fmt.Sprintf("rt_sigreturn: bad fpstate at %#x", fp))
			return 0, nil
		}
	}
	mask := uc.Sigmask &^ unblockable
	stack := uc.Stack
	// As Linux's restore_sigcontext: the selectors with privilege level 3, and without
	// UC_STRICT_RESTORE_SS a stack segment that would not load replaced by the user's
	// when returning to 64-bit code (force_valid_ss); the return to user mode then
	// loads them, which faults on a bad one. vemu cannot switch the CPU to another code
	// segment from outside (see setupFrame): a cs other than the user's faults too.
	cs, ss := uc.Mcontext.CS|3, uc.Mcontext.SS|3
	if uc.Flags&abi.UC_STRICT_RESTORE_SS == 0 && cs == userCS && !t.cpu.StackLoadable(ss) {
		ss = userSS
	}
	t.post(func() {
		cpu := t.cpu
		cur := cpu.Reg(emu.RFLAGS)
		regs := append(regs, cur&^eflagsUserRestored|flags&eflagsUserRestored)
		all := append(append([]emu.Reg{}, emu.GPRs...), emu.RFLAGS)
		err := cpu.SetRegs(all, regs)
		if err == nil {
			if fx != nil {
				err = cpu.FXRestore(fx)
			} else {
				err = cpu.ResetFPU()
			}
		}
		if err != nil {
			t.p.exitInternal(fmt.Errorf("%w: rt_sigreturn: %v", ErrInternal, err))
			return
		}
		t.putSigmask(mask)
		// As Linux's restore_altstack(): errors are ignored.
		t.sigs().setAltStack(stack, regs[gprRSP])
		bad := uint16(0)
		switch cur, curSS := cpu.CodeSelectors(); {
		case cs != cur:
			bad = cs
		case !cpu.StackLoadable(ss):
			bad = ss
		case ss != curSS:
			cpu.SetReg(emu.SS, uint64(ss))
		}
		if bad != 0 {
			// The return to user mode faults: a general protection fault naming the
			// selector, in the restored context.
			t.faultSignalErr(abi.SIGSEGV, abi.SI_KERNEL, 0, uint64(bad&^3), false, fmt.Sprintf("rt_sigreturn: cs %#x ss %#x", cs, ss))
		}
	})
	return regs[gprRAX], nil
}
