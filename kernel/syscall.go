package kernel

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Args are a system call's six arguments, with typed accessors.
type Args [6]uint64

// Int is argument i as a C int.
func (a Args) Int(i int) int32 { return int32(a[i]) }

// Int64 is argument i as a C long.
func (a Args) Int64(i int) int64 { return int64(a[i]) }

// Uint is argument i as a C unsigned int.
func (a Args) Uint(i int) uint32 { return uint32(a[i]) }

// Ptr is argument i as a guest address.
func (a Args) Ptr(i int) mm.Addr { return mm.Addr(a[i]) }

// Fd is argument i as a file descriptor.
func (a Args) Fd(i int) int32 { return int32(a[i]) }

// Handler implements one system call. It returns the result, or an error: a unix.Errno
// for the guest, anything else is a bug in vemu.
type Handler func(t *Task, a Args) (uint64, error)

// copyStruct reads an extensible struct of usize bytes at addr, as Linux's
// copy_struct_from_user(): the ksize bytes this kernel knows, zeros past a shorter one,
// and E2BIG when a longer one has anything but zeros past them. The size's bounds
// (EINVAL below the first version, E2BIG past a page) are each call's own to check first.
func (t *Task) copyStruct(addr mm.Addr, usize, ksize uint64) ([]byte, error) {
	b := make([]byte, max(usize, ksize))
	if err := t.p.mm.CopyIn(addr, b[:usize]); err != nil {
		return nil, err
	}
	for _, c := range b[ksize:] {
		if c != 0 {
			return nil, unix.E2BIG
		}
	}
	return b[:ksize], nil
}

// errnoRet encodes -errno as rax.
func errnoRet(e unix.Errno) uint64 { return uint64(-int64(e)) }

// onSyscall is the SYSCALL entry: tamper (inject.go), dispatch through the table, turn
// errors into -errno, trace. It runs inside the CPU's hook.
func (t *Task) onSyscall(s *emu.Syscall) {
	nr := s.Nr
	a := Args(s.Args)
	recheck := t.seccompRecheck
	armed := t.p.preempt == preemptArmed // a thread it woke runs after this call
	t.p.wokeReleased = false
	t.seccompRecheck = false
	d := t.p.dbg
	if d != nil {
		dt := d.task(t)
		switch {
		case dt.entered:
			// The call again after its entry stop: it runs now.
			dt.entered = false
			if tbl := t.p.k.table; nr >= uint64(len(tbl)) {
				// No such call (a tracer's orig_rax -1): skipped, with the result
				// the tracer left in rax at the entry stop.
				s.Ret = dt.entryRax
				t.p.counts.count(nr)
				if d.catchingFor(t, nr) {
					d.syscallDone(t, s, nr)
				}
				return
			}
		case d.catchingFor(t, nr):
			d.syscallEntry(t, s)
			return
		}
		defer func() {
			// A tracer that resumed with PTRACE_CONT from the entry stop asked for no
			// exit stop.
			// Nor is a call stopped for its seccomp filter's trace done yet: it starts
			// again.
			if t.p.dbg == d && d.catchingFor(t, nr) && nr != abi.SYS_EXIT && nr != abi.SYS_EXIT_GROUP && !t.seccompRecheck {
				d.syscallDone(t, s, nr)
			}
		}()
	}
	if t.seccompPassed {
		t.seccompPassed = false
	} else if t.seccomp.mode != 0 && t.injHeld == nil && !t.seccompSyscall(s, a, recheck) {
		return
	}
	var inj *injection
	if h := t.injHeld; h != nil {
		// The call again after its injected delay: decided and counted already.
		t.injHeld = nil
		a, inj = h.args, h.inj
	} else if t.p.k.injecting {
		inj = t.injectEntry(nr, &a)
		if inj != nil && inj.delayIn > 0 {
			t.delayThenRerun(s, nr, a, inj)
			return
		}
	}
	var ret uint64
	var h Handler
	if tbl := t.p.k.table; nr < uint64(len(tbl)) {
		h = tbl[nr].Handler
	}
	switch {
	case inj != nil && inj.replace:
		ret = inj.ret // the call does not run, as under strace
	case h == nil:
		ret = errnoRet(unix.ENOSYS)
	default:
		t.p.actAs(t.p.fileCreds())
		before := t.p.creds.dumpKey()
		r, err := h(t, a)
		if after := t.p.creds.dumpKey(); after != before && nr != abi.SYS_EXECVE && nr != abi.SYS_EXECVEAT {
			t.p.credsChanged(before, after)
		}
		if err == errBlocked {
			// The thread waits; its result is traced and put in rax when it comes.
			t.pending.nr, t.pending.args, t.pending.inj = nr, a, inj
			t.p.counts.count(nr)
			t.p.publishFatal()
			s.Stop()
			return
		}
		switch e := err.(type) {
		case nil:
			ret = r
		case unix.Errno:
			ret = errnoRet(e)
		default:
			var errno unix.Errno
			if errors.As(err, &errno) {
				ret = errnoRet(errno)
			} else {
				t.p.exitInternal(fmt.Errorf("%w: %s: %v", ErrInternal, syscallName(nr, a), err))
			}
		}
	}
	t.p.counts.count(nr)
	t.p.accountIO(nr, ret)
	t.p.publishFatal() // the call may have changed masks or actions
	if t.p.k.dnotify.active.Load() {
		t.p.k.dnotify.drain(t.p.k) // the call's own changes signal before it returns
	}
	s.Ret = ret
	note := t.injectExit(inj, a)
	if t.trace {
		t.traceNote(nr, a, ret, note, inj != nil && inj.replace)
	}
	if inj != nil && inj.delayOut > 0 {
		t.delayReturn(s, ret, inj.delayOut)
		return
	}
	if t.p.wokeReleased {
		t.p.wokeReleased = false
		armed = true // it released a lock the thread it woke waits for
	}
	if armed {
		t.p.preempt = preemptHit
	}
	if armed || t.p.stop || len(t.p.wake) > 0 || (inj != nil && inj.signal != 0) {
		// Stopping lets the run loop handle messages from other goroutines; without the
		// block hook, a system call is where a process sees them.
		s.Stop()
	}
}

// setFastCalls lets the CPU answer getpid and gettid itself, for the thread it runs:
// their answers are fixed while it does. Not when tracing or tampering: they see every
// call; nor for a thread with a seccomp mode, whose filters see every call.
func (p *Process) setFastCalls() {
	if p.k.cfg.Strace != nil || p.k.cfg.Record != nil || p.k.injecting || p.cur == nil || p.dbg != nil {
		return
	}
	if p.cur.seccomp.mode != 0 {
		p.cpu.ClearFast(abi.SYS_GETPID)
		p.cpu.ClearFast(abi.SYS_GETTID)
		return
	}
	p.cpu.SetFast(abi.SYS_GETPID, uint64(p.pid))
	p.cpu.SetFast(abi.SYS_GETTID, uint64(p.cur.tid))
}

// installHooks connects a process's CPU to its kernel: the SYSCALL entry, and the vDSO's
// counter reads and entry points where they are hooked.
func (p *Process) installHooks() error {
	p.cpu.OnSyscall(func(s *emu.Syscall) { p.cur.onSyscall(s) })
	p.setFastCalls()
	p.cpu.OnCode(func(addr uint64) { p.cur.onCode(addr) })
	for a := range p.vdso.counter {
		if err := p.cpu.HookCode(a, a); err != nil {
			return err
		}
	}
	for a := range p.vdso.entries {
		if err := p.cpu.HookCode(a, a); err != nil {
			return err
		}
	}
	if p.k.cfg.Coverage {
		return p.cpu.EnableCoverage()
	}
	return nil
}
