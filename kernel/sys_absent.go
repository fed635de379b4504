package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// The calls here answer as Linux answers an unprivileged process in a container, or as a
// kernel without the feature, after the argument checks Linux makes first: vemu offers no
// BPF, performance counters, fanotify, io_uring, Landlock, protection keys or mount
// table of its own.

// sysBpf implements bpf(2) as with unprivileged_bpf_disabled set: EPERM, after the size
// (E2BIG past a page) and the copy (EFAULT) of the attributes.
func sysBpf(t *Task, a Args) (uint64, error) {
	size := a.Uint(2)
	if size > pageSize {
		return 0, unix.E2BIG
	}
	if err := t.p.mm.CopyIn(a.Ptr(1), make([]byte, size)); err != nil {
		return 0, err
	}
	return 0, unix.EPERM
}

// Struct perf_event_attr: its first published size, the size this kernel knows, and the
// flags perf_event_open takes.
const (
	perfAttrSizeVer0 = 64
	perfAttrSize     = 136
	perfFlagAll      = 0xf
)

// sysPerfEventOpen implements perf_event_open(2) as with perf_event_paranoid 3:
// EACCES for every event, after the checks of the flags and the attributes' size.
func sysPerfEventOpen(t *Task, a Args) (uint64, error) {
	if a[4]&^perfFlagAll != 0 {
		return 0, unix.EINVAL
	}
	var b [8]byte
	if err := t.p.mm.CopyIn(a.Ptr(0), b[:]); err != nil {
		return 0, err
	}
	size := binary.LittleEndian.Uint32(b[4:])
	if size == 0 {
		size = perfAttrSizeVer0
	}
	if size < perfAttrSizeVer0 || size > pageSize {
		binary.LittleEndian.PutUint32(b[4:], perfAttrSize)
		if err := t.p.mm.CopyOut(a.Ptr(0)+4, b[4:]); err != nil {
			return 0, err
		}
		return 0, unix.E2BIG
	}
	if err := t.p.mm.CopyIn(a.Ptr(0), make([]byte, size)); err != nil {
		return 0, err
	}
	return 0, unix.EACCES
}

// sysFanotifyInit implements fanotify_init(2) for a process without CAP_SYS_ADMIN.
func sysFanotifyInit(t *Task, a Args) (uint64, error) { return 0, unix.EPERM }

// sysFanotifyMark implements fanotify_mark(2): no descriptor is a fanotify group.
func sysFanotifyMark(t *Task, a Args) (uint64, error) {
	if _, err := t.file(a.Fd(0)); err != nil {
		return 0, unix.EBADF
	}
	return 0, unix.EINVAL
}

// sysIoUringSetup implements io_uring_setup(2) as with io_uring_disabled 2.
func sysIoUringSetup(t *Task, a Args) (uint64, error) { return 0, unix.EPERM }

// sysIoUringFd implements io_uring_enter(2) and io_uring_register(2): no descriptor
// is a ring.
func sysIoUringFd(t *Task, a Args) (uint64, error) {
	if _, err := t.file(a.Fd(0)); err != nil {
		return 0, unix.EBADF
	}
	return 0, unix.EOPNOTSUPP
}

// sysLandlock implements the landlock calls as a kernel with Landlock disabled at boot:
// EOPNOTSUPP, LANDLOCK_CREATE_RULESET_VERSION included.
func sysLandlock(t *Task, a Args) (uint64, error) { return 0, unix.EOPNOTSUPP }

// sysMapShadowStack implements map_shadow_stack(2) on a CPU without user shadow stacks
// (vemu's CPUID leaf 7 has no CET_SS): Linux's x86 map_shadow_stack tests the CPU feature
// before anything else, so every call is EOPNOTSUPP whatever its arguments.
func sysMapShadowStack(t *Task, a Args) (uint64, error) { return 0, unix.EOPNOTSUPP }

// pkeyAccessMask holds the access rights pkey_alloc takes (disable access, disable write).
const pkeyAccessMask = 0x3

// sysPkeyAlloc implements pkey_alloc(2) on a CPU without protection keys (vemu's CPU
// has no PKU), as Linux answers there: the first valid call of an address space takes
// key 0, fails to set its rights (EINVAL) and cannot give it back, so every later one
// finds no key left (ENOSPC). Forked address spaces keep that; execve starts afresh.
func sysPkeyAlloc(t *Task, a Args) (uint64, error) {
	if a[0] != 0 || a[1]&^pkeyAccessMask != 0 {
		return 0, unix.EINVAL
	}
	if !t.p.pkeyTaken {
		t.p.pkeyTaken = true
		return 0, unix.EINVAL
	}
	return 0, unix.ENOSPC
}

// sysPkeyFree implements pkey_free(2): no key is ever allocated.
func sysPkeyFree(t *Task, a Args) (uint64, error) { return 0, unix.EINVAL }

// sysPkeyMprotect implements pkey_mprotect(2): with key -1 it is mprotect; any other key
// was never allocated, EINVAL after the checks of the range that come first.
func sysPkeyMprotect(t *Task, a Args) (uint64, error) {
	if a.Int(3) != -1 {
		start, n := a[0], a[1]
		switch {
		case start&(mm.PageSize-1) != 0:
			return 0, unix.EINVAL
		case n == 0:
			return 0, nil
		}
		n = (n + mm.PageSize - 1) &^ (mm.PageSize - 1)
		if n == 0 || start+n <= start {
			return 0, unix.ENOMEM
		}
		return 0, unix.EINVAL
	}
	return sysMprotect(t, a)
}

// mntIDReq is struct mnt_id_req: size, spare, mnt_id, param (and mnt_ns_id since its
// second version); mount ids below this offset are no unique ids.
const (
	mntIDReqSizeVer0  = 24
	mntIDReqSize      = 32 // the size this kernel knows
	mntUniqueIDOffset = 1 << 31
	lsmtRoot          = ^uint64(0)
	listmountReverse  = 1
)

// copyMntIDReq reads and checks a struct mnt_id_req as Linux's copy_mnt_id_req().
func (t *Task) copyMntIDReq(addr mm.Addr, list bool) error {
	var b [4]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return err
	}
	size := binary.LittleEndian.Uint32(b[:])
	switch {
	case size > pageSize:
		return unix.E2BIG
	case size < mntIDReqSizeVer0:
		return unix.EINVAL
	}
	req, err := t.copyStruct(addr, uint64(size), mntIDReqSize)
	if err != nil {
		return err
	}
	id := binary.LittleEndian.Uint64(req[8:])
	if binary.LittleEndian.Uint32(req[4:]) != 0 || id <= mntUniqueIDOffset && !(list && id == lsmtRoot) {
		return unix.EINVAL
	}
	return nil
}

// sysStatmount implements statmount(2) after Linux's checks of the request: vemu shows
// the guest no mount table of the host's, so every mount is one it may not see (EPERM).
func sysStatmount(t *Task, a Args) (uint64, error) {
	if a[3] != 0 {
		return 0, unix.EINVAL
	}
	if err := t.copyMntIDReq(a.Ptr(0), false); err != nil {
		return 0, err
	}
	return 0, unix.EPERM
}

// sysListmount implements listmount(2) as statmount.
func sysListmount(t *Task, a Args) (uint64, error) {
	if a[3]&^listmountReverse != 0 {
		return 0, unix.EINVAL
	}
	if err := t.copyMntIDReq(a.Ptr(0), true); err != nil {
		return 0, err
	}
	return 0, unix.EPERM
}

// sysLsmListModules implements lsm_list_modules(2) for a kernel whose only security
// module is the capability one, which the list does not name: no modules.
func sysLsmListModules(t *Task, a Args) (uint64, error) {
	if a[2] != 0 {
		return 0, unix.EINVAL
	}
	var b [4]byte
	if err := t.p.mm.CopyIn(a.Ptr(1), b[:]); err != nil {
		return 0, err
	}
	return 0, t.p.mm.CopyOut(a.Ptr(1), make([]byte, 4))
}

// lsmFlagSingle is lsm_get_self_attr's only flag.
const lsmFlagSingle = 1

// sysLsmGetSelfAttr implements lsm_get_self_attr(2) with no module that has attributes:
// the size written back is 0, and the answer EOPNOTSUPP.
func sysLsmGetSelfAttr(t *Task, a Args) (uint64, error) {
	if a[3]&^lsmFlagSingle != 0 {
		return 0, unix.EINVAL
	}
	var b [4]byte
	if err := t.p.mm.CopyIn(a.Ptr(2), b[:]); err != nil {
		return 0, err
	}
	if err := t.p.mm.CopyOut(a.Ptr(2), make([]byte, 4)); err != nil {
		return 0, err
	}
	return 0, unix.EOPNOTSUPP
}

// lsmCtxSize is the size of struct lsm_ctx (id, flags, len, ctx_len) without its
// context bytes.
const lsmCtxSize = 32

// sysLsmSetSelfAttr implements lsm_set_self_attr(2): Linux's checks of the struct
// lsm_ctx, then EOPNOTSUPP, no module taking attributes.
func sysLsmSetSelfAttr(t *Task, a Args) (uint64, error) {
	size := a[2]
	switch {
	case a[3] != 0, size < lsmCtxSize:
		return 0, unix.EINVAL
	case size > pageSize:
		return 0, unix.E2BIG
	}
	ctx := make([]byte, size)
	if err := t.p.mm.CopyIn(a.Ptr(1), ctx); err != nil {
		return 0, err
	}
	n, ctxLen := binary.LittleEndian.Uint64(ctx[16:]), binary.LittleEndian.Uint64(ctx[24:])
	if size < n || ctxLen > size || size < ctxLen+lsmCtxSize || n < ctxLen+lsmCtxSize {
		return 0, unix.EINVAL
	}
	return 0, unix.EOPNOTSUPP
}

// sysUprobe implements uprobe(2) called from anywhere but a uprobe trampoline, which
// vemu never places: ENXIO.
func sysUprobe(t *Task, a Args) (uint64, error) { return 0, unix.ENXIO }

// sysUretprobe implements uretprobe(2) called from anywhere but the return-probe
// trampoline: SIGILL, as Linux's force_sig().
func sysUretprobe(t *Task, a Args) (uint64, error) {
	t.forceSignal(abi.Siginfo{Signo: abi.SIGILL, Code: abi.SI_KERNEL})
	return ^uint64(0), nil
}

// ioBitmapBits is Linux's IO_BITMAP_BITS: the ports ioperm can name.
const ioBitmapBits = 65536

// sysIopl implements iopl(2) as Linux (with CONFIG_X86_IOPL_IOPERM) answers a process
// without CAP_SYS_RAWIO: a level above 3 is EINVAL, staying at level 0 succeeds, raising
// it is EPERM. vemu gives no port access whatever the credentials: in and out always
// fault, so even a root guest is refused, as in a container without the capability.
func sysIopl(t *Task, a Args) (uint64, error) {
	level := uint32(a[0])
	switch {
	case level > 3:
		return 0, unix.EINVAL
	case level == 0:
		return 0, nil
	}
	return 0, unix.EPERM
}

// sysIoperm implements ioperm(2) as sysIopl: a range that wraps or passes port 65535 is
// EINVAL, turning ports off succeeds (none are on), turning them on is EPERM.
func sysIoperm(t *Task, a Args) (uint64, error) {
	from, num := a[0], a[1]
	if from+num <= from || from+num > ioBitmapBits {
		return 0, unix.EINVAL
	}
	if int32(a[2]) != 0 {
		return 0, unix.EPERM
	}
	return 0, nil
}

// ioNote is the note of the iopl and ioperm rows.
const ioNote = "no port access: raising the level or turning ports on is EPERM, as without CAP_SYS_RAWIO in a container"
