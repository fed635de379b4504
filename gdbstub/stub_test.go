package gdbstub

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"vemu/abi"
)

// fake is a process of two threads with 4 KiB of memory at 0x400000 and a program that
// "runs" one instruction per byte: a step advances rip by one; a continue runs to the
// next breakpoint, or to the exit when there is none.
type fake struct {
	mu       sync.Mutex
	regs     map[int]*abi.UserRegs
	fx       map[int]*[abi.FXSaveSize]byte
	mem      [4096]byte
	breaks   map[uint64]BreakKind
	stops    chan Stop
	resumed  [][]Action
	catchAll bool
	catchNrs []uint64
	killed   bool
	detached bool
	running  bool
}

const memBase = 0x400000

func newFake() *fake {
	f := &fake{regs: map[int]*abi.UserRegs{}, fx: map[int]*[abi.FXSaveSize]byte{},
		breaks: map[uint64]BreakKind{}, stops: make(chan Stop, 1)}
	for _, tid := range []int{100, 101} {
		f.regs[tid] = &abi.UserRegs{Rip: memBase, Rsp: 0x7fff0000, Cs: abi.UserCS, Ss: abi.UserDS, OrigRax: ^uint64(0)}
		f.fx[tid] = &[abi.FXSaveSize]byte{0: 0x7f, 1: 0x03, 24: 0x80, 25: 0x1f}
	}
	f.regs[101].Rax = 0x1234
	return f
}

func (f *fake) Pid() int       { return 100 }
func (f *fake) Threads() []int { return []int{100, 101} }
func (f *fake) thread(tid int) error {
	if f.regs[tid] == nil {
		return errors.New("no thread")
	}
	return nil
}
func (f *fake) Regs(tid int) (abi.UserRegs, error) {
	if err := f.thread(tid); err != nil {
		return abi.UserRegs{}, err
	}
	return *f.regs[tid], nil
}
func (f *fake) SetRegs(tid int, r *abi.UserRegs) error {
	if err := f.thread(tid); err != nil {
		return err
	}
	*f.regs[tid] = *r
	return nil
}
func (f *fake) FPRegs(tid int) ([abi.FXSaveSize]byte, error) {
	if err := f.thread(tid); err != nil {
		return [abi.FXSaveSize]byte{}, err
	}
	return *f.fx[tid], nil
}
func (f *fake) SetFPRegs(tid int, img *[abi.FXSaveSize]byte) error {
	if err := f.thread(tid); err != nil {
		return err
	}
	*f.fx[tid] = *img
	return nil
}
func (f *fake) span(addr uint64, n int) (int, int) {
	if addr < memBase || addr >= memBase+uint64(len(f.mem)) {
		return 0, 0
	}
	off := int(addr - memBase)
	return off, min(n, len(f.mem)-off)
}
func (f *fake) ReadMemory(addr uint64, b []byte) (int, error) {
	off, n := f.span(addr, len(b))
	copy(b, f.mem[off:off+n])
	if n < len(b) {
		return n, errors.New("fault")
	}
	return n, nil
}
func (f *fake) WriteMemory(addr uint64, b []byte) (int, error) {
	off, n := f.span(addr, len(b))
	copy(f.mem[off:off+n], b)
	if n < len(b) {
		return n, errors.New("fault")
	}
	return n, nil
}
func (f *fake) AddBreak(kind BreakKind, addr uint64, size int) error {
	if _, n := f.span(addr, 1); n == 0 {
		return errors.New("unmapped")
	}
	f.breaks[addr] = kind
	return nil
}
func (f *fake) RemoveBreak(kind BreakKind, addr uint64, size int) error {
	delete(f.breaks, addr)
	return nil
}
func (f *fake) CatchSyscalls(all bool, nrs []uint64) { f.catchAll, f.catchNrs = all, nrs }
func (f *fake) Resume(acts []Action) error {
	f.resumed = append(f.resumed, acts)
	a := acts[0]
	tid := a.Tid
	if tid <= 0 {
		tid = 100
	}
	r := f.regs[tid]
	if a.Kind == Step {
		r.Rip++
		f.stops <- Stop{Tid: tid, Signal: abi.SIGTRAP}
		return nil
	}
	if a.Signal == abi.SIGUSR1 {
		f.stops <- Stop{Kind: Exited, Code: 3}
		return nil
	}
	for pc := r.Rip + 1; pc < memBase+uint64(len(f.mem)); pc++ {
		if k, ok := f.breaks[pc]; ok {
			r.Rip = pc
			f.stops <- Stop{Tid: tid, Signal: abi.SIGTRAP, BreakHit: true, Break: k}
			return nil
		}
	}
	if f.mem[0] == 0xeb { // "jmp ." : runs until interrupted
		f.mu.Lock()
		f.running = true
		f.mu.Unlock()
		return nil
	}
	f.stops <- Stop{Kind: Exited, Code: 0}
	return nil
}
func (f *fake) Stops() <-chan Stop { return f.stops }
func (f *fake) Interrupt() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running {
		f.running = false
		f.stops <- Stop{Tid: 101, Signal: abi.SIGINT}
	}
}
func (f *fake) Siginfo(tid int) ([]byte, bool) {
	b := make([]byte, abi.SiginfoSize)
	(&abi.Siginfo{Signo: abi.SIGSEGV, Code: 1, Addr: 0xdead}).Marshal(b)
	return b, f.thread(tid) == nil
}
func (f *fake) Auxv() []byte {
	return []byte{33, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
}
func (f *fake) ExecFile() string { return "/bin/prog" }
func (f *fake) Maps() string     { return "00400000-00401000 r-xp 00000000 00:00 0 /bin/prog\n" }
func (f *fake) Kill()            { f.killed = true }
func (f *fake) Detach()          { f.detached = true }

// client is gdb's end of a pipe to a stub serving a fake.
type client struct {
	t     *testing.T
	conn  net.Conn
	r     *bufio.Reader
	noAck bool
	done  chan error
}

func startStub(t *testing.T, f *fake) *client {
	t.Helper()
	a, b := net.Pipe()
	c := &client{t: t, conn: a, r: bufio.NewReader(a), done: make(chan error, 1)}
	go func() { c.done <- Serve(b, f, Stop{Tid: 100, Signal: abi.SIGTRAP}); b.Close() }()
	t.Cleanup(func() { a.Close() })
	a.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// raw sends bytes as they are.
func (c *client) raw(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// expectAck reads one acknowledgement byte.
func (c *client) expectAck(want byte) {
	c.t.Helper()
	b, err := c.r.ReadByte()
	if err != nil || b != want {
		c.t.Fatalf("ack %q, %v; want %q", b, err, want)
	}
}

// recv reads one reply packet, acknowledges it, and expands run-length encoding.
func (c *client) recv() string {
	c.t.Helper()
	in := readInput(c.r)
	for in.kind == inAck {
		in = readInput(c.r)
	}
	if in.kind != inPacket {
		c.t.Fatalf("reply: kind %d, %v", in.kind, in.err)
	}
	if !c.noAck {
		c.raw("+")
	}
	out, err := unrle(in.data)
	if err != nil {
		c.t.Fatal(err)
	}
	return string(out)
}

// ask sends a packet and returns the reply.
func (c *client) ask(p string) string {
	c.t.Helper()
	c.raw(string(frame([]byte(p))))
	if !c.noAck {
		c.expectAck('+')
	}
	return c.recv()
}

func (c *client) want(p, reply string) {
	c.t.Helper()
	if got := c.ask(p); got != reply {
		c.t.Errorf("%s: got %q, want %q", p, got, reply)
	}
}

func (c *client) wantPrefix(p, prefix string) string {
	c.t.Helper()
	got := c.ask(p)
	if !strings.HasPrefix(got, prefix) {
		c.t.Errorf("%s: got %q, want %s...", p, got, prefix)
	}
	return got
}

func TestSessionHandshake(t *testing.T) {
	c := startStub(t, newFake())
	sup := c.ask("qSupported:multiprocess+;swbreak+;hwbreak+;exec-events+;vContSupported+")
	for _, f := range []string{"PacketSize=", "qXfer:features:read+", "qXfer:auxv:read+", "qXfer:exec-file:read+",
		"qXfer:threads:read+", "qXfer:siginfo:read+", "QCatchSyscalls+", "swbreak+", "exec-events+"} {
		if !strings.Contains(sup, f) {
			t.Errorf("qSupported reply %q lacks %s", sup, f)
		}
	}
	c.want("QStartNoAckMode", "OK")
	c.noAck = true
	c.want("?", "T05thread:p64.64;")
	c.want("qC", "QCp64.64")
	c.want("qfThreadInfo", "mp64.64,p64.65")
	c.want("Hgp64.65", "OK")
	c.want("Hgp64.0", "OK")
	c.want("qsThreadInfo", "l")
	c.want("qAttached", "0")
	c.want("vMustReplyEmpty", "")
	c.want("qTStatus", "")
	c.want("vCont?", "vCont;c;C;s;S")

	xml := c.wantPrefix("qXfer:features:read:target.xml:0,ffff", "l")
	if xml[1:] != targetXML {
		t.Errorf("target.xml differs")
	}
	// Read in pieces: m while more follows, l for the last.
	var got string
	for off := 0; ; off += 0x100 {
		r := c.ask(fmt.Sprintf("qXfer:features:read:target.xml:%x,100", off))
		got += r[1:]
		if r[0] == 'l' {
			break
		}
		if r[0] != 'm' {
			t.Fatalf("piece at %#x: %q", off, r)
		}
	}
	if got != targetXML {
		t.Error("target.xml read in pieces differs")
	}
	c.want("qXfer:features:read:other.xml:0,100", "E00")
	c.want("qXfer:exec-file:read::0,100", "l/bin/prog")
	c.want("qXfer:exec-file:read:64:4,100", "l/prog")
	c.want("qXfer:exec-file:read::100,100", "l")
	if r := c.ask("qXfer:auxv:read::0,100"); len(r) != 33 || r[1] != '!' {
		t.Errorf("auxv: %q", r)
	}
	c.want("qXfer:threads:read::0,fff", "l<?xml version=\"1.0\"?>\n<threads>\n<thread id=\"p64.64\" core=\"0\" name=\"prog\"/>\n<thread id=\"p64.65\" core=\"0\" name=\"prog\"/>\n</threads>\n")
	si := c.ask("qXfer:siginfo:read::0,200")
	if len(si) != 1+abi.SiginfoSize || si[1] != 11 {
		t.Errorf("siginfo: %q", si)
	}
	c.want("qXfer:unknown:read::0,10", "")
	// Files: the guest's maps, and host files read-only.
	hexName := func(s string) string { return hex.EncodeToString([]byte(s)) }
	c.want("vFile:setfs:0", "F0")
	c.want("vFile:open:"+hexName("/proc/100/task/100/maps")+",0,0", "F1")
	c.want("vFile:pread:1,8,0", "F8;00400000")
	c.want("vFile:pread:1,100,1000", "F0;")
	c.want("vFile:close:1", "F0")
	c.want("vFile:close:1", "F-1,9")
	c.want("vFile:pread:7,8,0", "F-1,9")
	c.want("vFile:open:"+hexName("/etc/hostname")+",1,0", "F-1,d")
	c.want("vFile:open:"+hexName("/no/such/file")+",0,0", "F-1,2")
	c.want("vFile:open:"+hexName("/proc")+",0,0", "F-1,1")
	c.want("vFile:open:zz,0,0", "F-1,16")
	c.want("vFile:unlink:"+hexName("/tmp/x"), "")
	c.want("vKill;64", "OK")
	c.want("?", "X09;process:64")
	c.want("qXfer:features:read:target.xml:zz", errBadPacket)
}

func TestSessionRegisters(t *testing.T) {
	f := newFake()
	c := startStub(t, f)
	g := c.ask("g")
	if len(g) != 2*regBytes {
		t.Fatalf("g: %d hex digits, want %d", len(g), 2*regBytes)
	}
	// rip at offset 128, little-endian.
	if g[256:272] != "0000400000000000" {
		t.Errorf("rip in g: %s", g[256:272])
	}
	c.want("p10", "0000400000000000")
	c.want("p12", "33000000") // cs
	c.want("p3b", "ffffffffffffffff")
	c.want("p3c", errBadPacket)
	c.want("pzz", errBadPacket)
	c.want("Hg65", "OK")
	c.want("p0", "3412000000000000")
	c.want("Hg99", errThread)
	c.want("Hx1", errBadPacket)
	c.want("T65", "OK")
	c.want("T99", errThread)
	c.want("P0=efbeadde00000000", "OK")
	if f.regs[101].Rax != 0xdeadbeef {
		t.Errorf("P0 wrote rax %#x", f.regs[101].Rax)
	}
	c.want("P0=ef", errBadPacket)
	c.want("P38=007f0000", "OK") // mxcsr
	if f.fx[101][25] != 0x7f {
		t.Errorf("mxcsr not written: % x", f.fx[101][24:28])
	}
	// G writes back what g read, with rbx changed.
	c.want("Hg64", "OK")
	g = c.ask("g")
	g2 := g[:16] + "0100000000000000" + g[32:]
	c.want("G"+g2, "OK")
	if f.regs[100].Rbx != 1 || f.regs[100].Rip != memBase {
		t.Errorf("G: rbx %#x rip %#x", f.regs[100].Rbx, f.regs[100].Rip)
	}
	c.want("G00", errBadPacket)
}

func TestSessionMemory(t *testing.T) {
	f := newFake()
	c := startStub(t, f)
	copy(f.mem[:], "hello")
	c.want("m400000,5", hex.EncodeToString([]byte("hello")))
	c.want("m400ffe,4", "0000") // a short read at the end of the mapping
	c.want("m0,4", errMemory)
	c.want("m400000", errBadPacket)
	c.want("M400000,2:4142", "OK")
	c.want("M400000,2:41", errBadPacket)
	c.want("M10,1:41", errMemory)
	// X carries binary with escapes: '}' followed by '#'^0x20 is '#'.
	c.raw(string(frame([]byte("X400002,3:}\x03*}\x04"))))
	c.expectAck('+')
	if r := c.recv(); r != "OK" {
		t.Errorf("X: %q", r)
	}
	if string(f.mem[:5]) != "AB#*$" {
		t.Errorf("memory after X: %q", f.mem[:5])
	}
	c.want("X400000,0:", "OK")
}

func TestSessionBadInput(t *testing.T) {
	c := startStub(t, newFake())
	c.raw("$g#00") // bad checksum: a NAK, then gdb sends it again
	c.expectAck('-')
	c.want("qUnknownQuery", "")
	c.want("vUnknown", "")
	c.want("!", "")
	c.want("Z9,400000,1", "")
	c.want("Z0,400000", errBadPacket)
	c.want("Z0,zz,1", errBadPacket)
	c.want("Z0,10,1", errBreak) // unmapped
	c.want("Z2,400000,0", errBreak)
	c.want("vCont;x", errBadPacket)
	c.want("vCont;c:zz", errBadPacket)
	c.want("Cxx", errBadPacket)
	c.want("QCatchSyscalls:7", errBadPacket)
	c.want("QCatchSyscalls:1;zz", errBadPacket)
	c.want("", "")
	// Still serving.
	c.want("?", "T05thread:64;")
}

func TestSessionRun(t *testing.T) {
	f := newFake()
	c := startStub(t, f)
	c.want("vCont;s:64", "T05thread:64;")
	if f.regs[100].Rip != memBase+1 {
		t.Errorf("step: rip %#x", f.regs[100].Rip)
	}
	c.want("Z0,400010,1", "OK")
	c.want("Z2,400020,4", "OK")
	c.want("vCont;c", "T05swbreak:;thread:64;")
	c.want("c", "T05watch:0;thread:64;") // the fake reports no address
	c.want("z0,400010,1", "OK")
	c.want("z2,400020,4", "OK")
	c.want("QCatchSyscalls:1;1;e7", "OK")
	if f.catchAll || len(f.catchNrs) != 2 || f.catchNrs[1] != 0xe7 {
		t.Errorf("catch: %v %v", f.catchAll, f.catchNrs)
	}
	c.want("QCatchSyscalls:1", "OK")
	c.want("QCatchSyscalls:0", "OK")
	if f.catchAll || f.catchNrs != nil {
		t.Errorf("catch not cleared: %v %v", f.catchAll, f.catchNrs)
	}
	// C with gdb's SIGUSR1 (30) reaches the target as Linux's 10.
	c.want("vCont;C1e:65", "W03")
	if a := f.resumed[len(f.resumed)-1][0]; a.Signal != abi.SIGUSR1 || a.Tid != 101 {
		t.Errorf("resume action %+v", a)
	}
	c.want("?", "W03")
	c.want("g", errGone)
	c.want("c", "W03")
}

func TestSessionInterrupt(t *testing.T) {
	f := newFake()
	f.mem[0] = 0xeb
	c := startStub(t, f)
	c.raw(string(frame([]byte("c"))))
	c.expectAck('+')
	time.Sleep(10 * time.Millisecond)
	c.raw("\x03")
	if r := c.recv(); r != "T02thread:65;" {
		t.Errorf("after ^C: %q", r)
	}
	c.want("qC", "QC65")
}

func TestSessionDetachKill(t *testing.T) {
	f := newFake()
	c := startStub(t, f)
	c.want("D", "OK")
	if err := <-c.done; err != nil || !f.detached {
		t.Errorf("detach: %v, detached %v", err, f.detached)
	}

	f = newFake()
	c = startStub(t, f)
	c.want("vKill;64", "OK")
	c.want("?", "X09")
	if !f.killed {
		t.Error("vKill did not kill")
	}

	f = newFake()
	c = startStub(t, f)
	c.raw(string(frame([]byte("k"))))
	c.expectAck('+')
	if err := <-c.done; err != nil || !f.killed {
		t.Errorf("k: %v, killed %v", err, f.killed)
	}
}

func TestSessionDisconnect(t *testing.T) {
	// gdb goes away while the process runs: it is detached and runs on.
	f := newFake()
	f.mem[0] = 0xeb
	c := startStub(t, f)
	c.raw(string(frame([]byte("c"))))
	c.expectAck('+')
	c.conn.Close()
	if err := <-c.done; err != ErrDisconnected || !f.detached {
		t.Errorf("disconnect while running: %v, detached %v", err, f.detached)
	}

	f = newFake()
	c = startStub(t, f)
	c.want("?", "T05thread:64;")
	c.conn.Close()
	if err := <-c.done; err != ErrDisconnected || !f.detached {
		t.Errorf("disconnect while stopped: %v, detached %v", err, f.detached)
	}
}
