package gdbstub

import (
	"bufio"
	"errors"
	"fmt"
)

// The framing of the remote protocol: $payload#cs, where cs is the payload's byte sum
// modulo 256 in two hex digits; '+' and '-' acknowledge a packet; a lone 0x03 asks a
// running target to stop. Inside a payload, '}' escapes the next byte (XOR 0x20), and
// in replies "c*n" repeats c n-29 more times.

// maxPacket bounds a packet the stub accepts; it advertises PacketSize a little below.
const maxPacket = 0x4000

// PacketSize is the payload size announced in qSupported.
const PacketSize = maxPacket - 16

// checksum is the protocol's sum of the payload bytes.
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// frame wraps a payload (already escaped and encoded) in $...#cs.
func frame(payload []byte) []byte {
	out := make([]byte, 0, len(payload)+4)
	out = append(out, '$')
	out = append(out, payload...)
	return append(out, '#', hexDigit(checksum(payload)>>4), hexDigit(checksum(payload)&15))
}

func hexDigit(n byte) byte { return "0123456789abcdef"[n&15] }

// escape quotes the bytes a binary payload may not carry as they are.
func escape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch c {
		case '#', '$', '}', '*':
			out = append(out, '}', c^0x20)
		default:
			out = append(out, c)
		}
	}
	return out
}

// unescape undoes escape; a '}' at the very end is an error.
func unescape(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '}' {
			i++
			if i == len(b) {
				return nil, errors.New("escape at end of packet")
			}
			out = append(out, b[i]^0x20)
			continue
		}
		out = append(out, b[i])
	}
	return out, nil
}

// rle run-length encodes a text payload: a run of n > 3 equal bytes becomes the byte,
// '*' and the count n-1+29 as one printable character. Counts that would give '#' or
// '$' (6 and 7 repeats) are shortened; no count goes above 126-29.
func rle(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		j := i + 1
		for j < len(b) && b[j] == c && j-i <= 97 {
			j++
		}
		rep := j - i - 1 // repeats after the first
		if rep == 6 || rep == 7 {
			rep = 5
		}
		if rep < 3 || c == '*' || c == '#' || c == '$' || c == '}' {
			out = append(out, c)
			i++
			continue
		}
		out = append(out, c, '*', byte(rep+29))
		i += rep + 1
	}
	return out
}

// unrle expands run-length encoding.
func unrle(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '*' {
			if len(out) == 0 || i+1 == len(b) {
				return nil, errors.New("bad run-length encoding")
			}
			n := int(b[i+1]) - 29
			if n < 0 || b[i+1] > 126 {
				return nil, errors.New("bad run-length count")
			}
			for range n {
				out = append(out, out[len(out)-1])
			}
			i++
			continue
		}
		out = append(out, b[i])
	}
	return out, nil
}

// inKind is what the reader found on the connection.
type inKind int

const (
	inPacket    inKind = iota // a packet with a good checksum
	inBad                     // a packet with a bad checksum or one too long
	inAck                     // '+'
	inNak                     // '-'
	inInterrupt               // 0x03
	inEOF                     // the connection closed or failed
)

type input struct {
	kind inKind
	data []byte // inPacket: the payload, escapes still in place
	err  error
}

// readInput reads the next thing gdb sent; bytes outside packets other than '+', '-'
// and 0x03 are skipped.
func readInput(r *bufio.Reader) input {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return input{kind: inEOF, err: err}
		}
		switch c {
		case '+':
			return input{kind: inAck}
		case '-':
			return input{kind: inNak}
		case 0x03:
			return input{kind: inInterrupt}
		case '$':
			return readPacket(r)
		}
	}
}

// readPacket reads a payload up to '#' and its checksum.
func readPacket(r *bufio.Reader) input {
	var data []byte
	tooLong := false
	for {
		c, err := r.ReadByte()
		if err != nil {
			return input{kind: inEOF, err: err}
		}
		if c == '#' {
			break
		}
		if c == '$' {
			// A new packet starts: the one before was cut short.
			data, tooLong = data[:0], false
			continue
		}
		if len(data) >= maxPacket {
			tooLong = true
			continue
		}
		data = append(data, c)
	}
	var cs [2]byte
	for i := range cs {
		c, err := r.ReadByte()
		if err != nil {
			return input{kind: inEOF, err: err}
		}
		cs[i] = c
	}
	want, ok := parseHexByte(cs[0], cs[1])
	if !ok || tooLong || want != checksum(data) {
		return input{kind: inBad, err: fmt.Errorf("bad checksum or size (%d bytes)", len(data))}
	}
	return input{kind: inPacket, data: data}
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func parseHexByte(hi, lo byte) (byte, bool) {
	h, ok1 := unhex(hi)
	l, ok2 := unhex(lo)
	return h<<4 | l, ok1 && ok2
}
