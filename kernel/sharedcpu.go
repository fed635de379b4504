package kernel

import (
	"sync/atomic"
	"time"

	"vemu/kernel/mm"
)

// Processes that share writable memory run their guest code one at a time.
//
// Each process has an engine of its own, and separate engines run in parallel on their
// own OS threads. Unicorn translates lock-prefixed instructions for a single CPU, as a
// load and a store: two engines updating the same host memory at once lose each other's
// atomic updates (measured: 30-45 % of increments lost; see UNICORN.md). Memory that two
// processes reach together — MAP_SHARED mappings of files, System V segments, shared
// anonymous memory after a fork — would then break process-shared mutexes, semaphores
// and any lock-free structure in it, now and then and silently.
//
// So a process that may share writable memory with another holds the kernel's shared
// CPU while its engine runs, and gives it back each time the engine stops: at a blocking
// call, a signal, and the end of a quantum, which such a process always has, so that one
// spinning on a lock held by another lets it in. A process that shares nothing never
// takes it and runs in parallel with the others, as before.

// sharedCPU is the token: a process holds it while it sends a value in.
type sharedCPU chan struct{}

func newSharedCPU() sharedCPU { return make(sharedCPU, 1) }

// shareMemory marks p as reaching memory other processes may write. Called from the
// process's run loop (not from inside a system call: the CPU gets its block hook here);
// once marked, a process stays so.
func (p *Process) shareMemory() {
	if p.sharesMem {
		return
	}
	p.sharesMem = true
	p.needHook()
	p.updatePreempt()
}

// shareMemoryLater marks p once the current system call has returned to the run loop.
func (t *Task) shareMemoryLater() {
	if !t.p.sharesMem {
		t.post(t.p.shareMemory)
	}
}

// takeCPU waits for the shared CPU, handling p's messages meanwhile: a process waiting
// for its turn is still told of signals, ends of blocking calls and requests from other
// processes (which may be the holder's, waiting for an answer). It reports whether p
// holds the CPU; false when a message came first, after which the run loop looks again
// at what to run.
func (p *Process) takeCPU() bool {
	select {
	case p.k.shared <- struct{}{}:
		return true
	case w := <-p.wake:
		p.onWake(w)
		return false
	}
}

// releaseCPU gives the shared CPU back; the first process waiting for it gets it.
func (p *Process) releaseCPU() { <-p.k.shared }

// holdingCPU runs f holding the shared CPU when p shares memory: work of the run loop
// (outside a system call) that writes guest memory other processes' code may be
// updating, such as the robust lists of threads that end.
func (p *Process) holdingCPU(f func()) {
	if p.sharesMem {
		for !p.takeCPU() {
		}
		defer p.releaseCPU()
	}
	f()
}

// passMappings gives what a CLONE_VM child mapped for itself to the process whose memory
// it ran in, before its exec or exit can be learnt of: on Linux the two are one mm, and
// a parent that waits for such a child reads what it left there (LeakSanitizer's checker
// leaves its report in memory it mapped). The other process's loop takes them; the
// child waits for that up to a second (a loop busy waiting for this one does not take
// them, and they are let go).
func (p *Process) passMappings() {
	q, space := p.shareParent, p.shareSpace
	p.shareParent, p.shareSpace = nil, nil
	if q == nil {
		return
	}
	vs := p.mm.Apart()
	if len(vs) == 0 {
		return
	}
	var claimed atomic.Bool // whoever claims vs takes or drops them
	done := make(chan struct{})
	q.send(wakeup{fn: func() {
		if !claimed.CompareAndSwap(false, true) {
			return
		}
		if q.mm == space && q.exit == nil {
			space.TakeApart(vs)
		} else {
			mm.DropApart(vs)
		}
		close(done)
	}})
	select {
	case <-done:
	case <-q.done:
	case <-time.After(time.Second):
	}
	if claimed.CompareAndSwap(false, true) {
		mm.DropApart(vs)
	}
}
