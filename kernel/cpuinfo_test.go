package kernel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/abi"
)

func TestCPUList(t *testing.T) {
	for _, c := range []struct {
		name string
		cpus []int
		want string
	}{
		{"one", []int{0}, "0"},
		{"range", []int{0, 1, 2, 3}, "0-3"},
		{"gaps", []int{0, 2, 3, 4, 7}, "0,2-4,7"},
		{"pairs", []int{1, 2, 5, 6}, "1-2,5-6"},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, cpuList(c.cpus)) })
	}
}

// TestSystemFiles reads /proc/cpuinfo and the sysfs CPU lists through openat and read, as a
// guest would, and checks that they describe the same CPUs as sched_getaffinity and the
// emulated CPU's features; and that they cannot be opened for writing.
func TestSystemFiles(t *testing.T) {
	task := loadTestTask(t)
	read := func(p string) string {
		fd := call(task, abi.SYS_OPENAT, fdcwd, putString(t, task, 0x3000, p), abi.O_RDONLY, 0)
		require.GreaterOrEqual(t, fd, int64(0), "openat %s", p)
		defer call(task, abi.SYS_CLOSE, uint64(fd))
		var out []byte
		for {
			n := call(task, abi.SYS_READ, uint64(fd), uint64(scratchRW+0x4000), 1000)
			require.GreaterOrEqual(t, n, int64(0))
			if n == 0 {
				return string(out)
			}
			b := make([]byte, n)
			require.NoError(t, task.p.mm.CopyIn(scratchRW+0x4000, b))
			out = append(out, b...)
		}
	}
	cpus := guestCPUs()
	info := read("/proc/cpuinfo")
	assert.Equal(t, len(cpus), strings.Count(info, "processor\t: "))
	flags := strings.Join(task.p.cpu.Info().Flags, " ")
	assert.Equal(t, len(cpus), strings.Count(info, "\nflags\t\t: "+flags+"\n"), "every entry lists the flags")
	assert.Contains(t, info, "\nvendor_id\t: GenuineIntel\n")
	assert.Contains(t, flags, " popcnt ")
	assert.True(t, strings.HasSuffix(info, "power management:\n\n"))
	for _, f := range []string{"online", "possible", "present"} {
		assert.Equal(t, cpuList(cpus)+"\n", read("/sys/devices/system/cpu/"+f), f)
		assert.Equal(t, cpuList(cpus)+"\n", read("/sys/devices/system/cpu/../cpu/"+f), f)
	}
	n := call(task, abi.SYS_SCHED_GETAFFINITY, 0, 128, uint64(scratchRW+0x5000))
	require.Greater(t, n, int64(0))
	set := make([]byte, n)
	require.NoError(t, task.p.mm.CopyIn(scratchRW+0x5000, set))
	var count int
	for _, b := range set {
		for ; b != 0; b &= b - 1 {
			count++
		}
	}
	assert.Equal(t, len(cpus), count, "sched_getaffinity")
	for _, fl := range []uint64{abi.O_WRONLY, abi.O_RDWR, abi.O_WRONLY | abi.O_TRUNC} {
		p := putString(t, task, 0x3000, "/proc/cpuinfo")
		assert.Equal(t, neg(unix.EACCES), call(task, abi.SYS_OPENAT, fdcwd, p, fl, 0), "EACCES for flags %#x", fl)
	}
}
