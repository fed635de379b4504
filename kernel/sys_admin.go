package kernel

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// System administration: calls that change the host (mounts, modules, clocks, the host
// name, swap, reboot, kernel keys, the kernel log) are refused as Linux refuses them to a
// process without the capability in a container, after the argument checks Linux makes
// first. The guest never reaches the host's state through them.

// adminNote is what the table says of the calls answered this way.
const adminNote = "refused with EPERM, as to an unprivileged process in a container"

// quotaNote is what the table says of quotactl and quotactl_fd.
const quotaNote = "the checks of the type, device or descriptor as Linux; then EPERM, as to an unprivileged process in a container (Q_SYNC with no device succeeds)"

// sysDenied answers EPERM.
func sysDenied(t *Task, a Args) (uint64, error) { return 0, unix.EPERM }

// sysUmount2 implements umount2(2)'s checks: unknown flags are EINVAL, a path that does
// not resolve gives its error, anything else EPERM.
func sysUmount2(t *Task, a Args) (uint64, error) {
	const valid = unix.MNT_FORCE | unix.MNT_DETACH | unix.MNT_EXPIRE | unix.UMOUNT_NOFOLLOW
	if a.Int(1)&^valid != 0 {
		return 0, unix.EINVAL
	}
	flags := int32(0)
	if a.Int(1)&unix.UMOUNT_NOFOLLOW != 0 {
		flags = abi.AT_SYMLINK_NOFOLLOW
	}
	if _, err := t.fstatat(abi.AT_FDCWD, a.Ptr(0), flags); err != nil {
		return 0, err
	}
	return 0, unix.EPERM
}

// sysMount implements mount(2)'s checks in Linux's order: the type and source strings
// are copied in (EFAULT, or EINVAL past PATH_MAX), the data's first byte must be
// readable, the target must resolve, MS_NOUSER or a bit above it is EINVAL, and only
// then is the mount refused, as to a process without CAP_SYS_ADMIN.
func sysMount(t *Task, a Args) (uint64, error) {
	for _, i := range []int{2, 0} { // the type, then the source
		if a.Ptr(i) == 0 {
			continue
		}
		if _, err := t.p.mm.CopyString(a.Ptr(i), pathMax); err == unix.ENAMETOOLONG {
			return 0, unix.EINVAL
		} else if err != nil {
			return 0, err
		}
	}
	if a.Ptr(4) != 0 {
		var b [1]byte
		if err := t.p.mm.CopyIn(a.Ptr(4), b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if _, err := t.fstatat(abi.AT_FDCWD, a.Ptr(1), 0); err != nil {
		return 0, err
	}
	// The old magic number in the top half of the low word goes, and with it every bit
	// above the low 16: Linux clears it with a 32-bit mask's complement, zero-extended.
	const mgcMask, mgcVal = 0xffff0000, 0xc0ed0000
	flags := a[3]
	if flags&mgcMask == mgcVal {
		flags &= 0xffff
	}
	if flags>>31 != 0 { // MS_NOUSER, or a bit no flag has
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}

// sysOpenTree implements open_tree(2) as Linux answers a process without CAP_SYS_ADMIN:
// after the flags' checks, a copy of the mount tree (OPEN_TREE_CLONE) is EPERM before
// the path is looked up, and without it the call opens the path as O_PATH does, which
// needs no privilege.
func sysOpenTree(t *Task, a Args) (uint64, error) {
	const clone = 1 // OPEN_TREE_CLONE
	flags := a.Uint(2)
	valid := uint32(abi.AT_EMPTY_PATH | abi.AT_NO_AUTOMOUNT | abi.AT_RECURSIVE | abi.AT_SYMLINK_NOFOLLOW | clone | abi.O_CLOEXEC)
	if flags&^valid != 0 || flags&(abi.AT_RECURSIVE|clone) == abi.AT_RECURSIVE {
		return 0, unix.EINVAL
	}
	if flags&clone != 0 {
		return 0, unix.EPERM
	}
	oflags := uint32(abi.O_PATH) | flags&abi.O_CLOEXEC
	if flags&abi.AT_SYMLINK_NOFOLLOW != 0 {
		oflags |= abi.O_NOFOLLOW
	}
	p, err := t.path(a.Ptr(1))
	if err != nil || p != "" || flags&abi.AT_EMPTY_PATH == 0 {
		return t.openat(a.Fd(0), a.Ptr(1), oflags, 0)
	}
	// An empty path names dirfd itself: a new O_PATH file of the same one.
	name, err := t.p.fs.getcwd()
	dir := t.p.fs.cwdFd
	if a.Fd(0) != abi.AT_FDCWD {
		f, ferr := t.fileRaw(a.Fd(0))
		if ferr != nil {
			return 0, ferr
		}
		dir, name, err = f.fd, f.path, nil
	}
	if err != nil {
		return 0, err
	}
	hfd, err := unix.OpenTree(dir, "", unix.AT_EMPTY_PATH|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return 0, err
	}
	return t.installOpened(hfd, name, oflags)
}

// sysMountSetattr implements mount_setattr(2)'s checks before the refusal: unknown
// flags, then the size of struct mount_attr.
func sysMountSetattr(t *Task, a Args) (uint64, error) {
	const attrSizeVer0 = 32
	if a.Uint(2)&^uint32(abi.AT_EMPTY_PATH|abi.AT_RECURSIVE|abi.AT_SYMLINK_NOFOLLOW|abi.AT_NO_AUTOMOUNT) != 0 {
		return 0, unix.EINVAL
	}
	switch size := a[4]; {
	case size > pageSize:
		return 0, unix.E2BIG
	case size < attrSizeVer0:
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}

// sysFsconfig implements fsconfig(2)'s checks. Its descriptor must come from fsopen or
// fspick, which vemu refuses, so every call ends in the error Linux gives first: a
// negative descriptor, arguments the command does not take, an unknown command, a
// descriptor that is not open (or only O_PATH), or one that is no filesystem context.
func sysFsconfig(t *Task, a Args) (uint64, error) {
	fd, cmd, key, value, aux := a.Fd(0), a.Uint(1), a.Ptr(2) != 0, a.Ptr(3) != 0, a.Int(4)
	if fd < 0 {
		return 0, unix.EINVAL
	}
	var ok bool
	switch cmd {
	case 0: // FSCONFIG_SET_FLAG
		ok = key && !value && aux == 0
	case 1: // FSCONFIG_SET_STRING
		ok = key && value && aux == 0
	case 2: // FSCONFIG_SET_BINARY
		ok = key && value && aux > 0 && aux <= 1<<20
	case 3, 4: // FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY
		ok = key && value && (aux == abi.AT_FDCWD || aux >= 0)
	case 5: // FSCONFIG_SET_FD
		ok = key && !value && aux >= 0
	case 6, 7, 8: // FSCONFIG_CMD_CREATE, FSCONFIG_CMD_RECONFIGURE, FSCONFIG_CMD_CREATE_EXCL
		ok = !key && !value && aux == 0
	default:
		return 0, unix.EOPNOTSUPP
	}
	if !ok {
		return 0, unix.EINVAL
	}
	f, err := t.file(fd)
	if err != nil {
		return 0, err
	}
	if f.flags&abi.O_PATH != 0 {
		return 0, unix.EBADF
	}
	return 0, unix.EINVAL
}

// sysChroot implements chroot(2)'s checks in Linux's order: the path must resolve to a
// directory the caller may search, and only then is the change refused, as to a process
// without CAP_SYS_CHROOT (the guest's root is vemu's --root).
func sysChroot(t *Task, a Args) (uint64, error) {
	fd, err := searchableDir(t, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	unix.Close(fd)
	return 0, unix.EPERM
}

// sysQuotactl implements quotactl(2)'s checks in Linux's order: the quota type, then,
// with no device, Q_SYNC succeeds (it syncs every file system's quotas, nothing the guest
// could tell from doing nothing) and any other command is ENODEV; then the device's name
// must resolve to a block device (ENOTBLK otherwise). The host's file systems' quotas are
// not the guest's to read or change: EPERM, as to a process without CAP_SYS_ADMIN.
func sysQuotactl(t *Task, a Args) (uint64, error) {
	cmd := uint32(a[0])
	if cmd&abi.Q_SUBCMDMASK >= abi.MAXQUOTAS {
		return 0, unix.EINVAL
	}
	if a.Ptr(1) == 0 {
		if cmd>>abi.Q_SUBCMDSHIFT == abi.Q_SYNC {
			return 0, nil
		}
		return 0, unix.ENODEV
	}
	st, err := t.fstatat(abi.AT_FDCWD, a.Ptr(1), 0)
	if err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, unix.ENOTBLK
	}
	return 0, unix.EPERM
}

// sysQuotactlFd implements quotactl_fd(2)'s checks: the descriptor (O_PATH ones too),
// then the quota type, then EPERM as for quotactl.
func sysQuotactlFd(t *Task, a Args) (uint64, error) {
	if _, err := t.fileRaw(int32(a[0])); err != nil {
		return 0, err
	}
	if uint32(a[1])&abi.Q_SUBCMDMASK >= abi.MAXQUOTAS {
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}

// sysSwapon implements swapon(2)'s checks.
func sysSwapon(t *Task, a Args) (uint64, error) {
	const valid = 0x7fff | 0x8000 | 0x10000 | 0x20000 | 0x40000 // priority, PREFER, DISCARD*
	if a.Int(1)&^valid != 0 {
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}

// sysSyslog implements syslog(2): every action reads or changes the host's kernel log,
// which an unprivileged process may not; an unknown action is refused alike, as Linux
// checks permission first.
func sysSyslog(t *Task, a Args) (uint64, error) { return 0, unix.EPERM }

// sysReboot implements reboot(2)'s answer: EPERM before the magic numbers are looked at.
func sysReboot(t *Task, a Args) (uint64, error) { return 0, unix.EPERM }

// sysAdjtimex implements adjtimex(2): reading the host clock's state (modes 0) is
// allowed; any change takes CAP_SYS_TIME.
func sysAdjtimex(t *Task, a Args) (uint64, error) {
	return t.adjtime(a.Ptr(0))
}

// sysClockAdjtime implements clock_adjtime(2) as adjtimex for CLOCK_REALTIME.
func sysClockAdjtime(t *Task, a Args) (uint64, error) {
	switch a.Int(0) {
	case unix.CLOCK_REALTIME:
		return t.adjtime(a.Ptr(1))
	case unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_TAI,
		unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_PROCESS_CPUTIME_ID,
		unix.CLOCK_THREAD_CPUTIME_ID:
		return 0, unix.EOPNOTSUPP
	}
	return 0, unix.EINVAL
}

func (t *Task) adjtime(addr mm.Addr) (uint64, error) {
	var tx unix.Timex
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&tx)), unsafe.Sizeof(tx))
	if err := t.p.mm.CopyIn(addr, buf); err != nil {
		return 0, err
	}
	if tx.Modes != 0 {
		return 0, unix.EPERM
	}
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return 0, err
	}
	return uint64(state), t.p.mm.CopyOut(addr, buf)
}

// sysSettimeofday implements settimeofday(2)'s checks: a bad pointer is EFAULT, a bad
// time EINVAL, anything else EPERM.
func sysSettimeofday(t *Task, a Args) (uint64, error) {
	if a[0] != 0 {
		var tv [16]byte
		if err := t.p.mm.CopyIn(a.Ptr(0), tv[:]); err != nil {
			return 0, err
		}
		if usec := int64(binary.LittleEndian.Uint64(tv[8:])); usec < 0 || usec >= 1e6 || int64(binary.LittleEndian.Uint64(tv[:])) < 0 {
			return 0, unix.EINVAL
		}
	}
	if a[1] != 0 {
		var tz [8]byte
		if err := t.p.mm.CopyIn(a.Ptr(1), tz[:]); err != nil {
			return 0, err
		}
	}
	return 0, unix.EPERM
}

// sysClockSettime implements clock_settime(2)'s checks.
func sysClockSettime(t *Task, a Args) (uint64, error) {
	var ts [16]byte
	if err := t.p.mm.CopyIn(a.Ptr(1), ts[:]); err != nil {
		return 0, err
	}
	switch a.Int(0) {
	case unix.CLOCK_REALTIME:
		if ns := int64(binary.LittleEndian.Uint64(ts[8:])); ns < 0 || ns >= 1e9 || int64(binary.LittleEndian.Uint64(ts[:])) < 0 {
			return 0, unix.EINVAL
		}
		return 0, unix.EPERM
	}
	return 0, unix.EINVAL
}

// sysUstat implements ustat(2) with the host's answer for the device.
func sysUstat(t *Task, a Args) (uint64, error) {
	var u unix.Ustat_t
	if err := unix.Ustat(int(a.Uint(0)), &u); err != nil {
		return 0, err
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&u)), unsafe.Sizeof(u))
	return 0, t.p.mm.CopyOut(a.Ptr(1), b)
}

// sysSysfs implements sysfs(2) with the host's list of file system types.
func sysSysfs(t *Task, a Args) (uint64, error) {
	switch a.Int(0) {
	case 1:
		name, err := t.p.mm.CopyString(a.Ptr(1), 256)
		if err != nil {
			if err == unix.ENAMETOOLONG {
				return 0, unix.EINVAL
			}
			return 0, err
		}
		p, err := unix.BytePtrFromString(name)
		if err != nil {
			return 0, unix.EINVAL
		}
		r, _, e := unix.Syscall(unix.SYS_SYSFS, 1, uintptr(unsafe.Pointer(p)), 0)
		if e != 0 {
			return 0, e
		}
		return uint64(r), nil
	case 2:
		var buf [256]byte
		// SAFETY: the host writes one file system name, at most a few dozen bytes, into buf.
		_, _, e := unix.Syscall(unix.SYS_SYSFS, 2, uintptr(a.Uint(1)), uintptr(unsafe.Pointer(&buf[0])))
		if e != 0 {
			return 0, e
		}
		n := 0
		for n < len(buf)-1 && buf[n] != 0 {
			n++
		}
		return 0, t.p.mm.CopyOut(a.Ptr(2), buf[:n+1])
	case 3:
		r, _, e := unix.Syscall(unix.SYS_SYSFS, 3, 0, 0)
		if e != 0 {
			return 0, e
		}
		return uint64(r), nil
	}
	return 0, unix.EINVAL
}

// sysUserfaultfd implements userfaultfd(2)'s answer with vm.unprivileged_userfaultfd at
// 0: EPERM, which Linux checks before the flags.
func sysUserfaultfd(t *Task, a Args) (uint64, error) { return 0, unix.EPERM }

// sysSetns implements setns(2)'s answer: a descriptor that is not open is EBADF, one
// that is not a namespace EINVAL, a namespace EPERM.
func sysSetns(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	var st unix.Statfs_t
	if unix.Fstatfs(f.fd, &st) == nil && st.Type == unix.NSFS_MAGIC {
		return 0, unix.EPERM
	}
	return 0, unix.EINVAL
}

// sysKeys answers the key management calls: vemu gives the guest no access to the host's
// keyrings, as a container's seccomp profile does not.
func sysKeys(t *Task, a Args) (uint64, error) { return 0, unix.EPERM }
