package vemutest_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"vemu/vemutest"
)

// TestGuestUmaskStaysInTheGuest runs guests that set umasks of their own, several at once,
// and checks that the test's own process keeps its umask: every thread of it still
// creates files with the umask it had, while each guest got the modes its own umask gave.
func TestGuestUmaskStaysInTheGuest(t *testing.T) {
	guest, err := filepath.Abs("../testdata/out/umask.glibc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(guest); err != nil {
		t.Skip("testdata/out/umask.glibc is not built (make guests)")
	}
	old := unix.Umask(0o022)
	defer unix.Umask(old)

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		dir := filepath.Join(t.TempDir(), "work")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := vemutest.Run(context.Background(), guest, vemutest.Options{Args: []string{dir}})
			if err != nil || res.ExitCode != 0 || !strings.Contains(string(res.Stdout), "regular file 0666: 0640\n") {
				t.Errorf("guest: %v, status %d, output:\n%s", err, res.ExitCode, res.Stdout)
			}
		}()
	}
	wg.Wait()

	// Files made now, from many goroutines (so on many of the runtime's threads), get the
	// test's umask: no thread came back from a guest with the guest's.
	dir := t.TempDir()
	var bad sync.Map
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.Gosched()
			name := filepath.Join(dir, "f"+strings.Repeat("x", i%8)+string(rune('a'+i%26))+string(rune('a'+i/26)))
			if err := os.WriteFile(name, nil, 0o666); err != nil {
				t.Error(err)
				return
			}
			if st, err := os.Stat(name); err == nil && st.Mode().Perm() != 0o644 {
				bad.Store(name, st.Mode().Perm())
			}
		}()
	}
	wg.Wait()
	bad.Range(func(k, v any) bool {
		t.Errorf("%s was made with mode %v after the guests ran: the host's umask changed", k, v)
		return true
	})
}
