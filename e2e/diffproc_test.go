package e2e

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// diffprocSeeds are the seeds TestDiffProc runs, diffprocOps calls each.
var diffprocSeeds = []int{1, 2, 3, 4}

const diffprocOps = 3000

// diffprocKnown are the seeds whose runs still differ from Linux, with the call from
// which they do and why: the lines before it must be the same, the rest is skipped
// (reported as an error with VEMU_E2E_STRICT set).
var diffprocKnown = map[int]struct {
	from int
	why  string
}{
	1: {1571, "a page's contents differ after a sequence of mremap and madvise calls (not yet found)"},
	3: {762, "mremap growing a file mapping past the file's end: Linux faults SIGBUS on the new pages, vemu reads zeros"},
	4: {888, "madvise(MADV_WILLNEED) where Linux answers EINVAL (not yet found)"},
}

// TestDiffProc runs testdata/c/diffproc, random memory, signal, process and other system
// calls from a seed, natively and under vemu, and compares what each call answered and
// changed line by line. The program refuses to run as root (a root process is allowed
// what it tries to be refused); as root, both runs are made as nobody.
func TestDiffProc(t *testing.T) {
	as := asNobody(t, "the calls run")
	for _, libc := range []string{"glibc", "musl"} {
		for _, seed := range diffprocSeeds {
			t.Run(fmt.Sprintf("%s/seed-%d", libc, seed), func(t *testing.T) {
				t.Parallel()
				// vemu and the program where nobody may run them.
				dir := programsDir(t, "diffproc", guest("diffproc."+libc), "diffproc")
				prog, args := filepath.Join(dir, "diffproc"), []string{fmt.Sprint(seed), fmt.Sprint(diffprocOps)}
				inv := invocation{prog: prog, dir: dir}
				run := func(cmd ...string) result {
					cmd = append(append(append([]string(nil), as...), cmd...), args...)
					return execute(t, cmd[0], cmd[1:], inv)
				}
				native := run(prog)
				emu := run(filepath.Join(dir, "vemu"), "run", prog)
				if native.status != 0 || !bytes.HasSuffix(native.stdout, []byte("done\n")) {
					t.Fatalf("natively: status %d, stderr %s\nstdout:\n%s", native.status, native.stderr, tail(native.stdout, 2000))
				}
				if emu.timedOut {
					t.Errorf("vemu timed out after %v", runTimeout)
				}
				if !bytes.Equal(native.stdout, emu.stdout) {
					msg := fmt.Sprintf("seed %d, %d calls: %s\nvemu's stderr: %s", seed, diffprocOps,
						firstDiff(native.stdout, emu.stdout), tail(emu.stderr, 2000))
					if k, ok := diffprocKnown[seed]; ok && diffCall(native.stdout, emu.stdout) >= k.from && !strict() {
						t.Skipf("known difference from call %d on: %s\n%s", k.from, k.why, msg)
					}
					t.Error(msg)
				}
				if emu.status != native.status {
					t.Errorf("status: native %d, vemu %d; vemu's stderr: %s", native.status, emu.status, tail(emu.stderr, 2000))
				}
			})
		}
	}
}

// diffCall is the number of the call on the first line where a and b differ (each line
// starts with it), or -1.
func diffCall(a, b []byte) int {
	as, bs := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(as) && i < len(bs); i++ {
		if !bytes.Equal(as[i], bs[i]) {
			var n int
			if _, err := fmt.Sscanf(string(as[i]), "%d ", &n); err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
