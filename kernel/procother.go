package kernel

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Other guest processes' /proc/PID/{stat,status,cmdline,comm}: what a parent reads to
// learn a child's state. Another process's state belongs to its run loop, so these
// render what it publishes (its program and arguments at exec, its run state as its loop
// goes idle or runs) and the ids kept under pt.mu.

// execPub is what a process publishes of its program for other processes' /proc reads.
type execPub struct {
	comm    string
	cmdline []byte
}

// publishExec records p's program, at its start and at each exec.
func (p *Process) publishExec() {
	comm := path.Base(p.exe)
	if len(comm) > 15 {
		comm = comm[:15]
	}
	p.pubExec.Store(&execPub{comm: comm, cmdline: []byte(strings.Join(p.argv, "\x00") + "\x00")})
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

// otherProcFile renders /proc/PID/NAME for a guest process other than the caller's.
func (t *Task) otherProcFile(p string) ([]byte, bool) {
	if !strings.HasPrefix(p, "/proc/") {
		return nil, false
	}
	head, name, ok := strings.Cut(path.Clean(p)[len("/proc/"):], "/")
	pid, err := strconv.Atoi(head)
	if !ok || err != nil || pid <= 0 {
		return nil, false
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := k.pt.procs[pid]
	if q == nil || q == t.p {
		return nil, false
	}
	pub := q.pubExec.Load()
	if pub == nil {
		return nil, false
	}
	st, word := q.runStateLocked()
	switch name {
	case "comm":
		return []byte(pub.comm + "\n"), true
	case "cmdline":
		if q.zombie {
			return nil, true
		}
		return pub.cmdline, true
	case "stat":
		// exit_code (the last field) is the status wait would report, once exited.
		exitCode := 0
		if q.zombie && q.exit != nil {
			exitCode = q.exit.WaitStatus()
		}
		return []byte(fmt.Sprintf("%d (%s) %c %d %d %d 0 -1 4194304 0 0 0 0 0 0 0 0 20 %d 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 %d 0 0 0 0 0 0 0 0 0 0 0 0 0 %d\n",
			q.pid, pub.comm, st, q.ppid, q.pgid, q.sid, q.nice, q.exitSignal, exitCode)), true
	case "status":
		c := &q.creds
		return []byte(fmt.Sprintf("Name:\t%s\nState:\t%c (%s)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t%d\nUid:\t%d\t%d\t%d\t%d\n",
			pub.comm, st, word, q.pid, q.pid, q.ppid, q.tracerPidLocked(), c.ruid, c.euid, c.suid, c.fsuid)), true
	}
	return nil, false
}
