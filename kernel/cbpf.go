package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// bpfInsn is one classic BPF instruction, struct sock_filter.
type bpfInsn struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// bpfInsnSize is sizeof(struct sock_filter).
const bpfInsnSize = 8

// Classic BPF opcode fields and the codes a seccomp filter may use.
const (
	bpfLD   = 0x00
	bpfLDX  = 0x01
	bpfST   = 0x02
	bpfSTX  = 0x03
	bpfALU  = 0x04
	bpfJMP  = 0x05
	bpfRET  = 0x06
	bpfMISC = 0x07

	bpfW   = 0x00
	bpfIMM = 0x00
	bpfABS = 0x20
	bpfMEM = 0x60
	bpfLEN = 0x80

	bpfADD = 0x00
	bpfSUB = 0x10
	bpfMUL = 0x20
	bpfDIV = 0x30
	bpfOR  = 0x40
	bpfAND = 0x50
	bpfLSH = 0x60
	bpfRSH = 0x70
	bpfNEG = 0x80
	bpfMOD = 0x90
	bpfXOR = 0xa0

	bpfJA   = 0x00
	bpfJEQ  = 0x10
	bpfJGT  = 0x20
	bpfJGE  = 0x30
	bpfJSET = 0x40

	bpfK = 0x00
	bpfX = 0x08
	bpfA = 0x10

	bpfTAX = 0x00
	bpfTXA = 0x80
)

// seccompDataSize is sizeof(struct seccomp_data): nr, arch, instruction_pointer, args[6].
const seccompDataSize = 64

// decodeBPF reads n instructions from b.
func decodeBPF(b []byte) []bpfInsn {
	prog := make([]bpfInsn, len(b)/bpfInsnSize)
	for i := range prog {
		r := b[i*bpfInsnSize:]
		prog[i] = bpfInsn{code: binary.LittleEndian.Uint16(r), jt: r[2], jf: r[3], k: binary.LittleEndian.Uint32(r[4:])}
	}
	return prog
}

// seccompCode reports whether a seccomp filter may use code, and whether it is a
// conditional jump: Linux's seccomp_check_filter() list, which is narrower than what
// classic BPF allows elsewhere (no packet loads but 32-bit absolute ones, no MOD, no
// LDX MSH).
func seccompCode(code uint16) (ok, cond bool) {
	switch code {
	case bpfJMP | bpfJEQ | bpfK, bpfJMP | bpfJEQ | bpfX,
		bpfJMP | bpfJGE | bpfK, bpfJMP | bpfJGE | bpfX,
		bpfJMP | bpfJGT | bpfK, bpfJMP | bpfJGT | bpfX,
		bpfJMP | bpfJSET | bpfK, bpfJMP | bpfJSET | bpfX:
		return true, true
	case bpfLD | bpfW | bpfABS, bpfLD | bpfW | bpfLEN, bpfLDX | bpfW | bpfLEN,
		bpfRET | bpfK, bpfRET | bpfA,
		bpfALU | bpfADD | bpfK, bpfALU | bpfADD | bpfX,
		bpfALU | bpfSUB | bpfK, bpfALU | bpfSUB | bpfX,
		bpfALU | bpfMUL | bpfK, bpfALU | bpfMUL | bpfX,
		bpfALU | bpfDIV | bpfK, bpfALU | bpfDIV | bpfX,
		bpfALU | bpfAND | bpfK, bpfALU | bpfAND | bpfX,
		bpfALU | bpfOR | bpfK, bpfALU | bpfOR | bpfX,
		bpfALU | bpfXOR | bpfK, bpfALU | bpfXOR | bpfX,
		bpfALU | bpfLSH | bpfK, bpfALU | bpfLSH | bpfX,
		bpfALU | bpfRSH | bpfK, bpfALU | bpfRSH | bpfX,
		bpfALU | bpfNEG,
		bpfLD | bpfIMM, bpfLDX | bpfIMM,
		bpfMISC | bpfTAX, bpfMISC | bpfTXA,
		bpfLD | bpfMEM, bpfLDX | bpfMEM, bpfST, bpfSTX,
		bpfJMP | bpfJA:
		return true, false
	}
	return false, false
}

// checkSeccompBPF verifies a filter as Linux's bpf_check_classic() and
// seccomp_check_filter() do, EINVAL for anything they refuse: codes outside the seccomp
// list, division by a constant 0, constant shifts of 32 or more, scratch words past 15,
// jumps past the end (jumps only go forward, so every run ends), loads of seccomp_data
// that are unaligned or past its end, a last instruction that is not a return, and a
// scratch word read on some path before it is written.
func checkSeccompBPF(prog []bpfInsn) error {
	n := len(prog)
	if n == 0 || n > abi.BPF_MAXINSNS {
		return unix.EINVAL
	}
	for pc, in := range prog {
		ok, cond := seccompCode(in.code)
		if !ok {
			return unix.EINVAL
		}
		switch {
		case cond:
			if pc+int(in.jt)+1 >= n || pc+int(in.jf)+1 >= n {
				return unix.EINVAL
			}
		case in.code == bpfJMP|bpfJA:
			if in.k >= uint32(n-pc-1) {
				return unix.EINVAL
			}
		case in.code == bpfALU|bpfDIV|bpfK && in.k == 0:
			return unix.EINVAL
		case (in.code == bpfALU|bpfLSH|bpfK || in.code == bpfALU|bpfRSH|bpfK) && in.k >= 32:
			return unix.EINVAL
		case in.code == bpfLD|bpfMEM || in.code == bpfLDX|bpfMEM || in.code == bpfST || in.code == bpfSTX:
			if in.k >= abi.BPF_MEMWORDS {
				return unix.EINVAL
			}
		case in.code == bpfLD|bpfW|bpfABS:
			if in.k >= seccompDataSize || in.k&3 != 0 {
				return unix.EINVAL
			}
		}
	}
	if c := prog[n-1].code; c != bpfRET|bpfK && c != bpfRET|bpfA {
		return unix.EINVAL
	}
	// As Linux's check_load_and_stores(): the scratch words known written, carried
	// along straight code and met (intersected) at each jump target.
	masks := make([]uint16, n)
	for i := range masks {
		masks[i] = 0xffff
	}
	valid := uint16(0)
	for pc, in := range prog {
		valid &= masks[pc]
		_, cond := seccompCode(in.code)
		switch {
		case in.code == bpfST || in.code == bpfSTX:
			valid |= 1 << in.k
		case in.code == bpfLD|bpfMEM || in.code == bpfLDX|bpfMEM:
			if valid&(1<<in.k) == 0 {
				return unix.EINVAL
			}
		case in.code == bpfJMP|bpfJA:
			masks[pc+1+int(in.k)] &= valid
			valid = 0xffff
		case cond:
			masks[pc+1+int(in.jt)] &= valid
			masks[pc+1+int(in.jf)] &= valid
			valid = 0xffff
		}
	}
	return nil
}

// runSeccompBPF runs a verified filter over data, struct seccomp_data as 32-bit words.
// Jumps only go forward, so it runs at most len(prog) instructions. A division by a zero
// X returns 0, as Linux's translation of classic BPF does.
func runSeccompBPF(prog []bpfInsn, data *[seccompDataSize / 4]uint32) uint32 {
	var a, x uint32
	var mem [abi.BPF_MEMWORDS]uint32
	for pc := 0; pc < len(prog); pc++ {
		in := &prog[pc]
		switch in.code {
		case bpfLD | bpfW | bpfABS:
			a = data[in.k/4]
		case bpfLD | bpfW | bpfLEN:
			a = seccompDataSize
		case bpfLDX | bpfW | bpfLEN:
			x = seccompDataSize
		case bpfLD | bpfIMM:
			a = in.k
		case bpfLDX | bpfIMM:
			x = in.k
		case bpfLD | bpfMEM:
			a = mem[in.k]
		case bpfLDX | bpfMEM:
			x = mem[in.k]
		case bpfST:
			mem[in.k] = a
		case bpfSTX:
			mem[in.k] = x
		case bpfMISC | bpfTAX:
			x = a
		case bpfMISC | bpfTXA:
			a = x
		case bpfRET | bpfK:
			return in.k
		case bpfRET | bpfA:
			return a
		case bpfJMP | bpfJA:
			pc += int(in.k)
		case bpfALU | bpfNEG:
			a = -a
		default:
			v := in.k
			if in.code&bpfX != 0 {
				v = x
			}
			if in.code&0x07 == bpfJMP {
				var t bool
				switch in.code & 0xf0 {
				case bpfJEQ:
					t = a == v
				case bpfJGT:
					t = a > v
				case bpfJGE:
					t = a >= v
				case bpfJSET:
					t = a&v != 0
				}
				if t {
					pc += int(in.jt)
				} else {
					pc += int(in.jf)
				}
				continue
			}
			switch in.code & 0xf0 {
			case bpfADD:
				a += v
			case bpfSUB:
				a -= v
			case bpfMUL:
				a *= v
			case bpfDIV:
				if v == 0 {
					return 0
				}
				a /= v
			case bpfAND:
				a &= v
			case bpfOR:
				a |= v
			case bpfXOR:
				a ^= v
			case bpfLSH:
				a <<= v & 31
			case bpfRSH:
				a >>= v & 31
			}
		}
	}
	return 0 // not reached: a verified program ends in a return
}

// ebpfLen is how many instructions Linux's bpf_convert_filter() makes of a verified
// seccomp program: the limit on a stack of filters (MAX_INSNS_PER_PATH) counts those. A
// prologue of 3 (clear A and X, keep the context); a return is a move and an exit; a
// division by X checks X first (3 more); a conditional jump is one jump when either
// branch is the next instruction (but for JSET, only the false one) and a jump and a JA
// otherwise, with a move before it when its constant is negative as an int.
func ebpfLen(prog []bpfInsn) int {
	n := 3
	for _, in := range prog {
		_, cond := seccompCode(in.code)
		switch {
		case in.code == bpfRET|bpfK || in.code == bpfRET|bpfA:
			n += 2
		case in.code == bpfALU|bpfDIV|bpfX:
			n += 4
		case cond:
			if in.code&bpfX == 0 && int32(in.k) < 0 {
				n++
			}
			if in.jf == 0 || (in.jt == 0 && in.code&0xf0 != bpfJSET) {
				n++
			} else {
				n += 2
			}
		default:
			n++
		}
	}
	return n
}
