package kernel

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"vemu/abi"
)

// counts are what one process did. Each process counts on its own (its goroutine is the
// only writer, so the SYSCALL entry needs no atomics) and adds them to the kernel's Stats
// when it ends.
type counts struct {
	syscalls  [abi.SyscallCount + 1]uint64 // the last slot counts unknown numbers
	vsyscalls [3]uint64                    // gettimeofday, time, getcpu
	// Translated code dropped for stores that rewrote it: pages, and whole flushes.
	codeDrops, codeFlushes uint64
}

func (c *counts) count(nr uint64) {
	if nr >= abi.SyscallCount {
		nr = abi.SyscallCount
	}
	c.syscalls[nr]++
}

// takeFast adds the calls p's CPU answered itself (see fastCalls) to p's counts.
func (p *Process) takeFast() {
	p.cpu.TakeFastHits(func(nr int, n uint64) { p.counts.syscalls[min(nr, abi.SyscallCount)] += n })
	pages, all := p.cpu.TakeCodeDrops()
	p.counts.codeDrops += pages
	p.counts.codeFlushes += all
}

// Stats counts what a run did, for `vemu run --stats`.
type Stats struct {
	mu        sync.Mutex
	total     counts                    // of the processes that have ended
	vdsoCalls map[string]*atomic.Uint64 // by function; fixed when the kernel starts
}

// merge adds a process's counts to the run's.
func (s *Stats) merge(c *counts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range c.syscalls {
		s.total.syscalls[i] += n
	}
	for i, n := range c.vsyscalls {
		s.total.vsyscalls[i] += n
	}
	s.total.codeDrops += c.codeDrops
	s.total.codeFlushes += c.codeFlushes
}

// WriteStats prints the counts gathered so far.
func (k *Kernel) WriteStats(w io.Writer) {
	type row struct {
		name string
		n    uint64
	}
	var rows []row
	var total uint64
	k.stats.mu.Lock()
	c := k.stats.total
	k.stats.mu.Unlock()
	for nr, n := range c.syscalls {
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
		c.vsyscalls[0], c.vsyscalls[1], c.vsyscalls[2])
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
	fmt.Fprintf(w, "code rewritten by stores: %d pages of translated code dropped, %d times all\n",
		c.codeDrops, c.codeFlushes)
}
