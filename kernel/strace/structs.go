package strace

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"

	"vemu/abi"
)

// sigsetString prints a signal mask as strace does: [INT TERM], or ~[...]
// listing the signals not in the set when more than half are.
func sigsetString(mask uint64) string {
	prefix := "["
	if bits.OnesCount64(mask) > 32 {
		prefix = "~["
		mask = ^mask
	}
	var names []string
	for n := 1; n <= 64; n++ {
		if mask&(1<<(n-1)) != 0 {
			names = append(names, strings.TrimPrefix(signal(n), "SIG"))
		}
	}
	return prefix + strings.Join(names, " ") + "]"
}

func (p *printer) sigset(addr uint64) {
	if b := p.struct_(addr, abi.SigsetSize); b != nil {
		p.w(sigsetString(binary.LittleEndian.Uint64(b)))
	}
}

func (p *printer) sigaction(addr uint64) {
	b := p.struct_(addr, abi.SigactionSize)
	if b == nil {
		return
	}
	var sa abi.Sigaction
	sa.Unmarshal(b)
	p.w("{sa_handler=")
	switch sa.Handler {
	case abi.SIG_DFL:
		p.w("SIG_DFL")
	case abi.SIG_IGN:
		p.w("SIG_IGN")
	default:
		p.w(hex(sa.Handler))
	}
	p.w(", sa_mask=" + sigsetString(sa.Mask))
	p.w(", sa_flags=" + flags(sa.Flags, saFlagNames, "0"))
	if sa.Flags&abi.SA_RESTORER != 0 {
		p.w(", sa_restorer=" + hex(sa.Restorer))
	}
	p.w("}")
}

func timespecString(t abi.Timespec) string {
	return "{tv_sec=" + strconv.FormatInt(t.Sec, 10) + ", tv_nsec=" + strconv.FormatInt(t.Nsec, 10) + "}"
}

func (p *printer) timespec(addr uint64) {
	if b := p.struct_(addr, abi.TimespecSize); b != nil {
		var t abi.Timespec
		t.Unmarshal(b)
		p.w(timespecString(t))
	}
}

func (p *printer) timeval(addr uint64) {
	if b := p.struct_(addr, abi.TimevalSize); b != nil {
		var t abi.Timeval
		t.Unmarshal(b)
		p.f("{tv_sec=%d, tv_usec=%d}", t.Sec, t.Usec)
	}
}

// utimens prints the two timestamps of utimensat(2).
func (p *printer) utimens(addr uint64) {
	b := p.struct_(addr, 2*abi.TimespecSize)
	if b == nil {
		return
	}
	p.w("[")
	for i := range 2 {
		if i > 0 {
			p.w(", ")
		}
		var t abi.Timespec
		t.Unmarshal(b[i*abi.TimespecSize:])
		switch t.Nsec {
		case abi.UTIME_NOW:
			p.w("UTIME_NOW")
		case abi.UTIME_OMIT:
			p.w("UTIME_OMIT")
		default:
			p.w(timespecString(t))
		}
	}
	p.w("]")
}

// makedev prints a device number as strace does: makedev(0x88, 0x1).
func makedev(major, minor uint64) string {
	return "makedev(" + hex(major) + ", " + hex(minor) + ")"
}

func isDevice(mode uint32) bool {
	t := mode & abi.S_IFMT
	return t == abi.S_IFCHR || t == abi.S_IFBLK
}

// stat prints the abbreviated struct stat strace shows without -v.
func (p *printer) stat(addr uint64) {
	b := p.struct_(addr, abi.StatSize)
	if b == nil {
		return
	}
	var st abi.Stat
	st.Unmarshal(b)
	p.w("{st_mode=" + fileMode(st.Mode))
	if isDevice(st.Mode) {
		major := (st.Rdev>>8)&0xfff | (st.Rdev>>32)&0xfffff000
		minor := st.Rdev&0xff | (st.Rdev>>12)&0xffffff00
		p.w(", st_rdev=" + makedev(major, minor))
	} else {
		p.f(", st_size=%d", st.Size)
	}
	p.w(", ...}")
}

// statx prints the abbreviated struct statx strace shows without -v.
func (p *printer) statx(addr uint64) {
	b := p.struct_(addr, abi.StatxSize)
	if b == nil {
		return
	}
	var st abi.Statx
	st.Unmarshal(b)
	p.w("{stx_mask=" + flags(uint64(st.Mask), statxMaskNames, "0"))
	p.w(", stx_attributes=" + hex(st.Attributes))
	p.w(", stx_mode=" + fileMode(uint32(st.Mode)))
	if isDevice(uint32(st.Mode)) {
		p.w(", stx_rdev_major=" + strconv.FormatUint(uint64(st.RdevMajor), 10))
		p.w(", stx_rdev_minor=" + strconv.FormatUint(uint64(st.RdevMinor), 10))
	} else {
		p.f(", stx_size=%d", st.Size)
	}
	p.w(", ...}")
}

func cField(f []byte) []byte {
	for i, c := range f {
		if c == 0 {
			return f[:i]
		}
	}
	return f
}

func (p *printer) utsname(addr uint64) {
	b := p.struct_(addr, abi.UtsnameSize)
	if b == nil {
		return
	}
	p.w("{sysname=" + quote(cField(b[:abi.UtsLen]), false))
	p.w(", nodename=" + quote(cField(b[abi.UtsLen:2*abi.UtsLen]), false))
	p.w(", ...}")
}

// iovec prints n iovecs at addr; limit caps the bytes shown in total
// (the return value of readv), or is all ones for writev.
func (p *printer) iovec(addr uint64, n int, limit uint64) {
	if addr == 0 {
		p.w("NULL")
		return
	}
	if n < 0 || n > 1024 {
		p.w(hex(addr))
		return
	}
	p.w("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			p.w(", ")
		}
		if i == maxArray {
			p.w("...")
			break
		}
		var b [abi.IovecSize]byte
		if !p.read(b[:], addr+uint64(i*abi.IovecSize)) {
			p.w("... /* " + hex(addr+uint64(i*abi.IovecSize)) + " */")
			break
		}
		var v abi.Iovec
		v.Unmarshal(b[:])
		p.w("{iov_base=")
		show := min(v.Len, limit)
		p.buffer(v.Base, show, false)
		limit -= show
		p.f(", iov_len=%d}", v.Len)
	}
	p.w("]")
}

func (p *printer) rlimit(addr uint64) {
	b := p.struct_(addr, abi.RlimitSize)
	if b == nil {
		return
	}
	var r abi.Rlimit
	r.Unmarshal(b)
	inf := "RLIM_INFINITY"
	if p.c.Nr == abi.SYS_PRLIMIT64 {
		inf = "RLIM64_INFINITY"
	}
	lim := func(v uint64) string {
		switch {
		case v == abi.RLIM_INFINITY:
			return inf
		case v > 1024 && v%1024 == 0:
			return strconv.FormatUint(v/1024, 10) + "*1024"
		}
		return strconv.FormatUint(v, 10)
	}
	p.w("{rlim_cur=" + lim(r.Cur) + ", rlim_max=" + lim(r.Max) + "}")
}

// intIn prints [x] for the int at addr, formatted by show.
func (p *printer) intIn(addr uint64, show func(int32) string) {
	if addr == 0 {
		p.w("NULL")
		return
	}
	var b [4]byte
	if !p.read(b[:], addr) {
		p.w(hex(addr))
		return
	}
	p.w("[" + show(int32(binary.LittleEndian.Uint32(b[:]))) + "]")
}

// waitStatus decodes a wait status as strace does.
func waitStatus(s int32) string {
	switch {
	case s&0x7f == 0:
		return "WIFEXITED(s) && WEXITSTATUS(s) == " + strconv.Itoa(int(s>>8&0xff))
	case s&0xff == 0x7f:
		return "WIFSTOPPED(s) && WSTOPSIG(s) == " + signal(int(s>>8&0xff))
	case s == 0xffff:
		return "WIFCONTINUED(s)"
	}
	r := "WIFSIGNALED(s) && WTERMSIG(s) == " + signal(int(s&0x7f))
	if s&0x80 != 0 {
		r += " && WCOREDUMP(s)"
	}
	return r
}

func (p *printer) pipeFds(addr uint64) {
	var b [8]byte
	if !p.read(b[:], addr) {
		p.w(hex(addr))
		return
	}
	p.f("[%d, %d]", int32(binary.LittleEndian.Uint32(b[:])), int32(binary.LittleEndian.Uint32(b[4:])))
}

// countDirents counts the linux_dirent64 records in n bytes at addr.
func (p *printer) countDirents(addr, n uint64) int {
	if n == 0 || n > 1<<20 {
		return 0
	}
	b := make([]byte, n)
	if !p.read(b, addr) {
		return 0
	}
	count := 0
	for off := 0; off+abi.Dirent64HeaderSize <= len(b); count++ {
		reclen := int(binary.LittleEndian.Uint16(b[off+16:]))
		if reclen == 0 {
			break
		}
		off += reclen
	}
	return count
}

func (p *printer) sysinfo(addr uint64) {
	b := p.struct_(addr, abi.SysinfoSize)
	if b == nil {
		return
	}
	var s abi.Sysinfo
	s.Unmarshal(b)
	p.f("{uptime=%d, loads=[%d, %d, %d], totalram=%d, freeram=%d, sharedram=%d, bufferram=%d, "+
		"totalswap=%d, freeswap=%d, procs=%d, totalhigh=%d, freehigh=%d, mem_unit=%d}",
		s.Uptime, s.Loads[0], s.Loads[1], s.Loads[2], s.Totalram, s.Freeram, s.Sharedram, s.Bufferram,
		s.Totalswap, s.Freeswap, s.Procs, s.Totalhigh, s.Freehigh, s.MemUnit)
}

// strArray prints a NULL-terminated array of strings: ["ls", "-l"].
func (p *printer) strArray(addr uint64) {
	if addr == 0 {
		p.w("NULL")
		return
	}
	var elems []uint64
	for i := 0; ; i++ {
		var b [8]byte
		if !p.read(b[:], addr+uint64(8*i)) {
			if i == 0 {
				p.w(hex(addr))
				return
			}
			break
		}
		v := binary.LittleEndian.Uint64(b[:])
		if v == 0 || i > maxArray {
			break
		}
		elems = append(elems, v)
	}
	p.w("[")
	for i, e := range elems {
		if i > 0 {
			p.w(", ")
		}
		if i == maxArray {
			p.w("...")
			break
		}
		p.cstring(e, maxStrLen)
	}
	p.w("]")
}

// countArray counts the entries of a NULL-terminated pointer array.
func (p *printer) countArray(addr uint64) (int, bool) {
	if addr == 0 {
		return 0, false
	}
	for i := 0; i < 1<<16; i++ {
		var b [8]byte
		if !p.read(b[:], addr+uint64(8*i)) {
			return 0, false
		}
		if binary.LittleEndian.Uint64(b[:]) == 0 {
			return i, true
		}
	}
	return 0, false
}

// cpuSet prints the CPUs set in the n-byte mask at addr: [0 1 2 3].
func (p *printer) cpuSet(addr, n uint64) {
	if n > 1<<16 {
		n = 1 << 16
	}
	b := make([]byte, n)
	if !p.read(b, addr) {
		p.w(hex(addr))
		return
	}
	var cpus []string
	for i, c := range b {
		for j := range 8 {
			if c&(1<<j) != 0 {
				cpus = append(cpus, strconv.Itoa(8*i+j))
			}
		}
	}
	p.w("[" + strings.Join(cpus, " ") + "]")
}

func (p *printer) rusage(addr uint64) {
	b := p.struct_(addr, abi.RusageSize)
	if b == nil {
		return
	}
	var r abi.Rusage
	r.Unmarshal(b)
	p.f("{ru_utime={tv_sec=%d, tv_usec=%d}, ru_stime={tv_sec=%d, tv_usec=%d}, ...}",
		r.Utime.Sec, r.Utime.Usec, r.Stime.Sec, r.Stime.Usec)
}

func (p *printer) stackT(addr uint64) {
	b := p.struct_(addr, abi.StackTSize)
	if b == nil {
		return
	}
	var s abi.StackT
	s.Unmarshal(b)
	p.f("{ss_sp=%s, ss_flags=%s, ss_size=%d}", ptr(s.Sp), flags(uint64(uint32(s.Flags)), ssFlagNames, "0"), s.Size)
}

func (p *printer) pollfds(addr uint64, n int) {
	if addr == 0 {
		p.w("NULL")
		return
	}
	if n > 1024 {
		p.w(hex(addr))
		return
	}
	b := make([]byte, n*abi.PollfdSize)
	if !p.read(b, addr) && n > 0 {
		p.w(hex(addr))
		return
	}
	p.w("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			p.w(", ")
		}
		if i == maxArray {
			p.w("...")
			break
		}
		var pf abi.Pollfd
		pf.Unmarshal(b[i*abi.PollfdSize:])
		p.f("{fd=%d, events=%s}", pf.Fd, flags(uint64(uint16(pf.Events)), pollNames, "0"))
	}
	p.w("]")
}

func (p *printer) tms(addr uint64) {
	b := p.struct_(addr, abi.TmsSize)
	if b == nil {
		return
	}
	var t abi.Tms
	t.Unmarshal(b)
	p.f("{tms_utime=%d, tms_stime=%d, tms_cutime=%d, tms_cstime=%d}", t.Utime, t.Stime, t.Cutime, t.Cstime)
}

func (p *printer) winsize(addr uint64) {
	b := p.struct_(addr, abi.WinsizeSize)
	if b == nil {
		return
	}
	var w abi.Winsize
	w.Unmarshal(b)
	p.f("{ws_row=%d, ws_col=%d, ws_xpixel=%d, ws_ypixel=%d}", w.Row, w.Col, w.Xpixel, w.Ypixel)
}

// Terminal flag bits strace shows in its short termios form.
const (
	tcOPOST  = 0x1
	tcISIG   = 0x1
	tcICANON = 0x2
	tcECHO   = 0x8
	tcCBAUD  = 0x100f
)

var baudNames = map[uint32]string{
	0: "B0", 1: "B50", 2: "B75", 3: "B110", 4: "B134", 5: "B150", 6: "B200", 7: "B300",
	8: "B600", 9: "B1200", 10: "B1800", 11: "B2400", 12: "B4800", 13: "B9600", 14: "B19200",
	15: "B38400", 0x1001: "B57600", 0x1002: "B115200", 0x1003: "B230400", 0x1004: "B460800",
	0x1005: "B500000", 0x1006: "B576000", 0x1007: "B921600", 0x1008: "B1000000",
	0x1009: "B1152000", 0x100a: "B1500000", 0x100b: "B2000000", 0x100c: "B2500000",
	0x100d: "B3000000", 0x100e: "B3500000", 0x100f: "B4000000",
}

// termios prints the short form strace uses: {B38400 opost isig icanon echo ...}.
func (p *printer) termios(addr uint64) {
	b := p.struct_(addr, abi.TermiosSize)
	if b == nil {
		return
	}
	var t abi.Termios
	t.Unmarshal(b)
	on := func(set bool, name string) string {
		if set {
			return name
		}
		return "-" + name
	}
	speed, ok := baudNames[t.Cflag&tcCBAUD]
	if !ok {
		speed = hex(uint64(t.Cflag & tcCBAUD))
	}
	p.w("{" + speed + " " + on(t.Oflag&tcOPOST != 0, "opost") + " " + on(t.Lflag&tcISIG != 0, "isig") +
		" " + on(t.Lflag&tcICANON != 0, "icanon") + " " + on(t.Lflag&tcECHO != 0, "echo") + " ...}")
}

func (p *printer) itimerspec(addr uint64) {
	if b := p.struct_(addr, abi.ItimerspecSize); b != nil {
		var it abi.Itimerspec
		it.Unmarshal(b)
		p.w("{it_interval=" + timespecString(it.Interval) + ", it_value=" + timespecString(it.Value) + "}")
	}
}

// sigevent prints a struct sigevent as strace does.
func (p *printer) sigevent(addr uint64) {
	b := p.struct_(addr, abi.SigeventSize)
	if b == nil {
		return
	}
	var e abi.Sigevent
	e.Unmarshal(b)
	p.f("{sigev_value={sival_int=%d, sival_ptr=%s}, sigev_signo=", int32(e.Value), ptr(e.Value))
	switch e.Notify {
	case abi.SIGEV_SIGNAL, abi.SIGEV_THREAD, abi.SIGEV_THREAD_ID:
		p.w(signal(int(e.Signo)))
	default:
		p.w(strconv.FormatUint(uint64(uint32(e.Signo)), 10))
	}
	p.w(", sigev_notify=" + enum(uint64(uint32(e.Notify)), sigevNotifyNames))
	switch e.Notify {
	case abi.SIGEV_THREAD_ID:
		p.f(", sigev_notify_thread_id=%d", e.TID)
	case abi.SIGEV_THREAD:
		le := binary.LittleEndian
		p.w(", sigev_notify_function=" + ptr(le.Uint64(b[16:])) + ", sigev_notify_attributes=" + ptr(le.Uint64(b[24:])))
	}
	p.w("}")
}
