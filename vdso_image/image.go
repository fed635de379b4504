package vdsoimage

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Options configures Build. The zero value builds the standard image.
type Options struct {
	// LinuxVersion is the LINUX_VERSION_CODE (major<<16 | minor<<8 | patch)
	// in the image's "Linux" note; zero means DefaultLinuxVersion.
	LinuxVersion uint32
}

// Symbol is a function exported by the image.
type Symbol struct {
	Name  string
	Value uint64 // offset from the image base
	Size  uint64
}

// Image is a built vDSO.
type Image struct {
	// Bytes is the ELF shared object, linked at address 0; its length is a
	// multiple of PageSize. Map it read+execute right above the vvar pages.
	Bytes []byte
	// Symbols are the exported functions, by address: __vdso_NAME and its
	// weak alias NAME for each.
	Symbols []Symbol
	// CounterReads are the offsets of every rdtsc instruction, so that the
	// emulator can hook them to supply a virtual counter.
	CounterReads []uint64
	// Syscalls are the offsets of every syscall instruction (the fallback
	// paths).
	Syscalls []uint64
	// TextOffset and TextSize delimit .text.
	TextOffset, TextSize uint64
	// BuildID is the NT_GNU_BUILD_ID note's descriptor (SHA-1 of the image).
	BuildID []byte
}

// Build generates the vDSO image. The result depends only on opts.
func Build(opts Options) (*Image, error) {
	im, err := link(opts)
	if err != nil {
		return nil, fmt.Errorf("vdsoimage: %w", err)
	}
	return im, nil
}

// Lookup returns the symbol called name.
func (im *Image) Lookup(name string) (Symbol, bool) {
	for _, s := range im.Symbols {
		if s.Name == name {
			return s, true
		}
	}
	return Symbol{}, false
}

// Function returns the machine code of the function called name (with or
// without the __vdso_ prefix).
func (im *Image) Function(name string) ([]byte, bool) {
	s, ok := im.Lookup(name)
	if !ok || s.Value+s.Size > uint64(len(im.Bytes)) {
		return nil, false
	}
	return im.Bytes[s.Value : s.Value+s.Size], true
}

// functions returns the __vdso_ symbols in address order.
func (im *Image) functions() []Symbol {
	var fns []Symbol
	for _, s := range im.Symbols {
		if strings.HasPrefix(s.Name, "__vdso_") {
			fns = append(fns, s)
		}
	}
	sort.SliceStable(fns, func(i, j int) bool { return fns[i].Value < fns[j].Value })
	return fns
}

// Disasm disassembles every function: "name:" and then one line per
// instruction, "  0x<offset>  <bytes>  <Intel syntax>". Operands in vvar are
// shown by field name, jump targets by offset.
func Disasm(im *Image) (string, error) {
	symname := func(addr uint64) (string, uint64) {
		// The decoder does not sign-extend RIP-relative displacements, so
		// wrap the target to 32 bits (the image and vvar span far less);
		// vvar addresses are then negative.
		off := int64(int32(uint32(addr))) + VVarSize
		if off >= 0 && off < PageSize {
			if name, base, ok := vvarSymbol(int(off)); ok {
				return name, addr - uint64(off-int64(base))
			}
		}
		for _, s := range im.Symbols {
			if addr == s.Value {
				return s.Name, s.Value
			}
		}
		return "", 0
	}
	var b strings.Builder
	for _, s := range im.functions() {
		fmt.Fprintf(&b, "%s:\n", s.Name)
		code, ok := im.Function(s.Name)
		if !ok {
			return "", fmt.Errorf("vdsoimage: %s: outside the image", s.Name)
		}
		for pc := 0; pc < len(code); {
			inst, err := x86asm.Decode(code[pc:], 64)
			if err != nil {
				return "", fmt.Errorf("vdsoimage: %s+%#x: %v", s.Name, pc, err)
			}
			addr := s.Value + uint64(pc)
			fmt.Fprintf(&b, "  %#06x  %-30s  %s\n", addr, fmt.Sprintf("% x", code[pc:pc+inst.Len]),
				x86asm.IntelSyntax(inst, addr, symname))
			pc += inst.Len
		}
	}
	return b.String(), nil
}
