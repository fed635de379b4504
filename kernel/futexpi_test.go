package kernel

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFutexPILeavesNothing runs testdata/c/futexpi.c, whose waiters time out, are
// interrupted, killed, requeued and handed locks by owners that end, and checks that the
// kernel's PI table is empty afterwards: no waiter, lock state, owner entry or ended
// thread is kept for a program that has gone.
func TestFutexPILeavesNothing(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			path, _ := filepath.Abs(filepath.Join("..", "testdata", "out", "futexpi."+libc))
			if _, err := os.Stat(path); err != nil {
				t.Skipf("no guest program (run make -C testdata): %v", err)
			}
			null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			require.NoError(t, err)
			defer null.Close()
			k := New(Config{Stdin: null, Stdout: null, Stderr: null})
			task, err := k.Exec(path, []string{path}, nil)
			require.NoError(t, err)
			st := task.Run()
			require.Equal(t, ExitStatus{}, st, "the guest's own checks")
			pt := k.piFutexes()
			pt.mu.Lock()
			defer pt.mu.Unlock()
			require.Zero(t, pt.waiting.Load(), "waiters")
			require.Empty(t, pt.locks, "lock states")
			require.Empty(t, pt.rq, "requeue waiters")
			require.Empty(t, pt.owned, "owners")
			require.Empty(t, pt.gone, "ended threads")
		})
	}
}
