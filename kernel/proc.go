package kernel

import (
	"encoding/binary"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// procEntry recognizes the guest's own /proc entries (see procTarget) and returns the
// entry's name below the directory of the process or thread.
func (t *Task) procEntry(p string) (string, bool) {
	_, name, ok := t.procTarget(p)
	return name, ok
}

// procTarget resolves a path in the guest's own /proc to the thread whose view it is and
// the entry's name: /proc/self/NAME and /proc/PID/NAME are the process's (its main
// thread's view, as on Linux), /proc/thread-self/NAME the caller's, and /proc/TID/NAME,
// /proc/self/task/TID/NAME and /proc/PID/task/TID/NAME those of any live thread of the
// caller's process. A task/TID of no such thread keeps its "task/" prefix in name, which
// nothing answers.
func (t *Task) procTarget(p string) (*Task, string, bool) {
	who, name, thread, ok := t.procTargetDir(p)
	top, _, _ := strings.Cut(name, "/")
	if ok && (thread && processOnly(top) || !thread && threadOnly(top)) {
		return nil, "", false // a process's entry in a thread's directory, or the reverse
	}
	return who, name, ok
}

// procTargetDir is procTarget, also saying whether the entry is in a thread's directory
// (task/TID, thread-self) rather than a process's.
func (t *Task) procTargetDir(p string) (*Task, string, bool, bool) {
	c := path.Clean(p) // "/proc/self/.." is "/proc", no entry of a process
	if !strings.HasPrefix(c, "/proc/") {
		return nil, "", false, false
	}
	rest := c[len("/proc/"):]
	head, tail, _ := strings.Cut(rest, "/")
	who := t
	switch head {
	case "self", strconv.Itoa(t.p.pid):
		if m := t.p.thread(t.p.pid); m != nil {
			who = m
		}
	case "thread-self":
	default:
		n, err := strconv.Atoi(head)
		if err != nil {
			return nil, "", false, false
		}
		if who = t.p.thread(n); who == nil {
			return nil, "", false, false
		}
	}
	if sub, ok := strings.CutPrefix(tail, "task/"); ok {
		id, below, _ := strings.Cut(sub, "/")
		n, err := strconv.Atoi(id)
		if th := t.p.thread(n); err == nil && th != nil {
			return th, below, true, true
		}
		return who, tail, true, true
	}
	return who, tail, head == "thread-self", true
}

// devFd maps /dev/fd/N, /dev/stdin, /dev/stdout and /dev/stderr, which Linux makes
// symbolic links into /proc/self/fd, to the /proc/self entry they reach.
func devFd(p string) string {
	if !strings.HasPrefix(p, "/dev/") {
		return p
	}
	c := path.Clean(p)
	switch {
	case c == "/dev/fd":
		return "/proc/self/fd"
	case strings.HasPrefix(c, "/dev/fd/"):
		return "/proc/self/fd/" + c[len("/dev/fd/"):]
	case c == "/dev/stdin":
		return "/proc/self/fd/0"
	case c == "/dev/stdout":
		return "/proc/self/fd/1"
	case c == "/dev/stderr":
		return "/proc/self/fd/2"
	}
	return p
}

// procFile returns the contents of a synthetic /proc/self file, or false.
func (t *Task) procFile(name string) ([]byte, bool) {
	switch name {
	case "maps":
		return []byte(t.p.maps()), true
	case "smaps", "smaps_rollup":
		return []byte(t.p.mm.Smaps(name == "smaps_rollup")), true
	case "cmdline":
		return t.p.cmdlineNow(), true
	case "environ":
		return t.p.environNow(), true
	case "auxv":
		return auxvBytes(t.p.auxv), true
	case "comm":
		return []byte(t.commName() + "\n"), true
	case "mem":
		return nil, true // an empty memfd under the procMem kind (procmem.go)
	case "pagemap", "syscall", "stack":
		return nil, true // made at each read (procpagemap.go, procsyscall.go)
	case "sched":
		return t.schedNumsOf().schedText(), true
	case "schedstat":
		return t.schedNumsOf().schedstatText(), true
	case "wchan":
		// Linux's when it cannot name where the thread waits, and what it shows to
		// a reader that may not trace it: vemu's threads wait in no kernel function.
		return []byte("0"), true
	case "status", "stat", "statm", "limits":
		return t.procInfo(name), true
	}
	if b, ok := t.procMiscFile(name); ok {
		return b, true
	}
	if b, ok := t.procExtraFile(name); ok {
		return b, true
	}
	if s, ok := strings.CutPrefix(name, "fdinfo/"); ok {
		n, ok := procFdNumber(s)
		ft := t.p.files
		if !ok || n >= len(ft.fds) || ft.fds[n].f == nil {
			return nil, false
		}
		h, err := unix.FcntlInt(uintptr(ft.fds[n].f.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, false
		}
		defer unix.Close(h)
		return fdinfo(h, ft.fds[n].cloexec), true
	}
	return nil, false
}

// memFile makes an in-memory host file holding b, for synthetic /proc files, open for
// the guest's access mode acc (O_RDONLY, O_WRONLY or O_RDWR), which F_GETFL reports.
func memFile(name string, b []byte, acc uint32) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return 0, err
	}
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			unix.Close(fd)
			return 0, err
		}
		b = b[n:]
	}
	if acc == abi.O_RDWR {
		unix.Seek(fd, 0, 0)
		return fd, nil
	}
	mode := unix.O_RDONLY
	if acc == abi.O_WRONLY {
		mode = unix.O_WRONLY
	}
	ro, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), mode|unix.O_CLOEXEC, 0)
	unix.Close(fd)
	if err != nil {
		return 0, err
	}
	return ro, nil
}

// procDirOf says whether p names a directory of the guest's own /proc that vemu lists
// (procFdDir), and returns its path below /proc.
func (t *Task) procDirOf(p string) (string, bool) {
	who, name, ok := t.procTarget(p)
	if !ok {
		return "", false
	}
	switch name = path.Clean("/" + name); {
	case name == "/fd":
		return "self/fd", true
	case name == "/fdinfo":
		return "self/fdinfo", true
	case name == "/task":
		return "self/task", true
	case name == "/attr" || name == "/map_files" || name == "/ns" && t.p.k.root == nil:
		// Below the thread's directory: a thread's attr is its own.
		if who.tid == t.p.pid && !strings.Contains(path.Clean(p), "/task/") {
			return "self" + name, true
		}
		return "self/task/" + strconv.Itoa(who.tid) + name, true
	case name == "/" && who.tid == t.p.pid && !strings.Contains(path.Clean(p), "/task/"):
		return "self", true
	case name == "/":
		return "self/task/" + strconv.Itoa(who.tid), true
	}
	return "", false
}

func (t *Task) isProcDir(p string) bool {
	_, ok := t.procDirOf(p)
	return ok
}

// direntWriter fills a getdents buffer of n bytes: in the getdents64 format (long) or
// the old getdents one.
type direntWriter struct {
	out  []byte
	n    uint32
	long bool
	pos  *int64 // the directory's position: the entry after the last one written
}

// emit adds the entry at position pos; false when it does not fit (EINVAL when not even
// the first one does, as Linux says).
func (w *direntWriter) emit(pos int, name string, typ byte) (bool, error) {
	var rec []byte
	if w.long {
		size := (19 + len(name) + 1 + 7) &^ 7
		rec = make([]byte, size)
		binary.LittleEndian.PutUint64(rec[0:], uint64(1000+pos))
		binary.LittleEndian.PutUint64(rec[8:], uint64(pos+1))
		binary.LittleEndian.PutUint16(rec[16:], uint16(size))
		rec[18] = typ
		copy(rec[19:], name)
	} else {
		size := (18 + len(name) + 2 + 7) &^ 7
		rec = make([]byte, size)
		binary.LittleEndian.PutUint64(rec[0:], uint64(1000+pos))
		binary.LittleEndian.PutUint64(rec[8:], uint64(pos+1))
		binary.LittleEndian.PutUint16(rec[16:], uint16(size))
		copy(rec[18:], name)
		rec[size-1] = typ
	}
	if len(w.out)+len(rec) > int(w.n) {
		if len(w.out) == 0 {
			return false, unix.EINVAL
		}
		return false, nil
	}
	w.out = append(w.out, rec...)
	*w.pos = int64(pos + 1)
	return true, nil
}

// procSelfNames are the entries of the guest's /proc/self and /proc/self/task/TID.
var procSelfNames = slices.Concat([]string{"attr", "auxv", "children", "cmdline", "comm", "cwd", "environ", "exe", "fd", "fdinfo",
	"limits", "map_files", "maps", "mem", "mountinfo", "mounts", "mountstats", "net", "ns", "pagemap", "root", "sched", "schedstat",
	"smaps", "smaps_rollup", "stack", "stat", "statm", "status", "syscall", "task", "wchan"}, procMiscNames, procExtraNames)

// processOnly says whether name is an entry of a process's directory that its threads'
// (task/TID) lack, as on Linux.
func processOnly(name string) bool {
	switch name {
	case "task", "coredump_filter", "timerslack_ns", "autogroup", "map_files", "mountstats", "timens_offsets", "timers":
		return true
	}
	return false
}

// threadOnly says whether name is an entry of a thread's directory (task/TID) that its
// process's lacks, as on Linux.
func threadOnly(name string) bool {
	return name == "children"
}

// listFdDir lists a directory of the guest's /proc from its position: ".", "..", then
// its entries, in the getdents64 format (long) or the old getdents one, as many entries
// as fit in n bytes (EINVAL when not even one does, as Linux says). In /proc/self/fd the
// position of descriptor fd is fd+2, as Linux's: a program that closes descriptors
// while it lists them (closing all but some before an exec) still sees every one, and a
// listing costs what it returns, not the whole table.
func (t *Task) listFdDir(d *procFdDir, addr mm.Addr, n uint32, long bool) (uint64, error) {
	w := direntWriter{n: n, long: long, pos: &d.pos}
	emit := w.emit
	done := func() (uint64, error) { return uint64(len(w.out)), t.p.mm.CopyOut(addr, w.out) }
	if d.pos < 0 {
		return done()
	}
	for pos := int(d.pos); pos < 2; pos++ {
		if ok, err := emit(pos, ".."[:pos+1], unix.DT_DIR); err != nil {
			return 0, err
		} else if !ok {
			return done()
		}
	}
	if d.dir == "self/fd" || d.dir == "self/fdinfo" {
		typ := byte(unix.DT_LNK)
		if d.dir == "self/fdinfo" {
			typ = unix.DT_REG
		}
		fds := d.p.files.fds
		for fd := max(int(d.pos)-2, 0); fd < len(fds); fd++ {
			if fds[fd].f == nil {
				continue
			}
			if ok, err := emit(fd+2, strconv.Itoa(fd), typ); err != nil {
				return 0, err
			} else if !ok {
				break
			}
		}
		return done()
	}
	var names []string
	var types []byte
	switch base := path.Base(d.dir); {
	case base == "attr":
		for _, n := range procAttrNames {
			names, types = append(names, n), append(types, unix.DT_REG)
		}
	case base == "ns":
		// The namespaces every guest process lives in: vemu's.
		ents, _ := os.ReadDir("/proc/self/ns")
		for _, e := range ents {
			names, types = append(names, e.Name()), append(types, unix.DT_LNK)
		}
	case base == "map_files":
		if d.p != t.p {
			break // the mappings are its own loop's: passed to another process, it lists none
		}
		for _, m := range d.p.mm.FileMappings() {
			names, types = append(names, fmt.Sprintf("%x-%x", uint64(m.Start), uint64(m.End))), append(types, unix.DT_LNK)
		}
	case d.dir == "self/task":
		for _, o := range d.p.tasks {
			if o.state != taskDead {
				names = append(names, strconv.Itoa(o.tid))
				types = append(types, unix.DT_DIR)
			}
		}
	default:
		for _, name := range procSelfNames {
			if d.dir != "self" && processOnly(name) || d.dir == "self" && threadOnly(name) {
				continue
			}
			if t.p.k.root != nil && (name == "ns" || name == "net" || namespaceWide(name)) {
				continue // absent inside a root
			}
			typ := byte(unix.DT_REG)
			switch name {
			case "attr", "fd", "fdinfo", "map_files", "net", "ns", "task":
				typ = unix.DT_DIR
			case "cwd", "exe", "root":
				typ = unix.DT_LNK
			}
			names = append(names, name)
			types = append(types, typ)
		}
	}
	for i := int(d.pos) - 2; i >= 0 && i < len(names); i++ {
		if ok, err := emit(i+2, names[i], types[i]); err != nil {
			return 0, err
		} else if !ok {
			break
		}
	}
	return done()
}
