package gdbstub

import (
	"encoding/binary"
	"strconv"
	"strings"

	"vemu/abi"
)

// targetXML describes the registers to gdb: the features gdb's amd64 GNU/Linux support
// looks for, with the registers in the order of the g packet.
var targetXML = buildTargetXML()

// reg is one register of the g packet: its name, size in bytes, type and group for the
// target description.
type reg struct {
	name  string
	size  int
	typ   string
	group string
}

// features lists the target description's features and their registers, in order.
var features = []struct {
	name  string
	types string
	regs  []reg
}{
	{"org.gnu.gdb.i386.core", eflagsType, coreRegs()},
	{"org.gnu.gdb.i386.sse", sseTypes, sseRegs()},
	{"org.gnu.gdb.i386.segments", "", []reg{{"fs_base", 8, "int", ""}, {"gs_base", 8, "int", ""}}},
	{"org.gnu.gdb.i386.linux", "", []reg{{"orig_rax", 8, "int", "system"}}},
}

func coreRegs() []reg {
	var r []reg
	for _, n := range []string{"rax", "rbx", "rcx", "rdx", "rsi", "rdi"} {
		r = append(r, reg{n, 8, "int64", ""})
	}
	r = append(r, reg{"rbp", 8, "data_ptr", ""}, reg{"rsp", 8, "data_ptr", ""})
	for _, n := range []string{"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"} {
		r = append(r, reg{n, 8, "int64", ""})
	}
	r = append(r, reg{"rip", 8, "code_ptr", ""}, reg{"eflags", 4, "i386_eflags", ""})
	for _, n := range []string{"cs", "ss", "ds", "es", "fs", "gs"} {
		r = append(r, reg{n, 4, "int32", ""})
	}
	for _, n := range []string{"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"} {
		r = append(r, reg{n, 10, "i387_ext", ""})
	}
	for _, n := range []string{"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"} {
		r = append(r, reg{n, 4, "int", "float"})
	}
	return r
}

func sseRegs() []reg {
	var r []reg
	for i := range 16 {
		r = append(r, reg{"xmm" + strconv.Itoa(i), 16, "vec128", ""})
	}
	return append(r, reg{"mxcsr", 4, "i386_mxcsr", "vector"})
}

const eflagsType = `<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/>
<field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/>
<field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
<field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/>
<field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/>
<field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
<field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/>
<field name="VIF" start="19" end="19"/><field name="VIP" start="20" end="20"/>
<field name="ID" start="21" end="21"/>
</flags>
`

const sseTypes = `<vector id="v4f" type="ieee_single" count="4"/>
<vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/>
<vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/>
<vector id="v2i64" type="int64" count="2"/>
<union id="vec128">
<field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>
<field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>
<field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>
<field name="uint128" type="uint128"/>
</union>
<flags id="i386_mxcsr" size="4">
<field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/>
<field name="ZE" start="2" end="2"/><field name="OE" start="3" end="3"/>
<field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
<field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/>
<field name="DM" start="8" end="8"/><field name="ZM" start="9" end="9"/>
<field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
<field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/>
</flags>
`

func buildTargetXML() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>i386:x86-64</architecture>
<osabi>GNU/Linux</osabi>
`)
	for _, f := range features {
		b.WriteString(`<feature name="` + f.name + `">` + "\n" + f.types)
		for _, r := range f.regs {
			b.WriteString(`<reg name="` + r.name + `" bitsize="` + strconv.Itoa(r.size*8) + `" type="` + r.typ + `"`)
			if r.group != "" {
				b.WriteString(` group="` + r.group + `"`)
			}
			b.WriteString("/>\n")
		}
		b.WriteString("</feature>\n")
	}
	b.WriteString("</target>\n")
	return b.String()
}

// regLayout is every register of the g packet with its offset.
var regLayout, regBytes = layout()

type placed struct {
	reg
	off int
}

func layout() ([]placed, int) {
	var out []placed
	off := 0
	for _, f := range features {
		for _, r := range f.regs {
			out = append(out, placed{r, off})
			off += r.size
		}
	}
	return out, off
}

// Register numbers in the g packet used below.
const (
	regRIP     = 16
	regEflags  = 17
	regCS      = 18
	regST0     = 24
	regFctrl   = 32
	regXMM0    = 40
	regMXCSR   = 56
	regFSBase  = 57
	regOrigRAX = 59
)

// gprs maps g-packet registers 0..15 to UserRegs fields.
func gprs(r *abi.UserRegs) [16]*uint64 {
	return [16]*uint64{&r.Rax, &r.Rbx, &r.Rcx, &r.Rdx, &r.Rsi, &r.Rdi, &r.Rbp, &r.Rsp,
		&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15}
}

func segs(r *abi.UserRegs) [6]*uint64 {
	return [6]*uint64{&r.Cs, &r.Ss, &r.Ds, &r.Es, &r.Fs, &r.Gs}
}

var le = binary.LittleEndian

// encodeRegs lays out a thread's registers as the g packet's bytes.
func encodeRegs(r *abi.UserRegs, fx *[abi.FXSaveSize]byte) []byte {
	b := make([]byte, regBytes)
	for i, p := range gprs(r) {
		le.PutUint64(b[regLayout[i].off:], *p)
	}
	le.PutUint64(b[regLayout[regRIP].off:], r.Rip)
	le.PutUint32(b[regLayout[regEflags].off:], uint32(r.Eflags))
	for i, p := range segs(r) {
		le.PutUint32(b[regLayout[regCS+i].off:], uint32(*p))
	}
	for i := range 8 {
		copy(b[regLayout[regST0+i].off:], fx[32+16*i:32+16*i+10])
	}
	x87 := [8]uint32{
		uint32(le.Uint16(fx[0:])), // fctrl
		uint32(le.Uint16(fx[2:])), // fstat
		fullTag(fx),               // ftag
		le.Uint32(fx[12:]),        // fiseg: the high half of the 64-bit FIP
		le.Uint32(fx[8:]),         // fioff
		le.Uint32(fx[20:]),        // foseg: the high half of the 64-bit FDP
		le.Uint32(fx[16:]),        // fooff
		uint32(le.Uint16(fx[6:])), // fop
	}
	for i, v := range x87 {
		le.PutUint32(b[regLayout[regFctrl+i].off:], v)
	}
	for i := range 16 {
		copy(b[regLayout[regXMM0+i].off:], fx[160+16*i:160+16*i+16])
	}
	copy(b[regLayout[regMXCSR].off:], fx[24:28])
	le.PutUint64(b[regLayout[regFSBase].off:], r.FsBase)
	le.PutUint64(b[regLayout[regFSBase+1].off:], r.GsBase)
	le.PutUint64(b[regLayout[regOrigRAX].off:], r.OrigRax)
	return b
}

// decodeReg stores register n's value v (its size in bytes) into r and fx.
func decodeReg(n int, v []byte, r *abi.UserRegs, fx *[abi.FXSaveSize]byte) {
	switch {
	case n < 16:
		*gprs(r)[n] = le.Uint64(v)
	case n == regRIP:
		r.Rip = le.Uint64(v)
	case n == regEflags:
		r.Eflags = uint64(le.Uint32(v))
	case n < regST0:
		*segs(r)[n-regCS] = uint64(le.Uint32(v))
	case n < regFctrl:
		copy(fx[32+16*(n-regST0):], v[:10])
	case n < regXMM0:
		x := le.Uint32(v)
		switch n - regFctrl {
		case 0:
			le.PutUint16(fx[0:], uint16(x))
		case 1:
			le.PutUint16(fx[2:], uint16(x))
		case 2:
			fx[4] = abridgedTag(uint16(x))
		case 3:
			le.PutUint32(fx[12:], x)
		case 4:
			le.PutUint32(fx[8:], x)
		case 5:
			le.PutUint32(fx[20:], x)
		case 6:
			le.PutUint32(fx[16:], x)
		case 7:
			le.PutUint16(fx[6:], uint16(x&0x7ff))
		}
	case n < regMXCSR:
		copy(fx[160+16*(n-regXMM0):], v[:16])
	case n == regMXCSR:
		copy(fx[24:28], v[:4])
	case n == regFSBase:
		r.FsBase = le.Uint64(v)
	case n == regFSBase+1:
		r.GsBase = le.Uint64(v)
	case n == regOrigRAX:
		r.OrigRax = le.Uint64(v)
	}
}

// fullTag rebuilds the x87 tag word (two bits per physical register: 0 valid, 1 zero,
// 2 special, 3 empty) from FXSAVE's abridged one and the register contents, as a
// debugger reading FSAVE state would see it.
func fullTag(fx *[abi.FXSaveSize]byte) uint32 {
	top := int(le.Uint16(fx[2:])>>11) & 7
	var tag uint32
	for phys := range 8 {
		t := uint32(3)
		if fx[4]&(1<<phys) != 0 {
			st := (phys - top + 8) & 7 // ST(i) holds physical register top+i
			raw := fx[32+16*st : 32+16*st+10]
			mant := le.Uint64(raw)
			exp := le.Uint16(raw[8:]) & 0x7fff
			switch {
			case exp == 0x7fff:
				t = 2
			case exp == 0 && mant == 0:
				t = 1
			case exp == 0 || mant>>63 == 0:
				t = 2
			default:
				t = 0
			}
		}
		tag |= t << (2 * phys)
	}
	return tag
}

// abridgedTag is FXSAVE's tag byte for a full tag word: a bit per non-empty register.
func abridgedTag(full uint16) byte {
	var b byte
	for i := range 8 {
		if (full>>(2*i))&3 != 3 {
			b |= 1 << i
		}
	}
	return b
}
