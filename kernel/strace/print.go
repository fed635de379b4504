package strace

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"vemu/abi"
)

const (
	maxStrLen  = 32   // strace's default -s
	maxPathLen = 4096 // PATH_MAX
	maxArray   = 32   // elements of an array shown before "..."
)

// printer builds the argument part of one line.
type printer struct {
	c  Call
	m  Mem
	sb strings.Builder
}

func (p *printer) w(s string)                      { p.sb.WriteString(s) }
func (p *printer) f(format string, a ...any)       { fmt.Fprintf(&p.sb, format, a...) }
func (p *printer) ok() bool                        { return !p.c.failed() }
func (p *printer) read(b []byte, addr uint64) bool { return addr != 0 && p.m.ReadAt(b, addr) == nil }

func (p *printer) call() string {
	s := sig(p.c)
	if s.Name == "" {
		p.f("syscall_%#x(", p.c.Nr)
		for i, a := range p.c.Args {
			if i > 0 {
				p.w(", ")
			}
			p.w(hex(a))
		}
		p.w(")")
		return p.sb.String()
	}
	p.w(s.Name)
	p.w("(")
	if custom, ok := special[s.Name]; ok {
		custom(p, s)
	} else {
		p.args(s.Args, 0, len(s.Args))
	}
	p.w(")")
	return p.sb.String()
}

// args prints arguments [from, to) of args, separated by commas.
func (p *printer) args(args []abi.Arg, from, to int) {
	for i := from; i < to && i < len(args); i++ {
		if i > 0 {
			p.w(", ")
		}
		p.arg(i, args[i])
	}
}

// sep writes the separator before argument i.
func (p *printer) sep(i int) {
	if i > 0 {
		p.w(", ")
	}
}

// length returns the length a buffer argument refers to.
func (p *printer) length(a abi.Arg) uint64 {
	if a.Len < 0 {
		if p.c.Ret < 0 {
			return 0
		}
		return uint64(p.c.Ret)
	}
	return p.c.Args[a.Len]
}

// arg prints argument i of kind a.Kind.
func (p *printer) arg(i int, a abi.Arg) {
	v := p.c.Args[i]
	switch a.Kind {
	case abi.Int, abi.Fd, abi.Pid:
		p.w(strconv.Itoa(int(int32(v))))
	case abi.Uint:
		p.w(strconv.FormatUint(uint64(uint32(v)), 10))
	case abi.Off:
		p.w(strconv.FormatInt(int64(v), 10))
	case abi.Size:
		p.w(strconv.FormatUint(v, 10))
	case abi.Hex:
		p.w(hex(v))
	case abi.Ptr:
		p.w(ptr(v))
	case abi.DirFd:
		if int32(v) == abi.AT_FDCWD {
			p.w("AT_FDCWD")
		} else {
			p.w(strconv.Itoa(int(int32(v))))
		}
	case abi.Path:
		p.cstring(v, maxPathLen)
	case abi.Str:
		p.cstring(v, maxStrLen)
	case abi.PathOut:
		if p.ok() {
			p.cstring(v, maxPathLen)
		} else {
			p.w(ptr(v))
		}
	case abi.BufIn:
		p.buffer(v, p.length(a), false)
	case abi.BufOut, abi.BufOutHex:
		if p.ok() {
			p.buffer(v, p.length(a), a.Kind == abi.BufOutHex)
		} else {
			p.w(ptr(v))
		}
	case abi.Mode:
		p.w(octal(v & 0o7777))
	case abi.Octal:
		p.w(octal(uint64(uint32(v))))
	case abi.OpenFlags:
		p.w(openFlags(uint32(v)))
	case abi.FdFlags, abi.EfdFlags:
		p.w(flags(uint64(uint32(v)), openFlagNames, "0"))
	case abi.AtFlags:
		p.w(flags(uint64(uint32(v)), atFlagNames, "0"))
	case abi.AccessMode:
		p.w(flags(uint64(uint32(v)), accessNames, "F_OK"))
	case abi.Whence:
		p.w(enum(uint64(uint32(v)), whenceNames))
	case abi.MmapProt:
		p.w(flags(uint64(uint32(v)), protNames, "PROT_NONE"))
	case abi.MmapFlags:
		p.w(mmapFlags(uint32(v)))
	case abi.MremapFlags:
		p.w(flags(uint64(uint32(v)), mremapNames, "0"))
	case abi.MadviseAdvice:
		p.w(enum(uint64(uint32(v)), madviseNames))
	case abi.ClockID:
		p.w(enum(uint64(uint32(v)), clockNames))
	case abi.Signal:
		p.w(signal(int(int32(v))))
	case abi.SigSetPtr:
		p.sigset(v)
	case abi.SigSetOut:
		p.out(v, p.sigset)
	case abi.SigHow:
		p.w(enum(uint64(uint32(v)), sigHowNames))
	case abi.SigactionPtr:
		p.sigaction(v)
	case abi.SigactionOut:
		p.out(v, p.sigaction)
	case abi.TimespecPtr:
		p.timespec(v)
	case abi.TimespecOut:
		p.out(v, p.timespec)
	case abi.TimevalPtr:
		p.timeval(v)
	case abi.TimevalOut:
		p.out(v, p.timeval)
	case abi.StatOut:
		p.out(v, p.stat)
	case abi.StatxOut:
		p.out(v, p.statx)
	case abi.StatxMask:
		p.w(flags(uint64(uint32(v)), statxMaskNames, "0"))
	case abi.UtsnameOut:
		p.out(v, p.utsname)
	case abi.IovecIn:
		p.iovec(v, int(int32(p.c.Args[a.Len])), ^uint64(0))
	case abi.IovecOut:
		if p.ok() {
			p.iovec(v, int(int32(p.c.Args[a.Len])), uint64(p.c.Ret))
		} else {
			p.w(ptr(v))
		}
	case abi.FcntlCmd:
		p.w(enum(uint64(uint32(v)), fcntlNames))
	case abi.IoctlReq:
		p.w(enum(uint64(uint32(v)), ioctlNames))
	case abi.ArchPrctlCode:
		p.w(enum(uint64(uint32(v)), archPrctlNames))
	case abi.FutexOp:
		p.w(futexOp(uint32(v)))
	case abi.CloneFlags:
		p.w(cloneFlags(v))
	case abi.RlimitRes:
		p.w(enum(uint64(uint32(v)), rlimitNames))
	case abi.RlimitPtr:
		p.rlimit(v)
	case abi.RlimitOut:
		p.out(v, p.rlimit)
	case abi.PrctlOp:
		p.w(enum(uint64(uint32(v)), prctlNames))
	case abi.Uid:
		if uint32(v) == ^uint32(0) {
			p.w("-1")
		} else {
			p.w(strconv.FormatUint(uint64(uint32(v)), 10))
		}
	case abi.WaitOptions:
		p.w(flags(uint64(uint32(v)), waitNames, "0"))
	case abi.WaitStatusOut:
		if p.ok() && p.c.Ret != 0 {
			p.intIn(v, func(s int32) string { return "{" + waitStatus(s) + "}" })
		} else {
			p.w(ptr(v))
		}
	case abi.IntOut:
		p.out(v, func(addr uint64) { p.intIn(addr, func(x int32) string { return strconv.Itoa(int(x)) }) })
	case abi.UintOut:
		p.out(v, func(addr uint64) {
			p.intIn(addr, func(x int32) string { return strconv.FormatUint(uint64(uint32(x)), 10) })
		})
	case abi.PipeFdsOut:
		p.out(v, p.pipeFds)
	case abi.DirentsOut:
		p.w(ptr(v))
		if p.ok() {
			p.f(" /* %d entries */", p.countDirents(v, p.length(a)))
		}
	case abi.SysinfoOut:
		p.out(v, p.sysinfo)
	case abi.RandomFlags:
		p.w(flags(uint64(uint32(v)), grndNames, "0"))
	case abi.StrArray:
		p.strArray(v)
	case abi.EnvArray:
		p.w(ptr(v))
		if n, ok := p.countArray(v); ok {
			p.f(" /* %d var%s */", n, plural(n))
		}
	case abi.TimeOut:
		p.out(v, func(addr uint64) {
			var b [8]byte
			if !p.read(b[:], addr) {
				p.w(ptr(addr))
				return
			}
			p.f("[%d]", int64(binary.LittleEndian.Uint64(b[:])))
		})
	case abi.CPUSetOut:
		p.out(v, func(addr uint64) { p.cpuSet(addr, p.length(a)) })
	case abi.UtimensPtr:
		p.utimens(v)
	case abi.RusageOut:
		p.out(v, p.rusage)
	case abi.TimerFlags:
		p.w(flags(uint64(uint32(v)), timerFlagNames, "0"))
	case abi.RenameFlags:
		p.w(flags(uint64(uint32(v)), renameNames, "0"))
	case abi.SigeventPtr:
		p.sigevent(v)
	case abi.ItimerspecPtr:
		p.itimerspec(v)
	case abi.ItimerspecOut:
		p.out(v, p.itimerspec)
	case abi.StackTPtr:
		p.stackT(v)
	case abi.StackTOut:
		p.out(v, p.stackT)
	case abi.SocketDomain:
		p.w(enum(uint64(uint32(v)), afNames))
	case abi.SocketType:
		t := uint32(v)
		s := enum(uint64(t&0xf), sockTypeNames)
		if rest := flags(uint64(t&^0xf), sockFlagNames, ""); rest != "" {
			s += "|" + rest
		}
		p.w(s)
	case abi.MsyncFlags:
		p.w(flags(uint64(uint32(v)), msyncNames, "0"))
	case abi.PollFdsPtr:
		p.pollfds(v, int(uint32(p.c.Args[a.Len])))
	case abi.ItimerWhich:
		p.w(enum(uint64(uint32(v)), itimerNames))
	case abi.CloseRangeFlags:
		p.w(flags(uint64(uint32(v)), closeRangeNames, "0"))
	case abi.Personality:
		p.w(hex(uint64(uint32(v))))
	case abi.MlockallFlags:
		p.w(flags(uint64(uint32(v)), mlockallNames, "0"))
	case abi.MembarrierCmd:
		p.w(enum(uint64(uint32(v)), membarrierNames))
	case abi.SeccompOp:
		p.w(enum(uint64(uint32(v)), seccompNames))
	case abi.TimesOut:
		p.out(v, p.tms)
	case abi.TimezonePtr:
		p.w(ptr(v))
	default:
		p.w(hex(v))
	}
}

// out prints an output argument: decoded by show when the call succeeded
// and the pointer is not NULL, else the pointer itself.
func (p *printer) out(addr uint64, show func(uint64)) {
	if addr == 0 || !p.ok() {
		p.w(ptr(addr))
		return
	}
	show(addr)
}

// struct reads n bytes at addr, or prints the address and returns nil.
func (p *printer) struct_(addr uint64, n int) []byte {
	if addr == 0 {
		p.w("NULL")
		return nil
	}
	b := make([]byte, n)
	if p.m.ReadAt(b, addr) != nil {
		p.w(hex(addr))
		return nil
	}
	return b
}

// cstring prints the NUL-terminated string at addr, at most max bytes.
func (p *printer) cstring(addr uint64, max int) {
	if addr == 0 {
		p.w("NULL")
		return
	}
	s, complete, ok := readCString(p.m, addr, max)
	if !ok {
		p.w(hex(addr))
		return
	}
	p.w(quote(s, false))
	if !complete {
		p.w("...")
	}
}

// buffer prints n bytes at addr, at most maxStrLen of them.
func (p *printer) buffer(addr, n uint64, forceHex bool) {
	if addr == 0 {
		p.w("NULL")
		return
	}
	show := n
	if show > maxStrLen {
		show = maxStrLen
	}
	b := make([]byte, show)
	if p.m.ReadAt(b, addr) != nil {
		p.w(hex(addr))
		return
	}
	p.w(quote(b, forceHex))
	if n > show {
		p.w("...")
	}
}

// readCString reads a NUL-terminated string of at most max bytes at addr.
// complete is false when no NUL came within max bytes; ok is false when a
// byte before the NUL could not be read.
func readCString(m Mem, addr uint64, max int) (s []byte, complete, ok bool) {
	var out []byte
	const chunk = 64
	var b [chunk]byte
	for len(out) <= max {
		// Stop each read at a page end so an unreadable next page does not
		// hide a readable string; fall back to single bytes if needed.
		n := chunk
		if rem := int(4096 - (addr+uint64(len(out)))%4096); rem < n {
			n = rem
		}
		if m.ReadAt(b[:n], addr+uint64(len(out))) != nil {
			n = 0
			for n < chunk && m.ReadAt(b[n:n+1], addr+uint64(len(out)+n)) == nil {
				if b[n] == 0 {
					break
				}
				n++
			}
			if n == chunk || (n < chunk && b[n] != 0) || m.ReadAt(b[n:n+1], addr+uint64(len(out)+n)) != nil {
				if n == chunk {
					out = append(out, b[:n]...)
					continue
				}
				return nil, false, false
			}
			n++
		}
		for i := 0; i < n; i++ {
			if b[i] == 0 {
				out = append(out, b[:i]...)
				if len(out) > max {
					return out[:max], false, true
				}
				return out, true, true
			}
		}
		out = append(out, b[:n]...)
	}
	return out[:max], false, true
}

// quote returns b as a C string literal in strace's style.
func quote(b []byte, forceHex bool) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i, c := range b {
		if forceHex {
			fmt.Fprintf(&sb, "\\x%02x", c)
			continue
		}
		switch c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\v':
			sb.WriteString(`\v`)
		default:
			if c >= ' ' && c < 0x7f {
				sb.WriteByte(c)
				continue
			}
			// Octal with as few digits as possible, unless the next
			// character is an octal digit that would be taken as part of it.
			sb.WriteByte('\\')
			if i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7' {
				sb.WriteByte('0' + c>>6)
				sb.WriteByte('0' + (c>>3)&7)
			} else if c>>3 != 0 {
				if c>>6 != 0 {
					sb.WriteByte('0' + c>>6)
				}
				sb.WriteByte('0' + (c>>3)&7)
			}
			sb.WriteByte('0' + c&7)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// hex formats v as C's "%#lx": "0" for zero.
func hex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// ptr formats an address: NULL or hexadecimal.
func ptr(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// octal formats v as C's "%#03o": 000, 022, 0644.
func octal(v uint64) string {
	s := "0" + strconv.FormatUint(v, 8)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
