// Command vemu runs x86-64 Linux programs, static and dynamically linked, on an emulated
// CPU with a simulated kernel.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/gdbstub"

	"vemu/abi"
	"vemu/emu"
	"vemu/inject"
	"vemu/kernel"
	vdsoimage "vemu/vdso_image"
)

const usage = `usage:
  vemu run [flags] PROGRAM [ARGS...]   run an x86-64 Linux program
  vemu syscalls                        list the system call table and what is supported
  vemu vdso [--disasm]                 show the synthesized vDSO: symbols, vvar layout, code
  vemu vdso dump FILE                  write the vDSO image to FILE (readelf, objdump, gdb read it)
`

// inherited are the descriptors above 2 that vemu was started with: the guest gets them,
// as a program started in vemu's place would.
var inherited []int

func main() {
	inherited = inheritedFds()
	code, sig := run(os.Args[1:], os.Stdout, os.Stderr)
	if sig != 0 {
		dieBy(sig)
	}
	os.Exit(code)
}

// dieBy ends vemu by signal sig, as its guest ended, so that vemu's parent sees what a
// parent of the program would: the signal's default action restored and the signal
// raised on this thread, with core dumps off for vemu itself (a core of vemu would
// describe the emulator, not the guest). Should the signal not end the process, vemu
// exits with 128+sig, as a shell would report it.
func dieBy(sig int) {
	runtime.LockOSThread()
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	signal.Reset(syscall.Signal(sig))
	// The Go runtime keeps handlers for signals os/signal does not hand over (SIGSEGV,
	// SIGPIPE...): replace the handler with SIG_DFL directly.
	var act [4]uint64 // struct kernel_sigaction: handler SIG_DFL, no flags, no mask
	// SAFETY: act and set are live Go values of the sizes the host reads (a 32-byte
	// struct kernel_sigaction, an 8-byte sigset); no old value is asked for.
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	set := uint64(1) << (sig - 1)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	unix.Tgkill(unix.Getpid(), unix.Gettid(), syscall.Signal(sig))
	time.Sleep(100 * time.Millisecond) // a signal sent to oneself arrives before this ends
	os.Exit(128 + sig)
}

// shellReports says whether a shell prints a line for a program killed by sig: bash
// says nothing for SIGINT (the user pressed Ctrl-C) and SIGPIPE (a reader went away).
func shellReports(sig int) bool {
	return sig != abi.SIGINT && sig != abi.SIGPIPE
}

// inheritedFds lists the descriptors above 2 that came through execve, and marks them
// close-on-exec for vemu.
func inheritedFds() []int {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dir)
	var fds []int
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getdents(dir, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			fd, err := strconv.Atoi(name)
			if err != nil || fd <= 2 || fd == dir {
				continue
			}
			// What the Go runtime opened before main (its cgroup files) is close-on-exec;
			// what came through execve cannot be.
			if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC != 0 {
				continue
			}
			unix.CloseOnExec(fd)
			fds = append(fds, fd)
		}
	}
	return fds
}

// run runs the command in args and returns vemu's exit status, or the signal vemu must
// die by (the one that killed the guest).
func run(args []string, stdout, stderr io.Writer) (code, sig int) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2, 0
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "syscalls":
		return cmdSyscalls(stdout), 0
	case "vdso":
		return cmdVDSO(args[1:], stdout, stderr), 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0, 0
	}
	fmt.Fprintf(stderr, "vemu: unknown command %q\n%s", args[0], usage)
	return 2, 0
}

// cmdRun runs a guest; it returns vemu's exit status, or the signal that killed the guest.
func cmdRun(args []string, stderr io.Writer) (code, sig int) {
	fs := flag.NewFlagSet("vemu run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strace := fs.Bool("strace", false, "print each system call to stderr, as strace does")
	straceFile := fs.String("strace-file", "", "write the system call trace to `PATH` instead")
	seed := fs.String("seed", "", "make every random choice reproducible from `N`")
	root := fs.String("root", "", "confine the guest to `DIR`, its / (PROGRAM is a path inside it)")
	prefix := fs.String("L", "", "look for the ELF interpreter and absolute paths under `DIR` first, as qemu-user's -L (no confinement)")
	noASLR := fs.Bool("no-aslr", false, "place the stack, heap, mmap area and vDSO at fixed addresses")
	vsys := fs.String("vsyscall", "xonly", "vsyscall page `mode`: xonly, emulate or none")
	clock := fs.String("clock", "host", "clock `source`: host or virtual (deterministic)")
	start := fs.String("start-time", "", "wall-clock `time` (RFC 3339) the guest starts at")
	hz := fs.Int("hz", 250, "timekeeper tick rate")
	stats := fs.Bool("stats", false, "print system call, vsyscall, vDSO and timekeeper counts at exit")
	coverFile := fs.String("cover", "", "write the basic blocks the guest ran to `FILE`, in drcov format (Lighthouse, bncov)")
	var gdbAddr string
	fs.StringVar(&gdbAddr, "gdb", "", "wait for gdb on `[HOST:]PORT` (default host 127.0.0.1) before the first instruction")
	fs.StringVar(&gdbAddr, "g", "", "the same as --gdb, as qemu-user spells it")
	type tamper struct{ flag, spec string }
	var tampers []tamper // in the order given: of specs naming one call, the last wins
	fs.Func("inject", "tamper with system calls as strace's -e inject=`SPEC` (repeatable)", func(v string) error {
		tampers = append(tampers, tamper{"inject", v})
		return nil
	})
	fs.Func("fault", "fail system calls as strace's -e fault=`SPEC` (repeatable)", func(v string) error {
		tampers = append(tampers, tamper{"fault", v})
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: vemu run [flags] PROGRAM [ARGS...]\n\nflags (they stop at PROGRAM):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2, 0
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2, 0
	}
	cfg := kernel.Config{NoASLR: *noASLR, HZ: *hz, Stats: *stats, Inherit: inherited, Root: *root, Prefix: strings.TrimRight(*prefix, "/"),
		JobControl: true}
	if *root != "" && *prefix != "" {
		fmt.Fprintf(stderr, "vemu: --root and -L cannot be used together\n")
		return 2, 0
	}
	var cover *os.File
	if *coverFile != "" {
		f, err := os.Create(*coverFile)
		if err != nil {
			fmt.Fprintf(stderr, "vemu: --cover: %v\n", err)
			return 2, 0
		}
		defer f.Close()
		cover, cfg.Coverage = f, true
	}
	var err error
	if cfg.Vsyscall, err = kernel.ParseVsyscallMode(*vsys); err != nil {
		fmt.Fprintf(stderr, "vemu: --vsyscall: %v\n", err)
		return 2, 0
	}
	switch *clock {
	case "host":
		cfg.Clock = kernel.ClockHost
	case "virtual":
		cfg.Clock = kernel.ClockVirtual
	default:
		fmt.Fprintf(stderr, "vemu: --clock: %q: want host or virtual\n", *clock)
		return 2, 0
	}
	if *start != "" {
		if cfg.StartTime, err = time.Parse(time.RFC3339, *start); err != nil {
			fmt.Fprintf(stderr, "vemu: --start-time: %v\n", err)
			return 2, 0
		}
		if err := kernel.CheckStartTime(cfg.StartTime); err != nil {
			fmt.Fprintf(stderr, "vemu: --start-time: %v\n", err)
			return 2, 0
		}
	}
	if *seed != "" {
		if cfg.Seed, err = strconv.ParseUint(*seed, 0, 64); err != nil {
			fmt.Fprintf(stderr, "vemu: --seed: %q is not a number\n", *seed)
			return 2, 0
		}
		cfg.HasSeed = true
	}
	for _, tp := range tampers {
		parse := inject.Parse
		if tp.flag == "fault" {
			parse = inject.ParseFault
		}
		spec, err := parse(tp.spec)
		if err != nil {
			fmt.Fprintf(stderr, "vemu: --%s: %v\n", tp.flag, err)
			return 2, 0
		}
		cfg.Inject = append(cfg.Inject, spec)
	}
	if *hz <= 0 || *hz > 10000 {
		fmt.Fprintf(stderr, "vemu: --hz: %d: want 1 to 10000\n", *hz)
		return 2, 0
	}
	switch {
	case *straceFile != "":
		f, err := os.Create(*straceFile)
		if err != nil {
			fmt.Fprintf(stderr, "vemu: --strace-file: %v\n", err)
			return 2, 0
		}
		defer f.Close()
		cfg.Strace, cfg.StraceFile = f, true
	case *strace:
		cfg.Strace = stderr
	}

	// A program started with signals ignored keeps them ignored, as through execve.
	cfg.Ignored = emu.StartIgnored()
	k := kernel.New(cfg)
	prog := fs.Arg(0)
	path := prog
	if !strings.Contains(prog, "/") && *root != "" {
		// Inside the root, PATH names the root's directories.
		p, err := k.LookPath(prog, os.Getenv("PATH"))
		if err != nil {
			fmt.Fprintf(stderr, "vemu: %v\n", err)
			return 127, 0
		}
		path = p
	} else if !strings.Contains(prog, "/") {
		// As a shell does: a bare name is looked up in PATH.
		if p, err := exec.LookPath(prog); err == nil {
			path = p
		} else if !errors.Is(err, exec.ErrNotFound) {
			path = prog
		} else {
			fmt.Fprintf(stderr, "vemu: %s: command not found\n", prog)
			return 127, 0
		}
	}
	var ln net.Listener
	if gdbAddr != "" {
		if ln, err = listenGDB(gdbAddr); err != nil {
			fmt.Fprintf(stderr, "vemu: --gdb: %v\n", err)
			return 2, 0
		}
		defer ln.Close()
	}
	t, err := k.Exec(path, fs.Args(), os.Environ())
	if err != nil {
		var ee *kernel.ExecError
		if errors.As(err, &ee) {
			fmt.Fprintf(stderr, "vemu: %s: %v\n", prog, ee.Err)
			return ee.Status, 0
		}
		fmt.Fprintf(stderr, "vemu: %s: %v\n", prog, err)
		return 126, 0
	}
	var session chan struct{}
	if ln != nil {
		session = serveGDB(ln, k.Debug(t), stderr)
	}
	stopForwarding := forwardSignals(k)
	st := t.Run()
	stopForwarding()
	if session != nil {
		// Let gdb hear how the process ended before vemu exits; stop waiting for one
		// that never came.
		ln.Close()
		select {
		case <-session:
		case <-time.After(5 * time.Second):
		}
	}
	if *stats {
		k.WriteStats(stderr)
	}
	if cover != nil {
		if err := k.Coverage().WriteDrcov(cover); err != nil {
			fmt.Fprintf(stderr, "vemu: --cover: %v\n", err)
		}
	}
	switch {
	case st.Signal != 0:
		// A shell's line, and the trace's record of the end whatever the signal.
		msg := fmt.Sprintf("vemu: %s: killed by %s", prog, abi.SignalName(st.Signal))
		if st.Core {
			msg += " (core dumped)"
		}
		if st.Detail != "" {
			msg += " (" + st.Detail + ")"
		}
		if cfg.Strace != nil {
			fmt.Fprintln(cfg.Strace, msg)
		}
		if shellReports(st.Signal) && cfg.Strace != stderr {
			fmt.Fprintln(stderr, msg)
		}
		return 0, st.Signal
	case st.Detail != "":
		fmt.Fprintf(stderr, "vemu: %s: %s\n", prog, st.Detail)
	}
	return st.Code, 0
}

// listenGDB listens for gdb's connection on [HOST:]PORT; the host defaults to the
// loopback address, so that the guest's debugger is not offered to the network.
func listenGDB(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "127.0.0.1", addr
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("%q: want [HOST:]PORT", addr)
	}
	return net.Listen("tcp", net.JoinHostPort(host, port))
}

// serveGDB waits for gdb on ln and serves it the debugged process; the returned channel
// closes when the session ends.
func serveGDB(ln net.Listener, d *kernel.Debugger, stderr io.Writer) chan struct{} {
	fmt.Fprintf(stderr, "vemu: waiting for gdb on %s\n", ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			d.Detach() // the process ended (SIGTERM, say) before gdb came
			return
		}
		defer conn.Close()
		if err := gdbstub.Serve(conn, d, d.FirstStop()); err == gdbstub.ErrDisconnected {
			fmt.Fprintf(stderr, "vemu: gdb disconnected; the program runs on\n")
		}
	}()
	return done
}

// forwardSignals passes the signals vemu receives to the guest, as Linux would deliver
// them to the program in vemu's place: a terminal's SIGINT, SIGQUIT, SIGHUP and SIGWINCH
// (Ctrl-C) to the foreground process group, a signal a process sent with kill(2) to the
// first process with its sender (see sender.go).
// A SIGINT or SIGHUP that vemu started with ignored is caught too: the guest started with
// it ignored (Config.Ignored) and discards it, as Linux would, until it sets a handler or
// SIG_DFL (a background job whose runtime catches SIGINT). SIGTSTP, SIGTTIN and SIGTTOU
// still stop vemu itself, and SIGURG stays the Go runtime's. It returns a function that
// stops forwarding.
func forwardSignals(k *kernel.Kernel) func() {
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGWINCH,
		syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCONT}
	ch := make(chan os.Signal, 16)
	done := make(chan struct{})
	signal.Notify(ch, sigs...)
	var watched []unix.Signal
	for _, s := range sigs {
		watched = append(watched, s.(syscall.Signal))
	}
	unwatch := watchSenders(watched)
	go func() {
		for {
			select {
			case s := <-ch:
				sig := s.(syscall.Signal)
				code, pid, uid, value := sender(int(sig))
				k.HostSignalFrom(int(sig), code, pid, uid, value)
				if sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGHUP || sig == syscall.SIGQUIT {
					go endDoomed(k, sig)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		unwatch()
		signal.Stop(ch)
		close(done)
	}
}

// doomedGrace is how long vemu waits for a program that a signal from outside ends to
// end, before it ends itself.
const doomedGrace = 2 * time.Second

// endDoomed ends vemu, with the status a shell shows for the signal, when sig has doomed
// the first process and its run loop still holds on after doomedGrace: the loop is in a
// host call that takes long (Unicorn unmaps a region of terabytes page by page), and the
// user who sent the signal asked for the end now.
func endDoomed(k *kernel.Kernel, sig syscall.Signal) {
	time.Sleep(doomedGrace)
	if d := k.FirstDoomed(); d != 0 {
		fmt.Fprintf(os.Stderr, "vemu: the program, killed by %s, did not end within %v: ending vemu\n", unix.SignalName(syscall.Signal(d)), doomedGrace)
		os.Exit(128 + d)
	}
}

func cmdSyscalls(w io.Writer) int {
	counts := map[kernel.Status]int{}
	for nr := range uint64(kernel.TableSize) {
		e, name := kernel.Lookup(nr)
		if name == "" {
			continue
		}
		counts[e.Status]++
		line := fmt.Sprintf("%3d  %-24s %-9s", nr, name, e.Status)
		if e.Note != "" {
			line += "  " + e.Note
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "\n%d supported, %d partial, %d missing (ENOSYS)\n",
		counts[kernel.Supported], counts[kernel.Partial], counts[kernel.Missing])
	return 0
}

func cmdVDSO(args []string, stdout, stderr io.Writer) int {
	img, err := vdsoimage.Build(vdsoimage.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "vemu: vdso: %v\n", err)
		return 1
	}
	if len(args) >= 1 && args[0] == "dump" {
		if len(args) != 2 {
			fmt.Fprintf(stderr, "usage: vemu vdso dump FILE\n")
			return 2
		}
		if err := os.WriteFile(args[1], img.Bytes, 0o644); err != nil {
			fmt.Fprintf(stderr, "vemu: vdso dump: %v\n", err)
			return 1
		}
		return 0
	}
	fs := flag.NewFlagSet("vemu vdso", flag.ContinueOnError)
	fs.SetOutput(stderr)
	disasm := fs.Bool("disasm", false, "print the code, decoded")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fmt.Fprintf(stdout, "linux-vdso.so.1: %d bytes, %d vvar pages mapped below it\n\nsymbols (offset from the image base):\n",
		len(img.Bytes), vdsoimage.VVarPages)
	for _, s := range img.Symbols {
		fmt.Fprintf(stdout, "  %#06x  %4d  %s@@LINUX_2.6\n", s.Value, s.Size, s.Name)
	}
	fmt.Fprintf(stdout, "\nvvar layout (first vvar page):\n%s", vdsoimage.Layout())
	if *disasm {
		text, err := vdsoimage.Disasm(img)
		if err != nil {
			fmt.Fprintf(stderr, "vemu: vdso: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\n%s", text)
	}
	return 0
}
