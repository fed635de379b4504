//go:build ignore

// Hello is a guest program: it prints a line, copies a file in upper case, runs goroutines,
// and waits on timers.
//
// Usage: hello.go.bin IN OUT
package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	fmt.Println("hello from go")
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: hello IN OUT")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("read %d bytes\n", len(in))
	if err := os.WriteFile(os.Args[2], bytes.ToUpper(in), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("wrote", len(in), "bytes")

	ch := make(chan int)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(10 * time.Millisecond)
			ch <- i * i
		}()
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	var got []int
	start := time.Now()
	for v := range ch {
		got = append(got, v)
	}
	sort.Ints(got)
	fmt.Println("squares:", got)
	fmt.Println("slept at least 10ms:", time.Since(start) >= 10*time.Millisecond)

	never := make(chan int)
	select {
	case <-time.After(20 * time.Millisecond):
		fmt.Println("time.After fired")
	case <-never:
	}
	tick := time.NewTicker(5 * time.Millisecond)
	ticks := 0
	for range tick.C {
		if ticks++; ticks == 3 {
			break
		}
	}
	tick.Stop()
	fmt.Println("ticks:", ticks)
}
