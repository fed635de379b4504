package vemutest_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"vemu/vemutest"
)

// helloGuest is the static hello world the repeated-run benchmark runs.
var helloGuest = filepath.Join("..", "testdata", "out", "hello.glibc")

// nativeRun starts path natively with fork and exec, its output to devnull, and waits.
func nativeRun(b *testing.B, path string, devnull *os.File) {
	pid, err := syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{
		Files: []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()},
	})
	if err != nil {
		b.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		b.Fatal(err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		b.Fatalf("native run: status %v", ws)
	}
}

// BenchmarkRepeatedRun runs the static hello world in-process, b.N times, and natively
// with fork, exec and wait as many times, and reports both rates; then in-process with
// coverage on (covered-runs/s).
func BenchmarkRepeatedRun(b *testing.B) {
	requireGuest(b, helloGuest)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	ctx := context.Background()
	pr, err := vemutest.Prepare(helloGuest, vemutest.Options{Seeded: true, VirtualClock: true})
	if err != nil {
		b.Fatal(err)
	}
	defer pr.Close()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		res, err := pr.Run(ctx, vemutest.Input{})
		if err != nil || res.ExitCode != 0 || len(res.Stdout) == 0 {
			b.Fatalf("run: %v %+v", err, res)
		}
	}
	vemu := time.Since(start)
	start = time.Now()
	for range b.N {
		nativeRun(b, helloGuest, devnull)
	}
	native := time.Since(start)
	// Coverage on, as while fuzzing: the cost of the block hook and the edge map.
	cpr, err := vemutest.Prepare(helloGuest, vemutest.Options{Seeded: true, VirtualClock: true, Coverage: true})
	if err != nil {
		b.Fatal(err)
	}
	defer cpr.Close()
	start = time.Now()
	for range b.N {
		res, err := cpr.Run(ctx, vemutest.Input{})
		if err != nil || res.ExitCode != 0 || res.Coverage == nil {
			b.Fatalf("covered run: %v %+v", err, res)
		}
	}
	covered := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/vemu.Seconds(), "runs/s")
	b.ReportMetric(float64(b.N)/native.Seconds(), "native-runs/s")
	b.ReportMetric(float64(b.N)/covered.Seconds(), "covered-runs/s")
}

// requireGuest skips when a test guest is not built.
func requireGuest(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s is not built (make guests)", path)
	}
}
