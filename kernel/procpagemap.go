package kernel

import (
	"encoding/binary"
	"math"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// procPagemap is /proc/PID/pagemap: eight bytes for each page of user space, the entry of
// page N at offset N*8 (see mm.Space.Pagemap for what they say), read as Linux's
// pagemap_read() reads: offset and count multiples of eight (EINVAL otherwise), nothing
// past the end of user space, and no frame numbers, which vemu cannot give (the host's
// are none of the guest's business). The host descriptor is an empty memfd, for fstat
// and poll. As Linux's, the file reads the address space it was opened on (a forked
// child's copy too): once the process has exec'd another program, nothing.
type procPagemap struct {
	hostFile
	p      *Process
	pos    int64
	remote bool   // another process's, reached on its own loop
	execs  uint64 // p's execs when it was opened
}

// newPagemap opens the pagemap of p's address space now.
func newPagemap(p *Process, remote bool) *procPagemap {
	return &procPagemap{p: p, remote: remote, execs: p.execs.Load()}
}

// current says whether the address space it was opened on is p's still; on p's loop.
func (pm *procPagemap) current() bool { return pm.p.exit == nil && pm.p.execs.Load() == pm.execs }

// readOnlyAt is where read request r of a /proc file without a write method reads
// (pos unless r gives an offset): a write is EBADF on a descriptor open for reading
// only and EINVAL on another, as Linux's vfs_write(); a negative offset is EINVAL.
func readOnlyAt(f *File, r ioReq, pos int64) (int64, error) {
	if !r.in {
		if f.flags&abi.O_ACCMODE == abi.O_RDONLY {
			return 0, unix.EBADF
		}
		return 0, unix.EINVAL
	}
	off := pos
	if r.positional {
		off = int64(r.a[3])
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	return off, nil
}

// pagemapChunk is how many entries one pass makes.
const pagemapChunk = 8192

// pagemapPages is the number of pages of user space, the entries there are.
const pagemapPages = uint64(mm.TaskSize) / mm.PageSize

func (pm *procPagemap) io(t *Task, f *File, r ioReq) (uint64, error) {
	off, err := readOnlyAt(f, r, pm.pos)
	if err != nil {
		return 0, err
	}
	count := r.a[2]
	if r.vector {
		bufs, err := r.bufs(t)
		if err != nil {
			return 0, err
		}
		count = total(bufs)
	}
	count = min(count, maxIO)
	if count > math.MaxInt64-uint64(off) {
		return 0, unix.EINVAL // as Linux's rw_verify_area(): the range's end overflows
	}
	vpn, n, err := pagemapSpan(uint64(off), count)
	if err != nil || n == 0 {
		return 0, err
	}
	if pm.remote {
		n = min(n, maxMemIO/8)
	}
	// The buffers for the entries there are: a read that stops at the end of user space
	// needs no more.
	resolve := func() ([][]byte, error) {
		if r.vector {
			return r.bufs(t)
		}
		return t.bufs(r.a.Ptr(1), 8*n, r.want())
	}
	finish := func(done uint64) (uint64, error) {
		if !r.positional {
			pm.pos = off + int64(done)
		}
		return done, nil
	}
	if !pm.remote {
		if !pm.current() {
			return finish(0)
		}
		bufs, err := resolve()
		if err != nil {
			return 0, err
		}
		if total(bufs) < 8*n {
			return 0, unix.EFAULT // as Linux, whatever it copied before
		}
		w := entryWriter{bufs: bufs}
		ents := make([]uint64, min(n, pagemapChunk))
		for done := uint64(0); done < n; {
			k := min(n-done, uint64(len(ents)))
			pm.p.mm.Pagemap(vpn+done, ents[:k])
			w.put(ents[:k])
			done += k
		}
		return finish(8 * n)
	}
	q := pm.p
	raw := make([]byte, 0, 8*n)
	return t.blockThen(func() (uint64, error) {
		ents := make([]uint64, min(n, pagemapChunk))
		for got := uint64(0); got < n; {
			k := min(n-got, uint64(len(ents)))
			alive := false
			onLoop(q, func() {
				if pm.current() {
					alive = true
					q.mm.Pagemap(vpn+got, ents[:k])
				}
			})
			if !alive {
				break // its memory is gone (it ended, or exec'd): what was read, or 0
			}
			for _, e := range ents[:k] {
				raw = binary.LittleEndian.AppendUint64(raw, e)
			}
			got += k
		}
		return 0, nil
	}, func(uint64, error) (uint64, error) {
		bufs, err := resolve() // again: the caller's mappings may have changed meanwhile
		if err != nil {
			return 0, err
		}
		if total(bufs) < uint64(len(raw)) {
			return 0, unix.EFAULT
		}
		rest := raw
		for _, b := range bufs {
			rest = rest[copy(b, rest):]
		}
		return finish(uint64(len(raw)))
	})
}

// pagemapSpan checks a read of count bytes at off and returns the pages it covers: from
// vpn, n of them (0 past the end of user space).
func pagemapSpan(off, count uint64) (vpn, n uint64, err error) {
	if off%8 != 0 || count%8 != 0 {
		return 0, 0, unix.EINVAL
	}
	vpn = off / 8
	if count == 0 || vpn >= pagemapPages {
		return vpn, 0, nil
	}
	return vpn, min(count/8, pagemapPages-vpn), nil
}

// entryWriter writes entries into a read's buffers, one after the other.
type entryWriter struct {
	bufs [][]byte
	b    [8]byte
}

func (w *entryWriter) put(ents []uint64) {
	for _, e := range ents {
		if len(w.bufs) > 0 && len(w.bufs[0]) >= 8 {
			binary.LittleEndian.PutUint64(w.bufs[0], e)
			if w.bufs[0] = w.bufs[0][8:]; len(w.bufs[0]) == 0 {
				w.bufs = w.bufs[1:]
			}
			continue
		}
		binary.LittleEndian.PutUint64(w.b[:], e)
		rest := w.b[:]
		for len(rest) > 0 && len(w.bufs) > 0 {
			c := copy(w.bufs[0], rest)
			rest = rest[c:]
			if w.bufs[0] = w.bufs[0][c:]; len(w.bufs[0]) == 0 {
				w.bufs = w.bufs[1:]
			}
		}
	}
}

// seek sets the offset of the next read: any, as Linux's mem_lseek(); SEEK_END is EINVAL.
func (pm *procPagemap) seek(f *File, off int64, whence int32) (uint64, error) {
	switch whence {
	case abi.SEEK_SET:
		pm.pos = off
	case abi.SEEK_CUR:
		pm.pos += off
	default:
		return 0, unix.EINVAL
	}
	return uint64(pm.pos), nil
}

func (pm *procPagemap) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	return 0, unix.ENOTDIR
}

func (pm *procPagemap) fork(f *File, child *Process) (*File, error) {
	nf, err := pm.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	// The same address space, now another process's: read on its loop (a vfork
	// child's parent waits off its own).
	nf.ops = &procPagemap{p: pm.p, pos: pm.pos, remote: pm.p != child, execs: pm.execs}
	return nf, nil
}
