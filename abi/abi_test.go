package abi

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestSyscallTable(t *testing.T) {
	seen := map[string]uint64{}
	for nr, s := range Syscalls {
		used := nr <= SYS_UPROBE || nr >= SYS_PIDFD_SEND_SIGNAL
		if s.Name == "" {
			if used {
				t.Errorf("syscall %d has no signature", nr)
			}
			continue
		}
		if !used {
			t.Errorf("syscall %d (%s) is in the unused range", nr, s.Name)
		}
		if prev, dup := seen[s.Name]; dup {
			t.Errorf("name %q used by %d and %d", s.Name, prev, nr)
		}
		seen[s.Name] = uint64(nr)
		if len(s.Args) > 6 {
			t.Errorf("%s has %d arguments", s.Name, len(s.Args))
		}
		for i, a := range s.Args {
			if a.Name == "" {
				t.Errorf("%s argument %d has no name", s.Name, i)
			}
			switch a.Kind {
			case BufIn, IovecIn, IovecOut, PollFdsPtr:
				if a.Len < 0 || a.Len >= len(s.Args) || a.Len == i {
					t.Errorf("%s argument %s: length index %d", s.Name, a.Name, a.Len)
				}
			case BufOut, BufOutHex, DirentsOut, CPUSetOut:
				if a.Len >= len(s.Args) || a.Len == i {
					t.Errorf("%s argument %s: length index %d", s.Name, a.Name, a.Len)
				}
			}
			if a.Kind >= kindCount {
				t.Errorf("%s argument %s: kind %d out of range", s.Name, a.Name, a.Kind)
			}
		}
	}
	for nr, want := range map[uint64]string{0: "read", 9: "mmap", 59: "execve", 231: "exit_group",
		262: "newfstatat", 334: "rseq", 435: "clone3", 462: "mseal"} {
		if got := SyscallName(nr); got != want {
			t.Errorf("SyscallName(%d) = %q, want %q", nr, got, want)
		}
	}
	for _, nr := range []uint64{337, 423, SyscallCount, 1 << 40} {
		if got := SyscallName(nr); got != "" {
			t.Errorf("SyscallName(%d) = %q, want \"\"", nr, got)
		}
	}
}

func TestSignalName(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: "SIGHUP", 6: "SIGABRT", 11: "SIGSEGV", 17: "SIGCHLD",
		29: "SIGIO", 31: "SIGSYS", 32: "SIGRTMIN", 33: "SIGRT_1", 64: "SIGRT_32", 65: "", -1: ""} {
		if got := SignalName(n); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAppendDirent64(t *testing.T) {
	b := AppendDirent64(nil, 12, 1, DT_DIR, ".")
	b = AppendDirent64(b, 34, 2, DT_REG, "hello.txt")
	// 19+2 = 21 -> 24; 19+10 = 29 -> 32.
	if len(b) != 56 {
		t.Fatalf("len = %d, want 56", len(b))
	}
	le := binary.LittleEndian
	if le.Uint64(b[0:]) != 12 || le.Uint64(b[8:]) != 1 || le.Uint16(b[16:]) != 24 || b[18] != DT_DIR ||
		!bytes.Equal(b[19:24], []byte{'.', 0, 0, 0, 0}) {
		t.Errorf("first record: % x", b[:24])
	}
	r := b[24:]
	if le.Uint64(r[0:]) != 34 || le.Uint64(r[8:]) != 2 || le.Uint16(r[16:]) != 32 || r[18] != DT_REG ||
		string(r[19:28]) != "hello.txt" || r[28] != 0 {
		t.Errorf("second record: % x", r)
	}
	for _, n := range []int{0, 4, 5, 12, 13} {
		if l := Dirent64Len(n); l%8 != 0 || l < Dirent64HeaderSize+n+1 || l-8 >= Dirent64HeaderSize+n+1 {
			t.Errorf("Dirent64Len(%d) = %d", n, l)
		}
	}
}

func TestMarshalZeroesPadding(t *testing.T) {
	b := bytes.Repeat([]byte{0xff}, StatSize)
	(&Stat{}).Marshal(b)
	if !bytes.Equal(b, make([]byte, StatSize)) {
		t.Errorf("Stat padding not cleared: % x", b)
	}
	b = bytes.Repeat([]byte{0xff}, SiginfoSize)
	(&Siginfo{Signo: SIGSEGV, Code: SEGV_MAPERR}).Marshal(b)
	if !bytes.Equal(b[12:], make([]byte, SiginfoSize-12)) {
		t.Errorf("Siginfo not cleared: % x", b)
	}
}
