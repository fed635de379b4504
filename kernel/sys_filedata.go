package kernel

import (
	"strconv"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// sysTruncate implements truncate(2).
func sysTruncate(t *Task, a Args) (uint64, error) {
	if a.Int64(1) < 0 {
		return 0, unix.EINVAL // as Linux's do_sys_truncate, before the path
	}
	h, err := t.pathAt(abi.AT_FDCWD, a.Ptr(0), true)
	if err != nil {
		return 0, err
	}
	defer h.close()
	// Look before opening for writing: opening a FIFO to write waits for a reader, where
	// Linux's truncate answers EINVAL at once (EISDIR for a directory).
	trunc := func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
		case unix.S_IFDIR:
			return unix.EISDIR
		default:
			return unix.EINVAL
		}
		if err := t.growCheck(&st, a.Int64(1)); err != nil {
			return err
		}
		if err := unix.Truncate("/proc/self/fd/"+strconv.Itoa(fd), a.Int64(1)); err != nil {
			return err
		}
		mm.Shrunk(fd) // shared mappings of the file lose what lies past its end
		return nil
	}
	if t.p.k.leases.any() {
		// A truncate breaks leases as an open for writing does, and waits for them.
		fd, err := unix.Openat(h.dir, h.name, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		if fd, err = guardProcFd(fd); err != nil {
			return 0, err
		}
		return t.waitLeases(fd, abi.O_WRONLY, func() (uint64, error) {
			defer unix.Close(fd)
			return 0, trunc(fd)
		})
	}
	return 0, withHostFile(h.dir, h.name, unix.O_PATH, trunc)
}

// sysFtruncate implements ftruncate(2).
func sysFtruncate(t *Task, a Args) (uint64, error) {
	if a.Int64(1) < 0 {
		return 0, unix.EINVAL // as Linux's do_ftruncate, before the descriptor
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) == nil {
		if err := t.growCheck(&st, a.Int64(1)); err != nil {
			return 0, err
		}
	}
	if err := unix.Ftruncate(f.fd, a.Int64(1)); err != nil {
		return 0, err
	}
	// Shared mappings of the file, in every process, lose what lies past its new end
	// before their guest code runs again.
	mm.Shrunk(f.fd)
	return 0, nil
}

// growCheck applies RLIMIT_FSIZE to a truncate of the regular file st describes to size,
// as Linux's inode_newsize_ok: growing it past the limit is SIGXFSZ and EFBIG.
func (t *Task) growCheck(st *unix.Stat_t, size int64) error {
	limit := t.p.rlimits[abi.RLIMIT_FSIZE].Cur
	if limit == abi.RLIM_INFINITY || st.Mode&unix.S_IFMT != unix.S_IFREG || size <= st.Size || size < 0 || uint64(size) <= limit {
		return nil
	}
	_, err := t.fileSizeCheck(size, 1)
	return err
}

// sysFallocate implements fallocate(2) with the host's, whose mode bits are Linux's.
func sysFallocate(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if a.Uint(1)&unix.FALLOC_FL_KEEP_SIZE == 0 && a.Int64(2) >= 0 && a.Int64(3) > 0 {
		// Growing the file past RLIMIT_FSIZE, as a truncate would.
		var st unix.Stat_t
		if unix.Fstat(f.fd, &st) == nil {
			if err := t.growCheck(&st, a.Int64(2)+a.Int64(3)); err != nil {
				return 0, err
			}
		}
	}
	if err := unix.Fallocate(f.fd, a.Uint(1), a.Int64(2), a.Int64(3)); err != nil {
		return 0, err
	}
	if a.Uint(1)&unix.FALLOC_FL_COLLAPSE_RANGE != 0 {
		mm.Shrunk(f.fd) // the file is shorter: as ftruncate
	}
	return 0, nil
}

// sysFsync implements fsync(2).
func sysFsync(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fsync(f.fd)
}

// sysFdatasync implements fdatasync(2).
func sysFdatasync(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fdatasync(f.fd)
}

// sysSync implements sync(2).
func sysSync(t *Task, a Args) (uint64, error) {
	unix.Sync()
	return 0, nil
}

// sysFadvise64 implements fadvise64(2): advice is passed to the host file.
func sysFadvise64(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Fadvise(f.fd, a.Int64(1), a.Int64(2), int(a.Int(3)))
}

// sysSyncfs implements syncfs(2).
func sysSyncfs(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.Syncfs(f.fd)
}

// sysSyncFileRange implements sync_file_range(2).
func sysSyncFileRange(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, unix.SyncFileRange(f.fd, a.Int64(1), a.Int64(2), int(a.Uint(3)))
}

// sysReadahead implements readahead(2).
func sysReadahead(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	_, _, e := unix.Syscall(unix.SYS_READAHEAD, uintptr(f.fd), uintptr(a[1]), uintptr(a[2]))
	if e != 0 {
		return 0, e
	}
	return 0, nil
}
