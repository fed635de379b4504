package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
	"vemu/loader"
)

// Address-space layout, as x86-64 Linux lays out a new process.
const (
	stackSize    = 8 << 20        // mapped stack (RLIMIT_STACK's default)
	stackRandMax = 1 << 22        // pages of stack-top randomization (16 GiB)
	mmapGap      = 128 << 20      // minimum gap between the stack and the mmap area
	mmapRandMax  = 1 << 28        // pages of mmap-base randomization
	pieBase      = 0x555555554000 // ELF_ET_DYN_BASE
	brkRandMax   = 0x2000000      // bytes of brk randomization
	heapReserve  = 4 << 30        // host memory reserved for brk
)

// Exec starts the program at path with argv and envp in a new process, with its ELF
// interpreter if it names one. The returned task is ready to Run.
func (k *Kernel) Exec(path string, argv, envp []string) (*Task, error) {
	if err := k.openRoot(); err != nil {
		return nil, &ExecError{Path: path, Status: 126, Err: err}
	}
	h, err := k.firstLookup(path)
	if err != nil {
		return nil, &ExecError{Path: path, Status: 127, Err: errors.New("no such file or directory")}
	}
	prog, err := readProgram(h.full())
	h.close()
	// A script runs its interpreter, as through Linux's execve.
	for depth, script := 0, path; err == nil && bytes.HasPrefix(prog.head(2), []byte("#!")); depth++ {
		head := prog.head(256)
		prog.close()
		interp, next, serr := scriptArgs(head, script, argv)
		switch {
		case serr != nil:
			return nil, &ExecError{Path: path, Status: 126, Err: errors.New("exec format error")}
		case depth >= maxInterpDepth:
			return nil, &ExecError{Path: path, Status: 126, Err: errors.New("too many levels of #! interpreters")}
		}
		ih, lerr := k.firstLookup(interp)
		if lerr != nil {
			return nil, &ExecError{Path: path, Status: 127, Err: fmt.Errorf("interpreter %s: no such file or directory", interp)}
		}
		prog, err = readProgram(ih.full())
		ih.close()
		if err != nil {
			var ee *ExecError
			if errors.As(err, &ee) {
				ee.Err = fmt.Errorf("interpreter %s: %w", interp, ee.Err)
			}
		}
		argv, script = next, interp
	}
	if err != nil {
		var ee *ExecError
		if errors.As(err, &ee) {
			ee.Path = path
		}
		return nil, err
	}
	defer prog.close()
	abs := prog.abs
	img, err := prog.parse()
	if err != nil {
		return nil, &ExecError{Path: path, Status: 126, Err: err}
	}
	if img.Interp != "" {
		var err error = unix.ENOENT
		if h, lerr := k.firstLookup(img.Interp); lerr == nil {
			err = prog.openInterp(h.full())
			h.close()
		}
		if err != nil {
			status := 126
			if err == unix.ENOENT {
				status = 127
			}
			return nil, &ExecError{Path: path, Status: status, Err: fmt.Errorf("interpreter %s: %w", img.Interp, interpError(err))}
		}
	}
	cpu, err := emu.New()
	if err != nil {
		return nil, &ExecError{Path: path, Status: 126, Err: fmt.Errorf("%w: %v", ErrInternal, err), Internal: true}
	}
	p, t, err := k.newProcess(cpu, mm.New(cpu), k.newPID(), execInfo{exe: abs, execFn: path, comm: execName(path), argv: argv, envp: envp})
	if err != nil {
		return nil, &ExecError{Path: path, Status: 126, Err: err, Internal: true}
	}
	p.ppid = k.parentPID()
	p.exitSignal = abi.SIGCHLD // as the child of the shell that forked vemu
	p.pgid, p.sid = k.sessionIDs(p.pid)
	p.creds = hostCreds()
	if m := prog.setid.mode; m&unix.S_ISUID != 0 || m&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
		// The bits apply to the first program as to any execve's, from vemu's ids.
		nnp, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
		p.secureExec = p.creds.execCreds(prog.setid, nnp == 1, false)
	}
	if raw, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil {
		p.nice = 20 - raw // vemu's own, as a program started in its place inherits
	}
	k.register(p)
	k.pt.mu.Lock()
	k.first, k.fgPgid = p, p.pgid
	k.hostParentLinks(p)
	k.fileGroupLocked(p)
	k.pt.mu.Unlock()
	for _, sig := range k.cfg.Ignored {
		if sig > 0 && sig < abi.NSIG && sig != abi.SIGKILL && sig != abi.SIGSTOP {
			p.sigactions[sig].Handler = abi.SIG_IGN
		}
	}
	p.dispositionsChanged()
	p.initRlimits() // the stack's room for arguments follows RLIMIT_STACK
	if err := k.load(p, prog, img); err != nil {
		p.close()
		return nil, &ExecError{Path: path, Status: 126, Err: err}
	}
	if p.files, err = newFDTable(k.cfg); err != nil {
		p.close()
		return nil, &ExecError{Path: path, Status: 126, Err: err, Internal: true}
	}
	p.files.dropped = p.fileDropped
	p.files.nofile = &p.rlimits[abi.RLIMIT_NOFILE]
	if p.fs, err = newFSContext(k.cfg.Dir, k.root); err != nil {
		p.close()
		return nil, &ExecError{Path: path, Status: 126, Err: err, Internal: true}
	}
	p.publishTables()
	if err := p.installHooks(); err != nil {
		p.close()
		return nil, &ExecError{Path: path, Status: 126, Err: err, Internal: true}
	}
	k.clock.attach(p)
	return t, nil
}

// program is an executable file opened for loading. Only what loading needs is read
// from it (headers, the segments' file bytes), never the whole file.
type program struct {
	f    *os.File
	size int64
	abs  string // the absolute path, symbolic links resolved
	// setid is what the set-user-id and set-group-id bits need: mode, owner, mount.
	setid setidFile
	// interp is the ELF interpreter the program names (PT_INTERP), opened and parsed.
	interp    *program
	interpImg *loader.Image
}

func (pr *program) close() {
	pr.f.Close()
	if pr.interp != nil {
		pr.interp.close()
	}
}

// openInterp opens and parses the ELF interpreter at the host path path, as Linux's
// load_elf_binary() does: a file that is missing is ENOENT, one that cannot be run
// EACCES, and one that is not a valid ELF file ELIBBAD. The interpreter's own PT_INTERP
// is ignored.
func (pr *program) openInterp(path string) error {
	ip, err := readProgram(path)
	if err != nil {
		var ee *ExecError
		if errors.As(err, &ee) && ee.Status == 127 {
			return unix.ENOENT
		}
		return unix.EACCES
	}
	img, err := ip.parse()
	if err != nil {
		ip.close()
		return unix.ELIBBAD
	}
	pr.interp, pr.interpImg = ip, img
	return nil
}

// interpError says what an interpreter's errno means.
func interpError(err error) error {
	switch err {
	case unix.ENOENT:
		return errors.New("no such file or directory")
	case unix.ELIBBAD:
		return errors.New("not a valid ELF interpreter")
	case unix.EACCES:
		return errors.New("permission denied")
	}
	return err
}

// head returns up to n bytes from the start of the file.
func (pr *program) head(n int) []byte {
	b := make([]byte, min(int64(n), pr.size))
	k, _ := pr.f.ReadAt(b, 0)
	return b[:k]
}

func (pr *program) parse() (*loader.Image, error) { return loader.ParseFile(pr.f, pr.size) }

// readProgram opens the program file, telling "not found" (127) from "not runnable" (126).
func readProgram(path string) (*program, error) {
	fi, err := os.Stat(path)
	if err != nil {
		status := 126
		if errors.Is(err, fs.ErrNotExist) {
			status = 127
			err = errors.New("no such file or directory")
		} else if errors.Is(err, fs.ErrPermission) {
			err = errors.New("permission denied")
		}
		return nil, &ExecError{Path: path, Status: status, Err: err}
	}
	if fi.IsDir() {
		return nil, &ExecError{Path: path, Status: 126, Err: errors.New("is a directory")}
	}
	if !fi.Mode().IsRegular() {
		return nil, &ExecError{Path: path, Status: 126, Err: errors.New("not a regular file")}
	}
	if unix.Faccessat2(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS) != nil {
		return nil, &ExecError{Path: path, Status: 126, Err: errors.New("permission denied")}
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrPermission) {
		// Linux's execve needs only execute permission: the kernel reads the file. vemu
		// must read it itself, which only a privileged vemu may do here.
		return nil, &ExecError{Path: path, Status: 126, Err: errors.New("permission denied: the program may be executed but not read, and vemu must read it to run it")}
	}
	if err != nil {
		return nil, &ExecError{Path: path, Status: 126, Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &ExecError{Path: path, Status: 126, Err: err}
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		if r, err2 := filepath.EvalSymlinks(abs); err2 == nil {
			abs = r
		}
	}
	pr := &program{f: f, size: st.Size(), abs: abs}
	var ust unix.Stat_t
	var sfs unix.Statfs_t
	if unix.Fstat(int(f.Fd()), &ust) == nil && unix.Fstatfs(int(f.Fd()), &sfs) == nil {
		pr.setid = setidFile{mode: ust.Mode, uid: ust.Uid, gid: ust.Gid, nosuid: sfs.Flags&unix.ST_NOSUID != 0}
	} else {
		pr.setid.nosuid = true // unknown: the bits are not applied
	}
	return pr, nil
}

func toEmuProt(p loader.Prot) emu.Prot { return emu.Prot(p) }

// randPages returns a random page-aligned offset below n pages, or 0 without ASLR.
func (k *Kernel) randPages(n uint64) uint64 {
	if k.cfg.NoASLR {
		return 0
	}
	k.randMu.Lock()
	defer k.randMu.Unlock()
	return k.rand.Uint64N(n) * mm.PageSize
}

// load maps the program, the heap, the stack, the vsyscall page and the vDSO, builds the
// initial stack and sets the registers a new process starts with.
func (k *Kernel) load(p *Process, prog *program, img *loader.Image) error {
	// The stack at the top of user space, and the mmap area below it.
	top := uint64(mm.TaskSize) - k.randPages(stackRandMax)
	p.mm.MmapBase = mm.Addr(top - stackSize - mmapGap - k.randPages(mmapRandMax))

	// As Linux's load_elf_binary(): a PIE with an interpreter goes at ELF_ET_DYN_BASE
	// and a random distance; one without (a static PIE, or ld.so run as a program)
	// where mmap would put it, and its heap at ELF_ET_DYN_BASE.
	var bias uint64
	brk := img.High
	if img.PIE {
		if prog.interp != nil {
			bias = pieBase + k.randPages(mmapRandMax)
			brk += bias
		} else {
			at, err := p.mm.FindFree(img.High-img.Low, p.mm.MmapBase)
			if err != nil {
				return fmt.Errorf("place program: %w", err)
			}
			bias = uint64(at) - img.Low
			brk = pieBase
		}
	}
	if err := k.mapSegments(p.mm, prog, img, bias, k.guestPath(p.exe)); err != nil {
		return err
	}
	p.startCode, p.endCode, p.startData, p.endData = codeBounds(img, bias)

	// The heap starts after the highest segment, at a random distance.
	brk += k.randPages(brkRandMax / mm.PageSize)
	if err := p.mm.SetupHeap(mm.Addr(brk), heapReserve); err != nil {
		return err
	}

	prot := emu.ProtRead | emu.ProtWrite
	if img.ExecStack {
		prot |= emu.ProtExec
	}
	if _, err := p.mm.Map(mm.Addr(top-stackSize), stackSize, prot, "[stack]"); err != nil {
		return fmt.Errorf("map stack: %w", err)
	}

	// As Linux: the interpreter goes where mmap would put it (below the mmap base), and
	// the process starts in it; it finds the program through AT_PHDR and AT_ENTRY.
	entry, interpBase := img.Entry+bias, uint64(0)
	if ip := prog.interp; ip != nil {
		ii := prog.interpImg
		var ibias uint64
		if ii.PIE {
			at, err := p.mm.FindFree(ii.High-ii.Low, p.mm.MmapBase)
			if err != nil {
				return fmt.Errorf("place interpreter: %w", err)
			}
			ibias = uint64(at) - ii.Low
		}
		if err := k.mapSegments(p.mm, ip, ii, ibias, k.guestPath(ip.abs)); err != nil {
			return fmt.Errorf("interpreter %s: %w", ip.abs, err)
		}
		entry, interpBase = ii.Entry+ibias, ibias
	}

	if err := k.mapVsyscall(p); err != nil {
		return err
	}
	if err := k.mapVDSO(p); err != nil {
		return err
	}

	cpu := p.cpu.Info()
	var random [16]byte
	k.fillRandom(random[:])
	var secure uint64
	if p.secureExec {
		secure = 1
	}
	auxv := []loader.Aux{
		{Type: loader.AT_SYSINFO_EHDR, Val: p.vdso.base},
		{Type: loader.AT_MINSIGSTKSZ, Val: abi.MINSIGSTKSZ},
		{Type: loader.AT_HWCAP, Val: cpu.HWCap},
		{Type: loader.AT_PAGESZ, Val: mm.PageSize},
		{Type: loader.AT_CLKTCK, Val: 100},
		{Type: loader.AT_PHDR, Val: img.PhdrAddr + bias},
		{Type: loader.AT_PHENT, Val: img.Phent},
		{Type: loader.AT_PHNUM, Val: img.Phnum},
		{Type: loader.AT_BASE, Val: interpBase},
		{Type: loader.AT_FLAGS, Val: 0},
		{Type: loader.AT_ENTRY, Val: img.Entry + bias},
		{Type: loader.AT_UID, Val: uint64(p.creds.ruid)},
		{Type: loader.AT_EUID, Val: uint64(p.creds.euid)},
		{Type: loader.AT_GID, Val: uint64(p.creds.rgid)},
		{Type: loader.AT_EGID, Val: uint64(p.creds.egid)},
		{Type: loader.AT_SECURE, Val: secure},
		{Type: loader.AT_HWCAP2, Val: cpu.HWCap2},
	}
	if p.vdso.base == 0 {
		auxv = auxv[1:]
	}
	b, sp, err := loader.Stack(loader.StackSpec{
		Top: top, Argv: p.argv, Envp: p.envp, ExecFn: p.execFn, Platform: "x86_64",
		Random: random, Auxv: auxv, ArgLimit: p.argLimit(),
		Tail: []loader.Aux{
			{Type: loader.AT_RSEQ_FEATURE_SIZE, Val: abi.RseqFeatureSize},
			{Type: loader.AT_RSEQ_ALIGN, Val: abi.RseqAlign},
		},
	})
	if err != nil {
		return err
	}
	if err := p.mm.Write(mm.Addr(top-uint64(len(b))), b); err != nil {
		return fmt.Errorf("initial stack: %w", err)
	}
	p.auxv = auxv
	p.entry, p.startStack = entry, sp
	argStart, envStart, envEnd := loader.StringArea(top, p.argv, p.envp, p.execFn)
	p.strs = argArea{argStart: argStart, argEnd: envStart, envStart: envStart, envEnd: envEnd}
	p.publishExec()

	// As ELF_PLAT_INIT: every general register zero, rsp at argc; the default FPU and
	// SSE control words.
	regs := []emu.Reg{emu.RAX, emu.RBX, emu.RCX, emu.RDX, emu.RSI, emu.RDI, emu.RBP, emu.R8, emu.R9,
		emu.R10, emu.R11, emu.R12, emu.R13, emu.R14, emu.R15, emu.FSBase, emu.GSBase, emu.RIP, emu.RSP, emu.RFLAGS, emu.MXCSR, emu.FPCW}
	vals := make([]uint64, len(regs))
	vals[len(vals)-5] = p.entry
	vals[len(vals)-4] = sp
	vals[len(vals)-3] = 0x202
	vals[len(vals)-2] = 0x1f80
	vals[len(vals)-1] = 0x37f
	// An empty x87 stack and SSE enabled, as a new Linux process has them.
	if err := p.cpu.ResetFPU(); err != nil {
		return err
	}
	return p.cpu.SetRegs(regs, vals)
}

// codeBounds is where Linux's load_elf_binary() says a program's code and data are: code
// from the lowest executable segment's start to the highest end of an executable
// segment's file bytes, data from the highest segment start to the highest end of file
// bytes, each moved by the load bias.
func codeBounds(img *loader.Image, bias uint64) (startCode, endCode, startData, endData uint64) {
	startCode = ^uint64(0)
	for _, seg := range img.Segments {
		exec := seg.Prot&loader.ProtExec != 0
		if exec {
			startCode = min(startCode, seg.Vaddr)
			endCode = max(endCode, seg.Vaddr+seg.Filesz)
		}
		startData = max(startData, seg.Vaddr)
		endData = max(endData, seg.Vaddr+seg.Filesz)
	}
	return startCode + bias, endCode + bias, startData + bias, endData + bias
}

// mapSegments maps each PT_LOAD of prog with its permissions, its file bytes and its bss
// zero. The file's pages come from a frozen copy of it (shared with every process that
// runs it, see frozen.go) when the segment's pages line up with the file's; otherwise
// they are copied in. Two segments may share a page at a boundary; that page gets both
// permissions.
func (k *Kernel) mapSegments(s *mm.Space, prog *program, img *loader.Image, bias uint64, name string) error {
	var dev, ino uint64
	var st unix.Stat_t
	if err := unix.Fstat(int(prog.f.Fd()), &st); err == nil {
		ino, dev = st.Ino, st.Dev
	}
	fz, fsize := k.frozenFor(int(prog.f.Fd()), uint64(prog.size))
	if fz != nil {
		defer fz.Unref()
	}
	for _, seg := range img.Segments {
		start := mm.PageDown(seg.Vaddr + bias)
		end, _ := mm.PageUp(seg.Vaddr + bias + seg.Memsz)
		prot := toEmuProt(seg.Prot)
		// Skip a first page already mapped by the previous segment, widening its permissions.
		shared := false
		if v := s.Lookup(mm.Addr(start)); v != nil {
			if err := s.Protect(mm.Addr(start), mm.PageSize, v.Prot|prot); err != nil {
				return fmt.Errorf("program header %d: %w", seg.Index, err)
			}
			start += mm.PageSize
			shared = true
		}
		if end > start && prot&emu.ProtWrite != 0 && mm.Overcommits(end-start) {
			// As Linux, whose accounting refuses the segment (the exec then fails).
			return fmt.Errorf("program header %d: map %#x-%#x: %w", seg.Index, start, end, unix.ENOMEM)
		}
		fileEnd, _ := mm.PageUp(seg.Vaddr + bias + seg.Filesz)
		if fz != nil && !shared && seg.Filesz > 0 && (seg.Vaddr+bias)%mm.PageSize == seg.Off%mm.PageSize &&
			seg.Off+seg.Filesz <= uint64(fsize) {
			v, err := s.MapFrozen(mm.Addr(start), fileEnd-start, prot, fz, int64(mm.PageDown(seg.Off)), name)
			if err != nil {
				return fmt.Errorf("program header %d: map %#x-%#x: %w", seg.Index, start, fileEnd, err)
			}
			v.Dev, v.Ino, v.FileOff = dev, ino, mm.PageDown(seg.Off)
			// Where a bss follows, the rest of the last file page is zero, as Linux's
			// padzero() makes it; a segment without one shows the file's bytes there.
			if tail := fileEnd - (seg.Vaddr + bias + seg.Filesz); seg.Memsz > seg.Filesz && tail > 0 && tail < mm.PageSize {
				if err := s.Write(mm.Addr(seg.Vaddr+bias+seg.Filesz), make([]byte, tail)); err != nil {
					return fmt.Errorf("program header %d: %w", seg.Index, err)
				}
			}
			if end > fileEnd {
				if _, err := s.Map(mm.Addr(fileEnd), end-fileEnd, prot, ""); err != nil {
					return fmt.Errorf("program header %d: map %#x-%#x: %w", seg.Index, fileEnd, end, err)
				}
			}
			continue
		}
		if end > start {
			v, err := s.Map(mm.Addr(start), end-start, prot, name)
			if err != nil {
				return fmt.Errorf("program header %d: map %#x-%#x: %w", seg.Index, start, end, err)
			}
			v.Dev, v.Ino = dev, ino
			v.FileOff = mm.PageDown(seg.Off) + (start - mm.PageDown(seg.Vaddr+bias))
		}
		// The file's bytes go straight into the mapping; a file that shrank since it
		// was parsed leaves the rest zero.
		bufs, err := s.Bufs(mm.Addr(seg.Vaddr+bias), int(seg.Filesz), 0, nil)
		if err != nil && seg.Filesz > 0 {
			return fmt.Errorf("program header %d: %w", seg.Index, err)
		}
		off := int64(seg.Off)
		for _, b := range bufs {
			n, _ := prog.f.ReadAt(b, off)
			if n < len(b) {
				break
			}
			off += int64(n)
		}
	}
	return nil
}

// sysExecve implements execve(2).
func sysExecve(t *Task, a Args) (uint64, error) {
	return t.execveat(abi.AT_FDCWD, a.Ptr(0), a.Ptr(1), a.Ptr(2), 0)
}

// sysExecveat implements execveat(2).
func sysExecveat(t *Task, a Args) (uint64, error) {
	return t.execveat(a.Fd(0), a.Ptr(1), a.Ptr(2), a.Ptr(3), a.Int(4))
}

func (t *Task) execveat(dirfd int32, pathAddr, argvAddr, envpAddr mm.Addr, flags int32) (uint64, error) {
	if flags&^(abi.AT_EMPTY_PATH|abi.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	path, err := t.path(pathAddr)
	if err != nil {
		return 0, err
	}
	room := t.p.argLimit()
	argv, err := t.strArray(argvAddr, &room)
	if err != nil {
		return 0, err
	}
	envp, err := t.strArray(envpAddr, &room)
	if err != nil {
		return 0, err
	}
	var host string
	switch {
	case path == "" && flags&abi.AT_EMPTY_PATH != 0:
		f, err := t.fileRaw(dirfd)
		if err != nil {
			return 0, err
		}
		host = "/proc/self/fd/" + strconv.Itoa(f.fd)
	case path == "":
		return 0, unix.ENOENT
	default:
		if flags&abi.AT_SYMLINK_NOFOLLOW != 0 {
			// As Linux: a symbolic link as the last component is ELOOP.
			h, err := t.lookup(dirfd, path, false)
			if err != nil {
				return 0, err
			}
			var st unix.Stat_t
			err = unix.Fstatat(h.dir, h.name, &st, unix.AT_SYMLINK_NOFOLLOW)
			h.close()
			if err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return 0, unix.ELOOP
			}
		}
		h, err := t.lookup(dirfd, path, true)
		if err != nil {
			return 0, err
		}
		defer h.close()
		host = h.full()
	}
	// The program's name as Linux's bprm->filename: a path relative to a descriptor is
	// "/dev/fd/N/path", the descriptor itself "/dev/fd/N". Scripts' interpreters get it,
	// and so does AT_EXECFN.
	fromFile := path == ""
	if dirfd != abi.AT_FDCWD && !strings.HasPrefix(path, "/") {
		fn := "/dev/fd/" + strconv.Itoa(int(dirfd))
		if path != "" {
			fn += "/" + path
		}
		path = fn
	}
	prog, img, argv, err := t.loadProgram(host, path, argv, 0)
	if err != nil {
		return 0, err
	}
	// Before the point of no return, as the arguments a script's interpreter adds.
	if err := loader.CheckArgs(path, argv, envp, t.p.argLimit()); err != nil {
		prog.close()
		return 0, unix.E2BIG
	}
	// The process is named after the path's last component, or for a descriptor after
	// the file itself, as Linux's begin_new_exec() names it.
	comm := execName(path)
	if fromFile {
		comm = execName(prog.abs)
	}
	t.post(func() { t.execImage(prog, path, comm, img, argv, envp) })
	return 0, nil
}

// scriptArgs reads the #! line at the start of head, the first bytes of the script at
// path, as Linux's binfmt_script does: the interpreter, then argv becomes the
// interpreter, its one optional argument (everything after it on the line), the script's
// path, and argv[1:]. ENOEXEC when the line names no interpreter.
func scriptArgs(head []byte, path string, argv []string) (string, []string, error) {
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return "", nil, unix.ENOEXEC
	}
	interp := fields[0]
	next := []string{interp}
	if rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(line)), interp)); rest != "" {
		next = append(next, rest)
	}
	next = append(next, path)
	if len(argv) > 1 {
		next = append(next, argv[1:]...)
	}
	return interp, next, nil
}

// maxInterpDepth is how many #! interpreters may lead to one another, as Linux's
// BINPRM_MAX_RECURSION.
const maxInterpDepth = 4

// loadProgram reads the program execve names and parses it. A script starting with #!
// runs its interpreter instead, as Linux's binfmt_script does: argv becomes the
// interpreter, its one optional argument, the script's path, then argv[1:]. A dynamically
// linked program brings its ELF interpreter.
func (t *Task) loadProgram(host, path string, argv []string, depth int) (*program, *loader.Image, []string, error) {
	prog, err := readProgram(host)
	if err != nil {
		var ee *ExecError
		if errors.As(err, &ee) && ee.Status == 127 {
			return nil, nil, nil, unix.ENOENT
		}
		return nil, nil, nil, unix.EACCES
	}
	if head := prog.head(256); bytes.HasPrefix(head, []byte("#!")) {
		prog.close()
		if depth >= maxInterpDepth {
			return nil, nil, nil, unix.ELOOP
		}
		interp, next, err := scriptArgs(head, path, argv)
		if err != nil {
			return nil, nil, nil, err
		}
		h, err := t.lookup(abi.AT_FDCWD, interp, true)
		if err != nil {
			return nil, nil, nil, err
		}
		defer h.close()
		return t.loadProgram(h.full(), interp, next, depth+1)
	}
	img, err := prog.parse()
	if err != nil {
		prog.close()
	}
	if err != nil {
		return nil, nil, nil, unix.ENOEXEC
	}
	if img.Interp != "" {
		var err error = unix.ENOENT
		if h, lerr := t.lookup(abi.AT_FDCWD, img.Interp, true); lerr == nil {
			err = prog.openInterp(h.full())
			h.close()
		}
		if err != nil {
			prog.close()
			if w := t.p.k.cfg.Strace; w != nil {
				// Why the exec failed, where a user looking for the cause reads.
				fmt.Fprintf(w, "vemu: %s: interpreter %s: %v\n", path, img.Interp, interpError(err))
			}
			return nil, nil, nil, err
		}
	}
	return prog, img, argv, nil
}

// strArray reads a NULL-terminated array of string pointers (argv, envp), taking each
// string and its pointer from room; E2BIG when they do not fit, or a string is longer
// than Linux's MAX_ARG_STRLEN.
func (t *Task) strArray(addr mm.Addr, room *uint64) ([]string, error) {
	var out []string
	if addr == 0 {
		return nil, nil
	}
	for i := 0; ; i++ {
		var b [8]byte
		if err := t.p.mm.CopyIn(addr+mm.Addr(8*i), b[:]); err != nil {
			return nil, err
		}
		ptr := binary.LittleEndian.Uint64(b[:])
		if ptr == 0 {
			return out, nil
		}
		s, err := t.p.mm.CopyString(mm.Addr(ptr), loader.MaxArgStrlen)
		if err != nil {
			if err == unix.ENAMETOOLONG {
				return nil, unix.E2BIG
			}
			return nil, err
		}
		n := uint64(len(s)) + 1 + 8
		if n > *room || len(s)+1 > loader.MaxArgStrlen {
			return nil, unix.E2BIG
		}
		*room -= n
		out = append(out, s)
	}
}

// argLimit is the room execve gives the arguments under the process's stack rlimit.
func (p *Process) argLimit() uint64 {
	return loader.ArgLimit(p.rlimits[abi.RLIMIT_STACK].Cur)
}

// execImage replaces the process's program, past the point of no return: other threads
// end, close-on-exec files close, handled signals return to their default action.
func (t *Task) execImage(prog *program, path, comm string, img *loader.Image, argv, envp []string) {
	defer prog.close()
	p, k, abs := t.p, t.p.k, prog.abs
	// The other threads end, and this one leaves its memory: robust lists and PI
	// futexes are cleaned up as at exit (Linux's futex_exec_release()).
	p.holdingCPU(func() {
		for _, o := range p.tasks {
			if o != t && o.state != taskDead {
				o.piUnwait()
			}
		}
		for _, o := range p.tasks {
			if o != t && o.state != taskDead {
				o.futexExit(true)
			}
		}
		t.futexExit(false)
	})
	for _, o := range p.tasks {
		if o != t {
			if op := o.blocked; op != nil && o.state == taskBlocked {
				// Its wait ends with it: parked, or on a goroutine that would wait on.
				if op.wait != nil {
					p.unpark(op.wait)
				}
				if op.stop != nil && !op.interrupted {
					op.interrupted = true
					op.stop.fire()
				}
			}
			p.forgetStop(o)
			live := o.state != taskDead
			o.setState(taskDead)
			k.dropThread(o.tid)
			p.piForget(o.tid)
			// A tracer hears of each as of an exit with 0, as Linux reports the
			// threads de_thread() ends; the leader's id stays the process's.
			if live && o.tid != p.pid {
				p.threadGone(o.tid, 0)
			}
		}
	}
	if d := p.dbg; d != nil {
		d.execEndsGroupStop(t)
	}
	p.reap()
	k.clock.detach(p)
	cpu, err := emu.New()
	if err != nil {
		t.kill(abi.SIGKILL, "exec: "+err.Error())
		return
	}
	p.collectCoverage()
	p.passMappings()
	p.mm.Close()
	p.takeFast()
	p.cpu.Close()
	p.cpu, t.cpu = cpu, cpu
	p.kick.Store(cpu)
	// A new program has no LDT and no TLS entries (Linux's new mm and flush_thread).
	initDescriptors(cpu)
	p.ldtEntries, t.tls = 0, [gdtTLSEntries]uint64{}
	p.mm = mm.New(cpu)
	p.execs.Add(1)
	p.exe, p.execFn, p.comm, p.argv, p.envp = abs, path, comm, argv, envp
	p.publishExec()
	p.vdso = vdsoMapping{}
	p.files.closeOnExec()
	p.publishTables() // the exec'ing thread's, which leads the process now
	p.deleteTimers()
	for i := range p.sigactions {
		if p.sigactions[i].Handler != abi.SIG_IGN {
			p.sigactions[i] = abi.Sigaction{}
		}
	}
	p.dispositionsChanged()
	k.pt.mu.Lock()
	old := p.creds
	untrusted := p.ptrace != nil && !p.ptrace.tracer.creds.capable(capSysPtrace)
	p.secureExec = p.creds.execCreds(prog.setid, t.seccomp.nnp, untrusted)
	if c := &p.creds; p.secureExec || c.euid != old.euid || c.egid != old.egid || c.fsuid != old.fsuid || c.fsgid != old.fsgid {
		p.pdeathsig = 0 // as Linux's commit_creds() and begin_new_exec()
	}
	k.pt.mu.Unlock()
	p.execDumpable()
	p.membarrier = 0
	p.pkeyTaken = false
	p.mpolRanges = nil
	p.shmDetachAll()
	p.aioExit(false)
	t.clearChildTID, t.robustList = 0, 0
	t.rseq = rseqReg{}
	t.execSignals()
	if t.ctx != nil {
		t.ctx.Free()
	}
	t.ctx, _ = cpu.NewContext()
	p.cur = t
	p.quantum = false
	if err := k.load(p, prog, img); err != nil {
		t.kill(abi.SIGSEGV, "exec: "+err.Error())
		return
	}
	if err := p.installHooks(); err != nil {
		t.kill(abi.SIGSEGV, "exec: "+err.Error())
		return
	}
	// The new image shares no memory with other processes (sharedcpu.go): it runs in
	// parallel with them until it maps some. Holding the shared CPU with the new engine,
	// which has no quantum, a process spinning in guest code would keep the others out.
	p.sharesMem = false
	if p.mm.HasShared() {
		p.shareMemory()
	}
	cpu.SetReg(emu.RIP, p.entry)
	p.hwExeced(t)
	if d := p.dbg; d != nil {
		d.execed(t)
	}
	k.clock.attach(p)
	k.pt.mu.Lock()
	p.execed = true
	if p.vforkDone != nil {
		p.vforkHeap = false
		close(p.vforkDone)
		p.vforkDone = nil
	}
	k.pt.mu.Unlock()
}
