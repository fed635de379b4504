package kernel

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
