package kernel

import (
	"fmt"

	"vemu/abi"
	"vemu/kernel/mm"
	"vemu/kernel/strace"
)

func syscallName(nr uint64, a Args) string {
	name := abi.SyscallName(nr)
	if name == "" {
		name = fmt.Sprintf("syscall_%#x", nr)
	}
	return fmt.Sprintf("%s(%#x, %#x, %#x, %#x, %#x, %#x)", name, a[0], a[1], a[2], a[3], a[4], a[5])
}

// guestMem lets the tracer read guest memory.
type guestMem struct{ s *mm.Space }

func (g guestMem) ReadAt(b []byte, addr uint64) error { return g.s.CopyIn(mm.Addr(addr), b) }

func (t *Task) traceCall(nr uint64, a Args, ret uint64) { t.traceNote(nr, a, ret, "", false) }

// traceNote traces a finished call with note after its result (" (INJECTED)"), and
// gives its record to Config.Record.
func (t *Task) traceNote(nr uint64, a Args, ret uint64, note string, injected bool) {
	k := t.p.k
	if k.cfg.Record != nil {
		k.cfg.Record(SyscallRecord{Pid: t.p.pid, Tid: t.tid, Nr: nr, Args: a, Ret: ret, Injected: injected})
	}
	if k.cfg.Strace == nil {
		return
	}
	c := strace.Call{Nr: nr, Args: a, Ret: int64(ret)}
	if nr == abi.SYS_EXIT || nr == abi.SYS_EXIT_GROUP || (nr == abi.SYS_EXECVE && int64(ret) >= 0) {
		c.NoReturn = true
	}
	line := strace.Format(c, guestMem{t.p.mm}) + note
	if t.vsyscall {
		line = "[vsyscall] " + line
	}
	k.writeTrace(t.tid, line)
}

// traceEnd traces a call that did not return to its caller, with a note on why.
func (t *Task) traceEnd(nr uint64, a Args, rax uint64, note string) {
	k := t.p.k
	if k.cfg.Record != nil {
		k.cfg.Record(SyscallRecord{Pid: t.p.pid, Tid: t.tid, Nr: nr, Args: a, Ret: rax})
	}
	if k.cfg.Strace == nil {
		return
	}
	line := strace.Format(strace.Call{Nr: nr, Args: a, NoReturn: true}, guestMem{t.p.mm}) + note
	if t.vsyscall {
		line = "[vsyscall] " + line
	}
	k.writeTrace(t.tid, line)
}

// writeTrace writes a trace line of thread tid, prefixed with its id while more than
// one guest thread lives (processes not yet reaped included), as strace -f does.
func (k *Kernel) writeTrace(tid int, line string) {
	if k.cfg.Strace == nil {
		return
	}
	k.pt.mu.Lock()
	many := len(k.pt.procs)+len(k.pt.tids) > 1
	k.pt.mu.Unlock()
	switch {
	case many && k.cfg.StraceFile:
		line = fmt.Sprintf("%-5d %s", tid, line)
	case many:
		line = fmt.Sprintf("[pid %5d] %s", tid, line)
	}
	k.cfg.Strace.Write([]byte(line + "\n"))
}
