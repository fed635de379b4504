package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// sysInotifyInit implements inotify_init(2) with a host inotify instance: events are read
// from it as from the host's.
func sysInotifyInit(t *Task, a Args) (uint64, error) { return t.inotifyInit(0) }

// sysInotifyInit1 implements inotify_init1(2).
func sysInotifyInit1(t *Task, a Args) (uint64, error) { return t.inotifyInit(a.Int(0)) }

func (t *Task) inotifyInit(flags int32) (uint64, error) {
	if flags&^(abi.O_NONBLOCK|abi.O_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	hflags := unix.IN_CLOEXEC
	if flags&abi.O_NONBLOCK != 0 {
		hflags |= unix.IN_NONBLOCK
	}
	hfd, err := unix.InotifyInit1(hflags)
	if err != nil {
		return 0, err
	}
	return t.installAnonInode(hfd, "inotify", abi.O_RDONLY|uint32(flags&abi.O_NONBLOCK), flags&abi.O_CLOEXEC != 0)
}

// sysInotifyAddWatch implements inotify_add_watch(2) on the path as the guest sees it,
// with Linux's checks in Linux's order: the mask's bits, the descriptor, IN_MASK_ADD with
// IN_MASK_CREATE and an instance that is not inotify's, all before the path.
func sysInotifyAddWatch(t *Task, a Args) (uint64, error) {
	mask := a.Uint(2)
	const all = unix.IN_ALL_EVENTS | unix.IN_UNMOUNT | unix.IN_Q_OVERFLOW | unix.IN_IGNORED |
		unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK | unix.IN_MASK_CREATE |
		unix.IN_MASK_ADD | unix.IN_ISDIR | unix.IN_ONESHOT
	if mask&^all != 0 || mask&all == 0 {
		return 0, unix.EINVAL
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if mask&unix.IN_MASK_ADD != 0 && mask&unix.IN_MASK_CREATE != 0 || f.path != "anon_inode:inotify" {
		return 0, unix.EINVAL
	}
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(1), mask&unix.IN_DONT_FOLLOW == 0)
	if err != nil {
		return 0, err
	}
	defer h.close()
	wd, err := unix.InotifyAddWatch(f.fd, h.full(), mask)
	return uint64(wd), err
}

// sysInotifyRmWatch implements inotify_rm_watch(2).
func sysInotifyRmWatch(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	_, err = unix.InotifyRmWatch(f.fd, a.Uint(1))
	return 0, err
}

// sysEventfd implements eventfd(2).
func sysEventfd(t *Task, a Args) (uint64, error) { return t.eventfd(a.Uint(0), 0) }

// sysEventfd2 implements eventfd2(2).
func sysEventfd2(t *Task, a Args) (uint64, error) { return t.eventfd(a.Uint(0), a.Uint(1)) }

// eventfd makes a host eventfd: reads, writes and polls of it are the host's.
func (t *Task) eventfd(initval, flags uint32) (uint64, error) {
	if flags&^(abi.EFD_SEMAPHORE|abi.EFD_NONBLOCK|abi.EFD_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	hflags := unix.EFD_CLOEXEC
	if flags&abi.EFD_NONBLOCK != 0 {
		hflags |= unix.EFD_NONBLOCK
	}
	if flags&abi.EFD_SEMAPHORE != 0 {
		hflags |= unix.EFD_SEMAPHORE
	}
	hfd, err := unix.Eventfd(uint(initval), hflags)
	if err != nil {
		return 0, err
	}
	return t.installAnonInode(hfd, "[eventfd]", abi.O_RDWR|flags&abi.EFD_NONBLOCK, flags&abi.EFD_CLOEXEC != 0)
}
