package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVDSOAnswersWithoutSyscalls: 100,000 calls each of clock_gettime, gettimeofday and
// time make none of those system calls, and 200,000 MONOTONIC reads never go back.
func TestVDSOAnswersWithoutSyscalls(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			trace := filepath.Join(t.TempDir(), "trace")
			got := runVemu(t, invocation{prog: guest("clockloop." + libc), args: []string{"100000"},
				flags: []string{"--strace-file=" + trace}})
			require.Equal(t, 0, got.status, "stderr: %s", got.stderr)
			assert.Equal(t, "monotonic went back 0 times in 200000 reads\n", string(got.stdout))
			b, err := os.ReadFile(trace)
			require.NoError(t, err)
			assert.NotRegexp(t, `(?m)^(clock_gettime|gettimeofday|time)\(`, string(b))
			assert.Regexp(t, `(?m)^exit_group\(0\) = \?$`, string(b), "the trace is complete")
		})
	}
}

// TestVDSOMonotonicUnderUpdates reads MONOTONIC 2,000,000 times while the timekeeper
// rewrites the vvar page at 1000 Hz.
func TestVDSOMonotonicUnderUpdates(t *testing.T) {
	t.Parallel()
	got := runVemu(t, invocation{prog: guest("clockloop.musl"), args: []string{"1000000"},
		flags: []string{"--hz=1000", "--stats"}})
	require.Equal(t, 0, got.status, "stderr: %s", got.stderr)
	assert.Equal(t, "monotonic went back 0 times in 2000000 reads\n", string(got.stdout))
	m := regexp.MustCompile(`timekeeper updates: (\d+)`).FindSubmatch(got.stderr)
	require.NotNil(t, m, "stats: %s", got.stderr)
	assert.Greater(t, len(m[1]), 1, "at least 10 updates happened during the run")
}

// TestVDSOHandResolved: a program that finds the vDSO through AT_SYSINFO_EHDR and
// resolves the versioned symbols by hand gets working functions that agree with the
// system calls for every clock id, and unsupported ids fail as on Linux.
func TestVDSOHandResolved(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			got := runVemu(t, invocation{prog: guest("vdso." + libc)})
			assert.Equal(t, 0, got.status, "stdout: %s\nstderr: %s", got.stdout, got.stderr)
			assert.Contains(t, string(got.stdout), "failures: 0")
			assert.NotRegexp(t, `(?m): NO$`, string(got.stdout))
		})
	}
}

// TestVDSOPlacement: the base is random per process, fixed by --seed and by --no-aslr,
// and the maps show [vvar] right below [vdso].
func TestVDSOPlacement(t *testing.T) {
	t.Parallel()
	base := func(flags ...string) string {
		got := runVemu(t, invocation{prog: guest("clockloop.glibc"), args: []string{"base"}, flags: flags})
		require.Equal(t, 0, got.status, "stderr: %s", got.stderr)
		s := strings.TrimSpace(string(got.stdout))
		// The mmap area starts up to 2^28 pages (1 TiB) below the stack, as on Linux.
		require.Regexp(t, `^0x7[ef][0-9a-f]{7}000$`, s)
		return s
	}
	seen := map[string]bool{}
	for range 4 {
		seen[base()] = true
	}
	assert.Greater(t, len(seen), 1, "the base differs between runs")
	assert.Equal(t, base("--seed=42"), base("--seed=42"), "the same seed, the same base")
	assert.NotEqual(t, base("--seed=42"), base("--seed=43"))
	assert.Equal(t, base("--no-aslr"), base("--no-aslr"))

	got := runVemu(t, invocation{prog: busybox, args: []string{"cat", "/proc/self/maps"}})
	require.Equal(t, 0, got.status)
	re := regexp.MustCompile(`(?m)^([0-9a-f]+)-([0-9a-f]+) r--p 00000000 00:00 0 +\[vvar\]\n([0-9a-f]+)-([0-9a-f]+) r-xp 00000000 00:00 0 +\[vdso\]$`)
	m := re.FindStringSubmatch(string(got.stdout))
	require.NotNil(t, m, "maps:\n%s", got.stdout)
	assert.Equal(t, m[2], m[3], "[vdso] starts where [vvar] ends")
}

// TestVDSODump: the dumped image reads cleanly with readelf and objdump.
func TestVDSODump(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"readelf", "objdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	file := filepath.Join(t.TempDir(), "vdso.so")
	out, err := exec.Command(vemuBin, "vdso", "dump", file).CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command("readelf", "-a", "-W", file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err)
	assert.Empty(t, stderr.String(), "readelf complains")
	assert.Contains(t, string(stdout), "linux-vdso.so.1")
	assert.Regexp(t, `__vdso_clock_gettime@@LINUX_2.6`, string(stdout))
	dis, err := exec.Command("objdump", "-d", file).CombinedOutput()
	require.NoError(t, err, "%s", dis)
	assert.Regexp(t, `<__vdso_clock_gettime(@@LINUX_2.6)?>:`, string(dis))
	assert.NotContains(t, string(dis), "(bad)")
}

// TestVirtualClockDeterministic: with --seed and --clock=virtual two runs give the same
// output and the same trace, time values and addresses included.
func TestVirtualClockDeterministic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var outs, traces [2]string
	for i := range 2 {
		trace := filepath.Join(dir, "trace"+string(rune('0'+i)))
		got := runVemu(t, invocation{prog: guest("time.musl"),
			flags: []string{"--seed=7", "--clock=virtual", "--start-time=2024-02-29T12:00:00Z", "--strace-file=" + trace}})
		outs[i] = string(got.stdout)
		b, err := os.ReadFile(trace)
		require.NoError(t, err)
		traces[i] = string(b)
	}
	assert.Equal(t, outs[0], outs[1])
	assert.Equal(t, traces[0], traces[1])
	assert.Contains(t, traces[0], "tv_sec=1709208", "the virtual wall clock starts at --start-time")
}

// TestThreadsDeterministic: with --seed and --clock=virtual, a program whose threads
// contend for a mutex gives the same output and the same trace on every run.
func TestThreadsDeterministic(t *testing.T) {
	cases := map[string]invocation{
		"glibc": {prog: guest("threads.glibc")},
		"musl":  {prog: guest("threads.musl")},
		// The Go runtime: threads parked on futexes, sysmon's sleeps, the netpoller's
		// epoll waits on an eventfd another thread writes.
		"go": {prog: guest("hello.go.bin"), args: []string{"in.txt", "out.txt"}},
	}
	for name, inv := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var outs, traces [2]string
			for i := range 2 {
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, "in.txt"), []byte("some input\n"), 0o644))
				trace := filepath.Join(dir, "trace")
				inv := inv
				inv.dir = dir
				inv.flags = []string{"--seed=11", "--clock=virtual", "--strace-file=" + trace}
				got := runVemu(t, inv)
				require.Equal(t, 0, got.status, "stderr: %s", got.stderr)
				outs[i] = string(got.stdout)
				b, err := os.ReadFile(trace)
				require.NoError(t, err)
				traces[i] = string(b)
			}
			assert.Equal(t, outs[0], outs[1])
			assert.Equal(t, traces[0], traces[1])
			// Lines carry their thread's id once the program has two.
			assert.Regexp(t, `(?m)^(\d+ +)?clone3?\(`, traces[0], "the program starts threads")
			assert.Regexp(t, `(?m)^\d+ +futex\(`, traces[0], "lines of a threaded run carry thread ids")
			assert.NotRegexp(t, `(?m)^(\d+ +)?(clock_gettime|gettimeofday)\(`, traces[0], "clocks are read through the vDSO")
		})
	}
}
