package kernel

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Restartable sequences, as Linux 6.18 keeps them. A thread registers a struct rseq;
// whenever it comes back to guest code after it was switched out (another thread of its
// process ran, or it blocked), moved to another CPU (sched_setaffinity), or before a
// signal handler's frame is written, the kernel abandons the critical section the area's
// rseq_cs describes if rip is inside it (rip goes to its abort_ip), and writes the
// area's CPU fields. A thread without a registration costs nothing: each step starts by
// looking at rseqReg.area. mm_cid is 0 for every thread: a process's threads run one
// at a time, so 0 is unique among those running at once; node_id is 0, as getcpu's.

// rseqReg is a thread's registration; area 0 is none.
type rseqReg struct {
	area mm.Addr
	len  uint32
	sig  uint32
	// event: switched out, moved or signalled since the last fix-up (Linux's
	// rseq_event_mask); notify: the fields are to be written before guest code runs
	// again (TIF_NOTIFY_RESUME); fresh: registered since, so rseq_cs is cleared then
	// whatever it holds, as Linux 6.18 does.
	event, notify, fresh bool
}

// rseqError is why a registered thread's area could not be served: Linux sends SIGSEGV.
type rseqError struct {
	what string
	err  error
}

func (e *rseqError) Error() string { return "rseq: " + e.what + ": " + e.err.Error() }

func (e *rseqError) Unwrap() error { return e.err }

// sysRseq implements rseq(2) for the calling thread, with Linux's checks in Linux's
// order: the flags; a thread registers once (EBUSY with the same arguments again, EPERM
// with another signature, EINVAL otherwise); the area is 32-byte aligned and at least 32
// bytes long (EINVAL), in user space and readable (EFAULT). Whether it is writable shows
// when the fields are written on the way back: a SIGSEGV then.
func sysRseq(t *Task, a Args) (uint64, error) {
	area, n, flags, sig := a.Ptr(0), a.Uint(1), a.Int(2), a.Uint(3)
	r := &t.rseq
	if flags&abi.RSEQ_FLAG_UNREGISTER != 0 {
		if flags != abi.RSEQ_FLAG_UNREGISTER {
			return 0, unix.EINVAL
		}
		if r.area == 0 || r.area != area || n != r.len {
			return 0, unix.EINVAL
		}
		if sig != r.sig {
			return 0, unix.EPERM
		}
		// As Linux's rseq_reset_rseq_cpu_node_id(): cpu_id back to uninitialized.
		le := binary.LittleEndian
		if err := t.p.mm.CopyOut(area+abi.RseqCPUIDStart, le.AppendUint32(le.AppendUint32(nil, 0), abi.RSEQ_CPU_ID_UNINITIALIZED)); err != nil {
			return 0, unix.EFAULT
		}
		if err := t.p.mm.CopyOut(area+abi.RseqNodeID, make([]byte, 8)); err != nil {
			return 0, unix.EFAULT
		}
		*r = rseqReg{}
		return 0, nil
	}
	if flags != 0 {
		return 0, unix.EINVAL
	}
	if r.area != 0 {
		if r.area != area || n != r.len {
			return 0, unix.EINVAL
		}
		if sig != r.sig {
			return 0, unix.EPERM
		}
		return 0, unix.EBUSY
	}
	if n < abi.RseqOrigSize || area%abi.RseqAlign != 0 {
		return 0, unix.EINVAL
	}
	if _, ok := area.RangeEnd(uint64(n)); !ok {
		return 0, unix.EFAULT
	}
	// Linux 6.18 reads the area as it registers it: an unmapped one is EFAULT, and one
	// it can read but not write is a SIGSEGV when its fields are written.
	var head [abi.RseqOrigSize]byte
	if err := t.p.mm.CopyIn(area, head[:]); err != nil {
		return 0, unix.EFAULT
	}
	*r = rseqReg{area: area, len: n, sig: sig, notify: true, fresh: true}
	t.p.stop = true // the fields are written before the thread runs on
	return 0, nil
}

// rseqSwitchedOut notes that t, registered, left the CPU: it was preempted, blocked or
// moved to another CPU.
func (t *Task) rseqSwitchedOut() {
	if t.rseq.area != 0 {
		t.rseq.event, t.rseq.notify = true, true
	}
}

// rseqResume is Linux's rseq_handle_notify_resume() for t, the thread on the CPU, as it
// goes back to guest code: the fix-up after an event, then the CPU fields. A failure is
// a SIGSEGV, as Linux's force_sigsegv().
func (t *Task) rseqResume() {
	t.rseq.notify = false
	if err := t.rseqServe(); err != nil {
		t.forceSigsegv(0, err)
	}
}

// rseqSignal is Linux's rseq_signal_deliver(): a signal's delivery is an event, served
// before the frame saves rip. The caller sends SIGSEGV after the frame on an error.
func (t *Task) rseqSignal() error {
	if t.rseq.area == 0 {
		return nil
	}
	t.rseq.event = true
	return t.rseqServe()
}

// rseqHost is the registered area's first 32 bytes in host memory when the guest's
// mapping there is plain read-write memory, so that a switch costs one lookup; nil
// otherwise (unmapped, read-only, executable: code the CPU translated must be flushed),
// and the copies then check each access.
func (t *Task) rseqHost() []byte {
	a := t.rseq.area
	v := t.p.mm.Lookup(a)
	const rw = emu.ProtRead | emu.ProtWrite
	if v == nil || v.Prot&(rw|emu.ProtExec) != rw || v.Bus || a+abi.RseqOrigSize > v.End {
		return nil
	}
	off := a - v.Start
	return v.Host()[off : off+abi.RseqOrigSize]
}

// rseqServe fixes up t's rip after an event and writes the area's CPU fields.
func (t *Task) rseqServe() error {
	r := &t.rseq
	h := t.rseqHost()
	if r.fresh {
		r.fresh = false
		if h != nil {
			binary.LittleEndian.PutUint64(h[abi.RseqCS:], 0)
		} else if err := t.p.mm.CopyOut(r.area+abi.RseqCS, make([]byte, 8)); err != nil {
			return &rseqError{"rseq_cs", err}
		}
	}
	if r.event {
		r.event = false
		if err := t.rseqFixup(h); err != nil {
			return err
		}
	}
	le := binary.LittleEndian
	if h != nil {
		le.PutUint32(h[abi.RseqCPUIDStart:], t.cpuNum)
		le.PutUint32(h[abi.RseqCPUID:], t.cpuNum)
		le.PutUint64(h[abi.RseqNodeID:], 0) // node_id and mm_cid
		return nil
	}
	ids := le.AppendUint32(le.AppendUint32(nil, t.cpuNum), t.cpuNum)
	if err := t.p.mm.CopyOut(r.area+abi.RseqCPUIDStart, ids); err != nil {
		return &rseqError{"cpu_id", err}
	}
	// node_id and mm_cid: 0 (see above).
	if err := t.p.mm.CopyOut(r.area+abi.RseqNodeID, make([]byte, 8)); err != nil {
		return &rseqError{"node_id", err}
	}
	return nil
}

// rseqFixup is Linux's rseq_ip_fixup() with an event: when rip is inside the critical
// section that rseq_cs points to, rip goes to its abort_ip and rseq_cs is cleared;
// outside, rseq_cs is cleared. A descriptor Linux refuses (beyond user space, a version
// other than 0, a range that wraps, abort_ip inside the section, the word before
// abort_ip not the registered signature, a NO_RESTART flag) is an error. h is
// rseqHost's.
func (t *Task) rseqFixup(h []byte) error {
	r := &t.rseq
	s := t.p.mm
	le := binary.LittleEndian
	var w [8]byte
	if h != nil {
		copy(w[:], h[abi.RseqCS:])
	} else if err := s.CopyIn(r.area+abi.RseqCS, w[:]); err != nil {
		return &rseqError{"rseq_cs", err}
	}
	var start, post, abort uint64
	var csFlags uint32
	if p := mm.Addr(le.Uint64(w[:])); p != 0 {
		if p >= mm.TaskSize {
			return &rseqError{fmt.Sprintf("rseq_cs %#x", uint64(p)), unix.EINVAL}
		}
		var cs [abi.RseqCSSize]byte
		if err := s.CopyIn(p, cs[:]); err != nil {
			return &rseqError{fmt.Sprintf("rseq_cs %#x", uint64(p)), err}
		}
		version := le.Uint32(cs[abi.RseqCSVersion:])
		csFlags = le.Uint32(cs[abi.RseqCSFlags:])
		start = le.Uint64(cs[abi.RseqCSStartIP:])
		post = le.Uint64(cs[abi.RseqCSPostCommitOffset:])
		abort = le.Uint64(cs[abi.RseqCSAbortIP:])
		top := uint64(mm.TaskSize)
		switch {
		case start >= top || start+post >= top || abort >= top || version > 0,
			start+post < start, // wraps
			abort-start < post: // abort_ip inside the section
			return &rseqError{fmt.Sprintf("rseq_cs %#x", uint64(p)), unix.EINVAL}
		}
		var sw [4]byte
		if err := s.CopyIn(mm.Addr(abort-4), sw[:]); err != nil {
			return &rseqError{"signature", err}
		}
		if le.Uint32(sw[:]) != r.sig {
			return &rseqError{fmt.Sprintf("signature %#x before abort_ip %#x", le.Uint32(sw[:]), abort), unix.EINVAL}
		}
	}
	rip := t.cpu.Reg(emu.RIP)
	if rip-start < post {
		const noRestart = abi.RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT | abi.RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL |
			abi.RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE
		if csFlags&noRestart != 0 {
			return &rseqError{"rseq_cs flags", unix.EINVAL}
		}
		var f [4]byte
		if h != nil {
			copy(f[:], h[abi.RseqFlags:])
		} else if err := s.CopyIn(r.area+abi.RseqFlags, f[:]); err != nil {
			return &rseqError{"flags", err}
		}
		if le.Uint32(f[:])&noRestart != 0 {
			return &rseqError{"flags", unix.EINVAL}
		}
	}
	if h != nil {
		le.PutUint64(h[abi.RseqCS:], 0)
	} else if err := s.CopyOut(r.area+abi.RseqCS, make([]byte, 8)); err != nil {
		return &rseqError{"rseq_cs", err}
	}
	if rip-start < post {
		t.cpu.SetReg(emu.RIP, abort)
	}
	return nil
}

// sysRseqSliceYield implements rseq_slice_yield(2): 1 when the thread gives up a time
// slice extension the kernel granted, else 0. vemu grants none (prctl
// PR_RSEQ_SLICE_EXTENSION is not offered), so the answer is always 0, Linux's answer
// for a thread without a grant.
func sysRseqSliceYield(t *Task, a Args) (uint64, error) { return 0, nil }
