package emu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopCode: inc rax; inc rbx; mov [rsp-8], rax; cmp rax, 5; jne codeAddr; hlt
var loopCode = []byte{
	0x48, 0xff, 0xc0, // 0: inc rax
	0x48, 0xff, 0xc3, // 3: inc rbx
	0x48, 0x89, 0x44, 0x24, 0xf8, // 6: mov [rsp-8], rax
	0x48, 0x83, 0xf8, 0x05, // 11: cmp rax, 5
	0x75, 0xef, // 15: jne 0
	0xf4, // 17: hlt
}

func TestBreakpoint(t *testing.T) {
	e, mem := newEngine(t, loopCode)
	// Run once without breakpoints, so that the loop is translated already.
	ev := e.Run(codeAddr)
	require.Equal(t, Halt, ev.Kind, ev.String())
	require.NoError(t, e.SetReg(RAX, 0))
	require.NoError(t, e.SetReg(RBX, 0))

	require.NoError(t, e.AddBreak(codeAddr+3))
	pc := uint64(codeAddr)
	for i := 1; i <= 5; i++ {
		ev = e.Run(pc)
		require.Equal(t, Debug, ev.Kind, ev.String())
		assert.Equal(t, BreakHit, ev.Reason)
		assert.Equal(t, uint64(codeAddr+3), ev.RIP)
		assert.Equal(t, uint64(i), e.Reg(RAX), "the instruction before ran")
		assert.Equal(t, uint64(i-1), e.Reg(RBX), "the one at the breakpoint did not")
		pc = ev.RIP
	}
	assert.Equal(t, byte(0x48), mem[3], "code bytes unchanged")
	// Resuming with the breakpoint asked to stop the run's start: it stops at once.
	e.BreakAtStart(true)
	ev = e.Run(pc)
	require.Equal(t, Debug, ev.Kind, ev.String())
	assert.Equal(t, uint64(codeAddr+3), ev.RIP)
	assert.Equal(t, uint64(4), e.Reg(RBX), "the instruction at the breakpoint did not run")
	e.RemoveBreak(codeAddr + 3)
	ev = e.Run(pc)
	assert.Equal(t, Halt, ev.Kind, ev.String())
	assert.Equal(t, uint64(5), e.Reg(RBX))
}

func TestStep(t *testing.T) {
	e, _ := newEngine(t, loopCode)
	require.Equal(t, Halt, e.Run(codeAddr).Kind)
	require.NoError(t, e.SetReg(RAX, 0))
	require.NoError(t, e.AddBreak(codeAddr+6))
	require.NoError(t, e.SetStep(true))
	want := []uint64{3, 6, 11, 15, 0, 3}
	pc := uint64(codeAddr)
	for _, w := range want {
		ev := e.Run(pc)
		require.Equal(t, Debug, ev.Kind, ev.String())
		if w == 6 {
			assert.Equal(t, BreakHit, ev.Reason, "a step onto a breakpoint")
		} else {
			assert.Equal(t, StepDone, ev.Reason)
		}
		assert.Equal(t, codeAddr+w, ev.RIP)
		pc = ev.RIP
	}
	require.NoError(t, e.SetStep(false))
	ev := e.Run(pc)
	assert.Equal(t, BreakHit, ev.Reason, ev.String())
	assert.Equal(t, uint64(codeAddr+6), ev.RIP)
}

func TestWatch(t *testing.T) {
	e, _ := newEngine(t, loopCode)
	require.Equal(t, Halt, e.Run(codeAddr).Kind)
	require.NoError(t, e.SetReg(RAX, 0))
	require.NoError(t, e.AddWatch(0x800000-8, 8, true, false))
	pc := uint64(codeAddr)
	for i := 1; i <= 5; i++ {
		ev := e.Run(pc)
		require.Equal(t, Debug, ev.Kind, ev.String())
		assert.Equal(t, WatchHit, ev.Reason)
		assert.Equal(t, Write, ev.Access)
		assert.Equal(t, 8, ev.Size)
		assert.Equal(t, uint64(0x800000-8), ev.Addr)
		assert.Equal(t, uint64(codeAddr+11), ev.RIP, "stops after the store")
		var b [1]byte
		require.NoError(t, e.ReadMem(0x800000-8, b[:]))
		assert.Equal(t, byte(i), b[0])
		pc = ev.RIP
	}
	e.RemoveWatch(0x800000-8, 8, true, false)
	assert.Equal(t, Halt, e.Run(pc).Kind)
	// A watch elsewhere never fires.
	require.NoError(t, e.AddWatch(0x7ff000, 8, true, true))
	require.NoError(t, e.SetReg(RAX, 0))
	assert.Equal(t, Halt, e.Run(codeAddr).Kind)
}

// spinCode: inc rax; cmp rax, rdi; jne 0; hlt — a loop of rdi rounds.
var spinCode = []byte{0x48, 0xff, 0xc0, 0x48, 0x39, 0xf8, 0x75, 0xf8, 0xf4}

// BenchmarkStep measures one single step: a run of one instruction.
func BenchmarkStep(b *testing.B) {
	e, _ := newEngine(b, spinCode)
	require.NoError(b, e.SetReg(RDI, 1<<62))
	require.NoError(b, e.SetStep(true))
	pc := uint64(codeAddr)
	for b.Loop() {
		ev := e.Run(pc)
		if ev.Kind != Debug {
			b.Fatal(ev)
		}
		pc = ev.RIP
	}
}

// BenchmarkLoopWatched measures guest code while a watchpoint elsewhere is set: every
// instruction then goes through the per-instruction hook. Compare BenchmarkLoopPlain.
func BenchmarkLoopWatched(b *testing.B) { benchLoop(b, true) }

// BenchmarkLoopPlain is the same loop without a watchpoint.
func BenchmarkLoopPlain(b *testing.B) { benchLoop(b, false) }

func benchLoop(b *testing.B, watched bool) {
	e, _ := newEngine(b, spinCode)
	if watched {
		require.NoError(b, e.AddWatch(0x7ff000, 8, true, true))
	}
	const rounds = 1 << 20
	for b.Loop() {
		require.NoError(b, e.SetReg(RAX, 0))
		require.NoError(b, e.SetReg(RDI, rounds))
		if ev := e.Run(codeAddr); ev.Kind != Halt {
			b.Fatal(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(3*rounds), "ns/insn")
}

// storeLoop: mov [rsp-8], rax; inc rax; cmp rax, rdi; jne 0; hlt — a store each round.
var storeLoop = []byte{0x48, 0x89, 0x44, 0x24, 0xf8, 0x48, 0xff, 0xc0, 0x48, 0x39, 0xf8, 0x75, 0xf3, 0xf4}

// TestRemovedHooksLeaveNothing: a run after breakpoints and watchpoints were removed
// starts where it was asked, runs every instruction and stops nowhere else (the purge of
// the deleted hooks runs no guest instruction).
func TestRemovedHooksLeaveNothing(t *testing.T) {
	e, _ := newEngine(t, storeLoop)
	require.NoError(t, e.AddBreak(codeAddr+5))
	require.NoError(t, e.AddWatch(0x800000-8, 8, true, true))
	require.NoError(t, e.SetReg(RAX, 0))
	require.NoError(t, e.SetReg(RDI, 100))
	ev := e.Run(codeAddr)
	require.Equal(t, Debug, ev.Kind, ev.String())
	e.RemoveBreak(codeAddr + 5)
	e.RemoveWatch(0x800000-8, 8, true, true)
	// From inc rax with rax 7 and rdi 9: two rounds, the second storing 8. An
	// instruction run twice (or by the purge) would halt after one, storing nothing.
	require.NoError(t, e.SetReg(RAX, 7))
	require.NoError(t, e.SetReg(RDI, 9))
	ev = e.Run(codeAddr + 5)
	require.Equal(t, Halt, ev.Kind, ev.String())
	assert.Equal(t, uint64(9), e.Reg(RAX))
	var b [1]byte
	require.NoError(t, e.ReadMem(0x800000-8, b[:]))
	assert.Equal(t, byte(8), b[0])
}

// BenchmarkStoresAfterWatch times a loop of stores after a watchpoint elsewhere was set
// and removed: it must cost what BenchmarkStores does.
func BenchmarkStoresAfterWatch(b *testing.B) { benchStores(b, true) }

// BenchmarkStores times the same loop on an engine that never had a watchpoint.
func BenchmarkStores(b *testing.B) { benchStores(b, false) }

func benchStores(b *testing.B, watched bool) {
	e, _ := newEngine(b, storeLoop)
	if watched {
		require.NoError(b, e.AddWatch(0x7ff000, 8, true, true))
		require.NoError(b, e.SetReg(RDI, 10))
		e.Run(codeAddr)
		e.RemoveWatch(0x7ff000, 8, true, true)
	}
	const rounds = 1 << 20
	for b.Loop() {
		require.NoError(b, e.SetReg(RAX, 0))
		require.NoError(b, e.SetReg(RDI, rounds))
		if ev := e.Run(codeAddr); ev.Kind != Halt {
			b.Fatal(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(4*rounds), "ns/insn")
}
