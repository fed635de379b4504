package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// unshareValid are the flags unshare(2) knows.
const unshareValid = abi.CLONE_THREAD | abi.CLONE_FS | abi.CLONE_NEWNS | abi.CLONE_SIGHAND |
	abi.CLONE_VM | abi.CLONE_FILES | abi.CLONE_SYSVSEM | abi.CLONE_NEWUTS | abi.CLONE_NEWIPC |
	abi.CLONE_NEWNET | abi.CLONE_NEWUSER | abi.CLONE_NEWPID | abi.CLONE_NEWCGROUP | abi.CLONE_NEWTIME

// namespaceFlags are the flags that ask for new namespaces.
const namespaceFlags = abi.CLONE_NEWNS | abi.CLONE_NEWUTS | abi.CLONE_NEWIPC | abi.CLONE_NEWNET |
	abi.CLONE_NEWUSER | abi.CLONE_NEWPID | abi.CLONE_NEWCGROUP | abi.CLONE_NEWTIME

// unshareNote is what the table says of unshare.
const unshareNote = "new namespaces are EPERM, as for an unprivileged process in a container"

// sysUnshare implements unshare(2) with Linux's checks. CLONE_FILES and CLONE_FS give
// the caller its own descriptor table and working directory when another thread shares
// them (threadfiles.go); the semaphore undo list is already the process's own after
// fork, so CLONE_SYSVSEM has nothing to copy; CLONE_THREAD, CLONE_SIGHAND and CLONE_VM
// are allowed only to a process with one thread, as on Linux.
func sysUnshare(t *Task, a Args) (uint64, error) {
	flags := a[0]
	if flags&^uint64(unshareValid) != 0 {
		return 0, unix.EINVAL
	}
	if flags&abi.CLONE_NEWUSER != 0 {
		flags |= abi.CLONE_THREAD | abi.CLONE_FS
	}
	if flags&abi.CLONE_VM != 0 {
		flags |= abi.CLONE_SIGHAND
	}
	if flags&abi.CLONE_SIGHAND != 0 {
		flags |= abi.CLONE_THREAD
	}
	if flags&abi.CLONE_NEWNS != 0 {
		flags |= abi.CLONE_FS
	}
	if flags&(abi.CLONE_THREAD|abi.CLONE_SIGHAND|abi.CLONE_VM) != 0 && t.p.liveThreads() > 1 {
		return 0, unix.EINVAL
	}
	if flags&namespaceFlags != 0 {
		return 0, unix.EPERM
	}
	return 0, t.unshareTables(flags)
}

// liveThreads counts the process's threads that have not exited.
func (p *Process) liveThreads() int {
	return p.live
}

// kcmp(2) types.
const (
	kcmpFile     = 0
	kcmpVM       = 1
	kcmpFiles    = 2
	kcmpFS       = 3
	kcmpSighand  = 4
	kcmpIO       = 5
	kcmpSysvsem  = 6
	kcmpEpollTfd = 7
)

// sysKcmp implements kcmp(2) between guest threads: files compare the host's open file
// descriptions behind the descriptors (the host's own kcmp on vemu's descriptors);
// the other resources belong to a process in vemu, so two threads share them exactly
// when they belong to one process. Unequal resources are ordered by pid.
func sysKcmp(t *Task, a Args) (uint64, error) {
	k := t.p.k
	k.pt.mu.Lock()
	p1, p2 := t.kcmpTarget(a.Int(0)), t.kcmpTarget(a.Int(1))
	k.pt.mu.Unlock()
	if p1 == nil || p2 == nil {
		return 0, unix.ESRCH
	}
	order := func(same bool) (uint64, error) {
		switch {
		case same:
			return 0, nil
		case p1.pid < p2.pid:
			return 1, nil
		}
		return 2, nil
	}
	switch a.Int(2) {
	case kcmpFile:
		fd1, err := p1.files.dupHost(int32(a[3]))
		if err != nil {
			return 0, err
		}
		defer unix.Close(fd1)
		fd2, err := p2.files.dupHost(int32(a[4]))
		if err != nil {
			return 0, err
		}
		defer unix.Close(fd2)
		pid := unix.Getpid()
		r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(pid), uintptr(pid), kcmpFile, uintptr(fd1), uintptr(fd2), 0)
		if e != 0 {
			return 0, e
		}
		return uint64(r), nil
	case kcmpFiles, kcmpFS:
		if p1 == t.p && p2 == t.p {
			// Threads of the caller's process may have tables of their own.
			t1, t2 := t.p.thread(int(a.Int(0))), t.p.thread(int(a.Int(1)))
			if t1 != nil && t2 != nil {
				f1, s1 := t.p.tablesOf(t1)
				f2, s2 := t.p.tablesOf(t2)
				if a.Int(2) == kcmpFiles {
					return order(f1 == f2)
				}
				return order(s1 == s2)
			}
		}
		return order(p1 == p2)
	case kcmpVM, kcmpSighand, kcmpIO, kcmpSysvsem:
		return order(p1 == p2)
	case kcmpEpollTfd:
		return 0, unix.EINVAL
	}
	return 0, unix.EINVAL
}

// kcmpTarget is the live process with thread pid (0 is not a thread); the caller holds
// pt.mu.
func (t *Task) kcmpTarget(pid int32) *Process {
	if pid <= 0 {
		return nil
	}
	q := t.p.k.lookupLocked(int(pid))
	if q == nil || q.zombie || q.files == nil {
		return nil
	}
	return q
}
