package kernel

import (
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// A read or write whose guest memory is not all there (a bad pointer, a buffer that runs
// into an unmapped or protected page, an unreadable iovec array) is still answered in
// Linux's order: the descriptor's mode, whether it has positions, the iovec count and
// lengths, the file's own answer (end of file, EISDIR, EPIPE) all come before the fault,
// and a copy that faults part way is a short transfer. vemu hands the host the same call
// with the accessible part of each buffer as host memory and the rest as memory the host
// cannot touch: a host address above user space where Linux's access_ok fails, and
// otherwise a host page without access, where Linux's copy faults.

// kernelHostAddr is a host address above user space: the host's access_ok fails on it.
const kernelHostAddr = 0xffff800000000000

// hostTaskSize is the end of the host's user space.
const hostTaskSize = 0x7ffffffff000

// noAccessPage is a host page mapped without access: the host's copies fault on it.
var noAccessPage = sync.OnceValue(func() uintptr {
	b, err := unix.Mmap(-1, 0, pageSize, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
})

// hostIOFault answers a read or write of a host file whose guest memory did not resolve
// (err): the host's call with the faulting parts left to fault. It keeps err when the
// call could wait (a fault is not worth blocking the run loop for), when a size limit
// would cut the write, or when the buffers do not fit an iovec array.
func (t *Task) hostIOFault(f *File, r ioReq, err error) (uint64, error) {
	return t.hostIOFaultCall(f, r, err, rwSyscall(r), 0)
}

// rwSyscall is the host's vector call for r.
func rwSyscall(r ioReq) uintptr {
	switch {
	case r.in && r.positional:
		return unix.SYS_PREADV
	case r.positional:
		return unix.SYS_PWRITEV
	case r.in:
		return unix.SYS_READV
	}
	return unix.SYS_WRITEV
}

// hostIOFaultCall is hostIOFault with host call nr (readv, writev, preadv, pwritev or
// their RWF variants with rwf).
func (t *Task) hostIOFaultCall(f *File, r ioReq, err error, nr uintptr, rwf uint32) (uint64, error) {
	bad := noAccessPage()
	// Unknown RWF flags, and those only regular files take, fail before a transfer could
	// wait.
	mayWait := rwf&^rwfAll == 0 && rwf&rwfRegularOnly == 0 && f.mayBlock() && t.wouldBlock(f, r.in, 1) && !hostNonblocking(f.fd)
	if _, ok := r.a.Ptr(1).RangeEnd(r.a[2]); !r.vector && !ok {
		mayWait = false // a buffer past user space is refused before any wait
	}
	if bad == 0 || mayWait ||
		!r.in && t.p.rlimits[abi.RLIMIT_FSIZE].Cur != abi.RLIM_INFINITY {
		return 0, err
	}
	var iovs []uint64 // struct iovec's base and length, for the host
	var held [][]byte // the guest memory behind iovs, alive until the call returns
	var st *stage     // a copy of the first buffer that faults part way
	defer func() { st.free() }()
	seg := func(base uintptr, n uint64) { iovs = append(iovs, uint64(base), n) }
	add := func(addr mm.Addr, n uint64) {
		if _, ok := addr.RangeEnd(n); !ok || int64(n) < 0 {
			// Past user space: EFAULT before any transfer; a negative length is EINVAL.
			seg(kernelHostAddr, n)
			return
		}
		b, _ := t.p.mm.Bufs(addr, int(min(n, maxIO)), r.want(), nil)
		var got uint64
		for _, p := range b {
			got += uint64(len(p))
		}
		if got > 0 && got < n && st == nil {
			// The first buffer that faults part way is one piece for the host, as the
			// guest's is: a file that moves whole buffers (an eventfd's count) sees it.
			if st = newStage(b, got, min(n, maxIO), r.in); st != nil {
				seg(st.base(), min(n, maxIO))
				return
			}
		}
		for _, p := range b {
			held = append(held, p)
			seg(uintptr(unsafe.Pointer(&p[0])), uint64(len(p)))
		}
		if got < n {
			seg(bad, min(n-got, maxIO, hostTaskSize-uint64(bad)))
		}
	}
	cnt := uint64(1)
	arr := uintptr(0)
	tooMany := false // arr stands for a readable array of more pieces than one call takes
	if !r.vector {
		if _, ok := r.a.Ptr(1).RangeEnd(r.a[2]); ok {
			add(r.a.Ptr(1), r.a[2])
		} else {
			// A count is unsigned: EFAULT of access_ok, never an iovec's EINVAL.
			seg(kernelHostAddr, 1)
		}
		cnt = uint64(len(iovs) / 2)
	} else {
		cnt = r.a[2]
		switch raw := make([]byte, min(cnt, 1024)*abi.IovecSize); {
		case cnt > 1024:
			// EINVAL, after the descriptor's checks.
		case t.p.mm.CopyIn(r.a.Ptr(1), raw) != nil:
			arr = bad
		default:
			for i := range int(cnt) {
				var v abi.Iovec
				v.Unmarshal(raw[i*abi.IovecSize:])
				if cnt == 1 && int64(v.Len) >= 0 {
					// As Linux's import_ubuf: one iovec is cut to MAX_RW_COUNT before
					// access_ok, where several are checked whole.
					v.Len = min(v.Len, maxIO)
				}
				add(mm.Addr(v.Base), v.Len)
			}
			if len(iovs) > 2*1024 {
				stop := bad
				if st != nil {
					stop = st.base()
				}
				iovs = cutAfterFault(iovs, stop)
			}
			if len(iovs) > 2*1024 {
				// Too many pieces for one call: the host still says what comes before
				// the iovecs (the descriptor's mode, ESPIPE), given an array it cannot
				// read.
				iovs, arr, tooMany = nil, bad, true
				break
			}
			cnt = uint64(len(iovs) / 2)
		}
	}
	if arr == 0 && len(iovs) > 0 {
		arr = uintptr(unsafe.Pointer(&iovs[0]))
	}
	// SAFETY: iovs points at host memory held alive by held, or at addresses the host
	// refuses or faults on (kernelHostAddr, the page without access): the host reads and
	// writes only what it may.
	n, _, e := unix.Syscall6(nr, uintptr(f.fd), arr, uintptr(cnt), uintptr(r.a[3]), 0, uintptr(rwf))
	runtime.KeepAlive(held)
	st.back()
	if tooMany && e == unix.EFAULT && err != unix.EFAULT {
		return 0, err
	}
	switch {
	case e == unix.EPIPE && !r.in:
		t.sigpipe()
	case e == unix.EAGAIN && !r.in:
		f.full()
	}
	if e != 0 {
		return 0, e
	}
	return uint64(n), nil
}

// maxStage is the most of a buffer that faults part way that is copied to a stage.
const maxStage = 1 << 20

// stage is a host copy of a guest buffer that faults part way: its accessible bytes end
// where a host range without access begins, as long as the guest's count, so the host's
// call sees one buffer and faults where the guest's would.
type stage struct {
	mem  []byte   // the mapping: the copy's pages, then the range without access
	data []byte   // the copy, at the end of its pages
	b    [][]byte // the guest memory copied
	in   bool     // a read: the copy goes back to b
}

// newStage copies b (got bytes, the accessible part of a buffer of n) to a stage, or
// returns nil when it is too large or the host has no room.
func newStage(b [][]byte, got, n uint64, in bool) *stage {
	if got > maxStage {
		return nil
	}
	pre := (got + pageSize - 1) &^ (pageSize - 1)
	post := (n - got + pageSize - 1) &^ (pageSize - 1)
	mem, err := unix.Mmap(-1, 0, int(pre+post), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	if unix.Mprotect(mem[:pre], unix.PROT_READ|unix.PROT_WRITE) != nil {
		unix.Munmap(mem)
		return nil
	}
	s := &stage{mem: mem, data: mem[pre-got : pre], b: b, in: in}
	rest := s.data
	for _, p := range b {
		rest = rest[copy(rest, p):]
	}
	return s
}

// base is the host address of the copy.
func (s *stage) base() uintptr { return uintptr(unsafe.Pointer(&s.data[0])) }

// back copies a read's bytes back to the guest's memory: the copy started as the guest's
// bytes, so what the host did not write stays as it was.
func (s *stage) back() {
	if s == nil || !s.in {
		return
	}
	rest := s.data
	for _, p := range s.b {
		rest = rest[copy(p, rest):]
	}
}

// free unmaps the stage.
func (s *stage) free() {
	if s != nil {
		unix.Munmap(s.mem)
	}
}

// cutAfterFault shortens host iovecs (base and length pairs) to fit one call: no transfer
// goes past the first piece that faults (at bad, or a stage), so the pieces after it can go, but
// those the host refuses whatever comes first (kernelHostAddr: EFAULT, a negative
// length: EINVAL) stay.
func cutAfterFault(iovs []uint64, bad uintptr) []uint64 {
	for i := 0; i < len(iovs); i += 2 {
		if iovs[i] != uint64(bad) {
			continue
		}
		out := iovs[: i+2 : i+2]
		for j := i + 2; j < len(iovs); j += 2 {
			if iovs[j] == kernelHostAddr {
				out = append(out, iovs[j], iovs[j+1])
			}
		}
		return out
	}
	return iovs
}

// hostNonblocking is whether host descriptor fd has O_NONBLOCK: its calls never wait.
func hostNonblocking(fd int) bool {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_NONBLOCK != 0
}

// hostIOEmpty is readv or writev (or preadv, pwritev) whose iovecs hold no bytes: Linux
// checks the descriptor and answers 0 without asking the file, as the host's call does.
func (t *Task) hostIOEmpty(f *File, r ioReq) (uint64, error) {
	nr := rwSyscall(r)
	var none unix.Iovec
	// SAFETY: the host reads no iovec of a count of 0; none is a valid address anyway.
	n, _, e := unix.Syscall6(nr, uintptr(f.fd), uintptr(unsafe.Pointer(&none)), 0, uintptr(r.a[3]), 0, 0)
	if e != 0 {
		return 0, e
	}
	return uint64(n), nil
}
