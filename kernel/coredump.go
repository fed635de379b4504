package kernel

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Core dumps, as Linux's do_coredump() and elf_core_dump() make them with the pattern
// "core" (core.PID where the host's kernel.core_uses_pid says so): vemu never runs a
// host helper, so a pipe pattern on the host is written as "core" too. The file is
// created in the process's working directory as its file credentials, mode 0600,
// replacing (unlinking) what had the name and never following a symbolic link; the
// dump stops where RLIMIT_CORE would be exceeded. Memory comes from the address space
// (mm.Space.CoreSegments), and what the guest never touched stays a hole in the file.

// Note types and sizes of an x86-64 core file.
const (
	ntPrstatus = 1
	ntFpregset = 2
	ntPrpsinfo = 3
	ntAuxv     = 6
	ntSiginfo  = 0x53494749
	ntFile     = 0x46494c45

	prstatusSize = 336 // struct elf_prstatus
	prpsinfoSize = 136 // struct elf_prpsinfo
	ehdrSize     = 64
	phdrSize     = 56
	shdrSize     = 64
	pnXnum       = 0xffff

	// The flags a dumping task has in Linux's pr_flag: PF_RANDOMIZE, PF_SIGNALED, PF_DUMPCORE.
	prFlagDumping = 0x400000 | 0x400 | 0x200
)

// corePattern is what the guest reads in /proc/sys/kernel/core_pattern: what vemu does.
const corePattern = "core\n"

// coreUsesPid is the host's kernel.core_uses_pid.
var coreUsesPid = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/sys/kernel/core_uses_pid")
	return err == nil && strings.TrimSpace(string(b)) != "0"
})

// suidDumpable is the host's fs.suid_dumpable, which Linux gives a process whose
// credentials changed as its dumpable flag. Its mode 2 dumps only to an absolute
// pattern, which "core" is not: no dump, as mode 0.
var suidDumpable = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/sys/fs/suid_dumpable")
	return err == nil && strings.TrimSpace(string(b)) == "1"
})

// dumpCore writes p's core file for its death by signal, if Linux would, and reports
// whether the death counts as dumped (WCOREDUMP). It runs on p's loop once no thread runs.
func (p *Process) dumpCore() bool {
	sig := p.exit.Signal
	if sig == 0 || defaultAction(sig) != defCore || p.notDumpable || p.fs == nil {
		return false
	}
	limit := p.rlimits[abi.RLIMIT_CORE].Cur
	if limit < mm.PageSize { // Linux's min_coredump for ELF
		return false
	}
	p.dumping.Store(true) // from here a signal that ends vemu ends the dump
	defer p.dumping.Store(false)
	p.actAs(p.fileCreds())
	name := "core"
	if coreUsesPid() {
		name = fmt.Sprintf("core.%d", p.pid)
	}
	// As Linux: unlink what has the name (as the process may), then create the file anew,
	// never through a link.
	dir := p.fs.cwdFd
	unix.Unlinkat(dir, name, 0)
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_LARGEFILE, 0o600)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || st.Mode&0o677 != 0o600 {
		return false // Linux: "cannot preserve file permissions"
	}
	w := &coreWriter{fd: fd, limit: limit, stop: func() bool { return p.dumpStop.Load() }}
	p.writeCore(w)
	return !w.stopped
}

// coreWriter writes a core file as Linux's dump_emit and dump_skip do: data counts
// against the limit, skips leave holes; a write that would pass the limit ends the
// dump there.
type coreWriter struct {
	fd      int
	pos     int64  // where the next byte goes
	written uint64 // bytes written, against limit
	limit   uint64
	full    bool // the limit or an error ended the writing
	stopped bool // a signal ended it
	stop    func() bool
}

func (w *coreWriter) emit(b []byte) bool {
	if w.full || w.stopped {
		return false
	}
	if w.stop() {
		w.stopped = true
		return false
	}
	if w.written+uint64(len(b)) > w.limit {
		w.full = true
		return false
	}
	for done := 0; done < len(b); {
		n, err := unix.Pwrite(w.fd, b[done:], w.pos+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			w.full = true
			return false
		}
		done += n
	}
	w.pos += int64(len(b))
	w.written += uint64(len(b))
	return true
}

// skipTo moves to off, leaving a hole.
func (w *coreWriter) skipTo(off int64) {
	if off > w.pos {
		w.pos = off
	}
}

// threadState is one thread's registers for the notes.
type threadState struct {
	t    *Task
	regs abi.UserRegs
	fp   [abi.FXSaveSize]byte
	fpOK bool
}

// coreThreads reads every live thread's registers, the dumping thread first.
func (p *Process) coreThreads() []threadState {
	first := p.coreTask
	if first == nil || first.p != p {
		first = p.cur
	}
	var order []*Task
	if first != nil {
		order = append(order, first)
	}
	for _, t := range p.tasks {
		if t != first && (t.state != taskDead || t == p.cur) {
			order = append(order, t)
		}
	}
	var out []threadState
	for _, t := range order {
		ts := threadState{t: t}
		err := p.onThreadRegs(t, false, func(cpu *emu.Engine) error {
			r, err := readUserRegs(cpu)
			if err != nil {
				return err
			}
			ts.regs = r
			if op := t.blocked; op != nil {
				ts.regs.OrigRax = op.nr
			}
			if img, err := cpu.FXSave(); err == nil {
				ts.fp, ts.fpOK = img, true
			}
			return nil
		})
		if err == nil {
			out = append(out, ts)
		}
	}
	return out
}

// onThreadRegs runs f with t's registers in the engine, putting back the current
// thread's afterwards; with write, what f changed becomes t's.
func (p *Process) onThreadRegs(t *Task, write bool, f func(cpu *emu.Engine) error) error {
	if t == p.cur {
		return f(p.cpu)
	}
	if t.ctx == nil {
		return errNoThread
	}
	if p.cur != nil {
		if err := p.cpu.Save(p.cur.ctx); err != nil {
			return err
		}
	}
	if err := p.cpu.Restore(t.ctx); err != nil {
		return err
	}
	err := f(p.cpu)
	if write && err == nil {
		err = p.cpu.Save(t.ctx)
	}
	if p.cur != nil {
		if rerr := p.cpu.Restore(p.cur.ctx); err == nil {
			err = rerr
		}
	}
	return err
}

// readUserRegs reads the engine's registers as ptrace and core files show them.
func readUserRegs(cpu *emu.Engine) (abi.UserRegs, error) {
	var r abi.UserRegs
	ids, ptrs := userRegs(&r)
	vals := make([]uint64, len(ids))
	if err := cpu.Regs(ids, vals); err != nil {
		return r, err
	}
	for i, p := range ptrs {
		*p = vals[i]
	}
	r.Eflags &= 0xffffffff
	r.Cs, r.Ss = abi.UserCS, abi.UserDS
	r.OrigRax = ^uint64(0)
	return r, nil
}

// appendNote appends an ELF note: name, type and desc, each padded to 4 bytes.
func appendNote(b []byte, name string, typ uint32, desc []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, uint32(len(name)+1))
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, typ)
	b = append(b, name...)
	b = append(b, make([]byte, 4-len(name)%4)...) // the NUL and the padding
	b = append(b, desc...)
	return append(b, make([]byte, (4-len(desc)%4)%4)...)
}

// prstatus is a thread's struct elf_prstatus.
func (p *Process) prstatus(ts *threadState, sig int) []byte {
	le := binary.LittleEndian
	b := make([]byte, prstatusSize)
	le.PutUint32(b[0:], uint32(sig)) // pr_info.si_signo
	le.PutUint16(b[12:], uint16(sig))
	le.PutUint64(b[16:], ts.t.sig.pending.set)
	le.PutUint64(b[24:], ts.t.sigmask)
	le.PutUint32(b[32:], uint32(ts.t.tid))
	le.PutUint32(b[36:], uint32(p.ppid))
	le.PutUint32(b[40:], uint32(p.pgid))
	le.PutUint32(b[44:], uint32(p.sid))
	r := &ts.regs
	for i, v := range []uint64{r.R15, r.R14, r.R13, r.R12, r.Rbp, r.Rbx, r.R11, r.R10, r.R9, r.R8,
		r.Rax, r.Rcx, r.Rdx, r.Rsi, r.Rdi, r.OrigRax, r.Rip, r.Cs, r.Eflags, r.Rsp, r.Ss,
		r.FsBase, r.GsBase, r.Ds, r.Es, r.Fs, r.Gs} {
		le.PutUint64(b[112+8*i:], v)
	}
	if ts.fpOK {
		le.PutUint32(b[328:], 1)
	}
	return b
}

// prpsinfo is the process's struct elf_prpsinfo.
func (p *Process) prpsinfo() []byte {
	le := binary.LittleEndian
	b := make([]byte, prpsinfoSize)
	b[1] = 'R'
	b[3] = byte(int8(p.nice))
	le.PutUint64(b[8:], prFlagDumping)
	le.PutUint32(b[16:], p.creds.ruid)
	le.PutUint32(b[20:], p.creds.rgid)
	le.PutUint32(b[24:], uint32(p.pid))
	le.PutUint32(b[28:], uint32(p.ppid))
	le.PutUint32(b[32:], uint32(p.pgid))
	le.PutUint32(b[36:], uint32(p.sid))
	comm := p.comm // the leader's name, as Linux's fill_psinfo() takes it
	if pub := p.pubExec.Load(); pub != nil {
		comm = pub.comm
	}
	copy(b[40:55], comm)
	// The arguments as the process's memory holds them, NULs made spaces.
	var args strings.Builder
	for _, a := range p.argv {
		args.WriteString(a)
		args.WriteByte(' ')
	}
	copy(b[56:56+79], args.String())
	return b
}

// fileNote is NT_FILE: the file mappings, in pages of the file.
func fileNote(segs []mm.CoreSegment) []byte {
	le := binary.LittleEndian
	var ranges, names []byte
	n := 0
	for _, s := range segs {
		if !s.File {
			continue
		}
		n++
		ranges = le.AppendUint64(ranges, uint64(s.Start))
		ranges = le.AppendUint64(ranges, uint64(s.End))
		ranges = le.AppendUint64(ranges, s.FileOff/mm.PageSize)
		names = append(append(names, s.Name...), 0)
	}
	if n == 0 {
		return nil
	}
	b := le.AppendUint64(nil, uint64(n))
	b = le.AppendUint64(b, mm.PageSize)
	return append(append(b, ranges...), names...)
}

// notes makes the PT_NOTE contents in Linux's order: the dumping thread's prstatus,
// the process's prpsinfo, siginfo, auxv and files, its FP registers; then each other
// thread's prstatus and FP registers.
func (p *Process) notes(threads []threadState, segs []mm.CoreSegment) []byte {
	sig := p.exit.Signal
	var b []byte
	for i := range threads {
		ts := &threads[i]
		b = appendNote(b, "CORE", ntPrstatus, p.prstatus(ts, sig))
		if i == 0 {
			b = appendNote(b, "CORE", ntPrpsinfo, p.prpsinfo())
			info := p.coreInfo
			if info.Signo == 0 {
				info = abi.Siginfo{Signo: int32(sig), Code: abi.SI_KERNEL}
			}
			si := make([]byte, abi.SiginfoSize)
			info.Marshal(si)
			b = appendNote(b, "CORE", ntSiginfo, si)
			var auxv []byte
			for _, a := range p.auxv {
				auxv = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(auxv, a.Type), a.Val)
			}
			auxv = append(auxv, make([]byte, 16)...)
			b = appendNote(b, "CORE", ntAuxv, auxv)
			if f := fileNote(segs); f != nil {
				b = appendNote(b, "CORE", ntFile, f)
			}
		}
		if ts.fpOK {
			b = appendNote(b, "CORE", ntFpregset, ts.fp[:])
		}
	}
	return b
}

// writeCore writes the ELF core file: header, program headers (PT_NOTE, then one
// PT_LOAD per mapping), the notes, and from the next page on each mapping's dumped
// part, holes where nothing was touched.
func (p *Process) writeCore(w *coreWriter) {
	le := binary.LittleEndian
	threads := p.coreThreads()
	segs := p.mm.CoreSegments(p.coreFilter)
	notes := p.notes(threads, segs)

	phnum := 1 + len(segs)
	ehdrPhnum := phnum
	if phnum >= pnXnum {
		ehdrPhnum = pnXnum
	}
	off := uint64(ehdrSize + phnum*phdrSize)
	noteOff := off
	off += uint64(len(notes))
	dataOff := (off + mm.PageSize - 1) &^ (mm.PageSize - 1)

	// The section header that holds the real count when it does not fit e_phnum goes
	// after the data, as Linux puts it.
	end := dataOff
	for _, s := range segs {
		end += s.Dump
	}

	h := make([]byte, 0, ehdrSize+phnum*phdrSize)
	h = append(h, 0x7f, 'E', 'L', 'F', 2 /* ELFCLASS64 */, 1 /* LSB */, 1 /* EV_CURRENT */)
	h = append(h, make([]byte, 9)...)
	h = le.AppendUint16(h, 4)  // ET_CORE
	h = le.AppendUint16(h, 62) // EM_X86_64
	h = le.AppendUint32(h, 1)
	h = le.AppendUint64(h, 0)        // e_entry
	h = le.AppendUint64(h, ehdrSize) // e_phoff
	shoff, shentsize, shnum := uint64(0), uint16(0), uint16(0)
	if ehdrPhnum == pnXnum {
		shoff, shentsize, shnum = end, shdrSize, 1
	}
	h = le.AppendUint64(h, shoff)
	h = le.AppendUint32(h, 0) // e_flags
	h = le.AppendUint16(h, ehdrSize)
	h = le.AppendUint16(h, phdrSize)
	h = le.AppendUint16(h, uint16(ehdrPhnum))
	h = le.AppendUint16(h, shentsize)
	h = le.AppendUint16(h, shnum)
	h = le.AppendUint16(h, 0) // e_shstrndx

	phdr := func(typ, flags uint32, off, vaddr, filesz, memsz, align uint64) {
		h = le.AppendUint32(h, typ)
		h = le.AppendUint32(h, flags)
		h = le.AppendUint64(h, off)
		h = le.AppendUint64(h, vaddr)
		h = le.AppendUint64(h, 0) // p_paddr
		h = le.AppendUint64(h, filesz)
		h = le.AppendUint64(h, memsz)
		h = le.AppendUint64(h, align)
	}
	phdr(4 /* PT_NOTE */, 0, noteOff, 0, uint64(len(notes)), 0, 4)
	at := dataOff
	for _, s := range segs {
		var flags uint32
		if s.Prot&emu.ProtRead != 0 {
			flags |= 4
		}
		if s.Prot&emu.ProtWrite != 0 {
			flags |= 2
		}
		if s.Prot&emu.ProtExec != 0 {
			flags |= 1
		}
		phdr(1 /* PT_LOAD */, flags, at, uint64(s.Start), s.Dump, uint64(s.End-s.Start), mm.PageSize)
		at += s.Dump
	}
	if !w.emit(h) || !w.emit(notes) {
		return
	}
	at = dataOff
	for i := range segs {
		s := &segs[i]
		base := at
		ok := p.mm.CoreData(s, func(a mm.Addr, b []byte) bool {
			w.skipTo(int64(base + uint64(a-s.Start)))
			return w.emit(b)
		})
		if !ok {
			return
		}
		at += s.Dump
		w.skipTo(int64(at))
	}
	if ehdrPhnum == pnXnum {
		sh := make([]byte, shdrSize)
		le.PutUint32(sh[44:], uint32(phnum)) // sh_info
		if !w.emit(sh) {
			return
		}
	}
	// A file that ends in a hole still has its full size, as Linux makes sure.
	if size, err := unix.Seek(w.fd, 0, unix.SEEK_END); err == nil && size < w.pos {
		w.pos--
		w.emit([]byte{0})
	}
}

// dumpKey are the credentials whose change makes a process non-dumpable.
type dumpKey struct {
	euid, egid, fsuid, fsgid uint32
	prm                      uint64
}

func (c *creds) dumpKey() dumpKey {
	return dumpKey{c.euid, c.egid, c.fsuid, c.fsgid, c.caps.prm}
}

// credsChanged applies Linux's commit_creds() rule: a process whose effective or
// file-system ids change, or that gains permitted capabilities, takes fs.suid_dumpable
// and loses its parent-death signal.
func (p *Process) credsChanged(old, cur dumpKey) {
	o, n := old, cur
	o.prm, n.prm = 0, 0
	if o != n || cur.prm&^old.prm != 0 {
		p.setNotDumpable(!suidDumpable())
		k := p.k
		k.pt.mu.Lock()
		p.pdeathsig = 0
		k.pt.mu.Unlock()
	}
}

// execDumpable decides dumpability at execve as Linux's begin_new_exec(): dumpable,
// unless the effective ids differ from the real ones.
func (p *Process) execDumpable() {
	c := &p.creds
	p.setNotDumpable((c.euid != c.ruid || c.egid != c.rgid) && !suidDumpable())
}
