package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// The guest's own /proc entries beyond its status and memory: the OOM killer's score
// and adjustment, personality, timer slack, audit ids, and the entries that
// describe vemu's cgroup and user namespace, which the guest lives in.

// oomScoreAdjMax bounds oom_score_adj (OOM_SCORE_ADJ_MAX); OOM_DISABLE is the legacy
// oom_adj that means -1000, and 15 (OOM_ADJUST_MAX) the legacy maximum.
const (
	oomScoreAdjMax = 1000
	oomDisable     = -17
	oomAdjustMin   = -16
	oomAdjustMax   = 15
)

// oomAdj is a process's OOM killer adjustment: oom_score_adj, and the lowest value it may
// be set to without CAP_SYS_RESOURCE (the last a privileged writer set), as Linux keeps
// both in signal_struct: inherited by fork, kept by exec.
type oomAdj struct {
	adj, min int
}

// ioCounts is what /proc/PID/io counts: bytes and calls of the read and write families.
type ioCounts struct {
	rchar, wchar, syscr, syscw uint64
}

func (c *ioCounts) add(o ioCounts) {
	c.rchar += o.rchar
	c.wchar += o.wchar
	c.syscr += o.syscr
	c.syscw += o.syscw
}

// accountIO counts a finished call of number nr that returned ret, as Linux's vfs_read,
// vfs_write and their kin count them: each call that reached the file, and the bytes it
// moved.
func (p *Process) accountIO(nr, ret uint64) {
	failed := int64(ret) < 0
	if failed && unix.Errno(-int64(ret)) == unix.EBADF {
		return // no file, or not open for that: Linux counts nothing
	}
	var n uint64
	if !failed {
		n = ret
	}
	switch nr {
	case abi.SYS_READ, abi.SYS_READV, abi.SYS_PREAD64, abi.SYS_PREADV, abi.SYS_PREADV2:
		p.ioac.syscr++
		p.ioac.rchar += n
	case abi.SYS_WRITE, abi.SYS_WRITEV, abi.SYS_PWRITE64, abi.SYS_PWRITEV, abi.SYS_PWRITEV2:
		p.ioac.syscw++
		p.ioac.wchar += n
	case abi.SYS_SENDFILE, abi.SYS_COPY_FILE_RANGE:
		p.ioac.syscr++
		p.ioac.syscw++
		p.ioac.rchar += n
		p.ioac.wchar += n
	}
}

// oomScore is /proc/PID/oom_score: Linux's oom_badness() (resident and page-table pages,
// moved by oom_score_adj in thousandths of the machine's memory and swap), scaled as
// proc_oom_score() scales it into 0..1000.
func (p *Process) oomScore() uint64 {
	if p.oom.adj == -oomScoreAdjMax {
		return 0 // never chosen
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil || si.Totalram == 0 {
		return 0
	}
	unit := max(uint64(si.Unit), 1)
	total := int64((uint64(si.Totalram) + uint64(si.Totalswap)) * unit / 4096)
	u := p.mm.Usage()
	badness := int64((u.RSS()+u.PageTables)/4096) + int64(p.oom.adj)*(total/1000)
	return uint64(max(1000+badness*1000/total, 0)) * 2 / 3
}

// hostOwnFile reads the host's /proc/self/NAME of vemu, for the entries whose contents are
// the guest's because it lives where vemu does (its cgroup, its user namespace).
func hostOwnFile(name string) []byte {
	b, _ := os.ReadFile("/proc/self/" + name)
	return b
}

// procMiscFile renders one of the entries this file adds to a process's /proc, or false.
func (t *Task) procMiscFile(name string) ([]byte, bool) {
	p := t.p
	switch name {
	case "oom_score_adj":
		return []byte(fmt.Sprintf("%d\n", p.oom.adj)), true
	case "oom_adj":
		adj := p.oom.adj * -oomDisable / oomScoreAdjMax
		if p.oom.adj == oomScoreAdjMax {
			adj = oomAdjustMax
		}
		return []byte(fmt.Sprintf("%d\n", adj)), true
	case "oom_score":
		return []byte(fmt.Sprintf("%d\n", p.oomScore())), true
	case "personality":
		return []byte(fmt.Sprintf("%08x\n", p.persona)), true
	case "timerslack_ns":
		return []byte(fmt.Sprintf("%d\n", p.slack())), true
	case "coredump_filter":
		return []byte(fmt.Sprintf("%08x\n", p.coreFilter)), true
	case "io":
		p.k.pt.mu.Lock()
		children := p.childUsed.io // as Linux's, the children waited for count
		p.k.pt.mu.Unlock()
		c := p.ioac
		c.add(children)
		return []byte(fmt.Sprintf("rchar: %d\nwchar: %d\nsyscr: %d\nsyscw: %d\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n",
			c.rchar, c.wchar, c.syscr, c.syscw)), true
	case "loginuid", "sessionid", "cgroup", "cpuset", "uid_map", "gid_map", "projid_map", "setgroups":
		// vemu's: the guest's processes inherit its audit ids, and live in its cgroup and
		// user namespace.
		return hostOwnFile(name), true
	}
	return nil, false
}

// procMiscNames are the entries procMiscFile answers, for the listing of /proc/self.
var procMiscNames = []string{"cgroup", "coredump_filter", "cpuset", "gid_map", "io", "loginuid", "oom_adj", "oom_score", "oom_score_adj",
	"personality", "projid_map", "sessionid", "setgroups", "timerslack_ns", "uid_map"}

// procMiscWritable says whether name is an entry of these, or sched, that its owner may write (mode
// 0644; timerslack_ns 0666, whose write checks the writer).
func procMiscWritable(name string) (owner, anyone bool) {
	switch name {
	case "oom_score_adj", "oom_adj", "coredump_filter", "sched", "autogroup", "clear_refs", "timens_offsets":
		return true, false
	case "timerslack_ns":
		return true, true
	}
	if attrFile(name) && strings.TrimPrefix(name, "attr/") != "prev" {
		return true, true // 0666: the write fails with EINVAL, whoever writes
	}
	return false, false
}

// miscWriter is what writeMisc needs of the writer: whether it writes its own process's
// entry, and its capabilities.
type miscWriter struct {
	self, resource, nice, sysTime bool
}

// writerOf describes t as the writer of p's entry.
func (t *Task) writerOf(p *Process) miscWriter {
	c := &t.p.creds
	return miscWriter{self: p == t.p, resource: c.capable(unix.CAP_SYS_RESOURCE), nice: c.capable(unix.CAP_SYS_NICE),
		sysTime: c.capable(unix.CAP_SYS_TIME)}
}

// writeMisc is a write of count bytes to one of p's writable entries, on p's loop, b
// being their first ones (as many as any of the entries reads); n is what the write
// returns on success.
func (p *Process) writeMisc(name string, b []byte, count uint64, w miscWriter) (uint64, error) {
	switch name {
	case "oom_score_adj", "oom_adj":
		// As Linux's oom_score_adj_write() and oom_adj_write(): at most 12 bytes are
		// read, and that count returned.
		n := min(len(b), 12)
		v, err := parseKernelInt(strings.TrimSpace(string(b[:n])))
		if err != nil {
			return 0, unix.EINVAL
		}
		legacy := name == "oom_adj"
		if legacy {
			if (v < oomAdjustMin || v > oomAdjustMax) && v != oomDisable {
				return 0, unix.EINVAL
			}
			if v == oomAdjustMax {
				v = oomScoreAdjMax
			} else {
				v = v * oomScoreAdjMax / -oomDisable
			}
		} else if v < -oomScoreAdjMax || v > oomScoreAdjMax {
			return 0, unix.EINVAL
		}
		// Without CAP_SYS_RESOURCE, oom_adj may not lower the value, and oom_score_adj
		// not below the floor.
		privileged := w.resource
		floor := p.oom.min
		if legacy {
			floor = p.oom.adj
		}
		if v < floor && !privileged {
			return 0, unix.EACCES
		}
		p.oom.adj = v
		if !legacy && privileged {
			p.oom.min = v
		}
		return uint64(n), nil
	case "clear_refs":
		return p.clearRefs(b, count)
	case "autogroup":
		return p.k.setAutogroupNice(b, count, w.nice)
	case "timens_offsets":
		return setTimensOffsets(b, count, w.sysTime)
	case "sched":
		// As Linux's sched_write(): any write resets the schedstats, of which vemu
		// keeps none that sched shows.
		return count, nil
	case "coredump_filter":
		// As Linux's proc_coredump_filter_write(): a number in any base (a newline may
		// end it), whose low nine bits are the filter; the whole count is taken.
		s := strings.TrimSuffix(string(b[:min(len(b), 34)]), "\n")
		v, err := parseKernelUint(s)
		if err != nil {
			return 0, unix.EINVAL
		}
		p.coreFilter = uint32(v) & (1<<mm.DumpFilterBits - 1)
		return count, nil
	case "timerslack_ns":
		// As Linux's timerslack_ns_write(): a decimal number (a newline may end it);
		// another process's needs CAP_SYS_NICE; 0 is the default.
		s := string(b[:min(len(b), 66)])
		s = strings.TrimSuffix(s, "\n")
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64)
		if err != nil || strings.HasPrefix(s, "++") {
			return 0, unix.EINVAL
		}
		if !w.self && !w.nice {
			return 0, unix.EPERM
		}
		if v == defaultTimerSlack {
			v = 0
		}
		p.timerSlack = v
		return count, nil
	}
	return 0, unix.EINVAL
}

// kernelDigits says whether body (a number without its sign) is one the kernel's
// kstrto* functions read with base 0: decimal, octal after a 0, hexadecimal after 0x;
// not Go's other prefixes or underscores, which strconv would take.
func kernelDigits(body string) bool {
	lower := strings.ToLower(body)
	return body != "" && !strings.ContainsAny(body, "+-_") && !strings.HasPrefix(lower, "0o") &&
		!strings.HasPrefix(lower, "0b")
}

// parseKernelUint parses s as the kernel's kstrtouint with base 0 does: an optional +,
// then kernelDigits, within 32 bits.
func parseKernelUint(s string) (uint64, error) {
	body := strings.TrimPrefix(s, "+")
	if !kernelDigits(body) {
		return 0, unix.EINVAL
	}
	return strconv.ParseUint(body, 0, 32)
}

// parseKernelInt parses s as the kernel's kstrtoint with base 0 does: an optional sign,
// then kernelDigits.
func parseKernelInt(s string) (int, error) {
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 || !kernelDigits(body) {
		return 0, unix.EINVAL
	}
	v, err := strconv.ParseInt(s, 0, 32)
	if err != nil {
		return 0, err
	}
	return int(v), nil
}
