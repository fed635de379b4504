package abi

import "encoding/binary"

var le = binary.LittleEndian

func put16(b []byte, off int, v uint16) { le.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { le.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { le.PutUint64(b[off:], v) }
func get16(b []byte, off int) uint16    { return le.Uint16(b[off:]) }
func get32(b []byte, off int) uint32    { return le.Uint32(b[off:]) }
func get64(b []byte, off int) uint64    { return le.Uint64(b[off:]) }

// zero clears b[:n], so that padding is always written as zeros.
func zero(b []byte, n int) { clear(b[:n]) }

// Timespec is struct timespec.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// TimespecSize is the size of Timespec in guest memory.
const TimespecSize = 16

// Marshal encodes t into b[:TimespecSize].
func (t *Timespec) Marshal(b []byte) {
	put64(b, 0, uint64(t.Sec))
	put64(b, 8, uint64(t.Nsec))
}

// Unmarshal decodes t from b[:TimespecSize].
func (t *Timespec) Unmarshal(b []byte) {
	t.Sec = int64(get64(b, 0))
	t.Nsec = int64(get64(b, 8))
}

// Timeval is struct timeval.
type Timeval struct {
	Sec  int64
	Usec int64
}

// TimevalSize is the size of Timeval in guest memory.
const TimevalSize = 16

// Marshal encodes t into b[:TimevalSize].
func (t *Timeval) Marshal(b []byte) {
	put64(b, 0, uint64(t.Sec))
	put64(b, 8, uint64(t.Usec))
}

// Unmarshal decodes t from b[:TimevalSize].
func (t *Timeval) Unmarshal(b []byte) {
	t.Sec = int64(get64(b, 0))
	t.Usec = int64(get64(b, 8))
}

// Timezone is struct timezone.
type Timezone struct {
	Minuteswest int32
	Dsttime     int32
}

// TimezoneSize is the size of Timezone in guest memory.
const TimezoneSize = 8

// Marshal encodes t into b[:TimezoneSize].
func (t *Timezone) Marshal(b []byte) {
	put32(b, 0, uint32(t.Minuteswest))
	put32(b, 4, uint32(t.Dsttime))
}

// Unmarshal decodes t from b[:TimezoneSize].
func (t *Timezone) Unmarshal(b []byte) {
	t.Minuteswest = int32(get32(b, 0))
	t.Dsttime = int32(get32(b, 4))
}

// Stat is the x86-64 struct stat.
type Stat struct {
	Dev     uint64
	Ino     uint64
	Nlink   uint64
	Mode    uint32
	UID     uint32
	GID     uint32
	Rdev    uint64
	Size    int64
	Blksize int64
	Blocks  int64
	Atime   Timespec
	Mtime   Timespec
	Ctime   Timespec
}

// StatSize is the size of Stat in guest memory.
const StatSize = 144

// Marshal encodes s into b[:StatSize].
func (s *Stat) Marshal(b []byte) {
	zero(b, StatSize)
	put64(b, 0, s.Dev)
	put64(b, 8, s.Ino)
	put64(b, 16, s.Nlink)
	put32(b, 24, s.Mode)
	put32(b, 28, s.UID)
	put32(b, 32, s.GID)
	put64(b, 40, s.Rdev)
	put64(b, 48, uint64(s.Size))
	put64(b, 56, uint64(s.Blksize))
	put64(b, 64, uint64(s.Blocks))
	s.Atime.Marshal(b[72:])
	s.Mtime.Marshal(b[88:])
	s.Ctime.Marshal(b[104:])
}

// Unmarshal decodes s from b[:StatSize].
func (s *Stat) Unmarshal(b []byte) {
	s.Dev = get64(b, 0)
	s.Ino = get64(b, 8)
	s.Nlink = get64(b, 16)
	s.Mode = get32(b, 24)
	s.UID = get32(b, 28)
	s.GID = get32(b, 32)
	s.Rdev = get64(b, 40)
	s.Size = int64(get64(b, 48))
	s.Blksize = int64(get64(b, 56))
	s.Blocks = int64(get64(b, 64))
	s.Atime.Unmarshal(b[72:])
	s.Mtime.Unmarshal(b[88:])
	s.Ctime.Unmarshal(b[104:])
}

// StatxTimestamp is struct statx_timestamp.
type StatxTimestamp struct {
	Sec  int64
	Nsec uint32
}

// StatxTimestampSize is the size of StatxTimestamp in guest memory.
const StatxTimestampSize = 16

// Marshal encodes t into b[:StatxTimestampSize].
func (t *StatxTimestamp) Marshal(b []byte) {
	put64(b, 0, uint64(t.Sec))
	put32(b, 8, t.Nsec)
	put32(b, 12, 0)
}

// Unmarshal decodes t from b[:StatxTimestampSize].
func (t *StatxTimestamp) Unmarshal(b []byte) {
	t.Sec = int64(get64(b, 0))
	t.Nsec = get32(b, 8)
}

// Statx is struct statx.
type Statx struct {
	Mask                   uint32
	Blksize                uint32
	Attributes             uint64
	Nlink                  uint32
	UID                    uint32
	GID                    uint32
	Mode                   uint16
	Ino                    uint64
	Size                   uint64
	Blocks                 uint64
	AttributesMask         uint64
	Atime                  StatxTimestamp
	Btime                  StatxTimestamp
	Ctime                  StatxTimestamp
	Mtime                  StatxTimestamp
	RdevMajor              uint32
	RdevMinor              uint32
	DevMajor               uint32
	DevMinor               uint32
	MntID                  uint64
	DioMemAlign            uint32
	DioOffsetAlign         uint32
	Subvol                 uint64
	AtomicWriteUnitMin     uint32
	AtomicWriteUnitMax     uint32
	AtomicWriteSegmentsMax uint32
	DioReadOffsetAlign     uint32
	AtomicWriteUnitMaxOpt  uint32
}

// StatxSize is the size of Statx in guest memory.
const StatxSize = 256

// Marshal encodes s into b[:StatxSize].
func (s *Statx) Marshal(b []byte) {
	zero(b, StatxSize)
	put32(b, 0, s.Mask)
	put32(b, 4, s.Blksize)
	put64(b, 8, s.Attributes)
	put32(b, 16, s.Nlink)
	put32(b, 20, s.UID)
	put32(b, 24, s.GID)
	put16(b, 28, s.Mode)
	put64(b, 32, s.Ino)
	put64(b, 40, s.Size)
	put64(b, 48, s.Blocks)
	put64(b, 56, s.AttributesMask)
	s.Atime.Marshal(b[64:])
	s.Btime.Marshal(b[80:])
	s.Ctime.Marshal(b[96:])
	s.Mtime.Marshal(b[112:])
	put32(b, 128, s.RdevMajor)
	put32(b, 132, s.RdevMinor)
	put32(b, 136, s.DevMajor)
	put32(b, 140, s.DevMinor)
	put64(b, 144, s.MntID)
	put32(b, 152, s.DioMemAlign)
	put32(b, 156, s.DioOffsetAlign)
	put64(b, 160, s.Subvol)
	put32(b, 168, s.AtomicWriteUnitMin)
	put32(b, 172, s.AtomicWriteUnitMax)
	put32(b, 176, s.AtomicWriteSegmentsMax)
	put32(b, 180, s.DioReadOffsetAlign)
	put32(b, 184, s.AtomicWriteUnitMaxOpt)
}

// Unmarshal decodes s from b[:StatxSize].
func (s *Statx) Unmarshal(b []byte) {
	s.Mask = get32(b, 0)
	s.Blksize = get32(b, 4)
	s.Attributes = get64(b, 8)
	s.Nlink = get32(b, 16)
	s.UID = get32(b, 20)
	s.GID = get32(b, 24)
	s.Mode = get16(b, 28)
	s.Ino = get64(b, 32)
	s.Size = get64(b, 40)
	s.Blocks = get64(b, 48)
	s.AttributesMask = get64(b, 56)
	s.Atime.Unmarshal(b[64:])
	s.Btime.Unmarshal(b[80:])
	s.Ctime.Unmarshal(b[96:])
	s.Mtime.Unmarshal(b[112:])
	s.RdevMajor = get32(b, 128)
	s.RdevMinor = get32(b, 132)
	s.DevMajor = get32(b, 136)
	s.DevMinor = get32(b, 140)
	s.MntID = get64(b, 144)
	s.DioMemAlign = get32(b, 152)
	s.DioOffsetAlign = get32(b, 156)
	s.Subvol = get64(b, 160)
	s.AtomicWriteUnitMin = get32(b, 168)
	s.AtomicWriteUnitMax = get32(b, 172)
	s.AtomicWriteSegmentsMax = get32(b, 176)
	s.DioReadOffsetAlign = get32(b, 180)
	s.AtomicWriteUnitMaxOpt = get32(b, 184)
}

// UtsLen is the size of each field of Utsname, including the NUL.
const UtsLen = 65

// Utsname is struct utsname; each field is NUL-padded.
type Utsname struct {
	Sysname    [UtsLen]byte
	Nodename   [UtsLen]byte
	Release    [UtsLen]byte
	Version    [UtsLen]byte
	Machine    [UtsLen]byte
	Domainname [UtsLen]byte
}

// UtsnameSize is the size of Utsname in guest memory.
const UtsnameSize = 6 * UtsLen

// SetUtsField stores s in f, truncated to leave room for the NUL.
func SetUtsField(f *[UtsLen]byte, s string) {
	clear(f[:])
	copy(f[:UtsLen-1], s)
}

// Marshal encodes u into b[:UtsnameSize].
func (u *Utsname) Marshal(b []byte) {
	copy(b[0*UtsLen:], u.Sysname[:])
	copy(b[1*UtsLen:], u.Nodename[:])
	copy(b[2*UtsLen:], u.Release[:])
	copy(b[3*UtsLen:], u.Version[:])
	copy(b[4*UtsLen:], u.Machine[:])
	copy(b[5*UtsLen:], u.Domainname[:])
}

// Unmarshal decodes u from b[:UtsnameSize].
func (u *Utsname) Unmarshal(b []byte) {
	copy(u.Sysname[:], b[0*UtsLen:])
	copy(u.Nodename[:], b[1*UtsLen:])
	copy(u.Release[:], b[2*UtsLen:])
	copy(u.Version[:], b[3*UtsLen:])
	copy(u.Machine[:], b[4*UtsLen:])
	copy(u.Domainname[:], b[5*UtsLen:])
}

// Sysinfo is struct sysinfo.
type Sysinfo struct {
	Uptime    int64
	Loads     [3]uint64
	Totalram  uint64
	Freeram   uint64
	Sharedram uint64
	Bufferram uint64
	Totalswap uint64
	Freeswap  uint64
	Procs     uint16
	Totalhigh uint64
	Freehigh  uint64
	MemUnit   uint32
}

// SysinfoSize is the size of Sysinfo in guest memory.
const SysinfoSize = 112

// Marshal encodes s into b[:SysinfoSize].
func (s *Sysinfo) Marshal(b []byte) {
	zero(b, SysinfoSize)
	put64(b, 0, uint64(s.Uptime))
	for i, l := range s.Loads {
		put64(b, 8+8*i, l)
	}
	put64(b, 32, s.Totalram)
	put64(b, 40, s.Freeram)
	put64(b, 48, s.Sharedram)
	put64(b, 56, s.Bufferram)
	put64(b, 64, s.Totalswap)
	put64(b, 72, s.Freeswap)
	put16(b, 80, s.Procs)
	put64(b, 88, s.Totalhigh)
	put64(b, 96, s.Freehigh)
	put32(b, 104, s.MemUnit)
}

// Unmarshal decodes s from b[:SysinfoSize].
func (s *Sysinfo) Unmarshal(b []byte) {
	s.Uptime = int64(get64(b, 0))
	for i := range s.Loads {
		s.Loads[i] = get64(b, 8+8*i)
	}
	s.Totalram = get64(b, 32)
	s.Freeram = get64(b, 40)
	s.Sharedram = get64(b, 48)
	s.Bufferram = get64(b, 56)
	s.Totalswap = get64(b, 64)
	s.Freeswap = get64(b, 72)
	s.Procs = get16(b, 80)
	s.Totalhigh = get64(b, 88)
	s.Freehigh = get64(b, 96)
	s.MemUnit = get32(b, 104)
}

// Rlimit is struct rlimit (and struct rlimit64, which has the same layout).
type Rlimit struct {
	Cur uint64
	Max uint64
}

// RlimitSize is the size of Rlimit in guest memory.
const RlimitSize = 16

// Marshal encodes r into b[:RlimitSize].
func (r *Rlimit) Marshal(b []byte) {
	put64(b, 0, r.Cur)
	put64(b, 8, r.Max)
}

// Unmarshal decodes r from b[:RlimitSize].
func (r *Rlimit) Unmarshal(b []byte) {
	r.Cur = get64(b, 0)
	r.Max = get64(b, 8)
}

// Rusage is struct rusage.
type Rusage struct {
	Utime    Timeval
	Stime    Timeval
	Maxrss   int64
	Ixrss    int64
	Idrss    int64
	Isrss    int64
	Minflt   int64
	Majflt   int64
	Nswap    int64
	Inblock  int64
	Oublock  int64
	Msgsnd   int64
	Msgrcv   int64
	Nsignals int64
	Nvcsw    int64
	Nivcsw   int64
}

// RusageSize is the size of Rusage in guest memory.
const RusageSize = 144

func (r *Rusage) longs() [14]*int64 {
	return [14]*int64{&r.Maxrss, &r.Ixrss, &r.Idrss, &r.Isrss, &r.Minflt, &r.Majflt, &r.Nswap,
		&r.Inblock, &r.Oublock, &r.Msgsnd, &r.Msgrcv, &r.Nsignals, &r.Nvcsw, &r.Nivcsw}
}

// Marshal encodes r into b[:RusageSize].
func (r *Rusage) Marshal(b []byte) {
	r.Utime.Marshal(b[0:])
	r.Stime.Marshal(b[16:])
	for i, p := range r.longs() {
		put64(b, 32+8*i, uint64(*p))
	}
}

// Unmarshal decodes r from b[:RusageSize].
func (r *Rusage) Unmarshal(b []byte) {
	r.Utime.Unmarshal(b[0:])
	r.Stime.Unmarshal(b[16:])
	for i, p := range r.longs() {
		*p = int64(get64(b, 32+8*i))
	}
}

// Iovec is struct iovec.
type Iovec struct {
	Base uint64
	Len  uint64
}

// IovecSize is the size of Iovec in guest memory.
const IovecSize = 16

// Marshal encodes v into b[:IovecSize].
func (v *Iovec) Marshal(b []byte) {
	put64(b, 0, v.Base)
	put64(b, 8, v.Len)
}

// Unmarshal decodes v from b[:IovecSize].
func (v *Iovec) Unmarshal(b []byte) {
	v.Base = get64(b, 0)
	v.Len = get64(b, 8)
}

// Sigaction is the kernel's x86-64 struct sigaction as rt_sigaction(2) takes it
// (not the C library's, which has a larger mask and another field order).
type Sigaction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64 // bit n-1 is signal n
}

// SigactionSize is the size of Sigaction in guest memory.
const SigactionSize = 32

// Marshal encodes s into b[:SigactionSize].
func (s *Sigaction) Marshal(b []byte) {
	put64(b, 0, s.Handler)
	put64(b, 8, s.Flags)
	put64(b, 16, s.Restorer)
	put64(b, 24, s.Mask)
}

// Unmarshal decodes s from b[:SigactionSize].
func (s *Sigaction) Unmarshal(b []byte) {
	s.Handler = get64(b, 0)
	s.Flags = get64(b, 8)
	s.Restorer = get64(b, 16)
	s.Mask = get64(b, 24)
}

// StackT is stack_t, the alternate signal stack.
type StackT struct {
	Sp    uint64
	Flags int32
	Size  uint64
}

// StackTSize is the size of StackT in guest memory.
const StackTSize = 24

// Marshal encodes s into b[:StackTSize].
func (s *StackT) Marshal(b []byte) {
	put64(b, 0, s.Sp)
	put32(b, 8, uint32(s.Flags))
	put32(b, 12, 0)
	put64(b, 16, s.Size)
}

// Unmarshal decodes s from b[:StackTSize].
func (s *StackT) Unmarshal(b []byte) {
	s.Sp = get64(b, 0)
	s.Flags = int32(get32(b, 8))
	s.Size = get64(b, 16)
}

// Winsize is struct winsize (TIOCGWINSZ).
type Winsize struct {
	Row    uint16
	Col    uint16
	Xpixel uint16
	Ypixel uint16
}

// WinsizeSize is the size of Winsize in guest memory.
const WinsizeSize = 8

// Marshal encodes w into b[:WinsizeSize].
func (w *Winsize) Marshal(b []byte) {
	put16(b, 0, w.Row)
	put16(b, 2, w.Col)
	put16(b, 4, w.Xpixel)
	put16(b, 6, w.Ypixel)
}

// Unmarshal decodes w from b[:WinsizeSize].
func (w *Winsize) Unmarshal(b []byte) {
	w.Row = get16(b, 0)
	w.Col = get16(b, 2)
	w.Xpixel = get16(b, 4)
	w.Ypixel = get16(b, 6)
}

// NCCS is the number of control characters in the kernel's struct termios.
const NCCS = 19

// Termios is the kernel's struct termios as TCGETS and TCSETS use it (no speed fields).
type Termios struct {
	Iflag uint32
	Oflag uint32
	Cflag uint32
	Lflag uint32
	Line  uint8
	Cc    [NCCS]uint8
}

// TermiosSize is the size of Termios in guest memory.
const TermiosSize = 36

// Marshal encodes t into b[:TermiosSize].
func (t *Termios) Marshal(b []byte) {
	put32(b, 0, t.Iflag)
	put32(b, 4, t.Oflag)
	put32(b, 8, t.Cflag)
	put32(b, 12, t.Lflag)
	b[16] = t.Line
	copy(b[17:36], t.Cc[:])
}

// Unmarshal decodes t from b[:TermiosSize].
func (t *Termios) Unmarshal(b []byte) {
	t.Iflag = get32(b, 0)
	t.Oflag = get32(b, 4)
	t.Cflag = get32(b, 8)
	t.Lflag = get32(b, 12)
	t.Line = b[16]
	copy(t.Cc[:], b[17:36])
}

// Tms is struct tms (times(2)).
type Tms struct {
	Utime  int64
	Stime  int64
	Cutime int64
	Cstime int64
}

// TmsSize is the size of Tms in guest memory.
const TmsSize = 32

// Marshal encodes t into b[:TmsSize].
func (t *Tms) Marshal(b []byte) {
	put64(b, 0, uint64(t.Utime))
	put64(b, 8, uint64(t.Stime))
	put64(b, 16, uint64(t.Cutime))
	put64(b, 24, uint64(t.Cstime))
}

// Unmarshal decodes t from b[:TmsSize].
func (t *Tms) Unmarshal(b []byte) {
	t.Utime = int64(get64(b, 0))
	t.Stime = int64(get64(b, 8))
	t.Cutime = int64(get64(b, 16))
	t.Cstime = int64(get64(b, 24))
}

// Itimerval is struct itimerval.
type Itimerval struct {
	Interval Timeval
	Value    Timeval
}

// ItimervalSize is the size of Itimerval in guest memory.
const ItimervalSize = 32

// Marshal encodes t into b[:ItimervalSize].
func (t *Itimerval) Marshal(b []byte) {
	t.Interval.Marshal(b[0:])
	t.Value.Marshal(b[16:])
}

// Unmarshal decodes t from b[:ItimervalSize].
func (t *Itimerval) Unmarshal(b []byte) {
	t.Interval.Unmarshal(b[0:])
	t.Value.Unmarshal(b[16:])
}

// Itimerspec is struct itimerspec.
type Itimerspec struct {
	Interval Timespec
	Value    Timespec
}

// ItimerspecSize is the size of Itimerspec in guest memory.
const ItimerspecSize = 32

// Marshal encodes t into b[:ItimerspecSize].
func (t *Itimerspec) Marshal(b []byte) {
	t.Interval.Marshal(b[0:])
	t.Value.Marshal(b[16:])
}

// Unmarshal decodes t from b[:ItimerspecSize].
func (t *Itimerspec) Unmarshal(b []byte) {
	t.Interval.Unmarshal(b[0:])
	t.Value.Unmarshal(b[16:])
}

// Sigevent is struct sigevent as timer_create(2) reads it: the union holds the target
// thread for SIGEV_THREAD_ID (the C library's SIGEV_THREAD fields are never the kernel's).
type Sigevent struct {
	Value  uint64 // sigev_value
	Signo  int32
	Notify int32
	TID    int32 // sigev_notify_thread_id
}

// SigeventSize is the size of Sigevent in guest memory, all of which the kernel reads.
const SigeventSize = 64

// Marshal encodes e into b[:SigeventSize].
func (e *Sigevent) Marshal(b []byte) {
	zero(b, SigeventSize)
	put64(b, 0, e.Value)
	put32(b, 8, uint32(e.Signo))
	put32(b, 12, uint32(e.Notify))
	put32(b, 16, uint32(e.TID))
}

// Unmarshal decodes e from b[:SigeventSize].
func (e *Sigevent) Unmarshal(b []byte) {
	e.Value = get64(b, 0)
	e.Signo = int32(get32(b, 8))
	e.Notify = int32(get32(b, 12))
	e.TID = int32(get32(b, 16))
}

// Pollfd is struct pollfd.
type Pollfd struct {
	Fd      int32
	Events  int16
	Revents int16
}

// PollfdSize is the size of Pollfd in guest memory.
const PollfdSize = 8

// Marshal encodes p into b[:PollfdSize].
func (p *Pollfd) Marshal(b []byte) {
	put32(b, 0, uint32(p.Fd))
	put16(b, 4, uint16(p.Events))
	put16(b, 6, uint16(p.Revents))
}

// Unmarshal decodes p from b[:PollfdSize].
func (p *Pollfd) Unmarshal(b []byte) {
	p.Fd = int32(get32(b, 0))
	p.Events = int16(get16(b, 4))
	p.Revents = int16(get16(b, 6))
}

// EpollEvent is struct epoll_event, which x86-64 packs to 12 bytes.
type EpollEvent struct {
	Events uint32
	Data   uint64
}

// EpollEventSize is the size of EpollEvent in guest memory.
const EpollEventSize = 12

// Marshal encodes e into b[:EpollEventSize].
func (e *EpollEvent) Marshal(b []byte) {
	put32(b, 0, e.Events)
	put64(b, 4, e.Data)
}

// Unmarshal decodes e from b[:EpollEventSize].
func (e *EpollEvent) Unmarshal(b []byte) {
	e.Events = get32(b, 0)
	e.Data = get64(b, 4)
}

// Statfs is struct statfs (x86-64), as statfs(2) and fstatfs(2) fill it.
type Statfs struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Fsid    [2]int32
	Namelen int64
	Frsize  int64
	Flags   int64
}

// StatfsSize is the size of Statfs in guest memory (with four spare longs).
const StatfsSize = 120

// Marshal encodes s into b[:StatfsSize].
func (s *Statfs) Marshal(b []byte) {
	zero(b, StatfsSize)
	for i, v := range []uint64{uint64(s.Type), uint64(s.Bsize), s.Blocks, s.Bfree, s.Bavail, s.Files, s.Ffree} {
		put64(b, 8*i, v)
	}
	put32(b, 56, uint32(s.Fsid[0]))
	put32(b, 60, uint32(s.Fsid[1]))
	put64(b, 64, uint64(s.Namelen))
	put64(b, 72, uint64(s.Frsize))
	put64(b, 80, uint64(s.Flags))
}

// Unmarshal decodes s from b[:StatfsSize].
func (s *Statfs) Unmarshal(b []byte) {
	for i, p := range []*uint64{&s.Blocks, &s.Bfree, &s.Bavail, &s.Files, &s.Ffree} {
		*p = get64(b, 16+8*i)
	}
	s.Type, s.Bsize = int64(get64(b, 0)), int64(get64(b, 8))
	s.Fsid = [2]int32{int32(get32(b, 56)), int32(get32(b, 60))}
	s.Namelen, s.Frsize, s.Flags = int64(get64(b, 64)), int64(get64(b, 72)), int64(get64(b, 80))
}

// IfNameSize is IFNAMSIZ, the size of an interface name with its NUL.
const IfNameSize = 16

// Ifreq is struct ifreq: an interface name, then a union (an address, flags, an index,
// a struct ifmap...) whose meaning depends on the request; none of its members holds a
// pointer for the requests vemu passes on.
type Ifreq struct {
	Name [IfNameSize]byte
	Data [24]byte
}

// IfreqSize is the size of Ifreq in guest memory.
const IfreqSize = IfNameSize + 24

// Marshal encodes r into b[:IfreqSize].
func (r *Ifreq) Marshal(b []byte) {
	copy(b[0:], r.Name[:])
	copy(b[IfNameSize:], r.Data[:])
}

// Unmarshal decodes r from b[:IfreqSize].
func (r *Ifreq) Unmarshal(b []byte) {
	copy(r.Name[:], b[0:])
	copy(r.Data[:], b[IfNameSize:IfreqSize])
}

// Ifconf is struct ifconf: the length of a buffer of Ifreq entries and its address.
type Ifconf struct {
	Len int32
	Buf uint64
}

// IfconfSize is the size of Ifconf in guest memory.
const IfconfSize = 16

// Marshal encodes c into b[:IfconfSize].
func (c *Ifconf) Marshal(b []byte) {
	zero(b, IfconfSize)
	put32(b, 0, uint32(c.Len))
	put64(b, 8, c.Buf)
}

// Unmarshal decodes c from b[:IfconfSize].
func (c *Ifconf) Unmarshal(b []byte) {
	c.Len = int32(get32(b, 0))
	c.Buf = get64(b, 8)
}
