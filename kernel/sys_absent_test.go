package kernel

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// TestAbsentCalls checks the answers the host may not give (its kernel has the feature,
// or lacks the call): testdata/c/refused.c compares the rest with the host.
func TestAbsentCalls(t *testing.T) {
	task := loadTestTask(t)
	buf := uint64(scratchRW) + 0x800
	zero := func() { task.p.mm.CopyOut(scratchRW+0x800, make([]byte, 512)) }
	put32 := func(off, v uint32) {
		task.p.mm.CopyOut(scratchRW+0x800+mm.Addr(off), binary.LittleEndian.AppendUint32(nil, v))
	}
	put64 := func(off uint32, v uint64) {
		task.p.mm.CopyOut(scratchRW+0x800+mm.Addr(off), binary.LittleEndian.AppendUint64(nil, v))
	}
	cases := []struct {
		name string
		prep func()
		nr   uint64
		args []uint64
		want int64
	}{
		{"io_uring_setup", zero, abi.SYS_IO_URING_SETUP, []uint64{1, buf}, neg(unix.EPERM)},
		{"landlock-version", nil, abi.SYS_LANDLOCK_CREATE_RULESET, []uint64{0, 0, 1}, neg(unix.EOPNOTSUPP)},
		{"landlock-add", nil, abi.SYS_LANDLOCK_ADD_RULE, []uint64{0, 1, buf, 0}, neg(unix.EOPNOTSUPP)},
		{"landlock-restrict", nil, abi.SYS_LANDLOCK_RESTRICT_SELF, []uint64{0, 0}, neg(unix.EOPNOTSUPP)},
		{"kexec_load", nil, abi.SYS_KEXEC_LOAD, []uint64{0, 0, 0, 0}, neg(unix.EPERM)},
		{"kexec_file_load", nil, abi.SYS_KEXEC_FILE_LOAD, []uint64{^uint64(0), ^uint64(0), 0, 0, 0}, neg(unix.EPERM)},
		{"finit_module", nil, abi.SYS_FINIT_MODULE, []uint64{^uint64(0), buf, 0}, neg(unix.EPERM)},
		{"open_tree_attr", nil, abi.SYS_OPEN_TREE_ATTR, []uint64{uint64(unix.AT_FDCWD & 0xffffffff), buf, 0, 0, 0}, neg(unix.EPERM)},
		{"perf-user-only", func() { zero(); put32(0, 1); put32(4, 128); put64(40, 1<<5) }, abi.SYS_PERF_EVENT_OPEN, []uint64{buf, 0, ^uint64(0), ^uint64(0), 0}, neg(unix.EACCES)},
		{"perf-bad-flags", nil, abi.SYS_PERF_EVENT_OPEN, []uint64{buf, 0, ^uint64(0), ^uint64(0), 0x10}, neg(unix.EINVAL)},
		{"perf-size-small", func() { zero(); put32(4, 8) }, abi.SYS_PERF_EVENT_OPEN, []uint64{buf, 0, ^uint64(0), ^uint64(0), 0}, neg(unix.E2BIG)},
		{"bpf-root", zero, abi.SYS_BPF, []uint64{0, buf, 72}, neg(unix.EPERM)},
		{"bpf-big", zero, abi.SYS_BPF, []uint64{0, buf, 8192}, neg(unix.E2BIG)},
		{"bpf-null", nil, abi.SYS_BPF, []uint64{0, 0, 72}, neg(unix.EFAULT)},
		{"fanotify_init-root", nil, abi.SYS_FANOTIFY_INIT, []uint64{0, 0}, neg(unix.EPERM)},
		{"statmount-valid", func() { zero(); put32(0, 24); put64(8, 1<<31+1) }, abi.SYS_STATMOUNT, []uint64{buf, buf + 64, 256, 0}, neg(unix.EPERM)},
		{"statmount-low-id", func() { zero(); put32(0, 24); put64(8, 5) }, abi.SYS_STATMOUNT, []uint64{buf, buf + 64, 256, 0}, neg(unix.EINVAL)},
		{"statmount-flags", nil, abi.SYS_STATMOUNT, []uint64{buf, buf + 64, 256, 1}, neg(unix.EINVAL)},
		{"statmount-big", func() { zero(); put32(0, 8192) }, abi.SYS_STATMOUNT, []uint64{buf, buf + 64, 256, 0}, neg(unix.E2BIG)},
		{"statmount-tail", func() { zero(); put32(0, 40); put64(8, 1<<31+1); put64(32, 1) }, abi.SYS_STATMOUNT, []uint64{buf, buf + 64, 256, 0}, neg(unix.E2BIG)},
		{"statmount-null", nil, abi.SYS_STATMOUNT, []uint64{0, buf, 256, 0}, neg(unix.EFAULT)},
		{"listmount-root", func() { zero(); put32(0, 24); put64(8, ^uint64(0)) }, abi.SYS_LISTMOUNT, []uint64{buf, buf + 64, 8, 0}, neg(unix.EPERM)},
		{"listmount-flags", nil, abi.SYS_LISTMOUNT, []uint64{buf, buf + 64, 8, 2}, neg(unix.EINVAL)},
		{"lsm_list_modules", func() { zero(); put32(0, 64) }, abi.SYS_LSM_LIST_MODULES, []uint64{buf + 8, buf, 0}, 0},
		{"lsm_list_modules-flags", nil, abi.SYS_LSM_LIST_MODULES, []uint64{buf + 8, buf, 1}, neg(unix.EINVAL)},
		{"lsm_list_modules-null", nil, abi.SYS_LSM_LIST_MODULES, []uint64{buf + 8, 0, 0}, neg(unix.EFAULT)},
		{"map_shadow_stack", nil, abi.SYS_MAP_SHADOW_STACK, []uint64{0, 4096, 1}, neg(unix.EOPNOTSUPP)},
		{"map_shadow_stack-bad-flags", nil, abi.SYS_MAP_SHADOW_STACK, []uint64{0, 4096, 0xff}, neg(unix.EOPNOTSUPP)},
		{"map_shadow_stack-unaligned", nil, abi.SYS_MAP_SHADOW_STACK, []uint64{0x12345, ^uint64(0), 0}, neg(unix.EOPNOTSUPP)},
		{"iopl-0", nil, abi.SYS_IOPL, []uint64{0}, 0},
		{"iopl-3", nil, abi.SYS_IOPL, []uint64{3}, neg(unix.EPERM)},
		{"iopl-4", nil, abi.SYS_IOPL, []uint64{4}, neg(unix.EINVAL)},
		{"iopl-negative", nil, abi.SYS_IOPL, []uint64{^uint64(0)}, neg(unix.EINVAL)},
		{"ioperm-off", nil, abi.SYS_IOPERM, []uint64{0x80, 1, 0}, 0},
		{"ioperm-on", nil, abi.SYS_IOPERM, []uint64{0x80, 1, 1}, neg(unix.EPERM)},
		{"ioperm-last", nil, abi.SYS_IOPERM, []uint64{0xffff, 1, 0}, 0},
		{"ioperm-past-end", nil, abi.SYS_IOPERM, []uint64{0xffff, 2, 1}, neg(unix.EINVAL)},
		{"ioperm-empty", nil, abi.SYS_IOPERM, []uint64{0x80, 0, 0}, neg(unix.EINVAL)},
		{"ioperm-wrap", nil, abi.SYS_IOPERM, []uint64{^uint64(0), 2, 0}, neg(unix.EINVAL)},
		{"set_thread_area-64", nil, abi.SYS_SET_THREAD_AREA, []uint64{buf}, neg(unix.ENOSYS)},
		{"get_thread_area-64", nil, abi.SYS_GET_THREAD_AREA, []uint64{buf}, neg(unix.ENOSYS)},
		{"pr_set_tsc-sigsegv", nil, abi.SYS_PRCTL, []uint64{abi.PR_SET_TSC, abi.PR_TSC_SIGSEGV}, neg(unix.EINVAL)},
		{"pr_set_tsc-enable", nil, abi.SYS_PRCTL, []uint64{abi.PR_SET_TSC, abi.PR_TSC_ENABLE}, 0},
		{"pr_get_tsc", nil, abi.SYS_PRCTL, []uint64{abi.PR_GET_TSC, buf}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.prep != nil {
				c.prep()
			}
			if got := call(task, c.nr, c.args...); got != c.want {
				t.Fatalf("%s = %d, want %d", abi.SyscallName(c.nr), got, c.want)
			}
		})
	}
	var b [4]byte
	task.p.mm.CopyIn(scratchRW+0x800, b[:])
	if v := binary.LittleEndian.Uint32(b[:]); v != abi.PR_TSC_ENABLE {
		t.Errorf("PR_GET_TSC wrote %d", v)
	}
}
