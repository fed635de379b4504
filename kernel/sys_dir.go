package kernel

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysGetdents64 implements getdents64(2); the host's records are already in the guest's
// format (struct linux_dirent64 is the same on every Linux).
func sysGetdents64(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	n := min(a.Uint(2), 1<<20)
	if f.fdDir != nil {
		return t.listFdDir(f, a.Ptr(1), n, true)
	}
	buf := make([]byte, n)
	got, err := unix.Getdents(f.fd, buf)
	if err != nil {
		return 0, err
	}
	return uint64(got), t.p.mm.CopyOut(a.Ptr(1), buf[:got])
}

// sysGetdents implements getdents(2), the old directory entry format, with the host's
// own (the host is x86-64 Linux too, so the format is the guest's).
func sysGetdents(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if f.fdDir != nil {
		return t.listFdDir(f, a.Ptr(1), min(a.Uint(2), 1<<20), false)
	}
	buf := make([]byte, min(a.Uint(2), 1<<20)+1)
	r, _, e := unix.Syscall(unix.SYS_GETDENTS, uintptr(f.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)-1))
	runtime.KeepAlive(buf)
	if e != 0 {
		return 0, e
	}
	return uint64(r), t.p.mm.CopyOut(a.Ptr(1), buf[:r])
}
