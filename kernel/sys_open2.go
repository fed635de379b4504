package kernel

import (
	"encoding/binary"
	"path"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// struct open_how: flags, mode, resolve.
const openHowSize = 24

// resolveAll are the RESOLVE_* flags: NO_XDEV, NO_MAGICLINKS, NO_SYMLINKS, BENEATH,
// IN_ROOT, CACHED.
const resolveAll = 0x3f

// resolveCached is RESOLVE_CACHED.
const resolveCached = 0x20

// sysOpenat2 implements openat2(2): the checks of struct open_how, then openat's path
// for a plain open, or the host's openat2 relative to the guest's directory when
// RESOLVE_* flags ask how the path may resolve.
func sysOpenat2(t *Task, a Args) (uint64, error) {
	size := a[3]
	if size < openHowSize {
		return 0, unix.EINVAL
	}
	if size > pageSize {
		return 0, unix.E2BIG
	}
	b, err := t.copyStruct(a.Ptr(2), size, openHowSize)
	if err != nil {
		return 0, err
	}
	how := unix.OpenHow{
		Flags:   binary.LittleEndian.Uint64(b[0:]),
		Mode:    binary.LittleEndian.Uint64(b[8:]),
		Resolve: binary.LittleEndian.Uint64(b[16:]),
	}
	flags := uint32(how.Flags)
	if how.Flags>>32 != 0 || flags&^knownOpenFlags() != 0 {
		return 0, unix.EINVAL // openat2 refuses what openat ignores
	}
	creating := willCreate(flags)
	if creating && how.Mode&^0o7777 != 0 || !creating && how.Mode != 0 {
		return 0, unix.EINVAL
	}
	if how.Resolve&^resolveAll != 0 || how.Resolve&unix.RESOLVE_BENEATH != 0 && how.Resolve&unix.RESOLVE_IN_ROOT != 0 {
		return 0, unix.EINVAL
	}
	if err := checkOpenFlags(flags); err != nil {
		return 0, err
	}
	if how.Resolve&resolveCached != 0 && flags&(abi.O_TRUNC|abi.O_CREAT|abi.O_TMPFILE&^abi.O_DIRECTORY) != 0 {
		return 0, unix.EAGAIN // as Linux's build_open_flags, before the path is read
	}
	if how.Resolve == 0 {
		return t.openat(a.Fd(0), a.Ptr(1), flags, uint32(how.Mode))
	}
	p, err := t.path(a.Ptr(1))
	if err != nil {
		return 0, err
	}
	h := hostPath{dir: unix.AT_FDCWD, name: p, own: -1}
	if how.Resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) != 0 || t.p.k.root == nil && !path.IsAbs(p) {
		// The lookup stays below the guest's directory, which is inside its view.
		if h.dir, err = t.dirHost(a.Fd(0)); err != nil {
			return 0, err
		}
	} else if p == "" {
		return 0, unix.ENOENT
	} else if h, err = t.lookup(a.Fd(0), p, flags&abi.O_NOFOLLOW == 0); err != nil {
		// Through the resolver, which keeps the path inside a root.
		return 0, err
	}
	defer h.close()
	how.Flags = uint64(hostOpenFlags(flags) | unix.O_CLOEXEC)
	hfd, err := unix.Openat2(h.dir, h.name, &how)
	if err != nil {
		return 0, err
	}
	install := func() (uint64, error) {
		f := &File{fd: hfd, refs: 1, path: p, flags: flags, k: t.p.k}
		t.p.k.leases.register(f, flags)
		fd, err := t.p.files.install(f, flags&abi.O_CLOEXEC != 0, 0)
		if err != nil {
			f.release()
			return 0, err
		}
		return uint64(fd), nil
	}
	if t.p.k.leases.any() {
		return t.waitLeases(hfd, flags, install)
	}
	return install()
}

// knownOpenFlags are the open flags vemu knows, all Linux's (O_ACCMODE's 3 included).
// openPathFlags are the flags O_PATH goes with: Linux's O_PATH_FLAGS.
const openPathFlags = abi.O_DIRECTORY | abi.O_NOFOLLOW | abi.O_PATH | abi.O_CLOEXEC

// willCreate is whether an open with flags may create a file, as Linux's WILL_CREATE.
func willCreate(flags uint32) bool {
	return flags&(abi.O_CREAT|abi.O_TMPFILE&^abi.O_DIRECTORY) != 0
}

// checkOpenFlags is Linux's build_open_flags's EINVAL of flags, before the path is read:
// O_CREAT with O_DIRECTORY, O_TMPFILE's bit without O_DIRECTORY or without write access,
// O_PATH with others than its own.
func checkOpenFlags(flags uint32) error {
	const tmpfileBit = abi.O_TMPFILE &^ abi.O_DIRECTORY
	switch {
	case flags&abi.O_CREAT != 0 && flags&abi.O_DIRECTORY != 0,
		flags&tmpfileBit != 0 && (flags&abi.O_DIRECTORY == 0 || flags&abi.O_ACCMODE == abi.O_RDONLY),
		flags&abi.O_PATH != 0 && flags&^openPathFlags != 0:
		return unix.EINVAL
	}
	return nil
}

func knownOpenFlags() uint32 {
	known := uint32(abi.O_ACCMODE | abi.O_ASYNC)
	for _, b := range openFlagBits {
		known |= b[0]
	}
	return known
}

// dirHost is the host descriptor of the guest's dirfd: its working directory for
// AT_FDCWD.
func (t *Task) dirHost(dirfd int32) (int, error) {
	if dirfd == abi.AT_FDCWD {
		return t.p.fs.cwdFd, nil
	}
	f, err := t.fileRaw(dirfd)
	if err != nil {
		return 0, err
	}
	return f.fd, nil
}

// pathOrEmpty resolves (dirfd, path) for calls that take AT_EMPTY_PATH: an empty path
// then names dirfd itself. The caller closes the result.
func (t *Task) pathOrEmpty(dirfd int32, addr mm.Addr, emptyOK, follow bool) (hostPath, error) {
	p, err := t.path(addr)
	if err != nil {
		return hostPath{}, err
	}
	if p == "" {
		if !emptyOK {
			return hostPath{}, unix.ENOENT
		}
		d, err := t.dirHost(dirfd)
		return hostPath{dir: d, own: -1}, err
	}
	return t.lookup(dirfd, p, follow)
}

// sysFchmodat2 implements fchmodat2(2) with the host's.
func sysFchmodat2(t *Task, a Args) (uint64, error) {
	flags := a.Int(3)
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	h, err := t.pathOrEmpty(a.Fd(0), a.Ptr(1), flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	defer h.close()
	bp, err := unix.BytePtrFromString(h.name)
	if err != nil {
		return 0, unix.EINVAL
	}
	// SAFETY: bp is a NUL-terminated copy of the path that outlives the call.
	_, _, e := unix.Syscall6(unix.SYS_FCHMODAT2, uintptr(h.dir), uintptr(unsafe.Pointer(bp)), uintptr(a.Uint(2)&0o7777), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return 0, nil
}

// File handles: MAX_HANDLE_SZ, and the flags of name_to_handle_at.
const (
	maxHandleSize       = 128
	handleFlagsAll      = unix.AT_SYMLINK_FOLLOW | unix.AT_EMPTY_PATH | 0x200 /* AT_HANDLE_FID */ | 0x001 /* AT_HANDLE_MNT_ID_UNIQUE */
	atHandleMntIDUnique = 0x001
)

// sysNameToHandleAt implements name_to_handle_at(2) with the host's answer: the handle
// names the host's file, and the mount id is the host's, as statx reports it.
func sysNameToHandleAt(t *Task, a Args) (uint64, error) {
	flags := a.Int(4)
	if flags&^handleFlagsAll != 0 {
		return 0, unix.EINVAL
	}
	// As Linux's: the path first, then whether its file system makes handles, then the
	// guest's struct file_handle (the host finishes the lookup h starts).
	h, err := t.pathOrEmpty(a.Fd(0), a.Ptr(1), flags&unix.AT_EMPTY_PATH != 0, flags&unix.AT_SYMLINK_FOLLOW != 0)
	if err != nil {
		return 0, err
	}
	defer h.close()
	bp, err := unix.BytePtrFromString(h.name)
	if err != nil {
		return 0, unix.EINVAL
	}
	buf := make([]byte, 8+maxHandleSize)
	var mnt uint64
	// SAFETY: buf holds a struct file_handle with room for MAX_HANDLE_SZ bytes, mnt the
	// mount id (an int, or a u64 with AT_HANDLE_MNT_ID_UNIQUE); both outlive the call.
	host := func() unix.Errno {
		_, _, e := unix.Syscall6(unix.SYS_NAME_TO_HANDLE_AT, uintptr(h.dir), uintptr(unsafe.Pointer(bp)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&mnt)), uintptr(flags), 0)
		return e
	}
	// The fixed part, handle_bytes and handle_type, as Linux copies it in; the host
	// checks the type.
	var hb [8]byte
	err = t.p.mm.CopyIn(a.Ptr(2), hb[:])
	want := binary.LittleEndian.Uint32(hb[:])
	if err == nil && want > maxHandleSize {
		err = unix.EINVAL
	}
	if err != nil {
		// The host's lookup, and a file system without handles, answer first: ask it
		// with an empty handle, which a good path overflows.
		if e := host(); e != 0 && e != unix.EOVERFLOW {
			return 0, e
		}
		return 0, err
	}
	copy(buf, hb[:])
	// As Linux's: on EOVERFLOW too, the mount id and the handle's fixed part (its size
	// and type) are copied out, and a fault of either is EFAULT.
	e := host()
	if e != 0 && e != unix.EOVERFLOW {
		return 0, e
	}
	var res error
	n := 8
	if e != 0 {
		res = e
	} else {
		n += int(min(binary.LittleEndian.Uint32(buf), maxHandleSize))
	}
	id := binary.LittleEndian.AppendUint32(nil, uint32(mnt))
	if flags&atHandleMntIDUnique != 0 {
		id = binary.LittleEndian.AppendUint64(nil, mnt)
	}
	if t.p.mm.CopyOut(a.Ptr(3), id) != nil {
		res = unix.EFAULT
	}
	if t.p.mm.CopyOut(a.Ptr(2), buf[:n]) != nil {
		res = unix.EFAULT
	}
	return 0, res
}

// sysOpenByHandleAt implements open_by_handle_at(2)'s answer: opening by handle would
// reach host files beyond the guest's view, so it is refused as to a process without
// CAP_DAC_READ_SEARCH, after the descriptor check.
func sysOpenByHandleAt(t *Task, a Args) (uint64, error) {
	if a.Fd(0) != abi.AT_FDCWD {
		if _, err := t.fileRaw(a.Fd(0)); err != nil {
			return 0, err
		}
	}
	return 0, unix.EPERM
}
