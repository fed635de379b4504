package kernel

import (
	"encoding/binary"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Extended attributes go to the host's file. Names outside the user namespace (trusted,
// security, system) are the host's own business: only a guest with CAP_SYS_ADMIN may set
// or remove them, and reading a trusted one without it finds nothing, as on Linux.

// xattrSizeMax is Linux's XATTR_SIZE_MAX and XATTR_LIST_MAX.
const xattrSizeMax = 65536

// xattrNameMax is Linux's XATTR_NAME_MAX.
const xattrNameMax = 255

// xattrTarget is the host file an xattr call works on: a resolved path (held by h until
// close), or an open fd.
type xattrTarget struct {
	h      hostPath
	path   string
	fd     int
	follow bool
}

// xattrPath resolves the guest path at addr; the host's xattr calls take no dirfd, so
// the path is named as one string (through /proc/self/fd when relative).
func (t *Task) xattrPath(addr mm.Addr, follow bool) (xattrTarget, error) {
	h, err := t.pathAt(abi.AT_FDCWD, addr, follow)
	if err != nil {
		return xattrTarget{h: hostPath{own: -1}}, err
	}
	return xattrTarget{h: h, path: h.full(), fd: -1, follow: follow}, nil
}

func (t *Task) xattrFd(fd int32) (xattrTarget, error) {
	f, err := t.fileRaw(fd)
	if err != nil {
		return xattrTarget{h: hostPath{own: -1}}, err
	}
	return xattrTarget{h: hostPath{own: -1}, fd: f.fd}, nil
}

// xattrName reads an attribute name: empty or longer than XATTR_NAME_MAX is ERANGE.
func (t *Task) xattrName(addr mm.Addr) (string, error) {
	name, err := t.p.mm.CopyString(addr, xattrNameMax+1)
	if err == unix.ENAMETOOLONG || err == nil && (name == "" || len(name) > xattrNameMax) {
		return "", unix.ERANGE
	}
	return name, err
}

// privilegedXattr says whether name is outside the namespaces any owner may use.
func privilegedXattr(name string) bool {
	return !strings.HasPrefix(name, "user.") && !strings.HasPrefix(name, "system.posix_acl_")
}

func (x xattrTarget) get(name string, buf []byte) (int, error) {
	switch {
	case x.fd >= 0:
		return unix.Fgetxattr(x.fd, name, buf)
	case x.follow:
		return unix.Getxattr(x.path, name, buf)
	}
	return unix.Lgetxattr(x.path, name, buf)
}

func (x xattrTarget) set(name string, val []byte, flags int) error {
	switch {
	case x.fd >= 0:
		return unix.Fsetxattr(x.fd, name, val, flags)
	case x.follow:
		return unix.Setxattr(x.path, name, val, flags)
	}
	return unix.Lsetxattr(x.path, name, val, flags)
}

func (x xattrTarget) list(buf []byte) (int, error) {
	switch {
	case x.fd >= 0:
		return unix.Flistxattr(x.fd, buf)
	case x.follow:
		return unix.Listxattr(x.path, buf)
	}
	return unix.Llistxattr(x.path, buf)
}

func (x xattrTarget) remove(name string) error {
	switch {
	case x.fd >= 0:
		return unix.Fremovexattr(x.fd, name)
	case x.follow:
		return unix.Removexattr(x.path, name)
	}
	return unix.Lremovexattr(x.path, name)
}

func (t *Task) getxattr(x xattrTarget, err error, a Args) (uint64, error) {
	defer x.h.close()
	if err != nil {
		return 0, err
	}
	name, err := t.xattrName(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(name, "trusted.") && !t.p.creds.capable(capSysAdmin) {
		return 0, unix.ENODATA
	}
	size := a[3]
	if size > xattrSizeMax {
		size = xattrSizeMax
	}
	buf := make([]byte, size)
	n, err := x.get(name, buf)
	if err != nil {
		return 0, err
	}
	if size == 0 {
		return uint64(n), nil
	}
	return uint64(n), t.p.mm.CopyOut(a.Ptr(2), buf[:n])
}

func (t *Task) setxattr(x xattrTarget, err error, a Args) (uint64, error) {
	defer x.h.close()
	if err != nil {
		return 0, err
	}
	flags := int(a.Int(4))
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return 0, unix.EINVAL
	}
	name, err := t.xattrName(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if a[3] > xattrSizeMax {
		return 0, unix.E2BIG
	}
	val := make([]byte, a[3])
	if err := t.p.mm.CopyIn(a.Ptr(2), val); err != nil {
		return 0, err
	}
	if privilegedXattr(name) && !t.p.creds.capable(capSysAdmin) {
		return 0, unix.EPERM
	}
	return 0, x.set(name, val, flags)
}

func (t *Task) listxattr(x xattrTarget, err error, a Args) (uint64, error) {
	defer x.h.close()
	if err != nil {
		return 0, err
	}
	size := min(a[2], xattrSizeMax)
	buf := make([]byte, size)
	n, err := x.list(buf)
	if err != nil {
		return 0, err
	}
	if size == 0 {
		return uint64(n), nil
	}
	return uint64(n), t.p.mm.CopyOut(a.Ptr(1), buf[:n])
}

func (t *Task) removexattr(x xattrTarget, err error, a Args) (uint64, error) {
	defer x.h.close()
	if err != nil {
		return 0, err
	}
	name, err := t.xattrName(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if privilegedXattr(name) && !t.p.creds.capable(capSysAdmin) {
		return 0, unix.EPERM
	}
	return 0, x.remove(name)
}

// The xattr family: path (following symlinks), l (not following), f (open file).
func sysGetxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), true)
	return t.getxattr(x, err, a)
}
func sysLgetxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), false)
	return t.getxattr(x, err, a)
}
func sysFgetxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrFd(a.Fd(0))
	return t.getxattr(x, err, a)
}
func sysSetxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), true)
	return t.setxattr(x, err, a)
}
func sysLsetxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), false)
	return t.setxattr(x, err, a)
}
func sysFsetxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrFd(a.Fd(0))
	return t.setxattr(x, err, a)
}
func sysListxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), true)
	return t.listxattr(x, err, a)
}
func sysLlistxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), false)
	return t.listxattr(x, err, a)
}
func sysFlistxattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrFd(a.Fd(0))
	return t.listxattr(x, err, a)
}
func sysRemovexattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), true)
	return t.removexattr(x, err, a)
}
func sysLremovexattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrPath(a.Ptr(0), false)
	return t.removexattr(x, err, a)
}
func sysFremovexattr(t *Task, a Args) (uint64, error) {
	x, err := t.xattrFd(a.Fd(0))
	return t.removexattr(x, err, a)
}

// xattrArgsSize is struct xattr_args's first size: value, size, flags.
const xattrArgsSize = 16

// xattrAt resolves the target of the *xattrat calls: dirfd and path as the other *at
// calls, AT_SYMLINK_NOFOLLOW, and AT_EMPTY_PATH with an empty or null path for dirfd
// itself.
func (t *Task) xattrAt(dirfd int32, addr mm.Addr, atFlags uint32) (xattrTarget, error) {
	none := xattrTarget{h: hostPath{own: -1}}
	if atFlags&^(abi.AT_SYMLINK_NOFOLLOW|abi.AT_EMPTY_PATH) != 0 {
		return none, unix.EINVAL
	}
	follow := atFlags&abi.AT_SYMLINK_NOFOLLOW == 0
	p := ""
	if addr != 0 || atFlags&abi.AT_EMPTY_PATH == 0 {
		var err error
		if p, err = t.path(addr); err != nil {
			return none, err
		}
	}
	if p == "" {
		if atFlags&abi.AT_EMPTY_PATH == 0 {
			return none, unix.ENOENT
		}
		if dirfd != abi.AT_FDCWD {
			return t.xattrFd(dirfd)
		}
		p = "."
	}
	h, err := t.lookup(dirfd, p, follow)
	if err != nil {
		return none, err
	}
	return xattrTarget{h: h, path: h.full(), fd: -1, follow: follow}, nil
}

// xattrArgs reads a struct xattr_args of usize bytes: at least its first version, at
// most a page, zeros past what this kernel knows.
func (t *Task) xattrArgs(addr mm.Addr, usize uint64) (value mm.Addr, size uint64, flags uint32, err error) {
	switch {
	case usize < xattrArgsSize:
		return 0, 0, 0, unix.EINVAL
	case usize > pageSize:
		return 0, 0, 0, unix.E2BIG
	}
	b, err := t.copyStruct(addr, usize, xattrArgsSize)
	if err != nil {
		return 0, 0, 0, err
	}
	return mm.Addr(binary.LittleEndian.Uint64(b)), uint64(binary.LittleEndian.Uint32(b[8:])), binary.LittleEndian.Uint32(b[12:]), nil
}

// sysSetxattrat implements setxattrat(2).
func sysSetxattrat(t *Task, a Args) (uint64, error) {
	value, size, flags, err := t.xattrArgs(a.Ptr(4), a[5])
	if err != nil {
		return 0, err
	}
	x, err := t.xattrAt(a.Int(0), a.Ptr(1), a.Uint(2))
	return t.setxattr(x, err, Args{0, a[3], uint64(value), size, uint64(flags)})
}

// sysGetxattrat implements getxattrat(2): its struct xattr_args takes no flags.
func sysGetxattrat(t *Task, a Args) (uint64, error) {
	value, size, flags, err := t.xattrArgs(a.Ptr(4), a[5])
	if err != nil {
		return 0, err
	}
	if flags != 0 {
		return 0, unix.EINVAL
	}
	x, err := t.xattrAt(a.Int(0), a.Ptr(1), a.Uint(2))
	return t.getxattr(x, err, Args{0, a[3], uint64(value), size})
}

// sysListxattrat implements listxattrat(2).
func sysListxattrat(t *Task, a Args) (uint64, error) {
	x, err := t.xattrAt(a.Int(0), a.Ptr(1), a.Uint(2))
	return t.listxattr(x, err, Args{0, a[3], a[4]})
}

// sysRemovexattrat implements removexattrat(2).
func sysRemovexattrat(t *Task, a Args) (uint64, error) {
	x, err := t.xattrAt(a.Int(0), a.Ptr(1), a.Uint(2))
	return t.removexattr(x, err, Args{0, a[3]})
}
