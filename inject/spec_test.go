package inject

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vemu/abi"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Spec
	}{
		{"error-name", "openat:error=ENOENT", Spec{Error: 2, Syscall: -1, When: Every}},
		{"error-lower", "openat:error=eacces", Spec{Error: 13, Syscall: -1, When: Every}},
		{"error-number", "openat:error=+05", Spec{Error: 5, Syscall: -1, When: Every}},
		{"error-kernel", "read:error=ERESTARTSYS", Spec{Error: 512, Syscall: -1, When: Every}},
		{"retval-octal", "close:retval=0777", Spec{Retval: 511, HasRetval: true, Syscall: -1, When: Every}},
		{"retval-hex", "close:retval=0x10", Spec{Retval: 16, HasRetval: true, Syscall: -1, When: Every}},
		{"retval-negative", "close:retval=-1", Spec{Retval: ^uint64(0), HasRetval: true, Syscall: -1, When: Every}},
		{"signal-short", "close:signal=usr1", Spec{Signal: 10, Syscall: -1, When: Every}},
		{"signal-rt", "close:signal=SIGRT_1", Spec{Signal: 33, Syscall: -1, When: Every}},
		{"signal-number", "close:signal=64", Spec{Signal: 64, Syscall: -1, When: Every}},
		{"delay-default-us", "close:delay_enter=1.5", Spec{DelayEnter: 1500 * time.Nanosecond, Syscall: -1, When: Every}},
		{"delay-units", "close:delay_exit=2ms:delay_enter=1e-3s", Spec{DelayEnter: time.Millisecond, DelayExit: 2 * time.Millisecond, Syscall: -1, When: Every}},
		{"when-first", "close:error=EIO:when=3", Spec{Error: 5, Syscall: -1, When: When{First: 3}}},
		{"when-open", "close:error=EIO:when=3+", Spec{Error: 5, Syscall: -1, When: When{First: 3, Step: 1}}},
		{"when-step", "close:error=EIO:when=3+2", Spec{Error: 5, Syscall: -1, When: When{First: 3, Step: 2}}},
		{"when-range", "close:error=EIO:when=2..5", Spec{Error: 5, Syscall: -1, When: When{First: 2, Last: 5, Step: 1}}},
		{"when-range-step", "close:error=EIO:when=2..9+3", Spec{Error: 5, Syscall: -1, When: When{First: 2, Last: 9, Step: 3}}},
		{"when-last-wins", "close:error=EIO:when=2:when=4", Spec{Error: 5, Syscall: -1, When: When{First: 4}}},
		{"syscall", "close:syscall=getpid:retval=3", Spec{Retval: 3, HasRetval: true, Syscall: abi.SYS_GETPID, When: Every}},
		{"poke", "read:poke_exit=@arg2=0xdead,@arg7=00", Spec{PokeExit: []Poke{{1, []byte{0xde, 0xad}}, {6, []byte{0}}}, Syscall: -1, When: Every}},
		{"empty-options", "close::error=EIO:", Spec{Error: 5, Syscall: -1, When: Every}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.text)
			require.NoError(t, err)
			got := *s
			got.Text, got.Calls = "", Set{}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFault(t *testing.T) {
	s, err := ParseFault("close")
	require.NoError(t, err)
	assert.Equal(t, 38, s.Error, "fault= fails with ENOSYS by default")
	s, err = ParseFault("close:error=EIO:when=2")
	require.NoError(t, err)
	assert.Equal(t, 5, s.Error)
	_, err = ParseFault("close:retval=1")
	assert.ErrorContains(t, err, `invalid fault argument "close:retval=1": "retval=1"`)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, msg string }{
		{"openat", `invalid inject argument "openat": missing error=`},
		{"bogus:error=EIO", `"bogus": invalid system call "bogus"`},
		{"openat:error=EFOO", `"error=EFOO": unknown errno name`},
		{"openat:error=4096", `"error=4096": an errno is a name or a number in 1..4095`},
		{"openat:error=EIO:retval=1", `"retval=1": only one error= or retval= is allowed`},
		{"openat:when=0", `"when=0": FIRST must be`},
		{"openat:when=3..2", `"when=3..2": LAST must be`},
		{"openat:when=1+0", `"when=1+0": STEP must be`},
		{"openat:signal=SIGRTMAX", `"signal=SIGRTMAX": unknown signal name`},
		{"openat:delay_enter=-1", `"delay_enter=-1": a delay is`},
		{"openat:foo=1", `"foo=1": unknown option`},
		{"/[:error=EIO", `invalid regular expression`},
		{"openat@65:error=EIO", `incorrect personality designator "65"`},
		{"openat:syscall=open:error=EIO", `"syscall=open": not a system call without arguments`},
		{"openat:poke_enter=@arg8=00", `"poke_enter=@arg8=00": expected @argN=DATA`},
	} {
		t.Run(tc.text, func(t *testing.T) {
			_, err := Parse(tc.text)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestWhenSelects(t *testing.T) {
	pick := func(w When) []uint64 {
		var got []uint64
		for n := uint64(1); n <= 12; n++ {
			if w.Selects(n) {
				got = append(got, n)
			}
		}
		return got
	}
	assert.Equal(t, []uint64{3}, pick(When{First: 3}))
	assert.Equal(t, []uint64{10, 11, 12}, pick(When{First: 10, Step: 1}))
	assert.Equal(t, []uint64{2, 5, 8, 11}, pick(When{First: 2, Step: 3}))
	assert.Equal(t, []uint64{2, 5, 8}, pick(When{First: 2, Last: 9, Step: 3}))
	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, pick(Every))
}

func TestCounterPerCall(t *testing.T) {
	a, err := Parse("read,write:error=EIO:when=2")
	require.NoError(t, err)
	b, err := Parse("write:retval=7:when=1")
	require.NoError(t, err)
	r := NewRules(a, b)
	var c Counter
	assert.Nil(t, c.Next(r, abi.SYS_READ))
	assert.Same(t, a, c.Next(r, abi.SYS_READ), "the second read")
	assert.Same(t, b, c.Next(r, abi.SYS_WRITE), "the later spec wins for write")
	assert.Nil(t, c.Next(r, abi.SYS_WRITE))
	assert.Nil(t, c.Next(r, abi.SYS_CLOSE))
	var other Counter
	assert.Nil(t, other.Next(r, abi.SYS_READ), "another thread counts from 1")
}

// straceBin returns the host's strace, or skips.
func straceBin(t *testing.T) string {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (scripts/setup.sh installs it)")
	}
	if out, err := exec.Command(strace, "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v\n%s", err, out)
	}
	return strace
}

// TestAcceptsAsStrace checks that the parser accepts exactly the specs strace accepts.
func TestAcceptsAsStrace(t *testing.T) {
	strace := straceBin(t)
	specs := []string{
		"openat", "openat:error=EIO:retval=3", "openat:error=EFOO", "openat:error=4096",
		"openat:error=4095", "openat:error=0", "openat:error=+5", "openat:error=0x5",
		"openat:error=eio", "openat:error=EWOULDBLOCK", "openat:error=ENOTSUP",
		"openat:error=EOPNOTSUPP", "openat:error=EPROBE_DEFER", "openat:error=ERESTARTSYS",
		"openat:error=EIO:error=EIO", "openat:error=EIO ", "openat:when=0", "openat:when=65536",
		"openat:error=EIO:when=3..2", "openat:error=EIO:when=1..65535", "openat:error=EIO:when=1..65534+",
		"openat:error=EIO:when=2..3", "openat:error=EIO:when=1..3+2", "openat:error=EIO:when=1..1",
		"openat:error=EIO:when=1+0", "openat:error=EIO:when=2..2+", "openat:error=EIO:when=",
		"openat:error=EIO:when=1..", "openat:error=EIO:when=1+2+", "openat:error=EIO:when=01",
		"openat:error=EIO:when=0x2", "openat:error=EIO:when= 2", "openat:error=EIO:when=1 ",
		"openat:retval=-1", "openat:retval=abc", "openat:retval=", "openat:retval=+5",
		"openat:retval=0x", "openat:retval=0777", "openat:retval= 5", "openat:retval=1e3",
		"openat:retval=18446744073709551615", "openat:retval=18446744073709551616",
		"openat:signal=0", "openat:signal=65", "openat:signal=64", "openat:signal=USR1",
		"openat:signal=sigusr1", "openat:signal=SIGKILL", "openat:signal=9", "openat:signal=SIGRTMIN",
		"openat:signal=RTMIN+3", "openat:signal=SIGRTMAX", "openat:signal=SIGRT_1", "openat:signal=RT_2",
		"openat:signal=SIGIOT", "openat:signal=SIGPOLL", "openat:signal=SIGSTKFLT", "openat:signal=SIG",
		"openat:signal=+5", "openat:error=EIO:signal=SIGUSR1:signal=SIGUSR2",
		"openat:delay_enter=1.5x", "openat:delay_enter=1s", "openat:delay_enter=-1",
		"openat:delay_enter=1e3", "openat:delay_enter=inf", "openat:delay_enter=nan",
		"openat:delay_enter=0", "openat:delay_enter=1.5ms", "openat:delay_enter= 1",
		"openat:delay_enter=0x10", "openat:delay_enter=1e20s", "openat:delay_exit=.5",
		"openat:delay_exit=5.", "openat:delay_exit=1S", "openat:delay_exit=1m",
		"openat:delay_enter=1:delay_enter=2", "openat:syscall=getpid", "openat:syscall=open",
		"openat:syscall=getpid:error=EIO", "openat:syscall=none:error=EIO", "openat:syscall=39:error=EIO",
		"openat:poke_enter=@arg1=DEAD", "openat:poke_enter=@arg1=DEA", "openat:poke_enter=@arg0=00",
		"openat:poke_enter=@arg7=00", "openat:poke_enter=@arg8=00", "openat:poke_enter=@arg1=",
		"openat:poke_enter=@arg1=zz", "openat:poke_enter=@arg1=00,@arg2=11",
		"openat:poke_enter=@arg1=00,@arg1=11", "openat:poke_enter=@arg1=00:poke_enter=@arg2=00",
		"openat:poke_exit=@arg1=00", "openat:poke_enter=arg1=00", "openat:poke_enter=@arg1=0x00",
		"openat:poke_enter=@arg1=" + strings.Repeat("00", 1024), "openat:poke_enter=@arg1=" + strings.Repeat("00", 1025),
		"bogus:error=EIO", "?bogus:error=EIO", "openat:foo=1", "%foo:error=EIO", "?%foo:error=EIO",
		"file:error=EIO", "/[:error=EIO", "?/[:error=EIO", "", ":error=EIO", "openat,:error=EIO",
		"!openat:error=EIO", "!!openat:error=EIO", "all:error=EIO", "none:error=EIO", "!none:error=EIO",
		"openat!:error=EIO", "openat@64:error=EIO", "openat@32:error=EIO", "openat@65:error=EIO",
		"3:error=EIO", "999:error=EIO", "syscall_0x3:error=EIO", "%net:error=EIO", "network:error=EIO",
		"%stat:error=EIO", "stat:error=EIO", "%%stat:error=EIO", "%%statfs:error=EIO", "creds:error=EIO",
		"%creds:error=EIO", "%pure:error=EIO", "pure:error=EIO", "%all:error=EIO", "ALL:error=EIO",
		"Openat:error=EIO", "/OPEN:error=EIO", "?/OPEN:error=EIO", "?:error=EIO", "??openat:error=EIO",
		"openat:error=EIO::", "openat::error=EIO", "openat:signal=SIGUSR1:when=1:when=2",
		"openat:error", "openat:=EIO", "openat:error=EIO:when=1+65535", "openat:error=EIO:when=65535+65535",
		"openat:error=EIO:when=2..1+", "openat:error=EIO:when=65535", "openat:error=EIO:when=65534..65534",
		"openat:retval=9223372036854775808", "openat:retval=-9223372036854775808", "openat:retval=0x1g",
		"openat:retval=08", "openat:error=EIO:delay_exit=1e-400", "openat:error=EIO:delay_exit=1e400", "openat:error=EIO:delay_exit=1e300s", "openat:signal=SIGRT_33", "openat:signal=rtmin",
	}
	for _, spec := range specs {
		for _, flag := range []string{"inject", "fault"} {
			out, _ := exec.Command(strace, "-qq", "-e", "trace=none", "-e", flag+"="+spec, "true").CombinedOutput()
			straceOK := !strings.Contains(string(out), "invalid") && !strings.Contains(string(out), "regcomp") &&
				!strings.Contains(string(out), "incorrect")
			var err error
			if flag == "inject" {
				_, err = Parse(spec)
			} else {
				_, err = ParseFault(spec)
			}
			if straceOK != (err == nil) {
				t.Errorf("-e %s=%q: strace says %q, we say %v", flag, spec, strings.TrimSpace(string(out)), err)
			}
		}
	}
}

// classesProgram returns testdata's classes program, building it when make has not.
func classesProgram(t *testing.T) string {
	out := filepath.Join("..", "testdata", "out", "classes.glibc")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build testdata/c/classes.c")
	}
	out = filepath.Join(t.TempDir(), "classes")
	if b, err := exec.Command(gcc, "-static", "-O2", "-o", out, filepath.Join("..", "testdata", "c", "classes.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// TestSetAsStrace checks that a set selects the calls strace's -e trace= selects.
func TestSetAsStrace(t *testing.T) {
	strace := straceBin(t)
	prog := classesProgram(t)
	traced := func(set string) []string {
		cmd := exec.Command(strace, "-qq", "-e", "signal=none", "-e", "trace="+set, prog, "0", "472")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Run(), "strace -e trace=%s: %s", set, stderr.Bytes())
		var names []string
		for _, line := range strings.Split(stderr.String(), "\n") {
			name, _, _ := strings.Cut(line, "(")
			if strings.HasSuffix(line, "= -1 ENOSYS (Function not implemented)") && !strings.HasPrefix(name, "syscall_") {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		return names
	}
	known := map[string]bool{} // the calls strace knows
	for _, n := range traced("all") {
		known[n] = true
	}
	for _, set := range []string{
		"/^open", "/stat", "!%file", "!!/^get", "?bogus,close,%ipc", "%net,%clock", "file,%desc",
		"0,1,2", "/^mm@64", "/^mm@32,read", "!none", "%%stat", "%creds,%pure", "?%bogus,?/^zzz,write",
	} {
		want := traced(set)
		s, err := ParseSet(set)
		require.NoError(t, err, set)
		var got []string
		for nr := uint64(0); nr < abi.SyscallCount; nr++ {
			if name := abi.SyscallName(nr); s.Has(nr) && known[name] {
				got = append(got, name)
			}
		}
		sort.Strings(got)
		assert.Equal(t, want, got, "set %q", set)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"openat:error=ENOENT:when=2..9+3", "%file:retval=0x10:signal=USR1", "!/^(get|set):delay_enter=1.5ms",
		"?x,%%stat@64:poke_enter=@arg1=dead,@arg2=00", "read:syscall=getpid:error=EIO", "all:delay_exit=1e20s",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, fault bool) {
		var s *Spec
		var err error
		if fault {
			s, err = ParseFault(text)
		} else {
			s, err = Parse(text)
		}
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(text, "\n") {
				t.Fatalf("error on several lines: %q", err)
			}
			return
		}
		if s.Error < 0 || s.Error > 4095 || s.Signal < 0 || s.Signal > abi.SIGRTMAX || s.DelayEnter < 0 || s.DelayExit < 0 {
			t.Fatalf("out of range: %+v", s)
		}
		if s.When.First == 0 {
			t.Fatalf("when starts at 0: %+v", s.When)
		}
		r := NewRules(s)
		var c Counter
		for nr := uint64(0); nr < abi.SyscallCount+2; nr++ {
			c.Next(r, nr)
		}
	})
}
