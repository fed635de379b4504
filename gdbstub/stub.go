package gdbstub

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// Replies for requests the stub cannot satisfy: the protocol's errors are E and two hex
// digits, which gdb reports as a failure of the command.
const (
	errBadPacket = "E01" // a packet the stub could not parse
	errThread    = "E02" // no such thread
	errMemory    = "E14" // EFAULT: memory that cannot be read or written
	errBreak     = "E16" // a breakpoint or watchpoint that cannot be set
	errGone      = "E03" // the process has exited
)

// ErrDisconnected is what Serve returns when gdb went away without detaching; the
// process has been detached and runs on.
var ErrDisconnected = errors.New("gdb disconnected")

// session is one connection's state.
type session struct {
	t      Target
	w      io.Writer
	in     chan input
	done   chan struct{}
	noAck  bool
	pushed *input // a packet that arrived while an acknowledgement was awaited

	gTid, cTid int // Hg and Hc: 0 any, -1 all
	last       Stop
	gone       bool // the process exited or was killed
	execEvents bool // gdb asked for exec stop replies
	multi      bool // thread ids are pPID.TID (gdb then knows the real pid)
	files      map[int]*vfile
	nextFile   int
}

// threadID spells a thread id for gdb.
func (s *session) threadID(tid int) string {
	if s.multi {
		return fmt.Sprintf("p%x.%x", s.t.Pid(), tid)
	}
	return strconv.FormatInt(int64(tid), 16)
}

// Serve speaks the remote protocol on conn for t until gdb detaches, kills the process,
// or disconnects, or conn fails. The process must be stopped (before its first
// instruction, say) and first is that stop. When gdb goes away without detaching, the
// process is detached and Serve returns ErrDisconnected.
func Serve(conn io.ReadWriter, t Target, first Stop) error {
	s := &session{t: t, w: conn, in: make(chan input, 16), done: make(chan struct{}), last: first}
	defer close(s.done)
	defer s.closeFiles()
	go s.reader(bufio.NewReader(conn))
	for {
		in := s.next()
		switch in.kind {
		case inEOF:
			if s.gone {
				return nil
			}
			t.Detach()
			return ErrDisconnected
		case inBad:
			if !s.noAck {
				s.w.Write([]byte{'-'})
			}
			continue
		case inPacket:
		default:
			continue // acknowledgements, or ^C while stopped
		}
		if !s.noAck {
			if _, err := s.w.Write([]byte{'+'}); err != nil {
				return ErrDisconnected
			}
		}
		pkt, err := unescape(in.data)
		if err != nil {
			if err := s.reply(errBadPacket); err != nil {
				return err
			}
			continue
		}
		end, err := s.handle(string(pkt))
		if err != nil || end {
			return err
		}
	}
}

// reader turns the connection's bytes into inputs until it fails.
func (s *session) reader(r *bufio.Reader) {
	for {
		in := readInput(r)
		select {
		case s.in <- in:
		case <-s.done:
			return
		}
		if in.kind == inEOF {
			return
		}
	}
}

func (s *session) next() input {
	if p := s.pushed; p != nil {
		s.pushed = nil
		return *p
	}
	return <-s.in
}

// reply sends a text payload (run-length encoded) and waits for its acknowledgement.
func (s *session) reply(payload string) error {
	return s.send(rle([]byte(payload)))
}

// replyBinary sends a payload whose data part may hold any byte.
func (s *session) replyBinary(prefix string, data []byte) error {
	return s.send(append([]byte(prefix), escape(data)...))
}

func (s *session) send(payload []byte) error {
	pkt := frame(payload)
	for range 8 {
		if _, err := s.w.Write(pkt); err != nil {
			return ErrDisconnected
		}
		if s.noAck {
			return nil
		}
		for {
			in := s.next()
			switch in.kind {
			case inAck:
				return nil
			case inNak:
			case inEOF:
				s.pushed = &in
				return nil
			case inPacket, inBad:
				// gdb went on without acknowledging: take it as received.
				s.pushed = &in
				return nil
			default:
				continue
			}
			break // resend after '-'
		}
	}
	return nil
}

// handle answers one packet; end says the session is over.
func (s *session) handle(p string) (end bool, err error) {
	if p == "" {
		return false, s.reply("")
	}
	switch p[0] {
	case '?':
		return false, s.reply(s.stopReply(s.last))
	case 'q', 'Q':
		return false, s.query(p)
	case 'v':
		return s.vPacket(p)
	case 'H':
		return false, s.reply(s.setThread(p))
	case 'T':
		tid, ok := parseTid(p[1:])
		if ok && s.alive(tid) {
			return false, s.reply("OK")
		}
		return false, s.reply(errThread)
	case 'g':
		return false, s.readRegs()
	case 'G':
		return false, s.reply(s.writeRegs(p[1:]))
	case 'p':
		return false, s.readReg(p[1:])
	case 'P':
		return false, s.reply(s.writeReg(p[1:]))
	case 'm':
		return false, s.readMem(p[1:])
	case 'M':
		return false, s.reply(s.writeMem(p[1:], false))
	case 'X':
		return false, s.reply(s.writeMem(p[1:], true))
	case 'Z', 'z':
		return false, s.reply(s.breakpoint(p))
	case 'c', 's', 'C', 'S':
		return s.legacyResume(p)
	case 'k':
		if !s.gone {
			s.t.Kill()
		}
		return true, nil
	case 'D':
		if !s.gone {
			s.t.Detach()
		}
		s.reply("OK")
		return true, nil
	}
	return false, s.reply("")
}

// query answers q and Q packets.
func (s *session) query(p string) error {
	name, args, _ := strings.Cut(p, ":")
	switch name {
	case "qSupported":
		multi := ""
		for _, f := range strings.Split(args, ";") {
			switch f {
			case "exec-events+":
				s.execEvents = true
			case "multiprocess+":
				s.multi, multi = true, ";multiprocess+"
			}
		}
		return s.reply("PacketSize=" + strconv.FormatInt(PacketSize, 16) + multi +
			";QStartNoAckMode+;qXfer:features:read+;qXfer:auxv:read+;qXfer:exec-file:read+" +
			";qXfer:threads:read+;qXfer:siginfo:read+;QCatchSyscalls+;swbreak+;hwbreak+" +
			";vContSupported+;exec-events+")
	case "QStartNoAckMode":
		err := s.reply("OK")
		s.noAck = true
		return err
	case "qXfer":
		return s.xfer(args)
	case "qAttached":
		return s.reply("0")
	case "qC":
		return s.reply("QC" + s.threadID(s.currentTid()))
	case "qfThreadInfo":
		if s.gone {
			return s.reply("l")
		}
		var ids []string
		for _, tid := range s.t.Threads() {
			ids = append(ids, s.threadID(tid))
		}
		return s.reply("m" + strings.Join(ids, ","))
	case "qsThreadInfo":
		return s.reply("l")
	case "qSymbol":
		return s.reply("OK")
	case "QCatchSyscalls":
		return s.reply(s.catchSyscalls(args))
	}
	return s.reply("")
}

// xfer answers qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH.
func (s *session) xfer(args string) error {
	parts := strings.SplitN(args, ":", 4)
	if len(parts) != 4 || parts[1] != "read" {
		return s.reply("")
	}
	off, n, ok := parseAddrLen(parts[3])
	if !ok {
		return s.reply(errBadPacket)
	}
	var data []byte
	switch parts[0] {
	case "features":
		if parts[2] != "target.xml" {
			return s.reply("E00")
		}
		data = []byte(targetXML)
	case "auxv", "exec-file", "threads", "siginfo":
		if s.gone {
			return s.reply(errGone)
		}
		switch parts[0] {
		case "auxv":
			data = s.t.Auxv()
		case "exec-file":
			data = []byte(s.t.ExecFile())
		case "threads":
			data = s.threadsXML()
		case "siginfo":
			info, ok := s.t.Siginfo(s.resolve(s.gTid))
			if !ok {
				return s.reply(errThread)
			}
			data = info
		}
	default:
		return s.reply("")
	}
	if off >= uint64(len(data)) {
		return s.replyBinary("l", nil)
	}
	chunk := data[off:]
	limit := min(n, PacketSize/2)
	if uint64(len(chunk)) > limit {
		return s.replyBinary("m", chunk[:limit])
	}
	return s.replyBinary("l", chunk)
}

func (s *session) threadsXML() []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\"?>\n<threads>\n")
	// Threads are named as Linux's comm: the program's file name, cut to 15 bytes.
	name := path.Base(s.t.ExecFile())
	if len(name) > 15 {
		name = name[:15]
	}
	var esc bytes.Buffer
	xml.EscapeText(&esc, []byte(name))
	for _, tid := range s.t.Threads() {
		fmt.Fprintf(&b, "<thread id=\"%s\" core=\"0\" name=\"%s\"/>\n", s.threadID(tid), esc.String())
	}
	b.WriteString("</threads>\n")
	return b.Bytes()
}

func (s *session) catchSyscalls(args string) string {
	if s.gone {
		return errGone
	}
	if args == "0" {
		s.t.CatchSyscalls(false, nil)
		return "OK"
	}
	f := strings.Split(args, ";")
	if f[0] != "1" {
		return errBadPacket
	}
	if len(f) == 1 {
		s.t.CatchSyscalls(true, nil)
		return "OK"
	}
	var nrs []uint64
	for _, x := range f[1:] {
		nr, err := strconv.ParseUint(x, 16, 64)
		if err != nil {
			return errBadPacket
		}
		nrs = append(nrs, nr)
	}
	s.t.CatchSyscalls(false, nrs)
	return "OK"
}

// vPacket answers vCont, vKill and the v packets the stub does not support.
func (s *session) vPacket(p string) (bool, error) {
	switch {
	case p == "vCont?":
		return false, s.reply("vCont;c;C;s;S")
	case strings.HasPrefix(p, "vCont;"):
		acts, ok := s.parseVCont(p[len("vCont;"):])
		if !ok {
			return false, s.reply(errBadPacket)
		}
		for _, a := range acts {
			if a.Tid != -1 && !s.gone && !s.alive(a.Tid) {
				return false, s.reply(errThread)
			}
		}
		return s.resume(acts)
	case strings.HasPrefix(p, "vFile:"):
		return false, s.vFile(p[len("vFile:"):])
	case p == "vKill" || strings.HasPrefix(p, "vKill;"):
		if !s.gone {
			s.t.Kill()
			s.gone = true
			s.last = Stop{Kind: Killed, Signal: 9}
		}
		return false, s.reply("OK")
	}
	return false, s.reply("")
}

func (s *session) parseVCont(a string) ([]Action, bool) {
	var acts []Action
	for _, f := range strings.Split(a, ";") {
		op, tidStr, hasTid := strings.Cut(f, ":")
		act := Action{Tid: -1}
		if hasTid {
			tid, ok := parseTid(tidStr)
			if !ok {
				return nil, false
			}
			act.Tid = s.resolveAction(tid)
		}
		if op == "" {
			return nil, false
		}
		switch op[0] {
		case 'c', 's':
			if len(op) != 1 {
				return nil, false
			}
		case 'C', 'S':
			g, err := strconv.ParseUint(op[1:], 16, 8)
			if err != nil {
				return nil, false
			}
			act.Signal = fromGDB(int(g))
		case 't':
			continue // threads not resumed stay stopped anyway
		default:
			return nil, false
		}
		if op[0] == 's' || op[0] == 'S' {
			act.Kind = Step
		}
		acts = append(acts, act)
	}
	return acts, len(acts) > 0
}

// legacyResume handles c, s, C and S: [sig;]addr resumes at addr.
func (s *session) legacyResume(p string) (bool, error) {
	act := Action{Tid: -1}
	rest := p[1:]
	if p[0] == 'C' || p[0] == 'S' {
		sig, addr, _ := strings.Cut(rest, ";")
		g, err := strconv.ParseUint(sig, 16, 8)
		if err != nil {
			return false, s.reply(errBadPacket)
		}
		act.Signal = fromGDB(int(g))
		rest = addr
	}
	if p[0] == 's' || p[0] == 'S' {
		act.Kind = Step
		act.Tid = s.resolve(s.cTid)
	}
	if rest != "" && !s.gone {
		addr, err := strconv.ParseUint(rest, 16, 64)
		if err != nil {
			return false, s.reply(errBadPacket)
		}
		tid := s.resolve(s.cTid)
		r, err := s.t.Regs(tid)
		if err != nil {
			return false, s.reply(errThread)
		}
		r.Rip = addr
		if err := s.t.SetRegs(tid, &r); err != nil {
			return false, s.reply(errThread)
		}
	}
	return s.resume([]Action{act})
}

// resume lets the process run and waits for its next stop, passing ^C on as an
// interrupt. It returns end when gdb went away meanwhile.
func (s *session) resume(acts []Action) (bool, error) {
	if s.gone {
		return false, s.reply(s.stopReply(s.last))
	}
	if err := s.t.Resume(acts); err != nil {
		return false, s.reply(errThread)
	}
	for {
		select {
		case st := <-s.t.Stops():
			s.last = st
			if st.Kind == Exited || st.Kind == Killed {
				s.gone = true
			}
			if st.Tid != 0 {
				s.gTid, s.cTid = st.Tid, st.Tid
			}
			return false, s.reply(s.stopReply(st))
		case in := <-s.in:
			switch in.kind {
			case inInterrupt:
				s.t.Interrupt()
			case inEOF:
				s.t.Detach()
				return true, ErrDisconnected
			case inPacket:
				// Not expected while the process runs (all-stop mode): acknowledge it
				// and answer it once stopped, as an error.
				if !s.noAck {
					s.w.Write([]byte{'+'})
				}
			}
		}
	}
}

// stopReply encodes a stop as the protocol's T, W or X reply.
func (s *session) stopReply(st Stop) string {
	switch st.Kind {
	case Exited, Killed:
		r := fmt.Sprintf("W%02x", st.Code&0xff)
		if st.Kind == Killed {
			r = fmt.Sprintf("X%02x", toGDB(st.Signal)&0xff)
		}
		if s.multi {
			r += fmt.Sprintf(";process:%x", s.t.Pid())
		}
		return r
	}
	var b strings.Builder
	sig := toGDB(st.Signal)
	if st.Kind != Signalled {
		sig = 5
	}
	fmt.Fprintf(&b, "T%02x", sig&0xff)
	switch st.Kind {
	case SyscallEntry:
		fmt.Fprintf(&b, "syscall_entry:%x;", st.Nr)
	case SyscallReturn:
		fmt.Fprintf(&b, "syscall_return:%x;", st.Nr)
	case Exec:
		if s.execEvents {
			fmt.Fprintf(&b, "exec:%s;", hex.EncodeToString([]byte(s.t.ExecFile())))
		}
	case Signalled:
		if st.BreakHit {
			switch st.Break {
			case SoftwareBreak:
				b.WriteString("swbreak:;")
			case HardwareBreak:
				b.WriteString("hwbreak:;")
			case WriteWatch:
				fmt.Fprintf(&b, "watch:%x;", st.WatchAddr)
			case ReadWatch:
				fmt.Fprintf(&b, "rwatch:%x;", st.WatchAddr)
			case AccessWatch:
				fmt.Fprintf(&b, "awatch:%x;", st.WatchAddr)
			}
		}
	}
	if st.Tid != 0 {
		fmt.Fprintf(&b, "thread:%s;", s.threadID(st.Tid))
	}
	return b.String()
}

// setThread handles Hg and Hc.
func (s *session) setThread(p string) string {
	if len(p) < 3 || (p[1] != 'g' && p[1] != 'c') {
		return errBadPacket
	}
	tid, ok := parseTid(p[2:])
	if !ok {
		return errBadPacket
	}
	if tid > 0 && !s.alive(tid) {
		return errThread
	}
	if p[1] == 'g' {
		s.gTid = tid
	} else {
		s.cTid = tid
	}
	return "OK"
}

// parseTid reads a thread id: hex, or -1 for all threads.
func parseTid(x string) (int, bool) {
	if x == "-1" {
		return -1, true
	}
	if strings.HasPrefix(x, "p") {
		// Multiprocess form pPID.TID; pPID alone is every thread.
		_, t, ok := strings.Cut(x, ".")
		if !ok {
			return -1, true
		}
		x = t
		if x == "-1" {
			return -1, true
		}
	}
	v, err := strconv.ParseUint(x, 16, 31)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

func (s *session) alive(tid int) bool {
	if s.gone {
		return false
	}
	for _, t := range s.t.Threads() {
		if t == tid {
			return true
		}
	}
	return false
}

// currentTid is the thread of the last stop, or the first thread.
func (s *session) currentTid() int {
	if s.last.Tid != 0 && s.alive(s.last.Tid) {
		return s.last.Tid
	}
	if !s.gone {
		if ts := s.t.Threads(); len(ts) > 0 {
			return ts[0]
		}
	}
	return s.t.Pid()
}

// resolve turns an Hg/Hc selection (0 any, -1 all) into one thread.
func (s *session) resolve(tid int) int {
	if tid <= 0 || !s.alive(tid) {
		return s.currentTid()
	}
	return tid
}

// resolveAction keeps -1 (all) in vCont actions and picks a thread for 0 (any).
func (s *session) resolveAction(tid int) int {
	if tid == 0 {
		return s.currentTid()
	}
	return tid
}

func (s *session) readRegs() error {
	if s.gone {
		return s.reply(errGone)
	}
	tid := s.resolve(s.gTid)
	r, err := s.t.Regs(tid)
	if err != nil {
		return s.reply(errThread)
	}
	fx, err := s.t.FPRegs(tid)
	if err != nil {
		return s.reply(errThread)
	}
	return s.reply(hex.EncodeToString(encodeRegs(&r, &fx)))
}

func (s *session) writeRegs(x string) string {
	if s.gone {
		return errGone
	}
	b, err := hex.DecodeString(x)
	if err != nil || len(b) != regBytes {
		return errBadPacket
	}
	tid := s.resolve(s.gTid)
	r, err := s.t.Regs(tid)
	if err != nil {
		return errThread
	}
	fx, err := s.t.FPRegs(tid)
	if err != nil {
		return errThread
	}
	for n, pr := range regLayout {
		decodeReg(n, b[pr.off:pr.off+pr.size], &r, &fx)
	}
	if s.t.SetRegs(tid, &r) != nil || s.t.SetFPRegs(tid, &fx) != nil {
		return errThread
	}
	return "OK"
}

func (s *session) readReg(x string) error {
	n, err := strconv.ParseUint(x, 16, 16)
	if err != nil || n >= uint64(len(regLayout)) {
		return s.reply(errBadPacket)
	}
	if s.gone {
		return s.reply(errGone)
	}
	tid := s.resolve(s.gTid)
	r, err1 := s.t.Regs(tid)
	fx, err2 := s.t.FPRegs(tid)
	if err1 != nil || err2 != nil {
		return s.reply(errThread)
	}
	all := encodeRegs(&r, &fx)
	pr := regLayout[n]
	return s.reply(hex.EncodeToString(all[pr.off : pr.off+pr.size]))
}

func (s *session) writeReg(x string) string {
	num, val, ok := strings.Cut(x, "=")
	n, err := strconv.ParseUint(num, 16, 16)
	if !ok || err != nil || n >= uint64(len(regLayout)) {
		return errBadPacket
	}
	v, err := hex.DecodeString(val)
	if err != nil || len(v) != regLayout[n].size {
		return errBadPacket
	}
	if s.gone {
		return errGone
	}
	tid := s.resolve(s.gTid)
	r, err1 := s.t.Regs(tid)
	fx, err2 := s.t.FPRegs(tid)
	if err1 != nil || err2 != nil {
		return errThread
	}
	decodeReg(int(n), v, &r, &fx)
	if s.t.SetRegs(tid, &r) != nil || s.t.SetFPRegs(tid, &fx) != nil {
		return errThread
	}
	return "OK"
}

// parseAddrLen reads "ADDR,LEN" in hex.
func parseAddrLen(x string) (addr, n uint64, ok bool) {
	a, l, found := strings.Cut(x, ",")
	if !found {
		return 0, 0, false
	}
	addr, err1 := strconv.ParseUint(a, 16, 64)
	n, err2 := strconv.ParseUint(l, 16, 64)
	return addr, n, err1 == nil && err2 == nil
}

func (s *session) readMem(x string) error {
	addr, n, ok := parseAddrLen(x)
	if !ok {
		return s.reply(errBadPacket)
	}
	if s.gone {
		return s.reply(errGone)
	}
	buf := make([]byte, min(n, PacketSize/2))
	got, _ := s.t.ReadMemory(addr, buf)
	if got == 0 && len(buf) > 0 {
		return s.reply(errMemory)
	}
	return s.reply(hex.EncodeToString(buf[:got]))
}

// writeMem handles M (hex data) and X (binary data, already unescaped).
func (s *session) writeMem(x string, binary bool) string {
	head, data, found := strings.Cut(x, ":")
	addr, n, ok := parseAddrLen(head)
	if !found || !ok {
		return errBadPacket
	}
	var b []byte
	if binary {
		b = []byte(data)
	} else {
		var err error
		if b, err = hex.DecodeString(data); err != nil {
			return errBadPacket
		}
	}
	if uint64(len(b)) != n {
		return errBadPacket
	}
	if s.gone {
		return errGone
	}
	if n == 0 {
		return "OK"
	}
	if got, err := s.t.WriteMemory(addr, b); err != nil || got != len(b) {
		return errMemory
	}
	return "OK"
}

// breakpoint handles Z and z: TYPE,ADDR,KIND.
func (s *session) breakpoint(p string) string {
	f := strings.Split(strings.SplitN(p[1:], ";", 2)[0], ",")
	if len(f) != 3 || len(f[0]) != 1 || f[0][0] < '0' || f[0][0] > '4' {
		if len(f) == 3 {
			return "" // a type the stub does not know
		}
		return errBadPacket
	}
	kind := BreakKind(f[0][0] - '0')
	addr, err1 := strconv.ParseUint(f[1], 16, 64)
	size, err2 := strconv.ParseUint(f[2], 16, 16)
	if err1 != nil || err2 != nil {
		return errBadPacket
	}
	if kind >= WriteWatch && (size == 0 || size > 8) {
		return errBreak
	}
	if s.gone {
		return errGone
	}
	var err error
	if p[0] == 'Z' {
		err = s.t.AddBreak(kind, addr, int(size))
	} else {
		err = s.t.RemoveBreak(kind, addr, int(size))
	}
	if err != nil {
		return errBreak
	}
	return "OK"
}
