package inject

import "vemu/abi"

// Rules say which spec tampers with each system call: of several specs naming one call,
// the last given wins, as in strace.
type Rules struct {
	byNr [abi.SyscallCount]*Spec
	any  bool
}

// NewRules combines specs in the order given.
func NewRules(specs ...*Spec) *Rules {
	r := &Rules{}
	for _, s := range specs {
		for nr := uint64(0); nr < abi.SyscallCount; nr++ {
			if s.Calls.Has(nr) {
				r.byNr[nr] = s
				r.any = true
			}
		}
	}
	return r
}

// Empty reports whether no call is tampered with.
func (r *Rules) Empty() bool { return r == nil || !r.any }

// For returns the spec for system call nr, or nil.
func (r *Rules) For(nr uint64) *Spec {
	if r == nil || nr >= abi.SyscallCount {
		return nil
	}
	return r.byNr[nr]
}

// Counter counts one thread's invocations of each system call that a spec names; strace
// keeps these counts per traced thread and per call.
type Counter struct {
	n []uint64
}

// Next counts an invocation of nr and returns the spec that applies to it, or nil.
func (c *Counter) Next(r *Rules, nr uint64) *Spec {
	s := r.For(nr)
	if s == nil {
		return nil
	}
	if c.n == nil {
		c.n = make([]uint64, abi.SyscallCount)
	}
	c.n[nr]++
	if !s.When.Selects(c.n[nr]) {
		return nil
	}
	return s
}
