package emu

/*
#include "hooks.h"
*/
import "C"

import "sync"

// installBus puts the handler of sigbus.c in front of Go's, once: a host SIGBUS while an
// engine runs guest code becomes a Fault event with Lost set; any other goes to Go.
var installBus = sync.OnceValue(func() bool { return C.vemu_sigbus_install() == 0 })

// lostEvent is the event of a run during which the host raised SIGBUS for guest memory
// (see sigbus.c): the guest addresses of the pages, the first being where the first
// access went. LostAll says more pages were lost than recorded. A host address outside
// every region is no guest memory: the run failed.
func (e *Engine) lostEvent(rip uint64) Event {
	n := int(e.st.lost_n)
	e.st.lost_n = 0
	ev := Event{Kind: Fault, RIP: rip, LostAll: n > C.VEMU_LOST_MAX}
	for i := range min(n, C.VEMU_LOST_MAX) {
		h := uintptr(e.st.lost[i])
		g, ok := e.guestOf(h)
		if !ok {
			return Event{Kind: Failed, RIP: rip, Err: &Error{Op: "run", Msg: "host SIGBUS outside guest memory"}}
		}
		ev.Lost = append(ev.Lost, g)
	}
	ev.Addr = ev.Lost[0]
	return ev
}

// guestOf returns the guest address whose host memory is at h.
func (e *Engine) guestOf(h uintptr) (uint64, bool) {
	for _, r := range e.ucRegions {
		if h >= r.host && h-r.host < uintptr(r.end-r.begin) {
			return r.begin + uint64(h-r.host), true
		}
	}
	// Memory in a window: the first table entry that leads to its physical address (a
	// walk of the table, for a rare event; a page mapped at several guest addresses
	// answers with the lowest).
	phys, win := windowPhysOf(h, 1)
	if win == nil {
		return 0, false
	}
	var va uint64
	found := false
	e.words(0, ^uint64(0), func(b, end, w uint64) bool {
		off := w & offMask
		if w&^offMask != 0 && off != 0 && phys-off >= b && phys-off < end {
			va, found = phys-off, true
		}
		return !found
	})
	return va, found
}
