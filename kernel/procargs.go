package kernel

import (
	"bytes"

	"vemu/kernel/mm"
)

// argArea is where a process's argument and environment strings lie in its memory:
// Linux's arg_start, arg_end, env_start and env_end, set by exec. /proc/PID/cmdline and
// environ read that memory, so a program that rewrites its arguments (setproctitle, as
// daemons name their workers) shows its new text in ps. A zero area (no exec laid it out)
// falls back to the strings exec was given.
type argArea struct {
	argStart, argEnd, envStart, envEnd uint64
}

// maxArgArea bounds one rendering: exec's strings are never longer (loader.ArgLimit
// allows at most 6 MiB).
const maxArgArea = 8 << 20

// readArea reads [start, end) of s, stopping at the first byte that is not mapped.
func readArea(s *mm.Space, start, end uint64) []byte {
	if end <= start {
		return nil
	}
	b := make([]byte, min(end-start, maxArgArea))
	return b[:s.Peek(mm.Addr(start), b)]
}

// cmdline renders /proc/PID/cmdline as Linux's get_mm_cmdline(): the argument area;
// but when the byte that ended it is no longer NUL, the program has written a title
// over it, which may run on into the environment's area: the text from the start up to
// and with the first NUL, or all of both areas without one.
func (a argArea) cmdline(s *mm.Space) []byte {
	if a.argEnd == 0 || a.argStart >= a.argEnd {
		return nil
	}
	end := a.envEnd
	if a.envStart != a.argEnd || a.envEnd < a.envStart {
		end = a.argEnd
	}
	var last [1]byte
	if s.Peek(mm.Addr(a.argEnd-1), last[:]) == 1 && last[0] != 0 {
		b := readArea(s, a.argStart, end)
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i+1]
		}
		return b
	}
	return readArea(s, a.argStart, a.argEnd)
}

// environ renders /proc/PID/environ: the environment's area as it is now.
func (a argArea) environ(s *mm.Space) []byte {
	return readArea(s, a.envStart, a.envEnd)
}

// cmdlineNow is p's /proc/PID/cmdline, read on p's loop.
func (p *Process) cmdlineNow() []byte {
	if p.strs.argEnd == 0 {
		return []byte(joinNul(p.argv))
	}
	return p.strs.cmdline(p.mm)
}

// environNow is p's /proc/PID/environ, read on p's loop.
func (p *Process) environNow() []byte {
	if p.strs.envEnd == 0 {
		return []byte(joinNul(p.envp))
	}
	return p.strs.environ(p.mm)
}

// joinNul is the strings each ended by a NUL.
func joinNul(v []string) string {
	var b bytes.Buffer
	for _, s := range v {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}
