package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// TestPrctlSetMM moves the argument area as a capable process may, and checks Linux's
// refusals: without CAP_SYS_RESOURCE, an area ending before it starts, an address
// below vm.mmap_min_addr, a field vemu does not keep.
func TestPrctlSetMM(t *testing.T) {
	task := loadTestTask(t)
	p := task.p
	start := p.strs.argStart
	before := string(p.cmdlineNow())
	set := func(opt, addr uint64) int64 { return call(task, unix.SYS_PRCTL, abi.PR_SET_MM, opt, addr, 0, 0) }

	p.creds.caps.eff &^= 1 << capSysResource
	assert.Equal(t, neg(unix.EPERM), set(abi.PR_SET_MM_ARG_START, start+1))
	p.creds.caps.eff |= 1 << capSysResource
	assert.Equal(t, neg(unix.EINVAL), set(abi.PR_SET_MM_ARG_START, p.strs.argEnd), "start at the end")
	assert.Equal(t, neg(unix.EINVAL), set(abi.PR_SET_MM_ARG_START, 0x1000), "below mmap_min_addr")
	assert.Equal(t, neg(unix.EINVAL), set(1, start), "PR_SET_MM_START_CODE")
	assert.Equal(t, start, p.strs.argStart, "a refused change changes nothing")
	assert.Equal(t, int64(0), set(abi.PR_SET_MM_ARG_START, start+1))
	assert.Equal(t, before[1:], string(p.cmdlineNow()), "cmdline starts one byte later")
}
