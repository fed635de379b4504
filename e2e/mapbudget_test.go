package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMapBudget runs testdata/c/mapbudget.c: two guest processes each make one-page
// mappings until ENOMEM. Natively each gets about half of vm.max_map_count. Under vemu
// both live in one host process that the host also holds to vm.max_map_count: the
// first still gets what Linux gives, the second what is left once vemu's own mappings
// are set aside — most of it, not a quarter of the budget — and vemu survives the
// exhaustion and ends normally.
func TestMapBudget(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		t.Skip("no /proc/sys/vm/max_map_count")
	}
	limit, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || limit > 1<<20 {
		t.Skipf("vm.max_map_count is %q", b)
	}
	prog := guest("mapbudget.glibc")
	native := runNative(t, invocation{prog: prog})
	vemu := runVemu(t, invocation{prog: prog})
	t.Logf("native: %q status %d; vemu: %q status %d %s", native.stdout, native.status, vemu.stdout, vemu.status, vemu.stderr)
	var n1, n2, v1, v2 int
	if _, err := fmt.Sscanf(string(native.stdout), "first: %d\nsecond: %d\n", &n1, &n2); err != nil || native.status != 0 {
		t.Fatalf("native run: %q, status %d", native.stdout, native.status)
	}
	if _, err := fmt.Sscanf(string(vemu.stdout), "first: %d\nsecond: %d\n", &v1, &v2); err != nil || vemu.status != 0 {
		t.Fatalf("vemu run: %q, status %d, stderr %q", vemu.stdout, vemu.status, vemu.stderr)
	}
	if v1 < n1-10 {
		t.Errorf("the first process made %d mappings under vemu, %d natively", v1, n1)
	}
	// Together the two guests hold v1+v2 host mappings: all but vemu's margin (4096 and a
	// little for each process) of the host's limit.
	if total := v1 + v2; total < limit-limit/8 {
		t.Errorf("the guests made %d mappings together; the host allows %d", total, limit)
	}
}
