package inject

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Spec is one -e inject= or -e fault= expression.
type Spec struct {
	Text  string // as written
	Calls Set    // the system calls it tampers with

	Error     int    // errno to fail the call with (1..4095), or 0
	Retval    uint64 // value the call returns instead of running, if HasRetval
	HasRetval bool
	Signal    int // signal delivered when the call returns, or 0
	// Syscall is a %pure system call run in place of the tampered one (its result is
	// replaced by Error or Retval all the same), or -1.
	Syscall               int
	DelayEnter, DelayExit time.Duration // pauses before and after the call
	PokeEnter, PokeExit   []Poke        // memory written before and after the call

	When When
}

// Poke writes Data at the address held in argument Arg (0..6) of the call.
type Poke struct {
	Arg  int
	Data []byte
}

// When selects invocations by their number, counted from 1 per thread and per system
// call: First, then every Step-th up to Last (0: no end). Step 0 selects First alone.
type When struct {
	First, Last, Step uint32
}

// Every is the selection without a :when=, every invocation.
var Every = When{First: 1, Step: 1}

// Selects reports whether invocation n (from 1) is chosen.
func (w When) Selects(n uint64) bool {
	f := uint64(w.First)
	switch {
	case n < f:
		return false
	case w.Last != 0 && n > uint64(w.Last):
		return false
	case w.Step == 0:
		return n == f
	}
	return (n-f)%uint64(w.Step) == 0
}

// Replaces reports whether the call does not run: its result is an injected error or
// value.
func (s *Spec) Replaces() bool { return s.Error != 0 || s.HasRetval }

// Result is the value rax gets when the spec replaces the call.
func (s *Spec) Result() uint64 {
	if s.Error != 0 {
		return uint64(-int64(s.Error))
	}
	return s.Retval
}

// Error is a malformed spec. Its message is one line naming the part that is wrong.
type Error struct {
	Flag string // "inject" or "fault"
	Spec string // the whole spec
	Part string // the part that is wrong
	Why  string
}

func (e *Error) Error() string {
	if e.Part == e.Spec {
		return fmt.Sprintf("invalid %s argument %q: %s", e.Flag, e.Spec, e.Why)
	}
	return fmt.Sprintf("invalid %s argument %q: %q: %s", e.Flag, e.Spec, e.Part, e.Why)
}

// Parse parses an -e inject= expression:
//
//	SET[:error=ERRNO|:retval=VALUE][:signal=SIG][:syscall=SYSCALL][:delay_enter=DELAY]
//	   [:delay_exit=DELAY][:poke_enter=@argN=DATA,...][:poke_exit=@argN=DATA,...][:when=EXPR]
func Parse(text string) (*Spec, error) { return parse(text, false) }

// ParseFault parses an -e fault= expression: SET[:error=ERRNO][:syscall=SYSCALL][:when=EXPR],
// which fails the calls with ENOSYS unless :error= says otherwise.
func ParseFault(text string) (*Spec, error) { return parse(text, true) }

func parse(text string, fault bool) (*Spec, error) {
	flag := "inject"
	if fault {
		flag = "fault"
	}
	bad := func(part, why string, args ...any) error {
		return &Error{Flag: flag, Spec: text, Part: part, Why: fmt.Sprintf(why, args...)}
	}
	setText, opts, _ := strings.Cut(text, ":")
	s := &Spec{Text: text, Syscall: -1, When: Every}
	calls, err := ParseSet(setText)
	if err != nil {
		return nil, bad(setText, "%v", err)
	}
	s.Calls = calls
	var haveSignal, haveSyscall, haveEnter, haveExit, havePokeEnter, havePokeExit bool
	for _, tok := range strings.Split(opts, ":") {
		if tok == "" {
			continue
		}
		key, val, ok := strings.Cut(tok, "=")
		if !ok {
			return nil, bad(tok, "expected NAME=VALUE")
		}
		if fault && key != "error" && key != "when" && key != "syscall" {
			return nil, bad(tok, "fault= takes only error=, syscall= and when=")
		}
		switch key {
		case "when":
			w, err := parseWhen(val)
			if err != nil {
				return nil, bad(tok, "%v", err)
			}
			s.When = w
		case "error":
			if s.Error != 0 || s.HasRetval {
				return nil, bad(tok, "only one error= or retval= is allowed")
			}
			e, err := parseErrno(val)
			if err != nil {
				return nil, bad(tok, "%v", err)
			}
			s.Error = e
		case "retval":
			if s.Error != 0 || s.HasRetval {
				return nil, bad(tok, "only one error= or retval= is allowed")
			}
			v, err := parseRetval(val)
			if err != nil {
				return nil, bad(tok, "%v", err)
			}
			s.Retval, s.HasRetval = v, true
		case "signal":
			if haveSignal {
				return nil, bad(tok, "only one signal= is allowed")
			}
			sig, err := parseSignal(val)
			if err != nil {
				return nil, bad(tok, "%v", err)
			}
			s.Signal, haveSignal = sig, true
		case "syscall":
			if haveSyscall {
				return nil, bad(tok, "only one syscall= is allowed")
			}
			nr, ok := syscallByName(val)
			if !ok || abi.SyscallClasses(uint64(nr))&abi.ClassPure == 0 {
				return nil, bad(tok, "not a system call without arguments and side effects (%%pure)")
			}
			s.Syscall, haveSyscall = nr, true
		case "delay_enter", "delay_exit":
			have := &haveEnter
			dst := &s.DelayEnter
			if key == "delay_exit" {
				have, dst = &haveExit, &s.DelayExit
			}
			if *have {
				return nil, bad(tok, "only one %s= is allowed", key)
			}
			d, err := ParseDuration(val)
			if err != nil {
				return nil, bad(tok, "%v", err)
			}
			*dst, *have = d, true
		case "poke_enter", "poke_exit":
			have := &havePokeEnter
			dst := &s.PokeEnter
			if key == "poke_exit" {
				have, dst = &havePokeExit, &s.PokeExit
			}
			if *have {
				return nil, bad(tok, "only one %s= is allowed", key)
			}
			p, err := parsePokes(val)
			if err != nil {
				return nil, bad(tok, "%v", err)
			}
			*dst, *have = p, true
		default:
			return nil, bad(tok, "unknown option (want error=, retval=, signal=, syscall=, delay_enter=, delay_exit=, poke_enter=, poke_exit= or when=)")
		}
	}
	if fault && !s.Replaces() {
		s.Error = int(unix.ENOSYS)
	}
	if haveSyscall && !s.Replaces() {
		return nil, bad(text, "syscall= needs error= or retval=")
	}
	if !s.Replaces() && !haveSignal && !haveEnter && !haveExit && !havePokeEnter && !havePokeExit {
		return nil, bad(text, "missing error=, retval=, signal=, delay_enter=, delay_exit=, poke_enter= or poke_exit=")
	}
	return s, nil
}

// parseWhen parses FIRST[..LAST][+[STEP]]: FIRST and STEP in 1..65535, LAST in
// FIRST..65534.
func parseWhen(v string) (When, error) {
	w := When{}
	rest := v
	num := func(s string, max uint64) (uint32, string, bool) {
		n, r, ok := leadingUint(s)
		if !ok || n < 1 || n > max {
			return 0, r, false
		}
		return uint32(n), r, true
	}
	var ok bool
	if w.First, rest, ok = num(rest, 65535); !ok {
		return w, fmt.Errorf("FIRST must be a number in 1..65535")
	}
	if strings.HasPrefix(rest, "..") {
		if w.Last, rest, ok = num(rest[2:], 65534); !ok || w.Last < w.First {
			return w, fmt.Errorf("LAST must be a number in FIRST..65534")
		}
		w.Step = 1
	}
	if strings.HasPrefix(rest, "+") {
		rest = rest[1:]
		w.Step = 1
		if rest != "" {
			if w.Step, rest, ok = num(rest, 65535); !ok {
				return w, fmt.Errorf("STEP must be a number in 1..65535")
			}
		}
	}
	if rest != "" {
		return w, fmt.Errorf("expected FIRST[..LAST][+[STEP]]")
	}
	return w, nil
}

// leadingUint reads a decimal number after optional blanks and '+', as strtoul would,
// and returns the rest of s.
func leadingUint(s string) (uint64, string, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	s = strings.TrimPrefix(s, "+")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, false
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	return n, s[i:], err == nil
}

// kernelErrnos are the errors Linux keeps for itself, which strace names too.
var kernelErrnos = map[string]int{
	"ERESTARTSYS": 512, "ERESTARTNOINTR": 513, "ERESTARTNOHAND": 514, "ENOIOCTLCMD": 515,
	"ERESTART_RESTARTBLOCK": 516, "EPROBE_DEFER": 517, "EOPENSTALE": 518, "ENOPARAM": 519,
	"EBADHANDLE": 521, "ENOTSYNC": 522, "EBADCOOKIE": 523, "ENOTSUPP": 524, "ETOOSMALL": 525,
	"ESERVERFAULT": 526, "EBADTYPE": 527, "EJUKEBOX": 528, "EIOCBQUEUED": 529,
	"ERECALLCONFLICT": 530, "ENOGRACE": 531,
}

// ErrnoByName returns the number of an errno name (case does not matter), as strace
// names them: one name per number ("EAGAIN", not "EWOULDBLOCK").
func ErrnoByName(name string) (int, bool) {
	up := strings.ToUpper(name)
	if n, ok := kernelErrnos[up]; ok {
		return n, true
	}
	if !strings.HasPrefix(up, "E") {
		return 0, false
	}
	for e := 1; e < 512; e++ {
		if errnoName(e) == up {
			return e, true
		}
	}
	return 0, false
}

// errnoName is the name strace gives errno e: x/sys/unix's, except that 95 is
// EOPNOTSUPP there (ENOTSUP is its alias).
func errnoName(e int) string {
	if e == int(unix.EOPNOTSUPP) {
		return "EOPNOTSUPP"
	}
	return unix.ErrnoName(unix.Errno(e))
}

func parseErrno(v string) (int, error) {
	if n, rest, ok := leadingUint(v); ok {
		if rest != "" || n < 1 || n > 4095 {
			return 0, fmt.Errorf("an errno is a name or a number in 1..4095")
		}
		return int(n), nil
	}
	if e, ok := ErrnoByName(v); ok {
		return e, nil
	}
	return 0, fmt.Errorf("unknown errno name")
}

// parseRetval reads a C long or unsigned long, in decimal, octal (0...) or hex (0x...).
func parseRetval(v string) (uint64, error) {
	s := strings.TrimLeft(v, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	bad := s == ""
	for _, c := range s {
		if d := digitValue(c); d < 0 || d >= base {
			bad = true
		}
	}
	if bad {
		return 0, fmt.Errorf("a return value is a number")
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil || (neg && n > 1<<63) {
		return 0, fmt.Errorf("a return value must fit in 64 bits")
	}
	if neg {
		n = -n
	}
	return n, nil
}

func digitValue(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// SignalByName returns the number of a signal name, with or without "SIG", in any case:
// "SIGUSR1", "usr1", "SIGRTMIN", "SIGRT_3".
func SignalByName(name string) (int, bool) {
	up := strings.ToUpper(name)
	for n := 1; n <= abi.SIGRTMAX; n++ {
		full := abi.SignalName(n)
		if full != "" && (up == full || "SIG"+up == full) {
			return n, true
		}
	}
	return 0, false
}

func parseSignal(v string) (int, error) {
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		n, rest, ok := leadingUint(v)
		if !ok || rest != "" || n < 1 || n > abi.SIGRTMAX {
			return 0, fmt.Errorf("a signal is a name or a number in 1..%d", abi.SIGRTMAX)
		}
		return int(n), nil
	}
	if n, ok := SignalByName(v); ok {
		return n, nil
	}
	return 0, fmt.Errorf("unknown signal name")
}

// ParseDuration parses strace's time format: a decimal floating point number and an
// optional unit, s, ms, us or ns (microseconds without one).
func ParseDuration(v string) (time.Duration, error) {
	s := strings.TrimLeft(v, " \t\n\v\f\r")
	unit := time.Microsecond
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond}, {"s", time.Second}} {
		if strings.HasSuffix(s, u.suffix) {
			s, unit = strings.TrimSuffix(s, u.suffix), u.d
			break
		}
	}
	if !isDecimalFloat(s) {
		return 0, fmt.Errorf("a delay is a decimal number with an optional unit: s, ms, us, ns")
	}
	f, err := strconv.ParseFloat(s, 64)
	mantissa, _, _ := strings.Cut(strings.ToLower(s), "e")
	if err != nil || (f == 0 && strings.ContainsAny(mantissa, "123456789")) {
		// Beyond a double either way: strtod's ERANGE.
		return 0, fmt.Errorf("a delay must fit in a double")
	}
	ns := f * float64(unit)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(ns), nil
}

// isDecimalFloat accepts [+]DIGITS[.DIGITS][e[+-]DIGITS] with digits on at least one side
// of the point.
func isDecimalFloat(s string) bool {
	s = strings.TrimPrefix(s, "+")
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}

// maxPoke is the most bytes one poke writes, as in strace.
const maxPoke = 1024

// parsePokes parses @argN=HEX[,@argM=HEX...], N in 1..7.
func parsePokes(v string) ([]Poke, error) {
	var pokes []Poke
	seen := map[int]bool{}
	for _, p := range strings.Split(v, ",") {
		arg, data, ok := strings.Cut(p, "=")
		if !ok || !strings.HasPrefix(arg, "@arg") || len(arg) != 5 || arg[4] < '1' || arg[4] > '7' {
			return nil, fmt.Errorf("expected @argN=DATA with N in 1..7")
		}
		n := int(arg[4] - '1')
		if seen[n] {
			return nil, fmt.Errorf("%s is poked twice", arg)
		}
		seen[n] = true
		hex := strings.TrimPrefix(strings.TrimPrefix(data, "0x"), "0X")
		if hex == "" || len(hex)%2 != 0 || len(hex)/2 > maxPoke {
			return nil, fmt.Errorf("DATA is an even number of hexadecimal digits, at most %d bytes", maxPoke)
		}
		b := make([]byte, len(hex)/2)
		for i := range b {
			hi, lo := digitValue(rune(hex[2*i])), digitValue(rune(hex[2*i+1]))
			if hi < 0 || lo < 0 {
				return nil, fmt.Errorf("DATA is an even number of hexadecimal digits, at most %d bytes", maxPoke)
			}
			b[i] = byte(hi<<4 | lo)
		}
		pokes = append(pokes, Poke{Arg: n, Data: b})
	}
	return pokes, nil
}
