package kernel

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"vemu/abi"
	"vemu/inject"
)

// Config says how the kernel behaves. The zero value is a usable default.
type Config struct {
	// Strace, when set, receives one strace-format line per system call. While more
	// than one guest thread lives, each line starts with its thread's id, as strace -f
	// writes it: "[pid  123] " (or "123   " with StraceFile, as strace -f -o FILE).
	Strace     io.Writer
	StraceFile bool
	// Seed makes every random choice (addresses, AT_RANDOM, getrandom) reproducible.
	Seed    uint64
	HasSeed bool
	// NoASLR places the stack, mmap area, heap and vDSO at fixed addresses.
	NoASLR bool
	// Vsyscall selects how the legacy vsyscall page behaves.
	Vsyscall VsyscallMode
	// Clock selects the clock source.
	Clock ClockKind
	// StartTime, when not zero, is the wall-clock time the guest starts at.
	StartTime time.Time
	// HZ is the timekeeper's tick rate (default 250).
	HZ int
	// Stats counts vDSO calls by function too (other counts are always kept).
	Stats bool
	// Ignored are the signals the first process starts with ignored, as a program
	// inherits SIG_IGN through execve (those vemu itself was started with ignored).
	Ignored []int
	// Stdin, Stdout, Stderr are the host files behind guest fds 0, 1 and 2
	// (default: vemu's own).
	Stdin, Stdout, Stderr *os.File
	// Inherit are host descriptors above 2 that the first process gets under the same
	// numbers, as a program inherits them from the shell (vemu run prog 3<file).
	Inherit []int
	// Dir is the first process's working directory (default: vemu's own).
	Dir string
	// Root, when set, is the directory the guest sees as /, confined to it as by
	// openat2's RESOLVE_IN_ROOT (see fs.go). The program's path is inside it.
	Root string
	// Prefix, when set, is searched first for absolute paths (the interpreter's too),
	// falling back to the host's, as qemu-user's -L. It confines nothing.
	Prefix string
	// Inject tampers with system calls as strace's -e inject= and -e fault= do; of
	// several specs naming one call, the last wins.
	Inject []*inject.Spec
	// InjectFunc, when set, is called at each system call's entry (after Inject's
	// specs) and may fail it, replace its result, shorten it or send a signal.
	InjectFunc func(Call) Action
	// Record, when set, receives every finished system call.
	Record func(SyscallRecord)
	// Coverage records the guest code every process runs (Kernel.Coverage).
	Coverage bool
	// JobControl lets the first process's own stops stop vemu's host process, so that
	// the shell that started vemu sees its job stop (the vemu command sets it).
	JobControl bool
}

// Kernel is the simulated Linux shared by the processes it runs.
type Kernel struct {
	cfg Config

	// sessionsMade is set once a guest process made a session (setsid): from then on
	// reads, writes and ioctls of terminals check job control (ctty.go).
	sessionsMade atomic.Bool

	// autogroupNice is the nice value the guest gave its autogroup (procextra.go).
	autogroupNice atomic.Int32

	// shmemIno numbers the files of shared anonymous mappings, as Linux's get_next_ino().
	shmemIno atomic.Uint64

	sigio   sigioWatch // O_ASYNC files (sigio.go)
	dnotify dnWatch    // F_NOTIFY watches (dnotify.go)

	ipcOnce sync.Once
	sysv    *sysvIPC // System V IPC objects, made on first use
	aioOnce sync.Once
	aioLim  *aioLimits // aio-nr, made on first use
	mqOnce  sync.Once
	mq      *mqTable // POSIX message queues, made on first use
	sfOnce  sync.Once
	sfutex  *sharedFutexes // waiters on shared futexes, made on first use
	piOnce  sync.Once
	pi      *piTable   // PI futexes with waiters (futexpi.go), made on first use
	rand    *rand.Rand // shared by processes running in parallel: take randMu
	pcg     *rand.PCG  // rand's source, whose state an Image copies
	randMu  sync.Mutex
	seed    uint64 // the source's seed, which the lengths of quanta derive from (sched.go)
	clock   *Timekeeper
	stats   Stats

	// table is the system call table the SYSCALL entry dispatches through. Reaching it
	// through the kernel, not the package variable, keeps the entry out of the table's
	// initialization: the table's handlers start processes whose CPUs call the entry.
	table *[abi.SyscallCount]Entry

	inject    *inject.Rules // Config.Inject, by call
	injecting bool          // any tampering: Inject or InjectFunc

	pt      procTable
	cover   coverage     // Config.Coverage's records, from the processes that ended
	killing atomic.Bool  // KillAll was called: new processes are doomed at birth
	locks   *recordLocks // every guest process's record locks
	leases  leaseTable   // open descriptions of regular files and their leases (lease.go)
	shared  sharedCPU    // held by a process sharing memory while it runs (sharedcpu.go)
	lines   waitLines    // threads waiting in line on host files (hostwait.go)

	frozen frozenCache // files that private mappings share, see frozen.go
	root   *fsRoot     // Config.Root, opened by the first Exec

	// The first process, and the terminal's foreground process group that vemu's own
	// terminal signals go to: the first process's group at start, then whatever a guest
	// set with tcsetpgrp (fgSet). Guarded by pt.mu.
	first  *Process
	fgPgid int
	fgSet  bool
}

// New returns a kernel for cfg.
func New(cfg Config) *Kernel {
	if cfg.HZ <= 0 {
		cfg.HZ = 250
	}
	seed := cfg.Seed
	if !cfg.HasSeed {
		seed = rand.Uint64()
	}
	pcg := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	k := &Kernel{cfg: cfg, pcg: pcg, rand: rand.New(pcg), seed: seed, table: &table}
	if cfg.Stats {
		k.stats.vdsoCalls = vdsoCounters()
	}
	k.inject = inject.NewRules(cfg.Inject...)
	k.injecting = !k.inject.Empty() || cfg.InjectFunc != nil
	k.clock = newTimekeeper(cfg)
	k.locks = newRecordLocks()
	k.shared = newSharedCPU()
	return k
}

// ExitStatus is how a guest process ended, as a shell sees it.
type ExitStatus struct {
	Code   int    // exit code (when Signal is 0)
	Signal int    // the signal that killed it, or 0
	Detail string // for a signal caused by a fault: where and why
	Core   bool   // the signal dumped core (WCOREDUMP): a core file was written
}

// ShellStatus is the status a shell reports: the code, or 128+signal.
func (s ExitStatus) ShellStatus() int {
	if s.Signal != 0 {
		return 128 + s.Signal
	}
	return s.Code
}

// ExecError is an error that keeps a program from starting.
type ExecError struct {
	Path     string
	Status   int // 127: not found; 126: found but not runnable
	Err      error
	Internal bool
}

func (e *ExecError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *ExecError) Unwrap() error { return e.Err }

// ErrInternal wraps failures that are vemu's fault, not the guest's.
var ErrInternal = errors.New("internal error")

// random returns the next number of the kernel's random source.
func (k *Kernel) random() uint64 {
	k.randMu.Lock()
	defer k.randMu.Unlock()
	return k.rand.Uint64()
}
