package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// procMem is the guest's /proc/self/mem: the opening process's memory, read and written
// at guest addresses (the file position, or pread's and pwrite's offset), as Linux's
// mem_rw() does: whatever the mappings' permissions (a debugger's way to plant a
// breakpoint in read-only code), EIO when not even the first byte is mapped, a short
// count when the range runs into an unmapped page. The host descriptor is an empty memfd,
// for fstat and poll. A forked child's copy reads the child's memory: the parent's
// address space belongs to the parent's goroutine. As Linux's, the file reaches the
// address space it was opened on: once the process has exec'd another program (a setuid
// one, say), it reads and writes nothing.
type procMem struct {
	hostFile
	p      *Process
	pos    uint64
	remote bool   // another process's (/proc/PID/mem): reached on its own loop
	execs  uint64 // p's execs when it was opened
}

// newProcMem opens the memory of p's address space now.
func newProcMem(p *Process, remote bool) *procMem {
	return &procMem{p: p, remote: remote, execs: p.execs.Load()}
}

// gone says whether the address space it was opened on is gone; on p's loop.
func (m *procMem) gone() bool { return m.p.exit != nil || m.p.execs.Load() != m.execs }

// peek and poke reach m's process's memory: on its loop when it is another process's
// (which must answer: a stopped tracee does at once); 0 bytes, and ok false, once that
// memory is gone.
func (m *procMem) peek(addr uint64, b []byte) (n int, ok bool) {
	if !m.remote {
		if m.gone() {
			return 0, false
		}
		return m.p.mm.Peek(mm.Addr(addr), b), true
	}
	onLoop(m.p, func() {
		if ok = !m.gone(); ok {
			n = m.p.mm.Peek(mm.Addr(addr), b)
		}
	})
	return n, ok
}

func (m *procMem) poke(addr uint64, b []byte) (n int, ok bool) {
	if !m.remote {
		if m.gone() {
			return 0, false
		}
		return m.p.mm.Poke(mm.Addr(addr), b), true
	}
	onLoop(m.p, func() {
		if ok = !m.gone(); ok {
			n = m.p.mm.Poke(mm.Addr(addr), b)
		}
	})
	return n, ok
}

// maxMemIO bounds one transfer's staging buffer, as Linux copies a page at a time.
const maxMemIO = 1 << 20

func (m *procMem) io(t *Task, f *File, r ioReq) (uint64, error) {
	addr := m.pos
	if r.positional {
		addr = uint64(r.a[3])
	}
	bufs, err := r.bufs(t)
	if err != nil {
		return 0, err
	}
	if m.remote {
		return m.remoteIO(t, r, addr, bufs)
	}
	var done uint64
	for _, b := range bufs {
		for len(b) > 0 {
			chunk := b[:min(len(b), maxMemIO)]
			// Stage through a buffer of our own: the guest's buffer may overlap the
			// memory it reads or writes.
			tmp := make([]byte, len(chunk))
			var n int
			var ok bool
			if r.in {
				n, ok = m.peek(addr+done, tmp)
				copy(chunk, tmp[:n])
			} else {
				copy(tmp, chunk)
				n, ok = m.poke(addr+done, tmp)
			}
			if !ok {
				// As Linux's mem_rw() without its mm: what was done, or 0.
				if !r.positional {
					m.pos += done
				}
				return done, nil
			}
			done += uint64(n)
			if n < len(chunk) {
				return m.finish(r, done)
			}
			b = b[n:]
		}
	}
	return m.finish(r, done)
}

func (m *procMem) finish(r ioReq, done uint64) (uint64, error) {
	if done == 0 && (r.vector || r.a[2] != 0) {
		return 0, unix.EIO
	}
	if !r.positional {
		m.pos += done
	}
	return done, nil
}

// seek sets the address of the next read or write: every address is a valid position.
func (m *procMem) seek(f *File, off int64, whence int32) (uint64, error) {
	switch whence {
	case abi.SEEK_SET:
		m.pos = uint64(off)
	case abi.SEEK_CUR:
		m.pos += uint64(off)
	default:
		return 0, unix.EINVAL
	}
	return m.pos, nil
}

func (m *procMem) readdir(t *Task, f *File, addr mm.Addr, n uint32, long bool) (uint64, error) {
	return 0, unix.ENOTDIR
}

func (m *procMem) fork(f *File, child *Process) (*File, error) {
	nf, err := m.hostFile.fork(f, child)
	if err != nil {
		return nil, err
	}
	if m.remote {
		nf.ops = &procMem{p: m.p, pos: m.pos, remote: true, execs: m.execs}
	} else {
		c := newProcMem(child, false)
		c.pos = m.pos
		nf.ops = c
	}
	return nf, nil
}

// remoteIO is io for another process's memory, which its own loop reaches: the caller's
// thread waits off its loop (two processes reading each other's memory must not wait
// for each other's loops), and the caller's memory is read before and written after,
// on its own loop. One call moves at most maxMemIO bytes, as a read may return less.
func (m *procMem) remoteIO(t *Task, r ioReq, addr uint64, bufs [][]byte) (uint64, error) {
	want := min(total(bufs), maxMemIO)
	if r.in {
		data := make([]byte, want)
		var n int
		ok := true
		return t.blockThen(func() (uint64, error) {
			n, ok = m.peek(addr, data)
			return 0, nil
		}, func(uint64, error) (uint64, error) {
			if !ok {
				return 0, nil
			}
			bufs, err := r.bufs(t) // again: the caller's mappings may have changed meanwhile
			if err != nil {
				return 0, err
			}
			rest := data[:n]
			for _, b := range bufs {
				rest = rest[copy(b, rest):]
			}
			return m.finish(r, uint64(n))
		})
	}
	data := make([]byte, 0, want)
	for _, b := range bufs {
		data = append(data, b[:min(uint64(len(b)), want-uint64(len(data)))]...)
	}
	var n int
	ok := true
	return t.blockThen(func() (uint64, error) {
		n, ok = m.poke(addr, data)
		return 0, nil
	}, func(uint64, error) (uint64, error) {
		if !ok {
			return 0, nil
		}
		return m.finish(r, uint64(n))
	})
}
