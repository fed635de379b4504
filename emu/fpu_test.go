package emu

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fxLoad loads XMM0-15 from data+0, MXCSR from data+256, FCW from data+260, pushes 1.0,
// pi, 0 and the 80-bit value at data+272 on the x87 stack, then stores the guest's own
// FXSAVE image at data+512 and halts. data is 0x7ff000, the page newEngine maps writable.
var fxLoad = cat(
	[]byte{0xdb, 0xe3}, // fninit
	[]byte{0x48, 0xc7, 0xc0, 0x00, 0xf0, 0x7f, 0x00}, // mov rax, 0x7ff000
	[]byte{0xf3, 0x0f, 0x6f, 0x00},                   // movdqu xmm0, [rax]
	[]byte{0xf3, 0x0f, 0x6f, 0x48, 0x10},             // movdqu xmm1, [rax+0x10] ...
	[]byte{0xf3, 0x0f, 0x6f, 0x50, 0x20},
	[]byte{0xf3, 0x0f, 0x6f, 0x58, 0x30},
	[]byte{0xf3, 0x0f, 0x6f, 0x60, 0x40},
	[]byte{0xf3, 0x0f, 0x6f, 0x68, 0x50},
	[]byte{0xf3, 0x0f, 0x6f, 0x70, 0x60},
	[]byte{0xf3, 0x0f, 0x6f, 0x78, 0x70},
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0x80, 0x80, 0, 0, 0}, // movdqu xmm8, [rax+0x80] ...
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0x88, 0x90, 0, 0, 0},
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0x90, 0xa0, 0, 0, 0},
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0x98, 0xb0, 0, 0, 0},
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0xa0, 0xc0, 0, 0, 0},
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0xa8, 0xd0, 0, 0, 0},
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0xb0, 0xe0, 0, 0, 0},
	[]byte{0xf3, 0x44, 0x0f, 0x6f, 0xb8, 0xf0, 0, 0, 0},
	[]byte{0x0f, 0xae, 0x90, 0x00, 0x01, 0x00, 0x00}, // ldmxcsr [rax+0x100]
	[]byte{0xd9, 0xa8, 0x04, 0x01, 0x00, 0x00},       // fldcw [rax+0x104]
	[]byte{0xd9, 0xe8},                               // fld1
	[]byte{0xd9, 0xeb},                               // fldpi
	[]byte{0xd9, 0xee},                               // fldz
	[]byte{0xdb, 0xa8, 0x10, 0x01, 0x00, 0x00},       // fld tbyte [rax+0x110]
	fxStore,
)

// fxStore stores the guest's FXSAVE image at 0x7ff200 and halts.
var fxStore = cat(
	[]byte{0x48, 0xc7, 0xc0, 0x00, 0xf0, 0x7f, 0x00}, // mov rax, 0x7ff000
	[]byte{0x0f, 0xae, 0x80, 0x00, 0x02, 0x00, 0x00}, // fxsave [rax+0x200]
	hlt,
)

const (
	fxData  = PageSize // offset of 0x7ff000 in newEngine's memory
	fxImage = fxData + 0x200
)

// fxCompared are the byte ranges of the image both sides must agree on: the control, status
// and tag words, MXCSR, the eight ST registers (10 bytes each) and the sixteen XMM registers.
// FOP, FIP and FDP are left out: Unicorn does not keep them as a CPU does.
func fxCompare(t *testing.T, want, got []byte) {
	t.Helper()
	assert.Equal(t, want[0:5], got[0:5], "FCW, FSW, abridged FTW")
	assert.Equal(t, want[24:28], got[24:28], "MXCSR")
	for i := range 8 {
		o := 32 + 16*i
		assert.Equal(t, want[o:o+10], got[o:o+10], "ST(%d)", i)
	}
	for i := range 16 {
		o := 160 + 16*i
		assert.Equal(t, want[o:o+16], got[o:o+16], "XMM%d", i)
	}
}

func fxPattern(mem []byte) {
	for i := range 256 {
		mem[fxData+i] = byte(i*7 + 3)
	}
	binary.LittleEndian.PutUint32(mem[fxData+256:], 0x1f80|0x6000) // round toward zero
	binary.LittleEndian.PutUint16(mem[fxData+260:], 0x0e7f)        // extended precision, round up
	// 80-bit 3.0: mantissa 0xc000000000000000, exponent 0x4000.
	binary.LittleEndian.PutUint64(mem[fxData+272:], 0xc000000000000000)
	binary.LittleEndian.PutUint16(mem[fxData+280:], 0x4000)
}

func TestFXSaveMatchesGuestFXSAVE(t *testing.T) {
	e, mem := newEngine(t, fxLoad)
	require.NoError(t, e.ResetFPU())
	fxPattern(mem)
	ev := e.Run(codeAddr)
	require.Equal(t, Halt, ev.Kind, ev.String())
	img, err := e.FXSave()
	require.NoError(t, err)
	guest := mem[fxImage : fxImage+FXSaveSize]
	fxCompare(t, guest, img[:])
	// The values themselves, not only agreement.
	assert.Equal(t, uint16(0x0e7f), binary.LittleEndian.Uint16(img[0:]), "FCW")
	assert.Equal(t, uint16(4), binary.LittleEndian.Uint16(img[2:])>>11&7, "TOP after four pushes")
	assert.Equal(t, byte(0xf0), img[4], "physical registers 4-7 in use")
	assert.Equal(t, uint32(0x7f80), binary.LittleEndian.Uint32(img[24:]), "MXCSR")
	assert.Equal(t, mem[fxData+272:fxData+282], img[32:42], "ST(0) = 3.0")
	assert.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f}, img[32+16*3:32+16*3+10], "ST(3) = 1.0")
	assert.Equal(t, mem[fxData:fxData+256], img[160:416], "XMM0-15")
}

func TestFXRestoreMatchesGuestFXSAVE(t *testing.T) {
	// Take a known state from the guest, scramble the registers, restore, and let the guest
	// save it again.
	e, mem := newEngine(t, fxLoad)
	require.NoError(t, e.ResetFPU())
	fxPattern(mem)
	require.Equal(t, Halt, e.Run(codeAddr).Kind)
	want, err := e.FXSave()
	require.NoError(t, err)

	var junk [FXSaveSize]byte
	for i := range junk {
		junk[i] = byte(255 - i)
	}
	binary.LittleEndian.PutUint16(junk[0:], 0x037f)
	binary.LittleEndian.PutUint16(junk[2:], 0)
	junk[4] = 0
	binary.LittleEndian.PutUint32(junk[24:], 0x1f80)
	require.NoError(t, e.FXRestore(&junk))
	got, err := e.FXSave()
	require.NoError(t, err)
	fxCompare(t, junk[:], got[:])

	require.NoError(t, e.FXRestore(&want))
	stubAt := len(fxLoad) - len(fxStore)
	ev := e.Run(codeAddr + uint64(stubAt))
	require.Equal(t, Halt, ev.Kind, ev.String())
	fxCompare(t, want[:], mem[fxImage:fxImage+FXSaveSize])
}

func TestFXRestoreThenGuestComputes(t *testing.T) {
	// After a restore the guest computes with the restored values: 3.0 + 1.0 in x87 and an
	// XMM register stored back to memory.
	code := cat(
		[]byte{0x48, 0xc7, 0xc0, 0x00, 0xf0, 0x7f, 0x00}, // mov rax, 0x7ff000
		[]byte{0xd8, 0xc3},                                           // fadd st(0), st(3)
		[]byte{0xdb, 0xb8, 0x00, 0x03, 0x00, 0x00},                   // fstp tbyte [rax+0x300]
		[]byte{0xf3, 0x44, 0x0f, 0x7f, 0xb8, 0x10, 0x03, 0x00, 0x00}, // movdqu [rax+0x310], xmm15
		hlt,
	)
	e, mem := newEngine(t, code)
	var img [FXSaveSize]byte
	binary.LittleEndian.PutUint16(img[0:], 0x037f)
	binary.LittleEndian.PutUint16(img[2:], 4<<11) // TOP = 4
	img[4] = 0xf0
	binary.LittleEndian.PutUint32(img[24:], 0x1f80)
	put80 := func(st int, mant uint64, exp uint16) {
		binary.LittleEndian.PutUint64(img[32+16*st:], mant)
		binary.LittleEndian.PutUint16(img[40+16*st:], exp)
	}
	put80(0, 0xc000000000000000, 0x4000) // 3.0
	put80(3, 0x8000000000000000, 0x3fff) // 1.0
	for i := range 16 {
		img[160+16*15+i] = byte(0xa0 + i)
	}
	require.NoError(t, e.FXRestore(&img))
	ev := e.Run(codeAddr)
	require.Equal(t, Halt, ev.Kind, ev.String())
	assert.Equal(t, uint64(0x8000000000000000), binary.LittleEndian.Uint64(mem[fxData+0x300:]), "4.0 mantissa")
	assert.Equal(t, uint16(0x4001), binary.LittleEndian.Uint16(mem[fxData+0x308:]), "4.0 exponent")
	assert.Equal(t, img[160+16*15:160+16*16], mem[fxData+0x310:fxData+0x320], "XMM15")
}

func TestResetFPU(t *testing.T) {
	e, mem := newEngine(t, fxStore)
	require.NoError(t, e.ResetFPU())
	img, err := e.FXSave()
	require.NoError(t, err)
	assert.Equal(t, []byte{0x7f, 0x03, 0, 0, 0}, img[0:5], "FCW 0x37f, FSW 0, all empty")
	assert.Equal(t, uint32(0x1f80), binary.LittleEndian.Uint32(img[24:]))
	require.Equal(t, Halt, e.Run(codeAddr).Kind)
	fxCompare(t, img[:], mem[fxImage:fxImage+FXSaveSize])
}
