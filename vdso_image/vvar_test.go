package vdsoimage

import (
	"bytes"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// page returns an 8-byte aligned page, as a mapping would be.
func page() []byte {
	words := make([]uint64, PageSize/8)
	// SAFETY: the slice covers exactly the words' memory, which stays alive
	// through words' backing array referenced by the returned slice.
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), PageSize)
}

func TestVVarLayout(t *testing.T) {
	f := vvarFields()
	sort.Slice(f, func(i, j int) bool { return f[i].off < f[j].off })
	end := 0
	for _, x := range f {
		if x.off < end {
			t.Errorf("%s at %#x overlaps the field before", x.name, x.off)
		}
		if x.off%x.size != 0 {
			t.Errorf("%s at %#x is not aligned to its size %d", x.name, x.off, x.size)
		}
		end = x.off + x.size
	}
	if end != VVarEnd || VVarEnd > PageSize {
		t.Errorf("fields end at %#x, VVarEnd %#x", end, VVarEnd)
	}
	// The code copies these pairs with one 8-byte load.
	if VVarTZMinutesWest%8 != 0 || VVarTZDSTTime != VVarTZMinutesWest+4 {
		t.Error("struct timezone is not one aligned 8-byte word")
	}
	if VVarCPU%8 != 0 || VVarNode != VVarCPU+4 {
		t.Error("cpu and node are not one aligned 8-byte word")
	}
	out := Layout()
	for _, want := range []string{"seq", "clock_mode", "cycle_last", "mult", "shift", "base[monotonic_raw].nsec", "tz_dsttime", "node"} {
		if !strings.Contains(out, want) {
			t.Errorf("Layout() lacks %q", want)
		}
	}
}

func sampleData() *Data {
	d := &Data{Mode: ClockModeTSC, CycleLast: 0x123456789abcdef, Mult: 0x12345, Shift: 22,
		TZMinutesWest: -330, TZDSTTime: 0, CPU: 7, Node: 2, HresNs: 1, CoarseNs: 4000000}
	for clk := range d.Clocks {
		d.SetClock(clk, uint64(1000+clk), uint64(clk*100))
	}
	return d
}

func TestPublishRead(t *testing.T) {
	p := page()
	d := sampleData()
	Publish(p, d)
	if got := Read(p); got != *d {
		t.Errorf("Read = %+v, want %+v", got, *d)
	}
	if s := Seq(p); s != 2 {
		t.Errorf("sequence after one publish = %d, want 2", s)
	}
	Publish(p, d)
	if s := Seq(p); s != 4 {
		t.Errorf("sequence after two publishes = %d, want 4", s)
	}
	if !bytes.Equal(p, d.Encode(4)) {
		t.Error("Publish and Encode disagree")
	}
	if d.Clocks[ClockMonotonic].Nsec != 100<<22 || d.Clocks[ClockMonotonicCoarse].Nsec != 600 {
		t.Error("SetClock did not shift only counter-based clocks")
	}

	// A writer that stopped half-way leaves an odd sequence; the next
	// publish takes that section over and still ends even.
	store32(p, VVarSeq, 7)
	Publish(p, d)
	if s := Seq(p); s != 8 {
		t.Errorf("sequence after publishing over 7 = %d, want 8", s)
	}
}

// Begin opens every page before the data exists; readers wait until Finish closes each.
func TestBeginFinishAcrossPages(t *testing.T) {
	pages := [][]byte{make([]byte, PageSize), make([]byte, PageSize)}
	var d Data
	d.Mult, d.Shift = 1, 0
	for _, p := range pages {
		Publish(p, &d)
	}
	for _, p := range pages {
		Begin(p)
		if Seq(p)&1 == 0 {
			t.Fatal("Begin left the section closed")
		}
	}
	Begin(pages[0]) // already open: stays open, once
	if s := Seq(pages[0]); s != 3 {
		t.Errorf("sequence after opening twice = %d, want 3", s)
	}
	d.CycleLast = 42
	done := make(chan Data)
	go func() { done <- Read(pages[1]) }() // waits for the section to close
	for _, p := range pages {
		Finish(p, &d)
		if s := Seq(p); s != 4 {
			t.Errorf("sequence after Finish = %d, want 4", s)
		}
	}
	if got := <-done; got.CycleLast != 42 {
		t.Errorf("a reader during the section read CycleLast %d, want the new 42", got.CycleLast)
	}
}

func TestPublishChecksPage(t *testing.T) {
	for _, tc := range []struct {
		name string
		page []byte
	}{
		{"short", make([]byte, 100)},
		{"misaligned", page()[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			Publish(tc.page, &Data{})
		})
	}
}

// TestSeqlockConcurrent publishes generations whose fields all derive from
// one number while readers check they never see a mix.
func TestSeqlockConcurrent(t *testing.T) {
	p := page()
	gen := func(n uint64) *Data {
		d := &Data{CycleLast: n, Mult: uint32(n), Shift: uint32(n % 64), CPU: uint32(n), Node: uint32(n)}
		for clk := range d.Clocks {
			d.Clocks[clk] = Base{n, n}
		}
		return d
	}
	Publish(p, gen(0))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := Read(p)
				if want := gen(d.CycleLast); d != *want {
					t.Errorf("torn read: %+v", d)
					return
				}
			}
		}()
	}
	for n := uint64(1); n < 20000; n++ {
		Publish(p, gen(n))
	}
	close(stop)
	wg.Wait()
}

func TestClockTime(t *testing.T) {
	const shift = 24
	base := func() *Data {
		d := &Data{Mode: ClockModeTSC, CycleLast: 1000, Mult: 1 << shift, Shift: shift} // 1 ns per tick
		d.SetClock(ClockRealtime, 100, 500)
		d.SetClock(ClockMonotonic, 5, 999_999_999)
		d.SetClock(ClockRealtimeCoarse, 99, 123)
		return d
	}
	cases := []struct {
		name      string
		edit      func(*Data)
		clk       int
		counter   uint64
		sec, nsec uint64
		ok        bool
	}{
		{"no-delta", nil, ClockRealtime, 1000, 100, 500, true},
		{"delta", nil, ClockRealtime, 1250, 100, 750, true},
		{"counter-behind", nil, ClockRealtime, 10, 100, 500, true},
		{"carry-seconds", nil, ClockMonotonic, 1001, 6, 0, true},
		{"carry-many-seconds", nil, ClockMonotonic, 1000 + 3_000_000_001, 9, 0, true},
		{"shift-zero", func(d *Data) { d.Shift, d.Mult = 0, 3; d.SetClock(ClockRealtime, 1, 10) }, ClockRealtime, 1100, 1, 310, true},
		{"fractional-mult", func(d *Data) { d.Mult = 1 << (shift - 1) }, ClockRealtime, 1003, 100, 501, true},
		{"coarse", nil, ClockRealtimeCoarse, 5000, 99, 123, true},
		{"cpu-clock-falls-back", nil, ClockProcessCPUTime, 5000, 0, 0, false},
		{"negative-falls-back", nil, -1, 5000, 0, 0, false},
		{"too-big-falls-back", nil, 12, 5000, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			if tc.edit != nil {
				tc.edit(d)
			}
			sec, nsec, ok := d.ClockTime(tc.clk, tc.counter)
			if sec != tc.sec || nsec != tc.nsec || ok != tc.ok {
				t.Errorf("ClockTime(%d, %d) = %d, %d, %v; want %d, %d, %v", tc.clk, tc.counter, sec, nsec, ok, tc.sec, tc.nsec, tc.ok)
			}
		})
	}
}

// TestClockTimeWide checks the 128-bit product against big integers where
// delta*mult overflows 64 bits.
func TestClockTimeWide(t *testing.T) {
	d := &Data{CycleLast: 12345, Mult: 0xfedcba98, Shift: 31}
	d.Clocks[ClockBoottime] = Base{Sec: 77, Nsec: 0xffffffffffff}
	for _, counter := range []uint64{1 << 40, 1 << 50, 1<<63 + 99, ^uint64(0)} {
		v := new(big.Int).SetUint64(counter - d.CycleLast)
		v.Mul(v, big.NewInt(int64(d.Mult)))
		v.Add(v, new(big.Int).SetUint64(d.Clocks[ClockBoottime].Nsec))
		v.Rsh(v, uint(d.Shift))
		ns := new(big.Int).And(v, new(big.Int).SetUint64(^uint64(0))).Uint64() // truncated to 64 bits
		sec, nsec, _ := d.ClockTime(ClockBoottime, counter)
		if sec != 77+ns/1e9 || nsec != ns%1e9 {
			t.Errorf("counter %#x: %d.%09d, want %d.%09d", counter, sec, nsec, 77+ns/1e9, ns%1e9)
		}
	}
}
