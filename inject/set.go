package inject

import (
	"fmt"
	"regexp"
	"strings"

	"vemu/abi"
)

// Set is a set of x86-64 system call numbers.
type Set [(abi.SyscallCount + 63) / 64]uint64

// Has reports whether nr is in the set.
func (s *Set) Has(nr uint64) bool {
	return nr < abi.SyscallCount && s[nr/64]&(1<<(nr%64)) != 0
}

func (s *Set) add(nr uint64) { s[nr/64] |= 1 << (nr % 64) }

// invert complements the set within the numbers the table names.
func (s *Set) invert() {
	for nr := uint64(0); nr < abi.SyscallCount; nr++ {
		if abi.Syscalls[nr].Name != "" {
			s[nr/64] ^= 1 << (nr % 64)
		}
	}
}

// Len is the number of calls in the set.
func (s *Set) Len() int {
	n := 0
	for nr := uint64(0); nr < abi.SyscallCount; nr++ {
		if s.Has(nr) {
			n++
		}
	}
	return n
}

// ParseSet parses a syscall set as strace's -e trace= takes it: [!]...VALUE[,VALUE...],
// each VALUE a name, a number, %CLASS (or a class's legacy bare name), /REGEX, "all" or
// "none" alone, with a leading ? to ignore a value that matches nothing and an optional
// @64, @32 or @x32 personality (only 64 selects anything here).
func ParseSet(text string) (Set, error) {
	var s Set
	rest := text
	invert := false
	for strings.HasPrefix(rest, "!") {
		invert = !invert
		rest = rest[1:]
	}
	switch rest {
	case "none":
	case "all":
		s.invert()
	default:
		seen := false
		for _, tok := range strings.Split(rest, ",") {
			if tok == "" {
				continue
			}
			seen = true
			if err := s.addToken(tok); err != nil {
				return s, err
			}
		}
		if !seen {
			return s, fmt.Errorf("invalid system call %q", rest)
		}
	}
	if invert {
		s.invert()
	}
	return s, nil
}

// addToken adds one VALUE of a set.
func (s *Set) addToken(tok string) error {
	orig := tok
	optional := false
	for strings.HasPrefix(tok, "?") {
		optional, tok = true, tok[1:]
	}
	ours := true
	if i := strings.LastIndexByte(tok, '@'); i >= 0 {
		switch tok[i+1:] {
		case "64":
		case "32", "x32":
			ours = false
		default:
			return fmt.Errorf("incorrect personality designator %q in %q", tok[i+1:], orig)
		}
		tok = tok[:i]
	}
	var found []uint64
	switch {
	case strings.HasPrefix(tok, "/"):
		re, err := regexp.Compile(tok[1:])
		if err != nil {
			return fmt.Errorf("invalid regular expression %q: %v", tok[1:], err)
		}
		for nr := range abi.Syscalls {
			if n := abi.Syscalls[nr].Name; n != "" && re.MatchString(n) {
				found = append(found, uint64(nr))
			}
		}
	case strings.HasPrefix(tok, "%"):
		if c, ok := abi.ClassNames[tok[1:]]; ok {
			found = classMembers(c)
		}
	default:
		if nr, ok := syscallByName(tok); ok {
			found = []uint64{uint64(nr)}
		} else if nr, rest, ok := leadingUint(tok); ok && rest == "" && tok[0] >= '0' && tok[0] <= '9' && abi.SyscallName(nr) != "" {
			found = []uint64{nr}
		} else {
			for _, legacy := range abi.LegacyClassNames {
				if tok == legacy {
					found = classMembers(abi.ClassNames[legacy])
				}
			}
		}
	}
	if len(found) == 0 {
		if optional {
			return nil
		}
		return fmt.Errorf("invalid system call %q", orig)
	}
	if ours {
		for _, nr := range found {
			s.add(nr)
		}
	}
	return nil
}

func classMembers(c abi.Class) []uint64 {
	var nrs []uint64
	for nr := uint64(0); nr < abi.SyscallCount; nr++ {
		if abi.SyscallClasses(nr)&c != 0 {
			nrs = append(nrs, nr)
		}
	}
	return nrs
}

// syscallByName returns the number of the system call named name.
func syscallByName(name string) (int, bool) {
	if name == "" {
		return 0, false
	}
	for nr := range abi.Syscalls {
		if abi.Syscalls[nr].Name == name {
			return nr, true
		}
	}
	return 0, false
}
