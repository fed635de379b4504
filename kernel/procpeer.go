package kernel

import (
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Another guest process's /proc/PID directory, beyond the files procother.go renders:
// the directory itself and task/TID, its descriptors (fd/N and fdinfo/N), its links
// (exe, cwd, root) and environ; and the listing of /proc, which shows the guest's
// processes. A process's tables belong to its run loop; what other processes read of
// them goes through the tables' own locks (FDTable.mu, fsContext.mu), from the tables
// the process publishes (procView). A descriptor of another process is reached through
// a duplicate of the host descriptor behind it, taken under its table's lock: never by
// its host number, which may name another object by the time it is used.

// procView is what a process publishes of its tables for other processes' /proc reads:
// the descriptor table and working directory of its main thread, nil once closed.
type procView struct {
	mu    sync.Mutex
	files *FDTable
	fs    *fsContext
}

// publishTables records p's main thread's tables, after a change of them.
func (p *Process) publishTables() {
	f, s := p.files, p.fs
	if p.mainFiles != nil {
		f, s = p.mainFiles, p.mainFS
		if m := p.thread(p.pid); m != nil {
			f, s = p.tablesOf(m)
		}
	}
	p.view.mu.Lock()
	p.view.files, p.view.fs = f, s
	p.view.mu.Unlock()
}

// unpublishTables withdraws p's tables before they close.
func (p *Process) unpublishTables() {
	p.view.mu.Lock()
	p.view.files, p.view.fs = nil, nil
	p.view.mu.Unlock()
}

func (p *Process) viewTables() (*FDTable, *fsContext) {
	p.view.mu.Lock()
	defer p.view.mu.Unlock()
	return p.view.files, p.view.fs
}

// dupFd gives a duplicate of the host descriptor behind p's descriptor fd, and whether
// fd is close-on-exec; ENOENT when p has no such descriptor.
func (p *Process) dupFd(fd int) (int, bool, error) {
	ft, _ := p.viewTables()
	if ft == nil || fd < 0 {
		return -1, false, unix.ENOENT
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if fd >= len(ft.fds) || ft.fds[fd].f == nil {
		return -1, false, unix.ENOENT
	}
	h, err := unix.FcntlInt(uintptr(ft.fds[fd].f.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, false, unix.ENOENT
	}
	return h, ft.fds[fd].cloexec, nil
}

// openFds lists p's descriptors from from on, at most n of them.
func (p *Process) openFds(from, n int) []int {
	ft, _ := p.viewTables()
	if ft == nil {
		return nil
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []int
	for fd := max(from, 0); fd < len(ft.fds) && len(out) < n; fd++ {
		if ft.fds[fd].f != nil {
			out = append(out, fd)
		}
	}
	return out
}

// peerEntry is an entry of another guest process's /proc directory.
type peerEntry struct {
	q   *Process
	dir string // the directory the entry is in, below /proc: "PID" or "PID/task/TID"
	// name is the entry below dir, cleaned; "" for dir itself.
	name string
}

// peerEntry recognizes /proc/N[/...] and /proc/N/task/TID[/...] where N is a pid or
// thread id of a guest process other than the caller's, a zombie's too, and TID one of
// its threads. Names are as Linux spells them: "05" or "+5" is no process.
func (t *Task) peerEntry(p string) (peerEntry, bool) {
	rest, ok := strings.CutPrefix(path.Clean(p), "/proc/")
	if !ok {
		return peerEntry{}, false
	}
	head, name, _ := strings.Cut(rest, "/")
	id, ok := procNumber(head)
	if !ok {
		return peerEntry{}, false
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := k.lookupLocked(id)
	if q == nil || q == t.p {
		return peerEntry{}, false
	}
	dir := head
	if task, ok := strings.CutPrefix(name, "task/"); ok {
		tid, below, _ := strings.Cut(task, "/")
		n, ok := procNumber(tid)
		if !ok || n != q.pid && k.pt.tids[n] != q {
			return peerEntry{}, false
		}
		dir, name = head+"/task/"+tid, below
	}
	top, _, _ := strings.Cut(name, "/")
	if strings.Contains(dir, "/") && processOnly(top) || !strings.Contains(dir, "/") && threadOnly(top) {
		return peerEntry{}, false // a process's entry in a thread's directory, or the reverse
	}
	return peerEntry{q: q, dir: dir, name: name}, true
}

// procNumber reads a pid in a /proc name: decimal, no sign, no leading zero.
func procNumber(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}

// isDir says whether e is one of the directories vemu lists for it (procPeerDir).
func (e peerEntry) isDir() bool {
	switch e.name {
	case "", "fd", "fdinfo", "ns", "attr":
		return true
	case "task", "map_files":
		return !strings.Contains(e.dir, "/")
	}
	return false
}

// guarded says whether e is behind ptrace's read check on Linux (proc_fd_access_allowed,
// mm_access): the descriptors, the links and the environment.
func (e peerEntry) guarded() bool {
	switch top, _, _ := strings.Cut(e.name, "/"); top {
	case "fd", "fdinfo", "exe", "cwd", "root", "environ":
		return true
	}
	return false
}

// mayRead says whether t may see what ptrace's read check guards of q, as Linux's
// ptrace_may_access() with PTRACE_MODE_READ_FSCREDS: the caller's filesystem ids are
// all of q's ids, or the caller has CAP_SYS_PTRACE.
func (t *Task) mayRead(q *Process) bool {
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	c, d := &t.p.creds, &q.creds
	same := c.fsuid == d.ruid && c.fsuid == d.euid && c.fsuid == d.suid &&
		c.fsgid == d.rgid && c.fsgid == d.egid && c.fsgid == d.sgid
	return same || c.capable(capSysPtrace)
}

// peerAlias is procAlias for e: a directory stands for itself with a host directory
// that leads nowhere of vemu's, as the guest's own do; fd/N and cwd are the objects they
// link to, through duplicates of q's descriptors (h owns the duplicate); exe is the
// program. nil: not an entry resolved here.
func (t *Task) peerAlias(e peerEntry) (*hostPath, error) {
	k := t.p.k
	none := &hostPath{own: -1}
	if top, below, ok := strings.Cut(e.name, "/"); ok && below != "" && (peerRendered(top) || top == "children") {
		return none, unix.ENOTDIR // below a file
	}
	if e.guarded() && !t.mayRead(e.q) && e.name != "fd" && e.name != "fdinfo" && e.name != "environ" {
		// The directories and environ stat for anyone: their opens check (installOpened,
		// peerFile).
		return none, unix.EACCES
	}
	switch {
	case e.name == "root" && e.q.isZombie():
		return none, unix.ENOENT
	case e.isDir() || e.name == "root":
		if k.root != nil {
			return &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/fd/" + strconv.Itoa(k.root.fd), own: -1}, nil
		}
		return &hostPath{dir: unix.AT_FDCWD, name: "/", own: -1}, nil
	case strings.HasPrefix(e.name, "fd/"):
		num, below, _ := strings.Cut(e.name[3:], "/")
		n, ok := procFdNumber(num)
		if !ok {
			return none, unix.ENOENT
		}
		h, _, err := e.q.dupFd(n)
		if err != nil {
			return none, err
		}
		return through(h, below), nil
	case e.name == "cwd" || strings.HasPrefix(e.name, "cwd/"):
		_, fs := e.q.viewTables()
		if fs == nil {
			return none, unix.ENOENT
		}
		h, err := fs.dupDir()
		if err != nil {
			return none, unix.ENOENT
		}
		return through(h, strings.TrimPrefix(e.name[3:], "/")), nil
	case strings.HasPrefix(e.name, "fdinfo/"):
		n, ok := procFdNumber(e.name[len("fdinfo/"):])
		if !ok {
			return none, unix.ENOENT
		}
		h, _, err := e.q.dupFd(n)
		if err != nil {
			return none, err
		}
		unix.Close(h)
		return &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/stat", own: -1}, nil // a file of mode 0444, as fdinfo's
	case namespaceWide(e.name):
		// The namespaces every guest process lives in: vemu's (mountstats's open
		// checks its reader: openName).
		return &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/" + e.name, own: -1}, nil
	case strings.HasPrefix(e.name, "map_files/"):
		// Not followed here: lstat is ownProcLink's, readlink and open ask the
		// process (openPeerMapFiles).
		if !t.mayRead(e.q) {
			return none, unix.EACCES
		}
		if !t.p.creds.capable(capSysAdmin) && !t.p.creds.capable(capCheckpointRestore) {
			return none, unix.EPERM
		}
		return none, unix.ENOENT
	case e.name == "children":
		return &hostPath{dir: unix.AT_FDCWD, name: "/proc/thread-self/children", own: -1}, nil
	case strings.HasPrefix(e.name, "attr/"):
		if _, ok := procAttrName(e.name); !ok {
			return none, unix.ENOENT
		}
		return &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/" + e.name, own: -1}, nil
	case peerRendered(e.name):
		// The contents are rendered at open (peerFileAt); what stands for the file
		// otherwise, for stat, is vemu's own file of that name: Linux's modes and types,
		// which no call made through it can change (procfs refuses them).
		return &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/" + e.name, own: -1}, nil
	case strings.HasPrefix(e.name, "exe/"):
		return none, unix.ENOTDIR // the program is a file
	case e.name == "exe":
		exe, ok := t.peerExe(e.q)
		if !ok {
			return none, unix.ENOENT
		}
		return &hostPath{dir: unix.AT_FDCWD, name: exe, own: -1}, nil
	}
	return nil, nil
}

// peerRendered says whether name is one of the files rendered for another process.
func peerRendered(name string) bool {
	for _, e := range peerDirNames {
		if e.name == name {
			return e.typ == unix.DT_REG
		}
	}
	return false
}

// through is the path below the host descriptor h, which it owns; h itself for "".
func through(h int, below string) *hostPath {
	if below == "" {
		m := magic(h)
		return &m
	}
	return &hostPath{dir: h, name: below, own: h}
}

// procFdNumber reads a descriptor number in a /proc name ("0" is one).
func procFdNumber(s string) (int, bool) {
	if s == "0" {
		return 0, true
	}
	return procNumber(s)
}

// peerExe is the host path of q's program; false for a zombie, which has none.
func (t *Task) peerExe(q *Process) (string, bool) {
	k := t.p.k
	k.pt.mu.Lock()
	zombie := q.zombie
	k.pt.mu.Unlock()
	pub := q.pubExec.Load()
	if zombie || pub == nil {
		return "", false
	}
	return pub.exe, true
}

// peerLink is readlink(2) of e, when e is one of the links: the guest's name of what it
// links to.
func (t *Task) peerLink(e peerEntry) (string, bool, error) {
	if e.name != "exe" && e.name != "cwd" && e.name != "root" && !strings.HasPrefix(e.name, "fd/") {
		return "", false, nil
	}
	h, err := t.peerAlias(e)
	if err != nil {
		return "", true, err
	}
	defer h.close()
	k := t.p.k
	switch {
	case e.name == "root":
		return "/", true, nil
	case e.name == "exe":
		return k.guestPath(h.name), true, nil
	case e.name == "cwd":
		return k.root.guestOr(hostFdPath(h.own)), true, nil
	}
	return k.guestPath(hostFdPath(h.own)), true, nil
}

// peerFile renders environ and fdinfo/N of e; false for other entries.
func (t *Task) peerFile(e peerEntry) ([]byte, bool, error) {
	if e.name != "environ" && !strings.HasPrefix(e.name, "fdinfo/") {
		return nil, false, nil
	}
	if !t.mayRead(e.q) {
		return nil, true, unix.EACCES
	}
	if e.name == "environ" {
		k := t.p.k
		k.pt.mu.Lock()
		zombie := e.q.zombie
		k.pt.mu.Unlock()
		if zombie {
			return nil, true, unix.ESRCH // no memory left to read, as Linux's proc_mem_open()
		}
		q := e.q
		var fallback []byte
		if pub := q.pubExec.Load(); pub != nil {
			fallback = pub.environ
		}
		return nil, true, onLoopRender{q: q, render: func() []byte {
			if q.exit != nil {
				return nil
			}
			return q.environNow()
		}, bounded: true, fallback: fallback}
	}
	n, ok := procFdNumber(e.name[len("fdinfo/"):])
	if !ok {
		return nil, true, unix.ENOENT
	}
	h, cloexec, err := e.q.dupFd(n)
	if err != nil {
		return nil, true, err
	}
	defer unix.Close(h)
	return fdinfo(h, cloexec), true, nil
}

// fdinfo renders /proc/PID/fdinfo/N for the host descriptor h that duplicates the
// guest's: the host's lines for the open file description (position, mount, inode and
// what its kind adds), with the flags' close-on-exec bit the guest descriptor's, since
// every host descriptor of vemu's is close-on-exec.
func fdinfo(h int, cloexec bool) []byte {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(h))
	if err != nil {
		return nil
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		v, ok := strings.CutPrefix(l, "flags:\t")
		if !ok {
			continue
		}
		fl, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
		if err != nil {
			break
		}
		fl &^= unix.O_CLOEXEC
		if cloexec {
			fl |= unix.O_CLOEXEC
		}
		lines[i] = "flags:\t0" + strconv.FormatUint(fl, 8) + "\n"
		if fl == 0 {
			lines[i] = "flags:\t00\n"
		}
	}
	return []byte(strings.Join(lines, ""))
}

// procPeerDir is a directory of another guest process's /proc opened as such: listing
// it lists that process's entries, descriptors or threads.
type procPeerDir struct {
	hostFile
	q   *Process
	dir string // below /proc: "PID", "PID/fd", "PID/task", "PID/task/TID/fdinfo"...
	pos int64  // the listing's position
	// names are map_files's entries, from the process's mappings when it was opened.
	names []string
}

// peerDirName is an entry of another process's directory and its type.
type peerDirName struct {
	name string
	typ  byte
}

// peerDirNames are the entries of another process's directory vemu answers: the files
// and directories below, and procMiscFile's.
var peerDirNames = append([]peerDirName{
	{"auxv", unix.DT_REG}, {"cmdline", unix.DT_REG}, {"comm", unix.DT_REG}, {"cwd", unix.DT_LNK},
	{"environ", unix.DT_REG}, {"exe", unix.DT_LNK}, {"fd", unix.DT_DIR}, {"fdinfo", unix.DT_DIR},
	{"limits", unix.DT_REG}, {"maps", unix.DT_REG}, {"mem", unix.DT_REG}, {"ns", unix.DT_DIR}, {"pagemap", unix.DT_REG},
	{"root", unix.DT_LNK}, {"sched", unix.DT_REG}, {"schedstat", unix.DT_REG}, {"stack", unix.DT_REG},
	{"stat", unix.DT_REG}, {"statm", unix.DT_REG}, {"status", unix.DT_REG}, {"smaps", unix.DT_REG},
	{"smaps_rollup", unix.DT_REG}, {"syscall", unix.DT_REG}, {"task", unix.DT_DIR}, {"wchan", unix.DT_REG},
	{"attr", unix.DT_DIR}, {"children", unix.DT_REG}, {"mountinfo", unix.DT_REG}, {"mounts", unix.DT_REG},
	{"mountstats", unix.DT_REG}, {"net", unix.DT_DIR}, {"map_files", unix.DT_DIR},
}, miscDirNames()...)

func miscDirNames() []peerDirName {
	var names []peerDirName
	for _, n := range slices.Concat(procMiscNames, procExtraNames) {
		names = append(names, peerDirName{n, unix.DT_REG})
	}
	return names
}

func (d *procPeerDir) seek(f *File, off int64, whence int32) (uint64, error) {
	return seekListing(&d.pos, off, whence)
}

func (d *procPeerDir) fork(f *File, child *Process) (*File, error) {
	nf, err := d.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	nf.ops = &procPeerDir{q: d.q, dir: d.dir, pos: d.pos, names: d.names}
	return nf, nil
}

func (d *procPeerDir) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	w := direntWriter{n: n, long: long, pos: &d.pos}
	done := func() (uint64, error) { return uint64(len(w.out)), t.p.mm.CopyOut(addr, w.out) }
	if d.pos < 0 {
		return done()
	}
	for pos := int(d.pos); pos < 2; pos++ {
		if ok, err := w.emit(pos, ".."[:pos+1], unix.DT_DIR); err != nil || !ok {
			return uint64(len(w.out)), firstErr(err, t.p.mm.CopyOut(addr, w.out))
		}
	}
	switch base := path.Base(d.dir); base {
	case "fd", "fdinfo":
		typ := byte(unix.DT_LNK)
		if base == "fdinfo" {
			typ = unix.DT_REG
		}
		// Position fd+2, as the guest's own: descriptors closed meanwhile are no gap.
		for {
			fds := d.q.openFds(int(d.pos)-2, 64)
			if len(fds) == 0 {
				return done()
			}
			for _, fd := range fds {
				if ok, err := w.emit(fd+2, strconv.Itoa(fd), typ); err != nil {
					return 0, err
				} else if !ok {
					return done()
				}
			}
		}
	case "attr", "map_files":
		names, typ := procAttrNames, byte(unix.DT_REG)
		if base == "map_files" {
			names, typ = d.names, unix.DT_LNK
		}
		for i := int(d.pos) - 2; i >= 0 && i < len(names); i++ {
			if ok, err := w.emit(i+2, names[i], typ); err != nil {
				return 0, err
			} else if !ok {
				break
			}
		}
		return done()
	case "ns":
		// The namespaces every guest process lives in: vemu's.
		ents, _ := os.ReadDir("/proc/self/ns")
		for i := int(d.pos) - 2; i >= 0 && i < len(ents); i++ {
			if ok, err := w.emit(i+2, ents[i].Name(), unix.DT_LNK); err != nil {
				return 0, err
			} else if !ok {
				break
			}
		}
		return done()
	case "task":
		// Position tid+2: threads that end meanwhile are no gap either.
		for _, tid := range t.p.k.threadsOf(d.q) {
			if tid+2 < int(d.pos) {
				continue
			}
			if ok, err := w.emit(tid+2, strconv.Itoa(tid), unix.DT_DIR); err != nil {
				return 0, err
			} else if !ok {
				break
			}
		}
		return done()
	}
	thread := strings.Contains(d.dir, "/")
	for i := int(d.pos) - 2; i >= 0 && i < len(peerDirNames); i++ {
		e := peerDirNames[i]
		if thread && processOnly(e.name) || !thread && threadOnly(e.name) {
			continue
		}
		if ok, err := w.emit(i+2, e.name, e.typ); err != nil {
			return 0, err
		} else if !ok {
			break
		}
	}
	return done()
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// seekListing moves a listing's position (rewinddir, telldir and seekdir).
func seekListing(pos *int64, off int64, whence int32) (uint64, error) {
	switch whence {
	case 0: // SEEK_SET
		if off < 0 {
			return 0, unix.EINVAL
		}
		*pos = off
	case 1: // SEEK_CUR
		if *pos+off < 0 {
			return 0, unix.EINVAL
		}
		*pos += off
	default:
		return 0, unix.EINVAL
	}
	return uint64(*pos), nil
}

// threadsOf lists q's live thread ids in order, its pid first.
func (k *Kernel) threadsOf(q *Process) []int {
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if q.zombie {
		return nil
	}
	tids := []int{q.pid}
	for tid := range q.otherTids {
		if tid != q.pid {
			tids = append(tids, tid)
		}
	}
	slices.Sort(tids)
	return tids
}

// procRootDir is the host's /proc opened by the guest: its listing has the host's
// entries that are not processes, then the guest's processes (zombies too), by pid.
type procRootDir struct {
	hostFile
	names []string // the host's entries other than processes, read when a listing starts
	types []byte
	pids  []int // the guest's processes when the listing reached them
	pos   int64
}

func (d *procRootDir) seek(f *File, off int64, whence int32) (uint64, error) {
	return seekListing(&d.pos, off, whence)
}

func (d *procRootDir) fork(f *File, child *Process) (*File, error) {
	nf, err := d.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	nf.ops = &procRootDir{names: d.names, types: d.types, pids: d.pids, pos: d.pos}
	return nf, nil
}

// hostNames reads the host's entries of the /proc that fd is open on, other than
// processes and "." and "..".
func hostNames(fd int) ([]string, []byte, error) {
	h, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	defer unix.Close(h)
	var names []string
	var types []byte
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(h, buf)
		if err != nil {
			return nil, nil, err
		}
		if n <= 0 {
			return names, types, nil
		}
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 19 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			if i := slices.Index(name, 0); i >= 0 {
				name = name[:i]
			}
			s := string(name)
			if _, err := strconv.Atoi(s); err != nil && s != "." && s != ".." {
				names = append(names, s)
				types = append(types, b[18])
			}
			b = b[reclen:]
		}
	}
}

func (d *procRootDir) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	w := direntWriter{n: n, long: long, pos: &d.pos}
	done := func() (uint64, error) { return uint64(len(w.out)), t.p.mm.CopyOut(addr, w.out) }
	if d.pos < 0 {
		return done()
	}
	if d.pos == 0 || d.names == nil {
		names, types, err := hostNames(f.fd)
		if err != nil {
			return 0, err
		}
		d.names, d.types, d.pids = names, types, nil
	}
	for pos := int(d.pos); pos < 2; pos++ {
		if ok, err := w.emit(pos, ".."[:pos+1], unix.DT_DIR); err != nil || !ok {
			return uint64(len(w.out)), firstErr(err, t.p.mm.CopyOut(addr, w.out))
		}
	}
	for i := int(d.pos) - 2; i >= 0 && i < len(d.names); i++ {
		if ok, err := w.emit(i+2, d.names[i], d.types[i]); err != nil {
			return 0, err
		} else if !ok {
			return done()
		}
	}
	// Processes at position base+pid: a process that ends meanwhile is no gap.
	base := 2 + len(d.names)
	if d.pids == nil {
		d.pids = t.p.k.guestPids()
	}
	from, _ := slices.BinarySearch(d.pids, int(d.pos)-base)
	for _, pid := range d.pids[from:] {
		if ok, err := w.emit(base+pid, strconv.Itoa(pid), unix.DT_DIR); err != nil {
			return 0, err
		} else if !ok {
			break
		}
	}
	return done()
}

// guestPids lists the guest's processes, zombies too, by pid.
func (k *Kernel) guestPids() []int {
	k.pt.mu.Lock()
	pids := make([]int, 0, len(k.pt.procs))
	for pid := range k.pt.procs {
		pids = append(pids, pid)
	}
	k.pt.mu.Unlock()
	slices.Sort(pids)
	return pids
}

// mayBeProcRoot says whether an open of p with flags may have reached the host's /proc
// itself, for the check of isHostProcRoot, which an open of a plain file need not pay:
// opendir's O_DIRECTORY, a name with "proc" in it, or one that ends in "." or "..".
func mayBeProcRoot(p string, flags uint32) bool {
	return flags&abi.O_DIRECTORY != 0 || strings.Contains(p, "proc") || strings.HasSuffix(p, ".")
}

// isHostProcRoot says whether the host descriptor fd is open on the host's /proc itself.
func isHostProcRoot(fd int) bool {
	dev, ok := procDev()
	if !ok {
		return false
	}
	var st unix.Stat_t
	// procfs's root has inode 1 (PROC_ROOT_INO).
	return unix.Fstat(fd, &st) == nil && st.Dev == dev && st.Ino == 1 && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// peerRelative makes p, relative to dirfd, absolute when dirfd is a directory of another
// process's /proc (procPeerDir): the host directory behind it is a stand-in.
func (t *Task) peerRelative(dirfd int32, p string) string {
	if dirfd < 0 || path.IsAbs(p) {
		return p
	}
	if f, err := t.p.files.get(dirfd); err == nil {
		if d, ok := f.ops.(*procPeerDir); ok {
			return "/proc/" + d.dir + "/" + p
		}
	}
	return p
}

// peerFileAt renders another guest process's /proc file p: those of procother.go, and
// environ and fdinfo/N.
func (t *Task) peerFileAt(p string) ([]byte, bool, error) {
	if e, ok := t.peerEntry(p); ok {
		if b, ok, err := t.peerFile(e); ok {
			return b, ok, err
		}
	}
	return t.otherProcFile(p)
}

func (q *Process) isZombie() bool {
	q.k.pt.mu.Lock()
	defer q.k.pt.mu.Unlock()
	return q.zombie
}

// procDirStat corrects the stat of a directory of a guest process's /proc (its own or
// another's), which a stand-in answered (see procAlias): as Linux's, it belongs to the
// process's effective ids (root's once it is not dumpable), with procfs's modes.
func (t *Task) procDirStat(dirfd int32, p string, st *unix.Stat_t) {
	if mode, uid, gid, ok := t.procDirOwner(dirfd, p); ok {
		st.Mode, st.Uid, st.Gid = mode, uid, gid
	}
}

// selfLink says whether p, not followed, is /proc/self or /proc/thread-self: symbolic
// links, as the host's of the same names (whose targets are vemu's, never read here).
func selfLink(p string) bool {
	c := path.Clean(p)
	return c == "/proc/self" || c == "/proc/thread-self"
}

// procDirOwner is the mode and owner of p when it is a directory of a guest process's
// /proc (see procDirStat).
func (t *Task) procDirOwner(dirfd int32, p string) (mode, uid, gid uint32, ok bool) {
	p = t.peerRelative(dirfd, p)
	if !path.IsAbs(p) {
		return 0, 0, 0, false
	}
	var q *Process
	var name string
	if e, ok := t.peerEntry(p); ok && e.isDir() {
		q, name = e.q, e.name
	} else if dir, ok := t.procDirOf(devFd(p)); ok {
		q, name = t.p, path.Base(dir)
		if name == "self" || strings.HasPrefix(dir, "self/task/") && strings.Count(dir, "/") == 2 {
			name = ""
		}
	} else {
		return 0, 0, 0, false
	}
	mode = 0o555
	switch name {
	case "fd", "map_files":
		mode = 0o500
	case "ns":
		mode = 0o511
	}
	k := t.p.k
	k.pt.mu.Lock()
	uid, gid = q.creds.euid, q.creds.egid
	k.pt.mu.Unlock()
	// As Linux's task_dump_owner(): the world-readable ones show the effective ids
	// whatever; the others a process that is not dumpable gives to root.
	if mode != 0o555 && q.notDumpablePub.Load() {
		uid, gid = 0, 0
	}
	return unix.S_IFDIR | mode, uid, gid, true
}

// setNotDumpable sets whether p may dump core and its /proc be read as its owner's.
func (p *Process) setNotDumpable(v bool) {
	p.notDumpable = v
	p.notDumpablePub.Store(v)
}

// threadCountLocked is the number of q's live threads (1 for a zombie, its leader's).
// Under pt.mu.
func (k *Kernel) threadCountLocked(q *Process) int {
	if q.zombie {
		return 1
	}
	return 1 + len(q.otherTids)
}
