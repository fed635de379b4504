package kernel

import (
	"encoding/binary"
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
