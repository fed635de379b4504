package mm

import (
	"fmt"
	"strings"
)

// fileBacked says whether v maps a file (shared anonymous memory's deleted /dev/zero
// too), as Linux's vm_file.
func fileBacked(v *VMA) bool {
	return (v.Ino != 0 || v.Dev != 0) && strings.HasPrefix(v.Name, "/")
}

// NumaMaps renders /proc/PID/numa_maps as Linux's show_numa_map() does on a machine with
// one node: each mapping's start, its policy (pol names it), what it maps, and its pages
// counted as smaps counts them (see Usage), all of them on node 0.
func (s *Space) NumaMaps(pol func(start Addr) string) string {
	var sb strings.Builder
	vec := make([]byte, residentBatch)
	s.mappings(func(v *VMA, pieces []*VMA) {
		fmt.Fprintf(&sb, "%08x %s", uint64(v.Start), pol(v.Start))
		switch {
		case fileBacked(v):
			// As seq_path() with the escapes show_numa_map() asks for.
			r := strings.NewReplacer("\n", `\012`, "\t", `\011`, "=", `\075`, " ", `\040`, `\`, `\134`)
			sb.WriteString(" file=" + r.Replace(v.Name))
		case v.Name == "[heap]":
			sb.WriteString(" heap")
		case v.Name == "[stack]":
			sb.WriteString(" stack")
		}
		var anon, dirty, pages uint64
		for _, p := range pieces {
			a, f, sh := p.held(vec)
			anon += a / PageSize
			dirty += (a + sh) / PageSize
			pages += (a + f + sh) / PageSize
		}
		if pages > 0 {
			if anon > 0 {
				fmt.Fprintf(&sb, " anon=%d", anon)
			}
			if dirty > 0 {
				fmt.Fprintf(&sb, " dirty=%d", dirty)
			}
			if pages != anon && pages != dirty {
				fmt.Fprintf(&sb, " mapped=%d", pages)
			}
			fmt.Fprintf(&sb, " N0=%d kernelpagesize_kB=%d", pages, PageSize/1024)
		}
		sb.WriteByte('\n')
	})
	return sb.String()
}

// FileMapping is a mapping of a file, as /proc/PID/map_files names it.
type FileMapping struct {
	Start, End Addr
	Name       string // the file's path, as maps shows it
}

// FileMappings lists the mappings of files, in address order, as maps shows them.
func (s *Space) FileMappings() []FileMapping {
	var out []FileMapping
	s.mappings(func(v *VMA, pieces []*VMA) {
		if fileBacked(v) {
			out = append(out, FileMapping{Start: v.Start, End: v.End, Name: v.Name})
		}
	})
	return out
}
