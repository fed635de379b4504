//go:build linux && amd64

package vdsoimage

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The native tests run the generated code on the host CPU through a small C
// harness (testdata/harness.c): the file it maps is exactly what the
// emulator maps, the vvar pages and then the image.

const testShift = 24

// nativeData is a vvar page with distinct bases per clock, so that a wrong
// index shows, and nanoseconds near a second, so that the carry is exercised.
func nativeData(mode ClockMode, cycleLast uint64) *Data {
	d := &Data{
		Mode:          mode,
		CycleLast:     cycleLast,
		Mult:          5592405, // about 1/3 ns per tick at shift 24
		Shift:         testShift,
		TZMinutesWest: -60,
		TZDSTTime:     1,
		CPU:           3,
		Node:          1,
		HresNs:        1,
		CoarseNs:      4000000,
	}
	for clk := 0; clk < NumClocks; clk++ {
		d.SetClock(clk, 1_700_000_000+uint64(clk)*1000, 999_999_000-uint64(clk)*1_000_000)
	}
	return d
}

type harness struct {
	bin string
	im  *Image
}

func buildHarness(t *testing.T) *harness {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found; skipping native execution of the vDSO")
	}
	bin := filepath.Join(t.TempDir(), "harness")
	out, err := exec.Command(gcc, "-O1", "-g", "-Wall", "-pthread", "-o", bin, "testdata/harness.c").CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	im, err := Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{bin: bin, im: im}
}

// args writes the file to map (vvar page d with sequence seq, the other
// vvar pages, the image) and returns the harness's arguments.
func (h *harness) args(t *testing.T, d *Data, seq uint32, mode ...string) []string {
	t.Helper()
	blob := make([]byte, VVarSize, VVarSize+len(h.im.Bytes))
	copy(blob, d.Encode(seq))
	blob = append(blob, h.im.Bytes...)
	file := filepath.Join(t.TempDir(), "vdso.bin")
	if err := os.WriteFile(file, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{file, strconv.Itoa(VVarSize)}
	for _, name := range []string{"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_clock_getres", "__vdso_getcpu"} {
		s, ok := h.im.Lookup(name)
		if !ok {
			t.Fatalf("no symbol %s", name)
		}
		args = append(args, strconv.FormatUint(s.Value, 10))
	}
	return append(args, mode...)
}

// run runs the harness over vvar page d (sequence seq) and the image.
func (h *harness) run(t *testing.T, d *Data, seq uint32, mode ...string) map[string][][]string {
	t.Helper()
	out, err := exec.Command(h.bin, h.args(t, d, seq, mode...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, out)
	}
	res := map[string][][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		res[f[0]] = append(res[f[0]], f[1:])
	}
	return res
}

func num(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return v
}

func unum(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return v
}

// checkABI fails if the harness saw a callee-saved register or rsp change.
func checkABI(t *testing.T, what string, ok string) {
	t.Helper()
	if ok != "1" {
		t.Errorf("%s: callee-saved registers or rsp not preserved", what)
	}
}

type timespec struct{ sec, nsec uint64 }

func (a timespec) less(b timespec) bool {
	return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec
}

func (d *Data) at(clk int, counter uint64) timespec {
	s, ns, _ := d.ClockTime(clk, counter)
	return timespec{s, ns}
}

func TestNativeTSC(t *testing.T) {
	h := buildHarness(t)
	cases := []struct {
		name      string
		cycleLast uint64
	}{
		// The counter is far past cycle_last: a huge delta, which only the
		// 128-bit product keeps exact.
		{"counter-ahead", 1},
		// The counter is behind cycle_last: delta 0, the base exactly.
		{"counter-behind", 1 << 63},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := nativeData(ClockModeTSC, tc.cycleLast)
			res := h.run(t, d, 42, "all")
			for _, f := range res["gettime"] {
				clk := int(num(t, f[0]))
				ret, sec, nsec := num(t, f[1]), uint64(num(t, f[2])), uint64(num(t, f[3]))
				hret := num(t, f[4])
				t0, t1 := unum(t, f[7]), unum(t, f[8])
				checkABI(t, fmt.Sprintf("clock_gettime(%d)", clk), f[9])
				got := timespec{sec, nsec}
				switch {
				case IsHres(clk):
					lo, hi := d.at(clk, t0), d.at(clk, t1)
					if ret != 0 || got.less(lo) || hi.less(got) {
						t.Errorf("clock_gettime(%s) = %d {%d, %d}, want 0 and between %v and %v", ClockName(clk), ret, sec, nsec, lo, hi)
					}
					if tc.cycleLast > t1 && got != lo {
						t.Errorf("clock_gettime(%s) = %v, want the base %v", ClockName(clk), got, lo)
					}
				case IsCoarse(clk):
					want := d.at(clk, 0)
					if ret != 0 || got != want {
						t.Errorf("clock_gettime(%s) = %d %v, want 0 %v", ClockName(clk), ret, got, want)
					}
				default:
					// The system call answers: the same result as the host's.
					if ret != hret {
						t.Errorf("clock_gettime(%d) = %d, want the host's %d", clk, ret, hret)
					}
					if ret != 0 && (sec != uint64(^uint64(6)) || nsec != uint64(^uint64(6))) {
						t.Errorf("clock_gettime(%d) failed but wrote {%d, %d}", clk, int64(sec), int64(nsec))
					}
				}
			}
			for _, f := range res["gettime_hi"] {
				clk := int(num(t, f[0]))
				checkABI(t, fmt.Sprintf("clock_gettime(%d|high bits)", clk), f[4])
				if IsCoarse(clk) {
					if got, want := (timespec{uint64(num(t, f[2])), uint64(num(t, f[3]))}), d.at(clk, 0); num(t, f[1]) != 0 || got != want {
						t.Errorf("clock_gettime(%s) with garbage in rdi[63:32] = %v, want %v", ClockName(clk), got, want)
					}
				}
			}
			for _, f := range res["getres"] {
				clk := int(num(t, f[0]))
				ret, sec, nsec, hret := num(t, f[1]), num(t, f[2]), num(t, f[3]), num(t, f[4])
				checkABI(t, fmt.Sprintf("clock_getres(%d)", clk), f[7])
				switch {
				case IsHres(clk) || IsCoarse(clk):
					want := int64(d.HresNs)
					if IsCoarse(clk) {
						want = int64(d.CoarseNs)
					}
					if ret != 0 || sec != 0 || nsec != want {
						t.Errorf("clock_getres(%s) = %d {%d, %d}, want 0 {0, %d}", ClockName(clk), ret, sec, nsec, want)
					}
				default:
					if ret != hret {
						t.Errorf("clock_getres(%d) = %d, want the host's %d", clk, ret, hret)
					}
				}
			}
			for _, f := range res["getres_null"] {
				clk := int(num(t, f[0]))
				ret, hret := num(t, f[1]), num(t, f[2])
				checkABI(t, fmt.Sprintf("clock_getres(%d, NULL)", clk), f[3])
				if (IsHres(clk) || IsCoarse(clk)) && ret != 0 || !(IsHres(clk) || IsCoarse(clk)) && ret != hret {
					t.Errorf("clock_getres(%d, NULL) = %d (host %d)", clk, ret, hret)
				}
			}

			f := res["gtod"][0]
			checkABI(t, "gettimeofday", f[9])
			ret, sec, usec := num(t, f[0]), uint64(num(t, f[1])), uint64(num(t, f[2]))
			lo, hi := d.at(ClockRealtime, unum(t, f[7])), d.at(ClockRealtime, unum(t, f[8]))
			lo.nsec, hi.nsec = lo.nsec/1000, hi.nsec/1000
			if got := (timespec{sec, usec}); ret != 0 || got.less(lo) || hi.less(got) {
				t.Errorf("gettimeofday = %d {%d, %d}, want 0 and between %v and %v (µs)", ret, sec, usec, lo, hi)
			}
			if f[3] != "-60" || f[4] != "1" {
				t.Errorf("gettimeofday tz = {%s, %s}, want {-60, 1}", f[3], f[4])
			}
			if f := res["gtod_tz"][0]; f[0] != "0" || f[1] != "-60" || f[2] != "1" {
				t.Errorf("gettimeofday(NULL, tz) = %v", f)
			}
			checkABI(t, "gettimeofday(NULL, tz)", res["gtod_tz"][0][3])
			if f := res["gtod_tv"][0]; f[0] != "0" || num(t, f[1]) < int64(lo.sec) {
				t.Errorf("gettimeofday(tv, NULL) = %v", f)
			}
			checkABI(t, "gettimeofday(tv, NULL)", res["gtod_tv"][0][3])
			if f := res["gtod_null"][0]; f[0] != "0" {
				t.Errorf("gettimeofday(NULL, NULL) = %v", f)
			}
			checkABI(t, "gettimeofday(NULL, NULL)", res["gtod_null"][0][1])

			want := strconv.FormatUint(d.Clocks[ClockRealtime].Sec, 10)
			if f := res["time"][0]; f[0] != want || f[1] != want {
				t.Errorf("time(&t) = %s, t = %s, want %s", f[0], f[1], want)
			}
			checkABI(t, "time(&t)", res["time"][0][2])
			if f := res["time_null"][0]; f[0] != want {
				t.Errorf("time(NULL) = %s, want %s", f[0], want)
			}
			checkABI(t, "time(NULL)", res["time_null"][0][1])

			if f := res["getcpu"][0]; strings.Join(f[:3], " ") != "0 3 1" {
				t.Errorf("getcpu = %v, want 0 3 1", f)
			}
			checkABI(t, "getcpu", res["getcpu"][0][3])
			if f := res["getcpu_cpu"][0]; strings.Join(f[:2], " ") != "0 3" {
				t.Errorf("getcpu(&cpu, NULL) = %v, want 0 3", f)
			}
			if f := res["getcpu_node"][0]; strings.Join(f[:2], " ") != "0 1" {
				t.Errorf("getcpu(NULL, &node) = %v, want 0 1", f)
			}
		})
	}
}

// TestNativeModeNone checks that with clock mode none the counter-based
// clocks and gettimeofday ask the host kernel, while the rest still read vvar.
func TestNativeModeNone(t *testing.T) {
	h := buildHarness(t)
	d := nativeData(ClockModeNone, 1)
	res := h.run(t, d, 2, "all")
	near := func(a, b timespec) bool {
		da := time.Unix(int64(a.sec), int64(a.nsec))
		db := time.Unix(int64(b.sec), int64(b.nsec))
		diff := da.Sub(db)
		return diff > -2*time.Second && diff < 2*time.Second
	}
	for _, f := range res["gettime"] {
		clk := int(num(t, f[0]))
		ret, hret := num(t, f[1]), num(t, f[4])
		got := timespec{uint64(num(t, f[2])), uint64(num(t, f[3]))}
		host := timespec{uint64(num(t, f[5])), uint64(num(t, f[6]))}
		checkABI(t, fmt.Sprintf("clock_gettime(%d)", clk), f[9])
		switch {
		case IsHres(clk):
			if ret != hret || ret == 0 && !near(got, host) {
				t.Errorf("clock_gettime(%s) = %d %v, want the host's %d %v", ClockName(clk), ret, got, hret, host)
			}
		case IsCoarse(clk):
			if want := d.at(clk, 0); ret != 0 || got != want {
				t.Errorf("clock_gettime(%s) = %d %v, want 0 %v", ClockName(clk), ret, got, want)
			}
		default:
			if ret != hret {
				t.Errorf("clock_gettime(%d) = %d, want the host's %d", clk, ret, hret)
			}
		}
	}
	f := res["gtod"][0]
	checkABI(t, "gettimeofday", f[9])
	got := timespec{uint64(num(t, f[1])), uint64(num(t, f[2])) * 1000}
	host := timespec{uint64(num(t, f[5])), uint64(num(t, f[6])) * 1000}
	if f[0] != "0" || !near(got, host) {
		t.Errorf("gettimeofday = %s %v, want 0 and near the host's %v", f[0], got, host)
	}
	// The kernel fills tz from its own (host) timezone; only check it was written.
	if f[3] == "-7" {
		t.Errorf("gettimeofday fallback did not write tz")
	}
}

// TestNativeSeqlockWait holds the sequence odd while the guest reads; the
// read must spin until the writer (another thread) finishes and then see the
// new value.
func TestNativeSeqlockWait(t *testing.T) {
	h := buildHarness(t)
	d := nativeData(ClockModeTSC, 1)
	const newSec = 1_800_000_000
	res := h.run(t, d, 10, "seqwait", strconv.Itoa(VVarSeq), strconv.Itoa(VVarBaseSec(ClockRealtimeCoarse)), strconv.Itoa(newSec))
	f := res["seqwait"][0]
	checkABI(t, "clock_gettime under a held seqlock", f[4])
	if f[0] != "0" || num(t, f[1]) != newSec || uint64(num(t, f[2])) != d.Clocks[ClockRealtimeCoarse].Nsec {
		t.Errorf("clock_gettime(REALTIME_COARSE) = %v, want 0 {%d, %d}", f[:3], newSec, d.Clocks[ClockRealtimeCoarse].Nsec)
	}
	if waited := time.Duration(num(t, f[3])); waited < 50*time.Millisecond {
		t.Errorf("returned after %v while the sequence was odd", waited)
	}
}

// TestHostDynamicLoader loads the image with the host's dynamic loader (as a
// plain library; nothing is called) and resolves every symbol through its
// hash tables and version definitions.
func TestHostDynamicLoader(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "dlcheck")
	if out, err := exec.Command(gcc, "-O1", "-Wall", "-o", bin, "testdata/dlcheck.c", "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	im, err := Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, "linux-vdso.so.1")
	if err := os.WriteFile(lib, im.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{lib, "nonexistent"}
	for _, s := range im.Symbols {
		args = append(args, s.Name)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dlcheck: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("dlcheck: %q", line)
		}
		var want uint64
		if s, ok := im.Lookup(f[0]); ok {
			want = s.Value
		}
		if unum(t, f[1]) != want || unum(t, f[2]) != want || f[3] != "0" {
			t.Errorf("%s: LINUX_2.6 %s, unversioned %s, LINUX_2.7 %s; want %#x, %#x, 0", f[0], f[1], f[2], f[3], want, want)
		}
	}
}

// TestGDBUnwind stops gdb inside a vDSO function, whose only debug
// information is the image's .eh_frame, and checks that gdb unwinds to the
// caller and steps out of it.
func TestGDBUnwind(t *testing.T) {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb not found")
	}
	h := buildHarness(t)
	lib := filepath.Join(t.TempDir(), "linux-vdso.so.1")
	if err := os.WriteFile(lib, h.im.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"set pagination off",
		"set confirm off",
		"break call_checked",
		"run",
		// The image sits right above the vvar pages in the harness's mapping.
		fmt.Sprintf(`eval "add-symbol-file %s -o %%p", base + vvar_size`, lib),
		"delete 1",
		"break __vdso_gettimeofday",
		"continue",
		"bt 2",
		"stepi 30", // into the seqlock loop, past the counter read
		"bt 2",
		"finish",
		"kill",
	}, "\n")
	scriptFile := filepath.Join(t.TempDir(), "unwind.gdb")
	if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-nx", "-batch", "-x", scriptFile, "--args", h.bin}, h.args(t, nativeData(ClockModeTSC, 1), 0, "all")...)
	out, _ := exec.Command(gdb, args...).CombinedOutput()
	text := string(out)
	if !strings.Contains(text, "Breakpoint 2") {
		t.Skipf("gdb could not run the harness here:\n%s", text)
	}
	frames, stop := 0, ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#1 ") && strings.Contains(line, "in call_checked") {
			frames++
		}
		if strings.HasPrefix(line, "0x") {
			stop = line // where gdb last stopped: after finish, the caller
		}
	}
	if frames != 2 {
		t.Errorf("gdb found the caller in %d of 2 backtraces:\n%s", frames, text)
	}
	if !strings.Contains(stop, "in call_checked") {
		t.Errorf("finish stopped at %q, want the caller:\n%s", stop, text)
	}
}
