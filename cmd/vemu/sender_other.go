//go:build !(linux && amd64)

package main

import "golang.org/x/sys/unix"

// watchSenders does nothing here: without the handler, every forwarded signal is taken
// as a terminal's (see sender.go).
func watchSenders(sigs []unix.Signal) func() { return func() {} }

func sender(sig int) (code int32, pid int32, uid uint32, value uint64) { return 0, 0, 0, 0 }
