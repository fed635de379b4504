package kernel

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Unix sockets' peer credentials. Linux keeps, in each connected Unix socket, the pid
// and effective ids of the process its peer belongs to (SO_PEERCRED): the creator of a
// socketpair, the process that called connect() for a server's accepted socket, the one
// that called listen() for the client's. Guest sockets are the host's, and every guest
// process lives in vemu's one host process, so the host answers vemu's pid (the first
// guest process's) and vemu's ids for any guest peer: dbus-daemon named the shell that
// started it as the peer of each of its clients. vemu notes the guest identity of each
// Unix socket where Linux takes it, by the socket's host inode, and answers SO_PEERCRED
// with the peer socket's note when the host says the peer is in vemu: the host's
// sock_diag names the peer socket. A socket whose peer vemu has no note for (a client
// asking before the server accepted it) gets the host's answer.

// peerID is the identity a Unix socket gives its peer.
type peerID struct {
	cookie   uint64 // the host socket's SO_COOKIE, never reused, unlike inodes
	pid      int32
	uid, gid uint32
}

var peerIDs struct {
	mu sync.Mutex
	m  map[uint64]peerID // by socket inode
	nl int               // a NETLINK_SOCK_DIAG socket + 1, made on first use
}

// socketInode is the inode of host socket hfd, and whether it is a Unix socket.
func socketInode(hfd int) (uint64, bool) {
	d, err := unix.GetsockoptInt(hfd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil || d != unix.AF_UNIX {
		return 0, false
	}
	var st unix.Stat_t
	if unix.Fstat(hfd, &st) != nil {
		return 0, false
	}
	return st.Ino, true
}

// notePeerID records t's process as the identity Unix socket hfd gives its peer.
func (t *Task) notePeerID(hfd int) {
	ino, ok := socketInode(hfd)
	if !ok {
		return
	}
	c := &t.p.creds
	id := peerID{pid: int32(t.p.pid), uid: c.euid, gid: c.egid}
	notePeer(hfd, ino, id)
}

func notePeer(hfd int, ino uint64, id peerID) {
	ck, err := unix.GetsockoptUint64(hfd, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		return
	}
	id.cookie = ck
	peerIDs.mu.Lock()
	if peerIDs.m == nil {
		peerIDs.m = map[uint64]peerID{}
	}
	peerIDs.m[ino] = id
	peerIDs.mu.Unlock()
}

// acceptedPeerID gives the socket accepted from listener lfd the listener's note: the
// identity the client sees.
func acceptedPeerID(lfd, nfd int) {
	lino, ok := socketInode(lfd)
	if !ok {
		return
	}
	peerIDs.mu.Lock()
	id, ok := peerIDs.m[lino]
	peerIDs.mu.Unlock()
	if !ok {
		return
	}
	if nino, ok := socketInode(nfd); ok {
		notePeer(nfd, nino, id)
	}
}

// peerCred rewrites the host's struct ucred for SO_PEERCRED of socket hfd (b, at least
// 12 bytes) with the guest identity of its peer, when the host's pid is vemu's own.
func peerCred(hfd int, b []byte) {
	if len(b) < 12 || int(int32(binary.LittleEndian.Uint32(b))) != os.Getpid() {
		return
	}
	ino, ok := socketInode(hfd)
	if !ok {
		return
	}
	peerIDs.mu.Lock()
	defer peerIDs.mu.Unlock()
	if len(peerIDs.m) == 0 {
		return
	}
	peer, _, ok := sockDiagLocked(ino, ^uint64(0))
	if !ok {
		return
	}
	id, ok := peerIDs.m[peer]
	if !ok {
		return
	}
	if ck, ok := peerCookieLocked(peer); !ok || ck != id.cookie {
		return // the inode now names another socket than the one noted
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(id.pid))
	binary.LittleEndian.PutUint32(b[4:], id.uid)
	binary.LittleEndian.PutUint32(b[8:], id.gid)
}

// peerCookieLocked is the cookie of the socket with inode ino, if it exists.
func peerCookieLocked(ino uint64) (uint64, bool) {
	_, ck, ok := sockDiagLocked(ino, ^uint64(0))
	return ck, ok
}

// forgetPeerID drops the note of a released socket file (path "socket:[INO]") once the
// host socket is gone: other processes may hold it still.
func forgetPeerID(path string) {
	s, ok := strings.CutPrefix(path, "socket:[")
	if !ok {
		return
	}
	ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
	if err != nil {
		return
	}
	peerIDs.mu.Lock()
	defer peerIDs.mu.Unlock()
	id, ok := peerIDs.m[ino]
	if !ok {
		return
	}
	if _, ck, ok := sockDiagLocked(ino, id.cookie); !ok || ck != id.cookie {
		delete(peerIDs.m, ino)
	}
}

// sockDiagLocked asks the host's sock_diag about the Unix socket with inode ino (and
// cookie, or any with ^0): its peer's inode (0 for none) and its cookie; false when there
// is no such socket or the host will not say.
func sockDiagLocked(ino, cookie uint64) (peer, ck uint64, ok bool) {
	if ino > 0xffffffff {
		return 0, 0, false
	}
	if peerIDs.nl == 0 {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if err != nil {
			return 0, 0, false
		}
		// An answer always comes, the socket or an error; a bound on the wait all the same.
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1})
		peerIDs.nl = fd + 1
	}
	fd := peerIDs.nl - 1
	const udiagShowPeer = 0x4
	req := make([]byte, unix.NLMSG_HDRLEN+24)
	le := binary.LittleEndian
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST)
	r := req[unix.NLMSG_HDRLEN:]
	r[0] = unix.AF_UNIX
	le.PutUint32(r[4:], 0xffffffff) // every state
	le.PutUint32(r[8:], uint32(ino))
	le.PutUint32(r[12:], udiagShowPeer)
	le.PutUint32(r[16:], uint32(cookie))
	le.PutUint32(r[20:], uint32(cookie>>32))
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, 0, false
	}
	buf := make([]byte, 512)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil || n < unix.NLMSG_HDRLEN+16 {
		return 0, 0, false
	}
	if le.Uint16(buf[4:]) != unix.SOCK_DIAG_BY_FAMILY {
		return 0, 0, false // NLMSG_ERROR: no such socket
	}
	msg := buf[unix.NLMSG_HDRLEN:min(n, int(le.Uint32(buf)))]
	if uint64(le.Uint32(msg[4:])) != ino {
		return 0, 0, false
	}
	ck = uint64(le.Uint32(msg[8:])) | uint64(le.Uint32(msg[12:]))<<32
	const unixDiagPeer = 2
	for a := msg[16:]; len(a) >= 4; {
		l := int(le.Uint16(a))
		if l < 4 || l > len(a) {
			break
		}
		if le.Uint16(a[2:]) == unixDiagPeer && l >= 8 {
			peer = uint64(le.Uint32(a[4:]))
		}
		a = a[min((l+3)&^3, len(a)):]
	}
	return peer, ck, true
}
