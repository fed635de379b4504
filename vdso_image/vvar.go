package vdsoimage

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"
)

// PageSize is the size of one vvar or vDSO page.
const PageSize = 4096

// VVarPages is how many pages the [vvar] mapping has. It sits immediately
// below the image, so the code reaches vvar byte off at
// image_base - VVarPages*PageSize + off. Only the first page holds data; the
// others stand where Linux keeps its pvclock, hvclock and time-namespace
// pages, so /proc/self/maps looks the same as on a 6.x kernel.
const VVarPages = 4

// VVarSize is the size of the whole [vvar] mapping.
const VVarSize = VVarPages * PageSize

// Clock ids, as in Linux's include/uapi/linux/time.h.
const (
	ClockRealtime        = 0
	ClockMonotonic       = 1
	ClockProcessCPUTime  = 2
	ClockThreadCPUTime   = 3
	ClockMonotonicRaw    = 4
	ClockRealtimeCoarse  = 5
	ClockMonotonicCoarse = 6
	ClockBoottime        = 7
	ClockRealtimeAlarm   = 8
	ClockBoottimeAlarm   = 9
	ClockTAI             = 11

	// NumClocks is the number of clock ids with a base in the vvar page (0..11).
	NumClocks = 12
)

// Clock sets, as bit masks over clock ids: the vDSO answers these itself and
// sends every other id to the system call.
const (
	// HresClocks are read from their base plus the scaled counter delta.
	HresClocks = 1<<ClockRealtime | 1<<ClockMonotonic | 1<<ClockMonotonicRaw | 1<<ClockBoottime | 1<<ClockTAI
	// CoarseClocks are read from their base alone, without the counter.
	CoarseClocks = 1<<ClockRealtimeCoarse | 1<<ClockMonotonicCoarse
)

// IsHres reports whether clk is answered from the counter.
func IsHres(clk int) bool { return clk >= 0 && clk < NumClocks && HresClocks&(1<<clk) != 0 }

// IsCoarse reports whether clk is answered from its base alone.
func IsCoarse(clk int) bool { return clk >= 0 && clk < NumClocks && CoarseClocks&(1<<clk) != 0 }

// ClockMode says how the code reads the counter.
type ClockMode uint32

const (
	// ClockModeNone makes every counter-based clock (and gettimeofday) fall
	// back to the system call. Coarse clocks, time and getcpu still read vvar.
	ClockModeNone ClockMode = 0
	// ClockModeTSC reads the counter with lfence; rdtsc.
	ClockModeTSC ClockMode = 1
)

func (m ClockMode) String() string {
	switch m {
	case ClockModeNone:
		return "none"
	case ClockModeTSC:
		return "tsc"
	}
	return fmt.Sprintf("ClockMode(%d)", uint32(m))
}

// The VVar layout: byte offsets of the fields in the first vvar page, all
// little-endian and naturally aligned. This is the one definition shared by
// the generated code (code.go) and the emulator's timekeeper (Publish).
const (
	// VVarSeq is the uint32 seqlock sequence: odd while the writer is writing.
	VVarSeq = 0x00
	// VVarClockMode is the uint32 ClockMode.
	VVarClockMode = 0x04
	// VVarCycleLast is the uint64 counter value at the last update.
	VVarCycleLast = 0x08
	// VVarMult is the uint32 multiplier from counter ticks to shifted
	// nanoseconds. All counter-based clocks share Mult and Shift (Linux keeps
	// a second pair for MONOTONIC_RAW; here the timekeeper folds any rate
	// difference into that clock's base at each update).
	VVarMult = 0x10
	// VVarShift is the uint32 shift that turns shifted nanoseconds into
	// nanoseconds (0..63).
	VVarShift = 0x14
	// VVarHresNs is the uint32 resolution, in ns, of the counter-based clocks.
	VVarHresNs = 0x18
	// VVarCoarseNs is the uint32 resolution, in ns, of the coarse clocks (one tick).
	VVarCoarseNs = 0x1c
	// VVarTZMinutesWest is the int32 tz_minuteswest of struct timezone. It and
	// VVarTZDSTTime form one 8-byte struct timezone, copied with one load.
	VVarTZMinutesWest = 0x20
	// VVarTZDSTTime is the int32 tz_dsttime of struct timezone.
	VVarTZDSTTime = 0x24
	// VVarCPU is the uint32 CPU number getcpu reports. It and VVarNode are
	// read with one 8-byte load.
	VVarCPU = 0x28
	// VVarNode is the uint32 NUMA node getcpu reports.
	VVarNode = 0x2c
	// VVarBases is the start of NumClocks bases, one per clock id, each
	// VVarBaseSize bytes: uint64 seconds at +0, uint64 nanoseconds at +8.
	// For counter-based clocks the nanoseconds are shifted left by Shift;
	// for coarse clocks they are plain.
	VVarBases = 0x40
	// VVarBaseSize is the size of one base.
	VVarBaseSize = 16
	// VVarEnd is the end of the used part of the page.
	VVarEnd = VVarBases + NumClocks*VVarBaseSize
)

// VVarBaseSec is the offset of clock clk's base seconds.
func VVarBaseSec(clk int) int { return VVarBases + clk*VVarBaseSize }

// VVarBaseNsec is the offset of clock clk's base (shifted) nanoseconds.
func VVarBaseNsec(clk int) int { return VVarBases + clk*VVarBaseSize + 8 }

// Base is one clock's time at the last update (the counter value CycleLast).
type Base struct {
	Sec uint64
	// Nsec is nanoseconds shifted left by Data.Shift for counter-based clocks,
	// and plain nanoseconds (< 1e9) for coarse clocks.
	Nsec uint64
}

// Data is the content of the vvar page, apart from the sequence count.
type Data struct {
	Mode      ClockMode
	CycleLast uint64
	Mult      uint32
	Shift     uint32
	// Clocks is indexed by clock id; ids that are neither hres nor coarse are
	// written but never read.
	Clocks        [NumClocks]Base
	TZMinutesWest int32
	TZDSTTime     int32
	CPU, Node     uint32
	HresNs        uint32
	CoarseNs      uint32
}

// ClockTime is the time the vDSO reports for clock clk when the counter
// reads counter: exactly the generated code's arithmetic.
//
// For counter-based clocks, as Linux's do_hres():
//
//	delta = counter - CycleLast if counter > CycleLast, else 0
//	ns    = (Clocks[clk].Nsec + delta*Mult) >> Shift   (128-bit intermediate)
//	sec   = Clocks[clk].Sec + ns/1e9, nsec = ns%1e9
//
// Linux computes delta*Mult in 64 bits and relies on frequent updates; the
// code here keeps the full 128-bit product, so a late update never wraps.
// The shifted result is truncated to 64 bits. For coarse clocks it returns
// the base as is. ok is false for clocks the vDSO hands to the system call.
func (d *Data) ClockTime(clk int, counter uint64) (sec, nsec uint64, ok bool) {
	switch {
	case IsHres(clk):
		b := d.Clocks[clk]
		var delta uint64
		if counter > d.CycleLast {
			delta = counter - d.CycleLast
		}
		hi, lo := bits.Mul64(delta, uint64(d.Mult))
		lo, carry := bits.Add64(lo, b.Nsec, 0)
		hi += carry
		s := d.Shift & 63
		ns := lo >> s
		if s != 0 {
			ns |= hi << (64 - s)
		}
		return b.Sec + ns/1e9, ns % 1e9, true
	case IsCoarse(clk):
		b := d.Clocks[clk]
		return b.Sec, b.Nsec, true
	}
	return 0, 0, false
}

// SetClock sets clock clk's base to sec and nsec (plain nanoseconds, < 1e9),
// shifting nsec for counter-based clocks. Set Shift before calling it.
func (d *Data) SetClock(clk int, sec, nsec uint64) {
	if IsHres(clk) {
		nsec <<= d.Shift & 63
	}
	d.Clocks[clk] = Base{Sec: sec, Nsec: nsec}
}

// checkPage panics unless page is long enough and 8-byte aligned, which the
// atomic accessors below rely on.
func checkPage(page []byte) {
	if len(page) < PageSize {
		panic(fmt.Sprintf("vdsoimage: vvar page is %d bytes, want at least %d", len(page), PageSize))
	}
	// SAFETY: the pointer is only turned into a number to test its alignment.
	if uintptr(unsafe.Pointer(&page[0]))%8 != 0 {
		panic("vdsoimage: vvar page is not 8-byte aligned")
	}
}

func store32(page []byte, off int, v uint32) {
	// SAFETY: checkPage ensured len(page) >= PageSize > off+4 and that
	// &page[0] is 8-byte aligned; every layout offset is a multiple of 4 for
	// 32-bit fields, so the pointer is in bounds and aligned for the atomic.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&page[off])), v)
}

func store64(page []byte, off int, v uint64) {
	// SAFETY: as store32; 64-bit fields sit at multiples of 8.
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&page[off])), v)
}

func load32(page []byte, off int) uint32 {
	// SAFETY: as store32.
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&page[off])))
}

func load64(page []byte, off int) uint64 {
	// SAFETY: as store64.
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&page[off])))
}

// Publish writes d into the vvar page under the seqlock: the sequence becomes
// odd, the fields are written, and the sequence becomes even again. The guest
// may read concurrently from another thread; it retries while the sequence is
// odd or has changed. Every store is atomic (a plain MOV on x86-64, whose
// stores are seen in program order), so the guest never sees a torn field and
// the Go memory model orders the fields between the two sequence stores.
// page is the host memory backing the first vvar page: at least PageSize
// bytes, 8-byte aligned (a mapped page always is). Only one goroutine may
// publish into a page at a time.
func Publish(page []byte, d *Data) {
	Begin(page)
	Finish(page, d)
}

// SetCPU writes the CPU and node getcpu reports, outside any write section: a reader
// takes both with one 8-byte load, and the writer's next Finish must carry the same.
func SetCPU(page []byte, cpu, node uint32) {
	checkPage(page)
	store32(page, VVarCPU, cpu)
	store32(page, VVarNode, node)
}

// Begin opens a write section in page: readers wait until Finish closes it. A writer
// that publishes one Data into several pages opens them all before it computes the data
// and closes them after, as one seqlock over every page: no reader can then use the old
// data after another reader has used the new. A section left open stays open.
func Begin(page []byte) {
	checkPage(page)
	if seq := load32(page, VVarSeq); seq&1 == 0 {
		store32(page, VVarSeq, seq+1)
	}
}

// Finish writes d into page, whose write section Begin opened, and closes the section.
func Finish(page []byte, d *Data) {
	checkPage(page)
	seq := load32(page, VVarSeq)
	if seq&1 == 0 {
		// Not opened: open it now, so that readers never see a torn field.
		seq++
		store32(page, VVarSeq, seq)
	}
	store32(page, VVarClockMode, uint32(d.Mode))
	store64(page, VVarCycleLast, d.CycleLast)
	store32(page, VVarMult, d.Mult)
	store32(page, VVarShift, d.Shift)
	store32(page, VVarHresNs, d.HresNs)
	store32(page, VVarCoarseNs, d.CoarseNs)
	store32(page, VVarTZMinutesWest, uint32(d.TZMinutesWest))
	store32(page, VVarTZDSTTime, uint32(d.TZDSTTime))
	store32(page, VVarCPU, d.CPU)
	store32(page, VVarNode, d.Node)
	for clk := range d.Clocks {
		store64(page, VVarBaseSec(clk), d.Clocks[clk].Sec)
		store64(page, VVarBaseNsec(clk), d.Clocks[clk].Nsec)
	}
	store32(page, VVarSeq, seq+1)
}

// Read returns the data in the vvar page, read under the seqlock as the
// guest does (waiting while a write is in progress).
func Read(page []byte) Data {
	checkPage(page)
	for {
		seq := load32(page, VVarSeq)
		if seq&1 != 0 {
			runtime.Gosched()
			continue
		}
		d := readFields(page)
		if load32(page, VVarSeq) == seq {
			return d
		}
	}
}

// Seq returns the page's sequence count.
func Seq(page []byte) uint32 {
	checkPage(page)
	return load32(page, VVarSeq)
}

func readFields(page []byte) Data {
	var d Data
	d.Mode = ClockMode(load32(page, VVarClockMode))
	d.CycleLast = load64(page, VVarCycleLast)
	d.Mult = load32(page, VVarMult)
	d.Shift = load32(page, VVarShift)
	d.HresNs = load32(page, VVarHresNs)
	d.CoarseNs = load32(page, VVarCoarseNs)
	d.TZMinutesWest = int32(load32(page, VVarTZMinutesWest))
	d.TZDSTTime = int32(load32(page, VVarTZDSTTime))
	d.CPU = load32(page, VVarCPU)
	d.Node = load32(page, VVarNode)
	for clk := range d.Clocks {
		d.Clocks[clk].Sec = load64(page, VVarBaseSec(clk))
		d.Clocks[clk].Nsec = load64(page, VVarBaseNsec(clk))
	}
	return d
}

// Encode returns d as the bytes of a vvar page with sequence count seq,
// without any locking: for building a page image that nobody reads yet.
func (d *Data) Encode(seq uint32) []byte {
	p := make([]byte, PageSize)
	le := binary.LittleEndian
	le.PutUint32(p[VVarSeq:], seq)
	le.PutUint32(p[VVarClockMode:], uint32(d.Mode))
	le.PutUint64(p[VVarCycleLast:], d.CycleLast)
	le.PutUint32(p[VVarMult:], d.Mult)
	le.PutUint32(p[VVarShift:], d.Shift)
	le.PutUint32(p[VVarHresNs:], d.HresNs)
	le.PutUint32(p[VVarCoarseNs:], d.CoarseNs)
	le.PutUint32(p[VVarTZMinutesWest:], uint32(d.TZMinutesWest))
	le.PutUint32(p[VVarTZDSTTime:], uint32(d.TZDSTTime))
	le.PutUint32(p[VVarCPU:], d.CPU)
	le.PutUint32(p[VVarNode:], d.Node)
	for clk := range d.Clocks {
		le.PutUint64(p[VVarBaseSec(clk):], d.Clocks[clk].Sec)
		le.PutUint64(p[VVarBaseNsec(clk):], d.Clocks[clk].Nsec)
	}
	return p
}

// vvarField is one row of the layout table.
type vvarField struct {
	name string
	off  int
	size int
	doc  string
}

var clockNames = [NumClocks]string{
	ClockRealtime:        "REALTIME",
	ClockMonotonic:       "MONOTONIC",
	ClockProcessCPUTime:  "PROCESS_CPUTIME_ID",
	ClockThreadCPUTime:   "THREAD_CPUTIME_ID",
	ClockMonotonicRaw:    "MONOTONIC_RAW",
	ClockRealtimeCoarse:  "REALTIME_COARSE",
	ClockMonotonicCoarse: "MONOTONIC_COARSE",
	ClockBoottime:        "BOOTTIME",
	ClockRealtimeAlarm:   "REALTIME_ALARM",
	ClockBoottimeAlarm:   "BOOTTIME_ALARM",
	10:                   "SGI_CYCLE",
	ClockTAI:             "TAI",
}

// ClockName returns the name of clock id clk without the CLOCK_ prefix.
func ClockName(clk int) string {
	if clk >= 0 && clk < NumClocks {
		return clockNames[clk]
	}
	return fmt.Sprintf("clock(%d)", clk)
}

func vvarFields() []vvarField {
	f := []vvarField{
		{"seq", VVarSeq, 4, "seqlock sequence, odd while written"},
		{"clock_mode", VVarClockMode, 4, "0 none (syscall fallback), 1 tsc"},
		{"cycle_last", VVarCycleLast, 8, "counter at the last update"},
		{"mult", VVarMult, 4, "counter ticks to shifted ns"},
		{"shift", VVarShift, 4, "ns = shifted ns >> shift"},
		{"hres_ns", VVarHresNs, 4, "resolution of counter-based clocks"},
		{"coarse_ns", VVarCoarseNs, 4, "resolution of coarse clocks"},
		{"tz_minuteswest", VVarTZMinutesWest, 4, "struct timezone"},
		{"tz_dsttime", VVarTZDSTTime, 4, "struct timezone"},
		{"cpu", VVarCPU, 4, "getcpu"},
		{"node", VVarNode, 4, "getcpu"},
	}
	for clk := 0; clk < NumClocks; clk++ {
		sec, nsec := "seconds", "ns"
		switch {
		case IsHres(clk):
			nsec = "ns << shift"
		case !IsCoarse(clk):
			sec, nsec = "unused", "unused"
		}
		n := strings.ToLower(clockNames[clk])
		f = append(f,
			vvarField{"base[" + n + "].sec", VVarBaseSec(clk), 8, sec},
			vvarField{"base[" + n + "].nsec", VVarBaseNsec(clk), 8, nsec})
	}
	return f
}

// vvarSymbol names a vvar address for the disassembler: the field that
// contains byte off of the first page.
func vvarSymbol(off int) (string, int, bool) {
	for _, f := range vvarFields() {
		if off >= f.off && off < f.off+f.size {
			return "vvar." + f.name, f.off, true
		}
	}
	return "", 0, false
}

// Layout returns a table of the vvar fields: offset, size, name, meaning.
func Layout() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vvar: %d pages (%#x bytes) below the vDSO; data in the first page\n", VVarPages, VVarSize)
	fmt.Fprintf(&b, "%-6s %-4s %-30s %s\n", "offset", "size", "field", "meaning")
	for _, f := range vvarFields() {
		fmt.Fprintf(&b, "0x%04x %-4d %-30s %s\n", f.off, f.size, f.name, f.doc)
	}
	return b.String()
}
