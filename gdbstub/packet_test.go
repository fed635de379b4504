package gdbstub

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestFrameChecksum(t *testing.T) {
	// The protocol's own example: "OK" sums to 0x9a.
	if got := string(frame([]byte("OK"))); got != "$OK#9a" {
		t.Errorf("frame(OK) = %q", got)
	}
	if got := string(frame(nil)); got != "$#00" {
		t.Errorf("frame() = %q", got)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, r.IntN(64))
		for i := range b {
			b[i] = "#$}*ab\x00\xff"[r.IntN(8)]
		}
		e := escape(b)
		if bytes.ContainsAny(e, "#$*") {
			t.Fatalf("escape(%q) = %q keeps a special byte", b, e)
		}
		back, err := unescape(e)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("unescape(escape(%q)) = %q, %v", b, back, err)
		}
	}
	if _, err := unescape([]byte("ab}")); err == nil {
		t.Error("a trailing escape was accepted")
	}
}

func TestRunLength(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		var b []byte
		for len(b) < 300 {
			b = append(b, bytes.Repeat([]byte{"0f#a"[r.IntN(4)]}, r.IntN(120)+1)...)
		}
		e := rle(b)
		for i := 0; i+1 < len(e); i++ {
			if e[i] == '*' {
				if c := e[i+1]; c == '#' || c == '$' || c > 126 || c < 32 {
					t.Fatalf("count %q after '*' in %q", c, e)
				}
				i++
			}
		}
		back, err := unrle(e)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("unrle(rle(%q)) = %q, %v", b, back, err)
		}
	}
	if got := string(rle([]byte("0000000000"))); got != "0*&" {
		t.Errorf("rle(10 zeros) = %q, want 0*& (9 repeats + 29 = '&')", got)
	}
	for _, bad := range []string{"*a", "a*"} {
		if _, err := unrle([]byte(bad)); err == nil {
			t.Errorf("unrle(%q) accepted", bad)
		}
	}
}

func TestReadInput(t *testing.T) {
	long := "$" + strings.Repeat("a", maxPacket+10) + "#00"
	cases := []struct {
		name string
		in   string
		want []inKind
	}{
		{"packet", "$OK#9a", []inKind{inPacket, inEOF}},
		{"acks", "+-", []inKind{inAck, inNak, inEOF}},
		{"interrupt", "\x03$g#67", []inKind{inInterrupt, inPacket, inEOF}},
		{"bad-checksum", "$OK#00$OK#9a", []inKind{inBad, inPacket, inEOF}},
		{"bad-hex-checksum", "$OK#zz", []inKind{inBad, inEOF}},
		{"noise-skipped", "xyz$OK#9a", []inKind{inPacket, inEOF}},
		{"cut-short", "$OK#9", []inKind{inEOF}},
		{"restarted", "$O$OK#9a", []inKind{inPacket, inEOF}},
		{"too-long", long, []inKind{inBad, inEOF}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(c.in))
			for i, w := range c.want {
				if got := readInput(r); got.kind != w {
					t.Fatalf("input %d: kind %d, want %d", i, got.kind, w)
				}
			}
		})
	}
}

func TestSignalNumbers(t *testing.T) {
	for sig := 1; sig <= 64; sig++ {
		if sig == 16 { // SIGSTKFLT has no number in gdb's table
			continue
		}
		g := toGDB(sig)
		if g == gdbUnknown || fromGDB(g) != sig {
			t.Errorf("signal %d: gdb %d, back %d", sig, g, fromGDB(g))
		}
	}
	for sig, g := range map[int]int{5: 5, 10: 30, 11: 11, 7: 10, 17: 20, 34: 46} {
		if toGDB(sig) != g {
			t.Errorf("toGDB(%d) = %d, want %d", sig, toGDB(sig), g)
		}
	}
}
