package kernel

import (
	"math/rand"
	"testing"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

func ret(k uint32) bpfInsn { return bpfInsn{code: bpfRET | bpfK, k: k} }

func TestSeccompBPFCheck(t *testing.T) {
	cases := []struct {
		name string
		prog []bpfInsn
		ok   bool
	}{
		{"allow", []bpfInsn{ret(abi.SECCOMP_RET_ALLOW)}, true},
		{"empty", nil, false},
		{"no-return-last", []bpfInsn{ret(0), {code: bpfLD | bpfIMM}}, false},
		{"jump-forward", []bpfInsn{{code: bpfJMP | bpfJEQ | bpfK, jt: 1}, ret(1), ret(2)}, true},
		{"jump-past-end", []bpfInsn{{code: bpfJMP | bpfJEQ | bpfK, jt: 2}, ret(1), ret(2)}, false},
		{"ja-past-end", []bpfInsn{{code: bpfJMP | bpfJA, k: 1}, ret(1)}, false},
		{"ja-huge", []bpfInsn{{code: bpfJMP | bpfJA, k: 0xffffffff}, ret(1)}, false},
		{"load-nr", []bpfInsn{{code: bpfLD | bpfW | bpfABS, k: 0}, {code: bpfRET | bpfA}}, true},
		{"load-last-arg-high", []bpfInsn{{code: bpfLD | bpfW | bpfABS, k: 60}, ret(0)}, true},
		{"load-past-end", []bpfInsn{{code: bpfLD | bpfW | bpfABS, k: 64}, ret(0)}, false},
		{"load-unaligned", []bpfInsn{{code: bpfLD | bpfW | bpfABS, k: 1}, ret(0)}, false},
		{"load-half", []bpfInsn{{code: 0x28}, ret(0)}, false},
		{"mod", []bpfInsn{{code: bpfALU | bpfMOD | bpfK, k: 2}, ret(0)}, false},
		{"div-zero-k", []bpfInsn{{code: bpfALU | bpfDIV | bpfK}, ret(0)}, false},
		{"lsh-32", []bpfInsn{{code: bpfALU | bpfLSH | bpfK, k: 32}, ret(0)}, false},
		{"rsh-31", []bpfInsn{{code: bpfALU | bpfRSH | bpfK, k: 31}, ret(0)}, true},
		{"mem-16", []bpfInsn{{code: bpfST, k: 16}, ret(0)}, false},
		{"mem-unwritten", []bpfInsn{{code: bpfLD | bpfMEM, k: 3}, ret(0)}, false},
		{"mem-written", []bpfInsn{{code: bpfST, k: 3}, {code: bpfLDX | bpfMEM, k: 3}, ret(0)}, true},
		{"mem-one-path", []bpfInsn{{code: bpfJMP | bpfJEQ | bpfK, jf: 1}, {code: bpfST, k: 1}, {code: bpfLD | bpfMEM, k: 1}, ret(0)}, false},
		{"mem-both-paths", []bpfInsn{{code: bpfST, k: 1}, {code: bpfJMP | bpfJEQ | bpfK, jf: 1}, {code: bpfST, k: 1}, {code: bpfLD | bpfMEM, k: 1}, ret(0)}, true},
		{"unknown", []bpfInsn{{code: 0xffff}, ret(0)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkSeccompBPF(c.prog)
			if c.ok && err != nil || !c.ok && err != unix.EINVAL {
				t.Fatalf("check = %v, want ok=%v", err, c.ok)
			}
		})
	}
	long := make([]bpfInsn, abi.BPF_MAXINSNS+1)
	for i := range long {
		long[i] = ret(0)
	}
	if checkSeccompBPF(long) != unix.EINVAL || checkSeccompBPF(long[1:]) != nil {
		t.Fatal("the 4096-instruction limit")
	}
}

func TestSeccompBPFRun(t *testing.T) {
	var data [seccompDataSize / 4]uint32
	data[0], data[1], data[4], data[5] = 39, abi.AUDIT_ARCH_X86_64, 7, 1
	cases := []struct {
		name string
		prog []bpfInsn
		want uint32
	}{
		{"nr", []bpfInsn{{code: bpfLD | bpfW | bpfABS}, {code: bpfRET | bpfA}}, 39},
		{"arch", []bpfInsn{{code: bpfLD | bpfW | bpfABS, k: 4}, {code: bpfJMP | bpfJEQ | bpfK, jt: 1, k: abi.AUDIT_ARCH_X86_64}, ret(1), ret(2)}, 2},
		{"arg0-high", []bpfInsn{{code: bpfLD | bpfW | bpfABS, k: 20}, {code: bpfRET | bpfA}}, 1},
		{"len", []bpfInsn{{code: bpfLD | bpfW | bpfLEN}, {code: bpfRET | bpfA}}, 64},
		{"div-x-zero", []bpfInsn{{code: bpfLD | bpfIMM, k: 9}, {code: bpfALU | bpfDIV | bpfX}, ret(5)}, 0},
		{"arith", []bpfInsn{{code: bpfLD | bpfIMM, k: 10}, {code: bpfLDX | bpfIMM, k: 3}, {code: bpfALU | bpfMUL | bpfX},
			{code: bpfALU | bpfSUB | bpfK, k: 2}, {code: bpfALU | bpfDIV | bpfK, k: 4}, {code: bpfALU | bpfLSH | bpfK, k: 4},
			{code: bpfALU | bpfOR | bpfK, k: 1}, {code: bpfALU | bpfXOR | bpfK, k: 3}, {code: bpfALU | bpfAND | bpfK, k: 0xff}, {code: bpfRET | bpfA}}, (((10*3-2)/4)<<4 | 1) ^ 3},
		{"neg", []bpfInsn{{code: bpfLD | bpfIMM, k: 1}, {code: bpfALU | bpfNEG}, {code: bpfRET | bpfA}}, 0xffffffff},
		{"jset", []bpfInsn{{code: bpfLD | bpfW | bpfABS, k: 16}, {code: bpfJMP | bpfJSET | bpfK, k: 4, jt: 1}, ret(1), ret(2)}, 2},
		{"jgt-x", []bpfInsn{{code: bpfLDX | bpfIMM, k: 38}, {code: bpfLD | bpfW | bpfABS}, {code: bpfJMP | bpfJGT | bpfX, jt: 1}, ret(1), ret(2)}, 2},
		{"jge-k", []bpfInsn{{code: bpfLD | bpfW | bpfABS}, {code: bpfJMP | bpfJGE | bpfK, k: 40, jt: 1}, ret(1), ret(2)}, 1},
		{"mem-tax-txa", []bpfInsn{{code: bpfLD | bpfIMM, k: 6}, {code: bpfST, k: 15}, {code: bpfLDX | bpfMEM, k: 15},
			{code: bpfLD | bpfIMM}, {code: bpfMISC | bpfTXA}, {code: bpfMISC | bpfTAX}, {code: bpfALU | bpfADD | bpfX}, {code: bpfRET | bpfA}}, 12},
		{"ja", []bpfInsn{{code: bpfJMP | bpfJA, k: 1}, ret(1), ret(2)}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := checkSeccompBPF(c.prog); err != nil {
				t.Fatalf("check: %v", err)
			}
			if got := runSeccompBPF(c.prog, &data); got != c.want {
				t.Fatalf("run = %#x, want %#x", got, c.want)
			}
		})
	}
}

// TestSeccompBPFGarbage feeds random programs to the checker, and runs the ones it
// accepts: neither may panic, and a run never takes more steps than the program has.
func TestSeccompBPFGarbage(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	codes := []uint16{bpfLD | bpfW | bpfABS, bpfRET | bpfK, bpfRET | bpfA, bpfJMP | bpfJEQ | bpfK, bpfJMP | bpfJA,
		bpfALU | bpfDIV | bpfX, bpfST, bpfLD | bpfMEM, bpfALU | bpfLSH | bpfX, bpfMISC | bpfTAX}
	var data [seccompDataSize / 4]uint32
	accepted := 0
	for range 20000 {
		prog := make([]bpfInsn, 1+r.Intn(12))
		for i := range prog {
			in := bpfInsn{code: uint16(r.Intn(0x100)), jt: uint8(r.Intn(4)), jf: uint8(r.Intn(4)), k: r.Uint32()}
			if r.Intn(2) == 0 {
				in.code = codes[r.Intn(len(codes))]
				in.k %= 70
			}
			prog[i] = in
		}
		if checkSeccompBPF(prog) == nil {
			accepted++
			runSeccompBPF(prog, &data)
		}
	}
	if accepted == 0 {
		t.Fatal("no random program was accepted: the test checks nothing")
	}
}

// TestEBPFLen checks the lengths Linux's conversion gives, as measured by how many
// filters a stack takes before ENOMEM (testdata/c/seccomp.c's "stack" case).
func TestEBPFLen(t *testing.T) {
	if n := ebpfLen([]bpfInsn{ret(0)}); n != 5 {
		t.Errorf("return only: %d, want 5", n)
	}
	prog := make([]bpfInsn, 4096)
	for i := range prog {
		prog[i] = bpfInsn{code: bpfALU | bpfADD | bpfK, k: 1}
	}
	prog[4095] = ret(0)
	if n := ebpfLen(prog); n != 4100 {
		t.Errorf("4095 adds and a return: %d, want 4100", n)
	}
	jumps := []bpfInsn{
		{code: bpfJMP | bpfJEQ | bpfK, jt: 1, k: abi.AUDIT_ARCH_X86_64}, // negative constant: +1
		{code: bpfJMP | bpfJEQ | bpfK, jt: 1, jf: 1},                    // neither next: 2
		{code: bpfJMP | bpfJSET | bpfK, jf: 1},                          // JSET, true next: 2
		{code: bpfJMP | bpfJGT | bpfX, jf: 1},                           // true next: 1
	}
	if n := ebpfLen(jumps); n != 3+2+2+2+1 {
		t.Errorf("jumps: %d, want 10", n)
	}
}
