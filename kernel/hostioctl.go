package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
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
