package kernel

// sysGetdents64 implements getdents64(2).
func sysGetdents64(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return f.kind().readdir(t, f, a.Ptr(1), min(a.Uint(2), 1<<20), true)
}

// sysGetdents implements getdents(2), the old directory entry format.
func sysGetdents(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return f.kind().readdir(t, f, a.Ptr(1), min(a.Uint(2), 1<<20), false)
}
