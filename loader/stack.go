package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Aux is one auxiliary vector entry.
type Aux struct{ Type, Val uint64 }

// Auxiliary vector entry types on x86-64.
const (
	AT_NULL              = 0
	AT_IGNORE            = 1
	AT_EXECFD            = 2
	AT_PHDR              = 3
	AT_PHENT             = 4
	AT_PHNUM             = 5
	AT_PAGESZ            = 6
	AT_BASE              = 7
	AT_FLAGS             = 8
	AT_ENTRY             = 9
	AT_NOTELF            = 10
	AT_UID               = 11
	AT_EUID              = 12
	AT_GID               = 13
	AT_EGID              = 14
	AT_PLATFORM          = 15
	AT_HWCAP             = 16
	AT_CLKTCK            = 17
	AT_SECURE            = 23
	AT_BASE_PLATFORM     = 24
	AT_RANDOM            = 25
	AT_HWCAP2            = 26
	AT_RSEQ_FEATURE_SIZE = 27
	AT_RSEQ_ALIGN        = 28
	AT_EXECFN            = 31
	AT_SYSINFO_EHDR      = 33
	AT_MINSIGSTKSZ       = 51
)

// ErrArgListTooLong is wrapped by Stack's error when the arguments and
// environment do not fit (the kernel answers E2BIG).
var ErrArgListTooLong = errors.New("argument list too long")

const (
	// MaxArgStrlen is Linux's MAX_ARG_STRLEN: one string, with its NUL.
	MaxArgStrlen = 32 * pageSize
	// argMax is Linux's ARG_MAX, the least room strings ever get.
	argMax = 32 * pageSize
	// stkLim is Linux's _STK_LIM, the default stack rlimit.
	stkLim = 8 << 20
)

// ArgLimit is the room Linux's execve gives the strings of argv, envp and the file name
// with the argv and envp pointers, under a stack rlimit of stackLimit (as
// bprm_stack_limits): a quarter of the rlimit, at most three quarters of _STK_LIM, and
// never less than ARG_MAX.
func ArgLimit(stackLimit uint64) uint64 {
	return max(min(stkLim/4*3, stackLimit/4), argMax)
}

// CheckArgs says whether execfn, argv and envp fit in limit as Linux's execve counts
// them: each string with its NUL at most MaxArgStrlen; all the strings, and a pointer for
// each of argv (one at least) and envp, at most limit. Its error wraps
// ErrArgListTooLong.
func CheckArgs(execFn string, argv, envp []string, limit uint64) error {
	ptrs := (uint64(max(len(argv), 1)) + uint64(len(envp))) * 8
	if ptrs >= limit {
		return fmt.Errorf("stack: %d pointers exceed %d bytes: %w", len(argv)+len(envp), limit, ErrArgListTooLong)
	}
	room := limit - ptrs
	add := func(what string, i int, v string) error {
		n := uint64(len(v)) + 1
		if n > MaxArgStrlen {
			return fmt.Errorf("stack: %s[%d] is %d bytes, more than %d: %w", what, i, n, MaxArgStrlen, ErrArgListTooLong)
		}
		if n > room {
			return fmt.Errorf("stack: strings and pointers exceed %d bytes at %s[%d]: %w", limit, what, i, ErrArgListTooLong)
		}
		room -= n
		return nil
	}
	if err := add("execfn", 0, execFn); err != nil {
		return err
	}
	for i, e := range envp {
		if err := add("envp", i, e); err != nil {
			return err
		}
	}
	for i, a := range argv {
		if err := add("argv", i, a); err != nil {
			return err
		}
	}
	return nil
}

// StackSpec says what goes on the initial stack.
type StackSpec struct {
	Top      uint64 // highest address of the stack mapping (exclusive); the block is built just below it
	Argv     []string
	Envp     []string
	ExecFn   string   // string AT_EXECFN points to
	Platform string   // string AT_PLATFORM points to ("x86_64"); empty omits AT_PLATFORM
	Random   [16]byte // bytes AT_RANDOM points to
	// Auxv are the entries in order, without AT_RANDOM, AT_PLATFORM,
	// AT_EXECFN and AT_NULL, which Stack appends in that order.
	Auxv []Aux
	// Tail are entries that follow AT_PLATFORM, as Linux puts AT_RSEQ_FEATURE_SIZE
	// and AT_RSEQ_ALIGN last.
	Tail []Aux
	// ArgLimit bounds the strings and pointers as CheckArgs does; 0 means ArgLimit of
	// the default 8 MiB stack rlimit.
	ArgLimit uint64
}

// StringArea returns where Stack, for these top, strings and execfn, puts the argument
// strings ([argStart, envStart)) and the environment's ([envStart, envEnd)): the ranges
// Linux keeps as the process's arg_start, arg_end, env_start and env_end.
func StringArea(top uint64, argv, envp []string, execFn string) (argStart, envStart, envEnd uint64) {
	envEnd = top - 8 - uint64(len(execFn)) - 1
	envStart = envEnd
	for _, e := range envp {
		envStart -= uint64(len(e)) + 1
	}
	argStart = envStart
	for _, a := range argv {
		argStart -= uint64(len(a)) + 1
	}
	return argStart, envStart, envEnd
}

// Stack lays out the initial stack as Linux's create_elf_tables() does, from
// Top downwards: a zero word, the execfn string, the envp and argv strings
// (argv[0] lowest), 16-byte alignment, the platform string, the 16 random
// bytes, padding, then auxv, envp pointers and NULL, argv pointers and NULL,
// and argc at sp, which is 16-byte aligned. The returned bytes belong at
// [sp, Top).
func Stack(s StackSpec) (b []byte, sp uint64, err error) {
	for _, l := range []struct {
		what string
		v    []string
	}{{"execfn", []string{s.ExecFn}}, {"platform", []string{s.Platform}}, {"argv", s.Argv}, {"envp", s.Envp}} {
		for i, v := range l.v {
			if strings.IndexByte(v, 0) >= 0 {
				return nil, 0, fmt.Errorf("stack: %s[%d] contains a NUL byte", l.what, i)
			}
		}
	}
	limit := s.ArgLimit
	if limit == 0 {
		limit = ArgLimit(stkLim)
	}
	if err := CheckArgs(s.ExecFn, s.Argv, s.Envp, limit); err != nil {
		return nil, 0, err
	}
	if len(s.Platform) > 64 {
		return nil, 0, fmt.Errorf("stack: platform %q is too long", s.Platform)
	}
	total := uint64(len(s.ExecFn)+len(s.Platform)) + 2
	for _, v := range slices.Concat(s.Argv, s.Envp) {
		total += uint64(len(v)) + 1
	}
	for i, a := range slices.Concat(s.Auxv, s.Tail) {
		switch a.Type {
		case AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM:
			return nil, 0, fmt.Errorf("stack: auxv[%d] has type %d, which Stack adds itself", i, a.Type)
		}
	}
	if len(s.Auxv)+len(s.Tail) > 256 {
		return nil, 0, fmt.Errorf("stack: %d auxv entries are too many", len(s.Auxv)+len(s.Tail))
	}

	// Addresses from Top downwards, as offsets below Top first.
	aux := append([]Aux(nil), s.Auxv...)
	nAux := uint64(len(aux)+len(s.Tail)) + 3 // AT_RANDOM, AT_EXECFN, AT_NULL
	if s.Platform != "" {
		nAux++
	}
	items := uint64(len(s.Argv)+1) + uint64(len(s.Envp)+1) + 1 + 2*nAux
	// strings + zero word + alignment + platform + random + alignment + items:
	// bounded by the limit (at most 6 MiB) plus small change, so no overflow below.
	worst := total + 8 + 15 + 16 + 15 + items*8
	if s.Top < worst {
		return nil, 0, fmt.Errorf("stack: top %#x is too low for %#x bytes", s.Top, worst)
	}

	p := s.Top - 8 // Linux leaves the top word zero (bprm->p = vm_end - sizeof(void *))
	type put struct {
		addr uint64
		str  string
	}
	var puts []put
	pushStr := func(v string) uint64 {
		p -= uint64(len(v)) + 1
		puts = append(puts, put{p, v})
		return p
	}
	execfn := pushStr(s.ExecFn)
	// copy_strings() copies from the last string down, so the first lands lowest.
	envAddr := make([]uint64, len(s.Envp))
	for i := len(s.Envp) - 1; i >= 0; i-- {
		envAddr[i] = pushStr(s.Envp[i])
	}
	argAddr := make([]uint64, len(s.Argv))
	for i := len(s.Argv) - 1; i >= 0; i-- {
		argAddr[i] = pushStr(s.Argv[i])
	}
	p &^= 15 // arch_align_stack(), without its random offset
	var platform uint64
	if s.Platform != "" {
		platform = pushStr(s.Platform)
	}
	p -= 16
	random := p
	sp = (p - items*8) &^ 15

	aux = append(aux, Aux{AT_RANDOM, random}, Aux{AT_EXECFN, execfn})
	if s.Platform != "" {
		aux = append(aux, Aux{AT_PLATFORM, platform})
	}
	aux = append(aux, s.Tail...)
	aux = append(aux, Aux{AT_NULL, 0})

	b = make([]byte, s.Top-sp)
	le := binary.LittleEndian
	w := b
	word := func(v uint64) {
		le.PutUint64(w, v)
		w = w[8:]
	}
	word(uint64(len(s.Argv)))
	for _, a := range argAddr {
		word(a)
	}
	word(0)
	for _, e := range envAddr {
		word(e)
	}
	word(0)
	for _, a := range aux {
		word(a.Type)
		word(a.Val)
	}
	for _, q := range puts {
		copy(b[q.addr-sp:], q.str) // the NUL is already there
	}
	copy(b[random-sp:], s.Random[:])
	return b, sp, nil
}
