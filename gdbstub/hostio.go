package gdbstub

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// gdb reads files of the debugged system through vFile packets: the program's ELF file
// and, for the vDSO's extent, /proc/PID/task/PID/maps. The maps are the guest's; every
// other file is the host's, as the guest sees files, opened read-only.

// vfile is one file gdb opened.
type vfile struct {
	data []byte   // a synthesized file
	f    *os.File // a host file
}

// procMaps matches the /proc paths whose contents are the guest's memory map.
var procMaps = regexp.MustCompile(`^/proc/(\d+|self)/(task/\d+/)?maps$`)

// Errno values of the File-I/O protocol.
const (
	fioEPERM  = 1
	fioENOENT = 2
	fioEBADF  = 9
	fioEACCES = 13
	fioEINVAL = 22
	fioEMFILE = 24
)

func fioErr(n int) string { return fmt.Sprintf("F-1,%x", n) }

// maxOpenFiles bounds the files gdb may hold open.
const maxOpenFiles = 64

func (s *session) vFile(p string) error {
	op, args, _ := strings.Cut(p, ":")
	f := strings.Split(args, ",")
	switch op {
	case "setfs":
		return s.reply("F0")
	case "open":
		if len(f) != 3 {
			return s.reply(fioErr(fioEINVAL))
		}
		name, err := hex.DecodeString(f[0])
		flags, err2 := strconv.ParseUint(f[1], 16, 32)
		if err != nil || err2 != nil {
			return s.reply(fioErr(fioEINVAL))
		}
		return s.reply(s.openFile(string(name), flags))
	case "pread":
		if len(f) != 3 {
			return s.reply(fioErr(fioEINVAL))
		}
		fd, e1 := strconv.ParseUint(f[0], 16, 31)
		n, e2 := strconv.ParseUint(f[1], 16, 31)
		off, e3 := strconv.ParseUint(f[2], 16, 63)
		vf := s.files[int(fd)]
		if e1 != nil || e2 != nil || e3 != nil {
			return s.reply(fioErr(fioEINVAL))
		}
		if vf == nil {
			return s.reply(fioErr(fioEBADF))
		}
		buf := make([]byte, min(n, PacketSize/2))
		var got int
		if vf.f != nil {
			got, err := vf.f.ReadAt(buf, int64(off))
			if got == 0 && err != nil && err != io.EOF {
				return s.reply(fioErr(fioEINVAL))
			}
			buf = buf[:got]
		} else {
			if off < uint64(len(vf.data)) {
				got = copy(buf, vf.data[off:])
			}
			buf = buf[:got]
		}
		return s.replyBinary(fmt.Sprintf("F%x;", len(buf)), buf)
	case "close":
		fd, err := strconv.ParseUint(args, 16, 31)
		vf := s.files[int(fd)]
		if err != nil || vf == nil {
			return s.reply(fioErr(fioEBADF))
		}
		if vf.f != nil {
			vf.f.Close()
		}
		delete(s.files, int(fd))
		return s.reply("F0")
	}
	return s.reply("")
}

// openFile opens name for reading, as gdb asked with open(2)'s flags.
func (s *session) openFile(name string, flags uint64) string {
	if flags&3 != 0 { // O_WRONLY, O_RDWR
		return fioErr(fioEACCES)
	}
	if len(s.files) >= maxOpenFiles {
		return fioErr(fioEMFILE)
	}
	vf := &vfile{}
	if procMaps.MatchString(name) {
		if s.gone {
			return fioErr(fioENOENT)
		}
		vf.data = []byte(s.t.Maps())
	} else {
		f, err := os.Open(name)
		if err != nil {
			if errno, ok := err.(*os.PathError).Err.(syscall.Errno); ok && errno == syscall.ENOENT {
				return fioErr(fioENOENT)
			}
			return fioErr(fioEACCES)
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			f.Close()
			return fioErr(fioEPERM)
		}
		vf.f = f
	}
	if s.files == nil {
		s.files = map[int]*vfile{}
	}
	s.nextFile++
	s.files[s.nextFile] = vf
	return fmt.Sprintf("F%x", s.nextFile)
}

// closeFiles closes what gdb left open.
func (s *session) closeFiles() {
	for _, vf := range s.files {
		if vf.f != nil {
			vf.f.Close()
		}
	}
}
