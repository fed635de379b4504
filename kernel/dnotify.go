package kernel

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"vemu/abi"
)

// Directory notification (fcntl F_NOTIFY, Linux's dnotify): a directory's open file asks
// for a signal each time an entry of the directory is created, deleted, modified, renamed,
// read or has its attributes changed, by anyone. The host's inotify sees those changes:
// one inotify instance per kernel watches each directory some file asked about, and its
// events are turned into dnotify's, as Linux's dnotify turns fsnotify's. The signal goes
// to the file's owner, which F_NOTIFY makes the caller's process, through the O_ASYNC
// path (sigio.go), with si_code POLL_MSG and si_fd the descriptor F_NOTIFY was called on.
//
// Linux sends the signal while the changing call runs, so that a process that changes its
// own directory has the signal before the call returns. The host queues the inotify event
// within the host call, so the SYSCALL entry reads the queue after every call while a
// watch exists (dnotify.drain); a goroutine reads it for changes made by others.

// dnWatch is the kernel's directory notification state.
type dnWatch struct {
	active atomic.Bool // some file has a watch: calls drain the queue
	mu     sync.Mutex
	fd     int // the host inotify instance; -1 when none
	wake   int // eventfd telling the reader to look again
	dirs   map[int32]*dnDir
	files  map[*File]*dnReg
}

// dnDir is a watched directory: the files watching it, and how many ask for each event,
// whose union is the inotify watch's mask.
type dnDir struct {
	wd    int32
	regs  map[*File]*dnReg
	count [6]int // by DN_ bit
	gone  bool   // the directory was removed: its watch ended on the host
}

// dnReg is one file's watch: its events (DN_*, DN_MULTISHOT) and descriptor.
type dnReg struct {
	f    *File
	dir  *dnDir
	mask uint32
	fd   int32
}

// dnEvents maps each inotify event to the dnotify events Linux raises for it, in order:
// a rename raises FS_RENAME on the old directory before FS_MOVED_FROM.
var dnEvents = []struct {
	in uint32
	dn []uint32
}{
	{unix.IN_ACCESS, []uint32{abi.DN_ACCESS}},
	{unix.IN_MODIFY, []uint32{abi.DN_MODIFY}},
	{unix.IN_ATTRIB, []uint32{abi.DN_ATTRIB}},
	{unix.IN_CREATE, []uint32{abi.DN_CREATE}},
	{unix.IN_MOVED_TO, []uint32{abi.DN_CREATE}},
	{unix.IN_DELETE, []uint32{abi.DN_DELETE}},
	{unix.IN_MOVED_FROM, []uint32{abi.DN_RENAME, abi.DN_DELETE}},
}

// dnAll are the events F_NOTIFY takes; other bits are ignored, as Linux ignores them.
const dnAll = abi.DN_ACCESS | abi.DN_MODIFY | abi.DN_CREATE | abi.DN_DELETE | abi.DN_RENAME | abi.DN_ATTRIB

// inMask is the inotify mask that sees a directory's dnotify events dn.
func inMask(count *[6]int) uint32 {
	var m uint32
	for bit := range count {
		if count[bit] == 0 {
			continue
		}
		for _, e := range dnEvents {
			for _, d := range e.dn {
				if d == 1<<bit {
					m |= e.in
				}
			}
		}
	}
	return m
}

// fcntlNotify is F_NOTIFY: add events to f's watch (a zero mask ends it), and make the
// caller's process the owner of f.
func (t *Task) fcntlNotify(f *File, fd int32, arg uint64) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, unix.ENOTDIR
	}
	w := &t.p.k.dnotify
	mask := uint32(arg)
	if mask&^abi.DN_MULTISHOT == 0 {
		w.forget(f)
		return 0, nil
	}
	if err := w.add(t.p.k, f, fd, mask&(dnAll|abi.DN_MULTISHOT)); err != nil {
		return 0, err
	}
	asyncMu.Lock()
	defer asyncMu.Unlock()
	o := f.owner()
	o.k = t.p.k
	return 0, t.setOwner(o, fOwnerPid, int32(t.p.pid))
}

// add gives f (through descriptor fd) the events mask on top of those it has.
func (w *dnWatch) add(k *Kernel, f *File, fd int32, mask uint32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.files == nil {
		w.files, w.dirs, w.fd = map[*File]*dnReg{}, map[int32]*dnDir{}, -1
	}
	if w.fd < 0 {
		in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			return err
		}
		ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			unix.Close(in)
			return err
		}
		w.fd, w.wake = in, ev
		go w.reader(k, in, ev)
	}
	r := w.files[f]
	if r != nil {
		r.fd = fd
		if r.mask|mask == r.mask {
			return nil
		}
		w.count(r, -1)
		r.mask |= mask
		w.count(r, 1)
		return w.rewatch(r.dir)
	}
	// The host returns the same watch for every path of one directory.
	wd, err := unix.InotifyAddWatch(w.fd, "/proc/self/fd/"+strconv.Itoa(f.fd), unix.IN_ONLYDIR|unix.IN_MASK_ADD)
	if err != nil {
		return err
	}
	d := w.dirs[int32(wd)]
	if d == nil {
		d = &dnDir{wd: int32(wd), regs: map[*File]*dnReg{}}
		w.dirs[d.wd] = d
	}
	r = &dnReg{f: f, dir: d, mask: mask, fd: fd}
	d.regs[f] = r
	w.files[f] = r
	w.count(r, 1)
	w.active.Store(true)
	return w.rewatch(d)
}

// count adds n to the directory's count of each event r asks for.
func (w *dnWatch) count(r *dnReg, n int) {
	for bit := range r.dir.count {
		if r.mask&(1<<bit) != 0 {
			r.dir.count[bit] += n
		}
	}
}

// rewatch sets d's inotify mask to what its files ask for. Called with w.mu held.
func (w *dnWatch) rewatch(d *dnDir) error {
	if d.gone {
		return nil
	}
	if len(d.regs) == 0 {
		unix.InotifyRmWatch(w.fd, uint32(d.wd))
		delete(w.dirs, d.wd)
		return nil
	}
	var any *File
	for f := range d.regs {
		any = f
		break
	}
	_, err := unix.InotifyAddWatch(w.fd, "/proc/self/fd/"+strconv.Itoa(any.fd), unix.IN_ONLYDIR|inMask(&d.count))
	if err == unix.ENOENT {
		return nil // a removed directory: nothing can change in it any more
	}
	return err
}

// forget ends f's watch, when the guest asks or closes a descriptor of f (as Linux's
// dnotify_flush on every close).
func (w *dnWatch) forget(f *File) {
	if !w.active.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetLocked(f)
}

func (w *dnWatch) forgetLocked(f *File) {
	r := w.files[f]
	if r == nil {
		return
	}
	delete(w.files, f)
	delete(r.dir.regs, f)
	w.count(r, -1)
	w.rewatch(r.dir)
	if len(w.files) == 0 {
		w.active.Store(false)
		unix.Write(w.wake, binary.LittleEndian.AppendUint64(nil, 1))
		w.fd = -1 // the reader closes the old instance and its eventfd
	}
}

// dnSend is a signal a watch gives: to the file's owner, through descriptor fd.
type dnSend struct {
	o  fown
	fd int32
}

// drain reads the events queued and sends their signals.
func (w *dnWatch) drain(k *Kernel) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k.dnotifySend(w.readLocked(w.fd))
}

func (k *Kernel) dnotifySend(sends []dnSend) {
	for _, s := range sends {
		o := s.o
		o.fd = s.fd
		k.sendSigio(o, abi.POLL_MSG)
	}
}

// readLocked reads the events of inotify instance in (the current one) and turns them
// into the signals to send, dropping one-shot watches that fired. Called with w.mu held.
func (w *dnWatch) readLocked(in int) []dnSend {
	if in < 0 || in != w.fd {
		return nil
	}
	var sends []dnSend
	var buf [4096]byte
	for {
		n, err := unix.Read(in, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return sends
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.LittleEndian.Uint32(buf[off:]))
			mask := binary.LittleEndian.Uint32(buf[off+4:])
			off += unix.SizeofInotifyEvent + int(binary.LittleEndian.Uint32(buf[off+12:]))
			d := w.dirs[wd]
			if d == nil {
				continue
			}
			if mask&unix.IN_IGNORED != 0 {
				// The directory is gone: its watches stay, and see nothing more.
				d.gone = true
				delete(w.dirs, wd)
				continue
			}
			for _, e := range dnEvents {
				if mask&e.in == 0 {
					continue
				}
				for _, dn := range e.dn {
					sends = w.fire(d, dn, sends)
				}
			}
		}
	}
}

// fire sends event dn to every watch of d that asks for it.
func (w *dnWatch) fire(d *dnDir, dn uint32, sends []dnSend) []dnSend {
	if d.count[bits.TrailingZeros32(dn)] == 0 {
		return sends
	}
	var done []*File
	for f, r := range d.regs {
		if r.mask&dn == 0 {
			continue
		}
		asyncMu.Lock()
		o := *f.owner()
		asyncMu.Unlock()
		if o.id != 0 {
			sends = append(sends, dnSend{o, r.fd})
		}
		if r.mask&abi.DN_MULTISHOT == 0 {
			done = append(done, f)
		}
	}
	for _, f := range done {
		w.forgetLocked(f)
	}
	return sends
}

// reader sends the signals of changes that no call of the guest's drained: those of host
// processes, or of a guest process still in its call.
func (w *dnWatch) reader(k *Kernel, in, wake int) {
	fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}, {Fd: int32(wake), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			break
		}
		w.mu.Lock()
		if w.fd != in {
			w.mu.Unlock()
			break
		}
		// The signals go out before the lock does: a call's drain that finds the queue
		// empty because this read it must still see its signals queued on return.
		k.dnotifySend(w.readLocked(in))
		w.mu.Unlock()
	}
	unix.Close(in)
	unix.Close(wake)
}
