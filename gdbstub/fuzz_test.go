package gdbstub

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzHandle feeds arbitrary packets to a session over the fake process: whatever gdb
// (or anyone on the port) sends, the stub answers without panicking.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{"g", "G00", "p10", "P0=00", "m400000,10", "M400000,1:41", "X400000,1:A",
		"Z0,400010,1", "z2,400000,8", "vCont;s:64;c", "vCont;C0b:p64.65", "c", "S05", "C1e;400000",
		"qXfer:features:read:target.xml:0,fff", "qXfer:threads:read::0,fff", "qXfer:siginfo:read::10,10",
		"QCatchSyscalls:1;0;1", "vFile:open:2f70726f632f7365", "vFile:pread:1,10,0", "Hgp64.-1", "T-1",
		"qSupported:multiprocess+", "vKill;64", "D;64", "k", "}", "m,", "Z0,,", "vCont;", "qXfer:a:b:c:d"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		fk := newFake()
		s := &session{t: fk, w: io.Discard, in: make(chan input, 1), done: make(chan struct{}),
			noAck: true, last: Stop{Tid: 100, Signal: 5}}
		defer close(s.done)
		defer s.closeFiles()
		// The reader of the session is gdb's connection: here it has gone once a resume
		// finds nothing to wait for.
		go s.reader(bufio.NewReader(bytes.NewReader(nil)))
		if fk.mem[0] == 0 {
			fk.mem[0] = 0x90
		}
		for _, p := range bytes.Split(pkt, []byte{0}) {
			data, err := unescape(p)
			if err != nil {
				continue
			}
			if end, _ := s.handle(string(data)); end {
				return
			}
		}
	})
}
