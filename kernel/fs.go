package kernel

import (
	"fmt"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// The guest's view of files goes through one resolver: lookup (and openPath for open). It
// turns a guest path and dirfd into a host (dirfd, path) that host *at calls take. Without
// a root the host's files are the guest's, seen from the guest's working directory, with
// the guest's own /proc/self entries; with Config.Prefix (qemu's -L) an absolute path
// that exists under the prefix is taken there first. With Config.Root the guest's / is the
// root directory: every lookup is made by openat2 with RESOLVE_IN_ROOT from the root's
// descriptor, so ".." stops at the root and symbolic links, absolute or climbing, resolve
// inside it, whatever the guest renames or swaps meanwhile. A lookup that follows its
// last component yields the file itself, held open and named by its /proc/self/fd magic
// link (which a host call follows without looking the path up again); one that does not
// yields the directory holding the last component, held open, and the component's name,
// which a host call without a follow flag never follows.

// fsRoot is the directory the guest sees as /.
type fsRoot struct {
	fd   int    // O_PATH descriptor of the directory
	host string // its canonical host path
}

// openRoot opens dir as the guest's root.
func openRoot(dir string) (*fsRoot, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, err)
	}
	fd, err := unix.Open(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, err)
	}
	return &fsRoot{fd: fd, host: abs}, nil
}

// openRoot opens Config.Root, once.
func (k *Kernel) openRoot() error {
	if k.cfg.Root == "" || k.root != nil {
		return nil
	}
	r, err := openRoot(k.cfg.Root)
	if err != nil {
		return err
	}
	k.root = r
	return nil
}

// LookPath finds a program name in the directories of pathEnv (a PATH value) as a
// shell would, inside the root when there is one, and returns its path as the guest
// sees it.
func (k *Kernel) LookPath(name, pathEnv string) (string, error) {
	if err := k.openRoot(); err != nil {
		return "", err
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		h, err := k.firstLookup(p)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		ok := unix.Stat(h.full(), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && unix.Access(h.full(), unix.X_OK) == nil
		h.close()
		if ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: command not found", name)
}

// inRoot is the resolution every lookup inside the root uses.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// open opens the guest path gp (absolute, inside the root) with the host's openat2.
func (r *fsRoot) open(gp string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags) | unix.O_CLOEXEC, Resolve: inRoot}
	if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = uint64(mode)
	}
	for try := 0; ; try++ {
		fd, err := unix.Openat2(r.fd, gp, &how)
		if (err == unix.EAGAIN || err == unix.EINTR) && try < 1000 {
			// A rename elsewhere raced the lookup; openat2 asks to try again. A guest
			// renaming without pause gets the EAGAIN after a while, not a hung thread.
			continue
		}
		return fd, err
	}
}

// guest shows a host path as the guest sees it: inside the root, the path from the
// root; a path outside it as the host names it (as Linux's /proc shows a file outside a
// chroot), and ok false.
func (r *fsRoot) guest(host string) (string, bool) {
	if r == nil {
		return host, true
	}
	if host == r.host {
		return "/", true
	}
	if r.host == "/" {
		return host, strings.HasPrefix(host, "/")
	}
	if strings.HasPrefix(host, r.host+"/") {
		return host[len(r.host):], true
	}
	return host, false
}

// guestPath shows a host path (of a file vemu opened for the guest) as the guest sees it.
func (k *Kernel) guestPath(host string) string {
	g, _ := k.root.guest(host)
	return g
}

// hostPath is a resolved path: what a host *at call takes, and a descriptor the lookup
// opened that close releases.
type hostPath struct {
	dir  int    // host directory descriptor, or AT_FDCWD
	name string // path relative to dir, or absolute
	own  int    // descriptor to close, or -1
	// guest says name is the guest's own path, given to the host as it is (no root, no
	// entry of the guest's /proc it stands for): its links may lead into the host's /proc.
	guest bool
}

func (h hostPath) close() {
	if h.own >= 0 {
		unix.Close(h.own)
	}
}

// full names the resolved file with one string, for host calls that take no dirfd.
func (h hostPath) full() string {
	if h.dir == unix.AT_FDCWD || path.IsAbs(h.name) {
		return h.name
	}
	return "/proc/self/fd/" + strconv.Itoa(h.dir) + "/" + h.name
}

// magic names the open host descriptor fd by its /proc/self/fd link.
func magic(fd int) hostPath {
	return hostPath{dir: unix.AT_FDCWD, name: "/proc/self/fd/" + strconv.Itoa(fd), own: fd}
}

// lookup resolves the guest path p against dirfd (AT_FDCWD: the working directory).
// With follow, a symbolic link in the last component is followed, as by stat; without,
// it is not, as by lstat, unlink or rename. The caller closes the result.
func (t *Task) lookup(dirfd int32, p string, follow bool) (hostPath, error) {
	k := t.p.k
	p, h, err := t.procAlias(dirfd, p)
	if h != nil || err != nil {
		return *h, err
	}
	if k.root == nil {
		if path.IsAbs(p) {
			if pre := k.cfg.Prefix; pre != "" {
				var st unix.Stat_t
				if unix.Lstat(pre+p, &st) == nil {
					return hostPath{dir: unix.AT_FDCWD, name: pre + p, own: -1, guest: true}, nil
				}
			}
			return hostPath{dir: unix.AT_FDCWD, name: p, own: -1, guest: true}, nil
		}
		if dirfd == abi.AT_FDCWD {
			return hostPath{dir: t.p.fs.cwdFd, name: p, own: -1, guest: true}, nil
		}
		f, err := t.p.files.get(dirfd)
		if err != nil {
			return hostPath{}, err
		}
		return hostPath{dir: f.fd, name: p, own: -1, guest: true}, nil
	}
	gp, err := t.guestAbs(dirfd, p)
	if err != nil {
		return hostPath{}, err
	}
	return t.lookupRoot(gp, follow)
}

// procAlias turns the guest's own /proc/self entries (and the /dev links into them) into
// what they stand for: the file behind a descriptor or the working directory, held open
// (h), or, inside a root, the path of the program or of the root.
func (t *Task) procAlias(dirfd int32, p string) (string, *hostPath, error) {
	return t.procAliasDepth(dirfd, p, 0)
}

// procAliasDepth is procAlias for a path reached through depth links of /proc already
// (proclink.go).
func (t *Task) procAliasDepth(dirfd int32, p string, depth int) (string, *hostPath, error) {
	k := t.p.k
	p = devFd(p)
	if dirfd != abi.AT_FDCWD && !path.IsAbs(p) {
		// Relative to a directory of the guest's /proc: its own entries.
		if f, err := t.p.files.get(dirfd); err == nil {
			if d, ok := f.ops.(*procFdDir); ok {
				p = "/proc/" + d.dir + "/" + p
			}
		}
	}
	p = t.peerRelative(dirfd, p)
	p = t.procRelative(dirfd, p)
	if np, h, err, ok := t.throughProcLink(p, depth); ok {
		return np, h, err
	}
	if ns, ok := t.otherProcNs(p); ok && k.root == nil {
		// Every guest process lives in vemu's namespaces.
		return p, &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/ns/" + ns, own: -1}, nil
	}
	if e, ok := t.peerEntry(p); ok && path.IsAbs(p) {
		if below, ok := strings.CutPrefix(e.name, "root/"); ok {
			// A path through another process's root: every guest process has the same
			// root, so this is the path from the guest's /, looked at again.
			if !t.mayRead(e.q) {
				return p, &hostPath{own: -1}, unix.EACCES
			}
			if e.q.isZombie() {
				return p, &hostPath{own: -1}, unix.ENOENT
			}
			return t.procAliasDepth(abi.AT_FDCWD, "/"+below, depth+1)
		}
		if h, err := t.peerAlias(e); h != nil || err != nil {
			return p, h, err
		}
	}
	name, ok := t.procEntry(p)
	if !ok {
		if k.root == nil && path.IsAbs(p) && (vemuProcPath(p) || t.otherGuestProcPath(p)) {
			// vemu's own /proc entries (procguard.go), or a host process's that has the
			// pid of another guest process: nothing of the guest.
			return p, &hostPath{own: -1}, unix.ENOENT
		}
		return p, nil, nil
	}
	switch {
	case t.isProcDir(p):
		// The directory itself: its listing is the guest's (procFdDir), and the host
		// directory behind it is one that leads nowhere of vemu's (inside a root, the root).
		if k.root != nil {
			return p, &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/fd/" + strconv.Itoa(k.root.fd), own: -1}, nil
		}
		return p, &hostPath{dir: unix.AT_FDCWD, name: "/", own: -1}, nil
	case name == "exe":
		if k.root == nil {
			return p, &hostPath{dir: unix.AT_FDCWD, name: t.p.exe, own: -1}, nil
		}
		return k.guestPath(t.p.exe), nil, nil
	case name == "cwd":
		// The directory itself, not its path: as Linux's link, it needs no search
		// permission on the directories above it.
		fd, err := unix.Openat(t.p.fs.cwdFd, ".", unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return p, &hostPath{own: -1}, err
		}
		h := magic(fd)
		return p, &h, nil
	case strings.HasPrefix(name, "fd/"):
		n, err := strconv.Atoi(name[3:])
		if err != nil {
			return p, &hostPath{own: -1}, unix.ENOENT
		}
		f, err := t.p.files.get(int32(n))
		if err != nil {
			return p, &hostPath{own: -1}, unix.ENOENT
		}
		return p, &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/fd/" + strconv.Itoa(f.fd), own: -1}, nil
	case k.root != nil && (name == "root" || strings.HasPrefix(name, "root/")):
		// The guest's root is its /.
		return "/" + strings.TrimPrefix(name, "root"), nil, nil
	case k.root == nil && namespaceWide(name) || k.root == nil && (name == "root" || name == "ns" || strings.HasPrefix(name, "ns/")):
		// The namespaces every guest process lives in are vemu's, and so is its root.
		return p, &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/" + name, own: -1}, nil
	case strings.HasPrefix(name, "map_files/"):
		// Followed, the mapped file, as Linux's map_files_get_link() for a caller with
		// CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); lstat is ownProcLink's.
		m, ok := t.p.mapFile(name[len("map_files/"):])
		switch {
		case !ok:
			return p, &hostPath{own: -1}, unix.ENOENT
		case !t.p.creds.capable(capSysAdmin) && !t.p.creds.capable(capCheckpointRestore):
			return p, &hostPath{own: -1}, unix.EPERM
		case strings.HasSuffix(m.Name, " (deleted)"):
			return p, &hostPath{own: -1}, unix.ENOENT // vemu keeps no way to the file
		}
		return t.procAliasDepth(abi.AT_FDCWD, m.Name, depth+1)
	case strings.HasPrefix(name, "fdinfo/"):
		n, ok := procFdNumber(name[len("fdinfo/"):])
		f, err := t.p.files.get(int32(n))
		if !ok || err != nil {
			return p, &hostPath{own: -1}, unix.ENOENT
		}
		return p, &hostPath{dir: unix.AT_FDCWD, name: "/proc/self/fdinfo/" + strconv.Itoa(f.fd), own: -1}, nil
	}
	// Only the entries vemu makes for the guest exist: vemu's own /proc has links out
	// of a root (task/N/root, map_files...) and files that describe vemu. Their host
	// counterparts answer stat (procStandIn); their contents are the guest's (procFile).
	if s, ok := t.procStandIn(name); ok {
		return p, &hostPath{dir: unix.AT_FDCWD, name: s, own: -1}, nil
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && parts[0] == "exe" {
		return p, &hostPath{own: -1}, unix.ENOTDIR // the program is a file
	}
	for i := 1; i < len(parts); i++ {
		// A path below one of the files: ENOTDIR, as Linux's walk answers.
		var st unix.Stat_t
		if s, ok := t.procStandIn(strings.Join(parts[:i], "/")); ok && unix.Stat(s, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return p, &hostPath{own: -1}, unix.ENOTDIR
		}
	}
	return p, &hostPath{own: -1}, unix.ENOENT
}

// guestAbs makes p absolute in the guest's view: relative to the guest path of dirfd.
func (t *Task) guestAbs(dirfd int32, p string) (string, error) {
	if path.IsAbs(p) {
		return p, nil
	}
	hfd := t.p.fs.cwdFd
	if dirfd != abi.AT_FDCWD {
		f, err := t.p.files.get(dirfd)
		if err != nil {
			return "", err
		}
		hfd = f.fd
	}
	dir, ok := t.p.k.root.guest(hostFdPath(hfd))
	if !ok || strings.HasSuffix(dir, " (deleted)") {
		// A directory outside the root, or gone: nothing in the root is relative to it.
		return "", unix.ENOENT
	}
	return strings.TrimSuffix(dir, "/") + "/" + p, nil
}

// lookupRoot resolves the absolute guest path gp inside the root.
func (t *Task) lookupRoot(gp string, follow bool) (hostPath, error) {
	r := t.p.k.root
	if follow {
		fd, err := r.open(gp, unix.O_PATH, 0)
		if err != nil {
			return hostPath{}, err
		}
		return magic(fd), nil
	}
	trimmed := strings.TrimRight(gp, "/")
	dir, last := "/", trimmed
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		dir, last = trimmed[:i+1], trimmed[i+1:]
	}
	if last == "" || last == "." || last == ".." {
		fd, err := r.open(gp, unix.O_PATH, 0)
		if err != nil {
			return hostPath{}, err
		}
		return hostPath{dir: fd, name: ".", own: fd}, nil
	}
	fd, err := r.open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return hostPath{}, err
	}
	if len(trimmed) < len(gp) {
		// A trailing slash follows a symbolic link, as on Linux.
		var st unix.Stat_t
		if unix.Fstatat(fd, last, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(fd)
			return t.lookupRoot(gp, true)
		}
	}
	return hostPath{dir: fd, name: last, own: fd}, nil
}

// firstLookup resolves the first program's path, and its interpreter's, before any
// process exists: inside the root from the working directory the guest will start in,
// or on the host (with Config.Prefix) from vemu's.
func (k *Kernel) firstLookup(p string) (hostPath, error) {
	if k.root == nil {
		if pre := k.cfg.Prefix; pre != "" && path.IsAbs(p) {
			var st unix.Stat_t
			if unix.Lstat(pre+p, &st) == nil {
				return hostPath{dir: unix.AT_FDCWD, name: pre + p, own: -1}, nil
			}
		}
		if k.cfg.Dir != "" && !path.IsAbs(p) {
			p = filepath.Join(k.cfg.Dir, p)
		}
		return hostPath{dir: unix.AT_FDCWD, name: p, own: -1}, nil
	}
	if !path.IsAbs(p) {
		c, err := newFSContext(k.cfg.Dir, k.root)
		if err != nil {
			return hostPath{}, err
		}
		p = strings.TrimSuffix(c.guestDir(), "/") + "/" + p
		c.close()
	}
	fd, err := k.root.open(p, unix.O_PATH, 0)
	if err != nil {
		return hostPath{}, err
	}
	return magic(fd), nil
}

// openPath opens the guest path p against dirfd with host open flags, inside the root
// when there is one. vemu's own /proc entries are ENOENT, however the path reached them.
func (t *Task) openPath(dirfd int32, p string, flags int, mode uint32) (int, error) {
	q, h, err := t.procAlias(dirfd, p)
	if err != nil {
		return -1, err
	}
	if h == nil && t.p.k.root != nil {
		gp, err := t.guestAbs(dirfd, q)
		if err != nil {
			return -1, err
		}
		fd, err := t.p.k.root.open(gp, flags, mode)
		if err != nil {
			return -1, err
		}
		return guardProcFd(fd)
	}
	if h == nil {
		hp, err := t.lookup(dirfd, q, true)
		if err != nil {
			return -1, err
		}
		defer hp.close()
		// The guest's own path, given to the host: it must not follow the host's magic
		// links of /proc, which are vemu's (a link of the guest's to /proc/self/fd/3 is
		// the guest's descriptor 3, not vemu's). When it would, the path is walked link
		// by link to the place in /proc it reaches, for the guest's /proc to answer.
		// A path that names /proc itself was looked at by procAlias already: what it
		// leaves for the host (the namespace's files, /proc/self/root) may be a link.
		how := unix.OpenHow{Flags: uint64(flags) | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_MAGICLINKS}
		if path.IsAbs(q) && inProc(q) {
			how.Resolve = 0
		}
		if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
			how.Mode = uint64(mode)
		}
		fd, err := unix.Openat2(hp.dir, hp.name, &how)
		if err == unix.ELOOP && hp.guest {
			if gp, ok := linksIntoProc(hp, flags&unix.O_NOFOLLOW == 0); ok {
				return -1, throughProc(gp)
			}
		}
		if err != nil || !hp.guest {
			return fd, err
		}
		// One look at what was opened: on the host's /proc under another name, the
		// guest's /proc answers; under its own name, vemu's entries stay out of reach.
		p, onProc, known := procFdPath(fd)
		if onProc {
			if gp := guestProcPath(p); gp != cleanAbs(q) {
				unix.Close(fd)
				return -1, throughProc(gp)
			}
		}
		if !known || onProc && vemuProcHostPath(p) {
			unix.Close(fd)
			return -1, unix.ENOENT
		}
		return fd, nil
	}
	defer h.close()
	fd, err := unix.Openat(h.dir, h.name, flags|unix.O_CLOEXEC, mode)
	if err != nil {
		return -1, err
	}
	return guardProcFd(fd)
}

// throughProc is openPath's answer for a path whose links lead into /proc: the path in
// /proc they reach, to be opened as the guest's.
type throughProc string

func (p throughProc) Error() string { return "through /proc: " + string(p) }

// inProc reports whether the absolute path p names /proc or something in it.
func inProc(p string) bool {
	c := cleanAbs(p)
	return c == "/proc" || strings.HasPrefix(c, "/proc/")
}

// linksIntoProc walks the host path h component by component, following symbolic links
// itself (the last one when follow), and reports the path it reaches once it enters
// /proc, with the components not walked yet; false when it never does.
func linksIntoProc(h hostPath, follow bool) (string, bool) {
	cur := "/"
	if !path.IsAbs(h.name) {
		if h.dir == unix.AT_FDCWD {
			return "", false
		}
		if cur = hostFdPath(h.dir); !path.IsAbs(cur) {
			return "", false
		}
	}
	rest := strings.Split(h.name, "/")
	links := 0
	buf := make([]byte, unix.PathMax)
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		if inProc(next) {
			return path.Join(append([]string{next}, rest...)...), true
		}
		if len(rest) == 0 && !follow {
			return "", false
		}
		n, err := unix.Readlink(next, buf)
		if err != nil {
			if err == unix.EINVAL {
				cur = next // not a link
				continue
			}
			return "", false
		}
		if links++; links > maxProcLinks {
			return "", false
		}
		target := string(buf[:n])
		if path.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return "", false
}

// fsContext is the process's view of the file system: its working directory, held open.
// Its path is never remembered: it is asked of the host each time (dir, getcwd), so that
// renames of the directory or of its parents show, as Linux's d_path shows them.
type fsContext struct {
	cwdFd int
	// mu guards cwdFd's changes for readers in other processes' goroutines (dupDir); the
	// owner itself reads without it.
	mu    sync.Mutex
	root  *fsRoot       // the kernel's, or nil
	umask atomic.Uint32 // the permission bits that files made by the guest lose (umask(2))
}

// newFSContext starts in dir, or in vemu's own working directory when dir is "". Inside
// a root, a directory outside it starts at the root instead, as chroot(1) does.
func newFSContext(dir string, root *fsRoot) (*fsContext, error) {
	open := dir
	if open == "" {
		open = "."
	}
	fd, err := unix.Open(open, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open working directory: %w", err)
	}
	if root != nil {
		g, ok := root.guest(hostFdPath(fd))
		unix.Close(fd)
		if !ok {
			g = "/"
		}
		if fd, err = root.open(g, unix.O_PATH|unix.O_DIRECTORY, 0); err != nil {
			return nil, fmt.Errorf("open working directory: %w", err)
		}
	}
	c := &fsContext{cwdFd: fd, root: root}
	c.umask.Store(vemuUmask)
	return c, nil
}

// close releases the working directory; a second close does nothing.
func (c *fsContext) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cwdFd >= 0 {
		unix.Close(c.cwdFd)
		c.cwdFd = -1
	}
}

// chdirFd makes the open directory fd (which it takes) the working directory.
func (c *fsContext) chdirFd(fd int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	unix.Close(c.cwdFd)
	c.cwdFd = fd
}

// dupDir gives a duplicate of the working directory's descriptor, for a reader in
// another process's goroutine; the caller closes it.
func (c *fsContext) dupDir() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cwdFd < 0 {
		return -1, unix.ENOENT
	}
	return unix.FcntlInt(uintptr(c.cwdFd), unix.F_DUPFD_CLOEXEC, 0)
}

// dir is the working directory's host path now, as /proc/PID/cwd shows it (with
// " (deleted)" once it is removed).
func (c *fsContext) dir() string { return hostFdPath(c.cwdFd) }

// guestDir is the working directory's path as the guest sees it.
func (c *fsContext) guestDir() string { return c.root.guestOr(c.dir()) }

// getcwd is the working directory's path as getcwd(2) gives it: the host's d_path of the
// directory held open (inside the root, the path from the root), ENOENT once the
// directory is removed, ENAMETOOLONG when the path does not fit a page.
func (c *fsContext) getcwd() (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(c.cwdFd, &st); err != nil {
		return "", err
	}
	if st.Nlink == 0 {
		return "", unix.ENOENT
	}
	buf := make([]byte, pathMax)
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(c.cwdFd), buf)
	if err != nil {
		return "", err // ENAMETOOLONG: the host's d_path did not fit its page
	}
	if n >= len(buf) {
		return "", unix.ENAMETOOLONG
	}
	return c.root.guestOr(string(buf[:n])), nil
}

// guestOr shows a host path inside the root as the guest sees it, and one outside it
// (where only the host can have put a directory) as Linux's getcwd does.
func (r *fsRoot) guestOr(host string) string {
	if r == nil {
		return host
	}
	g, ok := r.guest(host)
	if !ok {
		return "(unreachable)" + host
	}
	return g
}

// hostFdPath names what a host fd refers to, as the host's /proc does.
func hostFdPath(fd int) string {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(fd), buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

func (c *fsContext) fork() *fsContext {
	fd, err := unix.FcntlInt(uintptr(c.cwdFd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		fd, _ = unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	n := &fsContext{cwdFd: fd, root: c.root}
	n.umask.Store(c.umask.Load())
	return n
}

// Host calls act with the guest's credentials and umask. Linux keeps credentials per thread, and a
// process's handlers all run on its run loop's OS thread (locked to it), so that thread's
// filesystem uid and gid, supplementary groups and effective capabilities are set to the
// guest's before a call runs (actAs, from the SYSCALL entry): the host kernel then checks
// every path, mode, owner, sticky directory and capability as it would for the guest, and
// creates files with the guest's ids. The ids are set with raw system calls, which change
// only the calling thread; the Go runtime never starts threads from a locked one. A call
// that waits off the run loop runs on a thread of its own set the same way (runAs). When
// vemu is not privileged the guest cannot take ids other than vemu's, and nothing changes.
//
// The umask is kept the same way: Linux keeps it with the working directory (shared by
// CLONE_FS, copied by fork and unshare), and the host applies the calling thread's. A
// thread that is to act with a umask other than vemu's first takes a host fs_struct of its
// own (unshare(CLONE_FS), which changes only it), so the host gives each file, directory,
// FIFO and socket the guest creates the guest's umask, and neither vemu's nor another
// guest process's umask changes. Such a thread never goes back to the Go runtime: it ends
// with its goroutine, so that no other Go code runs with its own copy of the host's
// working directory. Calls that wait off the run loop create nothing and keep vemu's.

// fileCreds are the credentials the host checks file access with.
type fileCreds struct {
	fsuid, fsgid uint32
	groups       []uint32
	eff          uint64 // effective capabilities
	umask        uint32
}

// equal compares two sets of credentials. A process's group list is replaced by
// setgroups, never changed in place, so the same list is recognised without reading it.
func (a *fileCreds) equal(b *fileCreds) bool {
	if a.fsuid != b.fsuid || a.fsgid != b.fsgid || a.eff != b.eff || a.umask != b.umask || len(a.groups) != len(b.groups) {
		return false
	}
	return len(a.groups) == 0 || &a.groups[0] == &b.groups[0] || slices.Equal(a.groups, b.groups)
}

// file are the credentials c's file accesses use.
func (c *creds) file() fileCreds {
	return fileCreds{fsuid: c.fsuid, fsgid: c.fsgid, groups: c.groups, eff: c.caps.eff}
}

// access are the credentials access(2) checks with, as Linux's access_override_creds():
// the real ids, and uid 0's permitted capabilities or none for another uid.
func (c *creds) access() fileCreds {
	fc := fileCreds{fsuid: c.ruid, fsgid: c.rgid, groups: c.groups, eff: c.caps.eff}
	if c.caps.secure&secNoSetuidFixup == 0 {
		fc.eff = 0
		if c.ruid == 0 {
			fc.eff = c.caps.prm
		}
	}
	return fc
}

// fileCreds are the credentials and umask p's calls act with now: those of the thread
// the process acts for.
func (p *Process) fileCreds() fileCreds {
	fc := p.creds.file()
	fc.umask = p.umask()
	return fc
}

// accessCreds are those access(2) checks with.
func (p *Process) accessCreds() fileCreds {
	fc := p.creds.access()
	fc.umask = p.umask()
	return fc
}

// umask is the umask of the thread p acts for.
func (p *Process) umask() uint32 { return p.fs.mask() }

// mask is c's umask; vemu's for a process without a working directory any more.
func (c *fsContext) mask() uint32 {
	if c == nil {
		return vemuUmask
	}
	return c.umask.Load()
}

// hostFileCreds are vemu's own, which every thread starts with.
var hostFileCreds = sync.OnceValue(func() fileCreds {
	c := hostCreds()
	fc := c.file()
	fc.umask = vemuUmask
	return fc
})

// vemuUmask is the umask vemu started with, which its first guest process inherits. It is
// read before any thread can have changed its own.
var vemuUmask = readUmask()

// readUmask reads the calling thread's umask without changing it, even for a moment.
func readUmask() uint32 {
	if v, ok := statusField("/proc/thread-self/status", "Umask"); ok {
		if n, err := strconv.ParseUint(v, 8, 32); err == nil {
			return uint32(n) & 0o777
		}
	}
	// No /proc: ask, and put it back at once.
	m := unix.Umask(0o022)
	unix.Umask(m)
	return uint32(m) & 0o777
}

// actAs makes the run loop's thread act with fc for the host calls that follow. What
// could not be set stays as the host had it (the guest of an unprivileged vemu has no
// other ids to take), and is not tried again at each call.
func (p *Process) actAs(fc fileCreds) error {
	if p.onThread.equal(&fc) {
		return nil
	}
	if fc.umask != p.onThread.umask {
		p.ownFS = true
	}
	err := setThreadCreds(&p.onThread, &fc)
	p.onThread = fc
	return err
}

// runAs runs op on a thread acting with fc; op runs where it is called when fc are vemu's.
func runAs(fc fileCreds, op func() (uint64, error)) (uint64, error) {
	host := hostFileCreds()
	// No call that waits off the run loop creates a file (a FIFO's open waits only when it
	// exists): the thread keeps vemu's umask, and so can go back to the runtime.
	fc.umask = host.umask
	if fc.equal(&host) {
		return op()
	}
	runtime.LockOSThread()
	if err := setThreadCreds(&host, &fc); err != nil {
		setThreadCreds(&fc, &host)
		return 0, unix.EPERM // the thread ends with this goroutine, whatever it holds
	}
	r, err := op()
	if setThreadCreds(&fc, &host) == nil {
		runtime.UnlockOSThread()
	}
	return r, err
}

// setThreadCreds changes the calling thread's credentials from cur to fc: the effective
// capabilities are first raised to vemu's permitted ones, which setting ids needs.
func setThreadCreds(cur, fc *fileCreds) error {
	hc, _ := hostCapsOnce()
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	keep(capsetThread(hc.prm, hc))
	if !slices.Equal(cur.groups, fc.groups) {
		gs := fc.groups
		var p unsafe.Pointer
		if len(gs) > 0 {
			p = unsafe.Pointer(&gs[0])
		}
		// SAFETY: gs is a live []uint32 of len(gs) gid_t values for the call's length.
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gs)), uintptr(p), 0); e != 0 {
			keep(e)
		}
	}
	// setfsuid and setfsgid answer the old id whether or not they changed it; asking
	// with -1 tells which.
	unix.RawSyscall(unix.SYS_SETFSGID, uintptr(fc.fsgid), 0, 0)
	if g, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ^uintptr(0), 0, 0); uint32(g) != fc.fsgid {
		keep(unix.EPERM)
	}
	unix.RawSyscall(unix.SYS_SETFSUID, uintptr(fc.fsuid), 0, 0)
	if u, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ^uintptr(0), 0, 0); uint32(u) != fc.fsuid {
		keep(unix.EPERM)
	}
	keep(capsetThread(fc.eff&hc.prm, hc))
	if cur.umask != fc.umask {
		keep(setThreadUmask(fc.umask))
	}
	return first
}

// setThreadUmask gives the calling thread a host fs_struct of its own, if it does not
// have one yet, and sets its umask there. The thread must never run other Go code
// afterwards (see above).
func setThreadUmask(m uint32) error {
	if _, _, e := unix.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_FS, 0, 0); e != 0 {
		return e // the umask stays vemu's: setting it now would set every thread's
	}
	unix.RawSyscall(unix.SYS_UMASK, uintptr(m&0o777), 0, 0)
	return nil
}

// capsetThread sets the calling thread's effective capabilities to eff, keeping vemu's
// permitted and inheritable sets.
func capsetThread(eff uint64, hc caps) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	for i := range d {
		d[i] = unix.CapUserData{Effective: uint32(eff >> (32 * i)), Permitted: uint32(hc.prm >> (32 * i)), Inheritable: uint32(hc.inh >> (32 * i))}
	}
	return unix.Capset(&hdr, &d[0])
}
