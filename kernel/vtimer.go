package kernel

import "container/heap"

// vtimers is the virtual clock's timeouts of a process, earliest first, and among
// timeouts due at the same time the first set first: a heap, so that setting, stopping
// and firing one costs O(log n) in the number waiting.
type vtimers struct {
	h   vtimerHeap
	seq uint64
}

func (v *vtimers) len() int { return len(v.h) }

func (v *vtimers) add(t *vtimer) {
	v.seq++
	t.seq = v.seq
	heap.Push(&v.h, t)
}

// next returns the earliest timeout, nil if none.
func (v *vtimers) next() *vtimer {
	if len(v.h) == 0 {
		return nil
	}
	return v.h[0]
}

// remove takes t out, and says whether it was in.
func (v *vtimers) remove(t *vtimer) bool {
	if t.idx < 0 || t.idx >= len(v.h) || v.h[t.idx] != t {
		return false
	}
	heap.Remove(&v.h, t.idx)
	return true
}

type vtimerHeap []*vtimer

func (h vtimerHeap) Len() int { return len(h) }
func (h vtimerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h vtimerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *vtimerHeap) Push(x any) {
	t := x.(*vtimer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *vtimerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}
