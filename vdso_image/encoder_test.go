package vdsoimage

import (
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// TestEncoder encodes one instruction at a time and compares the decoder's
// view of it.
func TestEncoder(t *testing.T) {
	const org = 0x1000
	cases := []struct {
		name string
		emit func(a *Asm)
		want string
	}{
		{"mov64", func(a *Asm) { a.Mov64(R9, RAX) }, "mov r9, rax"},
		{"mov32-ext", func(a *Asm) { a.Mov32(RAX, R15) }, "mov eax, r15d"},
		{"mov-imm", func(a *Asm) { a.MovImm32(R10, 0x3b9aca00) }, "mov r10d, 0x3b9aca00"},
		{"load-disp0", func(a *Asm) { a.Load64(RAX, Ind(RDI, 0)) }, "mov rax, qword ptr [rdi]"},
		{"load-rsp-base", func(a *Asm) { a.Load64(RAX, Ind(RSP, 8)) }, "mov rax, qword ptr [rsp+0x8]"},
		{"load-r12-base", func(a *Asm) { a.Load32(R8, Ind(R12, 0)) }, "mov r8d, dword ptr [r12]"},
		{"load-rbp-base", func(a *Asm) { a.Load64(RCX, Ind(RBP, 0)) }, "mov rcx, qword ptr [rbp]"},
		{"load-r13-disp32", func(a *Asm) { a.Load64(RCX, Ind(R13, 0x1000)) }, "mov rcx, qword ptr [r13+0x1000]"},
		{"load-neg-disp", func(a *Asm) { a.Load64(RDX, Ind(R11, -8)) }, "mov rdx, qword ptr [r11-0x8]"},
		{"store32", func(a *Asm) { a.Store32(Ind(RSI, 4), R9) }, "mov dword ptr [rsi+0x4], r9d"},
		{"store-imm", func(a *Asm) { a.StoreImm64(Ind(RSI, 0), -1) }, "mov qword ptr [rsi], -0x1"},
		{"lea-rip", func(a *Asm) { a.Lea(R11, RIPAbs(0x2000)) }, "lea r11, ptr [rip+0xff9]"},
		{"cmp-mem-imm-rip", func(a *Asm) { a.CmpMemImm32(RIPAbs(org+7), 0) }, "cmp dword ptr [rip], 0x0"},
		{"movsxd", func(a *Asm) { a.Movsxd(RAX, RDI) }, "movsxd rax, edi"},
		{"cdqe", func(a *Asm) { a.Cdqe() }, "cdqe"},
		{"add", func(a *Asm) { a.Add64(R9, RAX) }, "add r9, rax"},
		{"add-mem", func(a *Asm) { a.Add64Mem(RAX, Ind(R8, 16)) }, "add rax, qword ptr [r8+0x10]"},
		{"add-imm8", func(a *Asm) { a.AddImm64(RSI, 8) }, "add rsi, 0x8"},
		{"add-imm32", func(a *Asm) { a.AddImm64(RSI, 1000) }, "add rsi, 0x3e8"},
		{"adc", func(a *Asm) { a.AdcImm64(RDX, 0) }, "adc rdx, 0x0"},
		{"sub-mem", func(a *Asm) { a.Sub64Mem(RAX, Ind(R10, 0)) }, "sub rax, qword ptr [r10]"},
		{"sub", func(a *Asm) { a.Sub64(RAX, R11) }, "sub rax, r11"},
		{"and", func(a *Asm) { a.And64(RAX, RCX) }, "and rax, rcx"},
		{"xor32", func(a *Asm) { a.Xor32(R8, R8) }, "xor r8d, r8d"},
		{"cmp32", func(a *Asm) { a.Cmp32(RDI, R9) }, "cmp edi, r9d"},
		{"cmp64", func(a *Asm) { a.Cmp64(RDI, R9) }, "cmp rdi, r9"},
		{"cmp-imm", func(a *Asm) { a.CmpImm32(RDI, 11) }, "cmp edi, 0xb"},
		{"cmp-mem", func(a *Asm) { a.Cmp32Mem(R8, Ind(RAX, 0)) }, "cmp r8d, dword ptr [rax]"},
		{"test-imm", func(a *Asm) { a.TestImm32(R8, 1) }, "test r8d, 0x1"},
		{"test64", func(a *Asm) { a.Test64(RDI, RDI) }, "test rdi, rdi"},
		{"bt", func(a *Asm) { a.Bt32(RAX, RDI) }, "bt eax, edi"},
		{"shl", func(a *Asm) { a.ShlImm64(RDX, 32) }, "shl rdx, 0x20"},
		{"shl1", func(a *Asm) { a.ShlImm64(RDX, 1) }, "shl rdx, 0x1"},
		{"shr", func(a *Asm) { a.ShrImm64(R10, 3) }, "shr r10, 0x3"},
		{"shr-cl", func(a *Asm) { a.ShrCL64(R10) }, "shr r10, cl"},
		{"shrd", func(a *Asm) { a.ShrdCL64(RAX, RDX) }, "shrd rax, rdx, cl"},
		{"mul", func(a *Asm) { a.Mul64(RDX) }, "mul rdx"},
		{"div", func(a *Asm) { a.Div64(R9) }, "div r9"},
		{"imul", func(a *Asm) { a.Imul64(RAX, R10) }, "imul rax, r10"},
		{"lfence", func(a *Asm) { a.Lfence() }, "lfence"},
		{"rdtsc", func(a *Asm) { a.Rdtsc() }, "rdtsc"},
		{"pause", func(a *Asm) { a.Pause() }, "pause"},
		{"syscall", func(a *Asm) { a.Syscall() }, "syscall"},
		{"ret", func(a *Asm) { a.Ret() }, "ret"},
		{"int3", func(a *Asm) { a.Int3() }, "int3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAsm(org)
			tc.emit(a)
			code, err := a.Finish()
			if err != nil {
				t.Fatal(err)
			}
			inst, err := x86asm.Decode(code, 64)
			if err != nil {
				t.Fatalf("% x: %v", code, err)
			}
			if inst.Len != len(code) {
				t.Errorf("% x: decoded %d of %d bytes", code, inst.Len, len(code))
			}
			if got := x86asm.IntelSyntax(inst, org, nil); got != tc.want {
				t.Errorf("% x = %q, want %q", code, got, tc.want)
			}
		})
	}
}

func TestEncoderLabels(t *testing.T) {
	a := NewAsm(0)
	top, fwd, far := a.NewLabel(), a.NewLabel(), a.NewLabel()
	a.Bind(top)
	a.Pause()
	a.Jcc(CondNE, top) // backward and near: rel8
	a.Jcc(CondE, fwd)  // forward: rel32
	a.JmpShort(fwd)
	a.Jmp(far)
	a.Bind(fwd)
	for i := 0; i < 200; i++ {
		a.Int3()
	}
	a.Bind(far)
	a.Jmp(top) // backward but far: rel32
	a.Ret()
	code, err := a.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for pc := 0; pc < len(code); {
		inst, err := x86asm.Decode(code[pc:], 64)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Op != x86asm.INT {
			got = append(got, x86asm.IntelSyntax(inst, uint64(pc), nil)+"/"+string(rune('0'+inst.Len)))
		}
		pc += inst.Len
	}
	want := []string{"pause/2", "jnz 0x0/2", "jz 0x11/6", "jmp 0x11/2", "jmp 0xd9/5", "jmp 0x0/5", "ret/1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestEncoderErrors(t *testing.T) {
	cases := []struct {
		name string
		emit func(a *Asm)
		want string
	}{
		{"unbound", func(a *Asm) { a.Jmp(a.NewLabel()) }, "never bound"},
		{"short-too-far", func(a *Asm) {
			l := a.NewLabel()
			a.JccShort(CondE, l)
			for i := 0; i < 200; i++ {
				a.Int3()
			}
			a.Bind(l)
		}, "cannot reach"},
		{"bound-twice", func(a *Asm) {
			l := a.NewLabel()
			a.Bind(l)
			a.Bind(l)
		}, "bound twice"},
		{"rip-out-of-range", func(a *Asm) { a.Load64(RAX, RIPAbs(1<<40)) }, "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAsm(0)
			tc.emit(a)
			if _, err := a.Finish(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Finish() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
