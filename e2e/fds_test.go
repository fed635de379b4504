package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInheritedDescriptors: a descriptor the program is started with beyond 0, 1 and 2
// (vemu run prog 3<file) is the guest's under the same number, and the guest's
// /proc/self/fd lists the guest's own descriptors, natively and under vemu alike.
func TestInheritedDescriptors(t *testing.T) {
	if !hasFile(busybox) {
		t.Skip("no static busybox at " + busybox)
	}
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("from fd 3\n"), 0o644))
	script := `cat <&3; ls /proc/self/fd | tr '\n' ' '; echo; ls /dev/fd | wc -l`
	run := func(argv ...string) string {
		f, err := os.Open(in)
		require.NoError(t, err)
		defer f.Close()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = guestEnv
		cmd.ExtraFiles = []*os.File{f}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	native := run(busybox, "sh", "-c", script)
	emu := run(vemuBin, "run", busybox, "sh", "-c", script)
	require.Contains(t, native, "from fd 3\n")
	assert.Equal(t, native, emu)
}
