package emu

/*
// libunicorn is linked statically: vemu then runs where libunicorn is not installed, and
// starts faster (no 22,699 relocations of the shared library at load: 44 ms -> 32 ms for a
// static hello, peak RSS 16.8 -> 13.0 MiB).
#cgo LDFLAGS: -l:libunicorn.a -lm -lpthread
// Unicorn's translator, which vex.c watches.
#cgo LDFLAGS: -Wl,--wrap=translator_loop_x86_64 -Wl,--wrap=cpu_ldub_code_x86_64
// Unicorn's x87 helpers that x87.c replaces.
#cgo LDFLAGS: -Wl,--wrap=helper_f2xm1_x86_64 -Wl,--wrap=helper_fyl2x_x86_64 -Wl,--wrap=helper_fyl2xp1_x86_64 -Wl,--wrap=helper_fptan_x86_64 -Wl,--wrap=helper_fpatan_x86_64 -Wl,--wrap=helper_fxtract_x86_64 -Wl,--wrap=helper_fprem_x86_64 -Wl,--wrap=helper_fprem1_x86_64 -Wl,--wrap=helper_fsqrt_x86_64 -Wl,--wrap=helper_fsincos_x86_64 -Wl,--wrap=helper_frndint_x86_64 -Wl,--wrap=helper_fscale_x86_64 -Wl,--wrap=helper_fsin_x86_64 -Wl,--wrap=helper_fcos_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fist_ST0_x86_64 -Wl,--wrap=helper_fistl_ST0_x86_64 -Wl,--wrap=helper_fistll_ST0_x86_64 -Wl,--wrap=helper_fistt_ST0_x86_64 -Wl,--wrap=helper_fisttl_ST0_x86_64 -Wl,--wrap=helper_fisttll_ST0_x86_64
// Unicorn's SSE helpers that sse.c replaces.
#cgo LDFLAGS: -Wl,--wrap=helper_roundps_xmm_x86_64 -Wl,--wrap=helper_roundpd_xmm_x86_64 -Wl,--wrap=helper_roundss_xmm_x86_64 -Wl,--wrap=helper_roundsd_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_addps_x86_64 -Wl,--wrap=helper_addpd_x86_64 -Wl,--wrap=helper_addss_x86_64 -Wl,--wrap=helper_addsd_x86_64 -Wl,--wrap=helper_subps_x86_64 -Wl,--wrap=helper_subpd_x86_64 -Wl,--wrap=helper_subss_x86_64 -Wl,--wrap=helper_subsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_mulps_x86_64 -Wl,--wrap=helper_mulpd_x86_64 -Wl,--wrap=helper_mulss_x86_64 -Wl,--wrap=helper_mulsd_x86_64 -Wl,--wrap=helper_divps_x86_64 -Wl,--wrap=helper_divpd_x86_64 -Wl,--wrap=helper_divss_x86_64 -Wl,--wrap=helper_divsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_minps_x86_64 -Wl,--wrap=helper_minpd_x86_64 -Wl,--wrap=helper_minss_x86_64 -Wl,--wrap=helper_minsd_x86_64 -Wl,--wrap=helper_maxps_x86_64 -Wl,--wrap=helper_maxpd_x86_64 -Wl,--wrap=helper_maxss_x86_64 -Wl,--wrap=helper_maxsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_sqrtps_x86_64 -Wl,--wrap=helper_sqrtpd_x86_64 -Wl,--wrap=helper_sqrtss_x86_64 -Wl,--wrap=helper_sqrtsd_x86_64 -Wl,--wrap=helper_cmpeqps_x86_64 -Wl,--wrap=helper_cmpeqpd_x86_64 -Wl,--wrap=helper_cmpeqss_x86_64 -Wl,--wrap=helper_cmpeqsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_cmpltps_x86_64 -Wl,--wrap=helper_cmpltpd_x86_64 -Wl,--wrap=helper_cmpltss_x86_64 -Wl,--wrap=helper_cmpltsd_x86_64 -Wl,--wrap=helper_cmpleps_x86_64 -Wl,--wrap=helper_cmplepd_x86_64 -Wl,--wrap=helper_cmpless_x86_64 -Wl,--wrap=helper_cmplesd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_cmpunordps_x86_64 -Wl,--wrap=helper_cmpunordpd_x86_64 -Wl,--wrap=helper_cmpunordss_x86_64 -Wl,--wrap=helper_cmpunordsd_x86_64 -Wl,--wrap=helper_cmpneqps_x86_64 -Wl,--wrap=helper_cmpneqpd_x86_64 -Wl,--wrap=helper_cmpneqss_x86_64 -Wl,--wrap=helper_cmpneqsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_cmpnltps_x86_64 -Wl,--wrap=helper_cmpnltpd_x86_64 -Wl,--wrap=helper_cmpnltss_x86_64 -Wl,--wrap=helper_cmpnltsd_x86_64 -Wl,--wrap=helper_cmpnleps_x86_64 -Wl,--wrap=helper_cmpnlepd_x86_64 -Wl,--wrap=helper_cmpnless_x86_64 -Wl,--wrap=helper_cmpnlesd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_cmpordps_x86_64 -Wl,--wrap=helper_cmpordpd_x86_64 -Wl,--wrap=helper_cmpordss_x86_64 -Wl,--wrap=helper_cmpordsd_x86_64 -Wl,--wrap=helper_haddps_x86_64 -Wl,--wrap=helper_haddpd_x86_64 -Wl,--wrap=helper_hsubps_x86_64 -Wl,--wrap=helper_hsubpd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_addsubps_x86_64 -Wl,--wrap=helper_addsubpd_x86_64 -Wl,--wrap=helper_rcpps_x86_64 -Wl,--wrap=helper_rcpss_x86_64 -Wl,--wrap=helper_rsqrtps_x86_64 -Wl,--wrap=helper_rsqrtss_x86_64 -Wl,--wrap=helper_cvtps2pd_x86_64 -Wl,--wrap=helper_cvtpd2ps_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_cvtss2sd_x86_64 -Wl,--wrap=helper_cvtsd2ss_x86_64 -Wl,--wrap=helper_cvtdq2ps_x86_64 -Wl,--wrap=helper_cvtdq2pd_x86_64 -Wl,--wrap=helper_cvtps2dq_x86_64 -Wl,--wrap=helper_cvtpd2dq_x86_64 -Wl,--wrap=helper_cvttps2dq_x86_64 -Wl,--wrap=helper_cvttpd2dq_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_comiss_x86_64 -Wl,--wrap=helper_comisd_x86_64 -Wl,--wrap=helper_ucomiss_x86_64 -Wl,--wrap=helper_ucomisd_x86_64 -Wl,--wrap=helper_cvtsi2ss_x86_64 -Wl,--wrap=helper_cvtsi2sd_x86_64 -Wl,--wrap=helper_cvtsq2ss_x86_64 -Wl,--wrap=helper_cvtsq2sd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_cvtss2si_x86_64 -Wl,--wrap=helper_cvtsd2si_x86_64 -Wl,--wrap=helper_cvttss2si_x86_64 -Wl,--wrap=helper_cvttsd2si_x86_64 -Wl,--wrap=helper_cvtss2sq_x86_64 -Wl,--wrap=helper_cvtsd2sq_x86_64 -Wl,--wrap=helper_cvttss2sq_x86_64 -Wl,--wrap=helper_cvttsd2sq_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_ldmxcsr_x86_64 -Wl,--wrap=helper_fxrstor_x86_64
#include <stdlib.h>
#include "hooks.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// noHugePages turns transparent huge pages off for vemu's process, once. Unicorn asks for
// them on its 1 GiB translation buffer (MADV_HUGEPAGE), so the first translated block of
// every engine faulted in a whole 2 MiB page: 2.9 MiB of RSS per engine where 0.8 MiB is
// used (measured per engine with a C probe, Unicorn 2.1.1, THP in "madvise" mode), which
// every guest process pays, forked children included.
var noHugePages sync.Once

// Prot is a set of page permissions, with the bits of PROT_READ, PROT_WRITE and PROT_EXEC.
type Prot uint32

// Page permissions.
const (
	ProtNone  Prot = 0
	ProtRead  Prot = 1
	ProtWrite Prot = 2
	ProtExec  Prot = 4
	// ProtShared marks memory that other guest addresses may show too (a shared
	// mapping): code written through one of them and run through another is watched as
	// code rewritten in place is (see xpages in hooks.h). The guest's access is the
	// other bits'.
	ProtShared Prot = 8
)

// PageSize is the engine's page size; mappings are aligned to it.
const PageSize = 4096

// Error is an error returned by libunicorn.
type Error struct {
	Op   string
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("unicorn: %s: %s", e.Op, e.Msg) }

func ucErr(op string, code C.uc_err) error {
	if code == C.UC_ERR_OK {
		return nil
	}
	return &Error{Op: op, Code: int(code), Msg: C.GoString(C.uc_strerror(code))}
}

// Syscall is the state of one SYSCALL instruction, as the hook hands it to Go. Its layout
// mirrors struct vemu_sys in hooks.h.
type Syscall struct {
	Nr     uint64    // rax
	Args   [6]uint64 // rdi, rsi, rdx, r10, r8, r9
	RIP    uint64    // the address of the syscall instruction
	RFlags uint64    // flags at the instruction; copied into r11
	Ret    uint64    // the value the guest sees in rax
	stop   uint64
}

// Stop asks the engine to stop right after this system call returns to the guest.
func (s *Syscall) Stop() { s.stop = 1 }

// SyscallFunc handles a SYSCALL inside the hook. It sets s.Ret and may call s.Stop.
type SyscallFunc func(s *Syscall)

// CodeFunc is called before the instruction at addr runs, for addresses with a code hook.
type CodeFunc func(addr uint64)

// Engine is one x86-64 CPU and its address space. One goroutine drives an engine at a time.
type Engine struct {
	uc        *C.uc_engine
	st        *C.struct_vemu_state
	id        int
	sys       SyscallFunc
	code      CodeFunc
	ucRegions []ucRegion // Unicorn's regions, sorted (see mem.go)
	windows   []bool     // the windows given to this engine (window.go)
	across    bool       // fetchAcross runs the engine
	// The last page whose code a refused write dropped, and the instruction (see rewrote).
	smcPage, smcRIP uint64
	closed          bool
	panicVal        any
	dbg             debugState

	// Kick's view of the engine, which other goroutines read: whether it runs now, and
	// whether the block hook that takes kicks is installed.
	kickMu    sync.Mutex
	running   bool
	pending   bool   // a kick came while not running: the next Run returns at once
	runs      uint64 // counts runs, so that Abort's repeats end with the run they stop
	blockHook bool
	gone      bool // closed

	// The descriptor tables' host memory, and the instruction of the last read of it
	// allowed to a segment load (see desc.go).
	desc    []byte
	descRip uint64

	blockInstalled bool               // the block hook is in the engine (see Renew)
	hooked         map[[2]uint64]bool // ranges given to HookCode
}

// registry maps the ids the C hooks carry back to engines. Reads are lock-free.
var (
	registryMu sync.Mutex
	registry   atomic.Pointer[[]*Engine]
)

func register(e *Engine) int {
	registryMu.Lock()
	defer registryMu.Unlock()
	var cur []*Engine
	if p := registry.Load(); p != nil {
		cur = *p
	}
	next := make([]*Engine, len(cur), len(cur)+1)
	copy(next, cur)
	for i, x := range next {
		if x == nil {
			next[i] = e
			registry.Store(&next)
			return i
		}
	}
	next = append(next, e)
	registry.Store(&next)
	return len(next) - 1
}

func unregister(id int) {
	registryMu.Lock()
	defer registryMu.Unlock()
	cur := *registry.Load()
	next := make([]*Engine, len(cur))
	copy(next, cur)
	next[id] = nil
	registry.Store(&next)
}

func lookup(id C.uint64_t) *Engine {
	p := registry.Load()
	if p == nil || int(id) >= len(*p) {
		return nil
	}
	return (*p)[id]
}

// New opens an engine in 64-bit mode at privilege level 3 (user mode: privileged and I/O
// instructions raise a general protection fault, vector 13), with the virtual TLB (so that
// addresses above 2^48, such as the vsyscall page, can be mapped), the default FPU and SSE
// control state, and the CPU model whose features vemu advertises (see Info).
func New() (*Engine, error) {
	e, err := open(cpuModel)
	if err != nil {
		return nil, err
	}
	model.once.Do(func() { initModel(e) })
	if model.err != nil {
		e.Close()
		return nil, model.err
	}
	e.setCPUIDLeaves()
	return e, nil
}

// open opens an engine emulating the Unicorn CPU model cpu, with CPUID answered by the model.
func open(cpu int) (*Engine, error) {
	noHugePages.Do(func() { unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0) })
	installBus()
	e := &Engine{}
	// SAFETY: uc_open writes the engine pointer into e.uc, a Go field passed for the
	// duration of the call only.
	if err := ucErr("open", C.uc_open(C.UC_ARCH_X86, C.UC_MODE_64, &e.uc)); err != nil {
		return nil, err
	}
	live.Add(1)
	e.id = register(e)
	e.st = C.vemu_state_new(C.uint64_t(e.id))
	if e.st == nil {
		e.Close()
		return nil, errors.New("emu: out of memory")
	}
	for _, step := range []struct {
		op string
		f  func() C.uc_err
	}{
		{"cpu model", func() C.uc_err { return C.vemu_set_cpu_model(e.uc, C.int(cpu)) }},
		{"user mode", func() C.uc_err { return C.vemu_user_mode(e.uc, e.st) }},
		{"tlb mode", func() C.uc_err { return C.vemu_tlb_virtual(e.uc) }},
		{"hooks", func() C.uc_err { return C.vemu_install_hooks(e.uc, e.st) }},
		{"exits", func() C.uc_err { return C.vemu_exits_none(e.uc) }},
	} {
		if err := ucErr(step.op, step.f()); err != nil {
			e.Close()
			return nil, err
		}
	}
	if err := e.SetReg(CR4, e.Reg(CR4)|cr4OSFXSR|cr4OSXMMEXCPT|cr4FSGSBASE); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.SetReg(CR0, e.Reg(CR0)|cr0NE); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.descTables(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// live counts the engines open now.
var live atomic.Int64

// Live is the number of engines open in this host process. Each holds host mappings of
// its own (translation buffers, tables, its thread's stack), which vemu's budget of host
// mappings leaves room for.
func Live() int64 { return live.Load() }

// Close releases the engine. Mapped host memory stays the caller's.
func (e *Engine) Close() {
	if e.closed {
		return
	}
	e.closed = true
	e.kickMu.Lock()
	e.gone = true
	e.kickMu.Unlock()
	if e.uc != nil {
		C.uc_close(e.uc)
		live.Add(-1)
	}
	for _, h := range e.dbg.watches {
		C.free(unsafe.Pointer(h.w))
	}
	e.dbg.watches = nil
	if e.st != nil {
		C.vemu_cover_free(e.st)
		if e.st.scratch != nil {
			C.uc_context_free(e.st.scratch)
		}
		C.vemu_pt_free(&e.st.ptab)
		C.vemu_ps_free(&e.st.xpages)
		C.vemu_ps_free(&e.st.xfetch)
		C.free(unsafe.Pointer(e.st))
	}
	if e.desc != nil {
		unix.Munmap(e.desc)
		e.desc = nil
	}
	unregister(e.id)
}

// OnSyscall sets the function that answers SYSCALL instructions.
func (e *Engine) OnSyscall(f SyscallFunc) { e.sys = f }

// OnCode sets the function called at addresses hooked with HookCode.
func (e *Engine) OnCode(f CodeFunc) { e.code = f }

// HookCode calls the OnCode function before every instruction in [begin, end].
// A range already hooked is not hooked twice.
func (e *Engine) HookCode(begin, end uint64) error {
	if e.hooked[[2]uint64{begin, end}] {
		return nil
	}
	var h C.uc_hook
	if err := ucErr("hook code", C.vemu_hook_code_range(e.uc, e.st, C.uint64_t(begin), C.uint64_t(end), &h)); err != nil {
		return err
	}
	if e.hooked == nil {
		e.hooked = map[[2]uint64]bool{}
	}
	e.hooked[[2]uint64{begin, end}] = true
	return nil
}

// Renew hands the engine, with its mappings, hooks and translated code, to a new user:
// the returned Engine is the same CPU with the state of a run (preemption, kicks, the
// calls the SYSCALL hook answers, counters) as a new engine has it, and e becomes a
// closed handle, so that a Kick or Abort a goroutine still holds for the old user does
// nothing to the new one. Registers and memory are the caller's to set.
func (e *Engine) Renew() *Engine {
	e.kickMu.Lock()
	e.gone, e.closed = true, true
	e.kickMu.Unlock()
	n := &Engine{uc: e.uc, st: e.st, id: e.id, ucRegions: e.ucRegions, windows: e.windows,
		blockInstalled: e.blockInstalled, hooked: e.hooked, desc: e.desc}
	e.desc = nil
	n.clearDesc()
	st := e.st
	st.event, st.quantum, st.blocks, st.ran, st.block_on, st.kick = 0, 0, 0, 0, 0, 0
	st.syscalls, st.cpuid_calls = 0, 0
	st.smc_drops, st.smc_resets = 0, 0
	C.vemu_cover_reset(st)
	C.vemu_block_sync(st)
	for i := range st.fast_ok {
		st.fast_ok[i], st.fast_hits[i] = 0, 0
	}
	registryMu.Lock()
	next := append([]*Engine(nil), *registry.Load()...)
	next[e.id] = n
	registry.Store(&next)
	registryMu.Unlock()
	return n
}

// SyscallCount is the number of SYSCALL instructions the engine has executed.
func (e *Engine) SyscallCount() uint64 { return uint64(e.st.syscalls) }

//export vemuGoSyscall
func vemuGoSyscall(id C.uint64_t) {
	e := lookup(id)
	// SAFETY: st.sys is a struct vemu_sys in C memory whose layout Syscall mirrors
	// (checked by TestSyscallLayout); it lives as long as the engine.
	s := (*Syscall)(unsafe.Pointer(&e.st.sys))
	defer func() {
		// A panic cannot unwind through the C frames of the hook: stop the engine and
		// hand the panic to Run, which returns it as an event.
		if r := recover(); r != nil {
			e.st.event = C.VEMU_EV_PANIC
			e.panicVal = r
			s.stop = 1
		}
	}()
	e.sys(s)
}

//export vemuGoCode
func vemuGoCode(id C.uint64_t, addr C.uint64_t) {
	e := lookup(id)
	defer func() {
		if r := recover(); r != nil {
			e.st.event = C.VEMU_EV_PANIC
			e.panicVal = r
			C.uc_emu_stop(e.uc)
		}
	}()
	e.code(uint64(addr))
}

// StopNow stops the engine from inside a hook, after the current instruction.
func (e *Engine) StopNow() { C.uc_emu_stop(e.uc) }

// Syscall must mirror struct vemu_sys: these fail to compile if the sizes differ.
var (
	_ [unsafe.Sizeof(Syscall{}) - C.sizeof_struct_vemu_sys]byte
	_ [C.sizeof_struct_vemu_sys - unsafe.Sizeof(Syscall{})]byte
)

// FastMax bounds the system call numbers SetFast takes.
const FastMax = C.VEMU_FAST_MAX

// SetFast makes the SYSCALL hook answer system call nr with val itself, without calling
// the OnSyscall function, until ClearFast: for calls whose answer is fixed while they are
// set (getpid). A kick waiting turns it off until the next run, so that the OnSyscall
// function sees the message. It saves the call into Go: about 60 ns of a 120 ns getpid.
func (e *Engine) SetFast(nr int, val uint64) {
	if nr >= 0 && nr < FastMax {
		e.st.fast_val[nr] = C.uint64_t(val)
		e.st.fast_ok[nr] = 1
	}
}

// ClearFast sends system call nr to the OnSyscall function again.
func (e *Engine) ClearFast(nr int) {
	if nr >= 0 && nr < FastMax {
		e.st.fast_ok[nr] = 0
	}
}

// TakeCodeDrops returns how many times the engine dropped a page's translated code for a
// store that rewrote it, and all its code for a full set of such pages (xpages in
// hooks.h), since the last call, and resets the counts.
func (e *Engine) TakeCodeDrops() (pages, all uint64) {
	pages, all = uint64(e.st.smc_drops), uint64(e.st.smc_resets)
	e.st.smc_drops, e.st.smc_resets = 0, 0
	return pages, all
}

// TakeFastHits calls f with each system call the hook answered itself and how many times,
// since the last TakeFastHits, and resets the counts.
func (e *Engine) TakeFastHits(f func(nr int, n uint64)) {
	for nr := range FastMax {
		if n := uint64(e.st.fast_hits[nr]); n != 0 {
			e.st.fast_hits[nr] = 0
			f(nr, n)
		}
	}
}

// StartIgnored lists the signals vemu was started with ignored (SIG_IGN), as they were
// before the Go runtime set up its handlers (startsig.c).
func StartIgnored() []int {
	mask := uint64(C.vemu_start_ignored())
	var sigs []int
	for sig := 1; sig <= 64; sig++ {
		if mask&(1<<(sig-1)) != 0 {
			sigs = append(sigs, sig)
		}
	}
	return sigs
}
