package kernel

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// The rseq tests' layout in the scratch pages: the area, a descriptor, and a section
// whose abort_ip has the signature before it.
const (
	rseqArea  = scratchRW + 0x3000
	rseqDesc  = scratchRW + 0x3100
	rseqStart = uint64(scratchRW + 0x4000)
	rseqPost  = 0x20
	rseqAbort = rseqStart + 0x40
	rseqSig   = 0x53053053
)

func putU32(tb testing.TB, t *Task, a mm.Addr, v uint32) {
	require.NoError(tb, t.p.mm.CopyOut(a, binary.LittleEndian.AppendUint32(nil, v)))
}

func putU64(tb testing.TB, t *Task, a mm.Addr, v uint64) {
	require.NoError(tb, t.p.mm.CopyOut(a, binary.LittleEndian.AppendUint64(nil, v)))
}

func getU32(tb testing.TB, t *Task, a mm.Addr) uint32 {
	var b [4]byte
	require.NoError(tb, t.p.mm.CopyIn(a, b[:]))
	return binary.LittleEndian.Uint32(b[:])
}

func getU64(tb testing.TB, t *Task, a mm.Addr) uint64 {
	var b [8]byte
	require.NoError(tb, t.p.mm.CopyIn(a, b[:]))
	return binary.LittleEndian.Uint64(b[:])
}

// register registers area for task and serves it as its return to guest code would.
func register(tb testing.TB, task *Task, area mm.Addr) {
	require.Equal(tb, int64(0), call(task, abi.SYS_RSEQ, uint64(area), 32, 0, rseqSig))
	task.rseqResume()
	require.Nil(tb, task.p.exit)
}

// rseqTask is a thread registered at rseqArea, with a valid descriptor at rseqDesc.
func rseqTask(tb testing.TB) *Task {
	task := loadTestTask(tb)
	register(tb, task, rseqArea)
	putDesc(tb, task)
	return task
}

// putDesc writes the valid descriptor at rseqDesc, and the signature before its abort_ip.
func putDesc(tb testing.TB, task *Task) {
	putU32(tb, task, mm.Addr(rseqAbort-4), rseqSig)
	putU64(tb, task, rseqDesc+abi.RseqCSStartIP, rseqStart)
	putU64(tb, task, rseqDesc+abi.RseqCSPostCommitOffset, rseqPost)
	putU64(tb, task, rseqDesc+abi.RseqCSAbortIP, rseqAbort)
}

func TestRseqFixup(t *testing.T) {
	for _, c := range []struct {
		name    string
		rip     uint64
		set     func(tb testing.TB, task *Task)
		wantRIP uint64 // 0: an error
	}{
		{"no-section", rseqStart, func(testing.TB, *Task) {}, rseqStart},
		{"inside", rseqStart + 3, nil, rseqAbort},
		{"first-byte", rseqStart, nil, rseqAbort},
		{"at-commit", rseqStart + rseqPost, nil, rseqStart + rseqPost},
		{"before", rseqStart - 1, nil, rseqStart - 1},
		{"version-1", rseqStart, func(tb testing.TB, task *Task) { putU32(tb, task, rseqDesc+abi.RseqCSVersion, 1) }, 0},
		{"no-restart-flag-inside", rseqStart, func(tb testing.TB, task *Task) { putU32(tb, task, rseqDesc+abi.RseqCSFlags, 1) }, 0},
		{"no-restart-flag-outside", rseqStart - 1, func(tb testing.TB, task *Task) { putU32(tb, task, rseqDesc+abi.RseqCSFlags, 4) }, rseqStart - 1},
		{"area-flag-inside", rseqStart, func(tb testing.TB, task *Task) { putU32(tb, task, rseqArea+abi.RseqFlags, 2) }, 0},
		{"abort-inside", rseqStart, func(tb testing.TB, task *Task) { putU64(tb, task, rseqDesc+abi.RseqCSAbortIP, rseqStart+1) }, 0},
		{"wraps", rseqStart, func(tb testing.TB, task *Task) {
			putU64(tb, task, rseqDesc+abi.RseqCSPostCommitOffset, ^uint64(0)-8)
		}, 0},
		{"start-past-user-space", rseqStart, func(tb testing.TB, task *Task) {
			putU64(tb, task, rseqDesc+abi.RseqCSStartIP, uint64(mm.TaskSize))
		}, 0},
		{"abort-past-user-space", rseqStart, func(tb testing.TB, task *Task) {
			putU64(tb, task, rseqDesc+abi.RseqCSAbortIP, 0xffffffffff600000)
		}, 0},
		{"bad-signature", rseqStart, func(tb testing.TB, task *Task) { putU32(tb, task, mm.Addr(rseqAbort-4), rseqSig+1) }, 0},
		{"signature-unreadable", rseqStart, func(tb testing.TB, task *Task) {
			putU64(tb, task, rseqDesc+abi.RseqCSAbortIP, uint64(scratchNone)+2)
		}, 0},
		{"descriptor-unmapped", rseqStart, func(tb testing.TB, task *Task) { putU64(tb, task, rseqArea+abi.RseqCS, uint64(unmapped)) }, 0},
		{"descriptor-past-user-space", rseqStart, func(tb testing.TB, task *Task) {
			putU64(tb, task, rseqArea+abi.RseqCS, uint64(mm.TaskSize))
		}, 0},
		{"descriptor-runs-off-memory", rseqStart, func(tb testing.TB, task *Task) {
			putU64(tb, task, rseqArea+abi.RseqCS, uint64(scratchEnd-16))
		}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := rseqTask(t)
			putU64(t, task, rseqArea+abi.RseqCS, uint64(rseqDesc))
			if c.set != nil {
				c.set(t, task)
			}
			if c.name == "no-section" {
				putU64(t, task, rseqArea+abi.RseqCS, 0)
			}
			require.NoError(t, task.cpu.SetReg(emu.RIP, c.rip))
			task.cpuNum = 1
			task.rseq.event = true
			err := task.rseqServe()
			if c.wantRIP == 0 {
				var re *rseqError
				assert.ErrorAs(t, err, &re)
				assert.Equal(t, c.rip, task.cpu.Reg(emu.RIP), "rip stays")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.wantRIP, task.cpu.Reg(emu.RIP))
			assert.Zero(t, getU64(t, task, rseqArea+abi.RseqCS), "rseq_cs cleared")
			assert.Equal(t, uint32(1), getU32(t, task, rseqArea+abi.RseqCPUIDStart))
			assert.Equal(t, uint32(1), getU32(t, task, rseqArea+abi.RseqCPUID))
			assert.False(t, task.rseq.event)
		})
	}
}

func TestRseqNoEventKeepsSection(t *testing.T) {
	// Only preemption, migration and signals abort: writing the fields alone does not.
	task := rseqTask(t)
	putU64(t, task, rseqArea+abi.RseqCS, uint64(rseqDesc))
	require.NoError(t, task.cpu.SetReg(emu.RIP, rseqStart+1))
	require.NoError(t, task.rseqServe())
	assert.Equal(t, rseqStart+1, task.cpu.Reg(emu.RIP))
	assert.Equal(t, uint64(rseqDesc), getU64(t, task, rseqArea+abi.RseqCS))
}

func TestRseqUnwritableArea(t *testing.T) {
	task := loadTestTask(t)
	require.Equal(t, int64(0), call(task, abi.SYS_RSEQ, uint64(scratchRO), 32, 0, rseqSig))
	assert.Error(t, task.rseqServe())
	// Unregistering writes cpu_id back to -1: EFAULT, and the registration stays.
	assert.Equal(t, neg(unix.EFAULT), call(task, abi.SYS_RSEQ, uint64(scratchRO), 32, abi.RSEQ_FLAG_UNREGISTER, rseqSig))
	assert.Equal(t, scratchRO, task.rseq.area)
}

// BenchmarkRseqSwitch is what a registered thread pays each time it comes back to the
// CPU outside a section.
func BenchmarkRseqSwitch(b *testing.B) {
	task := rseqTask(b)
	for b.Loop() {
		task.rseq.event = true
		if err := task.rseqServe(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRseqAreaInCode(t *testing.T) {
	// An area in executable memory is written through the copies that flush translated
	// code, and works as anywhere else.
	task := loadTestTask(t)
	const at = mm.Addr(0x20000000)
	_, err := task.p.mm.Map(at, mm.PageSize, emu.ProtRead|emu.ProtWrite|emu.ProtExec, "")
	require.NoError(t, err)
	register(t, task, at)
	require.Nil(t, task.rseqHost())
	putDesc(t, task)
	putU64(t, task, at+abi.RseqCS, uint64(rseqDesc))
	require.NoError(t, task.cpu.SetReg(emu.RIP, rseqStart+1))
	task.cpuNum = 1
	task.rseq.event = true
	require.NoError(t, task.rseqServe())
	assert.Equal(t, uint32(1), getU32(t, task, at+abi.RseqCPUID))
	assert.Zero(t, getU64(t, task, at+abi.RseqCS))
	assert.Equal(t, rseqAbort, task.cpu.Reg(emu.RIP))
}

func TestRseqRegistrationClearsSection(t *testing.T) {
	// As Linux 6.18: what rseq_cs held before the registration is cleared unread.
	task := loadTestTask(t)
	putU64(t, task, rseqArea+abi.RseqCS, uint64(unmapped))
	require.Equal(t, int64(0), call(task, abi.SYS_RSEQ, uint64(rseqArea), 32, 0, rseqSig))
	require.True(t, task.rseq.notify)
	require.NoError(t, task.rseqServe())
	assert.Zero(t, getU64(t, task, rseqArea+abi.RseqCS))
	// Afterwards, the same pointer is an error at the next event.
	putU64(t, task, rseqArea+abi.RseqCS, uint64(unmapped))
	task.rseq.event = true
	assert.Error(t, task.rseqServe())
}
