package vemutest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/inject"
	"vemu/kernel"
)

// Call is a system call at its entry, as Options.OnCall sees it.
type Call = kernel.Call

// Action is what Options.OnCall decides for a call; the zero Action lets it run.
type Action = kernel.Action

// Record is one finished system call.
type Record = kernel.SyscallRecord

// Options say how to run a program. The zero value runs it with no arguments beyond its
// path, an empty environment, vemu's working directory and empty standard input.
type Options struct {
	Args  []string // argv after argv[0] (the path)
	Env   []string // "NAME=value" entries
	Dir   string   // working directory
	Stdin []byte
	// Root, when set, is the directory the guest sees as / and cannot leave (vemu run
	// --root); the program's path is then a path inside it.
	Root string

	// Seeded makes every random choice follow Seed; with VirtualClock too, runs of the
	// same program with the same options repeat exactly.
	Seed         uint64
	Seeded       bool
	VirtualClock bool
	StartTime    time.Time           // the wall-clock time the guest starts at
	Vsyscall     kernel.VsyscallMode // the legacy vsyscall page (default xonly)

	// Inject and Fault take strace's -e inject= and -e fault= specs; of several naming
	// one call, the last wins (Fault's after Inject's).
	Inject, Fault []string
	// OnCall, when set, is called at every system call's entry, after the specs.
	OnCall func(Call) Action
	// Strace, when set, receives the --strace lines.
	Strace io.Writer
	// Coverage records the guest code the run covers into Result.Coverage: AFL-style
	// edge counters and the basic blocks run, from a hook in C on every block.
	Coverage bool
}

// Coverage is the guest code a run covered: Edges (emu.CoverSize counters, indexed by a
// hash of two consecutive blocks' addresses, as AFL counts them), and the blocks run in
// each file mapped; WriteDrcov writes them for coverage tools.
type Coverage = kernel.Coverage

// Result is what a run did.
type Result struct {
	ExitCode int    // the exit code, when Signal is 0
	Signal   int    // the signal that killed the program, or 0
	Detail   string // for a signal caused by a fault: where and why
	Core     bool   // the signal dumped core: a core file was written (RLIMIT_CORE allowed it)
	Stdout   []byte
	Stderr   []byte
	Calls    []Record       // every system call of every process and thread, in order
	Counts   map[string]int // calls by name, as --stats counts them
	Coverage *Coverage      // with Options.Coverage
}

// Run runs the program at path under vemu and waits for it. Cancelling ctx kills the
// program and every process it started (SIGKILL), and Run returns what it did so far
// with ctx's error. Processes the program leaves running when it ends are killed too. A program that
// cannot start returns an error whose message says why; bad specs return an
// *inject.Error.
func Run(ctx context.Context, path string, opt Options) (*Result, error) {
	cfg := opt.config()
	if !opt.StartTime.IsZero() {
		if err := kernel.CheckStartTime(opt.StartTime); err != nil {
			return nil, fmt.Errorf("start time: %w", err)
		}
	}
	abs := path
	if opt.Dir != "" && !filepath.IsAbs(path) {
		abs = filepath.Join(opt.Dir, path)
	}
	return run(ctx, cfg, opt.input(), func(cfg kernel.Config) (*kernel.Kernel, *kernel.Task, error) {
		k := kernel.New(cfg)
		t, err := k.Exec(abs, append([]string{path}, opt.Args...), opt.Env)
		return k, t, err
	})
}

// Input is what may change from one run of a Prepared program to the next.
type Input struct {
	Stdin         []byte
	Inject, Fault []string
	OnCall        func(Call) Action
	Strace        io.Writer
}

// Prepared is a program loaded once and run many times: each Run starts from a copy of
// the state its exec left (memory, registers, descriptors), and reuses the CPUs of
// earlier runs with the code they translated where the guest could not change it, so
// repeated runs cost a fraction of a fresh start. Runs may go on in parallel.
type Prepared struct {
	img *kernel.Image
}

// Prepare loads the program at path for repeated runs under opt. opt's Stdin, Inject,
// Fault, OnCall and Strace are not used: each Run takes them from its Input. Without
// Seeded every run starts from the same layout, chosen here at random.
func Prepare(path string, opt Options) (*Prepared, error) {
	cfg := opt.config()
	if !opt.StartTime.IsZero() {
		if err := kernel.CheckStartTime(opt.StartTime); err != nil {
			return nil, fmt.Errorf("start time: %w", err)
		}
	}
	abs := path
	if opt.Dir != "" && !filepath.IsAbs(path) {
		abs = filepath.Join(opt.Dir, path)
	}
	img, err := kernel.Prepare(cfg, abs, append([]string{path}, opt.Args...), opt.Env)
	if err != nil {
		return nil, err
	}
	return &Prepared{img: img}, nil
}

// Run runs the prepared program once, as the package's Run does.
func (pr *Prepared) Run(ctx context.Context, in Input) (*Result, error) {
	return run(ctx, kernel.Config{}, in, pr.img.Start)
}

// Close releases the program and the CPUs kept for it.
func (pr *Prepared) Close() { pr.img.Close() }

func (opt Options) config() kernel.Config {
	cfg := kernel.Config{
		Seed: opt.Seed, HasSeed: opt.Seeded, StartTime: opt.StartTime, Vsyscall: opt.Vsyscall,
		Dir: opt.Dir, Root: opt.Root, Coverage: opt.Coverage,
	}
	if opt.VirtualClock {
		cfg.Clock = kernel.ClockVirtual
	}
	return cfg
}

func (opt Options) input() Input {
	return Input{Stdin: opt.Stdin, Inject: opt.Inject, Fault: opt.Fault, OnCall: opt.OnCall, Strace: opt.Strace}
}

// run starts a run with start, for cfg and in, and collects its result.
func run(ctx context.Context, cfg kernel.Config, in Input, start func(kernel.Config) (*kernel.Kernel, *kernel.Task, error)) (*Result, error) {
	cfg.InjectFunc, cfg.Strace = in.OnCall, in.Strace
	for _, s := range in.Inject {
		spec, err := inject.Parse(s)
		if err != nil {
			return nil, err
		}
		cfg.Inject = append(cfg.Inject, spec)
	}
	for _, s := range in.Fault {
		spec, err := inject.ParseFault(s)
		if err != nil {
			return nil, err
		}
		cfg.Inject = append(cfg.Inject, spec)
	}
	res := &Result{Counts: map[string]int{}}
	var mu sync.Mutex // processes run on goroutines of their own
	cfg.Record = func(r Record) {
		mu.Lock()
		res.Calls = append(res.Calls, r)
		mu.Unlock()
	}
	files, err := memFiles(in.Stdin)
	if err != nil {
		return nil, err
	}
	defer files.close()
	cfg.Stdin, cfg.Stdout, cfg.Stderr = files.in, files.out, files.err

	k, t, err := start(cfg)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, k.KillAll)
	st := t.Run()
	stop()
	// The run ends with its program: processes it left running end with it.
	k.KillAll()
	res.ExitCode, res.Signal, res.Detail, res.Core = st.Code, st.Signal, st.Detail, st.Core
	res.Coverage = k.Coverage()
	if res.Signal != 0 {
		res.ExitCode = 0
	}
	if res.Stdout, err = readAll(files.out); err != nil {
		return nil, err
	}
	if res.Stderr, err = readAll(files.err); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range res.Calls {
		res.Counts[abi.SyscallName(c.Nr)]++
	}
	return res, ctx.Err()
}

// stdFiles are a run's standard files: memory files, so that runs share nothing.
type stdFiles struct{ in, out, err *os.File }

func memFiles(stdin []byte) (*stdFiles, error) {
	var f stdFiles
	for i, p := range []**os.File{&f.in, &f.out, &f.err} {
		fd, err := unix.MemfdCreate(fmt.Sprintf("vemu-std%d", i), unix.MFD_CLOEXEC)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("memfd_create: %w", err)
		}
		*p = os.NewFile(uintptr(fd), "memfd")
	}
	if _, err := f.in.Write(stdin); err != nil {
		f.close()
		return nil, err
	}
	if _, err := f.in.Seek(0, io.SeekStart); err != nil {
		f.close()
		return nil, err
	}
	return &f, nil
}

func (f *stdFiles) close() {
	for _, x := range []*os.File{f.in, f.out, f.err} {
		if x != nil {
			x.Close()
		}
	}
}

func readAll(f *os.File) ([]byte, error) {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<40))
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return b, err
}
