package kernel

import (
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Paths through a guest process's /proc links: /proc/PID/root/..., /proc/PID/cwd/...
// and /proc/PID/fd/N/... (PID: self, thread-self, a pid or tid, or PID/task/TID). On
// Linux each link jumps to its object and the walk goes on from there, so
// /proc/self/cwd/file is the file in the working directory, /proc/self/root/etc/hostname
// is /etc/hostname, and /proc/self/cwd/../x walks up from the working directory. vemu
// turns each into the guest path it stands for — the directory's path in the guest's
// view, then the rest as written — and resolves that as any other guest path: through
// the guest's own /proc when it leads there again, inside the root when there is one, so
// that no link leads out of it (a symbolic link in the rest resolves inside the root too).
// A directory that is gone, or outside the root, leaves nothing to walk inside the root;
// without one, the rest is walked from the directory itself.

// maxProcLinks bounds how many links one path may go through, as Linux's MAXSYMLINKS.
// /proc/self and /proc/thread-self are links themselves: /proc/self/root costs two.
const maxProcLinks = 40

// linkCost is how many links the walk through dir's link follows.
func linkCost(dir string) int {
	if dir == "/proc/self" || strings.HasPrefix(dir, "/proc/thread-self") {
		return 2
	}
	return 1
}

// procLinkPrefix splits the absolute path p where it walks through a link of a
// process's /proc directory: dir is that directory ("/proc/ID" or "/proc/ID/task/TID"),
// link "root", "cwd" or "fd/N", and rest what follows, as written, never empty. The
// components before the link are cleaned as procTarget cleans them.
func procLinkPrefix(p string) (dir, link, rest string, ok bool) {
	if !strings.HasPrefix(p, "/") {
		return "", "", "", false
	}
	parts := strings.Split(p, "/")
	var walked []string
	for i, s := range parts {
		switch s {
		case "", ".":
			continue
		case "..":
			if len(walked) > 0 {
				walked = walked[:len(walked)-1]
			}
			continue
		}
		walked = append(walked, s)
		if len(walked) < 3 || walked[0] != "proc" {
			continue
		}
		n := len(walked)
		switch {
		case walked[n-1] == "root" || walked[n-1] == "cwd":
			link = walked[n-1]
			dir = "/" + strings.Join(walked[:n-1], "/")
		case n >= 4 && walked[n-2] == "fd":
			link = "fd/" + walked[n-1]
			dir = "/" + strings.Join(walked[:n-2], "/")
		default:
			continue
		}
		// Only /proc/ID/LINK and /proc/ID/task/TID/LINK.
		d := strings.Split(dir[1:], "/")
		if len(d) != 2 && !(len(d) == 4 && d[2] == "task") {
			return "", "", "", false
		}
		rest = strings.Join(parts[i+1:], "/")
		if strings.Trim(rest, "/") == "" {
			return "", "", "", false // the link itself: procAlias's
		}
		return dir, link, rest, true
	}
	return "", "", "", false
}

// procLinkStep takes p one link further when it walks through a link of a guest
// process's /proc (procLinkPrefix): np is the guest path it stands for; or, where the
// link's object has no guest path to walk (a working directory removed; without a root,
// one outside it), hfd holds the object open (the caller closes it) and rest is what
// lies below it. ok false: p goes through no such link.
func (t *Task) procLinkStep(p string) (np string, hfd int, rest string, cost int, err error, ok bool) {
	dir, link, rest, ok := procLinkPrefix(p)
	if !ok {
		return p, -1, "", 0, nil, false
	}
	np, hfd, rest, err, ok = t.procLinkObject(dir, link, rest, p)
	return np, hfd, rest, linkCost(dir), err, ok
}

// procLinkObject is procLinkStep for p, which goes through link of dir, then rest.
func (t *Task) procLinkObject(dir, link, rest, p string) (np string, hfd int, _ string, err error, ok bool) {
	k := t.p.k
	var q *Process // another guest process; nil: the caller's own
	if _, _, own := t.procTarget(dir + "/" + link); !own {
		e, peer := t.peerEntry(dir + "/" + link)
		if !peer {
			return p, -1, "", nil, false // no guest process's
		}
		q = e.q
		if !t.mayRead(q) {
			return p, -1, "", unix.EACCES, true
		}
		if q.isZombie() {
			return p, -1, "", unix.ENOENT, true
		}
	}
	if link == "root" {
		return "/" + rest, -1, "", nil, true // every guest process's root is the guest's /
	}
	// The object's host descriptor, a duplicate of the process's.
	switch {
	case link == "cwd" && q == nil:
		hfd, err = unix.FcntlInt(uintptr(t.p.fs.cwdFd), unix.F_DUPFD_CLOEXEC, 0)
	case link == "cwd":
		_, fs := q.viewTables()
		if fs == nil {
			return p, -1, "", unix.ENOENT, true
		}
		hfd, err = fs.dupDir()
	default:
		n, numOK := procFdNumber(link[len("fd/"):])
		if !numOK {
			return p, -1, "", unix.ENOENT, true
		}
		if q != nil {
			hfd, _, err = q.dupFd(n)
			break
		}
		f, ferr := t.p.files.get(int32(n))
		if ferr != nil {
			return p, -1, "", unix.ENOENT, true
		}
		if d, isDir := f.ops.(*procFdDir); isDir {
			return "/proc/" + d.dir + "/" + rest, -1, "", nil, true // the guest's /proc
		}
		hfd, err = unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
	}
	if err != nil {
		return p, -1, "", unix.ENOENT, true
	}
	host := hostFdPath(hfd)
	if !path.IsAbs(host) {
		unix.Close(hfd) // a pipe, a socket...: nothing below it
		return p, -1, "", unix.ENOTDIR, true
	}
	g, inside := k.root.guest(host)
	if !inside || strings.HasSuffix(host, " (deleted)") {
		if k.root != nil {
			unix.Close(hfd)
			return p, -1, "", unix.ENOENT, true
		}
		return p, hfd, rest, nil, true
	}
	unix.Close(hfd)
	return strings.TrimSuffix(g, "/") + "/" + rest, -1, "", nil, true
}

// throughProcLink is procAlias for a path through a /proc link: the path it stands for,
// looked at again, or the rest below the link's object held open (h owns it). ok false:
// p goes through no such link.
func (t *Task) throughProcLink(p string, depth int) (np string, h *hostPath, err error, ok bool) {
	np, hfd, rest, cost, err, ok := t.procLinkStep(p)
	switch {
	case !ok:
		return p, nil, nil, false
	case err == nil && depth+cost > maxProcLinks:
		err = unix.ELOOP
		fallthrough
	case err != nil:
		if hfd >= 0 {
			unix.Close(hfd)
		}
		return p, &hostPath{own: -1}, err, true
	case hfd >= 0:
		return p, &hostPath{dir: hfd, name: rest, own: hfd}, nil, true
	}
	np, h, err = t.procAliasDepth(abi.AT_FDCWD, np, depth+cost)
	return np, h, err, true
}

// procLinks rewrites a path given with dirfd, when it walks through /proc links, into
// the guest path it stands for (absolute, so AT_FDCWD), for the calls that answer
// entries of the guest's /proc before any lookup (open, readlink, stat). A path whose
// link has no guest path to walk is left as it is, for the lookup (procAlias).
func (t *Task) procLinks(dirfd int32, p string) (int32, string, error) {
	q := t.procRelative(dirfd, devFd(p))
	moved := path.IsAbs(q) && !path.IsAbs(p) // a relative path into /proc
	for links := 0; ; {
		np, hfd, _, cost, err, ok := t.procLinkStep(q)
		if !ok {
			break
		}
		if hfd >= 0 {
			unix.Close(hfd)
			if err == nil {
				return dirfd, p, nil // for the lookup
			}
		}
		if links += cost; err == nil && links > maxProcLinks {
			err = unix.ELOOP
		}
		if err != nil {
			return dirfd, p, err
		}
		q, moved = np, true
	}
	if !moved {
		return dirfd, p, nil
	}
	return abi.AT_FDCWD, q, nil
}

// procRelative makes the relative path p absolute, from the guest path of dirfd (or the
// working directory), when it leads into /proc: the guest's /proc then answers it, as
// for an absolute path. Only a path with a "proc" component can; others are unchanged.
func (t *Task) procRelative(dirfd int32, p string) string {
	if path.IsAbs(p) || !hasComponent(p, "proc") {
		return p
	}
	var host string
	if dirfd == abi.AT_FDCWD {
		host = t.p.fs.dir()
	} else {
		f, err := t.p.files.get(dirfd)
		if err != nil {
			return p
		}
		host = hostFdPath(f.fd)
	}
	g, ok := t.p.k.root.guest(host)
	if !ok || !path.IsAbs(g) || strings.HasSuffix(g, " (deleted)") {
		return p
	}
	abs := strings.TrimSuffix(g, "/") + "/" + p
	if !strings.HasPrefix(cleanAbs(abs), "/proc/") {
		return p
	}
	return abs
}

// hasComponent says whether the path p has a component named name.
func hasComponent(p, name string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == name {
			return true
		}
	}
	return false
}
