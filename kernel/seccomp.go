package kernel

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// seccompFilter is one attached filter, immutable once attached and shared by the threads
// and children that inherit it: prev is the filter attached before it.
type seccompFilter struct {
	prog []bpfInsn
	prev *seccompFilter
	log  bool
	// listener takes this filter's SECCOMP_RET_USER_NOTIF calls (seccompnotify.go).
	listener *seccompListener
	path     int // instructions from here to the first filter as Linux counts them (ebpfLen, and 4 more per filter)
}

// seccompState is a thread's seccomp mode, filters and no_new_privs bit: inherited by
// clone and fork, kept across execve, as Linux keeps them per task.
type seccompState struct {
	mode   uint8 // abi.SECCOMP_MODE_*
	filter *seccompFilter
	nnp    bool
	// recheck is set while the filters run again after a seccomp stop.
	recheck bool
}

// Linux's limit on the instructions of all the filters one call runs
// (MAX_INSNS_PER_PATH), and what each earlier filter counts beyond its own length.
const (
	seccompMaxPath       = 32768
	seccompFilterPenalty = 4
)

// The sizes SECCOMP_GET_NOTIF_SIZES reports: struct seccomp_notif, seccomp_notif_resp
// and seccomp_data.
const (
	seccompNotifSize     = 80
	seccompNotifRespSize = 24
)

// seccompCall is what the filters see of one system call.
type seccompCall struct {
	nr   uint32 // the number in the table of arch
	arch uint32
	ip   uint64 // the address after the instruction that made the call
	args [6]uint64
	rax  uint64 // the register as the call left it, restored for SIGSYS (syscall_rollback)
	// wait: the caller can block the thread for a user notification (the SYSCALL entry).
	wait bool
}

// strictAllowed reports whether strict mode lets call run: read, write, exit and
// sigreturn of the caller's table (mode1_syscalls).
func strictAllowed(c *seccompCall) bool {
	if c.arch == abi.AUDIT_ARCH_I386 {
		switch c.nr {
		case 3, 4, 1, 119: // read, write, exit, sigreturn
			return true
		}
		return false
	}
	switch c.nr {
	case abi.SYS_READ, abi.SYS_WRITE, abi.SYS_EXIT, abi.SYS_RT_SIGRETURN:
		return true
	}
	return false
}

// seccompRun runs the thread's filters over call, newest first, and returns the
// action with the highest precedence (the lowest as a signed action value, as
// Linux's seccomp_run_filters()) and the filter that returned it.
func (st *seccompState) run(c *seccompCall) (uint32, *seccompFilter) {
	var data [seccompDataSize / 4]uint32
	data[0], data[1] = c.nr, c.arch
	data[2], data[3] = uint32(c.ip), uint32(c.ip>>32)
	for i, v := range c.args {
		data[4+2*i], data[5+2*i] = uint32(v), uint32(v>>32)
	}
	ret := uint32(abi.SECCOMP_RET_ALLOW)
	var match *seccompFilter
	for f := st.filter; f != nil; f = f.prev {
		r := runSeccompBPF(f.prog, &data)
		if int32(r&abi.SECCOMP_RET_ACTION_FULL) < int32(ret&abi.SECCOMP_RET_ACTION_FULL) {
			ret, match = r, f
		}
	}
	return ret, match
}

// seccompEnter applies the thread's seccomp mode to a call at the system call entry, as
// Linux's __secure_computing(). It reports whether the call runs; when it does not, rax
// is what the caller's rax becomes, and the thread may have been sent SIGSYS or ended.
func (t *Task) seccompEnter(c *seccompCall) (run bool, rax uint64, what string) {
	st := &t.seccomp
	if st.mode == abi.SECCOMP_MODE_STRICT {
		if strictAllowed(c) {
			return true, 0, ""
		}
		// do_exit(SIGKILL): the thread; the process with it when it is the last.
		t.seccompKillThread(abi.SIGKILL, fmt.Sprintf("seccomp strict mode: system call %d", c.nr))
		return false, c.rax, "killed"
	}
	ret, match := st.run(c)
	data := ret & abi.SECCOMP_RET_DATA
	switch ret & abi.SECCOMP_RET_ACTION_FULL {
	case abi.SECCOMP_RET_ALLOW, abi.SECCOMP_RET_LOG:
		return true, 0, ""
	case abi.SECCOMP_RET_ERRNO:
		return false, errnoRet(unix.Errno(min(data, 4095))), ""
	case abi.SECCOMP_RET_TRACE:
		if st.recheck {
			// The filters again after the tracer's stop: a trace is let through.
			return true, 0, ""
		}
		if c.arch == abi.AUDIT_ARCH_X86_64 && t.tracesSeccomp() {
			return false, uint64(data), seccompTraced
		}
		// No tracer that asked for seccomp stops: Linux answers ENOSYS.
		return false, errnoRet(unix.ENOSYS), ""
	case abi.SECCOMP_RET_USER_NOTIF:
		if c.wait && match.listener != nil {
			t.seccompNotifyOn = match
			return false, 0, seccompNotifying
		}
		// No listener: Linux answers ENOSYS.
		return false, errnoRet(unix.ENOSYS), ""
	case abi.SECCOMP_RET_TRAP:
		t.forceSignal(abi.Siginfo{Signo: abi.SIGSYS, Code: abi.SYS_SECCOMP_CODE, Errno: int32(data),
			CallAddr: c.ip, Syscall: int32(c.nr), Arch: c.arch})
		return false, c.rax, "SIGSYS"
	case abi.SECCOMP_RET_KILL_THREAD:
		t.seccompKillThread(abi.SIGSYS, fmt.Sprintf("seccomp: system call %d", c.nr))
		return false, c.rax, "killed"
	}
	// KILL_PROCESS, and any action Linux does not know (its core file tells the call).
	t.killWith(abi.Siginfo{Signo: abi.SIGSYS, Code: abi.SYS_SECCOMP_CODE, Errno: int32(data),
		CallAddr: c.ip, Syscall: int32(c.nr), Arch: c.arch}, fmt.Sprintf("seccomp: system call %d", c.nr))
	return false, c.rax, "killed"
}

// seccompKillThread ends the thread with sig, and the process when it is the last
// thread.
func (t *Task) seccompKillThread(sig int, detail string) {
	if t.p.live <= 1 {
		t.kill(sig, detail)
		return
	}
	t.threadExit(0)
}

// forceSignal sends a signal the thread cannot block or ignore away, as Linux's
// force_sig_info(): a blocked or ignored signal is unblocked and its action reset to the
// default first.
func (t *Task) forceSignal(info abi.Siginfo) {
	sig := int(info.Signo)
	blocked := t.sigmask&sigBit(sig) != 0
	if blocked || t.p.sigactions[sig].Handler == abi.SIG_IGN {
		t.p.sigactions[sig].Handler = abi.SIG_DFL
		t.p.dispositionsChanged()
		t.putSigmask(t.sigmask &^ sigBit(sig))
	}
	t.p.queueSignal(t, info)
}

// sysSeccomp implements seccomp(2).
func sysSeccomp(t *Task, a Args) (uint64, error) {
	return t.doSeccomp(a.Uint(0), a.Uint(1), a.Ptr(2))
}

// doSeccomp is seccomp(2) and prctl's PR_SET_SECCOMP, as Linux's do_seccomp().
func (t *Task) doSeccomp(op, flags uint32, uargs mm.Addr) (uint64, error) {
	switch op {
	case abi.SECCOMP_SET_MODE_STRICT:
		if flags != 0 || uargs != 0 {
			return 0, unix.EINVAL
		}
		if m := t.seccomp.mode; m != 0 && m != abi.SECCOMP_MODE_STRICT {
			return 0, unix.EINVAL
		}
		t.seccomp.mode = abi.SECCOMP_MODE_STRICT
		t.p.setFastCalls()
		return 0, nil
	case abi.SECCOMP_SET_MODE_FILTER:
		return t.seccompSetFilter(flags, uargs)
	case abi.SECCOMP_GET_ACTION_AVAIL:
		if flags != 0 {
			return 0, unix.EINVAL
		}
		var b [4]byte
		if err := t.p.mm.CopyIn(uargs, b[:]); err != nil {
			return 0, err
		}
		switch binary.LittleEndian.Uint32(b[:]) {
		case abi.SECCOMP_RET_KILL_PROCESS, abi.SECCOMP_RET_KILL_THREAD, abi.SECCOMP_RET_TRAP,
			abi.SECCOMP_RET_ERRNO, abi.SECCOMP_RET_USER_NOTIF, abi.SECCOMP_RET_TRACE,
			abi.SECCOMP_RET_LOG, abi.SECCOMP_RET_ALLOW:
			return 0, nil
		}
		return 0, unix.EOPNOTSUPP
	case abi.SECCOMP_GET_NOTIF_SIZES:
		if flags != 0 {
			return 0, unix.EINVAL
		}
		var b [6]byte
		binary.LittleEndian.PutUint16(b[0:], seccompNotifSize)
		binary.LittleEndian.PutUint16(b[2:], seccompNotifRespSize)
		binary.LittleEndian.PutUint16(b[4:], seccompDataSize)
		return 0, t.p.mm.CopyOut(uargs, b[:])
	}
	return 0, unix.EINVAL
}

// seccompSetFilter is SECCOMP_SET_MODE_FILTER, with Linux's checks in Linux's order:
// flags, the struct sock_fprog and its length, no_new_privs or CAP_SYS_ADMIN, the
// program (EFAULT, then EINVAL), the mode, the threads TSYNC must reach, and the
// instructions of the whole stack (ENOMEM).
func (t *Task) seccompSetFilter(flags uint32, uargs mm.Addr) (uint64, error) {
	const known = abi.SECCOMP_FILTER_FLAG_TSYNC | abi.SECCOMP_FILTER_FLAG_LOG |
		abi.SECCOMP_FILTER_FLAG_SPEC_ALLOW | abi.SECCOMP_FILTER_FLAG_NEW_LISTENER |
		abi.SECCOMP_FILTER_FLAG_TSYNC_ESRCH | abi.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	tsync := flags&abi.SECCOMP_FILTER_FLAG_TSYNC != 0
	listener := flags&abi.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
	switch {
	case flags&^known != 0,
		tsync && listener && flags&abi.SECCOMP_FILTER_FLAG_TSYNC_ESRCH == 0,
		flags&abi.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 && !listener:
		return 0, unix.EINVAL
	}
	var fp [16]byte // struct sock_fprog: unsigned short len, then the pointer
	if err := t.p.mm.CopyIn(uargs, fp[:]); err != nil {
		return 0, err
	}
	n := int(binary.LittleEndian.Uint16(fp[0:]))
	if n == 0 || n > abi.BPF_MAXINSNS {
		return 0, unix.EINVAL
	}
	if !t.seccomp.nnp && !t.p.creds.capable(capSysAdmin) {
		return 0, unix.EACCES
	}
	raw := make([]byte, n*bpfInsnSize)
	if err := t.p.mm.CopyIn(mm.Addr(binary.LittleEndian.Uint64(fp[8:])), raw); err != nil {
		return 0, err
	}
	prog := decodeBPF(raw)
	if err := checkSeccompBPF(prog); err != nil {
		return 0, err
	}
	if listener && t.p.files.full() {
		return 0, unix.EMFILE
	}
	if m := t.seccomp.mode; m != 0 && m != abi.SECCOMP_MODE_FILTER {
		return 0, unix.EINVAL
	}
	if listener && t.seccomp.hasListener() {
		return 0, unix.EBUSY // has_duplicate_listener()
	}
	f := &seccompFilter{prog: prog, prev: t.seccomp.filter, log: flags&abi.SECCOMP_FILTER_FLAG_LOG != 0, path: ebpfLen(prog)}
	if f.prev != nil {
		f.path += f.prev.path + seccompFilterPenalty
	}
	if f.path > seccompMaxPath {
		return 0, unix.ENOMEM
	}
	if tsync {
		// Every other thread must have no filter or one the caller's stack contains.
		for _, o := range t.p.tasks {
			if o == t || o.state == taskDead || o.seccomp.mode == 0 {
				continue
			}
			if o.seccomp.mode == abi.SECCOMP_MODE_FILTER && t.seccomp.contains(o.seccomp.filter) {
				continue
			}
			if flags&abi.SECCOMP_FILTER_FLAG_TSYNC_ESRCH != 0 {
				return 0, unix.ESRCH
			}
			return uint64(o.tid), nil
		}
	}
	var ret uint64
	if listener {
		l, hfd, err := newSeccompListener()
		if err != nil {
			return 0, err
		}
		fd, err := t.p.files.install(listenerFileFor(l, hfd), true, 0)
		if err != nil {
			unix.Close(hfd)
			return 0, err
		}
		f.listener, ret = l, uint64(fd)
	}
	t.seccomp.filter, t.seccomp.mode = f, abi.SECCOMP_MODE_FILTER
	users := 1
	if tsync {
		for _, o := range t.p.tasks {
			if o != t && o.state != taskDead {
				o.seccomp.filter, o.seccomp.mode = f, abi.SECCOMP_MODE_FILTER
				o.seccomp.nnp = o.seccomp.nnp || t.seccomp.nnp
				users++
			}
		}
	}
	if l := f.listener; l != nil {
		l.mu.Lock()
		l.users = users
		l.mu.Unlock()
	}
	t.p.setFastCalls()
	return ret, nil
}

// contains reports whether f is one of the state's filters (nil is in every stack).
func (st *seccompState) contains(f *seccompFilter) bool {
	if f == nil {
		return true
	}
	for g := st.filter; g != nil; g = g.prev {
		if g == f {
			return true
		}
	}
	return false
}

// filters counts the thread's filters, for /proc/self/status.
func (st *seccompState) filters() int {
	n := 0
	for g := st.filter; g != nil; g = g.prev {
		n++
	}
	return n
}

// seccompSyscall runs the filters for a call through SYSCALL; it reports whether the
// call goes on to its handler. When it does not, s.Ret holds rax and the call is traced.
func (t *Task) seccompSyscall(s *emu.Syscall, a Args, recheck bool) bool {
	c := seccompCall{nr: uint32(s.Nr), arch: abi.AUDIT_ARCH_X86_64, ip: s.RIP + 2, args: a, rax: s.Nr}
	t.seccomp.recheck = recheck
	c.wait = true
	run, rax, what := t.seccompEnter(&c)
	t.seccomp.recheck = false
	if run {
		return true
	}
	if what == seccompNotifying {
		f := t.seccompNotifyOn
		t.seccompNotifyOn = nil
		if t.seccompNotify(f, &c) {
			// The thread waits for its supervisor's answer, as for a blocking call.
			t.pending.nr, t.pending.args = s.Nr, a
			t.p.counts.count(s.Nr)
			t.p.publishFatal()
			s.Stop()
			return false
		}
		rax, what = errnoRet(unix.ENOSYS), ""
	}
	if what == seccompTraced {
		t.seccompStop(s, uint32(rax))
		return false
	}
	t.p.counts.count(s.Nr)
	t.p.publishFatal() // SIGSYS may have been unblocked and its action reset
	s.Ret = rax
	if t.trace {
		t.traceSeccomp(s.Nr, a, rax, what)
	}
	s.Stop()
	return false
}

// seccompNotifying is seccompEnter's word for a SECCOMP_RET_USER_NOTIF with a listener.
const seccompNotifying = "notify"

// seccompTraced is seccompEnter's word for a SECCOMP_RET_TRACE its tracer stops for.
const seccompTraced = "traced"

// tracesSeccomp says whether t's tracer asked for seccomp stops.
func (t *Task) tracesSeccomp() bool {
	d := t.p.dbg
	return d != nil && d.pt != nil && !d.detached && d.pt.options.Load()&abi.PTRACE_O_TRACESECCOMP != 0
}

// seccompStop stops t for its tracer at a SECCOMP_RET_TRACE (PTRACE_EVENT_SECCOMP, with
// the filter's data for PTRACE_GETEVENTMSG), as Linux's __seccomp_filter(): the tracer
// sees the call as at its entry stop and may change or skip it (orig_rax); then the
// call starts again, its filters run once more, where a trace lets it through, and it
// runs with no second entry stop.
func (t *Task) seccompStop(s *emu.Syscall, data uint32) {
	d := t.p.dbg
	t.seccompRecheck = true
	d.pt.setEventMsg(t.tid, uint64(data))
	d.entryStop(t, s, func(t *Task) abi.Siginfo {
		return abi.Siginfo{Signo: abi.SIGTRAP, Code: abi.SIGTRAP | abi.PTRACE_EVENT_SECCOMP<<8,
			Pid: int32(t.p.pid), UID: t.p.creds.ruid}
	}, DebugStop{Kind: Signalled, Tid: t.tid, Signal: abi.SIGTRAP, Event: abi.PTRACE_EVENT_SECCOMP})
}

// traceSeccomp traces a call the seccomp mode did not let run: its errno, or "?" with
// what happened instead.
func (t *Task) traceSeccomp(nr uint64, a Args, rax uint64, what string) {
	if what == "" {
		t.traceCall(nr, a, rax)
		return
	}
	t.traceEnd(nr, a, rax, " (seccomp: "+what+")")
}
