package kernel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A sched file as Linux 6.18 prints it, with NUMA balancing.
const hostSched = `bash (3820, #threads: 1)
-------------------------------------------------------------------
se.exec_start                                :      24499253.488605
se.vruntime                                  :         20766.850968
se.sum_exec_runtime                          :             1.017013
nr_switches                                  :                    1
nr_voluntary_switches                        :                    1
nr_involuntary_switches                      :                    0
se.load.weight                               :              1048576
policy                                       :                    0
prio                                         :                  120
numa_preferred_nid                           :                   -1
current_node=0, numa_group_id=0
numa_faults node=0 task_private=3 task_shared=0 group_private=0 group_shared=0
`

func TestSchedLayoutAndText(t *testing.T) {
	lines := parseSchedLayout(hostSched)
	require.Len(t, lines, 12)
	assert.Equal(t, schedLine{"se.exec_start", true}, lines[0])
	assert.Equal(t, schedLine{"nr_switches", false}, lines[3])

	n := schedNums{comm: "prog", tid: 42, threads: 3, runtime: 2_500_000_123, nice: 5,
		stats: schedStats{nvcsw: 4, nivcsw: 2, slices: 7}}
	text := string(n.schedText())
	got := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	require.Greater(t, len(got), 2)
	assert.Equal(t, "prog (42, #threads: 3)", got[0])
	assert.Equal(t, strings.Repeat("-", 67), got[1])
	for _, l := range got[2:] {
		if strings.Contains(l, "=") {
			continue
		}
		assert.Equal(t, byte(':'), l[45], "%q: the key padded to 45", l)
		assert.Len(t, l, 67, "%q: the value right-aligned in 21", l)
	}
	assert.Contains(t, text, "se.sum_exec_runtime                          :          2500.000123\n")
	assert.Contains(t, text, "nr_switches                                  :                    6\n")
	assert.Contains(t, text, "se.load.weight                               :               343040\n", "nice 5: 335 scaled")
	assert.Contains(t, text, "prio                                         :                  125\n")
	assert.Equal(t, "2500000123 0 7\n", string(n.schedstatText()))
}

func TestSchedStatsCount(t *testing.T) {
	p := &Process{k: New(Config{})}
	var s schedStats
	s.arrive(p)
	s.arrive(p) // still on the CPU: no new turn
	s.leave(p, true)
	s.leave(p, true) // off it already: counted once
	s.ready(p)
	s.arrive(p)
	s.leave(p, false)
	s.arrive(p)
	assert.Equal(t, uint64(1), s.nvcsw)
	assert.Equal(t, uint64(1), s.nivcsw)
	assert.Equal(t, uint64(3), s.slices)
}
