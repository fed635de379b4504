//go:build ignore

// Busy is a guest of CPU-bound goroutines, more of them than the runtime's processors:
// spinners loop without system calls, clock reads or function calls until main tells
// them to stop, so main runs only when the runtime preempts one (sysmon sees it running
// too long and signals its thread), while workers compute and allocate, which needs the
// garbage collector to stop the spinners too.
//
// Usage: busy.go.bin [SPINNERS [WORKERS]]
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var stop atomic.Bool

// spin mixes x until stop is set, and says how it ended.
func spin(x uint64) bool {
	for !stop.Load() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x != 0
}

// work computes and allocates: the collector runs while the spinners spin.
func work(seed int) int {
	var keep [][]byte
	sum := 0
	for i := 0; i < 3000; i++ {
		b := make([]byte, 4096)
		for j := range b {
			b[j] = byte(seed + i + j)
		}
		for _, c := range b {
			sum = sum*31 + int(c)
		}
		keep = append(keep, b)
		if len(keep) > 64 {
			keep = keep[:0]
		}
	}
	return sum
}

func main() {
	spinners, workers := runtime.GOMAXPROCS(0)+1, 3
	if len(os.Args) > 1 {
		spinners, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		workers, _ = strconv.Atoi(os.Args[2])
	}
	var wg sync.WaitGroup
	stopped := make([]bool, spinners)
	for g := range spinners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopped[g] = spin(uint64(g) + 1)
		}()
	}
	sums := make([]int, workers)
	var wwg sync.WaitGroup
	for g := range workers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			sums[g] = work(g)
		}()
	}
	wwg.Wait()
	time.Sleep(5 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	n := 0
	for _, s := range stopped {
		if s {
			n++
		}
	}
	fmt.Println("spinners stopped:", n, "of", spinners, "work:", sums)
}
