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
// When it stops itself (raise, kill(0, SIGTSTP) as a full-screen program does for Ctrl-Z)
// or a stop comes from outside the guest, vemu stops itself, so that the shell sees the
// job stop, and the shell's SIGCONT resumes it — under the vemu command only
// (Config.JobControl): a library caller's process is never stopped. A stop sent by
// another guest process stops the first process inside vemu, as any other: stopping vemu
// would freeze the sender too, which may be the one to send SIGCONT.

// jobState is what a parent's wait can learn of a child's stops, guarded by the kernel's
// procTable.mu.
type jobState struct {
	stopSig   int   // the signal of a stop not yet reported by wait; 0 if none
	continued bool  // a continuation not yet reported by wait
	used      usage // the process's use of resources then, which the wait reports
}

// stopProcess stops p on info's default action.
func (p *Process) stopProcess(info abi.Siginfo) {
	k := p.k
	sig := int(info.Signo)
	sender := 0 // the kernel, the terminal or the host
	if info.Code <= 0 {
		sender = int(info.Pid) // kill, tgkill, sigqueue
	}
	used := threadUsage() // on p's loop, whose thread runs p
	k.pt.mu.Lock()
	parent, first := p.parent, k.first == p
	if parent != nil {
		p.job = jobState{stopSig: sig, used: used}
	}
	k.pt.mu.Unlock()
	if parent == nil && first && k.cfg.JobControl && (sender == 0 || sender == p.pid) {
		// Stop vemu: the shell gets its job back, and its SIGCONT resumes us here.
		unix.Kill(os.Getpid(), unix.SIGSTOP)
		return
	}
	p.stopped = true
	p.updatePreempt()
	k.pt.mu.Lock()
	k.setJobStopLocked(p, true)
	k.pt.mu.Unlock()
	if parent != nil {
		p.notifyParent(parent, abi.CLD_STOPPED, sig)
	}
}

// stopAgain stops p, whose stop its parent learned of already (a tracee's group-stop,
// ptrace.go), without telling it again; false when p has no parent inside vemu.
func (p *Process) stopAgain() bool {
	k := p.k
	k.pt.mu.Lock()
	parent := p.parent
	k.pt.mu.Unlock()
	if parent == nil {
		return false
	}
	p.stopped = true
	p.updatePreempt()
	k.pt.mu.Lock()
	k.setJobStopLocked(p, true)
	k.pt.mu.Unlock()
	return true
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
	used := threadUsage()
	k.pt.mu.Lock()
	parent := p.parent
	p.job = jobState{continued: true, used: used}
	k.setJobStopLocked(p, false)
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
