package kernel

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
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

// prctlMMMapSize is sizeof(struct prctl_mm_map): eleven addresses, the auxv pointer, its
// size and exe_fd.
const prctlMMMapSize = 11*8 + 8 + 4 + 4

// prctlSetMM is prctl(PR_SET_MM) as Linux's prctl_set_mm(): the argument checks, the
// size of struct prctl_mm_map, then CAP_SYS_RESOURCE for every single field. Of the
// fields, those of the argument and environment areas move what /proc/PID/cmdline and
// environ read, checked as validate_prctl_map_addr() checks them (inside the address
// space above vm.mmap_min_addr, each area's start below its end); the others, and
// PR_SET_MM_MAP, are not supported (EINVAL).
func (t *Task) prctlSetMM(a Args) (uint64, error) {
	opt, addr := a[1], a[2]
	if a[4] != 0 || a[3] != 0 && opt != abi.PR_SET_MM_AUXV && opt != abi.PR_SET_MM_MAP && opt != abi.PR_SET_MM_MAP_SIZE {
		return 0, unix.EINVAL
	}
	switch opt {
	case abi.PR_SET_MM_MAP_SIZE:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], prctlMMMapSize)
		return 0, t.p.mm.CopyOut(mm.Addr(addr), b[:])
	case abi.PR_SET_MM_MAP:
		if a[3] != prctlMMMapSize {
			return 0, unix.EINVAL
		}
		var b [prctlMMMapSize]byte
		if err := t.p.mm.CopyIn(mm.Addr(addr), b[:]); err != nil {
			return 0, err
		}
		return 0, unix.EINVAL
	}
	if !t.p.creds.capable(capSysResource) {
		return 0, unix.EPERM
	}
	s := t.p.strs
	if s.argEnd == 0 {
		return 0, unix.EINVAL // no exec laid the areas out
	}
	switch opt {
	case abi.PR_SET_MM_ARG_START:
		s.argStart = addr
	case abi.PR_SET_MM_ARG_END:
		s.argEnd = addr
	case abi.PR_SET_MM_ENV_START:
		s.envStart = addr
	case abi.PR_SET_MM_ENV_END:
		s.envEnd = addr
	default:
		return 0, unix.EINVAL
	}
	for _, v := range []uint64{s.argStart, s.argEnd, s.envStart, s.envEnd} {
		if v < uint64(mm.MinAddr) || v >= uint64(mm.TaskSize) {
			return 0, unix.EINVAL
		}
	}
	if s.argStart >= s.argEnd || s.envStart >= s.envEnd {
		return 0, unix.EINVAL
	}
	t.p.strs = s
	return 0, nil
}
