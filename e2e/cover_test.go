package e2e

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drcovModule and drcovBlock are what a drcov file says.
type drcovModule struct {
	id        int
	base, end uint64
	path      string
}

type drcovBlock struct {
	Start  uint32
	Size   uint16
	Module uint16
}

// parseDrcov reads a drcov file of version 2 as coverage tools do: the header lines, the
// module table with its columns, then the binary block table.
func parseDrcov(data []byte) ([]drcovModule, []drcovBlock, error) {
	r := bufio.NewReader(bytes.NewReader(data))
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		return strings.TrimSuffix(s, "\n"), err
	}
	if l, err := line(); err != nil || l != "DRCOV VERSION: 2" {
		return nil, nil, fmt.Errorf("version line %q", l)
	}
	if l, err := line(); err != nil || !strings.HasPrefix(l, "DRCOV FLAVOR: ") {
		return nil, nil, fmt.Errorf("flavor line %q", l)
	}
	var ver, count int
	l, _ := line()
	if _, err := fmt.Sscanf(l, "Module Table: version %d, count %d", &ver, &count); err != nil || ver != 2 {
		return nil, nil, fmt.Errorf("module table line %q", l)
	}
	if l, _ := line(); l != "Columns: id, base, end, entry, checksum, timestamp, path" {
		return nil, nil, fmt.Errorf("columns line %q", l)
	}
	var mods []drcovModule
	for range count {
		l, _ := line()
		f := strings.SplitN(l, ", ", 7)
		if len(f) != 7 {
			return nil, nil, fmt.Errorf("module line %q", l)
		}
		id, err1 := strconv.Atoi(strings.TrimSpace(f[0]))
		base, err2 := strconv.ParseUint(f[1], 0, 64)
		end, err3 := strconv.ParseUint(f[2], 0, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, nil, fmt.Errorf("module line %q", l)
		}
		mods = append(mods, drcovModule{id, base, end, f[6]})
	}
	var n int
	l, _ = line()
	if _, err := fmt.Sscanf(l, "BB Table: %d bbs", &n); err != nil {
		return nil, nil, fmt.Errorf("BB table line %q", l)
	}
	blocks := make([]drcovBlock, n)
	if err := binary.Read(r, binary.LittleEndian, blocks); err != nil {
		return nil, nil, fmt.Errorf("BB table: %v", err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, nil, fmt.Errorf("bytes after the BB table")
	}
	return mods, blocks, nil
}

// TestCoverDrcov: vemu run --cover writes a drcov file that parses, names the program
// with its load address, and has blocks inside main, each within its module.
func TestCoverDrcov(t *testing.T) {
	t.Parallel()
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			prog := guest("hello." + libc)
			dir := t.TempDir()
			file := filepath.Join(dir, "cov.drcov")
			got := runVemu(t, invocation{prog: prog, args: []string{"a"}, dir: dir, flags: []string{"--cover=" + file}})
			require.Equal(t, 0, got.status, "stderr: %s", got.stderr)
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			mods, blocks, err := parseDrcov(data)
			require.NoError(t, err)
			require.Len(t, mods, 1)
			abs, _ := filepath.Abs(prog)
			abs, _ = filepath.EvalSymlinks(abs)
			assert.Equal(t, abs, mods[0].path)

			f, err := elf.Open(prog)
			require.NoError(t, err)
			defer f.Close()
			low := ^uint64(0)
			for _, p := range f.Progs {
				if p.Type == elf.PT_LOAD {
					low = min(low, p.Vaddr&^0xfff)
				}
			}
			assert.Equal(t, low, mods[0].base, "the module's base is where the program is loaded")
			syms, err := f.Symbols()
			require.NoError(t, err)
			var mainLo, mainHi uint64
			for _, s := range syms {
				if s.Name == "main" {
					mainLo, mainHi = s.Value, s.Value+s.Size
				}
			}
			inMain := 0
			for _, b := range blocks {
				require.Equal(t, uint16(0), b.Module)
				addr := mods[0].base + uint64(b.Start)
				require.Less(t, addr, mods[0].end, "block inside its module")
				if addr >= mainLo && addr < mainHi {
					inMain++
				}
			}
			assert.Greater(t, inMain, 0, "blocks of main among %d", len(blocks))
		})
	}
}

// TestCoverBadFile: a file that cannot be written is one line and status 2, before the
// program runs.
func TestCoverBadFile(t *testing.T) {
	t.Parallel()
	got := runVemu(t, invocation{prog: guest("hello.glibc"), dir: t.TempDir(), flags: []string{"--cover=/nonexistent/dir/cov"}})
	assert.Equal(t, 2, got.status)
	assert.Contains(t, string(got.stderr), "vemu: --cover:")
	assert.Empty(t, got.stdout)
}
