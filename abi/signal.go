package abi

import "strconv"

// Signal numbers.
const (
	SIGHUP    = 1
	SIGINT    = 2
	SIGQUIT   = 3
	SIGILL    = 4
	SIGTRAP   = 5
	SIGABRT   = 6
	SIGIOT    = SIGABRT
	SIGBUS    = 7
	SIGFPE    = 8
	SIGKILL   = 9
	SIGUSR1   = 10
	SIGSEGV   = 11
	SIGUSR2   = 12
	SIGPIPE   = 13
	SIGALRM   = 14
	SIGTERM   = 15
	SIGSTKFLT = 16
	SIGCHLD   = 17
	SIGCONT   = 18
	SIGSTOP   = 19
	SIGTSTP   = 20
	SIGTTIN   = 21
	SIGTTOU   = 22
	SIGURG    = 23
	SIGXCPU   = 24
	SIGXFSZ   = 25
	SIGVTALRM = 26
	SIGPROF   = 27
	SIGWINCH  = 28
	SIGIO     = 29
	SIGPOLL   = SIGIO
	SIGPWR    = 30
	SIGSYS    = 31
	SIGRTMIN  = 32
	SIGRTMAX  = 64
	NSIG      = 65 // one more than the highest signal number
)

// sigaction flags and special handlers.
const (
	SA_NOCLDSTOP      = 0x1
	SA_NOCLDWAIT      = 0x2
	SA_SIGINFO        = 0x4
	SA_UNSUPPORTED    = 0x400
	SA_EXPOSE_TAGBITS = 0x800
	SA_RESTORER       = 0x4000000
	SA_ONSTACK        = 0x8000000
	SA_RESTART        = 0x10000000
	SA_NODEFER        = 0x40000000
	SA_RESETHAND      = 0x80000000

	SIG_DFL = 0
	SIG_IGN = 1
	SIG_ERR = ^uint64(0)
)

// rt_sigprocmask(2) operations.
const (
	SIG_BLOCK   = 0
	SIG_UNBLOCK = 1
	SIG_SETMASK = 2
)

// SigsetSize is the size of the kernel's sigset_t in bytes.
const SigsetSize = 8

// sigev_notify values (include/uapi/asm-generic/siginfo.h; x/sys/unix lacks them).
const (
	SIGEV_SIGNAL    = 0
	SIGEV_NONE      = 1
	SIGEV_THREAD    = 2
	SIGEV_THREAD_ID = 4
)

// si_code values.
const (
	SI_USER    = 0
	SI_KERNEL  = 0x80
	SI_QUEUE   = -1
	SI_TIMER   = -2
	SI_MESGQ   = -3
	SI_ASYNCIO = -4
	SI_SIGIO   = -5

	// si_code of SIGIO and of F_SETSIG's signal (Linux's POLL_*), and how many.
	POLL_IN  = 1
	POLL_OUT = 2
	POLL_MSG = 3
	POLL_ERR = 4
	POLL_PRI = 5
	POLL_HUP = 6
	NSIGPOLL = 6
	SI_TKILL = -6

	ILL_ILLOPC = 1
	ILL_ILLOPN = 2
	ILL_ILLADR = 3
	ILL_ILLTRP = 4
	ILL_PRVOPC = 5
	ILL_PRVREG = 6
	ILL_COPROC = 7
	ILL_BADSTK = 8

	FPE_INTDIV = 1
	FPE_INTOVF = 2
	FPE_FLTDIV = 3
	FPE_FLTOVF = 4
	FPE_FLTUND = 5
	FPE_FLTRES = 6
	FPE_FLTINV = 7
	FPE_FLTSUB = 8

	SEGV_MAPERR = 1
	SEGV_ACCERR = 2
	SEGV_BNDERR = 3
	SEGV_PKUERR = 4

	BUS_ADRALN = 1
	BUS_ADRERR = 2
	BUS_OBJERR = 3

	TRAP_BRKPT = 1
	TRAP_TRACE = 2

	CLD_EXITED    = 1
	CLD_KILLED    = 2
	CLD_DUMPED    = 3
	CLD_TRAPPED   = 4
	CLD_STOPPED   = 5
	CLD_CONTINUED = 6
)

var signalNames = [...]string{
	SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
	SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
	SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1", SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2",
	SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGSTKFLT: "SIGSTKFLT",
	SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP",
	SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU",
	SIGXFSZ: "SIGXFSZ", SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH",
	SIGIO: "SIGIO", SIGPWR: "SIGPWR", SIGSYS: "SIGSYS",
}

// SignalName returns the name of signal n ("SIGSEGV", "SIGRTMIN", "SIGRT_5"),
// or "" when n is not a signal number.
func SignalName(n int) string {
	switch {
	case n > 0 && n < len(signalNames):
		return signalNames[n]
	case n == SIGRTMIN:
		return "SIGRTMIN"
	case n > SIGRTMIN && n <= SIGRTMAX:
		return "SIGRT_" + strconv.Itoa(n-SIGRTMIN)
	}
	return ""
}
