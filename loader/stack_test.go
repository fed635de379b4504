package loader

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackView reads an initial stack block that starts at guest address sp.
type stackView struct {
	t  testing.TB
	b  []byte
	sp uint64
}

func (v stackView) word(addr uint64) uint64 {
	require.GreaterOrEqual(v.t, addr, v.sp)
	require.LessOrEqual(v.t, addr-v.sp+8, uint64(len(v.b)), "word at %#x", addr)
	return binary.LittleEndian.Uint64(v.b[addr-v.sp:])
}

func (v stackView) str(addr uint64) string {
	require.GreaterOrEqual(v.t, addr, v.sp)
	require.Less(v.t, addr-v.sp, uint64(len(v.b)), "string at %#x", addr)
	s := v.b[addr-v.sp:]
	n := bytes.IndexByte(s, 0)
	require.GreaterOrEqual(v.t, n, 0, "string at %#x has no NUL", addr)
	return string(s[:n])
}

// decoded is an initial stack read back the way libc reads it.
type decoded struct {
	argv, envp []string
	argvAt     []uint64
	envpAt     []uint64
	auxv       []Aux
	auxvOff    int // offset of auxv in the block
}

func (v stackView) decode() decoded {
	var d decoded
	a := v.sp
	argc := v.word(a)
	require.Less(v.t, argc, uint64(len(v.b)))
	a += 8
	for i := uint64(0); i < argc; i++ {
		p := v.word(a)
		d.argvAt = append(d.argvAt, p)
		d.argv = append(d.argv, v.str(p))
		a += 8
	}
	require.Zero(v.t, v.word(a), "argv NULL")
	a += 8
	for p := v.word(a); p != 0; p = v.word(a) {
		d.envpAt = append(d.envpAt, p)
		d.envp = append(d.envp, v.str(p))
		a += 8
	}
	a += 8
	d.auxvOff = int(a - v.sp)
	for {
		typ, val := v.word(a), v.word(a+8)
		d.auxv = append(d.auxv, Aux{typ, val})
		a += 16
		if typ == AT_NULL {
			break
		}
	}
	return d
}

func auxVal(auxv []Aux, typ uint64) (uint64, bool) {
	for _, a := range auxv {
		if a.Type == typ {
			return a.Val, true
		}
	}
	return 0, false
}

func TestStack(t *testing.T) {
	spec := StackSpec{
		Top:      0x7ffffffff000,
		Argv:     []string{"/bin/prog", "one", "", "three"},
		Envp:     []string{"HOME=/root", "A=b"},
		ExecFn:   "/bin/prog",
		Platform: "x86_64",
		Random:   [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		Auxv: []Aux{
			{AT_SYSINFO_EHDR, 0x7ffff7ffd000},
			{AT_PAGESZ, 4096},
			{AT_PHDR, 0x400040},
			{AT_PHENT, 56},
			{AT_PHNUM, 6},
			{AT_ENTRY, 0x401000},
			{AT_SECURE, 0},
		},
		Tail: []Aux{{AT_RSEQ_FEATURE_SIZE, 28}, {AT_RSEQ_ALIGN, 32}},
	}
	b, sp, err := Stack(spec)
	require.NoError(t, err)
	assert.Zero(t, sp%16, "sp is 16-byte aligned")
	assert.Equal(t, spec.Top-uint64(len(b)), sp)
	v := stackView{t, b, sp}
	d := v.decode()
	assert.Equal(t, spec.Argv, d.argv)
	assert.Equal(t, spec.Envp, d.envp)

	// Linux's order: the rseq entries after AT_PLATFORM, last.
	want := append(append([]Aux{}, spec.Auxv...), Aux{AT_RANDOM, 0}, Aux{AT_EXECFN, 0}, Aux{AT_PLATFORM, 0})
	want = append(append(want, spec.Tail...), Aux{AT_NULL, 0})
	require.Len(t, d.auxv, len(want))
	for i := range want {
		assert.Equal(t, want[i].Type, d.auxv[i].Type, "auxv[%d]", i)
		if i < len(spec.Auxv) || want[i].Type == AT_RSEQ_FEATURE_SIZE || want[i].Type == AT_RSEQ_ALIGN {
			assert.Equal(t, want[i].Val, d.auxv[i].Val, "auxv[%d]", i)
		}
	}
	rnd, _ := auxVal(d.auxv, AT_RANDOM)
	assert.Equal(t, spec.Random[:], b[rnd-sp:rnd-sp+16])
	execfn, _ := auxVal(d.auxv, AT_EXECFN)
	assert.Equal(t, spec.ExecFn, v.str(execfn))
	plat, _ := auxVal(d.auxv, AT_PLATFORM)
	assert.Equal(t, "x86_64", v.str(plat))

	// Linux's order from the top: a zero word, execfn, then envp and argv
	// strings with argv[0] lowest, all contiguous.
	assert.Equal(t, make([]byte, 8), b[len(b)-8:])
	assert.Equal(t, spec.Top-8-uint64(len(spec.ExecFn))-1, execfn)
	assert.Equal(t, execfn-uint64(len("A=b"))-1, d.envpAt[1])
	assert.Equal(t, d.argvAt[3]+uint64(len("three"))+1, d.envpAt[0])
	for i := 1; i < len(d.argvAt); i++ {
		assert.Equal(t, d.argvAt[i-1]+uint64(len(spec.Argv[i-1]))+1, d.argvAt[i])
	}
	argStart, envStart, envEnd := StringArea(spec.Top, spec.Argv, spec.Envp, spec.ExecFn)
	assert.Equal(t, d.argvAt[0], argStart)
	assert.Equal(t, d.envpAt[0], envStart)
	assert.Equal(t, execfn, envEnd)
	assert.Less(t, rnd+16, d.argvAt[0], "random bytes below the strings")
	assert.Greater(t, rnd, sp+uint64(d.auxvOff), "random bytes above auxv")
	assert.Equal(t, rnd+16, plat, "platform string right above the random bytes")
	assert.Zero(t, (plat+uint64(len("x86_64"))+1)%16, "platform ends at the 16-byte aligned string area")
}

func TestStackShapes(t *testing.T) {
	for _, c := range []struct {
		name string
		spec StackSpec
	}{
		{"empty", StackSpec{Top: 0x10000}},
		{"no-platform", StackSpec{Top: 0x7fff0000, Argv: []string{"a"}, ExecFn: "a"}},
		{"unaligned-top", StackSpec{Top: 0x7fff0003, Argv: []string{"abc", "de"}, Envp: []string{"X=1"}, ExecFn: "./x", Platform: "x86_64"}},
		{"many", StackSpec{Top: 1 << 40, Argv: strings.Fields(strings.Repeat("arg ", 1000)), Envp: strings.Fields(strings.Repeat("E=v ", 500)), Platform: "x86_64"}},
	} {
		for extra := range 4 { // every parity of argc, envc and auxv count
			c.spec.Auxv = nil
			for i := range extra {
				c.spec.Auxv = append(c.spec.Auxv, Aux{AT_UID + uint64(i), uint64(i)})
			}
			t.Run(fmt.Sprintf("%s/%d", c.name, extra), func(t *testing.T) {
				b, sp, err := Stack(c.spec)
				require.NoError(t, err)
				assert.Zero(t, sp%16)
				assert.Equal(t, c.spec.Top-uint64(len(b)), sp)
				d := stackView{t, b, sp}.decode()
				assert.Equal(t, len(c.spec.Argv), len(d.argv))
				assert.Equal(t, c.spec.Argv, append([]string(nil), d.argv...)[:len(c.spec.Argv):len(c.spec.Argv)])
				assert.Equal(t, len(c.spec.Envp), len(d.envp))
				_, hasPlat := auxVal(d.auxv, AT_PLATFORM)
				assert.Equal(t, c.spec.Platform != "", hasPlat)
				assert.Len(t, d.auxv, extra+3+map[bool]int{true: 1}[hasPlat])
			})
		}
	}
}

func TestStackErrors(t *testing.T) {
	long := strings.Repeat("x", MaxArgStrlen)
	for _, c := range []struct {
		name    string
		spec    StackSpec
		wantErr string
		tooLong bool
	}{
		{"nul-in-argv", StackSpec{Top: 1 << 30, Argv: []string{"a", "b\x00c"}}, "argv[1] contains a NUL byte", false},
		{"nul-in-envp", StackSpec{Top: 1 << 30, Envp: []string{"\x00"}}, "envp[0] contains a NUL byte", false},
		{"string-too-long", StackSpec{Top: 1 << 30, Argv: []string{long}}, "argv[0] is 131073 bytes", true},
		{"strings-too-long", StackSpec{Top: 1 << 30, Envp: strings.Fields(strings.Repeat(long[1:]+" ", 17))}, "strings and pointers exceed 2097152 bytes at envp[15]", true},
		{"pointers-too-many", StackSpec{Top: 1 << 30, Argv: make([]string, 300000)}, "argument list too long", true},
		{"aux-null", StackSpec{Top: 1 << 30, Auxv: []Aux{{AT_PAGESZ, 4096}, {AT_NULL, 0}}}, "auxv[1] has type 0", false},
		{"aux-random", StackSpec{Top: 1 << 30, Auxv: []Aux{{AT_RANDOM, 1}}}, "auxv[0] has type 25", false},
		{"tail-platform", StackSpec{Top: 1 << 30, Auxv: []Aux{{AT_PAGESZ, 4096}}, Tail: []Aux{{AT_PLATFORM, 1}}}, "auxv[1] has type 15", false},
		{"top-too-low", StackSpec{Top: 0x100, Argv: []string{strings.Repeat("y", 300)}}, "top 0x100 is too low", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Stack(c.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.wantErr)
			if c.tooLong {
				assert.ErrorIs(t, err, ErrArgListTooLong)
				assert.Contains(t, err.Error(), "argument list too long")
			}
		})
	}
}

const stackDumpC = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	unsigned long sp = (unsigned long)argv - 8, lo, hi, top = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			top = hi;
	printf("%lx %lx\n", sp, top);
	for (unsigned char *p = (unsigned char *)sp; p < (unsigned char *)top; p++)
		printf("%02x", *p);
	printf("\n");
	return 0;
}
`

// TestStackMatchesLinux runs a static program on the host without address
// randomization, has it dump its initial stack, and builds the same stack
// with Stack from the same inputs: every byte must match, except that the
// auxv entries may come in another order.
func TestStackMatchesLinux(t *testing.T) {
	setarch, err := exec.LookPath("setarch")
	if err != nil {
		t.Skip("setarch is not installed")
	}
	dir := t.TempDir()
	prog := buildC(t, dir, "stackdump", "gcc", stackDumpC, "-static", "-O1")
	argv := []string{prog, "one", "", "three four"}
	cmd := exec.Command(setarch, append([]string{"x86_64", "-R"}, argv...)...)
	cmd.Env = []string{"A=1", "LONGER=hello world", "E="}
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot run %s without randomization: %v", prog, err)
	}
	var sp, top uint64
	var dump string
	_, err = fmt.Sscanf(string(out), "%x %x\n%s", &sp, &top, &dump)
	require.NoError(t, err, "output %q", out)
	real, err := hex.DecodeString(dump)
	require.NoError(t, err)
	rv := stackView{t, real, sp}
	rd := rv.decode()
	require.Equal(t, argv, rd.argv)
	require.Equal(t, cmd.Env, rd.envp)

	spec := StackSpec{Top: top, Argv: argv, Envp: cmd.Env}
	for _, a := range rd.auxv {
		switch a.Type {
		case AT_RANDOM:
			copy(spec.Random[:], real[a.Val-sp:])
		case AT_EXECFN:
			spec.ExecFn = rv.str(a.Val)
		case AT_PLATFORM:
			spec.Platform = rv.str(a.Val)
		case AT_NULL:
		default:
			spec.Auxv = append(spec.Auxv, a)
		}
	}
	assert.Equal(t, prog, spec.ExecFn)
	assert.Equal(t, "x86_64", spec.Platform)

	b, gotSP, err := Stack(spec)
	require.NoError(t, err)
	require.Equal(t, sp, gotSP, "sp")
	require.Equal(t, len(real), len(b))
	d := stackView{t, b, gotSP}.decode()
	auxEnd := d.auxvOff + 16*len(d.auxv)
	assert.Equal(t, real[:d.auxvOff], b[:d.auxvOff], "argc, argv and envp")
	assert.Equal(t, hex.Dump(real[auxEnd:]), hex.Dump(b[auxEnd:]), "random bytes, platform and strings")
	assert.ElementsMatch(t, rd.auxv, d.auxv, "auxv")
}

func TestArgLimit(t *testing.T) {
	for _, c := range []struct {
		name  string
		stack uint64
		want  uint64
	}{
		{"default", 8 << 20, 2 << 20},
		{"small", 64 << 10, 128 << 10},
		{"large", 64 << 20, 6 << 20},
		{"unlimited", ^uint64(0), 6 << 20},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, ArgLimit(c.stack)) })
	}
	// 100,000 one-letter arguments fit under the default rlimit, as on Linux.
	many := make([]string, 100000)
	for i := range many {
		many[i] = "x"
	}
	assert.NoError(t, CheckArgs("/bin/prog", many, nil, ArgLimit(8<<20)))
	assert.ErrorIs(t, CheckArgs("/bin/prog", many, nil, ArgLimit(1<<20)), ErrArgListTooLong)
	assert.NoError(t, CheckArgs("p", []string{strings.Repeat("y", MaxArgStrlen-1)}, nil, ArgLimit(8<<20)))
	assert.ErrorIs(t, CheckArgs("p", []string{strings.Repeat("y", MaxArgStrlen)}, nil, ArgLimit(8<<20)), ErrArgListTooLong)
}
