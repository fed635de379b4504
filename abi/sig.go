package abi

// Kind says how the tracer prints one system call argument.
type Kind uint8

// Argument kinds. "Out" kinds are decoded after the call, and only when it succeeded.
const (
	Int             Kind = iota // C int, signed decimal
	Uint                        // C unsigned int, decimal
	Off                         // 64-bit signed decimal (off_t, loff_t, long)
	Hex                         // hexadecimal, 0 as "0"
	Ptr                         // address: NULL or hexadecimal
	Fd                          // file descriptor, decimal
	DirFd                       // directory descriptor: AT_FDCWD or decimal
	Path                        // NUL-terminated path, printed in full
	Str                         // NUL-terminated string, truncated like strace
	BufIn                       // bytes read by the kernel; length in argument Len
	BufOut                      // bytes written by the kernel; length is the return value (Len -1) or argument Len
	BufOutHex                   // like BufOut, every byte as \xNN (getrandom)
	Size                        // size_t, unsigned decimal
	Mode                        // file mode bits, octal (0644)
	OpenFlags                   // O_* including the access mode
	FdFlags                     // O_* flags without access mode (pipe2, dup3, ...), 0 as "0"
	AtFlags                     // AT_* flags, 0 as "0"
	AccessMode                  // F_OK or R_OK|W_OK|X_OK
	Whence                      // SEEK_*
	MmapProt                    // PROT_*
	MmapFlags                   // MAP_*
	MremapFlags                 // MREMAP_*
	MadviseAdvice               // MADV_*
	ClockID                     // CLOCK_*
	Signal                      // signal number: SIGINT
	SigSetPtr                   // sigset_t read by the kernel: [INT TERM]
	SigSetOut                   // sigset_t written by the kernel
	SigHow                      // SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK
	SigactionPtr                // struct sigaction read by the kernel
	SigactionOut                // struct sigaction written by the kernel
	TimespecPtr                 // struct timespec read by the kernel
	TimespecOut                 // struct timespec written by the kernel
	TimevalPtr                  // struct timeval read by the kernel
	TimevalOut                  // struct timeval written by the kernel
	StatOut                     // struct stat written by the kernel
	StatxOut                    // struct statx written by the kernel
	StatxMask                   // STATX_* mask
	UtsnameOut                  // struct utsname written by the kernel
	IovecIn                     // iovec array the kernel reads from; count in argument Len
	IovecOut                    // iovec array the kernel writes to; count in argument Len, total in the return value
	FcntlCmd                    // F_*
	IoctlReq                    // TCGETS, FIONREAD, ...
	ArchPrctlCode               // ARCH_*
	FutexOp                     // FUTEX_* with _PRIVATE and _CLOCK_REALTIME
	CloneFlags                  // CLONE_* with the exit signal in the low byte
	RlimitRes                   // RLIMIT_*
	RlimitPtr                   // struct rlimit read by the kernel
	RlimitOut                   // struct rlimit written by the kernel
	PrctlOp                     // PR_*
	Pid                         // process id, signed decimal
	Uid                         // user or group id: -1 when all ones
	WaitOptions                 // WNOHANG|WUNTRACED|...
	WaitStatusOut               // int status written by wait4
	IntOut                      // int written by the kernel: [5]
	UintOut                     // unsigned written by the kernel: [5]
	PipeFdsOut                  // int[2] written by pipe: [3, 4]
	DirentsOut                  // linux_dirent64 records; count of entries shown
	SysinfoOut                  // struct sysinfo written by the kernel
	RandomFlags                 // GRND_*
	StrArray                    // NULL-terminated array of strings (argv)
	EnvArray                    // NULL-terminated array of strings, shown as a count
	TimeOut                     // time_t written by the kernel
	CPUSetOut                   // CPU mask written by the kernel: [0 1 2 3]
	UtimensPtr                  // struct timespec[2] read by the kernel
	RusageOut                   // struct rusage written by the kernel
	TimerFlags                  // TIMER_ABSTIME
	RenameFlags                 // RENAME_*
	Octal                       // plain octal number (umask)
	StackTPtr                   // stack_t read by the kernel
	StackTOut                   // stack_t written by the kernel
	SocketDomain                // AF_*
	SocketType                  // SOCK_* with SOCK_NONBLOCK|SOCK_CLOEXEC
	MsyncFlags                  // MS_*
	PollFdsPtr                  // struct pollfd array; count in argument Len
	ItimerWhich                 // ITIMER_*
	CloseRangeFlags             // CLOSE_RANGE_*
	Personality                 // personality value
	EfdFlags                    // EFD_* (same bits as O_*)
	MlockallFlags               // MCL_*
	MembarrierCmd               // MEMBARRIER_CMD_*
	SeccompOp                   // SECCOMP_SET_MODE_*
	TimesOut                    // struct tms written by the kernel
	TimezonePtr                 // struct timezone, shown as a pointer unless NULL
	PathOut                     // NUL-terminated path written by the kernel (getcwd)
	SigeventPtr                 // struct sigevent read by the kernel
	ItimerspecPtr               // struct itimerspec read by the kernel
	ItimerspecOut               // struct itimerspec written by the kernel
	kindCount
)

// Ret says how the tracer prints a successful return value.
type Ret uint8

// Return kinds.
const (
	RetInt   Ret = iota // signed decimal
	RetHex              // hexadecimal address (mmap, brk)
	RetFd               // file descriptor
	RetNone             // the call does not return: "?"
	RetOctal            // octal (umask)
)

// Arg is one system call argument as the tracer sees it.
type Arg struct {
	Name string
	Kind Kind
	// Len, for buffer and array kinds, is the index of the argument that
	// holds the length, or -1 for the return value.
	Len int
}

// Sig is the signature of one system call.
type Sig struct {
	Name string
	Args []Arg
	Ret  Ret
}

// SyscallName returns the name of system call nr, or "" for an unused number.
func SyscallName(nr uint64) string {
	if nr >= SyscallCount {
		return ""
	}
	return Syscalls[nr].Name
}
