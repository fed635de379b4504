package kernel

import (
	"fmt"
	"golang.org/x/sys/unix"
	"strings"

	"vemu/abi"
)

// procInfo renders the guest's /proc/self/{status,stat,statm,limits} from the guest's own
// state, in Linux's formats (fs/proc/array.c and base.c): never vemu's host process.
// Numbers vemu does not keep (page faults, CPU times, scheduling) read as zero.
func (t *Task) procInfo(name string) []byte {
	p := t.p
	comm := t.commName()
	var vsize, rss uint64
	for v := range p.mm.VMAs() {
		vsize += v.Len()
	}
	rss = vsize // an upper bound; vemu does not count resident pages per process
	threads := p.live
	var ignored, caught uint64
	for sig := 1; sig < abi.NSIG; sig++ {
		switch p.sigactions[sig].Handler {
		case abi.SIG_DFL:
		case abi.SIG_IGN:
			ignored |= sigBit(sig)
		default:
			caught |= sigBit(sig)
		}
	}
	const page = 4096
	// A thread waiting in a system call sleeps; the reader itself, and any thread
	// that can run, is running.
	state, stateWord := 'R', "running"
	if t.state == taskBlocked {
		state, stateWord = 'S', "sleeping"
	}
	p.k.pt.mu.Lock()
	ppid, pgid, sid, nice := p.ppid, p.pgid, p.sid, p.nice // another process may change them
	ttyNr, tpgid := p.k.ttyFieldsLocked(p)
	p.k.pt.mu.Unlock()
	switch name {
	case "stat":
		// pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
		// cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
		// starttime vsize rss rsslim startcode endcode startstack kstkesp kstkeip signal
		// blocked sigignore sigcatch wchan nswap cnswap exit_signal processor rt_priority
		// policy delayacct_blkio_ticks guest_time cguest_time start_data end_data
		// start_brk arg_start arg_end env_start env_end exit_code
		return []byte(fmt.Sprintf("%d (%s) %c %d %d %d %d %d 4194304 0 0 0 0 0 0 0 0 20 %d %d 0 %d %d %d %d 0 0 %d 0 0 %d %d %d %d 0 0 0 %d %d 0 0 0 0 0 0 0 %d 0 0 0 0 0\n",
			t.tid, comm, state, ppid, pgid, sid, ttyNr, tpgid, nice, threads, p.startTicks, vsize, rss/page,
			p.rlimits[abi.RLIMIT_RSS].Cur, p.stackTop, p.sig.pending.set, t.sigmask, ignored, caught,
			p.exitSignal, t.cpuNum, uint64(p.mm.BrkStart)))
	case "statm":
		return []byte(fmt.Sprintf("%d %d 0 0 0 0 0\n", vsize/page, rss/page))
	case "limits":
		return []byte(limitsText(p.rlimits))
	}
	c := p.creds
	var groups []string
	for _, g := range c.groups {
		groups = append(groups, fmt.Sprint(g))
	}
	_, fs := p.tablesOf(t)
	if fs == nil { // no thread has tables of its own
		fs = p.fs
	}
	umask := fs.mask()
	var b strings.Builder
	fmt.Fprintf(&b, "Name:\t%s\nUmask:\t%04o\nState:\t%c (%s)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t%d\n",
		comm, umask, state, stateWord, p.pid, t.tid, ppid, p.tracerPid())
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\nFDSize:\t%d\nGroups:\t%s \n",
		c.ruid, c.euid, c.suid, c.fsuid, c.rgid, c.egid, c.sgid, c.fsgid, max(64, len(p.files.fds)), strings.Join(groups, " "))
	fmt.Fprintf(&b, "VmPeak:\t%8d kB\nVmSize:\t%8d kB\nVmLck:\t%8d kB\nVmRSS:\t%8d kB\nThreads:\t%d\n",
		vsize/1024, vsize/1024, p.mm.Locked()/1024, rss/1024, threads)
	fmt.Fprintf(&b, "SigQ:\t%d/%d\nSigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		p.sigQueued.n, p.rlimits[abi.RLIMIT_SIGPENDING].Cur, t.sig.pending.set, p.sig.pending.set, t.sigmask, ignored, caught)
	x := c.caps
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n", x.inh, x.prm, x.eff, x.bnd, x.amb)
	nnp := 0
	if t.seccomp.nnp {
		nnp = 1
	}
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t%d\nSeccomp_filters:\t%d\n", nnp, t.seccomp.mode, t.seccomp.filters())
	mask, list := cpuMaskText(t.mask())
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", mask, list)
	return []byte(b.String())
}

// limitsText renders /proc/self/limits.
func limitsText(r [abi.RLIM_NLIMITS]abi.Rlimit) string {
	rows := []struct {
		name, unit string
		res        int
	}{
		{"Max cpu time", "seconds", abi.RLIMIT_CPU},
		{"Max file size", "bytes", abi.RLIMIT_FSIZE},
		{"Max data size", "bytes", abi.RLIMIT_DATA},
		{"Max stack size", "bytes", abi.RLIMIT_STACK},
		{"Max core file size", "bytes", abi.RLIMIT_CORE},
		{"Max resident set", "bytes", abi.RLIMIT_RSS},
		{"Max processes", "processes", abi.RLIMIT_NPROC},
		{"Max open files", "files", abi.RLIMIT_NOFILE},
		{"Max locked memory", "bytes", abi.RLIMIT_MEMLOCK},
		{"Max address space", "bytes", abi.RLIMIT_AS},
		{"Max file locks", "locks", abi.RLIMIT_LOCKS},
		{"Max pending signals", "signals", abi.RLIMIT_SIGPENDING},
		{"Max msgqueue size", "bytes", abi.RLIMIT_MSGQUEUE},
		{"Max nice priority", "", abi.RLIMIT_NICE},
		{"Max realtime priority", "", abi.RLIMIT_RTPRIO},
		{"Max realtime timeout", "us", abi.RLIMIT_RTTIME},
	}
	val := func(v uint64) string {
		if v == ^uint64(0) {
			return "unlimited"
		}
		return fmt.Sprint(v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	for _, row := range rows {
		fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", row.name, val(r[row.res].Cur), val(r[row.res].Max), row.unit)
	}
	return b.String()
}

// cpuMaskText shows a CPU set as /proc's status does: hexadecimal words of 32 CPUs, the
// highest first, as wide as the CPUs vemu may use need; and a list of ranges.
func cpuMaskText(set unix.CPUSet) (string, string) {
	top := 0 // the highest CPU vemu may use, which sets the width, or of set
	host := hostAffinity()
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) || host.IsSet(i) {
			top = i
		}
	}
	var words []string
	for w := top / 32; w >= 0; w-- {
		var v uint32
		for b := 0; b < 32; b++ {
			if set.IsSet(w*32 + b) {
				v |= 1 << b
			}
		}
		if w == top/32 {
			words = append(words, fmt.Sprintf("%0*x", top%32/4+1, v))
		} else {
			words = append(words, fmt.Sprintf("%08x", v))
		}
	}
	var ranges []string
	for i := 0; i <= top; i++ {
		if !set.IsSet(i) {
			continue
		}
		j := i
		for j+1 <= top && set.IsSet(j+1) {
			j++
		}
		if j == i {
			ranges = append(ranges, fmt.Sprint(i))
		} else {
			ranges = append(ranges, fmt.Sprintf("%d-%d", i, j))
		}
		i = j
	}
	return strings.Join(words, ","), strings.Join(ranges, ",")
}
