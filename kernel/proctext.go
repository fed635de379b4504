package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// procText is a synthetic /proc file of a guest thread or process (stat, status, comm...):
// reads come from the text made at open, held in the host memfd, as Linux's seq files
// read what they generated; writes are Linux's. Only comm takes them: the first 15 bytes
// (up to a NUL) name the thread, which must belong to the writer's process (EINVAL
// otherwise, ESRCH once it has ended). Every other file refuses writes with EINVAL, as a
// file without a write method does. A seq file has no pwrite: ESPIPE.
type procText struct {
	hostFile
	who  *Task // the thread whose file it is; nil for another process's
	name string
	// peer is the other guest process whose file it is, for the entries it may be
	// written through (procMiscWritable).
	peer *Process
}

func (pt *procText) io(t *Task, f *File, r ioReq) (uint64, error) {
	if r.in && procNoRead(pt.name) {
		return 0, unix.EINVAL // no read method, or no LSM to answer
	}
	if r.in && pt.name == "timerslack_ns" && pt.peer != nil && pt.peer != t.p && !t.p.creds.capable(unix.CAP_SYS_NICE) {
		return 0, unix.EPERM // as Linux's timerslack_ns_show(), at each read
	}
	if r.in || f.flags&abi.O_ACCMODE == abi.O_RDONLY {
		return pt.hostFile.io(t, f, r) // EBADF for a write
	}
	if r.positional {
		return 0, unix.ESPIPE
	}
	if attrFile(pt.name) {
		// No LSM takes them; another process's are not the writer's to set.
		if pt.peer != nil && pt.peer != t.p {
			return 0, unix.EPERM
		}
		return 0, unix.EINVAL
	}
	owner, _ := procMiscWritable(pt.name)
	peer := owner && pt.peer != nil && pt.peer != t.p
	if !peer && (pt.name != "comm" && !owner || pt.who == nil || pt.who.p != t.p) {
		return 0, unix.EINVAL
	}
	bufs, err := r.bufs(t)
	if err != nil {
		return 0, err
	}
	if owner {
		var b []byte
		var total uint64
		for _, x := range bufs {
			b = append(b, x[:min(len(x), 256-len(b))]...)
			total += uint64(len(x))
		}
		if !peer {
			return t.p.writeMisc(pt.name, b, total, t.writerOf(t.p))
		}
		// Another process's: written on its loop, which owns it, while this thread
		// waits off its own. As Linux, the file is its owner's (procOwner) unless
		// the writer may override file permissions.
		q, w := pt.peer, t.writerOf(pt.peer)
		fsuid, dac := t.p.creds.fsuid, t.p.creds.capable(unix.CAP_DAC_OVERRIDE)
		return t.blockThen(func() (uint64, error) {
			n, err := uint64(0), error(unix.ESRCH)
			onLoop(q, func() {
				if q.exit != nil {
					return
				}
				if fsuid != q.procOwner() && !dac && pt.name != "timerslack_ns" { // that one is 0666
					n, err = 0, unix.EACCES
					return
				}
				n, err = q.writeMisc(pt.name, b, total, w)
			})
			return n, err
		}, nil)
	}
	var name []byte
	var total uint64
	for _, b := range bufs {
		total += uint64(len(b))
		if room := taskCommLen - 1 - len(name); room > 0 {
			name = append(name, b[:min(len(b), room)]...)
		}
	}
	if t.p.thread(pt.who.tid) != pt.who {
		return 0, unix.ESRCH
	}
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	pt.who.setComm(string(name))
	return total, nil
}

// fork keeps naming the same thread: a forked child that writes is not of its process.
func (pt *procText) fork(f *File, child *Process) (*File, error) {
	nf, err := pt.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	nf.ops = &procText{who: pt.who, name: pt.name, peer: pt.peer}
	return nf, nil
}

// procTextWritable says whether the guest may open a /proc text file of who (nil: of
// another process) for writing: comm is its owner's to write (mode 0644); the rest are
// read-only (0444, environ and auxv 0400), which only a caller with CAP_DAC_OVERRIDE
// opens for writing, to fail at write. As on Linux, a process's files belong to its
// effective user while it is dumpable, else to root.
func (t *Task) procTextWritable(who *Task, name string, acc uint32) bool {
	c := &t.p.creds
	if name == "clear_refs" && acc != abi.O_WRONLY && !c.capable(unix.CAP_DAC_OVERRIDE) {
		return false // mode 0200
	}
	if acc == abi.O_RDONLY || c.capable(unix.CAP_DAC_OVERRIDE) {
		return true
	}
	ownerMay, anyone := procMiscWritable(name)
	if anyone {
		return true
	}
	if name != "comm" && !ownerMay {
		return false
	}
	if who == nil {
		return true // checked at write, on the other process's loop
	}
	return c.fsuid == who.p.procOwner()
}

// procOwner is the owner of p's /proc files: its effective user while it is dumpable,
// else root, as Linux's task_dump_owner().
func (p *Process) procOwner() uint32 {
	if p.notDumpable {
		return 0
	}
	return p.creds.euid
}
