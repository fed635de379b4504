package kernel

import (
	"encoding/binary"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/kernel/mm"
)

// The nsfs requests vemu answers for a guest's namespace descriptors, which are the
// host's (the guest lives in vemu's namespaces): _IO(0xb7, 3) and _IOR(0xb7, 13, u64).
const (
	nsGetNstype = 0xb703
	nsGetID     = 0x8008b70d
	nsGetUserns = 0xb701
)

// Namespace types, the CLONE_NEW* flags, and the set listns takes.
const (
	cloneNewTime   = 0x80
	cloneNewNS     = 0x20000
	cloneNewCgroup = 0x2000000
	cloneNewUTS    = 0x4000000
	cloneNewIPC    = 0x8000000
	cloneNewUser   = 0x10000000
	cloneNewPID    = 0x20000000
	cloneNewNet    = 0x40000000
	nsAll          = cloneNewTime | cloneNewNS | cloneNewCgroup | cloneNewUTS | cloneNewIPC | cloneNewUser |
		cloneNewPID | cloneNewNet
)

// struct ns_id_req (size, spare, ns_id, ns_type, spare2, user_ns_id), its first and only
// size, and user_ns_id's name for the caller's own user namespace.
const (
	nsIDReqSizeVer0   = 32
	listnsCurrentUser = ^uint64(0)
	listnsMax         = 1000000
)

// guestNS is one namespace the guest lives in: its id (NS_GET_ID), type and the id of
// the user namespace that owns it (0 where the host does not say).
type guestNS struct {
	id, owner uint64
	typ       uint32
}

// guestNamespaces lists vemu's own namespaces, which are every guest process's, in
// ascending id order, as the host names them. A host without NS_GET_ID (before Linux
// 6.18) names none.
var guestNamespaces = sync.OnceValue(func() []guestNS {
	var list []guestNS
	for _, name := range []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"} {
		fd, err := unix.Open("/proc/self/ns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		id, err := nsID(fd)
		typ, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetNstype, 0)
		var owner uint64
		if ofd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetUserns, 0); e == 0 {
			owner, _ = nsID(int(ofd))
			unix.Close(int(ofd))
		}
		unix.Close(fd)
		if err != nil || e != 0 || slices.ContainsFunc(list, func(n guestNS) bool { return n.id == id }) {
			continue
		}
		list = append(list, guestNS{id: id, owner: owner, typ: uint32(typ)})
	}
	slices.SortFunc(list, func(a, b guestNS) int { return cmpU64(a.id, b.id) })
	return list
})

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// nsID asks the host for the id of the namespace fd is.
func nsID(fd int) (uint64, error) {
	var id uint64
	// SAFETY: NS_GET_ID writes one u64 at its argument, id, which outlives the call.
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetID, uintptr(unsafe.Pointer(&id)))
	if e != 0 {
		return 0, e
	}
	return id, nil
}

// nsIoctl answers NS_GET_ID and NS_GET_NSTYPE on a namespace descriptor from the host;
// ok is false for other descriptors and requests.
func (t *Task) nsIoctl(f *File, req uint32, arg mm.Addr) (r uint64, ok bool, err error) {
	if req != nsGetID && req != nsGetNstype {
		return 0, false, nil
	}
	var sf unix.Statfs_t
	if unix.Fstatfs(f.fd, &sf) != nil || sf.Type != unix.NSFS_MAGIC {
		return 0, false, nil
	}
	if req == nsGetNstype {
		typ, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(f.fd), nsGetNstype, 0)
		if e != 0 {
			return 0, true, e
		}
		return uint64(typ), true, nil
	}
	id, err := nsID(f.fd)
	if err != nil {
		return 0, true, err
	}
	return 0, true, t.p.mm.CopyOut(arg, binary.LittleEndian.AppendUint64(nil, id))
}

// sysListns implements listns(2) over the namespaces the guest lives in, vemu's own:
// Linux lists to a process without CAP_SYS_ADMIN its own namespaces (and user
// namespaces where it has the capability), which are these; vemu shows the guest no
// other namespace of the host's, as it shows no other process of the host's. The
// checks come in the order of Linux's: flags, the count, the buffer's range, the request.
func sysListns(t *Task, a Args) (uint64, error) {
	out, nr := a.Ptr(1), a[2]
	switch {
	case a.Uint(3) != 0:
		return 0, unix.EINVAL
	case nr > listnsMax:
		return 0, unix.EOVERFLOW
	}
	if end, ok := out.AddLength(nr * 8); !ok || end > mm.TaskSize {
		return 0, unix.EFAULT
	}
	var b [4]byte
	if err := t.p.mm.CopyIn(a.Ptr(0), b[:]); err != nil {
		return 0, err
	}
	size := binary.LittleEndian.Uint32(b[:])
	switch {
	case size > pageSize:
		return 0, unix.E2BIG
	case size < nsIDReqSizeVer0:
		return 0, unix.EINVAL
	}
	req, err := t.copyStruct(a.Ptr(0), uint64(size), nsIDReqSizeVer0)
	if err != nil {
		return 0, err
	}
	le := binary.LittleEndian
	last, typ, userNS := le.Uint64(req[8:]), le.Uint32(req[16:]), le.Uint64(req[24:])
	switch {
	case le.Uint32(req[4:]) != 0:
		return 0, unix.EINVAL
	case typ&^nsAll != 0:
		return 0, unix.EOPNOTSUPP
	}
	all := guestNamespaces()
	var list []guestNS
	if userNS != 0 {
		// The namespaces that one user namespace owns: only the guest's own is known.
		if userNS == listnsCurrentUser {
			userNS = 0
			for _, n := range all {
				if n.typ == cloneNewUser {
					userNS = n.id
				}
			}
		}
		if userNS == 0 || !slices.ContainsFunc(all, func(n guestNS) bool { return n.id == userNS && n.typ == cloneNewUser }) {
			return 0, unix.EINVAL
		}
		for _, n := range all {
			if n.owner == userNS {
				list = append(list, n)
			}
		}
	} else {
		list = all
	}
	// As Linux: a start past every namespace there is to list is ENOENT.
	i := slices.IndexFunc(list, func(n guestNS) bool { return n.id > last })
	if last != 0 && i < 0 {
		return 0, unix.ENOENT
	}
	var ids []byte
	for _, n := range list[max(i, 0):] {
		if uint64(len(ids)/8) == nr {
			break
		}
		if n.id > last && (typ == 0 || typ&n.typ != 0) {
			ids = le.AppendUint64(ids, n.id)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := t.p.mm.CopyOut(out, ids); err != nil {
		return 0, err
	}
	return uint64(len(ids) / 8), nil
}
