package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vemu/abi"
)

func TestTableCoversEveryNumber(t *testing.T) {
	assert.Len(t, table, abi.SyscallCount)
	assert.Equal(t, abi.SyscallCount, TableSize)

	for _, nr := range []uint64{abi.SyscallCount, abi.SyscallCount + 1, 1 << 32, ^uint64(0)} {
		e, name := Lookup(nr)
		assert.Zero(t, e, "Lookup(%d)", nr)
		assert.Empty(t, name, "Lookup(%d)", nr)
	}
}

func TestTableEntries(t *testing.T) {
	for nr, e := range table {
		name := abi.SyscallName(uint64(nr))
		if e.Handler != nil {
			assert.NotEmpty(t, name, "syscall %d has a handler but no name in abi.Syscalls", nr)
			assert.NotEqual(t, Missing, e.Status, "%s (%d) has a handler but is marked missing", name, nr)
		}
		switch e.Status {
		case Partial:
			assert.NotEmpty(t, e.Note, "%s (%d) is partial without a note", name, nr)
			assert.NotNil(t, e.Handler, "%s (%d) is partial without a handler", name, nr)
		case Supported:
			assert.NotNil(t, e.Handler, "%s (%d) is supported without a handler", name, nr)
		case Missing:
			assert.Nil(t, e.Handler, "%s (%d) is missing but has a handler", name, nr)
		default:
			t.Errorf("syscall %d: unknown status %d", nr, e.Status)
		}
		if e.Note != "" && e.Status == Missing {
			assert.NotEmpty(t, name, "syscall %d has a note for an unused number", nr)
		}
	}
}

func TestTableNamesUnique(t *testing.T) {
	seen := map[string]int{}
	for nr := range table {
		name := abi.SyscallName(uint64(nr))
		if name == "" {
			continue
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("%q is the name of both %d and %d", name, prev, nr)
		}
		seen[name] = nr
	}
	assert.Greater(t, len(seen), 300, "abi.Syscalls names fewer numbers than expected")
}

func TestTableSpotChecks(t *testing.T) {
	for _, c := range []struct {
		nr   uint64
		name string
	}{
		{0, "read"},
		{1, "write"},
		{12, "brk"},
		{39, "getpid"},
		{60, "exit"},
		{96, "gettimeofday"},
		{201, "time"},
		{231, "exit_group"},
		{257, "openat"},
		{309, "getcpu"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, name := Lookup(c.nr)
			assert.Equal(t, c.name, name)
			assert.NotNil(t, e.Handler)
			assert.NotEqual(t, Missing, e.Status)
		})
	}
}

func TestStatusString(t *testing.T) {
	assert.Equal(t, "missing", Missing.String())
	assert.Equal(t, "partial", Partial.String())
	assert.Equal(t, "supported", Supported.String())
}

func TestVsyscallEntryPoints(t *testing.T) {
	want := map[uint64]string{
		0xffffffffff600000: "gettimeofday",
		0xffffffffff600400: "time",
		0xffffffffff600800: "getcpu",
	}
	require.Len(t, vsyscalls, len(want))
	for addr, name := range want {
		nr, ok := vsyscalls[addr]
		require.True(t, ok, "no vsyscall entry at %#x", addr)
		assert.Equal(t, name, abi.SyscallName(nr), "entry %#x", addr)
		assert.NotNil(t, table[nr].Handler, "entry %#x: %s has no handler", addr, name)
	}
	assert.Equal(t, uint64(96), vsyscalls[0xffffffffff600000])
	assert.Equal(t, uint64(201), vsyscalls[0xffffffffff600400])
	assert.Equal(t, uint64(309), vsyscalls[0xffffffffff600800])
}
