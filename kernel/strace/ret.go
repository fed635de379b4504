package strace

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

const eintr = 4

// kernelErrnos are the errors the kernel uses internally for restarting
// calls; a tracer sees them when a signal interrupts a call.
var kernelErrnos = map[int64][2]string{
	512: {"ERESTARTSYS", "To be restarted if SA_RESTART is set"},
	513: {"ERESTARTNOINTR", "To be restarted"},
	514: {"ERESTARTNOHAND", "To be restarted if no handler"},
	515: {"ENOIOCTLCMD", "Unknown ioctl"},
	516: {"ERESTART_RESTARTBLOCK", "Interrupted by signal"},
}

// internalErrnos are the kernel's other internal errors, which a program sees only when
// they are injected; strerror knows no text for them.
var internalErrnos = map[int64]string{
	517: "EPROBE_DEFER", 518: "EOPENSTALE", 519: "ENOPARAM", 521: "EBADHANDLE", 522: "ENOTSYNC",
	523: "EBADCOOKIE", 524: "ENOTSUPP", 525: "ETOOSMALL", 526: "ESERVERFAULT", 527: "EBADTYPE",
	528: "EJUKEBOX", 529: "EIOCBQUEUED", 530: "ERECALLCONFLICT", 531: "ENOGRACE",
}

// errnoString formats error e as strace does: "-1 ENOENT (No such file or directory)".
func errnoString(e int64) string {
	if k, ok := kernelErrnos[e]; ok {
		return "? " + k[0] + " (" + k[1] + ")"
	}
	if name, ok := internalErrnos[e]; ok {
		return "-1 " + name + " (Unknown error " + strconv.FormatInt(e, 10) + ")"
	}
	errno := unix.Errno(e)
	name := unix.ErrnoName(errno)
	if errno == unix.EOPNOTSUPP {
		name = "EOPNOTSUPP" // strace's name; ENOTSUP is its alias
	}
	if name == "" {
		return "-1 (errno " + strconv.FormatInt(e, 10) + ")"
	}
	return "-1 " + name + " (" + capitalize(errno.Error()) + ")"
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func writeRet(sb *strings.Builder, c Call) {
	s := sig(c)
	if c.NoReturn || (s.Ret == abi.RetNone && s.Name != "") {
		sb.WriteString("?")
		return
	}
	if c.failed() {
		sb.WriteString(errnoString(-c.Ret))
		return
	}
	switch s.Ret {
	case abi.RetHex:
		sb.WriteString("0x" + strconv.FormatUint(uint64(c.Ret), 16))
		return
	case abi.RetOctal:
		sb.WriteString(octal(uint64(c.Ret)))
		return
	}
	if c.Nr == abi.SYS_FCNTL {
		switch uint32(c.Args[1]) {
		case abi.F_GETFD:
			sb.WriteString(hex(uint64(c.Ret)))
			if c.Ret != 0 {
				sb.WriteString(" (flags " + flags(uint64(c.Ret), fdFlagNames, "0") + ")")
			}
			return
		case abi.F_GETFL:
			sb.WriteString(hex(uint64(c.Ret)) + " (flags " + openFlags(uint32(c.Ret)) + ")")
			return
		}
	}
	sb.WriteString(strconv.FormatInt(c.Ret, 10))
}
