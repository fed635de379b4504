package gdbstub

import (
	"encoding/xml"
	"math/rand/v2"
	"strings"
	"testing"

	"vemu/abi"
)

func TestTargetXML(t *testing.T) {
	var doc struct {
		Arch     string `xml:"architecture"`
		Features []struct {
			Name string `xml:"name,attr"`
			Regs []struct {
				Name    string `xml:"name,attr"`
				Bitsize int    `xml:"bitsize,attr"`
			} `xml:"reg"`
		} `xml:"feature"`
	}
	if err := xml.Unmarshal([]byte(targetXML), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Arch != "i386:x86-64" {
		t.Errorf("architecture %q", doc.Arch)
	}
	var names []string
	bits := 0
	for _, f := range doc.Features {
		for _, r := range f.Regs {
			names = append(names, r.Name)
			bits += r.Bitsize
		}
	}
	if bits/8 != regBytes || len(names) != len(regLayout) {
		t.Errorf("description: %d registers, %d bytes; layout %d, %d", len(names), bits/8, len(regLayout), regBytes)
	}
	// The registers gdb's amd64 GNU/Linux support requires, by name.
	for _, want := range []string{"rax", "rip", "eflags", "cs", "gs", "st7", "fop", "xmm15", "mxcsr", "fs_base", "gs_base", "orig_rax"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("no register %s", want)
		}
	}
	for i, n := range map[int]string{regRIP: "rip", regEflags: "eflags", regCS: "cs", regST0: "st0", regFctrl: "fctrl",
		regXMM0: "xmm0", regMXCSR: "mxcsr", regFSBase: "fs_base", regOrigRAX: "orig_rax"} {
		if names[i] != n {
			t.Errorf("register %d is %s, want %s", i, names[i], n)
		}
	}
	if !strings.Contains(targetXML, `<feature name="org.gnu.gdb.i386.linux">`) {
		t.Error("no linux feature (orig_rax)")
	}
}

func TestRegsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		var regs abi.UserRegs
		p := gprs(&regs)
		for _, f := range p {
			*f = r.Uint64()
		}
		regs.Rip, regs.Eflags, regs.FsBase, regs.GsBase, regs.OrigRax = r.Uint64(), uint64(r.Uint32()), r.Uint64(), r.Uint64(), r.Uint64()
		regs.Cs, regs.Ss = abi.UserCS, abi.UserDS
		var fx [abi.FXSaveSize]byte
		for i := range 416 {
			fx[i] = byte(r.Uint32())
		}
		fx[7] &= 7       // FOP is 11 bits
		fx[5] = 0        // reserved
		clear(fx[28:32]) // MXCSR_MASK is not a register gdb sees
		for i := range 8 {
			clear(fx[32+16*i+10 : 32+16*i+16]) // ST(i) padding
		}
		enc := encodeRegs(&regs, &fx)
		var r2 abi.UserRegs
		var fx2 [abi.FXSaveSize]byte
		copy(fx2[28:32], fx[28:32])
		for n, pr := range regLayout {
			decodeReg(n, enc[pr.off:pr.off+pr.size], &r2, &fx2)
		}
		if r2 != regs {
			t.Fatalf("registers changed:\n%+v\n%+v", regs, r2)
		}
		if fx2 != fx {
			t.Fatalf("FXSAVE image changed")
		}
	}
}

func TestFullTag(t *testing.T) {
	var fx [abi.FXSaveSize]byte
	// Stack top 6 (FSW bits 11-13): ST(0) is physical register 6, ST(1) is 7.
	fx[2], fx[3] = 0, 6<<3
	fx[4] = 1<<6 | 1<<7
	// ST(0) = 1.0: exponent 0x3fff, integer bit set: valid. ST(1) = 0: zero.
	fx[32+7] = 0x80
	fx[32+8], fx[32+9] = 0xff, 0x3f
	got := fullTag(&fx)
	want := uint32(0x0fff) | 0<<12 | 1<<14
	if got != want {
		t.Errorf("tag %#x, want %#x", got, want)
	}
	if abridgedTag(uint16(got)) != fx[4] {
		t.Errorf("abridged %#x, want %#x", abridgedTag(uint16(got)), fx[4])
	}
}
