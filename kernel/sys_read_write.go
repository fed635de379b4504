package kernel

import (
	"encoding/binary"
	"io"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// maxIO caps one read or write, as Linux's MAX_RW_COUNT does.
const maxIO = 0x7ffff000

// bufs returns host slices for the guest buffer [addr, addr+n) with permission want.
// A buffer the kernel writes into may end early (a short transfer); one it reads from must
// be readable whole, or the call is EFAULT, as Linux's write to a pipe or file finds it.
func (t *Task) bufs(addr mm.Addr, n uint64, want emu.Prot) ([][]byte, error) {
	if _, ok := addr.RangeEnd(n); !ok {
		return nil, unix.EFAULT // as Linux's access_ok, of the whole count
	}
	n = min(n, maxIO)
	b, err := t.p.mm.Bufs(addr, int(n), want, nil)
	if err == nil && want == emu.ProtRead && total(b) < n {
		return nil, unix.EFAULT
	}
	return b, err
}

func total(b [][]byte) uint64 {
	var n uint64
	for _, p := range b {
		n += uint64(len(p))
	}
	return n
}

// iovecs gathers the host slices behind a guest iovec array.
func (t *Task) iovecs(addr mm.Addr, cnt int32, want emu.Prot) ([][]byte, error) {
	if cnt < 0 || cnt > 1024 {
		return nil, unix.EINVAL
	}
	raw := make([]byte, int(cnt)*abi.IovecSize)
	if err := t.p.mm.CopyIn(addr, raw); err != nil {
		return nil, err
	}
	// As Linux's import_iovec: any negative length is EINVAL, then any range beyond user
	// space EFAULT, before a byte moves.
	vs := make([]abi.Iovec, cnt)
	for i := range vs {
		vs[i].Unmarshal(raw[i*abi.IovecSize:])
		if int64(vs[i].Len) < 0 {
			return nil, unix.EINVAL
		}
		if cnt == 1 {
			// As Linux's import_ubuf: one iovec is cut to MAX_RW_COUNT before access_ok.
			vs[i].Len = min(vs[i].Len, maxIO)
		}
	}
	for _, v := range vs {
		if _, ok := mm.Addr(v.Base).RangeEnd(v.Len); !ok {
			return nil, unix.EFAULT
		}
	}
	var out [][]byte
	var sum uint64
	for _, v := range vs {
		if v.Len == 0 {
			continue
		}
		n := min(v.Len, maxIO-sum)
		before := len(out)
		var err error
		out, err = t.p.mm.Bufs(mm.Addr(v.Base), int(n), want, out)
		if err != nil {
			if before == 0 {
				return nil, err
			}
			break
		}
		got := total(out[before:])
		if got < n && want == emu.ProtRead {
			return nil, unix.EFAULT
		}
		sum += got
		if got < n || sum >= maxIO {
			break
		}
	}
	return out, nil
}

func rw(n int, err error) (uint64, error) {
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// transfer moves data between the host file behind fd and the host slices b: into guest
// memory when want is ProtWrite (reads), out of it otherwise; at off when positional.
// resolve finds b again, for a read that finishes after blocking.
func (t *Task) transfer(f *File, b [][]byte, want emu.Prot, off int64, positional bool, resolve func() ([][]byte, error)) (uint64, error) {
	if positional && off < 0 {
		return 0, unix.EINVAL
	}
	in := want == emu.ProtWrite
	if !positional && f.mayBlock() && t.wouldBlock(f, in, total(b)) {
		if in {
			return t.blockingRead(f, total(b), resolve)
		}
		return t.blockingWrite(f, b)
	}
	if !in && t.p.rlimits[abi.RLIMIT_FSIZE].Cur != abi.RLIM_INFINITY {
		var err error
		if b, err = t.fileSizeLimit(f, b, off, positional); err != nil {
			return 0, err
		}
	}
	r, err := hostTransfer(f.fd, b, in, off, positional)
	if err == unix.EPIPE && !in {
		t.sigpipe()
	}
	if err == unix.EAGAIN && !in {
		f.full()
	}
	return r, err
}

// fileSizeLimit cuts a write to a regular file to what RLIMIT_FSIZE lets it write from
// where it writes (off, the file's offset, or its end under O_APPEND).
func (t *Task) fileSizeLimit(f *File, b [][]byte, off int64, positional bool) ([][]byte, error) {
	var at *int64
	if positional {
		at = &off
	}
	n, err := t.writeRoom(f, at, total(b))
	if err != nil || n == total(b) {
		return b, err
	}
	var cut [][]byte
	for _, p := range b {
		if n == 0 {
			break
		}
		p = p[:min(uint64(len(p)), n)]
		cut = append(cut, p)
		n -= uint64(len(p))
	}
	return cut, nil
}

// writeRoom is how much of n bytes RLIMIT_FSIZE lets a write put in f at *off (nil: the
// file's offset, or its end under O_APPEND); n for what is not a regular file.
func (t *Task) writeRoom(f *File, off *int64, n uint64) (uint64, error) {
	if t.p.rlimits[abi.RLIMIT_FSIZE].Cur == abi.RLIM_INFINITY {
		return n, nil
	}
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return n, nil
	}
	var pos int64
	switch {
	case off != nil:
		pos = *off
	case f.flags&abi.O_APPEND != 0:
		pos = st.Size
	default:
		var err error
		if pos, err = unix.Seek(f.fd, 0, io.SeekCurrent); err != nil {
			return n, nil
		}
	}
	return t.fileSizeCheck(pos, n)
}

// hostTransfer is transfer's host call.
func hostTransfer(fd int, b [][]byte, in bool, off int64, positional bool) (uint64, error) {
	switch {
	case positional && in:
		if len(b) == 0 {
			return rw(unix.Pread(fd, nil, off))
		}
		return rw(unix.Preadv(fd, b, off))
	case positional:
		if len(b) == 0 {
			return rw(unix.Pwrite(fd, nil, off))
		}
		return rw(unix.Pwritev(fd, b, off))
	case in && len(b) <= 1:
		var p []byte
		if len(b) == 1 {
			p = b[0]
		}
		return rw(unix.Read(fd, p))
	case in:
		return rw(unix.Readv(fd, b))
	case len(b) <= 1:
		var p []byte
		if len(b) == 1 {
			p = b[0]
		}
		return rw(unix.Write(fd, p))
	}
	return rw(unix.Writev(fd, b))
}

// rwCall is the path of the read and write calls: the file's kind does the transfer.
func (t *Task) rwCall(a Args, in, vector, positional bool) (uint64, error) {
	if positional && a.Int64(3) < 0 {
		return 0, unix.EINVAL // as Linux, before the descriptor
	}
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !positional && t.p.k.sessionsMade.Load() {
		// Job control on a controlling terminal (ctty.go).
		sig, tostop := abi.SIGTTIN, false
		if !in {
			sig, tostop = abi.SIGTTOU, true
		}
		if ok, r, err := t.ttyJob(f, sig, tostop); !ok {
			return r, err
		}
	}
	return f.kind().io(t, f, ioReq{a: a, in: in, vector: vector, positional: positional})
}

// sysRead implements read(2): straight into guest memory.
func sysRead(t *Task, a Args) (uint64, error) { return t.rwCall(a, true, false, false) }

// sysWrite implements write(2): straight from guest memory.
func sysWrite(t *Task, a Args) (uint64, error) { return t.rwCall(a, false, false, false) }

// sysPread64 implements pread64(2).
func sysPread64(t *Task, a Args) (uint64, error) { return t.rwCall(a, true, false, true) }

// sysPwrite64 implements pwrite64(2).
func sysPwrite64(t *Task, a Args) (uint64, error) { return t.rwCall(a, false, false, true) }

// sysReadv implements readv(2).
func sysReadv(t *Task, a Args) (uint64, error) { return t.rwCall(a, true, true, false) }

// sysWritev implements writev(2).
func sysWritev(t *Task, a Args) (uint64, error) { return t.rwCall(a, false, true, false) }

// sysPreadv implements preadv(2).
func sysPreadv(t *Task, a Args) (uint64, error) { return t.rwCall(a, true, true, true) }

// sysPwritev implements pwritev(2).
func sysPwritev(t *Task, a Args) (uint64, error) { return t.rwCall(a, false, true, true) }

// sysLseek implements lseek(2).
func sysLseek(t *Task, a Args) (uint64, error) {
	f, err := t.file(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return f.kind().seek(f, a.Int64(1), a.Int(2))
}

// readOffset reads the loff_t at addr, when addr is not NULL.
func (t *Task) readOffset(addr mm.Addr) (*int64, error) {
	if addr == 0 {
		return nil, nil
	}
	var b [8]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return nil, err
	}
	off := int64(binary.LittleEndian.Uint64(b[:]))
	return &off, nil
}

// writeOffset writes *off back to addr, when there is one.
func (t *Task) writeOffset(addr mm.Addr, off *int64) error {
	if off == nil {
		return nil
	}
	return t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint64(nil, uint64(*off)))
}

// sysSendfile implements sendfile(2) with the host's, between the host files. A send into
// a pipe or socket that would wait runs off the run loop.
//
// As Linux's, the offset is read first, then the input is checked (its descriptor, mode,
// whether it has positions and the range) before the output's descriptor: the host's
// call with no output says what Linux says of the input.
func sysSendfile(t *Task, a Args) (uint64, error) {
	off, err := t.readOffset(a.Ptr(2))
	if err != nil {
		return 0, err
	}
	in, err := t.file(a.Fd(1))
	if err != nil {
		return 0, err
	}
	out, err := t.file(a.Fd(0))
	if err != nil {
		var o *int64
		if off != nil {
			o = new(int64)
			*o = *off
		}
		_, err := unix.Sendfile(-1, in.fd, o, int(a[3]))
		return 0, err
	}
	if a[3] > maxIO {
		// Linux checks the input's range with the whole count (EINVAL where the
		// position and the count overflow, a negative count) before it cuts the count
		// and looks at the output: the host's answer without an output, whose EBADF
		// means the input passed.
		var o *int64
		if off != nil {
			o = new(int64)
			*o = *off
		}
		if _, err := unix.Sendfile(-1, in.fd, o, int(a[3])); err != unix.EBADF || int64(a[3]) < 0 {
			return 0, err
		}
	}
	room, err := t.writeRoom(out, nil, min(a[3], maxIO))
	if err != nil {
		return 0, err
	}
	n := int(room)
	send := func(ofd, ifd int) (uint64, error) {
		return rw(unix.Sendfile(ofd, ifd, off, n))
	}
	done := func(r uint64, err error) (uint64, error) {
		if err == unix.EPIPE {
			t.sigpipe()
		}
		if err != nil {
			return 0, err
		}
		return r, t.writeOffset(a.Ptr(2), off)
	}
	if !out.mayBlock() || !t.wouldBlock(out, false, uint64(n)) {
		return done(send(out.fd, in.fd))
	}
	ofd, err := unix.Dup(out.fd)
	if err != nil {
		return 0, err
	}
	ifd, err := unix.Dup(in.fd)
	if err != nil {
		unix.Close(ofd)
		return 0, err
	}
	return t.blockIntr(intrRestart, func(*cancel) (uint64, error) {
		defer unix.Close(ofd)
		defer unix.Close(ifd)
		return send(ofd, ifd)
	}, done)
}

// fileRangeArgs reads the arguments copy_file_range and splice share: fd_in, off_in,
// fd_out and off_out (each offset a pointer, NULL for none).
func (t *Task) fileRangeArgs(a Args) (in *File, inOff *int64, out *File, outOff *int64, err error) {
	if in, err = t.file(a.Fd(0)); err != nil {
		return
	}
	if out, err = t.file(a.Fd(2)); err != nil {
		return
	}
	if inOff, err = t.readOffset(a.Ptr(1)); err != nil {
		return
	}
	outOff, err = t.readOffset(a.Ptr(3))
	return
}

// wraps is whether position off (fd's own when nil) plus count, as a signed 64-bit
// position, goes below it.
func wraps(fd int, off *int64, count uint64) bool {
	pos := int64(0)
	if off != nil {
		pos = *off
	} else if p, err := unix.Seek(fd, 0, unix.SEEK_CUR); err == nil {
		pos = p
	}
	return pos+int64(count) < pos
}

// sysCopyFileRange implements copy_file_range(2) with the host's.
func sysCopyFileRange(t *Task, a Args) (uint64, error) {
	in, inOff, out, outOff, err := t.fileRangeArgs(a)
	if err != nil {
		return 0, err
	}
	if a[4] > maxIO {
		// Linux checks that neither offset wraps with the whole length (EOVERFLOW)
		// before it cuts the length: after the files' checks, which the host's copy
		// of no bytes makes, and before a negative offset's EINVAL.
		_, err := unix.CopyFileRange(in.fd, inOff, out.fd, outOff, 0, int(a.Uint(5)))
		if err != nil && (err != unix.EINVAL || a.Uint(5) != 0 || !isRegular(in.fd) || !isRegular(out.fd)) {
			return 0, err
		}
		if wraps(in.fd, inOff, a[4]) || wraps(out.fd, outOff, a[4]) {
			return 0, unix.EOVERFLOW
		}
		if err != nil {
			return 0, err
		}
	}
	room, err := t.writeRoom(out, outOff, min(a[4], maxIO))
	if err != nil {
		return 0, err
	}
	r, err := unix.CopyFileRange(in.fd, inOff, out.fd, outOff, int(room), int(a.Uint(5)))
	if err != nil {
		return 0, err
	}
	if err := t.writeOffset(a.Ptr(1), inOff); err != nil {
		return 0, err
	}
	return uint64(r), t.writeOffset(a.Ptr(3), outOff)
}
