//go:build ignore

// Procs is a guest of the Go runtime's threads and child processes: a garbage-collected
// allocation loop with the default GOMAXPROCS (the collector's workers hand work to each
// other by yielding), and os/exec from two goroutines at once (two threads waiting for
// children together).
//
// Usage: procs.go.bin [child CODE]
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
)

var sink [][]byte

func allocate() int {
	total := 0
	for i := 0; i < 200000; i++ {
		b := make([]byte, 1024+i%4096)
		b[0] = byte(i)
		total += int(b[0])
		sink = append(sink, b)
		if len(sink) > 2000 {
			sink = sink[:0]
		}
	}
	return total
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "child" {
		code, _ := strconv.Atoi(os.Args[2])
		os.Exit(code)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	sum := allocate()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Println("allocation loop:", sum, "collected:", after.NumGC > before.NumGC)

	var wg sync.WaitGroup
	codes := make([][]int, 2)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				err := exec.Command(os.Args[0], "child", strconv.Itoa(g*10+i)).Run()
				var ee *exec.ExitError
				switch {
				case err == nil:
					codes[g] = append(codes[g], 0)
				case errors.As(err, &ee):
					codes[g] = append(codes[g], ee.ExitCode())
				default:
					fmt.Println("exec:", err)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println("exec from two goroutines:", codes)
}
