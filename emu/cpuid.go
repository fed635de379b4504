package emu

/*
#include "hooks.h"
*/
import "C"

import (
	"encoding/binary"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// scratchAddr is where CPUID runs its probe; below any address a guest can map.
const scratchAddr = 0x1000

// cpuModel is the CPU model every engine emulates. Unicorn 2.1.1's richest x86 models
// offer the same user-visible features once its translator has filtered them (no AVX); of
// those, this one advertises no SSE4A, which the translator gets wrong (TestCPUModels
// surveys them all against the host; the README's design notes say more).
const cpuModel = int(C.UC_CPU_X86_COOPERLAKE)

// numModels is the number of Unicorn's x86 CPU models, numbered from 0.
const numModels = int(C.UC_CPU_X86_ENDING)

// CPUIDReg names the register of a CPUID result.
type CPUIDReg int

// The registers of a CPUID result.
const (
	EAX CPUIDReg = iota
	EBX
	ECX
	EDX
)

// Feature is one CPUID feature bit, with the name Linux gives it in /proc/cpuinfo.
type Feature struct {
	Name string
	Leaf uint32 // subleaf 0 where the leaf has subleaves
	Reg  CPUIDReg
	Bit  uint
}

// knownFeatures lists the named bits of CPUID leaves 1, 7 and 0x80000001 in the order of
// Linux's cpufeatures.h, which /proc/cpuinfo follows: 1.EDX, 0x80000001.EDX, 1.ECX,
// 0x80000001.ECX, 7.EBX, 7.ECX, 7.EDX. Linux's own synthetic flags are not CPUID bits.
var knownFeatures = func() []Feature {
	var fs []Feature
	add := func(leaf uint32, reg CPUIDReg, names string) {
		for bit, n := range strings.Split(names, ",") {
			if n != "" {
				fs = append(fs, Feature{Name: n, Leaf: leaf, Reg: reg, Bit: uint(bit)})
			}
		}
	}
	add(1, EDX, "fpu,vme,de,pse,tsc,msr,pae,mce,cx8,apic,,sep,mtrr,pge,mca,cmov,pat,pse36,pn,clflush,,dts,acpi,mmx,fxsr,sse,sse2,ss,ht,tm,ia64,pbe")
	add(0x80000001, EDX, ",,,,,,,,,,,syscall,,,,,,,,mp,nx,,mmxext,,,fxsr_opt,pdpe1gb,rdtscp,,lm,3dnowext,3dnow")
	add(1, ECX, "pni,pclmulqdq,dtes64,monitor,ds_cpl,vmx,smx,est,tm2,ssse3,cid,sdbg,fma,cx16,xtpr,pdcm,,pcid,dca,sse4_1,sse4_2,x2apic,movbe,popcnt,tsc_deadline_timer,aes,xsave,,avx,f16c,rdrand,hypervisor")
	add(0x80000001, ECX, "lahf_lm,cmp_legacy,svm,extapic,cr8_legacy,abm,sse4a,misalignsse,3dnowprefetch,osvw,ibs,xop,skinit,wdt,,lwp,fma4,tce,,nodeid_msr,,tbm,topoext,perfctr_core,perfctr_nb,,bpext,ptsc,perfctr_llc,mwaitx")
	add(7, EBX, "fsgsbase,tsc_adjust,sgx,bmi1,hle,avx2,,smep,bmi2,erms,invpcid,rtm,cqm,,mpx,rdt_a,avx512f,avx512dq,rdseed,adx,smap,avx512ifma,,clflushopt,clwb,intel_pt,avx512pf,avx512er,avx512cd,sha_ni,avx512bw,avx512vl")
	add(7, ECX, ",avx512vbmi,umip,pku,ospke,waitpkg,avx512_vbmi2,,gfni,vaes,vpclmulqdq,avx512_vnni,avx512_bitalg,tme,avx512_vpopcntdq,,la57,,,,,,rdpid,,bus_lock_detect,cldemote,,movdiri,movdir64b,enqcmd,sgx_lc")
	add(7, EDX, ",,avx512_4vnniw,avx512_4fmaps,fsrm,,,,avx512_vp2intersect,,md_clear,,,,serialize,,tsxldtrk,,pconfig,arch_lbr,ibt,,amx_bf16,avx512_fp16,amx_tile,amx_int8,,,flush_l1d,arch_capabilities,,spec_ctrl_ssbd")
	return fs
}()

// hidden are the model's feature bits that vemu does not advertise, and why. The
// instructions of most fault as on a CPU without the feature; those of bmi2 still run, as
// the translator decodes them by the model, which no model without BMI2 changes
// (TestCPUFeatures runs each).
var hidden = map[string]string{
	"bmi2":    "BZHI with an index of 64 or more clears bit 63 (Unicorn 2.1.1's translator)",
	"monitor": "MONITOR and MWAIT fault in user mode on Linux",
	"xsave":   "the kernel has not enabled XSAVE (no OSXSAVE): xgetbv and xsave fault, and signal frames hold the FXSAVE state",
	"pku":     "the kernel has not enabled protection keys (no OSPKE): rdpkru faults",
	"svm":     "no virtualization for a user program",
	"vmx":     "no virtualization for a user program",
	"la57":    "guest addresses have 47 bits",
	"erms":    "rep movsb and rep stosb run a byte at a time in Unicorn 2.1.1's translator: glibc's memset of 32 MiB took 6x longer with them than with its SSE2 loop",
}

// extra are features the model does not advertise but emulates correctly.
var extra = map[string]string{
	"rdseed": "decoded with RDRAND, whose random numbers it returns",
}

// RunAnyway are the features whose instructions run on the emulated CPU although it does
// not advertise them (instead of faulting as on a CPU without them), and why.
var RunAnyway = map[string]string{
	"sse4a":  "Unicorn 2.1.1 decodes EXTRQ and INSERTQ whatever the model",
	"mmxext": "part of SSE on Intel's CPUs, which do not set the bit",
	"erms":   "rep movsb and rep stosb are on every x86-64 CPU; the bit only says they are fast",
}

// CPUInfo describes the emulated CPU, as Linux's /proc/cpuinfo would.
type CPUInfo struct {
	Vendor                  string // "GenuineIntel"
	Family, Model, Stepping uint32
	Level                   uint32 // the highest basic CPUID leaf
	ModelName               string
	Flags                   []string // the advertised features, with Linux's names, in its order
	HWCap, HWCap2           uint64   // AT_HWCAP and AT_HWCAP2 as Linux derives them
	CLFlushSize             uint32   // bytes
	PhysBits, VirtBits      uint32   // address sizes
	L2KiB                   uint32   // "cache size", 0 if the model does not say
}

// model is what every engine shares about the CPU model: its CPUID leaves as the CPUID
// hook answers them, found once by running the model's own CPUID.
var model struct {
	once   sync.Once
	err    error
	leaves [3]C.struct_vemu_cpuid_leaf // 1, 7.0, 0x80000001 with hidden bits cleared
	info   CPUInfo
}

// probeLeaf is a (leaf, subleaf) the model is asked at start-up.
type probeLeaf struct{ leaf, sub uint32 }

var probeLeaves = []probeLeaf{{0, 0}, {1, 0}, {7, 0}, {0x80000000, 0}, {0x80000001, 0},
	{0x80000002, 0}, {0x80000003, 0}, {0x80000004, 0}, {0x80000006, 0}, {0x80000008, 0}}

// initModel fills model from engine e, whose CPUID hook must not answer anything yet.
func initModel(e *Engine) {
	res, err := e.cpuidMany(probeLeaves)
	if err != nil {
		model.err = err
		return
	}
	get := func(leaf uint32) [4]uint32 {
		for i, p := range probeLeaves {
			if p.leaf == leaf {
				return res[i]
			}
		}
		return [4]uint32{}
	}
	maxBasic, maxExt := get(0)[0], get(0x80000000)[0]
	for i, leaf := range []uint32{1, 7, 0x80000001} {
		r := get(leaf)
		if (leaf < 0x80000000 && leaf > maxBasic) || (leaf >= 0x80000000 && leaf > maxExt) {
			r = [4]uint32{}
		}
		for _, f := range knownFeatures {
			if f.Leaf == leaf && hidden[f.Name] != "" {
				r[f.Reg] &^= 1 << f.Bit
			}
			if f.Leaf == leaf && extra[f.Name] != "" {
				r[f.Reg] |= 1 << f.Bit
			}
		}
		l := &model.leaves[i]
		l.leaf = C.uint32_t(leaf)
		l.any_sub = 1
		if leaf == 7 {
			l.any_sub = 0 // subleaf 0 only
		}
		for j := range r {
			l.r[j] = C.uint32_t(r[j])
		}
	}
	in := &model.info
	v := get(0)
	var b [48]byte
	binary.LittleEndian.PutUint32(b[0:], v[1])
	binary.LittleEndian.PutUint32(b[4:], v[3])
	binary.LittleEndian.PutUint32(b[8:], v[2])
	in.Vendor = strings.TrimRight(string(b[:12]), "\x00")
	in.Level = maxBasic
	sig := get(1)[0]
	in.Family = sig >> 8 & 0xf
	in.Model = sig >> 4 & 0xf
	in.Stepping = sig & 0xf
	if in.Family == 0xf {
		in.Family += sig >> 20 & 0xff
	}
	if in.Family == 6 || in.Family >= 0xf {
		in.Model |= (sig >> 16 & 0xf) << 4
	}
	in.CLFlushSize = (get(1)[1] >> 8 & 0xff) * 8
	if maxExt >= 0x80000004 {
		for i := 0; i < 3; i++ {
			r := get(0x80000002 + uint32(i))
			for j := 0; j < 4; j++ {
				binary.LittleEndian.PutUint32(b[16*i+4*j:], r[j])
			}
		}
		in.ModelName = strings.TrimSpace(strings.TrimRight(string(b[:]), "\x00"))
	}
	if maxExt >= 0x80000006 {
		in.L2KiB = get(0x80000006)[2] >> 16
	}
	if maxExt >= 0x80000008 {
		a := get(0x80000008)[0]
		in.PhysBits, in.VirtBits = a&0xff, a>>8&0xff
	}
	for _, f := range knownFeatures {
		if f.advertised() {
			in.Flags = append(in.Flags, f.Name)
		}
	}
	// As Linux: AT_HWCAP is CPUID(1).EDX; AT_HWCAP2 has HWCAP2_FSGSBASE (bit 1) when the
	// instructions may be used.
	in.HWCap = uint64(model.leaves[0].r[EDX])
	if model.leaves[1].r[EBX]&1 != 0 {
		in.HWCap2 |= 2
	}
}

// advertised says whether the emulated CPU's CPUID has f set.
func (f Feature) advertised() bool {
	for _, l := range model.leaves {
		if uint32(l.leaf) == f.Leaf {
			return uint32(l.r[f.Reg])>>f.Bit&1 != 0
		}
	}
	return false
}

// setCPUIDLeaves makes e's CPUID hook answer the model's leaves with the hidden bits clear.
func (e *Engine) setCPUIDLeaves() {
	for i := range model.leaves {
		e.st.cpuid[i] = model.leaves[i]
	}
	e.st.ncpuid = C.uint32_t(len(model.leaves))
}

// Info describes the emulated CPU. It is the same for every engine.
func (e *Engine) Info() CPUInfo {
	in := model.info
	in.Flags = append([]string(nil), in.Flags...)
	return in
}

// CPUIDCalls is the number of CPUID instructions the guest has executed.
func (e *Engine) CPUIDCalls() uint64 { return uint64(e.st.cpuid_calls) }

// cpuidMany runs CPUID for each leaf in one run of the engine, on a scratch page below
// anything a guest can map. Call it before the guest's registers are set up: it changes
// rax, rbx, rcx, rdx and rdi.
func (e *Engine) cpuidMany(leaves []probeLeaf) ([][4]uint32, error) {
	page, err := unix.Mmap(-1, 0, 2*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(page)
	code := page[:0]
	le := binary.LittleEndian
	for i, l := range leaves {
		code = le.AppendUint32(append(code, 0xb8), l.leaf) // mov eax, leaf
		code = le.AppendUint32(append(code, 0xb9), l.sub)  // mov ecx, sub
		code = append(code, 0x0f, 0xa2)                    // cpuid
		for j, modrm := range []byte{0x87, 0x9f, 0x8f, 0x97} {
			// mov [rdi+disp32], eax / ebx / ecx / edx
			code = le.AppendUint32(append(code, 0x89, modrm), uint32(16*i+4*j))
		}
	}
	code = append(code, 0xf4) // hlt
	if len(code) > PageSize || 16*len(leaves) > PageSize {
		return nil, &Error{Op: "cpuid", Msg: "too many leaves"}
	}
	if err := e.MapHost(scratchAddr, page, ProtRead|ProtWrite|ProtExec); err != nil {
		return nil, err
	}
	defer e.Unmap(scratchAddr, 2*PageSize)
	e.SetReg(RDI, scratchAddr+PageSize)
	if ev := e.Run(scratchAddr); ev.Kind != Halt {
		return nil, &Error{Op: "cpuid", Msg: ev.String()}
	}
	e.SetRegs([]Reg{RAX, RBX, RCX, RDX, RDI}, []uint64{0, 0, 0, 0, 0})
	out := make([][4]uint32, len(leaves))
	for i := range out {
		for j := range out[i] {
			out[i][j] = le.Uint32(page[PageSize+16*i+4*j:])
		}
	}
	return out, nil
}

// CPUID executes the cpuid instruction on the emulated CPU. Call it before the guest's
// registers are set up: it uses rax, rbx, rcx, rdx, rdi and the pages at 0x1000.
func (e *Engine) CPUID(leaf, sub uint32) (a, b, c, d uint32, err error) {
	r, err := e.cpuidMany([]probeLeaf{{leaf, sub}})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	return r[0][0], r[0][1], r[0][2], r[0][3], nil
}

// HostTSC reads the host's time-stamp counter, which the emulated CPU's rdtsc also returns.
func HostTSC() uint64 { return uint64(C.vemu_host_tsc()) }
