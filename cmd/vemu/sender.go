//go:build linux && amd64

package main

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Who sent a signal: os/signal says only which signal came, and the guest's Linux would
// have told it the sender (si_code, si_pid, si_uid), and vemu needs to know whether a
// process sent it with kill(2) (to the process vemu stands for) or a terminal did (to
// its foreground group). A small handler of ours, in assembly, sits before the Go
// runtime's for the forwarded signals: it keeps the siginfo's code, pid and uid per
// signal and jumps to the runtime's handler, which goes on as if called by the kernel.

// senders holds, per signal, the last sender the handler saw: code in the low 32 bits
// of [0], pid and uid in [1], sigqueue's value in [2]. Written by the handler, read by
// sender.
var senders [65][3]uint64

// fwd holds, per signal, the runtime's handler that senderHandler jumps to.
var fwd [65]uintptr

// senderHandler is the signal handler (C ABI: signal, siginfo, ucontext) that records
// the sender in senders and jumps to fwd[signal]. senderHandlerPC is its address.
func senderHandler()
func senderHandlerPC() uintptr

// saSiginfo is SA_SIGINFO: the handler takes a siginfo.
const saSiginfo = 4

// sigactiont is the kernel's struct sigaction on x86-64.
type sigactiont struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// watchSenders puts senderHandler before the handler each of sigs has now (the Go
// runtime's, which signal.Notify installed), and returns a function that puts the
// runtime's back. A signal whose handler is not a function (SIG_DFL, SIG_IGN) is left.
func watchSenders(sigs []unix.Signal) func() {
	var done []int
	for _, s := range sigs {
		sig := int(s)
		var old sigactiont
		if rtSigaction(sig, nil, &old) != nil || old.handler <= 1 || old.flags&saSiginfo == 0 || old.handler == senderHandlerPC() {
			continue // not a function's, or ours already (which must never jump to itself)
		}
		atomic.StoreUintptr(&fwd[sig], old.handler)
		// SAFETY: senderHandler keeps the runtime's flags (SA_ONSTACK: it runs on the
		// thread's signal stack), mask and restorer; it writes only senders and jumps to
		// the runtime's handler with the registers and stack the kernel gave it, so the
		// runtime sees the signal as it would without it. fwd is set before it is used.
		act := old
		act.handler = senderHandlerPC()
		if rtSigaction(sig, &act, nil) != nil {
			continue
		}
		done = append(done, sig)
	}
	return func() {
		for _, sig := range done {
			var cur sigactiont
			if rtSigaction(sig, nil, &cur) == nil && cur.handler == senderHandlerPC() {
				cur.handler = atomic.LoadUintptr(&fwd[sig])
				rtSigaction(sig, &cur, nil)
			}
		}
	}
}

// sender returns what the handler saw of the last sig to come: si_code, si_pid, si_uid
// and si_value.
func sender(sig int) (code int32, pid int32, uid uint32, value uint64) {
	if sig <= 0 || sig >= len(senders) {
		return 0, 0, 0, 0
	}
	c := atomic.LoadUint64(&senders[sig][0])
	p := atomic.LoadUint64(&senders[sig][1])
	return int32(c), int32(p), uint32(p >> 32), atomic.LoadUint64(&senders[sig][2])
}

func rtSigaction(sig int, act, old *sigactiont) error {
	// SAFETY: act and old are nil or live structs laid out as the kernel's struct
	// sigaction, of the size passed (the mask is 8 bytes).
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)),
		uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
