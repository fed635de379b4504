package kernel

import (
	"slices"
	"testing"
)

// order lists the tids in q from head to tail, checking the links both ways.
func (q *runQueue) order(t *testing.T) []int {
	var ids []int
	var prev *Task
	for x := q.head; x != nil; x = x.runNext {
		if x.runPrev != prev {
			t.Fatalf("tid %d: back link broken", x.tid)
		}
		ids = append(ids, x.tid)
		prev = x
	}
	if q.tail != prev || len(ids) != q.n {
		t.Fatalf("tail or count wrong: %v, n=%d", ids, q.n)
	}
	return ids
}

// TestRunQueueWoken: woken threads wait ahead of the plain order in the order they woke,
// removing any of them keeps that prefix right, and demoting puts them at the tail.
func TestRunQueueWoken(t *testing.T) {
	var q runQueue
	ts := make([]*Task, 7)
	for i := range ts {
		ts[i] = &Task{tid: i}
	}
	for _, x := range ts[:3] {
		q.push(x)
	}
	q.pushWoken(ts[3])
	q.pushWoken(ts[4])
	q.pushWoken(ts[5])
	if got, want := q.order(t), []int{3, 4, 5, 0, 1, 2}; !slices.Equal(got, want) {
		t.Fatalf("after three wakes: %v, want %v", got, want)
	}
	q.remove(ts[5]) // the last of the woken: the next wakes after 4
	q.pushWoken(ts[6])
	if got, want := q.order(t), []int{3, 4, 6, 0, 1, 2}; !slices.Equal(got, want) {
		t.Fatalf("after removing the last woken: %v, want %v", got, want)
	}
	if q.rotate() != ts[3] {
		t.Fatal("rotate did not take the first woken")
	}
	ts[3].boosted = false
	q.demote()
	if got, want := q.order(t), []int{0, 1, 2, 3, 4, 6}; !slices.Equal(got, want) {
		t.Fatalf("after demote: %v, want %v", got, want)
	}
	if q.front != nil || ts[4].boosted || ts[6].boosted {
		t.Fatal("demoted threads still ahead")
	}
	q.pushWoken(ts[5])
	if got, want := q.order(t), []int{5, 0, 1, 2, 3, 4, 6}; !slices.Equal(got, want) {
		t.Fatalf("a wake after demote: %v, want %v", got, want)
	}
}
