package kernel

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// ioctlVsockLocalCID is IOCTL_VM_SOCKETS_GET_LOCAL_CID, _IO(7, 0xb9): the request of
// /dev/vsock, which writes the machine's context id as a 32-bit number.
const ioctlVsockLocalCID = 0x7b9

// vsockRdev is the device number of the host's /dev/vsock, or 0 when it has none.
var vsockRdev = sync.OnceValue(func() uint64 {
	var st unix.Stat_t
	if unix.Stat("/dev/vsock", &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return 0
	}
	return st.Rdev
})

// vsockIoctl answers IOCTL_VM_SOCKETS_GET_LOCAL_CID on a descriptor of the vsock
// device, with the host's answer. Any other file is ENOTTY: the request is passed on
// only where its meaning is known, never to another driver that may read it otherwise.
func (t *Task) vsockIoctl(f *File, arg mm.Addr) (uint64, error) {
	var st unix.Stat_t
	rdev := vsockRdev()
	if rdev == 0 || unix.Fstat(f.fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != rdev {
		return 0, unix.ENOTTY
	}
	cid, err := unix.IoctlGetUint32(f.fd, ioctlVsockLocalCID)
	if err != nil {
		return 0, err
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], cid)
	return 0, t.p.mm.CopyOut(arg, b[:])
}
