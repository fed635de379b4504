package vdsoimage

// The vDSO's functions, generated with Asm. Each follows the System V ABI:
// arguments in rdi, rsi, rdx; result in rax; only caller-saved registers
// (rax, rcx, rdx, rsi, rdi, r8-r11) change; rsp never moves, so one CFI rule
// (CFA = rsp+8, return address at CFA-8) holds throughout.
//
// Layout: the vvar fields are the VVar* constants in vvar.go.

// x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) of the
// fallback paths. The guest is x86-64 whatever the host is, so they are
// spelled out here; a test checks them against golang.org/x/sys/unix on
// linux/amd64.
const (
	sysGettimeofday = 96
	sysClockGettime = 228
	sysClockGetres  = 229
)

// codeFunc is one generated function.
type codeFunc struct {
	name  string // without the __vdso_ prefix
	start int    // offset in the code
	size  int
}

// funcs lists the functions in the order they are laid out.
var funcs = []struct {
	name string
	gen  func(*Asm)
}{
	{"clock_gettime", genClockGettime},
	{"gettimeofday", genGettimeofday},
	{"time", genTime},
	{"clock_getres", genClockGetres},
	{"getcpu", genGetcpu},
}

// assembled is the code of all functions, placed at image address org.
type assembled struct {
	code         []byte
	funcs        []codeFunc
	counterReads []int
	syscalls     []int
}

func assemble(org int64) (*assembled, error) {
	a := NewAsm(org)
	var out assembled
	for _, f := range funcs {
		a.Align(16)
		start := a.Pos()
		f.gen(a)
		out.funcs = append(out.funcs, codeFunc{name: f.name, start: start, size: a.Pos() - start})
	}
	code, err := a.Finish()
	if err != nil {
		return nil, err
	}
	out.code = code
	out.counterReads = a.CounterReads
	out.syscalls = a.Syscalls
	return &out, nil
}

// vvar is the RIP-relative operand for vvar field off: the vvar pages end
// where the image begins.
func vvar(off int) Mem { return RIPAbs(int64(off) - VVarSize) }

// genSyscallFallback emits mov eax, nr; syscall; ret: the arguments are still
// in place, and the kernel's result (a value or -errno) is returned as is.
func genSyscallFallback(a *Asm, nr uint32) {
	a.MovImm32(RAX, nr)
	a.Syscall()
	a.Ret()
}

// genClassify jumps to hres or coarse according to the clock id in edi, and
// falls through for every other id (negative ones included: the compare is
// unsigned).
func genClassify(a *Asm, hres, coarse Label) {
	other := a.NewLabel()
	a.CmpImm32(RDI, NumClocks-1)
	a.Jcc(CondA, other)
	a.MovImm32(RAX, HresClocks)
	a.Bt32(RAX, RDI)
	a.Jcc(CondC, hres)
	a.MovImm32(RAX, CoarseClocks)
	a.Bt32(RAX, RDI)
	a.Jcc(CondC, coarse)
	a.Bind(other)
}

// genBasePointer sets r11 to the address of the base of the clock in edi.
func genBasePointer(a *Asm) {
	if VVarBaseSize != 16 {
		panic("vdsoimage: genBasePointer assumes 16-byte bases")
	}
	a.Mov32(RAX, RDI) // zero-extends the (already range-checked) id
	a.ShlImm64(RAX, 4)
	a.Lea(R11, vvar(VVarBases))
	a.Add64(R11, RAX)
}

// genSeqBegin emits the top of a seqlock read section: r8d = sequence,
// spinning with pause while it is odd. It returns the label of the retry
// point. On x86-64 loads are not reordered with other loads, so reading the
// sequence first and again last brackets the field loads with no fence (as
// Linux's vdso_read_begin/vdso_read_retry, whose barriers are compiler-only
// on x86).
func genSeqBegin(a *Asm) (retry, spin Label) {
	retry, spin = a.NewLabel(), a.NewLabel()
	a.Bind(retry)
	a.Load32(R8, vvar(VVarSeq))
	a.TestImm32(R8, 1)
	a.Jcc(CondNZ, spin)
	return retry, spin
}

// genSpin emits the spin target: pause, then back to retry.
func genSpin(a *Asm, retry, spin Label) {
	a.Bind(spin)
	a.Pause()
	a.Jmp(retry)
}

// genHres emits the counter-based read of the base at sec and nsec
// (shifted), leaving seconds in r9 and nanoseconds (< 1e9) in rdx. It jumps
// to fallback, with the argument registers untouched, when the clock mode is
// none. It uses rax, rcx, rdx, r8, r9, r10; sec and nsec must not depend on
// those. The arithmetic is Data.ClockTime's.
func genHres(a *Asm, sec, nsec Mem, fallback Label) {
	retry, spin := genSeqBegin(a)
	a.CmpMemImm32(vvar(VVarClockMode), int32(ClockModeNone))
	a.Jcc(CondE, fallback)
	a.Load64(R9, sec)
	a.Load64(R10, nsec)
	a.Load32(RCX, vvar(VVarShift))
	a.RdtscOrdered()
	a.ShlImm64(RDX, 32)
	a.Or64(RAX, RDX) // rax = counter
	// delta = counter - cycle_last, or 0 if the counter is not past it (as
	// Linux's vdso_calc_delta on x86, which guards against TSCs that differ
	// slightly between CPUs).
	positive := a.NewLabel()
	a.Sub64Mem(RAX, vvar(VVarCycleLast))
	a.JccShort(CondA, positive)
	a.Xor32(RAX, RAX)
	a.Bind(positive)
	a.Load32(RDX, vvar(VVarMult))
	a.Mul64(RDX) // rdx:rax = delta * mult
	a.Cmp32Mem(R8, vvar(VVarSeq))
	a.Jcc(CondNE, retry)

	// ns = (nsec + delta*mult) >> shift, with a 128-bit sum.
	a.Add64(RAX, R10)
	a.AdcImm64(RDX, 0)
	a.ShrdCL64(RAX, RDX)
	// Carry whole seconds by subtraction, as Linux's __iter_div_u64_rem: ns is
	// the base's nanoseconds (< 1e9) plus the time since the last update, so the
	// loop runs once at most while the timekeeper ticks, and it is far cheaper
	// than div under emulation (a helper call each time).
	carry, carried := a.NewLabel(), a.NewLabel()
	a.MovImm32(RCX, 1_000_000_000)
	a.Bind(carry)
	a.Cmp64(RAX, RCX)
	a.JccShort(CondB, carried)
	a.Sub64(RAX, RCX)
	a.AddImm64(R9, 1)
	a.JmpShort(carry)
	a.Bind(carried)
	a.Mov64(RDX, RAX)

	done := a.NewLabel()
	a.Jmp(done)
	genSpin(a, retry, spin)
	a.Bind(done)
}

// genClockGettime emits clock_gettime(clockid_t clk, struct timespec *ts).
func genClockGettime(a *Asm) {
	hres, coarse := a.NewLabel(), a.NewLabel()
	genClassify(a, hres, coarse)
	fallback := a.NewLabel()
	a.Bind(fallback)
	genSyscallFallback(a, sysClockGettime)

	a.Bind(hres)
	genBasePointer(a)
	genHres(a, Ind(R11, 0), Ind(R11, 8), fallback)
	a.Store64(Ind(RSI, 0), R9)
	a.Store64(Ind(RSI, 8), RDX)
	a.Xor32(RAX, RAX)
	a.Ret()

	// Coarse clocks: the base as it is, read under the seqlock.
	a.Bind(coarse)
	genBasePointer(a)
	retry, spin := genSeqBegin(a)
	a.Load64(R9, Ind(R11, 0))
	a.Load64(R10, Ind(R11, 8))
	a.Cmp32Mem(R8, vvar(VVarSeq))
	a.Jcc(CondNE, retry)
	a.Store64(Ind(RSI, 0), R9)
	a.Store64(Ind(RSI, 8), R10)
	a.Xor32(RAX, RAX)
	a.Ret()
	genSpin(a, retry, spin)
}

// genGettimeofday emits gettimeofday(struct timeval *tv, struct timezone *tz).
func genGettimeofday(a *Asm) {
	fallback, doTZ, done := a.NewLabel(), a.NewLabel(), a.NewLabel()
	a.Test64(RDI, RDI)
	a.Jcc(CondZ, doTZ)
	genHres(a, vvar(VVarBaseSec(ClockRealtime)), vvar(VVarBaseNsec(ClockRealtime)), fallback)
	a.Store64(Ind(RDI, 0), R9)
	a.Mov64(RAX, RDX)
	a.Xor32(RDX, RDX)
	a.MovImm32(RCX, 1000)
	a.Div64(RCX)
	a.Store64(Ind(RDI, 8), RAX) // microseconds

	a.Bind(doTZ)
	a.Test64(RSI, RSI)
	a.Jcc(CondZ, done)
	// struct timezone is the two int32s at VVarTZMinutesWest, copied at once.
	a.Load64(RAX, vvar(VVarTZMinutesWest))
	a.Store64(Ind(RSI, 0), RAX)
	a.Bind(done)
	a.Xor32(RAX, RAX)
	a.Ret()

	a.Bind(fallback)
	genSyscallFallback(a, sysGettimeofday)
}

// genTime emits time(time_t *t): the REALTIME base seconds, without the
// counter, as Linux's __cvdso_time_data().
func genTime(a *Asm) {
	done := a.NewLabel()
	a.Load64(RAX, vvar(VVarBaseSec(ClockRealtime)))
	a.Test64(RDI, RDI)
	a.JccShort(CondZ, done)
	a.Store64(Ind(RDI, 0), RAX)
	a.Bind(done)
	a.Ret()
}

// genClockGetres emits clock_getres(clockid_t clk, struct timespec *res).
func genClockGetres(a *Asm) {
	hres, coarse, store, done := a.NewLabel(), a.NewLabel(), a.NewLabel(), a.NewLabel()
	genClassify(a, hres, coarse)
	genSyscallFallback(a, sysClockGetres)

	a.Bind(hres)
	a.Load32(RAX, vvar(VVarHresNs))
	a.JmpShort(store)
	a.Bind(coarse)
	a.Load32(RAX, vvar(VVarCoarseNs))
	a.Bind(store)
	a.Test64(RSI, RSI) // res may be NULL
	a.JccShort(CondZ, done)
	a.StoreImm64(Ind(RSI, 0), 0)
	a.Store64(Ind(RSI, 8), RAX)
	a.Bind(done)
	a.Xor32(RAX, RAX)
	a.Ret()
}

// genGetcpu emits getcpu(unsigned *cpu, unsigned *node, void *unused).
// Linux reads the CPU and node from RDPID (or the limit of a per-CPU GDT
// entry); the emulated CPU has no RDPID and no per-CPU GDT, so the
// emulator publishes them in vvar instead.
func genGetcpu(a *Asm) {
	noCPU, done := a.NewLabel(), a.NewLabel()
	a.Load64(RAX, vvar(VVarCPU)) // cpu in eax, node in the high half, in one load
	a.Test64(RDI, RDI)
	a.JccShort(CondZ, noCPU)
	a.Store32(Ind(RDI, 0), RAX)
	a.Bind(noCPU)
	a.Test64(RSI, RSI)
	a.JccShort(CondZ, done)
	a.ShrImm64(RAX, 32)
	a.Store32(Ind(RSI, 0), RAX)
	a.Bind(done)
	a.Xor32(RAX, RAX)
	a.Ret()
}
