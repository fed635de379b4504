package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// The set of signals senders may treat as fatal follows the actions and the mask.
func TestFatalSetFollowsActionsAndMasks(t *testing.T) {
	task := sigTask(t, 0) // handlers for SIGSEGV and SIGUSR1
	p := task.p
	fatal := p.fatalAny.Load()
	for _, sig := range []int{abi.SIGKILL, abi.SIGTERM, abi.SIGINT, abi.SIGPIPE, abi.SIGQUIT} {
		assert.NotZero(t, fatal&sigBit(sig), abi.SignalName(sig))
	}
	for _, sig := range []int{abi.SIGUSR1, abi.SIGSEGV, abi.SIGCHLD, abi.SIGWINCH, abi.SIGCONT, abi.SIGSTOP} {
		assert.Zero(t, fatal&sigBit(sig), abi.SignalName(sig))
	}
	set := putSigset(t, task, sigBit(abi.SIGTERM)|sigBit(abi.SIGKILL))
	assert.Equal(t, int64(0), call(task, abi.SYS_RT_SIGPROCMASK, abi.SIG_BLOCK, set, 0, 8))
	assert.Zero(t, p.fatalAny.Load()&sigBit(abi.SIGTERM), "a blocked SIGTERM is not fatal")
	assert.Zero(t, p.fatalAll.Load()&sigBit(abi.SIGTERM))
	assert.NotZero(t, p.fatalAny.Load()&sigBit(abi.SIGKILL), "SIGKILL cannot be blocked")
}

func TestKillWaitErrors(t *testing.T) {
	task := loadTestTask(t)
	pid := uint64(task.p.pid)
	for _, c := range []struct {
		name string
		nr   uint64
		args []uint64
		want int64
	}{
		{"kill-bad-signal", abi.SYS_KILL, []uint64{pid, 1000}, neg(unix.EINVAL)},
		{"kill-negative-signal", abi.SYS_KILL, []uint64{pid, ^uint64(0)}, neg(unix.EINVAL)},
		{"kill-no-such-pid", abi.SYS_KILL, []uint64{pid + 77, 0}, neg(unix.ESRCH)},
		{"kill-int-min", abi.SYS_KILL, []uint64{uint64(1 << 31), 0}, neg(unix.ESRCH)},
		{"kill-all-but-self", abi.SYS_KILL, []uint64{^uint64(0), 0}, neg(unix.ESRCH)},
		{"kill-own-group", abi.SYS_KILL, []uint64{0, 0}, 0},
		{"kill-self", abi.SYS_KILL, []uint64{pid, 0}, 0},
		{"kill-empty-group", abi.SYS_KILL, []uint64{uint64(-int64(pid) - 77), 0}, neg(unix.ESRCH)},
		{"tkill-no-such-thread", abi.SYS_TKILL, []uint64{pid + 77, 0}, neg(unix.ESRCH)},
		{"tgkill-wrong-group", abi.SYS_TGKILL, []uint64{pid + 77, pid, 0}, neg(unix.ESRCH)},
		{"wait4-no-children", abi.SYS_WAIT4, []uint64{^uint64(0), 0, 0, 0}, neg(unix.ECHILD)},
		{"wait4-bad-options", abi.SYS_WAIT4, []uint64{^uint64(0), 0, 0x10000, 0}, neg(unix.EINVAL)},
		{"waitid-no-children", abi.SYS_WAITID, []uint64{abi.P_ALL, 0, 0, abi.WEXITED, 0}, neg(unix.ECHILD)},
		{"waitid-no-kind", abi.SYS_WAITID, []uint64{abi.P_ALL, 0, 0, abi.WNOHANG, 0}, neg(unix.EINVAL)},
		{"waitid-bad-idtype", abi.SYS_WAITID, []uint64{7, 0, 0, abi.WEXITED, 0}, neg(unix.EINVAL)},
		{"waitid-pid-0", abi.SYS_WAITID, []uint64{abi.P_PID, 0, 0, abi.WEXITED, 0}, neg(unix.EINVAL)},
		{"waitid-pidfd", abi.SYS_WAITID, []uint64{abi.P_PIDFD, 1, 0, abi.WEXITED, 0}, neg(unix.EBADF)},
		{"setpgid-not-a-child", abi.SYS_SETPGID, []uint64{pid + 77, 0}, neg(unix.ESRCH)},
		{"setpgid-session-leader", abi.SYS_SETPGID, []uint64{0, 0}, neg(unix.EPERM)}, // seeded: pid = sid
		{"getpgid-no-such-pid", abi.SYS_GETPGID, []uint64{pid + 77}, neg(unix.ESRCH)},
		{"getsid-self", abi.SYS_GETSID, []uint64{0}, int64(pid)},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, call(task, c.nr, c.args...))
		})
	}
}
