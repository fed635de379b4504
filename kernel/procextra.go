package kernel

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// More of a process's /proc entries, as Linux's on a kernel like the host's: its POSIX
// timers, a thread's children, the memory's NUMA view on one node, the soft-dirty and
// reference resets of clear_refs, the autogroup, the time namespace's offsets, the
// AVX-512 and KSM status, and the LSM attributes of a kernel with no LSM that uses them.

// procExtraNames are the regular files this file answers, for the listings.
var procExtraNames = []string{"arch_status", "autogroup", "clear_refs", "ksm_merging_pages", "ksm_stat", "numa_maps",
	"timens_offsets", "timers"}

// ownerOnly says whether name is a file of a process's directory that only its owner
// reads (mode 0400 or 0600).
func ownerOnly(name string) bool {
	switch name {
	case "auxv", "environ", "io", "ksm_merging_pages", "ksm_stat", "mem", "mountstats", "pagemap", "personality",
		"stack", "syscall":
		return true
	}
	return false
}

// procAttrNames are the entries of /proc/PID/attr (Linux's without an LSM's directory).
var procAttrNames = []string{"current", "exec", "fscreate", "keycreate", "prev", "sockcreate"}

// procAttrName says whether name is attr/X, and X.
func procAttrName(name string) (string, bool) {
	x, ok := strings.CutPrefix(name, "attr/")
	return x, ok && slices.Contains(procAttrNames, x)
}

// attrFile says whether name is one of attr's files, with its directory or without (a
// peer's file is named by its base name).
func attrFile(name string) bool {
	return slices.Contains(procAttrNames, strings.TrimPrefix(name, "attr/"))
}

// procNoRead says whether name is a file whose read fails with EINVAL, as Linux's: the
// LSM attributes, which no LSM answers, and clear_refs, which has no read method.
func procNoRead(name string) bool {
	return attrFile(name) || name == "clear_refs"
}

// procExtraFile renders one of these entries of t's (a thread's children; the others
// its process's), or false.
func (t *Task) procExtraFile(name string) ([]byte, bool) {
	p := t.p
	if _, ok := procAttrName(name); ok {
		return nil, true
	}
	switch name {
	case "arch_status":
		// Linux prints AVX512_elapsed_ms only on a CPU with AVX-512, which vemu's has not.
		return nil, true
	case "clear_refs":
		return nil, true
	case "ksm_merging_pages":
		return []byte("0\n"), true // vemu merges no pages
	case "ksm_stat":
		return ksmStat(), true
	case "timens_offsets":
		// The initial time namespace's: every guest process lives in it.
		return []byte(fmt.Sprintf("%-10s %10d %9d\n%-10s %10d %9d\n", "monotonic", 0, 0, "boottime", 0, 0)), true
	case "autogroup":
		return p.k.autogroupText(), true
	case "timers":
		return p.timersText(), true
	case "children":
		return t.childrenText(), true
	case "numa_maps":
		return []byte(p.mm.NumaMaps(t.numaPolicyAt)), true
	}
	return nil, false
}

// ksmStat is /proc/PID/ksm_stat for a process none of whose pages KSM merged: the lines
// of the host's kernel (vemu's own file), each with zero or no.
func ksmStat() []byte {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(hostOwnFile("ksm_stat"))), "\n") {
		key, _, ok := strings.Cut(l, " ")
		if !ok || key == "" {
			continue
		}
		if strings.HasSuffix(key, ":") {
			b.WriteString(key + " no\n")
		} else {
			b.WriteString(key + " 0\n")
		}
	}
	return []byte(b.String())
}

// autogroupText is /proc/PID/autogroup: vemu's autogroup, which every guest process is
// in, with the nice value the guest gave it (the host's is left alone).
func (k *Kernel) autogroupText() []byte {
	name, _, _ := strings.Cut(strings.TrimSpace(string(hostOwnFile("autogroup"))), " ")
	if name == "" {
		return nil
	}
	return []byte(fmt.Sprintf("%s nice %d\n", name, k.autogroupNice.Load()))
}

// timersText is /proc/PID/timers, as Linux's show_timer(): the newest timer first, each
// with its id, signal and value, how it notifies, and its clock as timer_create named it.
func (p *Process) timersText() []byte {
	tms := make([]*posixTimer, 0, len(p.timers.byID))
	for _, tm := range p.timers.byID {
		tms = append(tms, tm)
	}
	slices.SortFunc(tms, func(a, b *posixTimer) int { return cmp.Compare(b.made, a.made) })
	var b strings.Builder
	for _, tm := range tms {
		how := map[int32]string{0: "signal", 1: "none", 2: "thread"}[tm.notify&^abi.SIGEV_THREAD_ID]
		who, id := "pid", p.pid
		if tm.notify&abi.SIGEV_THREAD_ID != 0 && tm.target != nil {
			who, id = "tid", tm.target.tid
		}
		fmt.Fprintf(&b, "ID: %d\nsignal: %d/%016x\nnotify: %s/%s.%d\nClockID: %d\n",
			tm.id, tm.signo, tm.value, how, who, id, tm.named)
	}
	return []byte(b.String())
}

// childrenText is /proc/PID/task/TID/children: the pids of the children t forked (or
// inherited as a reaper), oldest first, each followed by a space, as Linux's
// get_children_pid(); zombies not yet waited for too.
func (t *Task) childrenText() []byte {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	var b []byte
	for _, c := range t.p.children {
		if c.parentTid == t.tid || c.parentTid == 0 && t.tid == t.p.pid || t.p.thread(c.parentTid) == nil && t.tid == t.p.pid {
			b = strconv.AppendInt(b, int64(c.pid), 10)
			b = append(b, ' ')
		}
	}
	return b
}

// clearRefs is a write to clear_refs, as Linux's clear_refs_write(): at most 12 bytes, a
// decimal number from 1 to 5 around spaces. 1 to 3 clear the referenced bits, of which
// vemu keeps none; 4 clears the soft-dirty bits, which pagemap shows from the host's
// pages of vemu's (so every guest process's of the run, as all are vemu's); 5 resets
// VmHWM to the present resident size.
func (p *Process) clearRefs(b []byte, count uint64) (uint64, error) {
	s := strings.TrimSpace(string(b[:min(len(b), 12)]))
	v, err := strconv.Atoi(strings.TrimPrefix(s, "+"))
	if err != nil || strings.HasPrefix(s, "+-") || strings.HasPrefix(s, "++") || v < 1 || v > 5 {
		return 0, unix.EINVAL
	}
	switch v {
	case 4:
		if err := os.WriteFile("/proc/self/clear_refs", []byte("4"), 0); err != nil {
			return 0, unix.EINVAL
		}
	case 5:
		u := p.mm.Usage()
		p.rssPeak = u.RSS()
	}
	return count, nil
}

// autogroupNice is a write to autogroup, as Linux's proc_pid_sched_autogroup_write(): a
// nice value from -20 to 19; lowering below 0 takes CAP_SYS_NICE.
func (k *Kernel) setAutogroupNice(b []byte, count uint64, nice bool) (uint64, error) {
	s := strings.TrimSpace(string(b[:min(len(b), 12)]))
	v, err := parseKernelInt(s)
	if err != nil || v < -20 || v > 19 {
		return 0, unix.EINVAL
	}
	if v < 0 && !nice {
		return 0, unix.EPERM
	}
	k.autogroupNice.Store(int32(v))
	return count, nil
}

// setTimensOffsets is a write to timens_offsets, as Linux's: lines "CLOCK SECS NSECS"
// (monotonic, boottime, or their numbers 1 and 7) are checked, then the offsets of the
// namespace the process's children would get refused: without CAP_SYS_TIME EPERM, and
// with it EACCES, as that is the initial namespace, whose offsets are frozen.
func setTimensOffsets(b []byte, count uint64, sysTime bool) (uint64, error) {
	if count > 4096 {
		return 0, unix.EINVAL
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return 0, unix.EINVAL
		}
		switch f[0] {
		case "monotonic", "boottime", "1", "7":
		default:
			return 0, unix.EINVAL
		}
		_, err1 := strconv.ParseInt(f[1], 10, 64)
		ns, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || ns >= 1e9 {
			return 0, unix.EINVAL
		}
	}
	if !sysTime {
		return 0, unix.EPERM
	}
	return 0, unix.EACCES
}

// numaPolicyAt names the policy of the mapping at start for numa_maps, as Linux's
// mpol_to_str(): mbind's for the range, else the thread's, else default.
func (t *Task) numaPolicyAt(start mm.Addr) string {
	pol := t.mempolicy
	for _, r := range t.p.mpolRanges {
		if r.start <= start && start < r.end {
			pol = r.pol
			break
		}
	}
	if pol == nil {
		return "default"
	}
	names := map[int]string{mpolDefault: "default", mpolPreferred: "prefer", mpolBind: "bind", mpolInterleave: "interleave",
		mpolLocal: "local", mpolPreferredMany: "prefer (many)", mpolWeightedInterleave: "weighted interleave"}
	s := names[pol.mode]
	if pol.mode == mpolDefault || pol.mode == mpolLocal {
		return s
	}
	switch {
	case pol.flags&mpolFStaticNodes != 0:
		s += "=static"
	case pol.flags&mpolFRelativeNodes != 0:
		s += "=relative"
	}
	if pol.flags&mpolFNumaBalancing != 0 {
		if pol.flags&(mpolFStaticNodes|mpolFRelativeNodes) != 0 {
			s += "|"
		} else {
			s += "="
		}
		s += "balancing"
	}
	s += ":"
	if pol.node0 {
		s += "0"
	}
	return s
}

// mapFile finds the mapping of a file that map_files/R names: R is its start and end as
// Linux prints them ("%lx-%lx").
func (p *Process) mapFile(r string) (mm.FileMapping, bool) {
	for _, m := range p.mm.FileMappings() {
		if fmt.Sprintf("%x-%x", uint64(m.Start), uint64(m.End)) == r {
			return m, true
		}
	}
	return mm.FileMapping{}, false
}

// procStandIn is the host file whose attributes stat shows for the entry name of the
// guest's own /proc directory: vemu's own entry of that name, with Linux's type and
// mode, which no call made through it can change (procfs refuses them); false for a
// name vemu does not answer, which is then absent. Contents never come from it.
func (t *Task) procStandIn(name string) (string, bool) {
	if _, ok := procAttrName(name); ok {
		return "/proc/self/" + name, true
	}
	if strings.HasPrefix(name, "map_files/") {
		return "", false // procAlias's and ownProcLink's
	}
	switch name {
	case "children":
		return "/proc/thread-self/children", true
	case "cwd", "exe", "fd", "fdinfo", "task", "ns", "net", "mounts", "mountinfo", "mountstats", "root":
		return "", false // answered before, or not at all (inside a root)
	}
	if slices.Contains(procSelfNames, name) || slices.Contains(procMiscNames, name) || slices.Contains(procExtraNames, name) {
		return "/proc/self/" + name, true
	}
	return "", false
}

// peerMapFiles finds, on q's loop, q's mappings of files while the caller waits off its
// own, then gives them to then, on the caller's loop (nil when q is gone).
func (t *Task) peerMapFiles(q *Process, then func([]mm.FileMapping) (uint64, error)) (uint64, error) {
	var ms []mm.FileMapping
	return t.blockThen(func() (uint64, error) {
		onLoop(q, func() {
			if q.exit == nil {
				ms = q.mm.FileMappings()
			}
		})
		return 0, nil
	}, func(uint64, error) (uint64, error) { return then(ms) })
}

// mapFileNamed is the mapping among ms that map_files/R names.
func mapFileNamed(ms []mm.FileMapping, r string) (mm.FileMapping, bool) {
	for _, m := range ms {
		if fmt.Sprintf("%x-%x", uint64(m.Start), uint64(m.End)) == r {
			return m, true
		}
	}
	return mm.FileMapping{}, false
}

// openPeerMapFiles opens another guest process's map_files directory (listed from its
// mappings at open) or, for a caller with CAP_SYS_ADMIN, the file an entry links to.
// Both need ptrace's read check, as on Linux.
func (t *Task) openPeerMapFiles(e peerEntry, p string, flags, mode uint32) (uint64, error) {
	if !t.mayRead(e.q) {
		return 0, unix.EACCES
	}
	if e.q.isZombie() {
		return 0, unix.ENOENT
	}
	r, entry := strings.CutPrefix(e.name, "map_files/")
	if entry && !t.p.creds.capable(capSysAdmin) && !t.p.creds.capable(capCheckpointRestore) {
		return 0, unix.EPERM
	}
	return t.peerMapFiles(e.q, func(ms []mm.FileMapping) (uint64, error) {
		if entry {
			m, ok := mapFileNamed(ms, r)
			if !ok || strings.HasSuffix(m.Name, " (deleted)") {
				return 0, unix.ENOENT
			}
			return t.openName(abi.AT_FDCWD, m.Name, flags, mode, false)
		}
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = fmt.Sprintf("%x-%x", uint64(m.Start), uint64(m.End))
		}
		stand := "/"
		if k := t.p.k; k.root != nil {
			stand = "/proc/self/fd/" + strconv.Itoa(k.root.fd)
		}
		hfd, err := unix.Open(stand, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		return t.installFile(&File{fd: hfd, refs: 1, path: p, flags: flags, k: t.p.k,
			ops: &procPeerDir{q: e.q, dir: e.dir + "/map_files", names: names}}, flags)
	})
}

// readlinkPeerMapFile is readlink of another guest process's map_files/R.
func (t *Task) readlinkPeerMapFile(e peerEntry, buf mm.Addr, size int32) (uint64, error) {
	if !t.mayRead(e.q) {
		return 0, unix.EACCES
	}
	return t.peerMapFiles(e.q, func(ms []mm.FileMapping) (uint64, error) {
		m, ok := mapFileNamed(ms, e.name[len("map_files/"):])
		if !ok {
			return 0, unix.ENOENT
		}
		return t.putLink(m.Name, buf, size)
	})
}

// mapFilesName says whether r is a name map_files could have: "%x-%x".
func mapFilesName(r string) bool {
	a, b, ok := strings.Cut(r, "-")
	x, err1 := strconv.ParseUint(a, 16, 64)
	y, err2 := strconv.ParseUint(b, 16, 64)
	return ok && err1 == nil && err2 == nil && strconv.FormatUint(x, 16) == a && strconv.FormatUint(y, 16) == b && x < y
}

// peerMapFileStat answers stat, lstat and statx of another guest process's map_files/R
// (p, relative to dirfd): whether R is one of its mappings is asked on its loop, then
// stat runs on the caller's with the path to stat: p itself (a link, see ownProcLink),
// or, followed, the mapped file's. ok false: p is no such entry.
func (t *Task) peerMapFileStat(dirfd int32, p string, follow bool, stat func(dirfd int32, p string) (uint64, error)) (uint64, error, bool) {
	e, ok := t.peerEntry(t.peerRelative(dirfd, p))
	if !ok || strings.Contains(e.dir, "/") || !strings.HasPrefix(e.name, "map_files/") {
		return 0, nil, false
	}
	switch {
	case !t.mayRead(e.q):
		return 0, unix.EACCES, true
	case follow && !t.p.creds.capable(capSysAdmin) && !t.p.creds.capable(capCheckpointRestore):
		return 0, unix.EPERM, true
	case e.q.isZombie():
		return 0, unix.ENOENT, true
	}
	r, err := t.peerMapFiles(e.q, func(ms []mm.FileMapping) (uint64, error) {
		m, ok := mapFileNamed(ms, e.name[len("map_files/"):])
		switch {
		case !ok:
			return 0, unix.ENOENT
		case !follow:
			return stat(dirfd, p)
		case strings.HasSuffix(m.Name, " (deleted)"):
			return 0, unix.ENOENT
		}
		return stat(abi.AT_FDCWD, m.Name)
	})
	return r, err, true
}
