package kernel

import (
	"bytes"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Tasks, and the host's threads behind them. Linux's RLIMIT_NPROC bounds the tasks (threads
// and processes) of a user: a fork or clone past it fails with EAGAIN, unless the caller
// has CAP_SYS_RESOURCE or CAP_SYS_ADMIN. vemu applies the guest's limit to the guest's
// tasks. Its own threads count against the host's limit too, and the Go runtime ends vemu
// when it cannot make one: each guest process has an OS thread of its own, and a thread
// waiting in a host call may hold another, so under a finite host limit the guest may have
// at most a third of what is left of it once the user's other threads and vemu's own are
// counted.

// runtimeThreads is what vemu's Go runtime may use besides the guest's processes and
// waits: its scheduler, garbage collector, signal and timer threads.
const runtimeThreads = 16

// hostTaskBudget is how many guest tasks the host's RLIMIT_NPROC leaves room for; 0 when
// the host sets no bound (no finite limit, or vemu runs as root, whom Linux does not
// hold to it).
var hostTaskBudget = sync.OnceValue(func() int {
	lim := hostLimits.lim[abi.RLIMIT_NPROC].Max
	if lim == abi.RLIM_INFINITY || unix.Geteuid() == 0 {
		return 0
	}
	room := int64(lim) - int64(userThreads(unix.Getuid())) - runtimeThreads
	return int(max(room/3, 1))
})

// userThreads counts the host's threads whose real user is uid, from /proc.
func userThreads(uid int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	want := []byte("\t" + strconv.Itoa(uid) + "\t")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		var uidOK bool
		threads := 1
		for _, line := range bytes.Split(b, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
				uidOK = bytes.HasPrefix(v, want)
			} else if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
				if t, err := strconv.Atoi(string(bytes.TrimSpace(v))); err == nil {
					threads = t
				}
			}
		}
		if uidOK {
			n += threads
		}
	}
	return n
}

// taskRoom says whether t may make another task: EAGAIN past the guest's RLIMIT_NPROC
// (without CAP_SYS_RESOURCE or CAP_SYS_ADMIN) or past the host's budget (for anyone).
func (t *Task) taskRoom() error {
	k := t.p.k
	k.pt.mu.Lock()
	n := len(k.pt.procs) + len(k.pt.tids)
	k.pt.mu.Unlock()
	if lim := t.p.rlimits[abi.RLIMIT_NPROC].Cur; lim != abi.RLIM_INFINITY && uint64(n) >= lim &&
		!t.p.creds.capable(capSysResource) && !t.p.creds.capable(capSysAdmin) {
		return unix.EAGAIN
	}
	if b := hostTaskBudget(); b > 0 && n >= b {
		return unix.EAGAIN
	}
	return nil
}
