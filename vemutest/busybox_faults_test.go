package vemutest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"vemu/vemutest"
)

// faultApplet is a busybox command and the file it makes from src.
type faultApplet struct {
	name string
	args []string
	out  string
}

var faultApplets = []faultApplet{
	{"cp", []string{"cp", "src", "dst"}, "dst"},
	{"tar", []string{"tar", "cf", "a.tar", "src"}, "a.tar"},
	{"gzip", []string{"gzip", "-k", "-f", "src"}, "src.gz"},
	{"sort", []string{"sort", "-o", "out", "src"}, "out"},
}

// faultCalls are the calls failed one at a time, each with the errno it gets.
var faultCalls = []struct{ call, errno string }{
	{"read", "EIO"}, {"write", "ENOSPC"}, {"openat", "EACCES"}, {"close", "EIO"},
}

// TestBusyboxFaults runs busybox applets under every single injected failure of read,
// write, openat and close (the first three occurrences of each in the normal run, all of
// them with VEMU_FAULTS_FULL=1, as bench/busybox_faults.sh does) and sorts what the
// applets did: a clean failure (a message, a status, no output file or a complete one),
// a crash, a silent success (status 0 with a wrong or missing output), a failure without
// a message, or a failure that leaves a partial output. What busybox does is reported,
// not judged; the test fails when vemu itself does (an error, a run that does not end).
func TestBusyboxFaults(t *testing.T) {
	requireGuest(t, "/bin/busybox")
	full := os.Getenv("VEMU_FAULTS_FULL") == "1"
	src := bytes.Repeat([]byte("the quick brown fox\njumps over\nthe lazy dog\n"), 2000)
	var findings []string
	for _, a := range faultApplets {
		t.Run(a.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "src"), src, 0o644))
			pr, err := vemutest.Prepare("/bin/busybox", vemutest.Options{Args: a.args, Dir: dir, Seeded: true, VirtualClock: true})
			require.NoError(t, err)
			defer pr.Close()
			out := filepath.Join(dir, a.out)
			run := func(spec string) (*vemutest.Result, []byte, bool) {
				os.Remove(out)
				in := vemutest.Input{}
				if spec != "" {
					in.Inject = []string{spec}
				}
				res, err := pr.Run(context.Background(), in)
				require.NoError(t, err, spec)
				b, err := os.ReadFile(out)
				return res, b, err == nil
			}
			clean, want, ok := run("")
			require.Equal(t, 0, clean.ExitCode, "stderr: %s", clean.Stderr)
			require.True(t, ok, "the clean run made %s", a.out)
			kinds := map[string][]string{}
			for _, fc := range faultCalls {
				n := clean.Counts[fc.call]
				if !full {
					n = min(n, 3)
				}
				for i := 1; i <= n; i++ {
					spec := fmt.Sprintf("%s:error=%s:when=%d", fc.call, fc.errno, i)
					res, got, made := run(spec)
					kind := ""
					switch {
					case res.Signal != 0:
						kind = "crash"
					case res.ExitCode == 0 && (!made || !bytes.Equal(got, want)):
						kind = "silent success, wrong or missing output"
					case res.ExitCode == 0:
						kind = "success (the failure was handled or did not matter)"
					case len(res.Stderr) == 0:
						kind = "failure without a message"
					case made && !bytes.Equal(got, want):
						kind = "failure leaving a partial output"
					default:
						kind = "clean failure"
					}
					kinds[kind] = append(kinds[kind], fmt.Sprintf("%s#%d", fc.call, i))
				}
			}
			var lines []string
			for k, specs := range kinds {
				lines = append(lines, fmt.Sprintf("%s: %s: %d (%s)", a.name, k, len(specs), strings.Join(specs, " ")))
			}
			sort.Strings(lines)
			for _, l := range lines {
				t.Log(l)
			}
			findings = append(findings, lines...)
		})
	}
	if len(findings) == 0 {
		t.Fatal("nothing was run")
	}
}
