package mm

import (
	"fmt"
	"strings"

	"vemu/emu"
)

// smapsCounts are one mapping's lines of /proc/self/smaps that count pages, in bytes.
type smapsCounts struct {
	rss, pssDirty, pssAnon, pssFile, pssShmem     uint64
	privateClean, privateDirty, anonymous, locked uint64
}

func (c *smapsCounts) add(o smapsCounts) {
	c.rss += o.rss
	c.pssDirty += o.pssDirty
	c.pssAnon += o.pssAnon
	c.pssFile += o.pssFile
	c.pssShmem += o.pssShmem
	c.privateClean += o.privateClean
	c.privateDirty += o.privateDirty
	c.anonymous += o.anonymous
	c.locked += o.locked
}

// smapsOf adds up what the host holds of a mapping's pieces. Every page counts as the
// process's own (Private_*, and Pss as Rss): vemu does not know which pages other
// processes map too. Anonymous and shared memory are dirty, a file's pages clean.
func smapsOf(pieces []*VMA, vec []byte) smapsCounts {
	var c smapsCounts
	for _, v := range pieces {
		anon, file, shmem := v.held(vec)
		c.rss += anon + file + shmem
		c.pssAnon += anon
		c.pssFile += file
		c.pssShmem += shmem
		c.anonymous += anon
		c.privateDirty += anon + shmem
		c.pssDirty += anon + shmem
		c.privateClean += file
		if v.Locked {
			c.locked += anon + file + shmem
		}
	}
	return c
}

// vmFlags is a mapping's VmFlags line of smaps: Linux's two-letter names of the flags
// vemu keeps, in the order of their bits.
func vmFlags(v *VMA) string {
	var f []string
	add := func(ok bool, name string) {
		if ok {
			f = append(f, name)
		}
	}
	special := v.Name == "[vvar]" || v.Name == "[vdso]" || v.Name == "[vsyscall]"
	add(v.Prot&emu.ProtRead != 0, "rd")
	add(v.Prot&emu.ProtWrite != 0, "wr")
	add(v.Prot&emu.ProtExec != 0, "ex")
	// As Linux's do_mmap(): a shared mapping of a file not open for writing loses
	// VM_SHARED and VM_MAYWRITE, and keeps VM_MAYSHARE (maps' 's').
	add(v.Shared && v.Writable(), "sh")
	add(true, "mr")
	add(v.Name != "[vvar]" && (!v.Shared || v.Writable()), "mw")
	add(v.Name != "[vvar]", "me")
	add(v.Shared, "ms")
	add(v.Name == "[stack]", "gd")
	add(v.Name == "[vvar]", "pf")
	add(v.Locked, "lo")
	add(v.Name == "[vvar]", "io")
	add(v.DontFork, "dc")
	add(special, "de")
	add(v.Charged(), "ac")
	add(v.NoReserve, "nr")
	add(v.WipeOnFork, "wf")
	add(v.Name == "[vvar]", "dd")
	add(v.HugePage, "hg")
	add(v.NoHugePage, "nh")
	add(v.Sealed, "sl")
	return strings.Join(f, " ")
}

// Smaps renders /proc/self/smaps, or with rollup /proc/self/smaps_rollup: the mappings'
// lines of maps, each with what the host holds of its pages (see Usage), or one line for
// all of them and their sums.
func (s *Space) Smaps(rollup bool) string {
	var sb strings.Builder
	vec := make([]byte, residentBatch)
	line := func(key string, bytes uint64) {
		fmt.Fprintf(&sb, "%-16s%8d kB\n", key+":", bytes/1024)
	}
	counts := func(c smapsCounts, sums bool) {
		line("Rss", c.rss)
		line("Pss", c.rss)
		line("Pss_Dirty", c.pssDirty)
		if sums {
			line("Pss_Anon", c.pssAnon)
			line("Pss_File", c.pssFile)
			line("Pss_Shmem", c.pssShmem)
		}
		line("Shared_Clean", 0)
		line("Shared_Dirty", 0)
		line("Private_Clean", c.privateClean)
		line("Private_Dirty", c.privateDirty)
		line("Referenced", c.rss)
		line("Anonymous", c.anonymous)
		for _, k := range []string{"KSM", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
			"Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss"} {
			line(k, 0)
		}
		line("Locked", c.locked)
	}
	var total smapsCounts
	var first, last Addr
	s.mappings(func(v *VMA, pieces []*VMA) {
		if v.Name == "[vsyscall]" && rollup {
			return // outside the process's mappings, as Linux's gate area
		}
		c := smapsOf(pieces, vec)
		if rollup {
			if first == 0 && last == 0 {
				first = v.Start
			}
			last = v.End
			total.add(c)
			return
		}
		sb.WriteString(mapsLine(v))
		sb.WriteByte('\n')
		line("Size", v.Len())
		line("KernelPageSize", PageSize)
		line("MMUPageSize", PageSize)
		counts(c, false)
		fmt.Fprintf(&sb, "%-16s%8d\n", "THPeligible:", 0)
		fmt.Fprintf(&sb, "VmFlags: %s \n", vmFlags(v))
	})
	if rollup {
		sb.WriteString(mapsLine(&VMA{Start: first, End: last, Name: "[rollup]"}))
		sb.WriteByte('\n')
		counts(total, true)
	}
	return sb.String()
}
