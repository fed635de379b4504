package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Limits of extended attributes, as Linux's XATTR_NAME_MAX, XATTR_SIZE_MAX and
// XATTR_LIST_MAX.
const (
	xattrNameMax = 255
	xattrSizeMax = 64 << 10
	xattrListMax = 64 << 10
)

// sysGetxattr implements getxattr(2).
func sysGetxattr(t *Task, a Args) (uint64, error) { return t.getxattr(a, true) }

// sysLgetxattr implements lgetxattr(2).
func sysLgetxattr(t *Task, a Args) (uint64, error) { return t.getxattr(a, false) }

// sysFgetxattr implements fgetxattr(2).
func sysFgetxattr(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return t.xattrValue(a.Ptr(1), a.Ptr(2), a[3], func(name string, buf []byte) (int, error) {
		return unix.Fgetxattr(f.fd, name, buf)
	})
}

// sysListxattr implements listxattr(2).
func sysListxattr(t *Task, a Args) (uint64, error) { return t.listxattr(a, true) }

// sysLlistxattr implements llistxattr(2).
func sysLlistxattr(t *Task, a Args) (uint64, error) { return t.listxattr(a, false) }

// sysFlistxattr implements flistxattr(2).
func sysFlistxattr(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return t.xattrList(a.Ptr(1), a[2], func(buf []byte) (int, error) { return unix.Flistxattr(f.fd, buf) })
}

func (t *Task) getxattr(a Args, follow bool) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), follow)
	if err != nil {
		return 0, err
	}
	defer h.close()
	// The host's xattr calls take no dirfd: the path is named through /proc/self/fd.
	path := h.full()
	return t.xattrValue(a.Ptr(1), a.Ptr(2), a[3], func(name string, buf []byte) (int, error) {
		if follow {
			return unix.Getxattr(path, name, buf)
		}
		return unix.Lgetxattr(path, name, buf)
	})
}

func (t *Task) listxattr(a Args, follow bool) (uint64, error) {
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), follow)
	if err != nil {
		return 0, err
	}
	defer h.close()
	path := h.full()
	return t.xattrList(a.Ptr(1), a[2], func(buf []byte) (int, error) {
		if follow {
			return unix.Listxattr(path, buf)
		}
		return unix.Llistxattr(path, buf)
	})
}

// xattrValue reads the attribute named at nameAddr through get into the guest's buffer of
// size bytes (size 0 asks for the value's length), as Linux's getxattr().
func (t *Task) xattrValue(nameAddr, buf mm.Addr, size uint64, get func(string, []byte) (int, error)) (uint64, error) {
	name, err := t.p.mm.CopyString(nameAddr, xattrNameMax+1)
	if err == unix.ENAMETOOLONG || err == nil && name == "" {
		return 0, unix.ERANGE
	}
	if err != nil {
		return 0, err
	}
	var b []byte
	if size > 0 {
		b = make([]byte, min(size, xattrSizeMax))
	}
	n, err := get(name, b)
	if err != nil {
		return 0, err
	}
	if size > 0 {
		if err := t.p.mm.CopyOut(buf, b[:n]); err != nil {
			return 0, err
		}
	}
	return uint64(n), nil
}

// xattrList lists the attribute names through list into the guest's buffer of size bytes
// (size 0 asks for the list's length).
func (t *Task) xattrList(buf mm.Addr, size uint64, list func([]byte) (int, error)) (uint64, error) {
	var b []byte
	if size > 0 {
		b = make([]byte, min(size, xattrListMax))
	}
	n, err := list(b)
	if err != nil {
		return 0, err
	}
	if size > 0 {
		if err := t.p.mm.CopyOut(buf, b[:n]); err != nil {
			return 0, err
		}
	}
	return uint64(n), nil
}
