package kernel

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// signalHandlers are the handlers of this file's system calls, for calls made before the
// table has a row for them.
var signalHandlers = map[uint64]Handler{
	abi.SYS_RT_SIGRETURN:      sysRtSigreturn,
	abi.SYS_PAUSE:             sysPause,
	abi.SYS_ALARM:             sysAlarm,
	abi.SYS_GETITIMER:         sysGetitimer,
	abi.SYS_SETITIMER:         sysSetitimer,
	abi.SYS_RT_SIGPENDING:     sysRtSigpending,
	abi.SYS_RT_SIGTIMEDWAIT:   sysRtSigtimedwait,
	abi.SYS_RT_SIGQUEUEINFO:   sysRtSigqueueinfo,
	abi.SYS_RT_SIGSUSPEND:     sysRtSigsuspend,
	abi.SYS_RT_TGSIGQUEUEINFO: sysRtTgsigqueueinfo,
}

// callSig is call, through the table when it has the call and directly otherwise.
func callSig(t *Task, nr uint64, args ...uint64) int64 {
	if table[nr].Handler != nil {
		return call(t, nr, args...)
	}
	var a Args
	copy(a[:], args)
	r, err := signalHandlers[nr](t, a)
	var e unix.Errno
	if errors.As(err, &e) {
		return neg(e)
	}
	return int64(r)
}

func TestBuildFrame(t *testing.T) {
	regs := make([]uint64, len(emu.GPRs))
	for i := range regs {
		regs[i] = 0x1000 + uint64(i)
	}
	info := abi.Siginfo{Signo: abi.SIGSEGV, Code: abi.SEGV_ACCERR, Addr: 0xdead000}
	var b [abi.RtSigframeSize]byte
	stack := abi.StackT{Sp: 0x7000, Flags: abi.SS_DISABLE, Size: 0}
	fr := buildFrame(0x401000, regs, 0x246, sigFault{trapno: 14, err: 5, cr2: 0xdead000}, 0x400, stack, 0x7fff0040, info)
	fr.Marshal(b[:])
	le := binary.LittleEndian
	sc := b[abi.RtSigframeUcOffset+abi.UcontextMcontextOffset:]
	assert.Equal(t, uint64(0x401000), le.Uint64(b[0:]), "pretcode")
	assert.Equal(t, uint64(abi.UC_SIGCONTEXT_SS|abi.UC_STRICT_RESTORE_SS), le.Uint64(b[abi.RtSigframeUcOffset+0:]), "uc_flags")
	assert.Equal(t, uint64(0x7000), le.Uint64(b[abi.RtSigframeUcOffset+abi.UcontextStackOffset:]), "uc_stack.ss_sp")
	assert.Equal(t, uint32(abi.SS_DISABLE), le.Uint32(b[abi.RtSigframeUcOffset+abi.UcontextStackOffset+8:]), "uc_stack.ss_flags")
	for i := range regs {
		assert.Equal(t, regs[i], le.Uint64(sc[8*i:]), "gregs[%d]", i)
	}
	assert.Equal(t, uint64(0x246), le.Uint64(sc[abi.SigcontextEflagsOffset:]))
	assert.Equal(t, uint16(0x33), le.Uint16(sc[abi.SigcontextCSOffset:]), "cs")
	assert.Equal(t, uint16(0x2b), le.Uint16(sc[abi.SigcontextCSOffset+6:]), "ss")
	assert.Equal(t, uint64(5), le.Uint64(sc[abi.SigcontextErrOffset:]))
	assert.Equal(t, uint64(14), le.Uint64(sc[abi.SigcontextTrapnoOffset:]))
	assert.Equal(t, uint64(0x400), le.Uint64(sc[abi.SigcontextOldmaskOffset:]))
	assert.Equal(t, uint64(0xdead000), le.Uint64(sc[abi.SigcontextCR2Offset:]))
	assert.Equal(t, uint64(0x7fff0040), le.Uint64(sc[abi.SigcontextFpstateOffset:]))
	assert.Equal(t, uint64(0x400), le.Uint64(b[abi.RtSigframeUcOffset+abi.UcontextSigmaskOffset:]), "uc_sigmask")
	var got abi.Siginfo
	got.Unmarshal(b[abi.RtSigframeInfoOffset:])
	assert.Equal(t, info, got)
	assert.Equal(t, uint64(0xdead000), le.Uint64(b[abi.RtSigframeInfoOffset+16:]), "si_addr")
}

func TestLayoutFrame(t *testing.T) {
	for _, c := range []struct {
		name     string
		rsp      uint64
		flags    uint64
		alt      abi.StackT
		wantAlt  bool
		wantFail bool
	}{
		{name: "plain", rsp: 0x7ffff000},
		{name: "odd-rsp", rsp: 0x7fffefff},
		{name: "onstack-flag-without-altstack", rsp: 0x7ffff008, flags: abi.SA_ONSTACK},
		{name: "altstack", rsp: 0x7ffff000, flags: abi.SA_ONSTACK, alt: abi.StackT{Sp: 0x10000, Size: 0x4000}, wantAlt: true},
		{name: "altstack-not-asked", rsp: 0x7ffff000, alt: abi.StackT{Sp: 0x10000, Size: 0x4000}},
		{name: "already-on-altstack", rsp: 0x13000, flags: abi.SA_ONSTACK, alt: abi.StackT{Sp: 0x10000, Size: 0x4000}},
		{name: "altstack-overflow", rsp: 0x10100, flags: abi.SA_ONSTACK, alt: abi.StackT{Sp: 0x10000, Size: 0x4000}, wantFail: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := &taskSignals{altFlags: abi.SS_DISABLE}
			if c.alt.Size != 0 {
				require.NoError(t, ts.setAltStack(c.alt, 0))
			}
			l, err := ts.layoutFrame(c.rsp, c.flags)
			if c.wantFail {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.wantAlt, l.altstack)
			assert.Zero(t, (l.frame+8)%16, "rsp+8 is 16-byte aligned at handler entry")
			assert.Zero(t, l.fpstate%64, "fpstate is 64-byte aligned")
			assert.LessOrEqual(t, l.frame+abi.RtSigframeSize, l.fpstate, "frame below fpstate")
			if c.wantAlt {
				assert.LessOrEqual(t, l.fpstate+emu.FXSaveSize, mm.Addr(c.alt.Sp+c.alt.Size))
				assert.Greater(t, l.frame, mm.Addr(c.alt.Sp))
			} else {
				assert.LessOrEqual(t, l.fpstate+emu.FXSaveSize, mm.Addr(c.rsp-redZone), "below the red zone")
			}
		})
	}
}

func TestSetAltStack(t *testing.T) {
	ts := &taskSignals{altFlags: abi.SS_DISABLE}
	assert.Equal(t, int32(abi.SS_DISABLE), ts.altStackFlags(0x5000))
	assert.Equal(t, unix.ENOMEM, ts.setAltStack(abi.StackT{Sp: 0x1000, Size: abi.MINSIGSTKSZ - 1}, 0))
	assert.Equal(t, unix.EINVAL, ts.setAltStack(abi.StackT{Sp: 0x1000, Size: 0x4000, Flags: 7}, 0))
	require.NoError(t, ts.setAltStack(abi.StackT{Sp: 0x1000, Size: 0x4000}, 0))
	assert.Equal(t, int32(abi.SS_ONSTACK), ts.altStackFlags(0x2000))
	assert.Equal(t, int32(0), ts.altStackFlags(0x9000))
	assert.Equal(t, unix.EPERM, ts.setAltStack(abi.StackT{Flags: abi.SS_DISABLE}, 0x2000), "changed while on it")
	require.NoError(t, ts.setAltStack(abi.StackT{Flags: abi.SS_DISABLE}, 0x9000))
	assert.Equal(t, int32(abi.SS_DISABLE), ts.altStackFlags(0x2000))
}

func TestSigQueue(t *testing.T) {
	var q sigQueue
	c := &sigCount{limit: 100}
	assert.True(t, q.add(abi.Siginfo{Signo: abi.SIGUSR1, Pid: 1}, c))
	assert.True(t, q.add(abi.Siginfo{Signo: abi.SIGUSR1, Pid: 2}, c), "merged")
	for i := range 3 {
		assert.True(t, q.add(abi.Siginfo{Signo: abi.SIGRTMIN + 2, Code: abi.SI_QUEUE, Value: uint64(i)}, c))
	}
	assert.True(t, q.add(abi.Siginfo{Signo: abi.SIGSEGV}, c))
	assert.Equal(t, 5, c.n)
	assert.Equal(t, abi.SIGSEGV, q.next(^uint64(0)), "synchronous signals first")
	assert.Equal(t, abi.SIGUSR1, q.next(^sigBit(abi.SIGSEGV)))
	assert.Equal(t, 0, q.next(0))
	info, ok := q.take(abi.SIGUSR1, c)
	require.True(t, ok)
	assert.Equal(t, int32(1), info.Pid, "the first instance stays; later ones merge into it")
	_, ok = q.take(abi.SIGUSR1, c)
	assert.False(t, ok, "standard signals do not queue")
	for i := range 3 {
		info, ok := q.take(abi.SIGRTMIN+2, c)
		require.True(t, ok)
		assert.Equal(t, uint64(i), info.Value, "real-time signals queue in order")
	}
	assert.Equal(t, sigBit(abi.SIGSEGV), q.set)
	assert.Equal(t, 1, c.n)
}

func TestSigQueueLimit(t *testing.T) {
	var q sigQueue
	c := &sigCount{limit: 2}
	rt := abi.SIGRTMIN + 1
	for i := range 2 {
		assert.True(t, q.add(abi.Siginfo{Signo: int32(rt), Code: abi.SI_QUEUE, Value: uint64(i)}, c))
	}
	assert.False(t, q.add(abi.Siginfo{Signo: int32(rt), Code: abi.SI_QUEUE}, c), "sigqueue over the limit")
	assert.False(t, q.add(abi.Siginfo{Signo: int32(rt), Code: abi.SI_TKILL}, c), "tgkill over the limit")
	assert.True(t, q.add(abi.Siginfo{Signo: int32(rt), Code: abi.SI_USER, Pid: 9}, c), "kill is never refused")
	assert.True(t, q.add(abi.Siginfo{Signo: abi.SIGUSR1, Code: abi.SI_TKILL, Pid: 9}, c), "a standard signal loses its siginfo")
	assert.True(t, q.add(abi.Siginfo{Signo: abi.SIGUSR2, Code: abi.SI_USER, Pid: 9}, c), "kill of a standard signal queues")
	assert.Equal(t, 3, c.n)
	info, ok := q.take(abi.SIGUSR1, c)
	require.True(t, ok)
	assert.Equal(t, abi.Siginfo{Signo: abi.SIGUSR1, Code: abi.SI_USER}, info, "pending without siginfo")
	q.drop(rt, c)
	assert.Equal(t, 1, c.n)
	q.discard(c)
	assert.Equal(t, 0, c.n)
	assert.Zero(t, q.set)
}

// sigTask is a loaded process with handlers for SIGSEGV and SIGUSR1 at made-up addresses.
func sigTask(t *testing.T, flags uint64) *Task {
	task := loadTestTask(t)
	act := abi.Sigaction{Handler: 0x401000, Flags: abi.SA_SIGINFO | abi.SA_RESTORER | flags, Restorer: 0x402000,
		Mask: sigBit(abi.SIGUSR2)}
	var b [abi.SigactionSize]byte
	act.Marshal(b[:])
	addr := uint64(scratchRW) + 0x100
	require.NoError(t, task.p.mm.CopyOut(mm.Addr(addr), b[:]))
	for _, sig := range []uint64{abi.SIGSEGV, abi.SIGUSR1} {
		require.Equal(t, int64(0), call(task, abi.SYS_RT_SIGACTION, sig, addr, 0, 8))
	}
	return task
}

func TestFaultSignalFrameAndSigreturn(t *testing.T) {
	task := sigTask(t, 0)
	cpu := task.cpu
	rsp := cpu.Reg(emu.RSP)
	before := make([]uint64, len(emu.GPRs))
	for i := range before {
		before[i] = 0x5000 + uint64(i)
	}
	before[gprRSP] = rsp
	before[gprRIP] = 0x401234
	require.NoError(t, cpu.SetRegs(emu.GPRs, before))
	task.putSigmask(sigBit(abi.SIGUSR1))

	task.faultSignal(abi.SIGSEGV, abi.SEGV_MAPERR, 0x10, "test")
	require.Nil(t, task.p.exit, "delivered, not killed")

	frame := cpu.Reg(emu.RSP)
	assert.Less(t, frame, rsp-redZone)
	assert.Zero(t, (frame+8)%16)
	assert.Equal(t, uint64(0x401000), cpu.Reg(emu.RIP), "at the handler")
	assert.Equal(t, uint64(abi.SIGSEGV), cpu.Reg(emu.RDI))
	assert.Equal(t, frame+abi.RtSigframeInfoOffset, cpu.Reg(emu.RSI))
	assert.Equal(t, frame+abi.RtSigframeUcOffset, cpu.Reg(emu.RDX))
	assert.Equal(t, sigBit(abi.SIGUSR1)|sigBit(abi.SIGUSR2)|sigBit(abi.SIGSEGV), task.sigmask, "mask | sa_mask | sig")

	var b [abi.RtSigframeSize]byte
	require.NoError(t, task.p.mm.CopyIn(mm.Addr(frame), b[:]))
	le := binary.LittleEndian
	assert.Equal(t, uint64(0x402000), le.Uint64(b[0:]), "pretcode is the restorer")
	var info abi.Siginfo
	info.Unmarshal(b[abi.RtSigframeInfoOffset:])
	assert.Equal(t, abi.Siginfo{Signo: abi.SIGSEGV, Code: abi.SEGV_MAPERR, Addr: 0x10}, info)
	sc := b[abi.RtSigframeUcOffset+abi.UcontextMcontextOffset:]
	assert.Equal(t, uint64(0x401234), le.Uint64(sc[8*gprRIP:]))
	assert.Equal(t, rsp, le.Uint64(sc[8*gprRSP:]))
	assert.Equal(t, uint64(14), le.Uint64(sc[abi.SigcontextTrapnoOffset:]))
	assert.Equal(t, uint64(0x10), le.Uint64(sc[abi.SigcontextCR2Offset:]))
	assert.Equal(t, sigBit(abi.SIGUSR1), le.Uint64(b[abi.RtSigframeUcOffset+abi.UcontextSigmaskOffset:]))
	fp := le.Uint64(sc[abi.SigcontextFpstateOffset:])
	assert.Zero(t, fp%64)
	assert.Greater(t, fp, frame)

	// The handler changes rip and rax in the frame, then returns through the restorer:
	// ret pops pretcode, and the restorer's syscall finds the ucontext at rsp.
	le.PutUint64(sc[8*gprRIP:], 0x401240)
	le.PutUint64(sc[8*gprRAX:], 42)
	require.NoError(t, task.p.mm.CopyOut(mm.Addr(frame), b[:]))
	require.NoError(t, cpu.SetReg(emu.RSP, frame+8))
	task.posts = nil
	r := callSig(task, abi.SYS_RT_SIGRETURN)
	assert.Equal(t, int64(42), r)
	for _, f := range task.posts {
		f()
	}
	after := make([]uint64, len(emu.GPRs))
	require.NoError(t, cpu.Regs(emu.GPRs, after))
	want := append([]uint64(nil), before...)
	want[gprRIP], want[gprRAX] = 0x401240, 42
	assert.Equal(t, want, after)
	assert.Equal(t, sigBit(abi.SIGUSR1), task.sigmask, "mask restored")
}

func TestFaultSignalKillsWhenBlockedOrDefault(t *testing.T) {
	task := loadTestTask(t)
	task.faultSignal(abi.SIGFPE, abi.FPE_INTDIV, 0x401000, "division")
	require.NotNil(t, task.p.exit)
	assert.Equal(t, abi.SIGFPE, task.p.exit.Signal)
	assert.Equal(t, "division", task.p.exit.Detail)

	task = sigTask(t, 0)
	task.putSigmask(sigBit(abi.SIGSEGV))
	task.faultSignal(abi.SIGSEGV, abi.SEGV_ACCERR, 0x10, "blocked")
	require.NotNil(t, task.p.exit)
	assert.Equal(t, abi.SIGSEGV, task.p.exit.Signal)
}

func TestQueueAndDispatch(t *testing.T) {
	task := sigTask(t, abi.SA_RESETHAND|abi.SA_NODEFER)
	task.p.cur = task
	task.putSigmask(sigBit(abi.SIGUSR1))
	task.p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGUSR1, Code: abi.SI_USER, Pid: 7})
	task.p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGCHLD, Code: abi.SI_USER})
	assert.Equal(t, sigBit(abi.SIGUSR1), task.p.sigs().pending.set, "blocked: pending; SIGCHLD: ignored")
	rip := task.cpu.Reg(emu.RIP)
	task.dispatchSignals()
	assert.Equal(t, rip, task.cpu.Reg(emu.RIP), "nothing deliverable")

	task.p.stop = false
	require.Equal(t, int64(0), call(task, abi.SYS_RT_SIGPROCMASK, abi.SIG_SETMASK, putSigset(t, task, 0), 0, 8))
	assert.True(t, task.p.stop, "unblocking a pending signal stops the CPU")
	task.dispatchSignals()
	assert.Equal(t, uint64(0x401000), task.cpu.Reg(emu.RIP), "in the handler")
	assert.Zero(t, task.p.sigs().pending.set)
	assert.Equal(t, sigBit(abi.SIGUSR2), task.sigmask, "SA_NODEFER: the signal itself is not blocked")
	assert.Equal(t, uint64(abi.SIG_DFL), task.p.sigactions[abi.SIGUSR1].Handler, "SA_RESETHAND")

	// Default action now: the process dies with SIGUSR1.
	task.p.queueSignal(task, abi.Siginfo{Signo: abi.SIGUSR1, Code: abi.SI_TKILL})
	require.NotNil(t, task.p.exit)
	assert.Equal(t, abi.SIGUSR1, task.p.exit.Signal)
}

func putSigset(t *testing.T, task *Task, set uint64) uint64 {
	addr := uint64(scratchRW) + 0x200
	require.NoError(t, task.p.mm.CopyOut(mm.Addr(addr), binary.LittleEndian.AppendUint64(nil, set)))
	return addr
}

func TestSigtimedwaitTakesPending(t *testing.T) {
	task := sigTask(t, 0)
	task.p.cur = task
	task.putSigmask(sigBit(abi.SIGUSR1))
	require.Equal(t, int64(0), call(task, abi.SYS_TKILL, uint64(task.tid), abi.SIGUSR1))
	set := putSigset(t, task, sigBit(abi.SIGUSR1))
	infoAddr := uint64(scratchRW) + 0x400
	zero := uint64(scratchRW) + 0x300
	require.NoError(t, task.p.mm.CopyOut(mm.Addr(zero), make([]byte, 16)))
	assert.Equal(t, int64(abi.SIGUSR1), callSig(task, abi.SYS_RT_SIGTIMEDWAIT, set, infoAddr, zero, 8))
	var b [abi.SiginfoSize]byte
	require.NoError(t, task.p.mm.CopyIn(mm.Addr(infoAddr), b[:]))
	var info abi.Siginfo
	info.Unmarshal(b[:])
	assert.Equal(t, int32(abi.SI_TKILL), info.Code)
	assert.Equal(t, int32(task.p.pid), info.Pid)
	assert.Equal(t, neg(unix.EAGAIN), callSig(task, abi.SYS_RT_SIGTIMEDWAIT, set, infoAddr, zero, 8))
	assert.Equal(t, neg(unix.EINVAL), callSig(task, abi.SYS_RT_SIGTIMEDWAIT, set, infoAddr, zero, 4))
}

func TestSignalSyscallErrors(t *testing.T) {
	task := loadTestTask(t)
	task.p.cur = task
	for _, c := range []struct {
		name string
		nr   uint64
		args []uint64
		want unix.Errno
	}{
		{"kill-bad-signal", abi.SYS_KILL, []uint64{uint64(task.p.pid), 65}, unix.EINVAL},
		{"kill-other-process", abi.SYS_KILL, []uint64{99999}, unix.ESRCH},
		{"tkill-bad-tid", abi.SYS_TKILL, []uint64{0, 10}, unix.EINVAL},
		{"tkill-unknown-tid", abi.SYS_TKILL, []uint64{99999, 10}, unix.ESRCH},
		{"tgkill-other-process", abi.SYS_TGKILL, []uint64{99999, 99999, 10}, unix.ESRCH},
		{"sigsuspend-size", abi.SYS_RT_SIGSUSPEND, []uint64{uint64(scratchRW), 4}, unix.EINVAL},
		{"sigpending-size", abi.SYS_RT_SIGPENDING, []uint64{uint64(scratchRW), 16}, unix.EINVAL},
		{"sigqueueinfo-fault", abi.SYS_RT_SIGQUEUEINFO, []uint64{uint64(task.p.pid), 10, 0}, unix.EFAULT},
		{"sigaltstack-fault", abi.SYS_SIGALTSTACK, []uint64{8}, unix.EFAULT},
		{"setitimer-which", abi.SYS_SETITIMER, []uint64{7, 0, 0}, unix.EINVAL},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, neg(c.want), callSig(task, c.nr, c.args...))
		})
	}
	assert.Nil(t, task.p.exit)
	assert.Equal(t, int64(0), call(task, abi.SYS_KILL, uint64(task.p.pid), 0), "signal 0 checks only")
}

func TestSigsuspendSleepsAndWakes(t *testing.T) {
	task := sigTask(t, 0)
	task.p.cur = task
	task.putSigmask(sigBit(abi.SIGUSR1))
	var a Args
	a[0], a[1] = putSigset(t, task, sigBit(abi.SIGUSR2)), 8
	_, err := sysRtSigsuspend(task, a)
	require.ErrorIs(t, err, errBlocked, "nothing pending: the thread sleeps")
	assert.Equal(t, sigBit(abi.SIGUSR2), task.sigmask, "with the temporary mask")
	// What the run loop does with a blocked call.
	require.NotNil(t, task.pending)
	task.blocked, task.pending = task.pending, nil
	task.setState(taskBlocked)

	task.p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGUSR2, Code: abi.SI_USER})
	assert.Equal(t, taskBlocked, task.state, "a signal the temporary mask blocks does not wake it")
	task.p.queueSignal(nil, abi.Siginfo{Signo: abi.SIGUSR1, Code: abi.SI_USER})
	require.Equal(t, taskRunnable, task.state, "woken")
	require.NotNil(t, task.resume)
	assert.Equal(t, uint64(neg(unix.EINTR)), *task.resume)

	task.dispatchSignals()
	assert.Equal(t, uint64(0x401000), task.cpu.Reg(emu.RIP), "in the SIGUSR1 handler")
	frame := task.cpu.Reg(emu.RSP)
	var b [8]byte
	require.NoError(t, task.p.mm.CopyIn(mm.Addr(frame+abi.RtSigframeUcOffset+abi.UcontextSigmaskOffset), b[:]))
	assert.Equal(t, sigBit(abi.SIGUSR1), binary.LittleEndian.Uint64(b[:]), "the frame keeps the mask from before sigsuspend")
	assert.Equal(t, sigBit(abi.SIGUSR1)|sigBit(abi.SIGUSR2), task.sigmask, "handler mask: temporary | sa_mask | sig")
	assert.Equal(t, sigBit(abi.SIGUSR2), task.p.sigs().pending.set, "SIGUSR2 waits, blocked by the handler's mask")
}
