package strace

import (
	"strings"

	"vemu/abi"
)

// Mem reads guest memory; it returns an error if any byte is unreadable.
type Mem interface {
	ReadAt(b []byte, addr uint64) error
}

// Call is one system call with its arguments and result.
type Call struct {
	Nr   uint64
	Args [6]uint64
	// Ret is the raw result as in rax: -4095..-1 is -errno.
	Ret int64
	// NoReturn marks a call that did not return (exit, exit_group, a
	// successful execve): the result prints as "= ?".
	NoReturn bool
}

// failed reports whether the call returned an error.
func (c Call) failed() bool { return c.Ret < 0 && c.Ret >= -4095 }

// Format returns the whole line as strace prints it, without a trailing newline:
//
//	openat(AT_FDCWD, "a.txt", O_RDONLY|O_CLOEXEC) = 3
func Format(c Call, m Mem) string {
	return FormatArgs(c, m) + FormatRet(c)
}

// FormatArgs returns "name(args...)".
func FormatArgs(c Call, m Mem) string {
	p := printer{c: c, m: m}
	return p.call()
}

// FormatRet returns the " = ..." part of the line.
func FormatRet(c Call) string {
	var sb strings.Builder
	sb.WriteString(" = ")
	writeRet(&sb, c)
	return sb.String()
}

// sig returns the signature of c's system call, or the zero Sig.
func sig(c Call) abi.Sig {
	if c.Nr < abi.SyscallCount {
		return abi.Syscalls[c.Nr]
	}
	return abi.Sig{}
}
