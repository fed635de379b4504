package vemutest_test

import (
	"bytes"
	"context"
	"debug/elf"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vemu/vemutest"
)

// covered runs hello.glibc with args and coverage on.
func covered(t *testing.T, args ...string) *vemutest.Coverage {
	t.Helper()
	res, err := vemutest.Run(context.Background(), helloGuest, vemutest.Options{Args: args, Seeded: true, Seed: 1, VirtualClock: true, Coverage: true})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode)
	require.NotNil(t, res.Coverage)
	return res.Coverage
}

// TestCoverageEdges: the edge map repeats for the same input, differs when the input
// takes other branches (hello's loop over its arguments runs or not), and blocks of main
// are among those covered.
func TestCoverageEdges(t *testing.T) {
	t.Parallel()
	requireGuest(t, helloGuest)
	a, b, c := covered(t), covered(t), covered(t, "x", "y")
	require.Len(t, a.Edges, 65536)
	assert.Equal(t, a.Edges, b.Edges, "the same input, the same edges")
	assert.NotEqual(t, a.Edges, c.Edges, "arguments take main's loop")
	edges := 0
	for _, n := range a.Edges {
		if n != 0 {
			edges++
		}
	}
	assert.Greater(t, edges, 100, "edges covered")

	f, err := elf.Open(helloGuest)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.Symbols()
	require.NoError(t, err)
	var mainLo, mainHi uint64
	for _, s := range syms {
		if s.Name == "main" {
			mainLo, mainHi = s.Value, s.Value+s.Size
		}
	}
	require.NotZero(t, mainLo, "main in the symbol table")
	inMain := func(cov *vemutest.Coverage) int {
		n := 0
		for _, bl := range cov.Blocks() {
			m := cov.Modules[bl.Module]
			if addr := m.Base + uint64(bl.Offset); addr >= mainLo && addr < mainHi {
				n++
			}
		}
		return n
	}
	abs, _ := filepath.Abs(helloGuest)
	require.NotEmpty(t, a.Modules)
	assert.Equal(t, abs, a.Modules[0].Path)
	assert.Greater(t, inMain(a), 0, "blocks of main")
	assert.Greater(t, inMain(c), inMain(a), "the loop's blocks too with arguments")

	var buf bytes.Buffer
	require.NoError(t, c.WriteDrcov(&buf))
	assert.True(t, bytes.HasPrefix(buf.Bytes(), []byte("DRCOV VERSION: 2\n")))
}

// TestCoveragePrepared: prepared runs, on new and reused CPUs, cover what a fresh run
// covers; without Coverage there is none.
func TestCoveragePrepared(t *testing.T) {
	t.Parallel()
	requireGuest(t, helloGuest)
	want := covered(t, "x")
	pr, err := vemutest.Prepare(helloGuest, vemutest.Options{Args: []string{"x"}, Seeded: true, Seed: 1, VirtualClock: true, Coverage: true})
	require.NoError(t, err)
	defer pr.Close()
	for i := range 3 {
		res, err := pr.Run(context.Background(), vemutest.Input{})
		require.NoError(t, err)
		assert.Equal(t, want.Edges, res.Coverage.Edges, "run %d", i)
		assert.Equal(t, want.Blocks(), res.Coverage.Blocks(), "run %d", i)
	}
	res, err := vemutest.Run(context.Background(), helloGuest, vemutest.Options{})
	require.NoError(t, err)
	assert.Nil(t, res.Coverage)
}
