package kernel

import (
	"encoding/binary"
	"fmt"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// procEntry recognizes the guest's own /proc/self/NAME (also /proc/thread-self and
// /proc/PID with the guest's pid) and returns NAME.
func (t *Task) procEntry(p string) (string, bool) {
	if !strings.HasPrefix(p, "/proc/") {
		return "", false
	}
	rest := path.Clean(p)[len("/proc/"):]
	head, tail, _ := strings.Cut(rest, "/")
	switch head {
	case "self", "thread-self", strconv.Itoa(t.p.pid):
		return tail, true
	}
	return "", false
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
	case "cmdline":
		return []byte(strings.Join(t.p.argv, "\x00") + "\x00"), true
	case "environ":
		if len(t.p.envp) == 0 {
			return nil, true
		}
		return []byte(strings.Join(t.p.envp, "\x00") + "\x00"), true
	case "auxv":
		b := make([]byte, 0, 16*(len(t.p.auxv)+1))
		for _, a := range t.p.auxv {
			b = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, a.Type), a.Val)
		}
		return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(b, 0), 0), true
	case "comm":
		return []byte(path.Base(t.p.exe) + "\n"), true
	case "mem":
		return nil, true // an empty memfd under the procMem kind (procmem.go)
	case "status", "stat", "statm", "limits":
		return t.procInfo(name), true
	}
	return nil, false
}

// memFile makes an in-memory host file holding b, for synthetic /proc files.
func memFile(name string, b []byte) (int, error) {
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
	unix.Seek(fd, 0, 0)
	return fd, nil
}

// listFdDir lists the guest's /proc/self/fd from its position: ".", "..", then each open
// descriptor, in the getdents64 format (long) or the old getdents one, as many entries as
// fit in n bytes (EINVAL when not even one does, as Linux says).
func (t *Task) listFdDir(d *procFdDir, addr mm.Addr, n uint32, long bool) (uint64, error) {
	names := []string{".", ".."}
	types := []byte{unix.DT_DIR, unix.DT_DIR}
	for fd, e := range d.p.files.fds {
		if e.f != nil {
			names = append(names, fmt.Sprint(fd))
			types = append(types, unix.DT_LNK)
		}
	}
	var out []byte
	for i := int(d.pos); i >= 0 && i < len(names); i++ {
		name := names[i]
		var rec []byte
		if long {
			size := (19 + len(name) + 1 + 7) &^ 7
			rec = make([]byte, size)
			binary.LittleEndian.PutUint64(rec[0:], uint64(1000+i))
			binary.LittleEndian.PutUint64(rec[8:], uint64(i+1))
			binary.LittleEndian.PutUint16(rec[16:], uint16(size))
			rec[18] = types[i]
			copy(rec[19:], name)
		} else {
			size := (18 + len(name) + 2 + 7) &^ 7
			rec = make([]byte, size)
			binary.LittleEndian.PutUint64(rec[0:], uint64(1000+i))
			binary.LittleEndian.PutUint64(rec[8:], uint64(i+1))
			binary.LittleEndian.PutUint16(rec[16:], uint16(size))
			copy(rec[18:], name)
			rec[size-1] = types[i]
		}
		if len(out)+len(rec) > int(n) {
			if len(out) == 0 {
				return 0, unix.EINVAL
			}
			break
		}
		out = append(out, rec...)
		d.pos = int64(i + 1)
	}
	return uint64(len(out)), t.p.mm.CopyOut(addr, out)
}
