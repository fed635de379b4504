package kernel

import (
	"os"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Process groups and their orphaning. POSIX calls a group orphaned when no member has a
// parent in another group of the same session: nobody left in the session to continue
// it (Linux's will_become_orphaned_pgrp(), where a parent that is init connects nothing).
// Linux answers it for three things: an exit that orphans a group holding a stopped
// member sends every member SIGHUP, then SIGCONT (kill_orphaned_pgrp(), from exit_notify
// for the exiting process's group and for the group of each child it leaves); a stop
// signal from the terminal (SIGTSTP, SIGTTIN, SIGTTOU) taken with its default action in
// an orphaned group is discarded; and a background read of the terminal fails with EIO.
// setpgid and setsid change which groups are orphaned but signal nobody, as on Linux.
//
// Each group keeps its live members and how many of them connect it (links): so the
// question costs O(1), and the changes that move a link cost what they touch — a
// process's own group and its children, as Linux's exit already walks them. Each group
// counts its stopped members as well, so that no exit walks a group but to signal it.

// pgroup is a process group's live members, guarded by procTable.mu.
type pgroup struct {
	members map[*Process]struct{}
	links   int // members whose parent lives in another group of their session
	stopped int // members stopped by a stop signal
}

// groupLink is a process's place in its group's count, guarded by procTable.mu.
type groupLink struct {
	filed   int  // the group it is counted in; 0 while in none (before birth, after exit)
	linked  bool // it counts among that group's links
	jobStop bool // it is stopped by a stop signal (Linux's SIGNAL_STOP_STOPPED)
	// The first process's parent outside vemu: its group and session, and whether they
	// are known (see hostParentLinks).
	hostPgid, hostSid int
	hostLinks         bool
}

// hostParentLinks says, for the first process, whether its parent outside vemu (the shell
// that started vemu) lives in another group of vemu's session: then it connects the first
// process's group, as long as that process keeps vemu's session and leaves that group.
// Repeatable runs (--seed) have no parent but init, which connects nothing.
func (k *Kernel) hostParentLinks(p *Process) {
	if k.cfg.HasSeed {
		return
	}
	pp := os.Getppid()
	pg, err1 := unix.Getpgid(pp)
	ps, err2 := unix.Getsid(pp)
	if err1 == nil && err2 == nil {
		p.hostPgid, p.hostSid = pg, ps
		p.hostLinks = true
	}
}

// linksLocked says whether p connects its group now.
func (p *Process) linksLocked() bool {
	par := p.parent
	if par == nil {
		return p.hostLinks && p.hostPgid != p.pgid && p.hostSid == p.sid
	}
	return !par.zombie && par.pgid != p.pgid && par.sid == p.sid
}

// fileGroupLocked counts the live process p in its group p.pgid.
func (k *Kernel) fileGroupLocked(p *Process) {
	if p.filed != 0 || p.zombie {
		return
	}
	if k.pt.groups == nil {
		k.pt.groups = map[int]*pgroup{}
	}
	g := k.pt.groups[p.pgid]
	if g == nil {
		g = &pgroup{members: map[*Process]struct{}{}}
		k.pt.groups[p.pgid] = g
	}
	g.members[p] = struct{}{}
	if p.jobStop {
		g.stopped++
	}
	p.filed = p.pgid
	p.linked = p.linksLocked()
	if p.linked {
		g.links++
	}
}

// unfileGroupLocked takes p out of the group it is counted in.
func (k *Kernel) unfileGroupLocked(p *Process) {
	if p.filed == 0 {
		return
	}
	g := k.pt.groups[p.filed]
	if p.linked {
		g.links--
	}
	if p.jobStop {
		g.stopped--
	}
	delete(g.members, p)
	if len(g.members) == 0 {
		delete(k.pt.groups, p.filed)
	}
	p.filed, p.linked = 0, false
}

// relinkLocked counts p again after its parent, or its parent's group, changed.
func (k *Kernel) relinkLocked(p *Process) {
	if p.filed == 0 {
		return
	}
	now := p.linksLocked()
	if now == p.linked {
		return
	}
	p.linked = now
	if now {
		k.pt.groups[p.filed].links++
	} else {
		k.pt.groups[p.filed].links--
	}
}

// regroupLocked moves p to group pgid and session sid, and counts its children again.
func (k *Kernel) regroupLocked(p *Process, pgid, sid int) {
	k.unfileGroupLocked(p)
	p.pgid, p.sid = pgid, sid
	k.fileGroupLocked(p)
	for _, c := range p.children {
		k.relinkLocked(c)
	}
}

// orphanedLocked says whether process group pgid is orphaned: no live member has a parent
// in another group of its session (a group with no live member is too).
func (k *Kernel) orphanedLocked(pgid int) bool {
	g := k.pt.groups[pgid]
	return g == nil || g.links == 0
}

// hasStoppedLocked says whether a member of group pgid is stopped (Linux's
// has_stopped_jobs()).
func (k *Kernel) hasStoppedLocked(pgid int) bool {
	g := k.pt.groups[pgid]
	return g != nil && g.stopped > 0
}

// setJobStopLocked records whether p is stopped by a stop signal.
func (k *Kernel) setJobStopLocked(p *Process, stopped bool) {
	if p.jobStop == stopped {
		return
	}
	p.jobStop = stopped
	if g := k.pt.groups[p.filed]; p.filed != 0 && g != nil {
		if stopped {
			g.stopped++
		} else {
			g.stopped--
		}
	}
}

// orphanedNowLocked says whether the exit or reparenting that just happened orphaned
// group pgid, which p's link to a parent in another group of the session (before the
// change: was) connected, and the group holds a stopped member: Linux's
// kill_orphaned_pgrp() then hangs it up. Under pt.mu.
func (k *Kernel) orphanedNowLocked(pgid int, was bool) bool {
	return was && k.orphanedLocked(pgid) && k.hasStoppedLocked(pgid)
}

// hangUpOrphans sends SIGHUP, then SIGCONT, to every member of each group, as Linux's
// kill_orphaned_pgrp() does with two signals to the whole group.
func (k *Kernel) hangUpOrphans(pgids []int) {
	for _, pgid := range pgids {
		members := k.group(pgid)
		for _, sig := range []int32{abi.SIGHUP, abi.SIGCONT} {
			for _, q := range members {
				q.signalFromOutside(0, abi.Siginfo{Signo: sig, Code: abi.SI_KERNEL})
			}
		}
	}
}

// groupOrphaned says whether p's process group is orphaned now.
func (p *Process) groupOrphaned() bool {
	k := p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	return k.orphanedLocked(p.pgid)
}
