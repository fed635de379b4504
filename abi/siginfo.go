package abi

// Siginfo is siginfo_t. Signo, Errno and Code are always present; the other
// fields belong to the union member that Layout selects, and only those are
// encoded or decoded.
type Siginfo struct {
	Signo int32
	Errno int32
	Code  int32

	// kill, rt, child: the sending process.
	Pid int32
	UID uint32

	// timer
	TimerID int32
	Overrun int32

	// rt, timer: the value passed with the signal.
	Value uint64

	// child
	Status int32
	Utime  int64
	Stime  int64

	// fault
	Addr    uint64
	AddrLSB int16

	// poll
	Band int64
	Fd   int32

	// sys (seccomp)
	CallAddr uint64
	Syscall  int32
	Arch     uint32

	// SysPrivate is kernel-private, never in guest memory: for a signal a POSIX timer
	// queued, which arming of the timer queued it (Linux keeps the like in si_sys_private).
	SysPrivate uint64
}

// SiginfoSize is the size of Siginfo in guest memory.
const SiginfoSize = 128

// SiginfoLayout names the member of the siginfo_t union in use.
type SiginfoLayout uint8

// Union members of siginfo_t.
const (
	SILKill SiginfoLayout = iota
	SILTimer
	SILRt
	SILChild
	SILFault
	SILPoll
	SILSys
)

// Layout returns the union member in use, chosen from the signal and code as
// Linux's siginfo_layout() does.
func (s *Siginfo) Layout() SiginfoLayout {
	if s.Code > SI_USER && s.Code < SI_KERNEL {
		switch s.Signo {
		case SIGCHLD:
			return SILChild
		case SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP:
			return SILFault
		case SIGPOLL:
			return SILPoll
		case SIGSYS:
			return SILSys
		}
		if s.Code <= NSIGPOLL {
			return SILPoll // another signal chosen by F_SETSIG, with a POLL_* code
		}
		return SILKill
	}
	switch {
	case s.Code == SI_TIMER:
		return SILTimer
	case s.Code == SI_SIGIO:
		return SILPoll
	case s.Code < 0:
		return SILRt
	}
	return SILKill
}

// Marshal encodes s into b[:SiginfoSize].
func (s *Siginfo) Marshal(b []byte) {
	zero(b, SiginfoSize)
	put32(b, 0, uint32(s.Signo))
	put32(b, 4, uint32(s.Errno))
	put32(b, 8, uint32(s.Code))
	switch s.Layout() {
	case SILKill:
		put32(b, 16, uint32(s.Pid))
		put32(b, 20, s.UID)
	case SILRt:
		put32(b, 16, uint32(s.Pid))
		put32(b, 20, s.UID)
		put64(b, 24, s.Value)
	case SILTimer:
		put32(b, 16, uint32(s.TimerID))
		put32(b, 20, uint32(s.Overrun))
		put64(b, 24, s.Value)
	case SILChild:
		put32(b, 16, uint32(s.Pid))
		put32(b, 20, s.UID)
		put32(b, 24, uint32(s.Status))
		put64(b, 32, uint64(s.Utime))
		put64(b, 40, uint64(s.Stime))
	case SILFault:
		put64(b, 16, s.Addr)
		put16(b, 24, uint16(s.AddrLSB))
	case SILPoll:
		put64(b, 16, uint64(s.Band))
		put32(b, 24, uint32(s.Fd))
	case SILSys:
		put64(b, 16, s.CallAddr)
		put32(b, 24, uint32(s.Syscall))
		put32(b, 28, s.Arch)
	}
}

// Unmarshal decodes s from b[:SiginfoSize].
func (s *Siginfo) Unmarshal(b []byte) {
	*s = Siginfo{
		Signo: int32(get32(b, 0)),
		Errno: int32(get32(b, 4)),
		Code:  int32(get32(b, 8)),
	}
	switch s.Layout() {
	case SILKill:
		s.Pid = int32(get32(b, 16))
		s.UID = get32(b, 20)
	case SILRt:
		s.Pid = int32(get32(b, 16))
		s.UID = get32(b, 20)
		s.Value = get64(b, 24)
	case SILTimer:
		s.TimerID = int32(get32(b, 16))
		s.Overrun = int32(get32(b, 20))
		s.Value = get64(b, 24)
	case SILChild:
		s.Pid = int32(get32(b, 16))
		s.UID = get32(b, 20)
		s.Status = int32(get32(b, 24))
		s.Utime = int64(get64(b, 32))
		s.Stime = int64(get64(b, 40))
	case SILFault:
		s.Addr = get64(b, 16)
		s.AddrLSB = int16(get16(b, 24))
	case SILPoll:
		s.Band = int64(get64(b, 16))
		s.Fd = int32(get32(b, 24))
	case SILSys:
		s.CallAddr = get64(b, 16)
		s.Syscall = int32(get32(b, 24))
		s.Arch = get32(b, 28)
	}
}
