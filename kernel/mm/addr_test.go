package mm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAddrArithmetic(t *testing.T) {
	for _, c := range []struct {
		name    string
		a       Addr
		n       uint64
		end     Addr
		ok, inU bool
	}{
		{"zero-length", 0x1000, 0, 0x1000, true, true},
		{"inside-user-space", 0x400000, 0x2000, 0x402000, true, true},
		{"ends-at-task-size", TaskSize - 0x1000, 0x1000, TaskSize, true, true},
		{"past-task-size", TaskSize, 1, TaskSize + 1, true, false},
		{"wraps", math.MaxUint64 - 0xfff, 0x1000, 0, false, false},
		{"huge-length", 0x1000, math.MaxUint64, 0xfff, false, false},
	} {
		end, ok := c.a.AddLength(c.n)
		assert.Equal(t, c.end, end, c.name)
		assert.Equal(t, c.ok, ok, c.name)
		_, inU := c.a.RangeEnd(c.n)
		assert.Equal(t, c.inU, inU, c.name+" in user space")
	}
	up, ok := Addr(0x1001).PageUp()
	assert.True(t, ok)
	assert.Equal(t, Addr(0x2000), up)
	_, ok = Addr(math.MaxUint64 - 10).PageUp()
	assert.False(t, ok, "rounding up the last page wraps")
	assert.Equal(t, Addr(0x1000), Addr(0x1fff).PageDown())
	assert.True(t, Addr(0x3000).PageAligned())
	assert.False(t, Addr(0x3001).PageAligned())
}
