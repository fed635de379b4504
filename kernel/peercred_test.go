package kernel

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// A socket's note goes when the last host descriptor of the socket closes, not before, so
// that sockets made and closed by the million leave nothing behind.
func TestPeerIDForgotten(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ino, ok := socketInode(fds[0])
	if !ok {
		t.Fatal("no inode for a Unix socket")
	}
	notePeer(fds[0], ino, peerID{pid: 7, uid: 8, gid: 9})
	dup, err := unix.Dup(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("socket:[%d]", ino)
	noted := func() bool {
		peerIDs.mu.Lock()
		defer peerIDs.mu.Unlock()
		_, ok := peerIDs.m[ino]
		return ok
	}
	b := make([]byte, 12)
	if err := unix.Close(fds[0]); err != nil {
		t.Fatal(err)
	}
	forgetPeerID(path)
	if !noted() {
		t.Fatal("the note went while a descriptor of the socket was open")
	}
	// The other end asks: the host names this process, so the note answers.
	cred, err := unix.GetsockoptUcred(fds[1], unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		t.Fatal(err)
	}
	putUcred(b, cred)
	peerCred(fds[1], b)
	if got := fmt.Sprint(b); got != fmt.Sprint([]byte{7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0}) {
		t.Fatalf("SO_PEERCRED with the note: %v", got)
	}
	unix.Close(dup)
	forgetPeerID(path)
	if noted() {
		t.Fatal("the note stayed after the socket was gone")
	}
	unix.Close(fds[1])
}

func putUcred(b []byte, c *unix.Ucred) {
	for i, v := range []uint32{uint32(c.Pid), c.Uid, c.Gid} {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
}
