package loader

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		e := newTestELF()
		if c.mod != nil {
			c.mod(e)
		}
		b := e.bytes()
		if c.raw != nil {
			b = c.raw(b)
		}
		f.Add(b)
	}
	// A small real static binary, whole and without section headers.
	if path, ok := buildSeed(f, "musl-gcc", "-static", "-Os", "-s"); ok {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
			f.Add(sstrip(f, b))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Parse(data)
		if err != nil {
			var fe *FormatError
			require.True(t, errors.As(err, &fe), "error %T %v is not a *FormatError", err, err)
			assert.NotEmpty(t, fe.Msg)
			assert.GreaterOrEqual(t, fe.Off, int64(0))
			assert.Nil(t, img)
			return
		}
		checkInvariants(t, img)
	})
}

// buildSeed compiles the hello program for a fuzz seed, if the compiler is
// there; fuzzing goes on without it.
func buildSeed(f *testing.F, cc string, flags ...string) (string, bool) {
	if _, err := exec.LookPath(cc); err != nil {
		return "", false
	}
	dir := f.TempDir()
	c, out := filepath.Join(dir, "seed.c"), filepath.Join(dir, "seed")
	if err := os.WriteFile(c, []byte(helloC), 0o644); err != nil {
		return "", false
	}
	if err := exec.Command(cc, append(flags, "-o", out, c)...).Run(); err != nil {
		return "", false
	}
	return out, true
}

func FuzzStack(f *testing.F) {
	f.Add(uint64(0x7ffffffff000), "/bin/prog\x01one\x01\x01three", "A=1\x01B=2", "x86_64", uint8(3))
	f.Add(uint64(0x1000), "", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, top uint64, args, envs, platform string, naux uint8) {
		spec := StackSpec{Top: top, ExecFn: "prog", Platform: platform}
		if args != "" {
			spec.Argv = strings.Split(args, "\x01")
		}
		if envs != "" {
			spec.Envp = strings.Split(envs, "\x01")
		}
		for i := range int(naux % 40) {
			spec.Auxv = append(spec.Auxv, Aux{uint64(i%10 + AT_PHDR), uint64(i)})
		}
		b, sp, err := Stack(spec)
		if err != nil {
			return
		}
		assert.Zero(t, sp%16)
		assert.Equal(t, top-uint64(len(b)), sp)
		d := stackView{t, b, sp}.decode()
		assert.Equal(t, spec.Argv, d.argv)
		assert.Equal(t, spec.Envp, d.envp)
	})
}
