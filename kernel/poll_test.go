package kernel

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/abi"
)

// fakeFds maps guest fds to host fds for the translation helpers.
func fakeFds(m map[int32]int) func(int32) (int, bool) {
	return func(fd int32) (int, bool) {
		h, ok := m[fd]
		return h, ok
	}
}

func TestPollfdTranslation(t *testing.T) {
	open := fakeFds(map[int32]int{0: 100, 3: 103, 4: 104})
	g := []abi.Pollfd{
		{Fd: 3, Events: abi.POLLIN},
		{Fd: -1, Events: abi.POLLIN, Revents: 0x7f}, // ignored, revents cleared
		{Fd: 9, Events: abi.POLLIN},                 // not open: POLLNVAL
		{Fd: 4, Events: abi.POLLOUT | abi.POLLRDHUP},
		{Fd: 0, Events: 0},
	}
	h := pollfdsToHost(g, open)
	assert.Equal(t, []unix.PollFd{
		{Fd: 103, Events: unix.POLLIN},
		{Fd: -1},
		{Fd: -1},
		{Fd: 104, Events: unix.POLLOUT | unix.POLLRDHUP},
		{Fd: 100},
	}, h)

	// What the host would answer: readable, hung up, nothing.
	h[0].Revents = unix.POLLIN
	h[3].Revents = unix.POLLHUP | unix.POLLERR
	assert.Equal(t, 3, pollReady(g, h))
	n := pollfdsFromHost(g, h)
	assert.Equal(t, 3, n)
	var revents []int16
	for _, p := range g {
		revents = append(revents, p.Revents)
	}
	assert.Equal(t, []int16{abi.POLLIN, 0, abi.POLLNVAL, abi.POLLHUP | abi.POLLERR, 0}, revents)

	// The guest's layout survives a round trip, revents included.
	assert.Equal(t, g, unmarshalPollfds(marshalPollfds(g)))
	assert.Equal(t, []byte{3, 0, 0, 0, 1, 0, 1, 0}, marshalPollfds(g[:1]))
}

func TestPollBitsMatchHost(t *testing.T) {
	// The event bits pass through untranslated: they must be the host's.
	for _, b := range [][2]int{
		{abi.POLLIN, unix.POLLIN}, {abi.POLLPRI, unix.POLLPRI}, {abi.POLLOUT, unix.POLLOUT},
		{abi.POLLERR, unix.POLLERR}, {abi.POLLHUP, unix.POLLHUP}, {abi.POLLNVAL, unix.POLLNVAL},
		{abi.POLLRDHUP, unix.POLLRDHUP}, {abi.POLLRDNORM, unix.EPOLLRDNORM},
		{abi.POLLWRNORM, unix.EPOLLWRNORM},
	} {
		assert.Equal(t, b[1], b[0])
	}
}

func TestFdSetBytes(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 0}, {1, 8}, {64, 8}, {65, 16}, {1024, 128}} {
		assert.Equal(t, c.want, fdSetBytes(c.n), "n=%d", c.n)
	}
}

// set makes an fd_set of n bits with fds set.
func set(n int, fds ...int) []byte {
	b := make([]byte, fdSetBytes(n))
	for _, fd := range fds {
		b[fd/8] |= 1 << (fd % 8)
	}
	return b
}

func TestSelectPollfds(t *testing.T) {
	open := fakeFds(map[int32]int{1: 501, 5: 505, 70: 570, 99: 599})
	cases := []struct {
		name  string
		n     int
		in    fdSets
		hosts []unix.PollFd
		guest []int32
		err   error
	}{
		{"no-sets", 128, fdSets{}, nil, nil, nil},
		{"read-write-except", 128, fdSets{set(128, 1, 70), set(128, 1), set(128, 5)},
			[]unix.PollFd{{Fd: 501, Events: unix.POLLIN | unix.POLLOUT}, {Fd: 505, Events: unix.POLLPRI}, {Fd: 570, Events: unix.POLLIN}},
			[]int32{1, 5, 70}, nil},
		{"bits-past-n-ignored", 71, fdSets{set(128, 70, 99), nil, nil},
			[]unix.PollFd{{Fd: 570, Events: unix.POLLIN}}, []int32{70}, nil},
		{"closed-fd", 128, fdSets{nil, set(128, 5, 6), nil}, nil, nil, unix.EBADF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, g, err := selectPollfds(c.n, c.in, open)
			assert.Equal(t, c.err, err)
			assert.Equal(t, c.hosts, h)
			assert.Equal(t, c.guest, g)
		})
	}
}

func TestSelectResults(t *testing.T) {
	// fd 1 read+write, fd 2 read, fd 3 write, fd 4 except, fd 5 read+except.
	in := fdSets{set(64, 1, 2, 5), set(64, 1, 3), set(64, 4, 5)}
	g := []int32{1, 2, 3, 4, 5}
	h := []unix.PollFd{
		{Revents: unix.POLLERR},                // readable and writable, as Linux's sets say
		{Revents: unix.POLLHUP},                // readable
		{Revents: unix.POLLOUT | unix.POLLHUP}, // writable (HUP is not in the write set)
		{Revents: unix.POLLIN},                 // asked only for except: nothing
		{Revents: unix.POLLPRI},                // except only
	}
	out, n := selectResults(in, g, h)
	assert.Equal(t, 5, n)
	assert.Equal(t, fdSets{set(64, 1, 2), set(64, 1, 3), set(64, 5)}, out)

	out, n = selectResults(fdSets{set(64, 2), nil, nil}, []int32{2}, []unix.PollFd{{}})
	assert.Equal(t, 0, n)
	assert.Equal(t, fdSets{set(64), nil, nil}, out, "a timeout clears the sets")
}

func TestEpollEventTranslation(t *testing.T) {
	for _, data := range []uint64{0, 1, 0xffffffff, 1 << 32, 0x1122334455667788, ^uint64(0), 0x80000000_80000000} {
		e := abi.EpollEvent{Events: abi.POLLIN | 1<<31, Data: data}
		assert.Equal(t, e, epollEventFromHost(epollEventToHost(e)), "data %#x", data)
	}
	b := marshalEpollEvents([]unix.EpollEvent{
		epollEventToHost(abi.EpollEvent{Events: 0x11, Data: 0x0102030405060708}),
		epollEventToHost(abi.EpollEvent{Events: 0x80000004, Data: 0xa0b0c0d0e0f00010}),
	})
	// Packed: 4 bytes of events, then 8 of data at offset 4, 12 bytes each.
	require.Len(t, b, 24)
	assert.Equal(t, uint32(0x11), binary.LittleEndian.Uint32(b[0:]))
	assert.Equal(t, uint64(0x0102030405060708), binary.LittleEndian.Uint64(b[4:]))
	assert.Equal(t, uint32(0x80000004), binary.LittleEndian.Uint32(b[12:]))
	assert.Equal(t, uint64(0xa0b0c0d0e0f00010), binary.LittleEndian.Uint64(b[16:]))
}

func TestPollWait(t *testing.T) {
	assert.True(t, pollMillis(-1).forever)
	assert.True(t, pollMillis(0).zero())
	assert.Equal(t, time.Duration(0), pollMillis(0).remaining())
	w := pollMillis(1000)
	assert.False(t, w.zero())
	assert.InDelta(t, float64(time.Second), float64(w.remaining()), float64(100*time.Millisecond))
	assert.True(t, pollTimespec(abi.Timespec{Sec: 1 << 62}).forever, "no overflow")
	assert.True(t, pollTimespec(abi.Timespec{}).zero())
	assert.Equal(t, 5*time.Millisecond, pollTimespec(abi.Timespec{Nsec: 5e6}).d)
}

func TestItimerspecTranslation(t *testing.T) {
	it := abi.Itimerspec{Interval: abi.Timespec{Sec: 1, Nsec: 2}, Value: abi.Timespec{Sec: 3, Nsec: 999999999}}
	assert.Equal(t, it, itimerspecFromHost(itimerspecToHost(it)))
	assert.True(t, validTimespec(abi.Timespec{Nsec: 999999999}))
	assert.False(t, validTimespec(abi.Timespec{Nsec: 1e9}))
	assert.False(t, validTimespec(abi.Timespec{Sec: -1}))
}

// guestPipe makes a pipe in the guest and returns its read and write fds.
func guestPipe(t *testing.T, task *Task) (uint64, uint64) {
	fds := scratchRW + 0x800
	require.Equal(t, int64(0), call(task, abi.SYS_PIPE2, uint64(fds), abi.O_NONBLOCK))
	var b [8]byte
	require.NoError(t, task.p.mm.CopyIn(fds, b[:]))
	return uint64(binary.LittleEndian.Uint32(b[0:])), uint64(binary.LittleEndian.Uint32(b[4:]))
}

func TestPollSyscalls(t *testing.T) {
	task := loadTestTask(t)
	r, w := guestPipe(t, task)
	pfds := scratchRW + 0x100
	put := func(g ...abi.Pollfd) {
		require.NoError(t, task.p.mm.CopyOut(pfds, marshalPollfds(g)))
	}
	get := func(n int) []abi.Pollfd {
		b := make([]byte, n*abi.PollfdSize)
		require.NoError(t, task.p.mm.CopyIn(pfds, b))
		return unmarshalPollfds(b)
	}
	put(abi.Pollfd{Fd: int32(r), Events: abi.POLLIN}, abi.Pollfd{Fd: int32(w), Events: abi.POLLOUT}, abi.Pollfd{Fd: 500, Events: abi.POLLIN})
	assert.Equal(t, int64(2), call(task, abi.SYS_POLL, uint64(pfds), 3, 0))
	assert.Equal(t, []int16{0, abi.POLLOUT, abi.POLLNVAL}, []int16{get(3)[0].Revents, get(3)[1].Revents, get(3)[2].Revents})
	assert.Equal(t, neg(unix.EFAULT), call(task, abi.SYS_POLL, uint64(unmapped), 1, 0))
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_POLL, uint64(pfds), 1<<31, 0))

	// ppoll with a zero timeout leaves it alone, and restores the signal mask.
	ts := scratchRW + 0x200
	require.NoError(t, task.p.mm.CopyOut(ts, make([]byte, abi.TimespecSize)))
	mask := scratchRW + 0x300
	require.NoError(t, task.p.mm.CopyOut(mask, binary.LittleEndian.AppendUint64(nil, 1<<(abi.SIGUSR1-1))))
	task.putSigmask(1 << (abi.SIGUSR2 - 1))
	assert.Equal(t, int64(1), call(task, abi.SYS_PPOLL, uint64(pfds), 2, uint64(ts), uint64(mask), abi.SigsetSize))
	assert.Equal(t, uint64(1<<(abi.SIGUSR2-1)), task.sigmask)
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_PPOLL, uint64(pfds), 2, uint64(ts), uint64(mask), 4))

	// select: the write end is writable, the empty read end is not readable.
	rd, wr := scratchRW+0x400, scratchRW+0x480
	require.NoError(t, task.p.mm.CopyOut(rd, set(64, int(r))))
	require.NoError(t, task.p.mm.CopyOut(wr, set(64, int(w))))
	tv := scratchRW + 0x500
	require.NoError(t, task.p.mm.CopyOut(tv, make([]byte, abi.TimevalSize)))
	assert.Equal(t, int64(1), call(task, abi.SYS_SELECT, w+1, uint64(rd), uint64(wr), 0, uint64(tv)))
	b := make([]byte, 8)
	require.NoError(t, task.p.mm.CopyIn(rd, b))
	assert.Equal(t, set(64), b)
	require.NoError(t, task.p.mm.CopyIn(wr, b))
	assert.Equal(t, set(64, int(w)), b)
	require.NoError(t, task.p.mm.CopyOut(rd, set(64, 40)))
	assert.Equal(t, neg(unix.EBADF), call(task, abi.SYS_SELECT, 64, uint64(rd), 0, 0, uint64(tv)))
}

func TestEpollSyscalls(t *testing.T) {
	task := loadTestTask(t)
	r, w := guestPipe(t, task)
	ep := call(task, abi.SYS_EPOLL_CREATE1, abi.O_CLOEXEC)
	require.GreaterOrEqual(t, ep, int64(0))
	ev := scratchRW + 0x100
	b := make([]byte, abi.EpollEventSize)
	(&abi.EpollEvent{Events: abi.POLLIN, Data: 0xdeadbeefcafef00d}).Marshal(b)
	require.NoError(t, task.p.mm.CopyOut(ev, b))
	assert.Equal(t, int64(0), call(task, abi.SYS_EPOLL_CTL, uint64(ep), 1, r, uint64(ev)))
	assert.Equal(t, neg(unix.EEXIST), call(task, abi.SYS_EPOLL_CTL, uint64(ep), 1, r, uint64(ev)))
	assert.Equal(t, neg(unix.EBADF), call(task, abi.SYS_EPOLL_CTL, uint64(ep), 1, 300, uint64(ev)))
	assert.Equal(t, neg(unix.EFAULT), call(task, abi.SYS_EPOLL_CTL, uint64(ep), 1, w, uint64(unmapped)))

	out := scratchRW + 0x1000
	assert.Equal(t, int64(0), call(task, abi.SYS_EPOLL_WAIT, uint64(ep), uint64(out), 4, 0))
	require.NoError(t, task.p.mm.CopyOut(scratchRW+0x200, []byte("x")))
	require.Equal(t, int64(1), call(task, abi.SYS_WRITE, w, uint64(scratchRW+0x200), 1))
	assert.Equal(t, int64(1), call(task, abi.SYS_EPOLL_WAIT, uint64(ep), uint64(out), 4, 0))
	require.NoError(t, task.p.mm.CopyIn(out, b))
	var got abi.EpollEvent
	got.Unmarshal(b)
	assert.Equal(t, abi.EpollEvent{Events: abi.POLLIN, Data: 0xdeadbeefcafef00d}, got)

	// A buffer that cannot hold an event: EFAULT, and the event stays ready.
	assert.Equal(t, neg(unix.EFAULT), call(task, abi.SYS_EPOLL_WAIT, uint64(ep), uint64(scratchRO), 4, 0))
	assert.Equal(t, int64(1), call(task, abi.SYS_EPOLL_PWAIT2, uint64(ep), uint64(out), 4, 0, 0, 8))
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_EPOLL_WAIT, uint64(ep), uint64(out), 0, 0))
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_EPOLL_CREATE, 0))
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_EPOLL_CREATE1, 1))
}

func TestEventfdTimerfdSyscalls(t *testing.T) {
	task := loadTestTask(t)
	efd := call(task, abi.SYS_EVENTFD2, 5, abi.EFD_SEMAPHORE|abi.EFD_NONBLOCK)
	require.GreaterOrEqual(t, efd, int64(0))
	buf := scratchRW + 0x100
	assert.Equal(t, int64(8), call(task, abi.SYS_READ, uint64(efd), uint64(buf), 8))
	b := make([]byte, 8)
	require.NoError(t, task.p.mm.CopyIn(buf, b))
	assert.Equal(t, uint64(1), binary.LittleEndian.Uint64(b))
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_EVENTFD2, 0, 0x10))

	// The test task runs the virtual clock: an absolute expiry becomes a relative one.
	tfd := call(task, abi.SYS_TIMERFD_CREATE, abi.CLOCK_MONOTONIC, abi.O_NONBLOCK)
	require.GreaterOrEqual(t, tfd, int64(0))
	now, err := task.p.k.clock.Now(abi.CLOCK_MONOTONIC)
	require.NoError(t, err)
	at := now.Sec*1e9 + now.Nsec + 5e9
	it := abi.Itimerspec{Value: abi.Timespec{Sec: at / 1e9, Nsec: at % 1e9}}
	spec := scratchRW + 0x200
	ib := make([]byte, abi.ItimerspecSize)
	it.Marshal(ib)
	require.NoError(t, task.p.mm.CopyOut(spec, ib))
	assert.Equal(t, int64(0), call(task, abi.SYS_TIMERFD_SETTIME, uint64(tfd), tfdTimerAbstime, uint64(spec), 0))
	cur := scratchRW + 0x300
	assert.Equal(t, int64(0), call(task, abi.SYS_TIMERFD_GETTIME, uint64(tfd), uint64(cur)))
	require.NoError(t, task.p.mm.CopyIn(cur, ib))
	it.Unmarshal(ib)
	left := time.Duration(it.Value.Sec)*time.Second + time.Duration(it.Value.Nsec)
	assert.True(t, left > 4*time.Second && left <= 5*time.Second, "left %v", left)

	assert.Equal(t, neg(unix.EFAULT), call(task, abi.SYS_TIMERFD_GETTIME, uint64(tfd), uint64(scratchRO)))
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_TIMERFD_SETTIME, uint64(efd), tfdTimerAbstime, uint64(spec), 0))
	assert.Equal(t, neg(unix.EINVAL), call(task, abi.SYS_TIMERFD_CREATE, abi.CLOCK_PROCESS_CPUTIME_ID, 0))
}
