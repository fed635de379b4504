package kernel

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// procInfo renders the guest's /proc/self/{status,stat,statm,limits} from the guest's own
// state, in Linux's formats (fs/proc/array.c, base.c and task_mmu.c): never vemu's host
// process. The CPU times, fault and switch counts are the run loop thread's, as
// getrusage reports them; what vemu does not keep (swap, pinned and huge pages, I/O
// delays) reads as zero.
func (t *Task) procInfo(name string) []byte {
	if name == "limits" {
		return []byte(limitsText(t.p.rlimits))
	}
	// A thread waiting in a system call sleeps; the reader itself, and any thread
	// that can run, is running.
	state, word := byte('R'), "running"
	if t.state == taskBlocked {
		state, word = 'S', "sleeping"
	}
	return t.procState(name, state, word)
}

// procState renders t's /proc stat, statm or status with the given state, on t's
// process's loop (its reader's own, or another's: see otherProcFile).
func (t *Task) procState(name string, state byte, stateWord string) []byte {
	p := t.p
	comm := t.commName()
	mem := p.mm.Usage()
	p.rssPeak = max(p.rssPeak, mem.RSS())
	const page = 4096
	text := (p.endCode+page-1)&^(page-1) - p.startCode&^(page-1)
	if p.startCode > p.endCode {
		text = 0 // no executable segment
	}
	text = min(text, mem.Exec)
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
	p.k.pt.mu.Lock()
	ppid, pgid, sid, nice := p.ppid, p.pgid, p.sid, p.nice // another process may change them
	ttyNr, tpgid := p.k.ttyFieldsLocked(p)
	children := p.childUsed
	p.k.pt.mu.Unlock()
	self := threadUsage()
	switch name {
	case "stat":
		tick := func(d time.Duration) uint64 { return uint64(d / (time.Second / clkTck)) }
		var b strings.Builder
		fmt.Fprintf(&b, "%d (%s) %c %d %d %d %d %d 4194304 %d 0 %d 0 %d %d %d %d 20 %d %d 0 %d %d %d %d",
			t.tid, comm, state, ppid, pgid, sid, ttyNr, tpgid, self.minflt, self.majflt,
			tick(self.utime), tick(self.stime), tick(children.utime), tick(children.stime),
			nice, threads, p.startTicks, mem.Size, mem.RSS()/page, p.rlimits[abi.RLIMIT_RSS].Cur)
		// startcode endcode startstack kstkesp kstkeip signal blocked sigignore sigcatch
		// wchan nswap cnswap exit_signal processor rt_priority policy
		// delayacct_blkio_ticks guest_time cguest_time start_data end_data start_brk
		// arg_start arg_end env_start env_end exit_code
		fmt.Fprintf(&b, " %d %d %d 0 0 %d %d %d %d 0 0 0 %d %d 0 0 0 0 0 %d %d %d %d %d %d %d 0\n",
			p.startCode, p.endCode, p.startStack, p.sig.pending.set, t.sigmask, ignored, caught,
			p.exitSignal, t.cpuNum, p.startData, p.endData, uint64(p.mm.BrkStart),
			p.strs.argStart, p.strs.argEnd, p.strs.envStart, p.strs.envEnd)
		return []byte(b.String())
	case "statm":
		shared := (mem.File + mem.Shmem) / page
		return []byte(fmt.Sprintf("%d %d %d %d 0 %d 0\n", mem.Size/page, mem.RSS()/page, shared, text/page,
			(mem.Data+mem.Stack)/page))
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
		c.ruid, c.euid, c.suid, c.fsuid, c.rgid, c.egid, c.sgid, c.fsgid, fdTableSize(len(p.files.fds)), strings.Join(groups, " "))
	// The guest's pids are those of a namespace of its own, the only level it sees.
	fmt.Fprintf(&b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", p.pid, t.tid, pgid, sid)
	host := hostStatus()
	hostLine(&b, host, "Kthread", "0")
	kb := func(n uint64) uint64 { return n / 1024 }
	fmt.Fprintf(&b, "VmPeak:\t%8d kB\nVmSize:\t%8d kB\nVmLck:\t%8d kB\nVmPin:\t%8d kB\nVmHWM:\t%8d kB\nVmRSS:\t%8d kB\n",
		kb(mem.Peak), kb(mem.Size), kb(mem.Locked), 0, kb(p.rssPeak), kb(mem.RSS()))
	fmt.Fprintf(&b, "RssAnon:\t%8d kB\nRssFile:\t%8d kB\nRssShmem:\t%8d kB\n", kb(mem.Anon), kb(mem.File), kb(mem.Shmem))
	fmt.Fprintf(&b, "VmData:\t%8d kB\nVmStk:\t%8d kB\nVmExe:\t%8d kB\nVmLib:\t%8d kB\nVmPTE:\t%8d kB\nVmSwap:\t%8d kB\n",
		kb(mem.Data), kb(mem.Stack), kb(text), kb(mem.Exec-text), kb(mem.PageTables), 0)
	fmt.Fprintf(&b, "HugetlbPages:\t%8d kB\nCoreDumping:\t0\n", 0)
	hostLine(&b, host, "THP_enabled", "1")
	hostLine(&b, host, "untag_mask", "")
	fmt.Fprintf(&b, "Threads:\t%d\n", threads)
	fmt.Fprintf(&b, "SigQ:\t%d/%d\nSigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		p.sigQueued.n, p.rlimits[abi.RLIMIT_SIGPENDING].Cur, t.sig.pending.set, p.sig.pending.set, t.sigmask, ignored, caught)
	x := c.caps
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n", x.inh, x.prm, x.eff, x.bnd, x.amb)
	nnp := 0
	if t.seccomp.nnp {
		nnp = 1
	}
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t%d\nSeccomp_filters:\t%d\n", nnp, t.seccomp.mode, t.seccomp.filters())
	// The CPU's own: what the host's kernel says of vemu, which runs the guest.
	hostLine(&b, host, "Speculation_Store_Bypass", "")
	hostLine(&b, host, "SpeculationIndirectBranch", "")
	mask, list := cpuMaskText(t.mask())
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", mask, list)
	hostLine(&b, host, "Mems_allowed", "")
	hostLine(&b, host, "Mems_allowed_list", "")
	// The thread's own switches, as sched counts them (procsched.go), not those of the
	// host thread running the process, which runs all its threads.
	fmt.Fprintf(&b, "voluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n", t.sched.nvcsw, t.sched.nivcsw)
	// Shadow stacks (vemu's CPU has none), on kernels built for them.
	hostLine(&b, host, "x86_Thread_features", "")
	hostLine(&b, host, "x86_Thread_features_locked", "")
	return []byte(b.String())
}

// fdTableSize is the size Linux gives a descriptor table that must hold n descriptors
// (FDSize): 64 in the table a process starts with, else alloc_fdtable()'s, a power of
// two of 1 KiB worth of pointers.
func fdTableSize(n int) int {
	if n <= 64 {
		return 64
	}
	const perKiB = 1024 / 8
	m := 1
	for m < n/perKiB+1 {
		m <<= 1
	}
	return m * perKiB
}

// hostStatus is the host's /proc/self/status of vemu, by key: the lines that describe the
// machine and the host's kernel (its speculation controls, memory nodes, which lines its
// version has), not the process.
var hostStatus = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimLeft(v, "\t ")
		}
	}
	return m
})

// hostLine writes the status line key when the host's kernel has it: with value, or the
// host's own value when value is empty.
func hostLine(b *strings.Builder, host map[string]string, key, value string) {
	v, ok := host[key]
	if !ok {
		return
	}
	if value != "" {
		v = value
	}
	fmt.Fprintf(b, "%s:\t%s\n", key, v)
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
		fmt.Fprintf(&b, "%-25s %-20s %-20s ", row.name, val(r[row.res].Cur), val(r[row.res].Max))
		if row.unit != "" { // as Linux's proc_pid_limits(): no column for a limit without a unit
			fmt.Fprintf(&b, "%-10s", row.unit)
		}
		b.WriteString("\n")
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
