package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// fileAttrSize is struct file_attr's size (fa_xflags, fa_extsize, fa_nextents,
// fa_projid, fa_cowextsize), its first and only version.
const fileAttrSize = 24

// Host system call numbers of file_getattr and file_setattr (Linux 6.17).
const (
	hostFileGetattr = 468
	hostFileSetattr = 469
)

// fileAttrAt checks the at-flags and size file_getattr and file_setattr share and
// resolves their target, as xattrAt does.
func (t *Task) fileAttrAt(dirfd int32, addr mm.Addr, usize uint64, atFlags uint32) (hostPath, bool, error) {
	none := hostPath{own: -1}
	switch {
	case atFlags&^(abi.AT_SYMLINK_NOFOLLOW|abi.AT_EMPTY_PATH) != 0:
		return none, false, unix.EINVAL
	case usize > pageSize:
		return none, false, unix.E2BIG
	case usize < fileAttrSize:
		return none, false, unix.EINVAL
	}
	x, err := t.xattrAt(dirfd, addr, atFlags)
	if err != nil {
		return none, false, err
	}
	if x.fd >= 0 {
		return hostPath{dir: x.fd, name: "", own: -1}, true, nil
	}
	return x.h, x.follow, nil
}

// hostFileAttr makes the host's file_getattr or file_setattr call on a resolved path.
func hostFileAttr(nr uintptr, h hostPath, follow bool, buf []byte) error {
	flags := uintptr(0)
	if !follow {
		flags |= abi.AT_SYMLINK_NOFOLLOW
	}
	name := h.name
	if name == "" {
		flags |= abi.AT_EMPTY_PATH
	}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return unix.EINVAL
	}
	// SAFETY: p and buf stay alive and unmoved for the call; the host writes at most
	// len(buf) bytes into buf.
	_, _, e := unix.Syscall6(nr, uintptr(h.dir), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), flags, 0)
	switch {
	case e == unix.ENOSYS:
		return unix.EOPNOTSUPP // a host kernel older than the call
	case e != 0:
		return e
	}
	return nil
}

// sysFileGetattr implements file_getattr(2) with the host's own call on the resolved
// file: the size past struct file_attr reads as zeros.
func sysFileGetattr(t *Task, a Args) (uint64, error) {
	h, follow, err := t.fileAttrAt(a.Int(0), a.Ptr(1), a[3], a.Uint(4))
	defer h.close()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, fileAttrSize)
	if err := hostFileAttr(hostFileGetattr, h, follow, buf); err != nil {
		return 0, err
	}
	return 0, t.p.mm.CopyOut(a.Ptr(2), append(buf, make([]byte, a[3]-fileAttrSize)...))
}

// sysFileSetattr implements file_setattr(2) with the host's own call, which checks the
// flags and the guest's right to set them (the host acts as the guest's credentials).
func sysFileSetattr(t *Task, a Args) (uint64, error) {
	h, follow, err := t.fileAttrAt(a.Int(0), a.Ptr(1), a[3], a.Uint(4))
	defer h.close()
	if err != nil {
		return 0, err
	}
	buf, err := t.copyStruct(a.Ptr(2), a[3], fileAttrSize)
	if err != nil {
		return 0, err
	}
	return 0, hostFileAttr(hostFileSetattr, h, follow, buf)
}
