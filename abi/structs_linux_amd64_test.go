//go:build linux && amd64

package abi

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hostBytes returns the memory of *v as the host (linux/amd64) lays it out.
func hostBytes[T any](v *T) []byte {
	// SAFETY: v points to a live value of size unsafe.Sizeof(*v); the slice
	// is only read while v is alive.
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

type marshaler interface {
	Marshal(b []byte)
	Unmarshal(b []byte)
}

// checkLayout marshals ours and compares it with host's memory, then
// unmarshals host's memory into a fresh value and compares it with ours.
func checkLayout[T comparable, P interface {
	*T
	marshaler
}](t *testing.T, name string, size int, ours P, host []byte) {
	t.Helper()
	if len(host) < size {
		t.Fatalf("%s: host struct is %d bytes, want at least %d", name, len(host), size)
	}
	b := bytes.Repeat([]byte{0xee}, size)
	ours.Marshal(b)
	if !bytes.Equal(b, host[:size]) {
		t.Errorf("%s: Marshal\n got % x\nwant % x", name, b, host[:size])
	}
	var back T
	P(&back).Unmarshal(host)
	if *P(&back) != *ours {
		t.Errorf("%s: Unmarshal = %+v, want %+v", name, back, *ours)
	}
}

func TestTimespecLayout(t *testing.T) {
	h := unix.Timespec{Sec: 0x0102030405060708, Nsec: 999999999}
	checkLayout(t, "Timespec", TimespecSize, &Timespec{Sec: h.Sec, Nsec: h.Nsec}, hostBytes(&h))
	if unsafe.Sizeof(h) != TimespecSize {
		t.Errorf("TimespecSize = %d, host %d", TimespecSize, unsafe.Sizeof(h))
	}
}

func TestTimevalLayout(t *testing.T) {
	h := unix.Timeval{Sec: -5, Usec: 123456}
	checkLayout(t, "Timeval", TimevalSize, &Timeval{Sec: h.Sec, Usec: h.Usec}, hostBytes(&h))
}

func TestTimezoneLayout(t *testing.T) {
	// x/sys/unix has no Timezone; struct timezone is two C ints.
	h := struct{ Minuteswest, Dsttime int32 }{-60, 1}
	checkLayout(t, "Timezone", TimezoneSize, &Timezone{Minuteswest: h.Minuteswest, Dsttime: h.Dsttime}, hostBytes(&h))
	if unsafe.Sizeof(h) != TimezoneSize {
		t.Errorf("TimezoneSize = %d, host %d", TimezoneSize, unsafe.Sizeof(h))
	}
}

func TestStatLayout(t *testing.T) {
	h := unix.Stat_t{Dev: 0x801, Ino: 0x1122334455, Nlink: 3, Mode: 0o100644, Uid: 1000, Gid: 1001,
		Rdev: 0x8803, Size: 1 << 40, Blksize: 4096, Blocks: 88,
		Atim: unix.Timespec{Sec: 1, Nsec: 2}, Mtim: unix.Timespec{Sec: 3, Nsec: 4}, Ctim: unix.Timespec{Sec: 5, Nsec: 6}}
	ours := &Stat{Dev: h.Dev, Ino: h.Ino, Nlink: h.Nlink, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Rdev: h.Rdev,
		Size: h.Size, Blksize: h.Blksize, Blocks: h.Blocks,
		Atime: Timespec{1, 2}, Mtime: Timespec{3, 4}, Ctime: Timespec{5, 6}}
	checkLayout(t, "Stat", StatSize, ours, hostBytes(&h))
	if unsafe.Sizeof(h) != StatSize {
		t.Errorf("StatSize = %d, host %d", StatSize, unsafe.Sizeof(h))
	}
}

func TestStatxLayout(t *testing.T) {
	ts := func(s int64, n uint32) unix.StatxTimestamp { return unix.StatxTimestamp{Sec: s, Nsec: n} }
	h := unix.Statx_t{Mask: 0x7ff, Blksize: 4096, Attributes: 0x20, Nlink: 2, Uid: 7, Gid: 8, Mode: 0o40755,
		Ino: 99, Size: 4096, Blocks: 8, Attributes_mask: 0x1234,
		Atime: ts(1, 2), Btime: ts(3, 4), Ctime: ts(5, 6), Mtime: ts(7, 8),
		Rdev_major: 9, Rdev_minor: 10, Dev_major: 11, Dev_minor: 12, Mnt_id: 13,
		Dio_mem_align: 14, Dio_offset_align: 15, Subvol: 16, Atomic_write_unit_min: 17,
		Atomic_write_unit_max: 18, Atomic_write_segments_max: 19, Dio_read_offset_align: 20,
		Atomic_write_unit_max_opt: 21}
	ours := &Statx{Mask: h.Mask, Blksize: h.Blksize, Attributes: h.Attributes, Nlink: h.Nlink, UID: h.Uid,
		GID: h.Gid, Mode: h.Mode, Ino: h.Ino, Size: h.Size, Blocks: h.Blocks, AttributesMask: h.Attributes_mask,
		Atime: StatxTimestamp{1, 2}, Btime: StatxTimestamp{3, 4}, Ctime: StatxTimestamp{5, 6}, Mtime: StatxTimestamp{7, 8},
		RdevMajor: 9, RdevMinor: 10, DevMajor: 11, DevMinor: 12, MntID: 13, DioMemAlign: 14, DioOffsetAlign: 15,
		Subvol: 16, AtomicWriteUnitMin: 17, AtomicWriteUnitMax: 18, AtomicWriteSegmentsMax: 19,
		DioReadOffsetAlign: 20, AtomicWriteUnitMaxOpt: 21}
	checkLayout(t, "Statx", StatxSize, ours, hostBytes(&h))
	if unsafe.Sizeof(h) != StatxSize {
		t.Errorf("StatxSize = %d, host %d", StatxSize, unsafe.Sizeof(h))
	}
}

func TestUtsnameLayout(t *testing.T) {
	var h unix.Utsname
	var ours Utsname
	for i, s := range []string{"Linux", "host", "6.8.0", "#1 SMP", "x86_64", "(none)"} {
		f := [...]*[65]byte{&h.Sysname, &h.Nodename, &h.Release, &h.Version, &h.Machine, &h.Domainname}[i]
		copy(f[:], s)
		o := [...]*[UtsLen]byte{&ours.Sysname, &ours.Nodename, &ours.Release, &ours.Version, &ours.Machine, &ours.Domainname}[i]
		SetUtsField(o, s)
	}
	checkLayout(t, "Utsname", UtsnameSize, &ours, hostBytes(&h))
	if unsafe.Sizeof(h) != UtsnameSize {
		t.Errorf("UtsnameSize = %d, host %d", UtsnameSize, unsafe.Sizeof(h))
	}
}

func TestSetUtsFieldTruncates(t *testing.T) {
	var f [UtsLen]byte
	SetUtsField(&f, string(bytes.Repeat([]byte{'x'}, 100)))
	if f[UtsLen-1] != 0 || f[UtsLen-2] != 'x' {
		t.Errorf("SetUtsField did not keep a NUL at the end: %q", f[:])
	}
}

func TestSysinfoLayout(t *testing.T) {
	h := unix.Sysinfo_t{Uptime: 100, Loads: [3]uint64{1, 2, 3}, Totalram: 4, Freeram: 5, Sharedram: 6,
		Bufferram: 7, Totalswap: 8, Freeswap: 9, Procs: 10, Totalhigh: 11, Freehigh: 12, Unit: 13}
	ours := &Sysinfo{Uptime: 100, Loads: h.Loads, Totalram: 4, Freeram: 5, Sharedram: 6, Bufferram: 7,
		Totalswap: 8, Freeswap: 9, Procs: 10, Totalhigh: 11, Freehigh: 12, MemUnit: 13}
	checkLayout(t, "Sysinfo", SysinfoSize, ours, hostBytes(&h))
	if unsafe.Sizeof(h) != SysinfoSize {
		t.Errorf("SysinfoSize = %d, host %d", SysinfoSize, unsafe.Sizeof(h))
	}
}

func TestRlimitLayout(t *testing.T) {
	h := unix.Rlimit{Cur: 8 << 20, Max: unix.RLIM_INFINITY}
	checkLayout(t, "Rlimit", RlimitSize, &Rlimit{Cur: h.Cur, Max: h.Max}, hostBytes(&h))
}

func TestRusageLayout(t *testing.T) {
	h := unix.Rusage{Utime: unix.Timeval{Sec: 1, Usec: 2}, Stime: unix.Timeval{Sec: 3, Usec: 4},
		Maxrss: 5, Ixrss: 6, Idrss: 7, Isrss: 8, Minflt: 9, Majflt: 10, Nswap: 11, Inblock: 12,
		Oublock: 13, Msgsnd: 14, Msgrcv: 15, Nsignals: 16, Nvcsw: 17, Nivcsw: 18}
	ours := &Rusage{Utime: Timeval{1, 2}, Stime: Timeval{3, 4}, Maxrss: 5, Ixrss: 6, Idrss: 7, Isrss: 8,
		Minflt: 9, Majflt: 10, Nswap: 11, Inblock: 12, Oublock: 13, Msgsnd: 14, Msgrcv: 15, Nsignals: 16,
		Nvcsw: 17, Nivcsw: 18}
	checkLayout(t, "Rusage", RusageSize, ours, hostBytes(&h))
	if unsafe.Sizeof(h) != RusageSize {
		t.Errorf("RusageSize = %d, host %d", RusageSize, unsafe.Sizeof(h))
	}
}

func TestIovecLayout(t *testing.T) {
	var buf [4]byte
	h := unix.Iovec{Base: &buf[0], Len: 42}
	base := uint64(uintptr(unsafe.Pointer(&buf[0])))
	checkLayout(t, "Iovec", IovecSize, &Iovec{Base: base, Len: 42}, hostBytes(&h))
}

func TestWinsizeLayout(t *testing.T) {
	h := unix.Winsize{Row: 24, Col: 80, Xpixel: 640, Ypixel: 480}
	checkLayout(t, "Winsize", WinsizeSize, &Winsize{24, 80, 640, 480}, hostBytes(&h))
}

func TestTermiosLayout(t *testing.T) {
	// unix.Termios is the C library's struct with c_ispeed and c_ospeed
	// after the kernel's 36 bytes; TCGETS writes only those 36.
	h := unix.Termios{Iflag: 0x500, Oflag: 0x5, Cflag: 0xbf, Lflag: 0x8a3b, Line: 1,
		Ispeed: 0xdead, Ospeed: 0xbeef}
	for i := range h.Cc {
		h.Cc[i] = byte(i + 1)
	}
	ours := &Termios{Iflag: h.Iflag, Oflag: h.Oflag, Cflag: h.Cflag, Lflag: h.Lflag, Line: h.Line, Cc: h.Cc}
	checkLayout(t, "Termios", TermiosSize, ours, hostBytes(&h))
	if off := unsafe.Offsetof(h.Ispeed); off != TermiosSize {
		t.Errorf("host c_ispeed at %d, want it right after the kernel's %d bytes", off, TermiosSize)
	}
}

func TestTmsLayout(t *testing.T) {
	h := unix.Tms{Utime: 1, Stime: 2, Cutime: 3, Cstime: 4}
	checkLayout(t, "Tms", TmsSize, &Tms{1, 2, 3, 4}, hostBytes(&h))
}

func TestItimerLayouts(t *testing.T) {
	hv := unix.Itimerval{Interval: unix.Timeval{Sec: 1, Usec: 2}, Value: unix.Timeval{Sec: 3, Usec: 4}}
	checkLayout(t, "Itimerval", ItimervalSize, &Itimerval{Timeval{1, 2}, Timeval{3, 4}}, hostBytes(&hv))
	hs := unix.ItimerSpec{Interval: unix.Timespec{Sec: 1, Nsec: 2}, Value: unix.Timespec{Sec: 3, Nsec: 4}}
	checkLayout(t, "Itimerspec", ItimerspecSize, &Itimerspec{Timespec{1, 2}, Timespec{3, 4}}, hostBytes(&hs))
}

func TestSigeventLayout(t *testing.T) {
	// x/sys/unix has no sigevent; check against the kernel's struct: sigev_value 0,
	// sigev_signo 8, sigev_notify 12, the union (sigev_notify_thread_id first) 16, 64 bytes.
	var h struct {
		Value  uint64
		Signo  int32
		Notify int32
		TID    int32
		_      [11]int32
	}
	h.Value, h.Signo, h.Notify, h.TID = 0x1122334455667788, 34, SIGEV_THREAD_ID, 1001
	checkLayout(t, "Sigevent", SigeventSize, &Sigevent{0x1122334455667788, 34, SIGEV_THREAD_ID, 1001}, hostBytes(&h))
}

func TestPollfdLayout(t *testing.T) {
	h := unix.PollFd{Fd: 7, Events: unix.POLLIN | unix.POLLOUT, Revents: -1}
	checkLayout(t, "Pollfd", PollfdSize, &Pollfd{7, POLLIN | POLLOUT, -1}, hostBytes(&h))
}

func TestEpollEventLayout(t *testing.T) {
	// x/sys/unix splits epoll_data into Fd and Pad; on x86-64 it starts at offset 4.
	h := unix.EpollEvent{Events: unix.EPOLLIN, Fd: 0x11223344, Pad: 0x55667788}
	ours := &EpollEvent{Events: unix.EPOLLIN, Data: 0x5566778811223344}
	checkLayout(t, "EpollEvent", EpollEventSize, ours, hostBytes(&h))
	if unsafe.Sizeof(h) != EpollEventSize {
		t.Errorf("EpollEventSize = %d, host %d", EpollEventSize, unsafe.Sizeof(h))
	}
}

func TestSigactionAndStackLayout(t *testing.T) {
	// x/sys/unix has no kernel sigaction; check against the offsets of the
	// kernel's struct: handler 0, flags 8, restorer 16, mask 24.
	sa := Sigaction{Handler: 0x401000, Flags: SA_RESTORER | SA_SIGINFO, Restorer: 0x401100, Mask: 1<<(SIGINT-1) | 1<<(SIGTERM-1)}
	b := make([]byte, SigactionSize)
	sa.Marshal(b)
	if get64(b, 0) != 0x401000 || get64(b, 8) != SA_RESTORER|SA_SIGINFO || get64(b, 16) != 0x401100 || get64(b, 24) != 0x4002 {
		t.Errorf("Sigaction layout: % x", b)
	}
	var back Sigaction
	back.Unmarshal(b)
	if back != sa {
		t.Errorf("Sigaction round trip = %+v", back)
	}

	var hs struct {
		Sp    uintptr
		Flags int32
		Size  uintptr
	}
	hs.Sp, hs.Flags, hs.Size = 0x7ff000, SS_ONSTACK, SIGSTKSZ
	checkLayout(t, "StackT", StackTSize, &StackT{0x7ff000, SS_ONSTACK, SIGSTKSZ}, hostBytes(&hs))
}

func TestSiginfoLayout(t *testing.T) {
	cases := []struct {
		name string
		si   Siginfo
		want map[int]uint64 // offset -> value of the union's fields
	}{
		{"kill", Siginfo{Signo: SIGTERM, Code: SI_USER, Pid: 42, UID: 1000},
			map[int]uint64{16: 42, 20: 1000}},
		{"tkill", Siginfo{Signo: SIGABRT, Code: SI_TKILL, Pid: 42, UID: 1000},
			map[int]uint64{16: 42, 20: 1000}},
		{"fault", Siginfo{Signo: SIGSEGV, Code: SEGV_MAPERR, Addr: 0xdeadbeef},
			map[int]uint64{16: 0xdeadbeef}},
		{"child", Siginfo{Signo: SIGCHLD, Code: CLD_EXITED, Pid: 7, UID: 8, Status: 3, Utime: 9, Stime: 10},
			map[int]uint64{16: 7, 20: 8, 24: 3, 32: 9, 40: 10}},
		{"timer", Siginfo{Signo: SIGALRM, Code: SI_TIMER, TimerID: 1, Overrun: 2, Value: 3},
			map[int]uint64{16: 1, 20: 2, 24: 3}},
		{"sys", Siginfo{Signo: SIGSYS, Code: 1, CallAddr: 0x401000, Syscall: 500, Arch: 0xc000003e},
			map[int]uint64{16: 0x401000, 24: 500, 28: 0xc000003e}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := make([]byte, SiginfoSize)
			c.si.Marshal(b)
			// The header agrees with x/sys/unix's Siginfo.
			var h unix.Siginfo
			copy(hostBytes(&h), b)
			if h.Signo != c.si.Signo || h.Code != c.si.Code || h.Errno != c.si.Errno {
				t.Errorf("header = %+v", h)
			}
			for off, v := range c.want {
				var got uint64
				switch off {
				case 16, 32, 40:
					got = get64(b, off)
					if off == 16 && v < 1<<32 && c.name != "fault" && c.name != "sys" {
						got = uint64(get32(b, off))
					}
				default:
					got = uint64(get32(b, off))
				}
				if got != v {
					t.Errorf("offset %d = %#x, want %#x", off, got, v)
				}
			}
			var back Siginfo
			back.Unmarshal(b)
			if back != c.si {
				t.Errorf("round trip = %+v, want %+v", back, c.si)
			}
		})
	}
	if unsafe.Sizeof(unix.Siginfo{}) != SiginfoSize {
		t.Errorf("SiginfoSize = %d, host %d", SiginfoSize, unsafe.Sizeof(unix.Siginfo{}))
	}
}

func TestStatfsLayout(t *testing.T) {
	h := unix.Statfs_t{Type: 0xef53, Bsize: 4096, Blocks: 1 << 30, Bfree: 1 << 20, Bavail: 1 << 19, Files: 77, Ffree: 66,
		Fsid: unix.Fsid{Val: [2]int32{-7, 9}}, Namelen: 255, Frsize: 4096, Flags: 0x1026}
	ours := &Statfs{Type: h.Type, Bsize: h.Bsize, Blocks: h.Blocks, Bfree: h.Bfree, Bavail: h.Bavail, Files: h.Files,
		Ffree: h.Ffree, Fsid: h.Fsid.Val, Namelen: h.Namelen, Frsize: h.Frsize, Flags: h.Flags}
	checkLayout(t, "Statfs", StatfsSize, ours, hostBytes(&h))
	if unsafe.Sizeof(h) != StatfsSize {
		t.Errorf("StatfsSize = %d, host %d", StatfsSize, unsafe.Sizeof(h))
	}
}

func TestUserRegsLayout(t *testing.T) {
	// Field for field in the order of x/sys/unix's PtraceRegs, which mirrors the C struct.
	var h unix.PtraceRegs
	hv, ov := reflect.ValueOf(&h).Elem(), reflect.ValueOf(&UserRegs{}).Elem()
	if hv.NumField() != ov.NumField() {
		t.Fatalf("UserRegs has %d fields, PtraceRegs %d", ov.NumField(), hv.NumField())
	}
	for i := range hv.NumField() {
		hn, on := hv.Type().Field(i).Name, ov.Type().Field(i).Name
		if !strings.EqualFold(strings.ReplaceAll(hn, "_", ""), on) {
			t.Errorf("field %d: UserRegs.%s, PtraceRegs.%s", i, on, hn)
		}
	}
	if unsafe.Sizeof(h) != UserRegsSize || unsafe.Sizeof(UserRegs{}) != UserRegsSize {
		t.Errorf("UserRegsSize = %d, host %d", UserRegsSize, unsafe.Sizeof(h))
	}
}

func TestUserRegsMarshal(t *testing.T) {
	// Each field a distinct value: Marshal must put it where the host's struct has it.
	var h unix.PtraceRegs
	hv := reflect.ValueOf(&h).Elem()
	for i := range hv.NumField() {
		hv.Field(i).SetUint(uint64(i+1) * 0x0101010101)
	}
	var r UserRegs
	r.Unmarshal(hostBytes(&h))
	b := r.Marshal()
	if string(b) != string(hostBytes(&h)) {
		t.Errorf("Marshal:\n got % x\nwant % x", b, hostBytes(&h))
	}
	if r.OrigRax != h.Orig_rax || r.Rip != h.Rip || r.Gs != h.Gs || len(r.Fields()) != hv.NumField() {
		t.Errorf("Unmarshal: %+v from %+v", r, h)
	}
}

func TestIfreqLayout(t *testing.T) {
	h, err := unix.NewIfreq("lo")
	if err != nil {
		t.Fatal(err)
	}
	h.SetUint32(0x11223344)
	var ours Ifreq
	copy(ours.Name[:], "lo")
	copy(ours.Data[:], []byte{0x44, 0x33, 0x22, 0x11})
	host := hostBytes(h)
	// The host's union is as large as ours; bytes SetUint32 leaves are zero in both.
	checkLayout(t, "Ifreq", IfreqSize, &ours, host)
	if len(host) != IfreqSize {
		t.Errorf("IfreqSize = %d, host %d", IfreqSize, len(host))
	}
}

func TestIfconfLayout(t *testing.T) {
	// struct ifconf { int ifc_len; union { char *ifc_buf; struct ifreq *ifc_req; }; }
	// laid out by the host's rules for an int followed by a pointer.
	type hostIfconf struct {
		Len int32
		Buf uintptr
	}
	h := hostIfconf{Len: -7, Buf: 0x7fff12345678}
	ours := Ifconf{Len: -7, Buf: 0x7fff12345678}
	checkLayout(t, "Ifconf", IfconfSize, &ours, hostBytes(&h))
	if unsafe.Sizeof(h) != IfconfSize {
		t.Errorf("IfconfSize = %d, host %d", IfconfSize, unsafe.Sizeof(h))
	}
}
