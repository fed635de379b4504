package emu

/*
#include "hooks.h"
*/
import "C"

import "golang.org/x/sys/unix"

// scratchAddr is where CPUID runs its probe; below any address a guest can map.
const scratchAddr = 0x1000

// CPUID executes the cpuid instruction on the emulated CPU. Call it before the guest's
// registers are set up: it uses rax, rbx, rcx, rdx and the page at 0x1000.
func (e *Engine) CPUID(leaf, sub uint32) (a, b, c, d uint32, err error) {
	page, err := unix.Mmap(-1, 0, PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer unix.Munmap(page)
	copy(page, []byte{0x0f, 0xa2, 0xf4}) // cpuid; hlt
	if err := e.MapHost(scratchAddr, page, ProtRead|ProtExec); err != nil {
		return 0, 0, 0, 0, err
	}
	defer e.Unmap(scratchAddr, PageSize)
	e.SetReg(RAX, uint64(leaf))
	e.SetReg(RCX, uint64(sub))
	if ev := e.Run(scratchAddr); ev.Kind != Halt {
		return 0, 0, 0, 0, &Error{Op: "cpuid", Msg: ev.String()}
	}
	var v [4]uint64
	e.Regs([]Reg{RAX, RBX, RCX, RDX}, v[:])
	e.SetRegs([]Reg{RAX, RBX, RCX, RDX}, []uint64{0, 0, 0, 0})
	return uint32(v[0]), uint32(v[1]), uint32(v[2]), uint32(v[3]), nil
}

// HostTSC reads the host's time-stamp counter, which the emulated CPU's rdtsc also returns.
func HostTSC() uint64 { return uint64(C.vemu_host_tsc()) }
