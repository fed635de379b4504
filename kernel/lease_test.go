package kernel

import (
	"testing"
	"time"

	"vemu/abi"
)

// TestLeaseBreakTimeout: a lease whose holder does not answer a break goes down to what
// the break asked once its deadline has passed, and the opener's wait then ends.
func TestLeaseBreakTimeout(t *testing.T) {
	k := &Kernel{}
	lt := &k.leases
	key := leaseKey{1, 2}
	holder := &openDesc{key: key, copies: 1}
	lt.add(holder)
	if err := lt.set(holder, nil, lockWrite); err != nil {
		t.Fatal(err)
	}
	deadline, changed, ok := k.breakLeases(key, abi.O_RDONLY)
	if !ok || changed == nil {
		t.Fatal("a reader's open does not conflict with a write lease")
	}
	if got := lt.get(holder); got != lockRead {
		t.Fatalf("F_GETLEASE during a break to a read lease: %d", got)
	}
	if time.Until(deadline) <= 0 {
		t.Fatal("the deadline has passed already")
	}
	lt.mu.Lock()
	holder.deadline = time.Now().Add(-time.Second)
	lt.mu.Unlock()
	if _, _, ok := k.breakLeases(key, abi.O_RDONLY); ok {
		t.Fatal("a lease past its deadline still conflicts")
	}
	select {
	case <-changed:
	default:
		t.Fatal("the waiters were not woken")
	}
	if holder.typ != lockRead || holder.breaking {
		t.Fatalf("after the timeout: lease %d, breaking %v; want a read lease", holder.typ, holder.breaking)
	}
	// A writer breaks the read lease to nothing; the last close of the holder ends it.
	if _, _, ok := k.breakLeases(key, abi.O_WRONLY); !ok {
		t.Fatal("a writer's open does not conflict with a read lease")
	}
	lt.released(holder, nil)
	if lt.any() || len(lt.files) != 0 {
		t.Fatal("a closed description is still in the table")
	}
	if _, _, ok := k.breakLeases(key, abi.O_WRONLY); ok {
		t.Fatal("a closed description's lease still conflicts")
	}
}
