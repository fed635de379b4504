package kernel

import (
	"testing"

	"vemu/emu"
)

// TestFuzzCallsLeaveNoEngine makes the calls that create processes through FuzzSyscall's
// harness: every process they made, never run, is closed with its engine and its
// threads' saved registers when the test ends. (Engines left open shrink the
// host-mapping budget guest memory gets, and a long fuzzing run then failed to load its
// next task; the threads' contexts, 5.5 KB of C memory each, grew a fuzzing worker by
// some 3 MB a second until it died after 25 minutes.)
func TestFuzzCallsLeaveNoEngine(t *testing.T) {
	before, contexts := emu.Live(), emu.LiveContexts()
	for _, in := range [][7]uint64{{58, 1, 268435456, 4, 0, 0, 92}, {57}, {56, 0x11, 0, 0, 0, 0}} {
		for range 20 {
			t.Run("call", func(t *testing.T) {
				task := loadTestTask(t)
				nr, args := fuzzTame(in[0], [6]uint64{in[1], in[2], in[3], in[4], in[5], in[6]})
				s := emu.Syscall{Nr: nr, Args: args}
				task.onSyscall(&s)
			})
		}
	}
	if after := emu.Live(); after != before {
		t.Errorf("%d engines open before, %d after", before, after)
	}
	if after := emu.LiveContexts(); after != contexts {
		t.Errorf("%d contexts allocated before, %d after", contexts, after)
	}
}
