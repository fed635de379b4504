package vemutest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vemu/abi"
	"vemu/vemutest"
)

var copyfile = filepath.Join("..", "testdata", "out", "copyfile.glibc")

// exampleDir makes a directory holding a 5000-byte file named src.
func exampleDir() string {
	dir, err := os.MkdirTemp("", "vemutest-")
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src"), sourceData(5000), 0o644); err != nil {
		panic(err)
	}
	return dir
}

func sourceData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// tamper is one way to disturb one call of a run.
type tamper struct {
	call  string
	nth   int    // occurrence, from 1
	errno string // "" with short set: shorten instead
	short uint64
}

func (tp tamper) String() string {
	if tp.errno == "" {
		return fmt.Sprintf("%s #%d cut to %d bytes", tp.call, tp.nth, tp.short)
	}
	return fmt.Sprintf("%s #%d fails with %s", tp.call, tp.nth, tp.errno)
}

// runCopy copies a file of size bytes under tampering and returns how the contract was
// broken, or "".
func runCopy(t testing.TB, size int, bug bool, tp tamper) string {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := sourceData(size)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	opt := vemutest.Options{Args: []string{src, dst}, Seeded: true, VirtualClock: true}
	if bug {
		opt.Args = append([]string{"--short-write-bug"}, opt.Args...)
	}
	if tp.errno != "" {
		opt.Inject = []string{fmt.Sprintf("%s:error=%s:when=%d", tp.call, tp.errno, tp.nth)}
	} else if tp.short > 0 {
		n := 0
		opt.OnCall = func(c vemutest.Call) vemutest.Action {
			if c.Name() == tp.call {
				if n++; n == tp.nth {
					return vemutest.Action{Shorten: tp.short}
				}
			}
			return vemutest.Action{}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := vemutest.Run(ctx, copyfile, opt)
	if err != nil {
		t.Fatalf("%v: %v", tp, err)
	}
	got, readErr := os.ReadFile(dst)
	_, tmpErr := os.Stat(dst + ".tmp")
	switch {
	case res.Signal != 0:
		return fmt.Sprintf("crashed: signal %d %s", res.Signal, res.Detail)
	case tmpErr == nil:
		return "left a partial destination (dst.tmp)"
	case res.ExitCode == 0 && (readErr != nil || !bytes.Equal(got, data)):
		return fmt.Sprintf("exit 0 but the copy has %d of %d bytes, or differs", len(got), len(data))
	case res.ExitCode != 0 && readErr == nil:
		return "failed but left a destination"
	case res.ExitCode != 0 && len(res.Stderr) == 0:
		return "failed without a message"
	}
	return ""
}

// tampers enumerates each (call, occurrence, errno) of a plain run, and each write and
// read cut short.
func tampers(t testing.TB, size int) []tamper {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, sourceData(size), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := vemutest.Run(context.Background(), copyfile, vemutest.Options{Args: []string{src, filepath.Join(dir, "dst")}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("plain run: %v %+v", err, res)
	}
	errnos := map[string][]string{
		"openat": {"ENOENT", "EACCES", "EMFILE"}, "read": {"EIO", "EINTR"}, "write": {"ENOSPC", "EIO", "EINTR"},
		"fsync": {"EIO"}, "close": {"EIO"}, "rename": {"EXDEV", "EACCES"},
	}
	seen := map[string]int{}
	var out []tamper
	for _, c := range res.Calls {
		name := abi.SyscallName(c.Nr)
		if errnos[name] == nil {
			continue
		}
		seen[name]++
		for _, e := range errnos[name] {
			out = append(out, tamper{call: name, nth: seen[name], errno: e})
		}
		if name == "write" || name == "read" {
			out = append(out, tamper{call: name, nth: seen[name], short: 7})
		}
	}
	return out
}

// TestCopyContract: under every single tampering, the copy is identical or the program
// fails with a message and no destination; it never crashes.
func TestCopyContract(t *testing.T) {
	if _, err := os.Stat(copyfile); err != nil {
		t.Skip("testdata/out/copyfile.glibc is not built (make guests)")
	}
	all := tampers(t, 3000)
	if len(all) < 20 {
		t.Fatalf("only %d tamperings: %v", len(all), all)
	}
	for _, tp := range all {
		if broken := runCopy(t, 3000, false, tp); broken != "" {
			t.Errorf("%v: %s", tp, broken)
		}
	}
	t.Logf("%d tamperings, contract held", len(all))
}

// TestCopyPlantedMistake: the enumeration catches the variant that takes a short write
// as complete.
func TestCopyPlantedMistake(t *testing.T) {
	if _, err := os.Stat(copyfile); err != nil {
		t.Skip("testdata/out/copyfile.glibc is not built (make guests)")
	}
	caught := 0
	for _, tp := range tampers(t, 3000) {
		if runCopy(t, 3000, true, tp) != "" {
			caught++
		}
	}
	if caught == 0 {
		t.Fatal("no tampering caught the planted mistake")
	}
}

// FuzzCopy explores sizes, the call to disturb, its occurrence and the shortening or
// errno; VEMU_COPY_BUG=1 switches the planted mistake on.
func FuzzCopy(f *testing.F) {
	if _, err := os.Stat(copyfile); err != nil {
		f.Skip("testdata/out/copyfile.glibc is not built (make guests)")
	}
	f.Add(uint16(3000), uint8(1), uint8(2), uint8(0), uint16(7))
	f.Add(uint16(10), uint8(0), uint8(1), uint8(3), uint16(0))
	calls := []string{"read", "write", "openat", "fsync", "close", "rename"}
	errnos := []string{"", "EIO", "ENOSPC", "EINTR", "EACCES", "EXDEV"}
	bug := os.Getenv("VEMU_COPY_BUG") == "1"
	f.Fuzz(func(t *testing.T, size uint16, call, nth, errno uint8, short uint16) {
		tp := tamper{call: calls[int(call)%len(calls)], nth: int(nth)%8 + 1, errno: errnos[int(errno)%len(errnos)], short: uint64(short)}
		if broken := runCopy(t, int(size)%20000, bug, tp); broken != "" {
			t.Errorf("%v: %s", tp, broken)
		}
	})
}

// TestCancel: cancelling the context ends a program that would not end by itself.
func TestCancel(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no /bin/busybox")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := vemutest.Run(ctx, "/bin/busybox", vemutest.Options{Args: []string{"sh", "-c", "while :; do :; done"}})
	if err == nil || res == nil || res.Signal != int(abi.SIGKILL) {
		t.Fatalf("got %+v, %v", res, err)
	}
}

// TestBadSpec: a malformed spec is an error before anything runs.
func TestBadSpec(t *testing.T) {
	t.Parallel()
	_, err := vemutest.Run(context.Background(), copyfile, vemutest.Options{Inject: []string{"write:error=EFOO"}})
	if err == nil {
		t.Fatal("no error")
	}
}
