package vdsoimage

import (
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// decodeAll decodes code starting at image address base.
func decodeAll(t *testing.T, code []byte, base uint64) map[uint64]x86asm.Inst {
	t.Helper()
	insts := map[uint64]x86asm.Inst{}
	for pc := 0; pc < len(code); {
		inst, err := x86asm.Decode(code[pc:], 64)
		if err != nil {
			t.Fatalf("decode at %#x: %v", base+uint64(pc), err)
		}
		insts[base+uint64(pc)] = inst
		pc += inst.Len
	}
	return insts
}

func TestCodeDecodes(t *testing.T) {
	im := build(t)
	text := im.Bytes[im.TextOffset : im.TextOffset+im.TextSize]
	all := decodeAll(t, text, im.TextOffset)

	for _, fn := range im.functions() {
		code, ok := im.Function(fn.Name)
		if !ok {
			t.Fatalf("Function(%s) missing", fn.Name)
		}
		insts := decodeAll(t, code, fn.Value)
		n := 0
		for addr, inst := range insts {
			n += inst.Len
			if _, ok := all[addr]; !ok {
				t.Errorf("%s: instruction at %#x is not on the .text decoding's boundaries", fn.Name, addr)
			}
			// Every jump stays inside its function.
			if rel, ok := inst.Args[0].(x86asm.Rel); ok {
				target := addr + uint64(inst.Len) + uint64(int64(rel))
				if target < fn.Value || target >= fn.Value+fn.Size {
					t.Errorf("%s: %v at %#x jumps to %#x, outside the function", fn.Name, inst.Op, addr, target)
				}
			}
			// Every memory operand is rip-relative into the first vvar page or
			// based on a register.
			for _, a := range inst.Args {
				m, ok := a.(x86asm.Mem)
				if !ok || m.Base != x86asm.RIP {
					continue
				}
				target := int64(int32(uint32(addr + uint64(inst.Len) + uint64(m.Disp))))
				if target < -VVarSize || target >= -VVarSize+VVarEnd {
					t.Errorf("%s: %v at %#x reads %#x, outside the vvar data", fn.Name, inst.Op, addr, target)
				}
			}
		}
		if uint64(n) != fn.Size {
			t.Errorf("%s: decoded %d bytes, symbol size %d", fn.Name, n, fn.Size)
		}
		var lastAddr uint64
		for addr := range insts {
			lastAddr = max(lastAddr, addr)
		}
		last := insts[lastAddr]
		if last.Op != x86asm.RET && last.Op != x86asm.JMP {
			t.Errorf("%s ends with %v", fn.Name, last.Op)
		}
	}

	count := map[x86asm.Op]int{}
	for _, inst := range all {
		count[inst.Op]++
	}
	if count[x86asm.RDTSC] != len(im.CounterReads) {
		t.Errorf("%d rdtsc in .text, CounterReads has %d", count[x86asm.RDTSC], len(im.CounterReads))
	}
	if count[x86asm.SYSCALL] != len(im.Syscalls) {
		t.Errorf("%d syscall in .text, Syscalls has %d", count[x86asm.SYSCALL], len(im.Syscalls))
	}
	for _, off := range im.CounterReads {
		if all[off].Op != x86asm.RDTSC {
			t.Errorf("CounterReads %#x is %v", off, all[off].Op)
		}
		if prev, ok := all[off-3]; !ok || prev.Op != x86asm.LFENCE {
			t.Errorf("rdtsc at %#x is not preceded by lfence", off)
		}
	}
	for _, off := range im.Syscalls {
		if all[off].Op != x86asm.SYSCALL {
			t.Errorf("Syscalls %#x is %v", off, all[off].Op)
		}
	}
	if len(im.CounterReads) != 2 || len(im.Syscalls) != 3 {
		t.Errorf("%d counter reads and %d syscalls, want 2 and 3", len(im.CounterReads), len(im.Syscalls))
	}
}

// TestCallerSavedOnly checks statically that no instruction writes a
// callee-saved register or the stack pointer.
func TestCallerSavedOnly(t *testing.T) {
	im := build(t)
	calleeSaved := map[x86asm.Reg]bool{}
	for _, r := range []x86asm.Reg{x86asm.RBX, x86asm.RBP, x86asm.RSP, x86asm.R12, x86asm.R13, x86asm.R14, x86asm.R15,
		x86asm.EBX, x86asm.EBP, x86asm.ESP, x86asm.R12L, x86asm.R13L, x86asm.R14L, x86asm.R15L} {
		calleeSaved[r] = true
	}
	for addr, inst := range decodeAll(t, im.Bytes[im.TextOffset:im.TextOffset+im.TextSize], im.TextOffset) {
		switch inst.Op {
		case x86asm.PUSH, x86asm.POP, x86asm.CALL, x86asm.LEAVE, x86asm.ENTER:
			t.Errorf("%#x: %v", addr, inst.Op)
		}
		// Intel order: the first operand is the destination.
		if r, ok := inst.Args[0].(x86asm.Reg); ok && calleeSaved[r] {
			switch inst.Op {
			case x86asm.CMP, x86asm.TEST, x86asm.BT:
			default:
				t.Errorf("%#x: %v writes %v", addr, inst.Op, r)
			}
		}
	}
}

func TestDisasm(t *testing.T) {
	im := build(t)
	out, err := Disasm(im)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"__vdso_clock_gettime:", "__vdso_getcpu:", "rdtsc", "syscall",
		"dword ptr [vvar.seq]", "qword ptr [vvar.cycle_last]", "qword ptr [vvar.cpu]"} {
		if !strings.Contains(out, want) {
			t.Errorf("Disasm output lacks %q", want)
		}
	}
	lines := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  0x") {
			lines++
		}
	}
	if lines < 50 {
		t.Errorf("Disasm printed only %d instructions", lines)
	}
}
