#include "textflag.h"

// func senderHandler()
// A signal handler in the C ABI: DI the signal, SI the siginfo, DX the ucontext. It stores
// si_code (offset 8), si_pid and si_uid (offsets 16 and 20, one quadword) and
// sigqueue's si_value (offset 24) in senders[DI] and jumps to fwd[DI] with DI, SI and DX as they came, the return address
// (the restorer) still on the stack. It touches only AX, CX and R8.
TEXT ·senderHandler(SB),NOSPLIT|NOFRAME,$0-0
	CMPQ	DI, $64
	JA	done
	MOVQ	DI, AX
	IMULQ	$24, AX
	LEAQ	·senders(SB), CX
	ADDQ	AX, CX
	MOVLQSX	8(SI), R8
	MOVQ	R8, 0(CX)
	MOVQ	16(SI), R8
	MOVQ	R8, 8(CX)
	MOVQ	24(SI), R8
	MOVQ	R8, 16(CX)
	LEAQ	·fwd(SB), CX
	MOVQ	(CX)(DI*8), AX
	TESTQ	AX, AX
	JZ	done
	JMP	AX
done:
	RET

// func senderHandlerPC() uintptr
TEXT ·senderHandlerPC(SB),NOSPLIT,$0-8
	LEAQ	·senderHandler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
