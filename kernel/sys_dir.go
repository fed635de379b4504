package kernel

// sysGetdents64 implements getdents64(2).
func sysGetdents64(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return f.kind().readdir(t, f, a.Ptr(1), direntCount(a.Uint(2)), true)
}

// direntCount is the count getdents asks the file for: Linux keeps it in an int, so one
// past INT_MAX is negative, too small for any entry (EINVAL, or 0 at the end), as 1 is.
func direntCount(n uint32) uint32 {
	if int32(n) < 0 {
		return 1
	}
	return min(n, 1<<20)
}

// sysGetdents implements getdents(2), the old directory entry format.
func sysGetdents(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return f.kind().readdir(t, f, a.Ptr(1), direntCount(a.Uint(2)), false)
}
