package kernel

import (
	"encoding/binary"
	"path"
	"strconv"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// session is a session a guest process made with setsid, and its controlling terminal.
// The session vemu starts in is the host's: its terminal stays the host's business.
// Guarded by procTable.mu.
type session struct {
	rdev uint64 // the controlling terminal's device, 0 while it has none
	path string // where the guest opened it: what /dev/tty opens
	fg   int    // the terminal's foreground process group
}

// Terminal device numbers that never become a controlling terminal on open (Linux's
// tty_open(): /dev/tty, /dev/console and the pty multiplexer's masters).
var noCttyDevs = []uint64{unix.Mkdev(5, 0), unix.Mkdev(5, 1), unix.Mkdev(5, 2)}

// newSession records that p leads a new session without a terminal, under pt.mu.
func (k *Kernel) newSession(p *Process) {
	if k.pt.sessions == nil {
		k.pt.sessions = map[int]*session{}
	}
	k.pt.sessions[p.pid] = &session{}
	k.sessionsMade.Store(true)
}

// leaderExited runs as p exits: a session leader's end takes the terminal from its
// session and sends SIGHUP to the terminal's foreground group, as Linux's
// disassociate_ctty() does for a pseudo-terminal.
func (k *Kernel) leaderExited(p *Process) {
	k.pt.mu.Lock()
	s := k.pt.sessions[p.pid]
	if p.sid != p.pid || s == nil {
		k.pt.mu.Unlock()
		return
	}
	delete(k.pt.sessions, p.pid)
	fg := s.fg
	k.pt.mu.Unlock()
	if fg != 0 {
		k.hangUp(fg, false)
	}
}

// hangUp sends the terminal's SIGHUP to process group pgid, then SIGCONT when cont.
func (k *Kernel) hangUp(pgid int, cont bool) {
	for _, q := range k.group(pgid) {
		q.signalFromOutside(0, abi.Siginfo{Signo: abi.SIGHUP, Code: abi.SI_KERNEL})
		if cont {
			q.signalFromOutside(0, abi.Siginfo{Signo: abi.SIGCONT, Code: abi.SI_KERNEL})
		}
	}
}

// terminalDev is the device of host descriptor fd when it is a terminal.
func terminalDev(fd int) (uint64, bool) {
	var termios [64]byte
	if hostIoctl(fd, unix.TCGETS, termios[:]) != nil {
		return 0, false
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return 0, false
	}
	return st.Rdev, true
}

// holderLocked is the guest session whose controlling terminal is rdev, under pt.mu.
func (k *Kernel) holderLocked(rdev uint64) (int, *session) {
	for sid, s := range k.pt.sessions {
		if s.rdev == rdev {
			return sid, s
		}
	}
	return 0, nil
}

// ttyPath is what an open of p names: the caller's controlling terminal for /dev/tty in
// a session of the guest's (ENXIO while it has none), else p.
func (t *Task) ttyPath(p string) (string, error) {
	if path.Clean(p) != "/dev/tty" {
		return p, nil
	}
	k := t.p.k
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	s := k.pt.sessions[t.p.sid]
	if s == nil {
		return p, nil
	}
	if s.rdev == 0 {
		return "", unix.ENXIO
	}
	return s.path, nil
}

// openedTerminal gives a session leader without a terminal the one it just opened
// (host descriptor hfd, guest path p) unless it asked for O_NOCTTY, as Linux's
// tty_open_proc_set_tty().
func (t *Task) openedTerminal(hfd int, p string, flags uint32) {
	if flags&abi.O_NOCTTY != 0 || flags&abi.O_PATH != 0 || !path.IsAbs(p) {
		return
	}
	k := t.p.k
	k.pt.mu.Lock()
	s := k.pt.sessions[t.p.sid]
	ok := s != nil && t.p.sid == t.p.pid && s.rdev == 0
	k.pt.mu.Unlock()
	if !ok {
		return
	}
	rdev, ok := terminalDev(hfd)
	if !ok {
		return
	}
	for _, d := range noCttyDevs {
		if rdev == d {
			return
		}
	}
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	if _, other := k.holderLocked(rdev); other == nil && k.pt.sessions[t.p.sid] == s && s.rdev == 0 {
		s.rdev, s.path, s.fg = rdev, path.Clean(p), t.p.pgid
	}
}

// ttyIoctl implements the controlling-terminal requests for terminals of sessions the
// guest made: TIOCSCTTY, TIOCNOTTY, TIOCGSID, and TIOCGPGRP and TIOCSPGRP on such a
// terminal. It reports false for a request it leaves to the host's terminal.
func (t *Task) ttyIoctl(f *File, req uint32, arg uint64) (uint64, bool, error) {
	switch req {
	case abi.TIOCSCTTY, abi.TIOCNOTTY, abi.TIOCGSID, abi.TIOCGPGRP, abi.TIOCSPGRP:
	default:
		return 0, false, nil
	}
	k := t.p.k
	if req == abi.TIOCSPGRP {
		// From a background group: SIGTTOU first (tiocspgrp()'s tty_check_change()).
		if ok, r, err := t.ttyJob(f, abi.SIGTTOU, false); !ok {
			if err == unix.EIO {
				err = unix.ENOTTY
			}
			return r, true, err
		}
	}
	rdev, isTTY := terminalDev(f.fd)
	k.pt.mu.Lock()
	s := k.pt.sessions[t.p.sid]
	_, holder := k.holderLocked(rdev)
	k.pt.mu.Unlock()
	if s == nil {
		// A process of the host's session: its terminal is the host's. It leads no session
		// vemu could give a terminal to (Linux refuses a process that leads none), and a
		// terminal of a guest's session is not its own.
		switch {
		case req == abi.TIOCSCTTY && isTTY:
			return 0, true, unix.EPERM
		case (req == abi.TIOCGPGRP || req == abi.TIOCSPGRP) && isTTY && holder != nil:
			return 0, true, unix.ENOTTY
		}
		return 0, false, nil
	}
	if !isTTY {
		return 0, true, unix.ENOTTY
	}
	k.pt.mu.Lock()
	defer k.pt.mu.Unlock()
	mine := s.rdev != 0 && s.rdev == rdev
	switch req {
	case abi.TIOCSCTTY:
		if mine {
			return 0, true, nil
		}
		if t.p.sid != t.p.pid || s.rdev != 0 {
			return 0, true, unix.EPERM
		}
		admin := t.p.creds.capable(capSysAdmin)
		if f.flags&abi.O_ACCMODE == abi.O_WRONLY && !admin {
			return 0, true, unix.EPERM
		}
		if _, other := k.holderLocked(rdev); other != nil {
			if arg != 1 || !admin {
				return 0, true, unix.EPERM
			}
			other.rdev, other.path, other.fg = 0, "", 0
		}
		s.rdev, s.path, s.fg = rdev, f.path, t.p.pgid
		return 0, true, nil
	case abi.TIOCNOTTY:
		if !mine {
			return 0, true, unix.ENOTTY
		}
		if t.p.sid != t.p.pid {
			return 0, true, nil
		}
		// The leader gives it up: its foreground group hears SIGHUP and SIGCONT.
		fg := s.fg
		s.rdev, s.path, s.fg = 0, "", 0
		k.pt.mu.Unlock()
		k.hangUp(fg, true)
		k.pt.mu.Lock()
		return 0, true, nil
	}
	addr := mm.Addr(arg)
	if !mine {
		return 0, true, unix.ENOTTY // not the caller's controlling terminal
	}
	switch req {
	case abi.TIOCGSID:
		return 0, true, t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, uint32(t.p.sid)))
	case abi.TIOCGPGRP:
		return 0, true, t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, uint32(s.fg)))
	}
	var b [4]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, true, err
	}
	pgid := int(int32(binary.LittleEndian.Uint32(b[:])))
	if pgid < 0 {
		return 0, true, unix.EINVAL
	}
	found := false
	for _, q := range k.pt.procs {
		if q.pgid == pgid && !q.zombie {
			if q.sid != t.p.sid {
				return 0, true, unix.EPERM
			}
			found = true
		}
	}
	if !found {
		return 0, true, unix.ESRCH
	}
	s.fg = pgid
	return 0, true, nil
}

// ptyIoctl implements the pty master's requests on a host /dev/ptmx descriptor:
// TIOCGPTN, TIOCSPTLCK and TIOCGDEV through the host, and TIOCGPTPEER, which gives the
// guest a descriptor for the peer.
func (t *Task) ptyIoctl(f *File, req uint32, arg uint64) (uint64, bool, error) {
	switch req {
	case abi.TIOCGPTN, abi.TIOCGDEV:
		var b [8]byte
		if err := hostIoctl(f.fd, uint(req), b[:]); err != nil {
			return 0, true, err
		}
		return 0, true, t.p.mm.CopyOut(mm.Addr(arg), b[:4])
	case abi.TIOCSPTLCK:
		var b [8]byte
		if err := t.p.mm.CopyIn(mm.Addr(arg), b[:4]); err != nil {
			return 0, true, err
		}
		return 0, true, hostIoctl(f.fd, uint(req), b[:])
	case abi.TIOCGPTPEER:
		hflags := hostOpenFlags(uint32(arg)) | unix.O_NOCTTY | unix.O_CLOEXEC
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(f.fd), unix.TIOCGPTPEER, uintptr(hflags))
		if e != 0 {
			return 0, true, e
		}
		var b [8]byte
		if err := hostIoctl(f.fd, unix.TIOCGPTN, b[:]); err != nil {
			unix.Close(int(r))
			return 0, true, err
		}
		flags := uint32(arg)
		p := "/dev/pts/" + strconv.Itoa(int(binary.LittleEndian.Uint32(b[:4])))
		fd, err := t.installOpened(int(r), p, flags)
		if err == nil {
			t.openedTerminal(int(r), p, flags)
		}
		return fd, true, err
	}
	return 0, false, nil
}

// ttyDev is the device of f's host descriptor when it is a terminal, found once.
func (f *File) ttyDev() (uint64, bool) {
	if f.ttyKind == 0 {
		f.ttyKind = 1
		if rdev, ok := terminalDev(f.fd); ok {
			f.ttyKind, f.ttyRdev = 2, rdev
		}
	}
	return f.ttyRdev, f.ttyKind == 2
}

// ttyJob is Linux's __tty_check_change() for an operation of t on f: a process of a
// background group of f's session, f being its controlling terminal, sends sig (SIGTTOU
// or SIGTTIN) to its group and the call restarts once the signal is handled (ERESTARTSYS:
// after a stop and SIGCONT, or after a handler with SA_RESTART; EINTR after another
// handler); it goes on when the caller blocks or ignores sig, except a read (SIGTTIN),
// which gives EIO then, as it does for an orphaned group. A write (tostop) is checked
// only with TOSTOP set on the terminal. ok: the operation goes on.
func (t *Task) ttyJob(f *File, sig int, tostop bool) (ok bool, r uint64, err error) {
	k := t.p.k
	if !k.sessionsMade.Load() {
		return true, 0, nil
	}
	rdev, isTTY := f.ttyDev()
	if !isTTY {
		return true, 0, nil
	}
	k.pt.mu.Lock()
	s := k.pt.sessions[t.p.sid]
	pgid := t.p.pgid
	if s == nil || s.rdev != rdev || s.fg == 0 || s.fg == pgid {
		k.pt.mu.Unlock()
		return true, 0, nil
	}
	orphaned := k.orphanedLocked(pgid)
	k.pt.mu.Unlock()
	if tostop {
		var termios [64]byte
		// c_lflag is the fourth 32-bit word of struct termios.
		if hostIoctl(f.fd, unix.TCGETS, termios[:]) != nil || binary.LittleEndian.Uint32(termios[12:])&unix.TOSTOP == 0 {
			return true, 0, nil
		}
	}
	if t.sigmask&sigBit(sig) != 0 || t.p.sigactions[sig].Handler == abi.SIG_IGN {
		if sig == abi.SIGTTIN {
			return false, 0, unix.EIO
		}
		return true, 0, nil
	}
	if orphaned {
		return false, 0, unix.EIO
	}
	info := abi.Siginfo{Signo: int32(sig), Code: abi.SI_KERNEL}
	for _, q := range k.group(pgid) {
		if q != t.p {
			t.p.deliverTo(q, 0, info)
		}
	}
	t.p.deliverTo(t.p, 0, info)
	// Interrupted at once by the signal just queued: see endInterrupted.
	t.pending = &pendingOp{intr: intrRestart}
	return false, 0, errBlocked
}

// closeTerminal closes f's host descriptor; when it was the last one of a pty master
// whose peer is the controlling terminal of a guest session, the session is hung up as
// Linux's __tty_hangup() does: the terminal leaves the session, whose leader gets SIGHUP
// and SIGCONT. Reads of the peer then give end of file and polls POLLHUP, from the host.
func (k *Kernel) closeTerminal(f *File) error {
	var b [8]byte
	if _, isTTY := f.ttyDev(); !isTTY || hostIoctl(f.fd, unix.TIOCGPTN, b[:]) != nil {
		return unix.Close(f.fd)
	}
	peer := "/dev/pts/" + strconv.Itoa(int(binary.LittleEndian.Uint32(b[:4])))
	var st unix.Stat_t
	if unix.Stat(peer, &st) != nil {
		return unix.Close(f.fd)
	}
	k.pt.mu.Lock()
	sid, s := k.holderLocked(st.Rdev)
	k.pt.mu.Unlock()
	err := unix.Close(f.fd)
	if s == nil {
		return err
	}
	var now unix.Stat_t
	if unix.Stat(peer, &now) == nil && now.Rdev == st.Rdev {
		return err // another descriptor of the master is open
	}
	k.pt.mu.Lock()
	if k.pt.sessions[sid] != s || s.rdev != st.Rdev {
		k.pt.mu.Unlock()
		return err
	}
	s.rdev, s.path, s.fg = 0, "", 0
	leader := k.pt.procs[sid]
	if leader != nil && (leader.zombie || leader.sid != sid) {
		leader = nil
	}
	k.pt.mu.Unlock()
	if leader != nil {
		leader.signalFromOutside(0, abi.Siginfo{Signo: abi.SIGHUP, Code: abi.SI_KERNEL})
		leader.signalFromOutside(0, abi.Siginfo{Signo: abi.SIGCONT, Code: abi.SI_KERNEL})
	}
	return err
}

// ttyFieldsLocked are tty_nr and tpgid of /proc/PID/stat for p: its session's
// controlling terminal (its device as Linux encodes it) and foreground group, in a
// session of the guest's; none (0, -1) otherwise. Under pt.mu.
func (k *Kernel) ttyFieldsLocked(p *Process) (int, int) {
	s := k.pt.sessions[p.sid]
	if s == nil || s.rdev == 0 {
		return 0, -1
	}
	major, minor := unix.Major(s.rdev), unix.Minor(s.rdev)
	nr := int(minor&0xff | major<<8 | (minor&^0xff)<<12)
	fg := s.fg
	if fg == 0 {
		fg = -1
	}
	return nr, fg
}
