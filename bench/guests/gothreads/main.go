// gothreads N [PROCS]: goroutines on GOMAXPROCS threads (4 unless set) hash in parallel,
// trade work through a channel and read the clock; prints elapsed milliseconds and a
// checksum. With PROCS, GOMAXPROCS is PROCS and only the checksum is printed, for timing
// from outside.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 200
	if len(os.Args) > 1 {
		if v, err := strconv.Atoi(os.Args[1]); err == nil && v > 0 {
			n = v
		}
	}
	procs := 0
	if len(os.Args) > 2 {
		if v, err := strconv.Atoi(os.Args[2]); err == nil && v > 0 {
			procs = v
		}
	}
	switch {
	case procs > 0:
		runtime.GOMAXPROCS(procs)
	case os.Getenv("GOMAXPROCS") == "":
		runtime.GOMAXPROCS(4)
	}
	start := time.Now()
	jobs := make(chan uint64)
	results := make(chan uint64)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				h := j
				for i := 0; i < 20000; i++ {
					h ^= h << 13
					h ^= h >> 7
					h ^= h << 17
					if i%1000 == 0 {
						_ = time.Now()
					}
				}
				results <- h
			}
		}()
	}
	go func() {
		for i := 0; i < n; i++ {
			jobs <- uint64(i + 1)
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	var sum uint64
	for r := range results {
		sum += r
	}
	if procs > 0 {
		fmt.Println(sum)
		return
	}
	fmt.Printf("%.1f %d\n", float64(time.Since(start).Microseconds())/1000, sum)
}
