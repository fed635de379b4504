package vemutest_test

import (
	"context"
	"fmt"
	"path/filepath"

	"vemu/abi"
	"vemu/vemutest"
)

// Fail the second write of a copy with ENOSPC, as strace -e inject=write:error=ENOSPC:when=2.
func ExampleRun() {
	dir := exampleDir()
	res, err := vemutest.Run(context.Background(), filepath.Join("..", "testdata", "out", "copyfile.glibc"), vemutest.Options{
		Args:   []string{filepath.Join(dir, "src"), filepath.Join(dir, "dst")},
		Inject: []string{"write:error=ENOSPC:when=2"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("exit %d\n", res.ExitCode)
	for _, c := range res.Calls {
		if c.Injected {
			fmt.Printf("%s failed with errno %d (injected)\n", abi.SyscallName(c.Nr), c.Errno())
		}
	}
	// Output:
	// exit 1
	// write failed with errno 28 (injected)
}

// A Go function decides at each call's entry: here every write is cut to 100 bytes, so each 1024-byte block takes 11.
func ExampleOptions_onCall() {
	dir := exampleDir()
	res, err := vemutest.Run(context.Background(), filepath.Join("..", "testdata", "out", "copyfile.glibc"), vemutest.Options{
		Args: []string{filepath.Join(dir, "src"), filepath.Join(dir, "dst")},
		OnCall: func(c vemutest.Call) vemutest.Action {
			if c.Name() == "write" {
				return vemutest.Action{Shorten: 100}
			}
			return vemutest.Action{}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("exit %d, %d writes\n", res.ExitCode, res.Counts["write"])
	// Output:
	// exit 0, 54 writes
}

// Prepare a program once and run it many times, each run with its own input and tampering.
func ExamplePrepare() {
	pr, err := vemutest.Prepare("/bin/busybox", vemutest.Options{Args: []string{"wc", "-l"}, Seeded: true, VirtualClock: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pr.Close()
	for _, in := range []vemutest.Input{
		{Stdin: []byte("one\ntwo\n")},
		{Stdin: []byte("one\n"), Inject: []string{"read:error=EIO"}},
	} {
		res, err := pr.Run(context.Background(), in)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("exit %d: %s", res.ExitCode, res.Stdout)
	}
	// Output:
	// exit 0: 2
	// exit 1: 0
}
