package emu

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const codeAddr = 0x400000

// newEngine maps one page of code at codeAddr and a stack page below 0x800000.
func newEngine(t testing.TB, code []byte) (*Engine, []byte) {
	t.Helper()
	e, err := New()
	require.NoError(t, err)
	t.Cleanup(e.Close)
	mem, err := unix.Mmap(-1, 0, 2*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	copy(mem, code)
	require.NoError(t, e.MapHost(codeAddr, mem[:PageSize], ProtRead|ProtExec))
	require.NoError(t, e.MapHost(0x7ff000, mem[PageSize:], ProtRead|ProtWrite))
	require.NoError(t, e.SetReg(RSP, 0x800000))
	return e, mem
}

var (
	syscallInsn = []byte{0x0f, 0x05}
	hlt         = []byte{0xf4}
)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestSyscallABI(t *testing.T) {
	// mov eax, 39; syscall; hlt
	code := cat([]byte{0xb8, 39, 0, 0, 0}, syscallInsn, hlt)
	e, _ := newEngine(t, code)
	var seen Syscall
	e.OnSyscall(func(s *Syscall) {
		seen = *s
		s.Ret = 1234
	})
	require.NoError(t, e.SetReg(RDI, 11))
	require.NoError(t, e.SetReg(R10, 44))
	ev := e.Run(codeAddr)
	assert.Equal(t, Halt, ev.Kind, ev.String())
	assert.Equal(t, uint64(39), seen.Nr)
	assert.Equal(t, uint64(11), seen.Args[0])
	assert.Equal(t, uint64(44), seen.Args[3])
	assert.Equal(t, uint64(codeAddr+5), seen.RIP, "rip in the hook is the syscall instruction")
	assert.Equal(t, uint64(1234), e.Reg(RAX))
	assert.Equal(t, uint64(codeAddr+7), e.Reg(RCX), "rcx = return address")
	assert.Equal(t, seen.RFlags&0x3c7fd7, e.Reg(R11))
	assert.NotZero(t, e.Reg(R11)&2, "reserved flag bit 1")
}

func TestSyscallStop(t *testing.T) {
	code := cat(syscallInsn, syscallInsn, hlt)
	e, _ := newEngine(t, code)
	n := 0
	e.OnSyscall(func(s *Syscall) { n++; s.Stop() })
	ev := e.Run(codeAddr)
	assert.Equal(t, Stopped, ev.Kind)
	assert.Equal(t, uint64(codeAddr+2), ev.RIP)
	assert.Equal(t, 1, n)
	ev = e.Run(ev.RIP)
	assert.Equal(t, uint64(codeAddr+4), ev.RIP)
	assert.Equal(t, 2, n)
}

func TestEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		code  []byte
		check func(t *testing.T, ev Event)
	}{
		{"null-read", cat([]byte{0x90, 0x90, 0x31, 0xc0, 0x8b, 0x00}, hlt), func(t *testing.T, ev Event) {
			// nop; nop; xor eax,eax; mov eax,[rax]
			assert.Equal(t, Fault, ev.Kind)
			assert.Equal(t, Read, ev.Access)
			assert.True(t, ev.Unmapped)
			assert.Equal(t, uint64(0), ev.Addr)
			assert.Equal(t, uint64(codeAddr+4), ev.RIP, "precise rip")
		}},
		{"write-readonly", cat([]byte{0x48, 0xc7, 0xc0, 0x00, 0x00, 0x40, 0x00, 0x90, 0xc6, 0x00, 0x01}, hlt), func(t *testing.T, ev Event) {
			// mov rax, 0x400000; nop; mov byte [rax], 1
			assert.Equal(t, Fault, ev.Kind)
			assert.Equal(t, Write, ev.Access)
			assert.False(t, ev.Unmapped)
			assert.Equal(t, uint64(codeAddr), ev.Addr)
			assert.Equal(t, uint64(codeAddr+8), ev.RIP, "precise rip")
		}},
		{"jump-null", []byte{0x31, 0xc0, 0xff, 0xe0}, func(t *testing.T, ev Event) {
			// xor eax,eax; jmp rax
			assert.Equal(t, Fault, ev.Kind, ev.String())
			assert.Equal(t, Fetch, ev.Access)
			assert.Equal(t, uint64(0), ev.Addr)
		}},
		{"hlt", []byte{0x90, 0xf4}, func(t *testing.T, ev Event) {
			assert.Equal(t, Halt, ev.Kind)
			assert.Equal(t, uint64(codeAddr+1), ev.RIP)
		}},
		{"int3", []byte{0x90, 0xcc, 0x90}, func(t *testing.T, ev Event) {
			assert.Equal(t, Interrupt, ev.Kind)
			assert.Equal(t, uint32(3), ev.Vector)
			assert.Equal(t, uint64(codeAddr+2), ev.RIP)
		}},
		{"ud2", []byte{0x90, 0x0f, 0x0b}, func(t *testing.T, ev Event) {
			assert.Equal(t, Invalid, ev.Kind)
			assert.Equal(t, uint64(codeAddr+1), ev.RIP)
		}},
		{"divide-error", []byte{0x31, 0xc9, 0x31, 0xd2, 0x90, 0xf7, 0xf1}, func(t *testing.T, ev Event) {
			// xor ecx,ecx; xor edx,edx; nop; div ecx
			assert.Equal(t, Interrupt, ev.Kind)
			assert.Equal(t, uint32(0), ev.Vector)
			assert.Equal(t, uint64(codeAddr+5), ev.RIP)
		}},
		{"vsyscall-fetch", []byte{0x48, 0xc7, 0xc0, 0x00, 0x00, 0x60, 0xff, 0xff, 0xd0}, func(t *testing.T, ev Event) {
			// mov rax, 0xffffffffff600000; call rax
			assert.Equal(t, Fault, ev.Kind, ev.String())
			assert.Equal(t, Fetch, ev.Access)
			assert.False(t, ev.Unmapped)
			assert.Equal(t, uint64(0xffffffffff600000), ev.Addr)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t, tc.code)
			page, err := unix.Mmap(-1, 0, PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
			require.NoError(t, err)
			defer unix.Munmap(page)
			require.NoError(t, e.MapHost(0xffffffffff600000, page, ProtNone))
			tc.check(t, e.Run(codeAddr))
		})
	}
}

func TestCodeWrittenByGoIsRetranslated(t *testing.T) {
	// mov eax, 1; hlt  → patched to mov eax, 2
	e, mem := newEngine(t, []byte{0xb8, 1, 0, 0, 0, 0xf4})
	e.Run(codeAddr)
	assert.Equal(t, uint64(1), e.Reg(RAX))
	mem[1] = 2
	e.FlushCode(codeAddr, codeAddr+PageSize)
	e.Run(codeAddr)
	assert.Equal(t, uint64(2), e.Reg(RAX))
}

// BenchmarkSyscallRoundTrip measures one SYSCALL answered in Go: a loop of
// `syscall; dec rbx; jnz` with an empty handler.
func BenchmarkSyscallRoundTrip(b *testing.B) {
	// loop: mov eax, 39; syscall; dec rbx; jnz loop; hlt
	code := []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0xff, 0xcb, 0x75, 0xf4, 0xf4}
	e, _ := newEngine(b, code)
	e.OnSyscall(func(s *Syscall) { s.Ret = 7 })
	e.SetReg(RBX, uint64(b.N))
	b.ResetTimer()
	ev := e.Run(codeAddr)
	if ev.Kind != Halt {
		b.Fatal(ev)
	}
}

// BenchmarkFastSyscall measures one SYSCALL answered in the C hook itself (SetFast), as
// getpid is: the same loop as BenchmarkSyscallRoundTrip. bench/tools/ucfloor runs the
// same round trip on libunicorn with nothing else around it.
func BenchmarkFastSyscall(b *testing.B) {
	// loop: mov eax, 39; syscall; dec rbx; jnz loop; hlt
	code := []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0xff, 0xcb, 0x75, 0xf4, 0xf4}
	e, _ := newEngine(b, code)
	e.OnSyscall(func(s *Syscall) { b.Error("called Go") })
	e.SetFast(39, 7)
	e.SetReg(RBX, uint64(b.N))
	b.ResetTimer()
	ev := e.Run(codeAddr)
	if ev.Kind != Halt {
		b.Fatal(ev)
	}
}

// BenchmarkLoop runs a load/store/ALU loop: the cost of plain guest code.
func BenchmarkLoop(b *testing.B) {
	// loop: mov rax,[rsp-8]; add rax,rbx; mov [rsp-8],rax; xor rax,rcx; dec rbx; jnz loop; hlt
	code := []byte{0x48, 0x8b, 0x44, 0x24, 0xf8, 0x48, 0x01, 0xd8, 0x48, 0x89, 0x44, 0x24, 0xf8, 0x48, 0x31, 0xc8, 0x48, 0xff, 0xcb, 0x75, 0xeb, 0xf4}
	e, _ := newEngine(b, code)
	e.SetReg(RBX, uint64(b.N))
	b.ResetTimer()
	ev := e.Run(codeAddr)
	if ev.Kind != Halt {
		b.Fatal(ev)
	}
}

// BenchmarkLoopQuantum runs the loop of BenchmarkLoop, one block an iteration, under the
// block hook with a quantum, as the threads of a process run: the hook's cost per block.
func BenchmarkLoopQuantum(b *testing.B) {
	code := []byte{0x48, 0x8b, 0x44, 0x24, 0xf8, 0x48, 0x01, 0xd8, 0x48, 0x89, 0x44, 0x24, 0xf8, 0x48, 0x31, 0xc8, 0x48, 0xff, 0xcb, 0x75, 0xeb, 0xf4}
	e, _ := newEngine(b, code)
	if err := e.EnableQuantum(); err != nil {
		b.Fatal(err)
	}
	e.SetReg(RBX, uint64(b.N))
	b.ResetTimer()
	pc := uint64(codeAddr)
	for {
		e.SetQuantum(20000)
		ev := e.Run(pc)
		if ev.Kind == Halt {
			break
		}
		if ev.Kind != Stopped {
			b.Fatal(ev)
		}
		pc = ev.RIP
	}
}

func TestCPUID(t *testing.T) {
	e, err := New()
	require.NoError(t, err)
	defer e.Close()
	_, b, c, d, err := e.CPUID(0, 0)
	require.NoError(t, err)
	vendor := string([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24), byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24), byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)})
	assert.NotEmpty(t, vendor)
	_, _, _, d1, err := e.CPUID(1, 0)
	require.NoError(t, err)
	assert.NotZero(t, d1&(1<<25), "SSE")
	assert.NotZero(t, d1&(1<<26), "SSE2")
	t.Logf("vendor %q, cpuid(1).edx %#x", vendor, d1)
}

// spinLoop is "loop: inc rcx; inc rdx; jmp loop": rcx == rdx at every block boundary.
var spinLoop = []byte{0x48, 0xff, 0xc1, 0x48, 0xff, 0xc2, 0xeb, 0xf8}

// TestQuantumCounts checks the block hook's counts, with and without coverage: a run
// under a quantum of q blocks stops with q-1 of them run (the q-th runs first next
// time), quanta longer than the hook's fast count included, and BlocksRun counts every
// block run, whether a quantum or a kick stopped the engine. spinLoop is one block an
// iteration, so rcx counts the blocks run.
func TestQuantumCounts(t *testing.T) {
	for _, cover := range []bool{false, true} {
		t.Run(fmt.Sprintf("cover=%v", cover), func(t *testing.T) {
			e, _ := newEngine(t, spinLoop)
			if cover {
				require.NoError(t, e.EnableCoverage())
			}
			require.NoError(t, e.EnableQuantum())
			pc := uint64(codeAddr)
			for _, q := range []uint64{5000, 3, 1, 20000, 2048, 2049, 4097, 2} {
				e.SetQuantum(q)
				before := e.Reg(RCX)
				ev := e.Run(pc)
				require.Equal(t, Stopped, ev.Kind, ev.String())
				require.Equal(t, q-1, e.Reg(RCX)-before, "blocks run under a quantum of %d", q)
				require.Equal(t, e.Reg(RCX), e.BlocksRun())
				require.True(t, e.QuantumFresh(), "a quantum of %d ran out", q)
				pc = ev.RIP
			}
			// A quantum cut short by kicks goes on where it was.
			e.SetQuantum(1_000_000)
			require.True(t, e.QuantumFresh(), "nothing ran since SetQuantum")
			for i := 0; i < 5; i++ {
				stop := kickWhileRunning(e)
				ev := e.Run(pc)
				kicked := stop()
				require.Equal(t, Stopped, ev.Kind, ev.String())
				require.Equal(t, e.Reg(RCX), e.BlocksRun())
				pc = ev.RIP
				if e.QuantumFresh() {
					// The quantum ran out before the kick reached the block hook (a
					// loaded machine, kicked late or not at all): nothing was cut short.
					require.GreaterOrEqual(t, e.Reg(RCX), uint64(1_000_000), "kicked %v", kicked)
					break
				}
			}
			if ran := e.Reg(RCX); ran < 1_000_000 {
				before := ran
				ev := e.Run(pc)
				require.Equal(t, Stopped, ev.Kind, ev.String())
				require.Equal(t, e.Reg(RCX), e.BlocksRun())
				require.Less(t, e.Reg(RCX)-before, uint64(1_000_000), "the kicked quantum's rest")
			}
			// No quantum: only a kick stops it.
			e.SetQuantum(0)
			done := whenRunning(e, e.Kick)
			ev := e.Run(pc)
			<-done
			require.Equal(t, Stopped, ev.Kind, ev.String())
			require.Equal(t, e.Reg(RCX), e.BlocksRun())
		})
	}
}

// TestQuantumFreshAfterACall stops the engine at system calls early in a quantum: the
// quantum is not fresh then, though the hook has not yet folded its count into blocks.
// (TestQuantumCounts checks that one that ran out is.)
func TestQuantumFreshAfterACall(t *testing.T) {
	// loop: inc rcx; mov eax, 39; syscall; jmp loop
	code := cat([]byte{0x48, 0xff, 0xc1, 0xb8, 39, 0, 0, 0}, syscallInsn, []byte{0xeb, 0xf4})
	e, _ := newEngine(t, code)
	e.OnSyscall(func(s *Syscall) { s.Ret = 1; s.Stop() })
	require.NoError(t, e.EnableQuantum())
	e.SetQuantum(100_000)
	pc := uint64(codeAddr)
	for i := 0; i < 10; i++ {
		ev := e.Run(pc)
		require.Equal(t, Stopped, ev.Kind, ev.String())
		require.False(t, e.QuantumFresh(), "stopped by call %d, %d blocks into the quantum", i+1, e.BlocksRun())
		pc = ev.RIP
	}
}

func TestKickStopsAtABlockBoundary(t *testing.T) {
	e, _ := newEngine(t, spinLoop)
	require.NoError(t, e.EnableQuantum())
	pc := uint64(codeAddr)
	var last uint64
	for i := 0; i < 50; i++ {
		done := whenRunning(e, e.Kick)
		ev := e.Run(pc)
		<-done
		require.Equal(t, Stopped, ev.Kind, ev.String())
		require.Equal(t, uint64(codeAddr), ev.RIP, "stopped at the loop's start")
		rcx, rdx := e.Reg(RCX), e.Reg(RDX)
		require.Equal(t, rcx, rdx, "a whole number of iterations ran")
		require.GreaterOrEqual(t, rcx, last)
		last, pc = rcx, ev.RIP
	}
	assert.NotZero(t, last, "the loop ran between kicks")
}

func TestKickWhileIdleStopsTheNextRun(t *testing.T) {
	e, _ := newEngine(t, spinLoop)
	e.Kick()
	ev := e.Run(codeAddr)
	assert.Equal(t, Stopped, ev.Kind)
	assert.Equal(t, uint64(codeAddr), ev.RIP)
	assert.Zero(t, e.Reg(RCX), "nothing ran")
	e.Close()
	e.Kick() // after Close: no effect, no crash
	e.Abort()
}

func TestAbortStopsAnEngineWithoutTheBlockHook(t *testing.T) {
	e, _ := newEngine(t, spinLoop)
	// Aborting as soon as the run is marked running often comes before uc_emu_start has
	// set up the run, which forgets the request: Abort must repeat it.
	for range 50 {
		whenRunning(e, e.Abort)
		ev := e.Run(codeAddr)
		require.Equal(t, Stopped, ev.Kind, ev.String())
	}
}

func TestFastCallsAnswerInTheHook(t *testing.T) {
	// mov eax, 39; syscall; mov eax, 39; syscall; hlt
	code := cat([]byte{0xb8, 39, 0, 0, 0}, syscallInsn, []byte{0xb8, 39, 0, 0, 0}, syscallInsn, hlt)
	e, _ := newEngine(t, code)
	calls := 0
	e.OnSyscall(func(s *Syscall) { calls++; s.Ret = 1 })
	e.SetFast(39, 4242)
	ev := e.Run(codeAddr)
	require.Equal(t, Halt, ev.Kind, ev.String())
	assert.Zero(t, calls, "answered without the OnSyscall function")
	assert.Equal(t, uint64(4242), e.Reg(RAX))
	assert.Equal(t, uint64(codeAddr+14), e.Reg(RCX), "rcx = return address, as for any call")
	assert.Equal(t, e.Reg(RFLAGS)&0x3c7fd7, e.Reg(R11), "r11 = the flags at the call")
	hits := map[int]uint64{}
	e.TakeFastHits(func(nr int, n uint64) { hits[nr] = n })
	assert.Equal(t, map[int]uint64{39: 2}, hits)
	e.TakeFastHits(func(nr int, n uint64) { t.Errorf("counts were not reset: %d %d", nr, n) })

	e.ClearFast(39)
	ev = e.Run(codeAddr)
	require.Equal(t, Halt, ev.Kind, ev.String())
	assert.Equal(t, 2, calls, "cleared: back to the OnSyscall function")
	assert.Equal(t, uint64(1), e.Reg(RAX))
}

func TestFastCallsYieldToAKick(t *testing.T) {
	// loop: mov eax, 39; syscall; jmp loop
	code := cat([]byte{0xb8, 39, 0, 0, 0}, syscallInsn, []byte{0xeb, 0xf7})
	e, _ := newEngine(t, code)
	e.SetFast(39, 1)
	e.OnSyscall(func(s *Syscall) { s.Ret = 2; s.Stop() })
	whenRunning(e, e.Kick)
	ev := e.Run(codeAddr)
	assert.Equal(t, Stopped, ev.Kind, ev.String())
	assert.Equal(t, uint64(2), e.Reg(RAX), "the call after the kick went to Go, which stopped")
}

// kickWhileRunning kicks e from another goroutine once it runs, unless stop comes first;
// stop ends the goroutine and says whether it kicked. Unlike whenRunning, it never kicks
// an engine that has stopped (which would stop its next run at once), and lets go of a
// run that ended on its own before the goroutine saw it.
func kickWhileRunning(e *Engine) (stop func() bool) {
	quit, kicked := make(chan struct{}), make(chan bool, 1)
	go func() {
		for {
			select {
			case <-quit:
				kicked <- false
				return
			default:
			}
			e.kickMu.Lock()
			if e.running {
				e.kickRunning()
				e.kickMu.Unlock()
				kicked <- true
				return
			}
			e.kickMu.Unlock()
		}
	}()
	return func() bool {
		close(quit)
		return <-kicked
	}
}

// whenRunning calls f from another goroutine as soon as e is running, and returns a
// channel closed once it has.
func whenRunning(e *Engine, f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			e.kickMu.Lock()
			running := e.running
			e.kickMu.Unlock()
			if running {
				f()
				return
			}
		}
	}()
	return done
}

// The CPU runs at privilege level 3: every privileged or I/O instruction raises a general
// protection fault at the instruction, which stays repeatable (no double fault), and the
// engine survives all of them (a move to DR7 at level 0 crashed the process).
func TestUserMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte
		at   uint64 // offset of the faulting instruction
	}{
		{"cli", []byte{0x90, 0xfa}, 1},
		{"sti", []byte{0xfb}, 0},
		{"mov-cr0", []byte{0x0f, 0x20, 0xc0}, 0},
		{"mov-to-cr3", []byte{0x31, 0xc0, 0x0f, 0x22, 0xd8}, 2},
		{"mov-to-dr7", []byte{0xb8, 0x01, 0x04, 0, 0, 0x0f, 0x23, 0xf8}, 5},
		{"mov-dr6", []byte{0x0f, 0x21, 0xf0}, 0},
		{"rdmsr", []byte{0xb9, 0x80, 0, 0, 0xc0, 0x0f, 0x32}, 5},
		{"wrmsr", []byte{0x0f, 0x30}, 0},
		{"lgdt", []byte{0x0f, 0x01, 0x14, 0x24}, 0},
		{"invlpg", []byte{0x0f, 0x01, 0x3c, 0x24}, 0},
		{"wbinvd", []byte{0x0f, 0x09}, 0},
		{"clts", []byte{0x0f, 0x06}, 0},
		{"swapgs", []byte{0x0f, 0x01, 0xf8}, 0},
		{"in", []byte{0x90, 0xe4, 0x80}, 1},
		{"out-dx", []byte{0x66, 0xba, 0xf8, 0x03, 0xee}, 4},
		{"int-0x0d", []byte{0xcd, 0x0d}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t, cat(tc.code, hlt))
			assert.Equal(t, uint64(0x33), e.Reg(CS), "Linux's user code selector")
			for range 3 {
				ev := e.Run(codeAddr)
				require.Equal(t, Interrupt, ev.Kind, ev.String())
				assert.Equal(t, uint32(13), ev.Vector)
				if tc.name == "int-0x0d" {
					assert.True(t, ev.Int)
					assert.Equal(t, uint64(codeAddr+2), ev.RIP, "rip after int N")
					continue
				}
				assert.False(t, ev.Int)
				assert.Equal(t, codeAddr+tc.at, ev.RIP)
			}
		})
	}
}

// Exceptions in a row are each reported as themselves: Unicorn keeps the last exception
// in flight, which would make the second a double fault.
func TestExceptionsRepeat(t *testing.T) {
	// xor ecx, ecx; xor edx, edx; div ecx
	e, _ := newEngine(t, []byte{0x31, 0xc9, 0x31, 0xd2, 0xf7, 0xf1})
	for range 5 {
		ev := e.Run(codeAddr)
		require.Equal(t, Interrupt, ev.Kind, ev.String())
		assert.Equal(t, uint32(0), ev.Vector)
		assert.False(t, ev.Int)
		ev = e.Run(0x100000) // unmapped: a fetch fault between the divide errors
		require.Equal(t, Fault, ev.Kind, ev.String())
	}
}

// BenchmarkNew measures opening an engine, with the switch to user mode.
func BenchmarkNew(b *testing.B) {
	for range b.N {
		e, err := New()
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}

// A page without access stays without access after a faulting store: the TLB entry the
// store filled must not let a later load through.
func TestNoAccessAfterFault(t *testing.T) {
	// mov rax, 0x500010; mov [rax], al; mov al, [rax]; hlt
	e, _ := newEngine(t, []byte{0x48, 0xc7, 0xc0, 0x10, 0x00, 0x50, 0x00, 0x88, 0x00, 0x8a, 0x00, 0xf4})
	page, err := unix.Mmap(-1, 0, PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(page) })
	require.NoError(t, e.MapHost(0x500000, page, ProtNone))
	ev := e.Run(codeAddr)
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, Write, ev.Access)
	ev = e.Run(codeAddr + 9) // the load
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, Read, ev.Access)
}
