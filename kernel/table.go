package kernel

import "vemu/abi"

// Status says how completely vemu implements a system call.
type Status uint8

// Support levels.
const (
	Missing   Status = iota // ENOSYS
	Partial                 // implemented with limits, said in the entry's note
	Supported               // as on Linux
)

func (s Status) String() string {
	return [...]string{"missing", "partial", "supported"}[s]
}

// Entry is one system call number's row in the table. The name and argument kinds come
// from abi.Syscalls, the one definition the tracer reads too.
type Entry struct {
	Status  Status
	Handler Handler
	Note    string
}

func supported(h Handler) Entry            { return Entry{Status: Supported, Handler: h} }
func partial(h Handler, note string) Entry { return Entry{Status: Partial, Handler: h, Note: note} }
func missing(note string) Entry            { return Entry{Status: Missing, Note: note} }

// table is the x86-64 system call table, indexed by number as in syscall_64.tbl. Numbers
// without a row are Missing: ENOSYS, and traced as such.
var table = [abi.SyscallCount]Entry{
	abi.SYS_READ:              supported(sysRead),
	abi.SYS_WRITE:             supported(sysWrite),
	abi.SYS_OPEN:              supported(sysOpen),
	abi.SYS_CLOSE:             supported(sysClose),
	abi.SYS_STAT:              supported(sysStat),
	abi.SYS_FSTAT:             supported(sysFstat),
	abi.SYS_LSTAT:             supported(sysLstat),
	abi.SYS_LSEEK:             supported(sysLseek),
	abi.SYS_MMAP:              partial(sysMmap, "private file mappings are copies: later writes to the file are not seen"),
	abi.SYS_MPROTECT:          supported(sysMprotect),
	abi.SYS_MUNMAP:            supported(sysMunmap),
	abi.SYS_BRK:               supported(sysBrk),
	abi.SYS_RT_SIGACTION:      supported(sysRtSigaction),
	abi.SYS_RT_SIGRETURN:      supported(sysRtSigreturn),
	abi.SYS_PAUSE:             supported(sysPause),
	abi.SYS_ALARM:             supported(sysAlarm),
	abi.SYS_GETITIMER:         partial(sysGetitimer, "ITIMER_VIRTUAL and ITIMER_PROF both count process CPU time, user and system alike"),
	abi.SYS_SETITIMER:         partial(sysSetitimer, "ITIMER_VIRTUAL and ITIMER_PROF both count process CPU time, user and system alike"),
	abi.SYS_RT_SIGPENDING:     supported(sysRtSigpending),
	abi.SYS_RT_SIGTIMEDWAIT:   supported(sysRtSigtimedwait),
	abi.SYS_RT_SIGQUEUEINFO:   supported(sysRtSigqueueinfo),
	abi.SYS_RT_SIGSUSPEND:     supported(sysRtSigsuspend),
	abi.SYS_RT_TGSIGQUEUEINFO: supported(sysRtTgsigqueueinfo),
	abi.SYS_RT_SIGPROCMASK:    supported(sysRtSigprocmask),
	abi.SYS_IOCTL:             partial(sysIoctl, "terminal requests (TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ; TIOCGPGRP and TIOCSPGRP kept by vemu, as guest process groups are not the host's) and FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; others ENOTTY"),
	abi.SYS_PREAD64:           supported(sysPread64),
	abi.SYS_PWRITE64:          supported(sysPwrite64),
	abi.SYS_READV:             supported(sysReadv),
	abi.SYS_WRITEV:            supported(sysWritev),
	abi.SYS_ACCESS:            supported(sysAccess),
	abi.SYS_PIPE:              supported(sysPipe),
	abi.SYS_SCHED_YIELD:       supported(sysSchedYield),
	abi.SYS_MREMAP:            partial(sysMremap, "MREMAP_DONTUNMAP is not supported"),
	abi.SYS_MADVISE:           partial(sysMadvise, "MADV_DONTNEED drops pages; other advice is accepted and ignored"),
	abi.SYS_DUP:               supported(sysDup),
	abi.SYS_DUP2:              supported(sysDup2),
	abi.SYS_NANOSLEEP:         partial(sysNanosleep, "not interrupted by signals (no EINTR)"),
	abi.SYS_GETPID:            supported(sysGetpid),
	abi.SYS_CLONE:             partial(sysClone, "a new process gets a copy of the address space even with CLONE_VM (vfork included)"),
	abi.SYS_FORK:              supported(sysFork),
	abi.SYS_VFORK:             partial(sysVfork, "the child has a copy of the parent's memory, not the memory itself"),
	abi.SYS_EXECVE:            partial(sysExecve, "static executables only"),
	abi.SYS_EXIT:              supported(sysExit),
	abi.SYS_WAIT4:             partial(sysWait4, "rusage is zero"),
	abi.SYS_KILL:              partial(sysKill, "guest processes only"),
	abi.SYS_UNAME:             supported(sysUname),
	abi.SYS_FCNTL:             partial(sysFcntl, "F_SETLK record locks belong to the vemu process, so guest processes do not exclude each other with them (OFD locks do)"),
	abi.SYS_FLOCK:             supported(sysFlock),
	abi.SYS_STATFS:            supported(sysStatfs),
	abi.SYS_FSTATFS:           supported(sysFstatfs),
	abi.SYS_GETPRIORITY:       partial(sysGetpriority, "nice values are kept per guest process; they do not change how vemu schedules"),
	abi.SYS_SETPRIORITY:       partial(sysSetpriority, "nice values are kept per guest process; they do not change how vemu schedules"),
	abi.SYS_SOCKET:            supported(sysSocket),
	abi.SYS_SOCKETPAIR:        supported(sysSocketpair),
	abi.SYS_BIND:              supported(sysBind),
	abi.SYS_CONNECT:           partial(sysConnect, "a blocking connect is not interrupted by signals"),
	abi.SYS_LISTEN:            supported(sysListen),
	abi.SYS_ACCEPT:            supported(sysAccept),
	abi.SYS_ACCEPT4:           supported(sysAccept4),
	abi.SYS_GETSOCKNAME:       supported(sysGetsockname),
	abi.SYS_GETPEERNAME:       supported(sysGetpeername),
	abi.SYS_SHUTDOWN:          supported(sysShutdown),
	abi.SYS_SETSOCKOPT:        supported(sysSetsockopt),
	abi.SYS_GETSOCKOPT:        supported(sysGetsockopt),
	abi.SYS_SENDTO:            supported(sysSendto),
	abi.SYS_RECVFROM:          supported(sysRecvfrom),
	abi.SYS_SENDMSG:           partial(sysSendmsg, "control messages up to 4 KiB; SCM_RIGHTS translated, others passed as they are"),
	abi.SYS_RECVMSG:           partial(sysRecvmsg, "control messages up to 4 KiB; SCM_RIGHTS translated, others passed as they are"),
	abi.SYS_FALLOCATE:         supported(sysFallocate),
	abi.SYS_FSYNC:             supported(sysFsync),
	abi.SYS_FDATASYNC:         supported(sysFdatasync),
	abi.SYS_TRUNCATE:          supported(sysTruncate),
	abi.SYS_FTRUNCATE:         supported(sysFtruncate),
	abi.SYS_GETCWD:            supported(sysGetcwd),
	abi.SYS_CHDIR:             supported(sysChdir),
	abi.SYS_FCHDIR:            supported(sysFchdir),
	abi.SYS_RENAME:            supported(sysRename),
	abi.SYS_MKDIR:             supported(sysMkdir),
	abi.SYS_RMDIR:             supported(sysRmdir),
	abi.SYS_CREAT:             supported(sysCreat),
	abi.SYS_LINK:              supported(sysLink),
	abi.SYS_UNLINK:            supported(sysUnlink),
	abi.SYS_SYMLINK:           supported(sysSymlink),
	abi.SYS_READLINK:          supported(sysReadlink),
	abi.SYS_CHMOD:             supported(sysChmod),
	abi.SYS_FCHMOD:            supported(sysFchmod),
	abi.SYS_CHOWN:             supported(sysChown),
	abi.SYS_FCHOWN:            supported(sysFchown),
	abi.SYS_LCHOWN:            supported(sysLchown),
	abi.SYS_UMASK:             supported(sysUmask),
	abi.SYS_GETTIMEOFDAY:      supported(sysGettimeofday),
	abi.SYS_GETRLIMIT:         supported(sysGetrlimit),
	abi.SYS_GETRUSAGE:         partial(sysGetrusage, "the host process's figures"),
	abi.SYS_SYSINFO:           supported(sysSysinfo),
	abi.SYS_GETUID:            supported(sysGetuid),
	abi.SYS_GETGID:            supported(sysGetgid),
	abi.SYS_GETEUID:           supported(sysGeteuid),
	abi.SYS_GETEGID:           supported(sysGetegid),
	abi.SYS_SETPGID:           supported(sysSetpgid),
	abi.SYS_GETPPID:           supported(sysGetppid),
	abi.SYS_GETPGRP:           supported(sysGetpgrp),
	abi.SYS_SETSID:            supported(sysSetsid),
	abi.SYS_GETGROUPS:         supported(sysGetgroups),
	abi.SYS_GETRESUID:         supported(sysGetresuid),
	abi.SYS_GETRESGID:         supported(sysGetresgid),
	abi.SYS_GETPGID:           supported(sysGetpgid),
	abi.SYS_GETSID:            supported(sysGetsid),
	abi.SYS_SIGALTSTACK:       supported(sysSigaltstack),
	abi.SYS_ARCH_PRCTL:        partial(sysArchPrctl, "ARCH_SET_CPUID is not supported"),
	abi.SYS_PRCTL:             partial(sysPrctl, "PR_SET_NAME, PR_GET_NAME, PR_*_DUMPABLE, PR_*_NO_NEW_PRIVS, PR_SET_PDEATHSIG, PR_SET_VMA"),
	abi.SYS_SETRLIMIT:         supported(sysSetrlimit),
	abi.SYS_SYNC:              supported(sysSync),
	abi.SYS_GETTID:            supported(sysGettid),
	abi.SYS_TKILL:             supported(sysTkill),
	abi.SYS_TIME:              supported(sysTime),
	abi.SYS_SCHED_GETAFFINITY: supported(sysSchedGetaffinity),
	abi.SYS_GETDENTS64:        supported(sysGetdents64),
	abi.SYS_SET_TID_ADDRESS:   supported(sysSetTidAddress),
	abi.SYS_TIMER_CREATE:      partial(sysTimerCreate, timerNote),
	abi.SYS_TIMER_SETTIME:     partial(sysTimerSettime, timerNote),
	abi.SYS_TIMER_GETTIME:     partial(sysTimerGettime, timerNote),
	abi.SYS_TIMER_GETOVERRUN:  supported(sysTimerGetoverrun),
	abi.SYS_TIMER_DELETE:      supported(sysTimerDelete),
	abi.SYS_CLOCK_GETTIME:     supported(sysClockGettime),
	abi.SYS_CLOCK_GETRES:      supported(sysClockGetres),
	abi.SYS_CLOCK_NANOSLEEP:   partial(sysClockNanosleep, "not interrupted by signals"),
	abi.SYS_EXIT_GROUP:        supported(sysExitGroup),
	abi.SYS_WAITID:            partial(sysWaitid, "rusage is zero; no pidfds: P_PIDFD is EBADF"),
	abi.SYS_FUTEX:             partial(sysFutex, "private to a process: MAP_SHARED futexes do not wake other processes"),
	abi.SYS_EXECVEAT:          partial(sysExecveat, "static executables only"),
	abi.SYS_TGKILL:            supported(sysTgkill),
	abi.SYS_OPENAT:            supported(sysOpenat),
	abi.SYS_MKDIRAT:           supported(sysMkdirat),
	abi.SYS_FCHOWNAT:          supported(sysFchownat),
	abi.SYS_NEWFSTATAT:        supported(sysNewfstatat),
	abi.SYS_UNLINKAT:          supported(sysUnlinkat),
	abi.SYS_RENAMEAT:          supported(sysRenameat),
	abi.SYS_LINKAT:            supported(sysLinkat),
	abi.SYS_SYMLINKAT:         supported(sysSymlinkat),
	abi.SYS_READLINKAT:        supported(sysReadlinkat),
	abi.SYS_FCHMODAT:          supported(sysFchmodat),
	abi.SYS_FACCESSAT:         supported(sysFaccessat),
	abi.SYS_SET_ROBUST_LIST:   supported(sysSetRobustList),
	abi.SYS_GET_ROBUST_LIST:   supported(sysGetRobustList),
	abi.SYS_UTIMENSAT:         supported(sysUtimensat),
	abi.SYS_DUP3:              supported(sysDup3),
	abi.SYS_PIPE2:             supported(sysPipe2),
	abi.SYS_PREADV:            supported(sysPreadv),
	abi.SYS_PWRITEV:           supported(sysPwritev),
	abi.SYS_PRLIMIT64:         partial(sysPrlimit64, "only the process itself"),
	abi.SYS_GETCPU:            supported(sysGetcpu),
	abi.SYS_RENAMEAT2:         supported(sysRenameat2),
	abi.SYS_GETRANDOM:         supported(sysGetrandom),
	abi.SYS_STATX:             supported(sysStatx),
	abi.SYS_RSEQ:              missing("ENOSYS on purpose: libcs then do without restartable sequences"),
	abi.SYS_CLONE3:            missing("ENOSYS on purpose: glibc then falls back to clone"),
	abi.SYS_FACCESSAT2:        supported(sysFaccessat2),
	abi.SYS_POLL:              supported(sysPoll),
	abi.SYS_SELECT:            supported(sysSelect),
	abi.SYS_PSELECT6:          supported(sysPselect6),
	abi.SYS_PPOLL:             supported(sysPpoll),
	abi.SYS_EPOLL_CREATE:      supported(sysEpollCreate),
	abi.SYS_EPOLL_CREATE1:     supported(sysEpollCreate1),
	abi.SYS_EPOLL_CTL:         partial(sysEpollCtl, "keyed by host file: two guest fds that dup one file cannot both be added"),
	abi.SYS_EPOLL_WAIT:        supported(sysEpollWait),
	abi.SYS_EPOLL_PWAIT:       supported(sysEpollPwait),
	abi.SYS_EPOLL_PWAIT2:      supported(sysEpollPwait2),
	abi.SYS_EVENTFD:           supported(sysEventfd),
	abi.SYS_EVENTFD2:          supported(sysEventfd2),
	abi.SYS_TIMERFD_CREATE:    partial(sysTimerfdCreate, timerfdNote),
	abi.SYS_TIMERFD_SETTIME:   partial(sysTimerfdSettime, timerfdNote),
	abi.SYS_TIMERFD_GETTIME:   partial(sysTimerfdGettime, timerfdNote),
}

// Lookup returns the table entry and the name of system call nr.
func Lookup(nr uint64) (Entry, string) {
	if nr >= uint64(len(table)) {
		return Entry{}, ""
	}
	return table[nr], abi.SyscallName(nr)
}

// TableSize is the number of system call numbers the table covers.
const TableSize = abi.SyscallCount
