package vemutest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vemu/vemutest"
)

// outcome is what a run did, with its trace, for comparing runs.
type outcome struct {
	res   *vemutest.Result
	trace string
}

// TestPreparedRepeats: with a seed and the virtual clock, every run of a prepared program
// (the first on a new CPU, the next ones on CPUs handed back, with their kept code and
// hooks) does exactly what a fresh Run does: status, output, every call and the trace.
func TestPreparedRepeats(t *testing.T) {
	cases := []struct {
		name  string
		guest string
		args  []string
		reset func(dir string) // between runs
	}{
		{name: "hello", guest: "hello.glibc", args: []string{"a", "b"}},
		{name: "copy", guest: "copyfile.glibc", args: []string{"src", "dst"},
			reset: func(dir string) { os.Remove(filepath.Join(dir, "dst")) }},
		// Code patched by the guest: the next run starts from the file's code again.
		{name: "selfmod-glibc", guest: "selfmod.glibc"},
		{name: "selfmod-musl", guest: "selfmod.musl"},
		// Threads, the block hook, sysmon's preemption and virtual timers.
		{name: "go-busy", guest: "busy.go.bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("..", "testdata", "out", c.guest)
			requireGuest(t, path)
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "src"), bytes.Repeat([]byte("data\n"), 1000), 0o644))
			abs, err := filepath.Abs(path)
			require.NoError(t, err)
			opt := vemutest.Options{Args: c.args, Dir: dir, Seeded: true, Seed: 3, VirtualClock: true}
			reset := func() {
				if c.reset != nil {
					c.reset(dir)
				}
			}
			var fresh outcome
			var tr bytes.Buffer
			o := opt
			o.Strace = &tr
			fresh.res, err = vemutest.Run(context.Background(), abs, o)
			require.NoError(t, err)
			fresh.trace = tr.String()
			require.Equal(t, 0, fresh.res.ExitCode, "stderr: %s", fresh.res.Stderr)

			pr, err := vemutest.Prepare(abs, opt)
			require.NoError(t, err)
			defer pr.Close()
			for i := range 4 {
				reset()
				var tr bytes.Buffer
				res, err := pr.Run(context.Background(), vemutest.Input{Strace: &tr})
				require.NoError(t, err)
				assert.Equal(t, fresh.res.ExitCode, res.ExitCode, "run %d", i)
				assert.Equal(t, string(fresh.res.Stdout), string(res.Stdout), "run %d", i)
				assert.Equal(t, string(fresh.res.Stderr), string(res.Stderr), "run %d", i)
				if !assert.Equal(t, len(fresh.res.Calls), len(res.Calls), "run %d: the calls", i) {
					continue
				}
				for j, c := range fresh.res.Calls {
					if c != res.Calls[j] {
						t.Errorf("run %d: call %d: %+v, fresh %+v", i, j, res.Calls[j], c)
						break
					}
				}
				assert.Equal(t, fresh.trace, tr.String(), "run %d: the trace", i)
			}
		})
	}
}

// TestPreparedInput: each run takes its own standard input and tampering.
func TestPreparedInput(t *testing.T) {
	t.Parallel()
	requireGuest(t, "/bin/busybox")
	pr, err := vemutest.Prepare("/bin/busybox", vemutest.Options{Args: []string{"wc", "-c"}})
	require.NoError(t, err)
	defer pr.Close()
	res, err := pr.Run(context.Background(), vemutest.Input{Stdin: []byte("12345")})
	require.NoError(t, err)
	assert.Equal(t, "5\n", string(res.Stdout))
	res, err = pr.Run(context.Background(), vemutest.Input{Stdin: []byte("12"), Inject: []string{"read:error=EIO"}})
	require.NoError(t, err)
	assert.NotEqual(t, 0, res.ExitCode, "a failed read is an error")
	assert.Contains(t, string(res.Stderr), "Input/output error")
	res, err = pr.Run(context.Background(), vemutest.Input{Stdin: []byte("123")})
	require.NoError(t, err)
	assert.Equal(t, "3\n", string(res.Stdout), "the tampering was for one run only")
	_, err = pr.Run(context.Background(), vemutest.Input{Inject: []string{"read:error=EFOO"}})
	assert.Error(t, err, "a bad spec")
}

// TestPreparedParallel: runs of one prepared program from many goroutines at once do not
// disturb each other; after Close, Run fails cleanly.
func TestPreparedParallel(t *testing.T) {
	t.Parallel()
	requireGuest(t, helloGuest)
	pr, err := vemutest.Prepare(helloGuest, vemutest.Options{Args: []string{"x"}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				res, err := pr.Run(context.Background(), vemutest.Input{})
				if err != nil || res.ExitCode != 0 || string(res.Stdout) != "hello, world\nargc=2\nargv[1]=x\n" {
					errs <- "goroutine " + string(rune('0'+g)) + ": unexpected result"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	pr.Close()
	_, err = pr.Run(context.Background(), vemutest.Input{})
	assert.Error(t, err, "a run after Close")
}
