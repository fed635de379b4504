//go:build ignore

// Nilfault is a guest program that recovers from memory faults: nil-pointer dereferences of
// several kinds in a loop (the runtime turns the fault into a panic at the faulting
// instruction, so its address must be exact), fmt's printing of a nil *url.URL (a method
// that faults, recovered inside fmt), and faults on an inaccessible page with
// debug.SetPanicOnFault, whose error carries the fault address.
package main

import (
	"fmt"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"unsafe"
)

type node struct {
	pad  [3]int
	val  int
	next *node
}

//go:noinline
func load(n *node) int { return n.val }

//go:noinline
func store(n *node, v int) { n.val = v }

//go:noinline
func chase(n *node) int { return n.next.next.val }

//go:noinline
func method(n *node) string { return n.String() }

func (n *node) String() string { return fmt.Sprint(n.pad[1]) }

// try runs f and says what it panicked with, in a line that names no address.
func try(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
			if i := strings.Index(msg, " addr="); i >= 0 {
				msg = msg[:i]
			}
		}
	}()
	f()
	return "no panic"
}

func main() {
	var u *url.URL
	fmt.Println(u)
	fmt.Println(u)
	fmt.Printf("%v %s\n", u, u)

	counts := map[string]int{}
	list := &node{val: 1, next: &node{val: 2}}
	sum := 0
	for i := 0; i < 3000; i++ {
		var msg string
		switch i % 4 {
		case 0:
			msg = try(func() { sum += load(nil) })
		case 1:
			msg = try(func() { store(nil, i) })
		case 2:
			msg = try(func() { sum += chase(list) })
		case 3:
			msg = try(func() { _ = method(nil) })
		}
		sum += load(list)
		counts[msg]++
	}
	fmt.Println("sum", sum)
	for _, k := range []string{"no panic", "runtime error: invalid memory address or nil pointer dereference"} {
		fmt.Printf("%d x %s\n", counts[k], k)
		delete(counts, k)
	}
	for k, n := range counts {
		fmt.Printf("%d x unexpected %q\n", n, k)
	}

	page, err := syscall.Mmap(-1, 0, 2*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	if err := syscall.Mprotect(page[4096:], syscall.PROT_READ); err != nil {
		fmt.Println("mprotect:", err)
		os.Exit(1)
	}
	debug.SetPanicOnFault(true)
	for _, off := range []int{4096, 4096 + 8, 8000} {
		func() {
			defer func() {
				r := recover()
				e, ok := r.(interface{ Addr() uintptr })
				if !ok {
					fmt.Printf("store at +%d: %v\n", off, r)
					return
				}
				fmt.Printf("store at +%d: fault at +%d\n", off, e.Addr()-uintptr(unsafe.Pointer(&page[0])))
			}()
			page[off] = 1
		}()
	}
}
