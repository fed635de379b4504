package emu

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// snippet is a few instructions that test one CPU feature, with the host's results for a
// set of inputs: 64 bytes in at rdi, 64 bytes out at rsi (testdata/c/cpufeat.c).
type snippet struct {
	feature Feature
	code    []byte
	runs    []snippetRun
}

type snippetRun struct {
	in, out []byte // out is nil where the host raised SIGILL
}

var (
	snippetsOnce sync.Once
	snippetsErr  error
	snippetsAll  []snippet
)

// hostSnippets builds testdata/c/cpufeat.c and runs it natively to get each snippet's code
// and the host's results.
func hostSnippets(t *testing.T) []snippet {
	t.Helper()
	snippetsOnce.Do(func() {
		root, _ := filepath.Abs(filepath.Join("..", "testdata"))
		if out, err := exec.Command("make", "-s", "-C", root, "out/cpufeat.glibc").CombinedOutput(); err != nil {
			snippetsErr = fmt.Errorf("building cpufeat.glibc: %v\n%s", err, out)
			return
		}
		out, err := exec.Command(filepath.Join(root, "out", "cpufeat.glibc"), "dump").Output()
		if err != nil {
			snippetsErr = fmt.Errorf("running cpufeat.glibc dump: %v", err)
			return
		}
		snippetsAll, snippetsErr = parseSnippets(out)
	})
	if snippetsErr != nil {
		t.Skipf("no snippets: %v", snippetsErr)
	}
	return snippetsAll
}

func parseSnippets(b []byte) ([]snippet, error) {
	var all []snippet
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 7 && f[0] == "snip":
			var n [4]uint64
			for i := range n {
				v, err := strconv.ParseUint(f[2+i], 10, 32)
				if err != nil {
					return nil, fmt.Errorf("line %q: %v", sc.Text(), err)
				}
				n[i] = v
			}
			code, err := hex.DecodeString(f[6])
			if err != nil {
				return nil, err
			}
			if n[1] != 0 {
				return nil, fmt.Errorf("snippet %s: subleaf %d", f[1], n[1])
			}
			all = append(all, snippet{feature: Feature{Name: f[1], Leaf: uint32(n[0]), Reg: CPUIDReg(n[2]), Bit: uint(n[3])}, code: code})
		case len(f) == 4 && f[0] == "in" && len(all) > 0:
			in, err := hex.DecodeString(f[1])
			if err != nil {
				return nil, err
			}
			r := snippetRun{in: in}
			if f[3] != "SIGILL" {
				if r.out, err = hex.DecodeString(f[3]); err != nil {
					return nil, err
				}
			}
			s := &all[len(all)-1]
			s.runs = append(s.runs, r)
		default:
			return nil, fmt.Errorf("unexpected line %q", sc.Text())
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no snippets in the output")
	}
	return all, sc.Err()
}

// snippetRunner runs snippets on an engine: code at 0x10000, input and output at 0x20000,
// a stack below 0x40000.
type snippetRunner struct {
	e   *Engine
	mem []byte
}

const (
	snipCode  = 0x10000
	snipData  = 0x20000
	snipStack = 0x30000
)

func newSnippetRunner(t *testing.T, e *Engine) *snippetRunner {
	mem, err := unix.Mmap(-1, 0, 4*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	require.NoError(t, e.MapHost(snipCode, mem[:PageSize], ProtRead|ProtExec))
	require.NoError(t, e.MapHost(snipData, mem[PageSize:2*PageSize], ProtRead|ProtWrite))
	require.NoError(t, e.MapHost(snipStack, mem[2*PageSize:], ProtRead|ProtWrite))
	return &snippetRunner{e: e, mem: mem}
}

// load puts a snippet's code, followed by hlt, in place.
func (r *snippetRunner) load(code []byte) {
	clear(r.mem[:PageSize])
	copy(r.mem, code)
	r.mem[len(code)] = 0xf4
	r.e.FlushCode(snipCode, snipCode+PageSize)
}

// run runs the loaded snippet on in; it returns the output, or nil for an invalid
// instruction.
func (r *snippetRunner) run(t *testing.T, in []byte) []byte {
	data := r.mem[PageSize : 2*PageSize]
	copy(data, in)
	clear(data[64:128])
	// Each run starts from the x87 and SSE state of a new Linux process, as the host's
	// snippet did: the x87's precision and rounding come from its control word.
	require.NoError(t, r.e.ResetFPU())
	r.e.SetRegs([]Reg{RDI, RSI, RSP}, []uint64{snipData, snipData + 64, snipStack + 2*PageSize - 8})
	ev := r.e.Run(snipCode)
	switch ev.Kind {
	case Halt:
		return append([]byte(nil), data[64:128]...)
	case Invalid:
		return nil
	}
	t.Errorf("snippet stopped with %v", ev)
	return []byte{}
}

// systemFeatures are the features with no instruction of their own for a user program: they
// describe the machine the kernel runs on (paging, interrupts, system calls) and are shown as
// Linux shows them.
var systemFeatures = map[string]bool{
	"vme": true, "de": true, "pse": true, "msr": true, "pae": true, "mce": true, "apic": true,
	"sep": true, "mtrr": true, "pge": true, "mca": true, "pat": true, "pse36": true,
	"hypervisor": true, "syscall": true, "nx": true, "pdpe1gb": true, "lm": true,
	"smep": true, "smap": true, "cr8_legacy": true, "fxsr_opt": true, "x2apic": true,
	"pcid": true, "invpcid": true, "tsc_deadline_timer": true, "umip": true,
}

// checkFeatures runs every snippet on e and compares with the host: a feature e's CPUID
// advertises must give the host's results, and any other must be an invalid instruction.
// It returns the names of the features verified, and complaints.
func checkFeatures(t *testing.T, e *Engine, snips []snippet) (ok []string, bad []string) {
	r := newSnippetRunner(t, e)
	for _, s := range snips {
		a, b, c, d, err := e.CPUID(s.feature.Leaf, 0)
		require.NoError(t, err)
		adv := [4]uint32{a, b, c, d}[s.feature.Reg]>>s.feature.Bit&1 != 0
		r.load(s.code)
		good := true
		for _, run := range s.runs {
			got := r.run(t, run.in)
			switch {
			case adv && run.out == nil:
				bad = append(bad, fmt.Sprintf("%s: advertised, but the host lacks it: cannot verify", s.feature.Name))
			case adv && got == nil:
				bad = append(bad, fmt.Sprintf("%s: advertised, but an invalid instruction", s.feature.Name))
			case adv && !bytes.Equal(got, run.out):
				bad = append(bad, fmt.Sprintf("%s: advertised, but on input %x\n  emulated %x\n  host     %x", s.feature.Name, run.in, got, run.out))
			case !adv && got != nil && RunAnyway[s.feature.Name] != "":
				t.Logf("%s: not advertised, but its instructions run: %s", s.feature.Name, RunAnyway[s.feature.Name])
			case !adv && got != nil:
				bad = append(bad, fmt.Sprintf("%s: not advertised, but its instructions run", s.feature.Name))
			default:
				continue
			}
			good = false
			break
		}
		if adv && good {
			ok = append(ok, s.feature.Name)
		}
	}
	return ok, bad
}

// TestCPUFeatures checks the features the emulated CPU advertises against the host running
// the same instructions, and that the instructions of every other feature fault.
func TestCPUFeatures(t *testing.T) {
	snips := hostSnippets(t)
	e, err := New()
	require.NoError(t, err)
	defer e.Close()
	ok, bad := checkFeatures(t, e, snips)
	for _, b := range bad {
		t.Error(b)
	}
	t.Logf("verified: %s", strings.Join(ok, " "))

	// Every advertised feature is either verified by a snippet or has no instruction.
	have := map[string]bool{}
	for _, s := range snips {
		have[s.feature.Name] = true
	}
	info := e.Info()
	for _, f := range info.Flags {
		if !have[f] && !systemFeatures[f] {
			t.Errorf("%s is advertised but no snippet in testdata/c/cpufeat.c tests it", f)
		}
	}
	for name := range hidden {
		assert.NotContains(t, info.Flags, name)
	}
	for _, n := range []string{"popcnt", "abm", "bmi1", "sse4_2", "ssse3", "aes", "pclmulqdq", "fsgsbase"} {
		assert.Contains(t, ok, n, "a feature the richest model offers")
	}
}

// TestCPUModels surveys Unicorn's x86-64 models: none may offer a feature, verified against
// the host, that the chosen model lacks.
func TestCPUModels(t *testing.T) {
	if testing.Short() {
		t.Skip("surveys every model")
	}
	snips := hostSnippets(t)
	var rows []string
	offers := make([][]string, numModels)
	for m := range numModels {
		e, err := open(m)
		if err != nil {
			// The 32-bit models (486, Pentium, qemu32...) have no SYSRET to user mode.
			rows = append(rows, fmt.Sprintf("model %d: %v", m, err))
			continue
		}
		ok, bad := checkFeatures(t, e, snips)
		e.Close()
		offers[m] = ok
		sort.Strings(bad)
		rows = append(rows, fmt.Sprintf("model %d: %d verified (%s); %d problems", m, len(ok), strings.Join(ok, " "), len(bad)))
		for _, b := range bad {
			rows = append(rows, "    "+strings.SplitN(b, "\n", 2)[0])
		}
	}
	chosen := map[string]bool{}
	for _, n := range offers[cpuModel] {
		chosen[n] = true
	}
	for m, ok := range offers {
		for _, n := range ok {
			if !chosen[n] && RunAnyway[n] == "" {
				t.Errorf("model %d offers %s, the chosen model %d does not", m, n, cpuModel)
			}
		}
	}
	if testing.Verbose() {
		fmt.Fprintln(os.Stderr, strings.Join(rows, "\n"))
	}
}

// TestCPUInfo checks the description of the CPU against its CPUID answers.
func TestCPUInfo(t *testing.T) {
	e, err := New()
	require.NoError(t, err)
	defer e.Close()
	in := e.Info()
	assert.Equal(t, "GenuineIntel", in.Vendor)
	assert.NotEmpty(t, in.ModelName)
	assert.Equal(t, uint32(64), in.CLFlushSize)
	assert.Equal(t, uint32(48), in.VirtBits)
	_, b7, _, _, err := e.CPUID(7, 0)
	require.NoError(t, err)
	_, _, _, d1, err := e.CPUID(1, 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(d1), in.HWCap, "AT_HWCAP is CPUID(1).EDX")
	assert.Equal(t, uint64(b7&1)<<1, in.HWCap2, "HWCAP2_FSGSBASE")
	flags := map[string]bool{}
	for _, f := range in.Flags {
		flags[f] = true
	}
	for _, f := range knownFeatures {
		a, b, c, d, err := e.CPUID(f.Leaf, 0)
		require.NoError(t, err)
		set := [4]uint32{a, b, c, d}[f.Reg]>>f.Bit&1 != 0
		assert.Equal(t, set, flags[f.Name], f.Name)
	}
	for _, f := range []string{"popcnt", "abm", "fsgsbase", "rdseed"} {
		assert.True(t, flags[f], f)
	}
	for _, f := range []string{"bmi2", "xsave", "avx", "pku", "monitor"} {
		assert.False(t, flags[f], f)
	}
}

// TestCPUIDHook checks the hook's answers: 32-bit results that clear the upper halves of
// the registers, the leaf taken from eax alone, subleaves of leaf 7 other than 0 left to
// the model, and an unknown leaf answered as the model answers it.
func TestCPUIDHook(t *testing.T) {
	code := []byte{0x0f, 0xa2, 0xf4} // cpuid; hlt
	e, _ := newEngine(t, code)
	ref, err := open(cpuModel)
	require.NoError(t, err)
	defer ref.Close()
	for _, c := range []struct {
		name      string
		rax, rcx  uint64
		leaf, sub uint32
	}{
		{"leaf1-high-bits", 0xdead_beef_0000_0001, 0x1234_5678_0000_0000, 1, 0},
		{"leaf7-sub0", 7, 0, 7, 0},
		{"leaf7-sub1", 7, 1, 7, 1},
		{"ext1", 0x80000001, 5, 0x80000001, 5},
		{"brand", 0x80000002, 0, 0x80000002, 0},
		{"unknown", 0x4000_0000, 0, 0x4000_0000, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, e.SetRegs([]Reg{RAX, RBX, RCX, RDX}, []uint64{c.rax, ^uint64(0), c.rcx, ^uint64(0)}))
			ev := e.Run(codeAddr)
			require.Equal(t, Halt, ev.Kind, ev.String())
			var got [4]uint64
			e.Regs([]Reg{RAX, RBX, RCX, RDX}, got[:])
			a, b, cc, d, err := e.CPUID(c.leaf, c.sub)
			require.NoError(t, err)
			assert.Equal(t, [4]uint64{uint64(a), uint64(b), uint64(cc), uint64(d)}, got)
			ra, rb, rc, rd, err := ref.CPUID(c.leaf, c.sub)
			require.NoError(t, err)
			for _, l := range []uint32{1, 7, 0x80000001} {
				if c.leaf == l && c.sub == 0 || c.leaf == l && l != 7 {
					return // masked: compared with Info in TestCPUInfo
				}
			}
			assert.Equal(t, [4]uint32{ra, rb, rc, rd}, [4]uint32{a, b, cc, d}, "the model's own answer")
		})
	}
}

// BenchmarkCPUID measures a CPUID instruction that the hook answers (leaf 1) and one that
// it leaves to the model (leaf 0): a loop of 1000 of each per run.
func BenchmarkCPUID(b *testing.B) {
	for _, leaf := range []uint32{0, 1} {
		b.Run(fmt.Sprintf("leaf%d", leaf), func(b *testing.B) {
			// mov ebp, 1000; loop: mov eax, leaf; cpuid; dec ebp; jnz loop; hlt
			code := []byte{0xbd, 0xe8, 0x03, 0, 0, 0xb8, byte(leaf), 0, 0, 0, 0x0f, 0xa2, 0xff, 0xcd, 0x75, 0xf5, 0xf4}
			e, _ := newEngine(b, code)
			b.ResetTimer()
			for range b.N {
				if ev := e.Run(codeAddr); ev.Kind != Halt {
					b.Fatal(ev)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/cpuid")
		})
	}
}
