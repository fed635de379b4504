package kernel

import (
	"os"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Job control: a stop signal whose action is the default stops the whole process until a
// SIGCONT, as on Linux. A stopped process runs none of its threads; signals other than
// SIGKILL and SIGCONT stay pending until it continues. Its parent learns of the stop and
// of the continuation through SIGCHLD (CLD_STOPPED unless it set SA_NOCLDSTOP,
// CLD_CONTINUED) and through wait4's WUNTRACED and WCONTINUED.
//
// The first process has no parent inside vemu: the shell that started vemu is its parent.
// Stopping it stops vemu itself, so that the shell sees the job stop, and the shell's
// SIGCONT resumes it.

// jobState is what a parent's wait can learn of a child's stops, guarded by the kernel's
// procTable.mu.
type jobState struct {
	stopSig   int  // the signal of a stop not yet reported by wait; 0 if none
	continued bool // a continuation not yet reported by wait
}

// stopProcess stops p on sig's default action.
func (p *Process) stopProcess(sig int) {
	k := p.k
	k.pt.mu.Lock()
	parent := p.parent
	if parent != nil {
		p.job = jobState{stopSig: sig}
	}
	k.pt.mu.Unlock()
	if parent == nil {
		// Stop vemu: the shell gets its job back, and its SIGCONT resumes us here.
		unix.Kill(os.Getpid(), unix.SIGSTOP)
		return
	}
	p.stopped = true
	p.updatePreempt()
	p.notifyParent(parent, abi.CLD_STOPPED, sig)
}

// continueProcess resumes a stopped p: a SIGCONT was generated for it, whatever its
// action or mask.
func (p *Process) continueProcess() {
	if !p.stopped {
		return
	}
	p.stopped = false
	p.updatePreempt()
	k := p.k
	k.pt.mu.Lock()
	parent := p.parent
	p.job = jobState{continued: true}
	k.pt.mu.Unlock()
	if parent != nil {
		p.notifyParent(parent, abi.CLD_CONTINUED, abi.SIGCONT)
	}
}

// notifyParent wakes the parent's waits and sends it SIGCHLD for a stop or continuation,
// unless its SIGCHLD action has SA_NOCLDSTOP.
func (p *Process) notifyParent(parent *Process, code int32, sig int) {
	p.k.pt.mu.Lock()
	parent.wakeChildWaiters()
	p.k.pt.mu.Unlock()
	pid := int32(p.pid)
	parent.send(wakeup{fn: func() {
		if parent.sigactions[abi.SIGCHLD].Flags&abi.SA_NOCLDSTOP != 0 {
			return
		}
		parent.queueSignal(nil, abi.Siginfo{Signo: abi.SIGCHLD, Code: code, Pid: pid, Status: int32(sig)})
	}})
}

// isStopSignal says whether sig's default action stops the process.
func isStopSignal(sig int) bool { return defaultAction(sig) == defStop }
