package vemutest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vemu/abi"
	"vemu/vemutest"
)

// stillWriting reports whether file f is still growing, 300 ms apart.
func stillWriting(t *testing.T, f string) bool {
	t.Helper()
	size := func() int64 {
		fi, err := os.Stat(f)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	time.Sleep(100 * time.Millisecond)
	a := size()
	time.Sleep(300 * time.Millisecond)
	return size() != a
}

// TestCancelKillsEveryProcess: cancelling a run ends the program and the background
// processes it started, a child writing in a loop included.
func TestCancelKillsEveryProcess(t *testing.T) {
	t.Parallel()
	requireGuest(t, "/bin/busybox")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := vemutest.Run(ctx, "/bin/busybox", vemutest.Options{Dir: dir,
		Args: []string{"sh", "-c", "(while :; do echo x >> f; done) & (while :; do :; done) & while :; do :; done"}})
	require.Error(t, err)
	require.NotNil(t, res)
	assert.Equal(t, int(abi.SIGKILL), res.Signal)
	_, err = os.Stat(filepath.Join(dir, "f"))
	require.NoError(t, err, "the child wrote before the cancel")
	assert.False(t, stillWriting(t, filepath.Join(dir, "f")), "a child still writes after the cancel")
}

// TestLeftoverProcessesEnd: a run ends with its program; a child it left running in the
// background does not go on writing in the test's process.
func TestLeftoverProcessesEnd(t *testing.T) {
	t.Parallel()
	requireGuest(t, "/bin/busybox")
	dir := t.TempDir()
	res, err := vemutest.Run(context.Background(), "/bin/busybox", vemutest.Options{Dir: dir,
		Args: []string{"sh", "-c", "(while :; do echo x >> f; done) & while [ ! -s f ]; do :; done; exit 3"}})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)
	assert.False(t, stillWriting(t, filepath.Join(dir, "f")), "the background child still writes")
}
