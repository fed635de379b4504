package kernel

import (
	"time"

	"vemu/abi"
	"vemu/emu"
	"vemu/inject"
	"vemu/kernel/mm"
)

// Tampering with system calls at their entry, as strace's -e inject= does: the specs in
// Config.Inject (counted per thread and per call) and the hook Config.InjectFunc.

// Call is a system call at its entry, as Config.InjectFunc sees it.
type Call struct {
	Pid, Tid int
	Nr       uint64
	Args     [6]uint64
}

// Name is the call's name ("" for an unused number).
func (c Call) Name() string { return abi.SyscallName(c.Nr) }

// Action is what Config.InjectFunc decides for a call. The zero Action lets it run.
type Action struct {
	// Errno fails the call with this error without running it.
	Errno int
	// Retval, with HasRetval, makes the call return this value without running it.
	Retval    uint64
	HasRetval bool
	// Signal is delivered to the thread when the call returns.
	Signal int
	// Shorten, when not 0, runs a read or write (read, write, pread64, pwrite64,
	// recvfrom, sendto) with its byte count cut to at most Shorten.
	Shorten uint64
}

// SyscallRecord is one finished system call, for Config.Record.
type SyscallRecord struct {
	Pid, Tid int
	Nr       uint64
	Args     [6]uint64
	Ret      uint64 // as in rax: -4095..-1 is -errno
	Injected bool   // the result was injected, not the call's own
}

// Errno is the error the call returned, or 0.
func (r SyscallRecord) Errno() int {
	if int64(r.Ret) < 0 && int64(r.Ret) >= -4095 {
		return int(-int64(r.Ret))
	}
	return 0
}

// injection is what tampering does to one call.
type injection struct {
	replace  bool   // the call does not run; ret is its result
	ret      uint64 //
	signal   int    // delivered when the call returns
	delayIn  time.Duration
	delayOut time.Duration
	pokeOut  []inject.Poke
}

// shortenable are the calls whose count argument (index 2) Action.Shorten cuts.
var shortenable = map[uint64]bool{
	abi.SYS_READ: true, abi.SYS_WRITE: true, abi.SYS_PREAD64: true, abi.SYS_PWRITE64: true,
	abi.SYS_RECVFROM: true, abi.SYS_SENDTO: true,
}

// injectEntry decides the tampering of call nr at its entry, applies what belongs to the
// entry (pokes, a shorter count) and returns the rest, or nil.
func (t *Task) injectEntry(nr uint64, a *Args) *injection {
	k := t.p.k
	var inj *injection
	if s := t.injCount.Next(k.inject, nr); s != nil {
		inj = &injection{replace: s.Replaces(), ret: s.Result(), signal: s.Signal,
			delayIn: s.DelayEnter, delayOut: s.DelayExit, pokeOut: s.PokeExit}
		t.poke(s.PokeEnter, a)
		if s.Replaces() && s.Syscall >= 0 {
			// A call without arguments or side effects runs in its place.
			if h := k.table[s.Syscall].Handler; h != nil {
				h(t, Args{})
			}
		}
	}
	if f := k.cfg.InjectFunc; f != nil {
		act := f(Call{Pid: t.p.pid, Tid: t.tid, Nr: nr, Args: *a})
		if act.Errno > 0 || act.HasRetval || act.Signal > 0 {
			if inj == nil {
				inj = &injection{}
			}
			if act.Errno > 0 && act.Errno <= 4095 {
				inj.replace, inj.ret = true, uint64(-int64(act.Errno))
			} else if act.HasRetval {
				inj.replace, inj.ret = true, act.Retval
			}
			if act.Signal > 0 && act.Signal < abi.NSIG {
				inj.signal = act.Signal
			}
		}
		if act.Shorten > 0 && shortenable[nr] && a[2] > act.Shorten {
			a[2] = act.Shorten
		}
	}
	return inj
}

// poke writes each poke's data where its argument points; a bad address writes nothing.
func (t *Task) poke(pokes []inject.Poke, a *Args) {
	for _, p := range pokes {
		if p.Arg < len(a) {
			t.p.mm.CopyOut(mm.Addr(a[p.Arg]), p.Data)
		}
	}
}

// injectExit applies what belongs to the call's return: pokes and the signal. It returns
// the tracer's note after the result, as strace prints it.
func (t *Task) injectExit(inj *injection, a Args) string {
	if inj == nil {
		return ""
	}
	t.poke(inj.pokeOut, &a)
	if inj.signal != 0 {
		t.p.queueSignal(t, abi.Siginfo{Signo: int32(inj.signal), Code: abi.SI_KERNEL})
	}
	note := ""
	if inj.replace {
		note += " (INJECTED)"
	}
	if inj.delayIn > 0 || inj.delayOut > 0 {
		note += " (DELAYED)"
	}
	return note
}

// heldCall is a call that runs again after its injected delay, with what was decided at
// its first entry.
type heldCall struct {
	args Args
	inj  *injection
}

// delayThenRerun makes the thread wait d on the guest's clock, then run the call again
// from its instruction: the second entry takes the decision made at the first.
func (t *Task) delayThenRerun(s *emu.Syscall, nr uint64, a Args, inj *injection) {
	t.sleep(inj.delayIn, 0)
	pend := t.pending
	pend.nr, pend.args, pend.quiet = nr, a, true
	pend.done = func(uint64, error) (uint64, error) {
		t.restart, t.restartNr = true, nr
		if pend.i386 != 0 {
			t.restartNr = pend.i386 - 1 // an int $0x80 call runs again as one
		}
		t.injHeld = &heldCall{args: a, inj: inj}
		return nr, nil
	}
	s.Stop()
}

// delayReturn makes the thread wait d on the guest's clock before its call returns ret.
func (t *Task) delayReturn(s *emu.Syscall, ret uint64, d time.Duration) {
	t.sleep(d, 0)
	pend := t.pending
	pend.quiet = true
	pend.done = func(uint64, error) (uint64, error) { return ret, nil }
	s.Stop()
}
