package kernel

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"vemu/abi"
)

// A thread's /proc sched, schedstat and wchan: what vemu's scheduler knows of it (its
// CPU time, its switches, its turns on the CPU and the time it waited for them), in
// Linux's formats (kernel/sched/debug.c, fs/proc/base.c).

// schedStats is what a thread's sched and schedstat count, as Linux's sched_info and
// task switch counts: switches away from the CPU because it waited (voluntary) or
// because another thread's turn came (involuntary), arrivals on the CPU, and the time
// spent able to run but waiting for it, on the guest's monotonic clock. Kept on its
// process's loop.
type schedStats struct {
	nvcsw, nivcsw, slices uint64
	runDelay              int64
	readyAt, arrivedAt    int64 // when it last became runnable, and last got the CPU
	onCPU                 bool
}

func (p *Process) schedNow() int64 { return p.timerNow(abi.CLOCK_MONOTONIC) }

// ready notes that the thread can run again.
func (s *schedStats) ready(p *Process) { s.readyAt = p.schedNow() }

// leave notes that the thread leaves the CPU: it blocks (voluntary), or another thread
// takes its turn.
func (s *schedStats) leave(p *Process, voluntary bool) {
	if !s.onCPU {
		return
	}
	s.onCPU = false
	if voluntary {
		s.nvcsw++
		return
	}
	s.nivcsw++
	s.readyAt = p.schedNow()
}

// arrive notes that the thread gets the CPU, if it did not have it.
func (s *schedStats) arrive(p *Process) {
	if s.onCPU {
		return
	}
	now := p.schedNow()
	s.onCPU = true
	s.slices++
	if s.readyAt > 0 && now > s.readyAt {
		s.runDelay += now - s.readyAt
	}
	s.arrivedAt = now
}

// schedNums are the numbers of one thread's sched file.
type schedNums struct {
	comm             string
	tid, threads     int
	runtime, arrived int64
	stats            schedStats
	nice             int
	policy           int32
}

// schedNumsOf gathers t's numbers, on its process's loop.
func (t *Task) schedNumsOf() schedNums {
	p := t.p
	p.k.pt.mu.Lock()
	nice, policy := p.nice, p.policy
	p.k.pt.mu.Unlock()
	return schedNums{comm: t.commName(), tid: t.tid, threads: p.live, runtime: t.cpuTime(),
		arrived: t.sched.arrivedAt, stats: t.sched, nice: nice, policy: policy}
}

// schedstatText is /proc's schedstat: run time, time waiting to run, turns on the CPU.
func (n schedNums) schedstatText() []byte {
	return []byte(fmt.Sprintf("%d %d %d\n", n.runtime, n.stats.runDelay, n.stats.slices))
}

// prioToWeight is Linux's sched_prio_to_weight: the load weight of nice -20 to 19.
var prioToWeight = [40]int64{
	88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
	9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
	1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
	110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
}

// schedIdleWeight is SCHED_IDLE's load weight (WEIGHT_IDLEPRIO).
const schedIdleWeight = 3

// schedLine is one line of sched: a key and its value as Linux prints it, a number or
// nanoseconds shown as milliseconds with six decimals (SPLIT_NS).
type schedLine struct {
	key   string
	split bool
}

// schedLayout is the lines the host's kernel prints in sched, in its order, read from
// vemu's own thread's file (which lines there are depends on the kernel's version and
// build: NUMA balancing, schedstats); Linux 6.18's without either when the host has none.
var schedLayout = sync.OnceValue(func() (lines []schedLine) {
	b, err := os.ReadFile("/proc/thread-self/sched")
	if err == nil {
		lines = parseSchedLayout(string(b))
	}
	if len(lines) == 0 {
		for _, k := range []string{"se.exec_start", "se.vruntime", "se.sum_exec_runtime"} {
			lines = append(lines, schedLine{k, true})
		}
		for _, k := range []string{"se.nr_migrations", "nr_switches", "nr_voluntary_switches",
			"nr_involuntary_switches", "se.load.weight", "se.avg.load_sum", "se.avg.runnable_sum",
			"se.avg.util_sum", "se.avg.load_avg", "se.avg.runnable_avg", "se.avg.util_avg",
			"se.avg.last_update_time", "se.avg.util_est", "policy", "prio", "se.slice", "clock-delta"} {
			lines = append(lines, schedLine{k, false})
		}
	}
	return lines
})

var schedKeyLine = regexp.MustCompile(`^(\S+)\s+:\s+(-?[0-9]+)(\.[0-9]+)?$`)

// parseSchedLayout reads the lines of a sched file past its header: "key : value"
// lines, and the NUMA lines that have no key, whose form sched keeps.
func parseSchedLayout(text string) []schedLine {
	var lines []schedLine
	for i, l := range strings.Split(text, "\n") {
		if i < 2 || l == "" {
			continue
		}
		if m := schedKeyLine.FindStringSubmatch(l); m != nil {
			lines = append(lines, schedLine{m[1], m[3] != ""})
		} else if k, _, ok := strings.Cut(l, "="); ok && (k == "current_node" || k == "numa_faults node") {
			lines = append(lines, schedLine{key: l})
		}
	}
	return lines
}

// schedSlice is the host's base slice of the fair scheduler (sysctl_sched_base_slice,
// which se.slice shows for a thread that set none), in ns.
var schedSlice = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/thread-self/sched")
	if err != nil {
		return "0"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m := schedKeyLine.FindStringSubmatch(l); m != nil && m[1] == "se.slice" {
			return m[2]
		}
	}
	return "0"
})

// schedText is /proc's sched of the thread n describes, in the host kernel's layout:
// the numbers vemu keeps, and 0 for those it does not (load averages, NUMA faults,
// schedstats' sleep and wait times).
func (n schedNums) schedText() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d, #threads: %d)\n%s\n", n.comm, n.tid, n.threads, strings.Repeat("-", 67))
	weight := int64(schedIdleWeight)
	if n.policy != abi.SCHED_IDLE {
		weight = prioToWeight[min(max(n.nice+20, 0), 39)]
	}
	for _, l := range schedLayout() {
		var v int64
		switch l.key {
		case "se.exec_start":
			v = n.arrived
		case "se.vruntime":
			v = n.runtime * 1024 / weight
		case "se.sum_exec_runtime":
			v = n.runtime
		case "nr_switches":
			v = int64(n.stats.nvcsw + n.stats.nivcsw)
		case "nr_voluntary_switches":
			v = int64(n.stats.nvcsw)
		case "nr_involuntary_switches":
			v = int64(n.stats.nivcsw)
		case "se.load.weight":
			v = weight << 10 // scale_load()
		case "policy":
			v = int64(n.policy)
		case "prio":
			v = int64(120 + n.nice)
		case "numa_preferred_nid":
			v = -1
		case "se.slice":
			fmt.Fprintf(&b, "%-45s:%21s\n", l.key, schedSlice())
			continue
		}
		switch {
		case strings.HasPrefix(l.key, "current_node"):
			b.WriteString("current_node=0, numa_group_id=0\n")
		case strings.HasPrefix(l.key, "numa_faults node"):
			node, _, _ := strings.Cut(strings.TrimPrefix(l.key, "numa_faults node="), " ")
			fmt.Fprintf(&b, "numa_faults node=%s task_private=0 task_shared=0 group_private=0 group_shared=0\n", node)
		case l.split:
			fmt.Fprintf(&b, "%-45s:%14d.%06d\n", l.key, v/1e6, v%1e6)
		default:
			fmt.Fprintf(&b, "%-45s:%21d\n", l.key, v)
		}
	}
	return []byte(b.String())
}
