package kernel

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRunAs checks that an operation run as other credentials is refused what they may
// not do, and that the goroutine that ran it is vemu's again afterwards.
func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func() (uint64, error) {
		fd, err := unix.Open(f, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return 0, err
	}
	user := fileCreds{fsuid: 1000, fsgid: 1000}
	for i := 0; i < 3; i++ {
		if _, err := runAs(user, open); err != unix.EACCES {
			t.Fatalf("as uid 1000: %v, want EACCES", err)
		}
		if _, err := open(); err != nil {
			t.Fatalf("as vemu after: %v", err)
		}
	}
	if _, err := runAs(hostFileCreds(), open); err != nil {
		t.Fatalf("as vemu: %v", err)
	}
}

// BenchmarkActAs is what each system call's entry pays when the credentials have not
// changed.
func BenchmarkActAs(b *testing.B) {
	p := &Process{creds: hostCreds()}
	p.creds.groups = []uint32{1, 2, 3, 4, 5, 6, 7, 8}
	p.onThread = p.creds.file()
	for b.Loop() {
		p.actAs(p.creds.file())
	}
}
