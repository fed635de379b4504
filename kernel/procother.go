package kernel

import (
	"encoding/binary"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/loader"
)

// Other guest processes' /proc/PID/{stat,status,cmdline,comm}: what a parent reads to
// learn a child's state; and their auxv and maps, which a debugger reads to find the
// vDSO. Another process's state belongs to its run loop, so these render what it
// publishes (its program and auxiliary vector at exec, its run state as its loop goes
// idle or runs) and the ids kept under pt.mu; maps and cmdline (its memory, which the
// program may rewrite) are rendered on its loop.

// execPub is what a process publishes of its program for other processes' /proc reads.
type execPub struct {
	comm string
	auxv []byte
	exe  string // the program's host path
	// The strings exec gave it, each ended by a NUL: what cmdline and environ show when
	// its loop does not answer in time (see onLoopRender.fallback).
	cmdline, environ []byte
}

// publishExec records p's program, at its start and at each exec, and again once the
// program's auxiliary vector is known.
func (p *Process) publishExec() {
	p.pubExec.Store(&execPub{comm: p.comm, auxv: auxvBytes(p.auxv), exe: p.exe,
		cmdline: []byte(joinNul(p.argv)), environ: []byte(joinNul(p.envp))})
}

// auxvBytes is the auxiliary vector as /proc/PID/auxv has it: type and value pairs,
// ending with AT_NULL.
func auxvBytes(auxv []loader.Aux) []byte {
	b := make([]byte, 0, 16*(len(auxv)+1))
	for _, a := range auxv {
		b = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, a.Type), a.Val)
	}
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, 0), 0)
}

// runState is the state letter another process sees: Z once exited, T stopped, S
// waiting with no thread runnable, R otherwise.
func (p *Process) runStateLocked() (byte, string) {
	switch {
	case p.zombie:
		return 'Z', "zombie"
	}
	switch byte(p.pubState.Load()) {
	case 'T':
		return 'T', "stopped"
	case 't':
		return 't', "tracing stop"
	case 'S':
		return 'S', "sleeping"
	}
	return 'R', "running"
}

// otherProcMem finds the guest process whose /proc/PID/mem p names, other than the
// caller's, and checks the caller may reach its memory (as ptrace may attach: the same
// ids, or CAP_SYS_PTRACE).
func (t *Task) otherProcMem(p string) (*Process, bool, error) {
	rest, ok := strings.CutPrefix(path.Clean(p), "/proc/")
	if !ok {
		return nil, false, nil
	}
	head, name, ok := strings.Cut(rest, "/")
	pid, err := strconv.Atoi(head)
	if !ok || err != nil || pid <= 0 || pid == t.p.pid {
		return nil, false, nil
	}
	k := t.p.k
	k.pt.mu.Lock()
	q := k.pt.procs[pid]
	k.pt.mu.Unlock()
	if q == nil {
		return nil, false, nil
	}
	if task, ok := strings.CutPrefix(name, "task/"); ok {
		// /proc/PID/task/TID/mem: the same memory, for a thread of the process.
		tid, rest, ok := strings.Cut(task, "/")
		n, err := strconv.Atoi(tid)
		if !ok || err != nil || k.threadOwner(n) != q {
			return nil, false, nil
		}
		name = rest
	}
	if name != "mem" {
		return nil, false, nil
	}
	q, err = t.vmTarget(int32(pid))
	if err == unix.EPERM {
		err = unix.EACCES // as Linux's mm_access() at open
	}
	return q, true, err
}

// otherProcNs names the namespace that /proc/PID/ns/NAME (or a thread's) is, for a
// live guest process other than the caller's.
func (t *Task) otherProcNs(p string) (string, bool) {
	rest, ok := strings.CutPrefix(path.Clean(p), "/proc/")
	if !ok {
		return "", false
	}
	head, name, _ := strings.Cut(rest, "/")
	pid, err := strconv.Atoi(head)
	if err != nil || pid <= 0 || pid == t.p.pid {
		return "", false
	}
	if task, ok := strings.CutPrefix(name, "task/"); ok {
		_, name, _ = strings.Cut(task, "/")
	}
	ns, ok := strings.CutPrefix(name, "ns/")
	if !ok || ns == "" || strings.Contains(ns, "/") || t.p.k.threadOwner(pid) == nil {
		return "", false
	}
	return ns, true
}

// otherGuestProcPath reports whether p is /proc/N or below it, where N is the pid or a
// thread id of a guest process other than the caller's (a zombie's too), or a pid vemu
// gave out to the guest whose process was reaped (see hostPid). What vemu renders of a
// live one is answered before the path is resolved (otherProcFile, otherProcMem,
// otherProcNs); the host's entry of that number is an unrelated process's.
func (t *Task) otherGuestProcPath(p string) bool {
	rest, ok := strings.CutPrefix(cleanAbs(p), "/proc/")
	if !ok {
		return false
	}
	head, _, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(head)
	if err != nil || n <= 0 {
		return false
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if q := k.lookupLocked(n); q != nil {
		return q != t.p
	}
	return k.pt.gaveLocked(n)
}

// otherProcFile renders /proc/PID/NAME, or /proc/PID/task/TID/NAME for one of its
// threads, for a guest process other than the caller's. Whatever a host process of the
// same pid would show is never read in its place: the two are unrelated. auxv and maps
// are refused (EACCES) as Linux refuses them to a caller that may not trace the process.
func (t *Task) otherProcFile(p string) ([]byte, bool, error) {
	c := path.Clean(p) // "/proc/.." is "/"
	if !strings.HasPrefix(c, "/proc/") {
		return nil, false, nil
	}
	head, name, ok := strings.Cut(c[len("/proc/"):], "/")
	pid, err := strconv.Atoi(head)
	if !ok || err != nil || pid <= 0 {
		return nil, false, nil
	}
	k := t.p.k
	id := pid
	thread := false // a thread's directory: task/TID
	if task, ok := strings.CutPrefix(name, "task/"); ok {
		tid, rest, ok := strings.Cut(task, "/")
		n, err := strconv.Atoi(tid)
		if !ok || err != nil || n <= 0 {
			return nil, false, nil
		}
		id, name, thread = n, rest, true
	}
	if top, _, _ := strings.Cut(name, "/"); thread && processOnly(top) || !thread && threadOnly(top) {
		return nil, false, nil
	}
	k.pt.mu.Lock()
	q := k.pt.procs[pid]
	if q == nil || q == t.p || (id != pid && k.pt.tids[id] != q) {
		k.pt.mu.Unlock()
		return nil, false, nil
	}
	pub := q.pubExec.Load()
	if pub == nil {
		k.pt.mu.Unlock()
		return nil, false, nil
	}
	st, word := q.runStateLocked()
	switch name {
	case "comm":
		k.pt.mu.Unlock()
		return []byte(pub.comm + "\n"), true, nil
	case "cmdline":
		zombie := q.zombie
		k.pt.mu.Unlock()
		if zombie {
			return nil, true, nil
		}
		// Read from its memory, on its loop (see openOnLoop).
		return nil, true, onLoopRender{q: q, render: func() []byte {
			if q.exit != nil {
				return nil
			}
			return q.cmdlineNow()
		}, bounded: true, fallback: pub.cmdline}
	case "stat":
		// exit_code (the last field) is the status wait would report, once exited.
		exitCode := 0
		if q.zombie && q.exit != nil {
			exitCode = q.exit.WaitStatus()
		}
		ttyNr, tpgid := k.ttyFieldsLocked(q)
		threads := k.threadCountLocked(q)
		zombie := q.zombie
		text := []byte(fmt.Sprintf("%d (%s) %c %d %d %d %d %d 4194304 0 0 0 0 0 0 0 0 20 %d %d 0 %d 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 %d 0 0 0 0 0 0 0 0 0 0 0 0 0 %d\n",
			id, pub.comm, st, q.ppid, q.pgid, q.sid, ttyNr, tpgid, q.nice, threads, q.startTicks, q.exitSignal, exitCode))
		k.pt.mu.Unlock()
		if zombie {
			return text, true, nil // no memory, no times of its own
		}
		return nil, true, q.stateOnLoop(id, name, text)
	case "status":
		zombie := q.zombie
		c := &q.creds
		groups := make([]string, len(c.groups))
		for i, g := range c.groups {
			groups[i] = strconv.FormatUint(uint64(g), 10)
		}
		text := []byte(fmt.Sprintf("Name:\t%s\nState:\t%c (%s)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t%d\nUid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\nGroups:\t%s \nThreads:\t%d\n",
			pub.comm, st, word, q.pid, id, q.ppid, q.tracerPidLocked(), c.ruid, c.euid, c.suid, c.fsuid,
			c.rgid, c.egid, c.sgid, c.fsgid, strings.Join(groups, " "), k.threadCountLocked(q)))
		k.pt.mu.Unlock()
		if zombie {
			return text, true, nil
		}
		return nil, true, q.stateOnLoop(id, name, text)
	case "statm":
		zombie := q.zombie
		k.pt.mu.Unlock()
		if zombie {
			return []byte("0 0 0 0 0 0 0\n"), true, nil
		}
		return nil, true, q.stateOnLoop(id, name, []byte("0 0 0 0 0 0 0\n"))
	case "wchan":
		k.pt.mu.Unlock()
		return []byte("0"), true, nil // see procFile
	case "limits":
		// Anyone may read it (prlimit's rule is for changing them): on q's loop.
		zombie := q.zombie
		k.pt.mu.Unlock()
		if zombie {
			return nil, true, nil
		}
		return nil, true, q.miscOnLoop(name)
	case "sched", "schedstat":
		// Anyone may read them; the numbers are kept on q's loop. Without it, what is
		// known here: the name, and zeros.
		fb := schedNums{comm: pub.comm, tid: id, threads: k.threadCountLocked(q), nice: q.nice, policy: q.policy}
		zombie := q.zombie
		k.pt.mu.Unlock()
		text := func(n schedNums) []byte {
			if name == "sched" {
				return n.schedText()
			}
			return n.schedstatText()
		}
		if zombie {
			return text(fb), true, nil
		}
		return nil, true, onLoopRender{q: q, render: func() []byte {
			th := q.thread(id)
			if q.exit != nil || th == nil {
				return text(fb)
			}
			return text(th.schedNumsOf())
		}, bounded: true, fallback: text(fb)}
	case "auxv", "maps", "smaps", "smaps_rollup", "io", "personality", "numa_maps", "timers", "ksm_stat",
		"ksm_merging_pages":
	case "children":
		k.pt.mu.Unlock()
		return nil, true, onLoopRender{q: q, render: func() []byte {
			if th := q.thread(id); th != nil && q.exit == nil {
				return th.childrenText()
			}
			return nil
		}}
	default:
		k.pt.mu.Unlock()
		if _, attr := procAttrName(name); !attr && !slices.Contains(procMiscNames, name) && !slices.Contains(procExtraNames, name) {
			return nil, false, nil
		}
		// Anyone may read these (oom_score_adj, cgroup...): on q's loop, which owns them.
		return nil, true, q.miscOnLoop(name)
	}
	k.pt.mu.Unlock()
	// As Linux's mm_access() with PTRACE_MODE_READ: the caller must be allowed to trace.
	if _, err := t.vmTarget(int32(pid)); err == unix.EPERM {
		return nil, true, unix.EACCES
	} else if err != nil {
		return nil, true, nil // a zombie's: empty, as on Linux
	}
	if name == "auxv" {
		return pub.auxv, true, nil
	}
	if slices.Contains(procMiscNames, name) || slices.Contains(procExtraNames, name) {
		return nil, true, q.miscOnLoop(name)
	}
	// The mappings belong to q's loop: rendered there (a stopped tracee answers at once),
	// while the caller waits off its own (see openOnLoop).
	return nil, true, onLoopRender{q: q, render: func() []byte {
		if q.exit != nil {
			return nil
		}
		switch name {
		case "smaps", "smaps_rollup":
			return []byte(q.mm.Smaps(name == "smaps_rollup"))
		}
		return []byte(q.maps())
	}}
}

// stateOnLoop renders q's thread tid's stat, statm or status on q's loop, where its
// memory and times are; fallback, what the reader's side knows without it, is the answer
// when the loop does not answer in time or the thread is gone.
func (q *Process) stateOnLoop(tid int, name string, fallback []byte) onLoopRender {
	return onLoopRender{q: q, render: func() []byte {
		th := q.thread(tid)
		if q.exit != nil || th == nil {
			return fallback
		}
		q.k.pt.mu.Lock()
		st, word := q.runStateLocked()
		q.k.pt.mu.Unlock()
		return th.procState(name, st, word)
	}, bounded: true, fallback: fallback}
}

// miscOnLoop renders q's entry name of procMiscNames on q's loop.
func (q *Process) miscOnLoop(name string) onLoopRender {
	return onLoopRender{q: q, render: func() []byte {
		th := q.thread(q.pid)
		if q.exit != nil || th == nil {
			return nil
		}
		b, _ := th.procFile(name)
		return b
	}}
}

// onLoopRender is what otherProcFile answers for a file that another process's loop
// renders: the open waits for it off the caller's loop (openOnLoop).
type onLoopRender struct {
	q      *Process
	render func() []byte // runs on q's loop
	// With bounded, fallback is the answer when q's loop does not answer within
	// loopPatience (a thread running guest code sees no message until its next system
	// call), and at once in repeatable runs, where waiting would make the answer depend
	// on the host's timing: what exec gave it, for the files ps reads of every process.
	bounded  bool
	fallback []byte
}

// loopPatience is how long an open waits for another process's loop before it takes
// the fallback.
const loopPatience = 50 * time.Millisecond

func (onLoopRender) Error() string { return "rendered on another process's loop" }

// openOnLoop opens /proc file p, which r renders on another process's loop: the caller's
// thread waits off its own loop, so that two processes reading each other's files do
// not wait for each other.
func (t *Task) openOnLoop(r onLoopRender, p string, flags uint32) (uint64, error) {
	var b []byte
	if r.bounded && t.p.k.repeatable() {
		b = r.fallback
		hfd, err := memFile(path.Base(p), b, flags&abi.O_ACCMODE)
		if err != nil {
			return 0, err
		}
		return t.installFile(&File{fd: hfd, refs: 1, path: p, flags: flags, k: t.p.k, ops: &procText{name: path.Base(p), peer: r.q}}, flags)
	}
	return t.blockThen(func() (uint64, error) {
		if !r.bounded {
			onLoop(r.q, func() { b = r.render() })
			return 0, nil
		}
		got := make(chan []byte, 1) // the render may come after we gave up: it goes nowhere
		r.q.send(wakeup{fn: func() { got <- r.render() }})
		tm := time.NewTimer(loopPatience)
		defer tm.Stop()
		select {
		case b = <-got:
		case <-r.q.done:
		case <-tm.C:
			b = r.fallback
		}
		return 0, nil
	}, func(uint64, error) (uint64, error) {
		hfd, err := memFile(path.Base(p), b, flags&abi.O_ACCMODE)
		if err != nil {
			return 0, err
		}
		return t.installFile(&File{fd: hfd, refs: 1, path: p, flags: flags, k: t.p.k, ops: &procText{name: path.Base(p), peer: r.q}}, flags)
	})
}
