package kernel

import (
	"fmt"
	"io"
	"sort"
	"sync/atomic"

	"vemu/abi"
)

// Stats counts what a run did, for `vemu run --stats`.
type Stats struct {
	syscalls  [abi.SyscallCount + 1]uint64 // the last slot counts unknown numbers
	vsyscalls [3]uint64                    // gettimeofday, time, getcpu
	vdsoCalls map[string]*atomic.Uint64
}

func (s *Stats) count(nr uint64) {
	if nr >= abi.SyscallCount {
		nr = abi.SyscallCount
	}
	s.syscalls[nr]++
}

// WriteStats prints the counts gathered so far.
func (k *Kernel) WriteStats(w io.Writer) {
	type row struct {
		name string
		n    uint64
	}
	var rows []row
	var total uint64
	for nr, n := range k.stats.syscalls {
		if n == 0 {
			continue
		}
		name := abi.SyscallName(uint64(nr))
		if nr == abi.SyscallCount || name == "" {
			name = "(unknown)"
		}
		rows = append(rows, row{name, n})
		total += n
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].n > rows[j].n || rows[i].n == rows[j].n && rows[i].name < rows[j].name
	})
	fmt.Fprintf(w, "system calls: %d\n", total)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-20s %d\n", r.name, r.n)
	}
	fmt.Fprintf(w, "vsyscall page calls: gettimeofday %d, time %d, getcpu %d\n",
		k.stats.vsyscalls[0], k.stats.vsyscalls[1], k.stats.vsyscalls[2])
	var names []string
	for n := range k.stats.vdsoCalls {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "vDSO calls:")
	if len(names) == 0 {
		fmt.Fprintf(w, " none counted")
	}
	for _, n := range names {
		fmt.Fprintf(w, " %s %d", n, k.stats.vdsoCalls[n].Load())
	}
	fmt.Fprintf(w, "\ntimekeeper updates: %d\n", k.clock.updates.Load())
}
