package kernel

import (
	"encoding/binary"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// hostIoctl issues an ioctl whose argument is the buffer buf.
func hostIoctl(fd int, req uint, buf []byte) error {
	// SAFETY: buf outlives the call and is larger than the structure the request reads or
	// writes (sizes from ioctlSize); the host kernel touches nothing else.
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&buf[0])))
	if e != 0 {
		return e
	}
	return nil
}

// foreground implements tcsetpgrp and tcgetpgrp (TIOCSPGRP, TIOCGPGRP) on a terminal.
// Guest process groups do not exist on the host, so the terminal's foreground group is
// kept here: it is where vemu sends the terminal's signals it receives (Ctrl-C), and what
// tcgetpgrp answers once a guest has set it. Until then the host's answer stands.
func (t *Task) foreground(f *File, req uint32, addr mm.Addr) (uint64, error) {
	var termios [64]byte
	if err := hostIoctl(f.fd, unix.TCGETS, termios[:]); err != nil {
		return 0, unix.ENOTTY
	}
	k := t.p.k
	if req == abi.TIOCGPGRP {
		k.pt.mu.Lock()
		fg, set := k.fgPgid, k.fgSet
		k.pt.mu.Unlock()
		if !set {
			var b [8]byte
			if err := hostIoctl(f.fd, unix.TIOCGPGRP, b[:]); err != nil {
				return 0, err
			}
			fg = int(int32(binary.LittleEndian.Uint32(b[:])))
		}
		return 0, t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, uint32(fg)))
	}
	var b [4]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	pgid := int(int32(binary.LittleEndian.Uint32(b[:])))
	if pgid < 0 {
		return 0, unix.EINVAL
	}
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	found := false
	for _, q := range k.pt.procs {
		if q.pgid == pgid && !q.zombie {
			if q.sid != t.p.sid {
				return 0, unix.EPERM
			}
			found = true
		}
	}
	if !found {
		return 0, unix.ESRCH
	}
	k.fgPgid, k.fgSet = pgid, true
	return 0, nil
}

// ioctlSize lists the terminal and file ioctls passed to host files, with the size of
// the argument they read (in) or write (out).
var ioctlSize = map[uint32]struct {
	size    int
	in, out bool
	host    uint
}{
	abi.TCGETS:     {36, false, true, unix.TCGETS},
	abi.TCSETS:     {36, true, false, unix.TCSETS},
	abi.TCSETSW:    {36, true, false, unix.TCSETSW},
	abi.TCSETSF:    {36, true, false, unix.TCSETSF},
	abi.TIOCGWINSZ: {8, false, true, unix.TIOCGWINSZ},
	abi.TIOCSWINSZ: {8, true, false, unix.TIOCSWINSZ},
	abi.TIOCGPGRP:  {4, false, true, unix.TIOCGPGRP},
	abi.TIOCSPGRP:  {4, true, false, unix.TIOCSPGRP},
	abi.FIONREAD:   {4, false, true, unix.TIOCINQ},

	// The host's file system answers for its files, as for file_getattr(2).
	abi.FS_IOC_GETFLAGS:   {4, false, true, abi.FS_IOC_GETFLAGS},
	abi.FS_IOC_SETFLAGS:   {4, true, false, abi.FS_IOC_SETFLAGS},
	abi.FS_IOC_GETVERSION: {4, false, true, abi.FS_IOC_GETVERSION},
	abi.FS_IOC_FSGETXATTR: {abi.FsxattrSize, false, true, abi.FS_IOC_FSGETXATTR},
	abi.FS_IOC_FSSETXATTR: {abi.FsxattrSize, true, false, abi.FS_IOC_FSSETXATTR},
}

// sysIoctl implements ioctl(2) for terminal queries and a few file requests on host files;
// anything else is ENOTTY, as for a file that does not understand the request.
func sysIoctl(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	req := a.Uint(1)
	switch req {
	case abi.FIOCLEX, abi.FIONCLEX:
		t.p.files.fds[a.Fd(0)].cloexec = req == abi.FIOCLEX
		return 0, nil
	case abi.FIONBIO, abi.FIOASYNC:
		return 0, t.fileFlagIoctl(f, a.Fd(0), req, a.Ptr(2))
	}
	if lf, ok := f.ops.(*listenerFile); ok {
		return t.seccompIoctl(f, lf.l, req, a.Ptr(2))
	}
	if r, ok, err := t.nsIoctl(f, req, a.Ptr(2)); ok {
		return r, err
	}
	if r, ok, err := t.ttyIoctl(f, req, a[2]); ok {
		return r, err
	}
	if r, ok, err := t.ptyIoctl(f, req, a[2]); ok {
		return r, err
	}
	switch req {
	case abi.TCSETS, abi.TCSETSW, abi.TCSETSF, abi.TCSETA, abi.TCSETAW, abi.TCSETAF,
		abi.TCSETS2, abi.TCSETSW2, abi.TCSETSF2, abi.TCFLSH, abi.TCXONC, abi.TCSBRK, abi.TCSBRKP:
		// Changing the terminal from a background group: SIGTTOU first.
		if ok, r, err := t.ttyJob(f, abi.SIGTTOU, false); !ok {
			return r, err
		}
	}
	if r, ok, err := t.sockIoctl(f, req, a.Ptr(2)); ok {
		return r, err
	}
	if req == ioctlVsockLocalCID {
		return t.vsockIoctl(f, a.Ptr(2))
	}
	switch req {
	case abi.TCFLSH, abi.TCXONC, abi.TCSBRK, abi.TCSBRKP:
		return 0, termValueIoctl(f, req, a[2])
	}
	d, ok := ioctlSize[req]
	if !ok || fileAttrIoctl(req) && !hostAttrs(f) {
		return 0, unix.ENOTTY
	}
	switch req {
	case abi.TIOCSPGRP, abi.TIOCGPGRP:
		return t.foreground(f, req, a.Ptr(2))
	}
	buf := make([]byte, d.size+8)
	if d.in {
		if err := t.p.mm.CopyIn(a.Ptr(2), buf[:d.size]); err != nil {
			return 0, err
		}
	}
	if err := hostIoctl(f.fd, d.host, buf); err != nil {
		return 0, err
	}
	if d.out {
		return 0, t.p.mm.CopyOut(a.Ptr(2), buf[:d.size])
	}
	return 0, nil
}

// fileFlagIoctl implements the requests that every file understands as Linux's
// do_vfs_ioctl() does: FIONBIO sets or clears O_NONBLOCK, FIOASYNC O_ASYNC, each from the
// int at addr (nonzero: set). A change of O_ASYNC on a file that cannot signal is ENOTTY.
func (t *Task) fileFlagIoctl(f *File, fd int32, req uint32, addr mm.Addr) error {
	var b [4]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return err
	}
	on := binary.LittleEndian.Uint32(b[:]) != 0
	if req == abi.FIOASYNC {
		if on == (f.asyncFlag() != 0) {
			return nil
		}
		if !f.canSignal() {
			return unix.ENOTTY
		}
		t.setAsync(f, fd, on)
		return nil
	}
	fl, err := f.kind().getfl(f)
	if err != nil {
		return err
	}
	if on {
		fl |= abi.O_NONBLOCK
	} else {
		fl &^= abi.O_NONBLOCK
	}
	return f.kind().setfl(f, fl)
}

// termValueIoctl passes a terminal request whose argument is a value, not a pointer
// (tcflush, tcflow, tcdrain, tcsendbreak), to f's host terminal, which checks the value
// (EINVAL); any other file does not understand it (ENOTTY).
func termValueIoctl(f *File, req uint32, arg uint64) error {
	if _, ok := f.ttyDev(); !ok {
		return unix.ENOTTY
	}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(f.fd), uintptr(req), uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

// fileAttrIoctl says whether req is one of the file attribute requests.
func fileAttrIoctl(req uint32) bool {
	switch req {
	case abi.FS_IOC_GETFLAGS, abi.FS_IOC_SETFLAGS, abi.FS_IOC_GETVERSION,
		abi.FS_IOC_FSGETXATTR, abi.FS_IOC_FSSETXATTR:
		return true
	}
	return false
}

// hostAttrs says whether f's attributes are its host file's: not for vemu's own kinds
// of file, nor for /proc and /sys files, which vemu may hold as in-memory host files
// where Linux's procfs and sysfs have no attributes (ENOTTY).
func hostAttrs(f *File) bool {
	if f.ops != nil {
		return false
	}
	return !strings.HasPrefix(f.path, "/proc/") && !strings.HasPrefix(f.path, "/sys/")
}
