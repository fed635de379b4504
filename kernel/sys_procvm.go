package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// process_vm_readv(2) and process_vm_writev(2) between guest processes. Another
// process's address space belongs to its run loop, so the transfer on its side runs
// there, as a message, while the caller waits; the data crosses through a private
// buffer of at most maxVMIO bytes (the calls may transfer less than asked, as Linux's
// do at a fault).

// maxVMIO bounds one call's transfer.
const maxVMIO = 16 << 20

// capSysPtrace is CAP_SYS_PTRACE.
const capSysPtrace = 19

type vmRange struct {
	addr mm.Addr
	n    uint64
}

// readIovecs reads cnt struct iovec at addr, total length capped at maxVMIO.
func (t *Task) readIovecs(addr mm.Addr, cnt uint64) ([]vmRange, error) {
	if cnt > 1024 {
		return nil, unix.EINVAL
	}
	raw := make([]byte, cnt*abi.IovecSize)
	if err := t.p.mm.CopyIn(addr, raw); err != nil {
		return nil, err
	}
	rs := make([]vmRange, 0, cnt)
	var total uint64
	for i := range cnt {
		base := binary.LittleEndian.Uint64(raw[i*abi.IovecSize:])
		n := binary.LittleEndian.Uint64(raw[i*abi.IovecSize+8:])
		if int64(n) < 0 {
			return nil, unix.EINVAL
		}
		n = min(n, maxVMIO-total)
		total += n
		rs = append(rs, vmRange{mm.Addr(base), n})
	}
	return rs, nil
}

// vmRead copies from the ranges of s into one buffer, stopping at the first byte the
// process may not read, or, on the remote side (which Linux pins), of secret memory.
func vmRead(s *mm.Space, rs []vmRange, remote bool) []byte {
	var out []byte
	for _, r := range rs {
		for done := uint64(0); done < r.n; {
			a := r.addr + mm.Addr(done)
			chunk := min(r.n-done, mm.PageSize-uint64(a)%mm.PageSize)
			b := make([]byte, chunk)
			if remote && s.Secret(a, a+mm.Addr(chunk)) || s.CopyIn(a, b) != nil {
				return out
			}
			out = append(out, b...)
			done += chunk
		}
	}
	return out
}

// vmWrite copies data into the ranges of s, stopping at the first byte the process may
// not write, or, on the remote side, of secret memory; it returns how much went.
func vmWrite(s *mm.Space, rs []vmRange, data []byte, remote bool) int {
	n := 0
	for _, r := range rs {
		for done := uint64(0); done < r.n && n < len(data); {
			a := r.addr + mm.Addr(done)
			chunk := min(r.n-done, mm.PageSize-uint64(a)%mm.PageSize, uint64(len(data)-n))
			if remote && s.Secret(a, a+mm.Addr(chunk)) || s.CopyOut(a, data[n:n+int(chunk)]) != nil {
				return n
			}
			n += int(chunk)
			done += chunk
		}
	}
	return n
}

// vmTarget finds the process for pid and checks the caller may reach its memory, as
// ptrace_may_access(): the same ids, or CAP_SYS_PTRACE.
func (t *Task) vmTarget(pid int32) (*Process, error) {
	if pid <= 0 {
		return nil, unix.ESRCH
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	q := k.lookupLocked(int(pid))
	if q == nil || q.zombie {
		return nil, unix.ESRCH
	}
	c, d := &t.p.creds, &q.creds
	same := c.ruid == d.ruid && c.ruid == d.euid && c.ruid == d.suid && c.rgid == d.rgid && c.rgid == d.egid && c.rgid == d.sgid
	if q != t.p && !same && !c.capable(capSysPtrace) {
		return nil, unix.EPERM
	}
	return q, nil
}

// onLoop runs f on q's run loop and waits for it; false when q ended first.
func onLoop(q *Process, f func()) bool {
	done := make(chan struct{})
	q.send(wakeup{fn: func() { f(); close(done) }})
	select {
	case <-done:
		return true
	case <-q.done:
		return false
	}
}

// sysProcessVMReadv implements process_vm_readv(2).
func sysProcessVMReadv(t *Task, a Args) (uint64, error) { return t.processVM(a, true) }

// sysProcessVMWritev implements process_vm_writev(2).
func sysProcessVMWritev(t *Task, a Args) (uint64, error) { return t.processVM(a, false) }

func (t *Task) processVM(a Args, read bool) (uint64, error) {
	if a[5] != 0 {
		return 0, unix.EINVAL
	}
	local, err := t.readIovecs(a.Ptr(1), a[2])
	if err != nil {
		return 0, err
	}
	remote, err := t.readIovecs(a.Ptr(3), a[4])
	if err != nil {
		return 0, err
	}
	q, err := t.vmTarget(a.Int(0))
	if err != nil {
		return 0, err
	}
	var want uint64
	for _, r := range local {
		want += r.n
	}
	if read {
		// The remote bytes, then scattered into the caller's buffers.
		var data []byte
		finish := func(uint64, error) (uint64, error) {
			data = data[:min(uint64(len(data)), want)]
			n := vmWrite(t.p.mm, local, data, false)
			if n < len(data) && n == 0 {
				return 0, unix.EFAULT
			}
			if len(data) == 0 && want > 0 {
				return 0, unix.EFAULT
			}
			return uint64(n), nil
		}
		if q == t.p {
			data = vmRead(q.mm, remote, true)
			return finish(0, nil)
		}
		return t.blockThen(func() (uint64, error) {
			if !onLoop(q, func() { data = vmRead(q.mm, remote, true) }) {
				return 0, unix.ESRCH
			}
			return 0, nil
		}, func(r uint64, err error) (uint64, error) {
			if err != nil {
				return 0, err
			}
			return finish(r, err)
		})
	}
	data := vmRead(t.p.mm, local, false)
	if len(data) == 0 && want > 0 {
		return 0, unix.EFAULT
	}
	if q == t.p {
		n := vmWrite(q.mm, remote, data, true)
		if n == 0 && len(data) > 0 {
			return 0, unix.EFAULT
		}
		return uint64(n), nil
	}
	var n int
	return t.blockThen(func() (uint64, error) {
		if !onLoop(q, func() { n = vmWrite(q.mm, remote, data, true) }) {
			return 0, unix.ESRCH
		}
		if n == 0 && len(data) > 0 {
			return 0, unix.EFAULT
		}
		return uint64(n), nil
	}, nil)
}
