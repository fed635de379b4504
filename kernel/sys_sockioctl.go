package kernel

import (
	"encoding/binary"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Socket ioctls. Guest sockets are the host's, in the host's network namespace, so the
// questions about network interfaces (SIOCGIF*) are the host socket's to answer: their
// struct ifreq is copied in, passed to the host and copied out whole, as Linux's
// get_user_ifreq and put_user_ifreq do. Requests that change an interface are refused
// with EPERM, as Linux refuses them to a process without CAP_NET_ADMIN in the network
// namespace's user namespace: a guest never reconfigures the host's network.

// ifreqGet are the requests that read an interface's name, flags, addresses, index,
// MTU... into the union of a struct ifreq named by ifr_name (ifr_ifindex for SIOCGIFNAME).
var ifreqGet = map[uint32]uint{
	abi.SIOCGIFNAME:    unix.SIOCGIFNAME,
	abi.SIOCGIFFLAGS:   unix.SIOCGIFFLAGS,
	abi.SIOCGIFADDR:    unix.SIOCGIFADDR,
	abi.SIOCGIFDSTADDR: unix.SIOCGIFDSTADDR,
	abi.SIOCGIFBRDADDR: unix.SIOCGIFBRDADDR,
	abi.SIOCGIFNETMASK: unix.SIOCGIFNETMASK,
	abi.SIOCGIFMETRIC:  unix.SIOCGIFMETRIC,
	abi.SIOCGIFMTU:     unix.SIOCGIFMTU,
	abi.SIOCGIFHWADDR:  unix.SIOCGIFHWADDR,
	abi.SIOCGIFINDEX:   unix.SIOCGIFINDEX,
	abi.SIOCGIFPFLAGS:  unix.SIOCGIFPFLAGS,
	abi.SIOCGIFTXQLEN:  unix.SIOCGIFTXQLEN,
	abi.SIOCGIFMAP:     unix.SIOCGIFMAP,
}

// ifreqSet are the requests that change an interface.
var ifreqSet = map[uint32]bool{
	abi.SIOCSIFLINK: true, abi.SIOCSIFFLAGS: true, abi.SIOCSIFADDR: true,
	abi.SIOCSIFDSTADDR: true, abi.SIOCSIFBRDADDR: true, abi.SIOCSIFNETMASK: true,
	abi.SIOCSIFMETRIC: true, abi.SIOCSIFMTU: true, abi.SIOCSIFNAME: true,
	abi.SIOCSIFHWADDR: true, abi.SIOCADDMULTI: true, abi.SIOCDELMULTI: true,
	abi.SIOCSIFPFLAGS: true, abi.SIOCDIFADDR: true, abi.SIOCSIFHWBROADCAST: true,
	abi.SIOCSIFTXQLEN: true, abi.SIOCSIFMAP: true,
}

// devPrivate says whether req is one of the requests Linux's dev_ioctl() passes to the
// device's driver (SIOCWANDEV, SIOCDEVPRIVATE to SIOCDEVPRIVATE+15: tunnels, bonding,
// MII...), which may change the interface: refused with EPERM as ifreqSet's, where
// Linux's driver may answer (a tunnel's parameters) or say EOPNOTSUPP (lo).
func devPrivate(req uint32) bool {
	return req == abi.SIOCWANDEV || req >= abi.SIOCDEVPRIVATE && req <= abi.SIOCDEVPRIVATE+15
}

// sockOut are the requests about the socket itself that write an int (SIOCATMARK,
// SIOCOUTQ, SIOCOUTQNSD) or a timestamp (SIOCGSTAMP's timeval, SIOCGSTAMPNS's timespec)
// to the argument, with its size.
var sockOut = map[uint32]struct {
	size int
	host uint
}{
	abi.SIOCATMARK:   {4, unix.SIOCATMARK},
	abi.TIOCOUTQ:     {4, unix.SIOCOUTQ},
	abi.SIOCOUTQNSD:  {4, unix.SIOCOUTQNSD},
	abi.SIOCGSTAMP:   {abi.TimevalSize, unix.SIOCGSTAMP},
	abi.SIOCGSTAMPNS: {abi.TimespecSize, unix.SIOCGSTAMPNS},
}

// isSocketRequest reports whether req is one of the socket ioctls sockIoctl answers.
func isSocketRequest(req uint32) bool {
	switch req {
	case abi.SIOCGIFCONF, abi.FIOSETOWN, abi.SIOCSPGRP, abi.FIOGETOWN, abi.SIOCGPGRP:
		return true
	}
	_, get := ifreqGet[req]
	_, out := sockOut[req]
	return get || ifreqSet[req] || out || devPrivate(req)
}

// sockIoctl answers the socket ioctls on a guest socket; ok is false when f is not a
// socket or req not a socket request, for the caller's other cases.
func (t *Task) sockIoctl(f *File, req uint32, addr mm.Addr) (r uint64, ok bool, err error) {
	if !isSocketRequest(req) {
		return 0, false, nil
	}
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return 0, false, nil
	}
	switch req {
	case abi.SIOCGIFCONF:
		return 0, true, t.ifconf(f, addr)
	case abi.FIOSETOWN, abi.SIOCSPGRP:
		var b [4]byte
		if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
			return 0, true, err
		}
		_, err := t.fcntlOwn(f, abi.F_SETOWN, uint64(int64(int32(binary.LittleEndian.Uint32(b[:])))))
		return 0, true, err
	case abi.FIOGETOWN, abi.SIOCGPGRP:
		own, _ := t.fcntlOwn(f, abi.F_GETOWN, 0)
		return 0, true, t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, uint32(own)))
	}
	if d, out := sockOut[req]; out {
		buf := make([]byte, d.size+8)
		if err := hostIoctl(f.fd, d.host, buf); err != nil {
			return 0, true, err
		}
		return 0, true, t.p.mm.CopyOut(addr, buf[:d.size])
	}
	var b [abi.IfreqSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return 0, true, err
	}
	var ifr abi.Ifreq
	ifr.Unmarshal(b[:])
	if ifreqSet[req] || devPrivate(req) {
		// For a change Linux checks CAP_NET_ADMIN, then looks the interface up: a
		// process with the capability learns that the name is no interface's (ENODEV).
		// A driver's request looks the interface up first, whoever asks; the driver
		// checks the capability.
		if devPrivate(req) || t.p.creds.capable(capNetAdmin) {
			hb := make([]byte, abi.IfreqSize)
			name := abi.Ifreq{Name: ifr.Name}
			name.Marshal(hb)
			if hostIoctl(f.fd, unix.SIOCGIFINDEX, hb) == unix.ENODEV {
				return 0, true, unix.ENODEV
			}
		}
		return 0, true, unix.EPERM
	}
	// The host's struct ifreq is the guest's (both x86-64); marshalling keeps the two
	// apart all the same.
	hb := make([]byte, abi.IfreqSize)
	ifr.Marshal(hb)
	if err := hostIoctl(f.fd, ifreqGet[req], hb); err != nil {
		return 0, true, err
	}
	ifr.Unmarshal(hb)
	ifr.Marshal(b[:])
	return 0, true, t.p.mm.CopyOut(addr, b[:])
}

// ifconf implements SIOCGIFCONF as Linux's dev_ifconf: with a null buffer, the length
// the entries need; otherwise as many whole struct ifreq entries (one per IPv4 address)
// as ifc_len holds, written to the guest's buffer, and ifc_len set to their length. A
// negative ifc_len holds none. The host buffer is never larger than the host's entries,
// whatever length the guest claims.
func (t *Task) ifconf(f *File, addr mm.Addr) error {
	var b [abi.IfconfSize]byte
	if err := t.p.mm.CopyIn(addr, b[:]); err != nil {
		return err
	}
	var ic abi.Ifconf
	ic.Unmarshal(b[:])
	need, err := hostIfconfLen(f.fd)
	if err != nil {
		return err
	}
	total := need
	if ic.Buf != 0 {
		room := 0
		if ic.Len > 0 {
			room = min(int(ic.Len), need) / abi.IfreqSize * abi.IfreqSize
		}
		total = 0
		if room > 0 {
			entries := make([]byte, room)
			if total, err = hostIfconf(f.fd, entries); err != nil {
				return err
			}
			// Entry by entry, as Linux writes them: those before a fault stay written.
			for off := 0; off < total; off += abi.IfreqSize {
				if err := t.p.mm.CopyOut(mm.Addr(ic.Buf+uint64(off)), entries[off:off+abi.IfreqSize]); err != nil {
					return err
				}
			}
		}
	}
	return t.p.mm.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, uint32(int32(total))))
}

// hostIfconfLen asks the host socket fd how many bytes SIOCGIFCONF's entries take.
func hostIfconfLen(fd int) (int, error) {
	var ic [abi.IfconfSize]byte
	if err := hostIoctl(fd, unix.SIOCGIFCONF, ic[:]); err != nil {
		return 0, err
	}
	var c abi.Ifconf
	c.Unmarshal(ic[:])
	return int(c.Len), nil
}

// hostIfconf has the host socket fd fill entries with struct ifreq entries; it returns
// the length written.
func hostIfconf(fd int, entries []byte) (int, error) {
	var ic [abi.IfconfSize]byte
	// SAFETY: the host writes at most len(entries) bytes at &entries[0] (ifc_len bounds
	// it), and KeepAlive holds entries until the call returns; Go heap values do not move.
	c := abi.Ifconf{Len: int32(len(entries)), Buf: uint64(uintptr(unsafe.Pointer(&entries[0])))}
	c.Marshal(ic[:])
	err := hostIoctl(fd, unix.SIOCGIFCONF, ic[:])
	runtime.KeepAlive(entries)
	c.Unmarshal(ic[:])
	if err != nil {
		return 0, err
	}
	return min(max(int(c.Len), 0), len(entries)) / abi.IfreqSize * abi.IfreqSize, nil
}
