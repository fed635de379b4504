package strace

import (
	"encoding/binary"
	"strconv"

	"vemu/abi"
)

// special holds the calls whose printed arguments depend on other arguments.
var special = map[string]func(p *printer, s abi.Sig){
	"open":            openMode(1),
	"openat":          openMode(2),
	"mq_open":         openMode(1),
	"fcntl":           fcntl,
	"ioctl":           ioctl,
	"futex":           futex,
	"clone":           clone,
	"mremap":          mremap,
	"arch_prctl":      archPrctl,
	"prctl":           prctl,
	"nanosleep":       sleepRemain(1),
	"clock_nanosleep": sleepRemain(3),
	"faccessat2":      accessAt,
}

// openMode prints the mode argument only when the flags (argument
// flagsIdx) create a file, as strace does.
func openMode(flagsIdx int) func(p *printer, s abi.Sig) {
	return func(p *printer, s abi.Sig) {
		fl := uint32(p.c.Args[flagsIdx])
		n := flagsIdx + 1
		if fl&abi.O_CREAT != 0 || fl&abi.O_TMPFILE == abi.O_TMPFILE {
			n++
		}
		if s.Name == "mq_open" {
			n = len(s.Args)
		}
		p.args(s.Args, 0, n)
	}
}

func fcntl(p *printer, s abi.Sig) {
	p.args(s.Args, 0, 2)
	arg := p.c.Args[2]
	switch uint32(p.c.Args[1]) {
	case abi.F_GETFD, abi.F_GETFL, abi.F_GETOWN, abi.F_GETSIG, abi.F_GETLEASE,
		abi.F_GETPIPE_SZ, abi.F_GET_SEALS:
	case abi.F_SETFD:
		p.w(", " + flags(uint64(uint32(arg)), fdFlagNames, "0"))
	case abi.F_SETFL:
		p.w(", " + openFlags(uint32(arg)))
	case abi.F_DUPFD, abi.F_DUPFD_CLOEXEC, abi.F_SETOWN, abi.F_SETPIPE_SZ:
		p.w(", " + strconv.Itoa(int(int32(arg))))
	case abi.F_SETSIG:
		p.w(", " + signal(int(int32(arg))))
	default:
		p.w(", " + hex(arg))
	}
}

func ioctl(p *printer, s abi.Sig) {
	p.args(s.Args, 0, 2)
	p.w(", ")
	arg := p.c.Args[2]
	switch uint32(p.c.Args[1]) {
	case abi.TCGETS:
		p.out(arg, p.termios)
	case abi.TCSETS, abi.TCSETSW, abi.TCSETSF:
		p.termios(arg)
	case abi.TIOCGWINSZ:
		p.out(arg, p.winsize)
	case abi.TIOCSWINSZ:
		p.winsize(arg)
	case abi.FIONREAD, abi.TIOCGPGRP, abi.TIOCGSID, abi.TIOCOUTQ, abi.TIOCGPTN,
		abi.FIOGETOWN, abi.SIOCGPGRP, abi.SIOCATMARK, abi.SIOCOUTQNSD:
		p.out(arg, func(a uint64) { p.intIn(a, func(x int32) string { return strconv.Itoa(int(x)) }) })
	case abi.FIONBIO, abi.TIOCSPGRP, abi.FIOASYNC, abi.TIOCSPTLCK, abi.FIOSETOWN, abi.SIOCSPGRP:
		p.intIn(arg, func(x int32) string { return strconv.Itoa(int(x)) })
	case abi.FIOCLEX, abi.FIONCLEX, abi.TIOCNOTTY, abi.TIOCEXCL, abi.TIOCNXCL:
		// No argument is used; strace still prints the register.
		p.w(hex(arg))
	default:
		p.w(hex(arg))
	}
}

func futex(p *printer, s abi.Sig) {
	p.args(s.Args, 0, 2)
	a := p.c.Args
	val := func(i int) { p.w(", " + strconv.Itoa(int(int32(a[i])))) }
	bitset := func(v uint64) string {
		if uint32(v) == abi.FUTEX_BITSET_MATCH_ANY {
			return "FUTEX_BITSET_MATCH_ANY"
		}
		return hex(uint64(uint32(v)))
	}
	switch uint32(a[1]) &^ (abi.FUTEX_PRIVATE_FLAG | abi.FUTEX_CLOCK_REALTIME) {
	case abi.FUTEX_WAIT:
		val(2)
		p.w(", ")
		p.timespec(a[3])
	case abi.FUTEX_WAIT_BITSET:
		val(2)
		p.w(", ")
		p.timespec(a[3])
		p.w(", " + bitset(a[5]))
	case abi.FUTEX_WAKE:
		val(2)
	case abi.FUTEX_WAKE_BITSET:
		val(2)
		p.w(", " + bitset(a[5]))
	case abi.FUTEX_REQUEUE:
		val(2)
		val(3)
		p.w(", " + ptr(a[4]))
	case abi.FUTEX_CMP_REQUEUE, abi.FUTEX_CMP_REQUEUE_PI:
		val(2)
		val(3)
		p.w(", " + ptr(a[4]))
		val(5)
	case abi.FUTEX_WAKE_OP:
		val(2)
		val(3)
		p.w(", " + ptr(a[4]) + ", " + hex(uint64(uint32(a[5]))))
	case abi.FUTEX_LOCK_PI, abi.FUTEX_LOCK_PI2:
		p.w(", ")
		p.timespec(a[3])
	case abi.FUTEX_UNLOCK_PI, abi.FUTEX_TRYLOCK_PI:
	case abi.FUTEX_WAIT_REQUEUE_PI:
		val(2)
		p.w(", ")
		p.timespec(a[3])
		p.w(", " + ptr(a[4]))
	default:
		p.w(", " + hex(a[2]) + ", " + hex(a[3]) + ", " + hex(a[4]) + ", " + hex(a[5]))
	}
}

// clone prints the x86-64 clone(2) arguments with strace's names:
// flags, stack, parent_tid, child_tid, tls in registers.
func clone(p *printer, _ abi.Sig) {
	a := p.c.Args
	fl := a[0]
	p.w("child_stack=" + ptr(a[1]) + ", flags=" + cloneFlags(fl))
	if fl&abi.CLONE_PARENT_SETTID != 0 {
		p.w(", parent_tid=")
		if p.ok() {
			p.intIn(a[2], func(x int32) string { return strconv.Itoa(int(x)) })
		} else {
			p.w(ptr(a[2]))
		}
	}
	if fl&abi.CLONE_SETTLS != 0 {
		p.w(", tls=" + hex(a[4]))
	}
	if fl&(abi.CLONE_CHILD_SETTID|abi.CLONE_CHILD_CLEARTID) != 0 {
		p.w(", child_tidptr=" + ptr(a[3]))
	}
}

func mremap(p *printer, s abi.Sig) {
	n := 4
	if uint32(p.c.Args[3])&abi.MREMAP_FIXED != 0 {
		n = 5
	}
	p.args(s.Args, 0, n)
}

func archPrctl(p *printer, s abi.Sig) {
	p.args(s.Args, 0, 1)
	addr := p.c.Args[1]
	switch uint32(p.c.Args[0]) {
	case abi.ARCH_GET_FS, abi.ARCH_GET_GS:
		p.w(", ")
		p.out(addr, func(a uint64) {
			var b [8]byte
			if !p.read(b[:], a) {
				p.w(hex(a))
				return
			}
			p.w("[" + hex(binary.LittleEndian.Uint64(b[:])) + "]")
		})
	default:
		p.w(", " + hex(addr))
	}
}

func prctl(p *printer, s abi.Sig) {
	p.args(s.Args, 0, 1)
	a := p.c.Args
	switch uint32(a[0]) {
	case abi.PR_SET_NAME:
		p.w(", ")
		p.cstring(a[1], 16)
	case abi.PR_GET_NAME:
		p.w(", ")
		p.out(a[1], func(addr uint64) { p.cstring(addr, 16) })
	case abi.PR_GET_DUMPABLE, abi.PR_GET_KEEPCAPS, abi.PR_GET_SECCOMP, abi.PR_GET_TIMERSLACK,
		abi.PR_GET_NO_NEW_PRIVS, abi.PR_GET_THP_DISABLE, abi.PR_GET_CHILD_SUBREAPER,
		abi.PR_GET_SECUREBITS, abi.PR_GET_TIMING, abi.PR_GET_FP_MODE, abi.PR_GET_IO_FLUSHER:
	case abi.PR_SET_PDEATHSIG:
		p.w(", " + signal(int(int32(a[1]))))
	case abi.PR_SET_DUMPABLE, abi.PR_SET_KEEPCAPS, abi.PR_SET_TIMERSLACK, abi.PR_SET_CHILD_SUBREAPER,
		abi.PR_SET_THP_DISABLE, abi.PR_CAPBSET_READ, abi.PR_CAPBSET_DROP:
		p.w(", " + strconv.FormatUint(a[1], 10))
	case abi.PR_SET_NO_NEW_PRIVS:
		p.w(", " + strconv.FormatUint(a[1], 10) + ", " + hex(a[2]) + ", " + hex(a[3]) + ", " + hex(a[4]))
	default:
		p.w(", " + hex(a[1]) + ", " + hex(a[2]) + ", " + hex(a[3]) + ", " + hex(a[4]))
	}
}

// sleepRemain prints the remaining-time argument (index rem) decoded only
// when the sleep was interrupted, as the kernel writes it only then.
func sleepRemain(rem int) func(p *printer, s abi.Sig) {
	return func(p *printer, s abi.Sig) {
		p.args(s.Args, 0, rem)
		p.w(", ")
		if p.c.Ret == -eintr {
			p.timespec(p.c.Args[rem])
		} else {
			p.w(ptr(p.c.Args[rem]))
		}
	}
}

// accessAt prints faccessat2, whose flag 0x200 means AT_EACCESS.
func accessAt(p *printer, s abi.Sig) {
	p.args(s.Args, 0, 3)
	p.w(", " + flags(uint64(uint32(p.c.Args[3])), accessAtFlagNames, "0"))
}
