package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestGroupCounts changes a tree of processes at random — groups, sessions, exits that
// reparent children, stops — and checks after each change that every group's counts are
// what a walk over all processes finds.
func TestGroupCounts(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		k := New(Config{HasSeed: true})
		var all []*Process
		first := &Process{k: k, pid: 100}
		first.pgid, first.sid = 100, 100
		k.pt.mu.Lock()
		k.fileGroupLocked(first)
		all = append(all, first)
		for step := 0; step < 400; step++ {
			var live []*Process
			for _, q := range all {
				if !q.zombie {
					live = append(live, q)
				}
			}
			if len(live) == 0 {
				break
			}
			p := live[r.IntN(len(live))]
			switch r.IntN(6) {
			case 0, 1: // fork
				c := &Process{k: k, pid: 100 + len(all)}
				c.parent, c.pgid, c.sid = p, p.pgid, p.sid
				p.children = append(p.children, c)
				k.fileGroupLocked(c)
				all = append(all, c)
			case 2: // setpgid to its own group or another member's in its session
				pgid := p.pid
				if o := live[r.IntN(len(live))]; o.sid == p.sid && r.IntN(2) == 0 {
					pgid = o.pgid
				}
				if p.sid != p.pid {
					k.regroupLocked(p, pgid, p.sid)
				}
			case 3: // setsid
				if p.pgid != p.pid {
					k.regroupLocked(p, p.pid, p.pid)
				}
			case 4: // exit: the children go to init
				p.zombie = true
				k.unfileGroupLocked(p)
				for _, c := range p.children {
					c.parent = nil
					k.relinkLocked(c)
				}
				p.children = nil
			case 5:
				k.setJobStopLocked(p, !p.jobStop)
			}
			checkGroups(t, k, all)
		}
		k.pt.mu.Unlock()
	}
}

func checkGroups(t *testing.T, k *Kernel, all []*Process) {
	t.Helper()
	want := map[int]*pgroup{}
	for _, q := range all {
		if q.zombie {
			continue
		}
		g := want[q.pgid]
		if g == nil {
			g = &pgroup{members: map[*Process]struct{}{}}
			want[q.pgid] = g
		}
		g.members[q] = struct{}{}
		if par := q.parent; par != nil && !par.zombie && par.pgid != q.pgid && par.sid == q.sid {
			g.links++
		}
		if q.jobStop {
			g.stopped++
		}
	}
	if len(want) != len(k.pt.groups) {
		t.Fatalf("%d groups, want %d", len(k.pt.groups), len(want))
	}
	for id, w := range want {
		g := k.pt.groups[id]
		if g == nil || len(g.members) != len(w.members) || g.links != w.links || g.stopped != w.stopped {
			t.Fatalf("group %d: %+v, want %d members, %d links, %d stopped", id, g, len(w.members), w.links, w.stopped)
		}
		if k.orphanedLocked(id) != (w.links == 0) {
			t.Fatalf("group %d: orphaned %v with %d links", id, k.orphanedLocked(id), w.links)
		}
	}
}
