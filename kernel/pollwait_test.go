package kernel

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pollAnswer is what one awaitReady returned.
type pollAnswer struct {
	n   int
	err error
}

// startAwait watches files for events and waits for them in awaitReady on a goroutine,
// with try asking without waiting; it returns the wait's cancel and its answer.
func startAwait(t *testing.T, files []*File, events uint32, excl bool, try func() (int, error)) (*cancel, chan pollAnswer) {
	t.Helper()
	ev := make([]uint32, len(files))
	for i := range ev {
		ev[i] = events
	}
	pw, err := hostPoller.watch(files, ev, excl)
	if err != nil {
		t.Fatal(err)
	}
	c := &cancel{ch: make(chan struct{}), fd: -1}
	ans := make(chan pollAnswer, 1)
	go func() {
		n, err := hostPoller.awaitReady(pw, pollWait{forever: true, cancel: c}, try)
		ans <- pollAnswer{n, err}
	}()
	return c, ans
}

func pollNow(fd int, events int16) func() (int, error) {
	return func() (int, error) {
		return unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: events}}, 0)
	}
}

func registered(f *File) bool {
	hostPoller.mu.Lock()
	defer hostPoller.mu.Unlock()
	return hostPoller.set.regs[f] != nil
}

func newPipeFiles(t testing.TB) (r, w *File) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[1]) })
	return &File{fd: p[0], refs: 1}, &File{fd: p[1], refs: 1}
}

// TestPollWaitersShareOneRegistration blocks many waiters on one pipe: one registration
// serves them all, a byte wakes every one, and the registration ends with the last.
func TestPollWaitersShareOneRegistration(t *testing.T) {
	r, w := newPipeFiles(t)
	defer unix.Close(r.fd)
	const n = 50
	var answers []chan pollAnswer
	for range n {
		_, ans := startAwait(t, []*File{r, r}, unix.POLLIN, false, pollNow(r.fd, unix.POLLIN))
		answers = append(answers, ans)
	}
	if !registered(r) || r.pollRegs.Load() != 1 {
		t.Fatalf("registered %v, %d registrations: want one", registered(r), r.pollRegs.Load())
	}
	select {
	case a := <-answers[0]:
		t.Fatalf("a waiter ended before anything was written: %+v", a)
	case <-time.After(50 * time.Millisecond):
	}
	unix.Write(w.fd, []byte{1})
	for i, ans := range answers {
		select {
		case a := <-ans:
			if a.n != 1 || a.err != nil {
				t.Errorf("waiter %d: %+v, want 1", i, a)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("waiter %d was not woken", i)
		}
	}
	if registered(r) || r.pollRegs.Load() != 0 {
		t.Errorf("the registration outlived its waiters")
	}
}

// epollOfEventfd returns a host epoll instance holding a nonblocking eventfd,
// edge-triggered for input; both close with the test.
func epollOfEventfd(t *testing.T) (ep, efd int) {
	t.Helper()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(ep) })
	efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(efd) })
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET}); err != nil {
		t.Fatal(err)
	}
	return ep, efd
}

// TestEpollWaitersOneAtATime waits on a host epoll instance with three exclusive
// waiters: one edge-triggered event ends exactly one wait; cancels end the others.
func TestEpollWaitersOneAtATime(t *testing.T) {
	ep, efd := epollOfEventfd(t)
	f := &File{fd: ep, refs: 1}
	take := func() (int, error) {
		return unix.EpollWait(ep, make([]unix.EpollEvent, 1), 0)
	}
	var cancels []*cancel
	var answers []chan pollAnswer
	for range 3 {
		c, ans := startAwait(t, []*File{f}, unix.POLLIN, true, take)
		cancels, answers = append(cancels, c), append(answers, ans)
	}
	time.Sleep(20 * time.Millisecond)
	unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	got := -1
	deadline := time.After(10 * time.Second)
	for got < 0 {
		for i, ans := range answers {
			select {
			case a := <-ans:
				if a.n != 1 || a.err != nil {
					t.Fatalf("waiter %d: %+v, want the event", i, a)
				}
				got = i
			default:
			}
		}
		select {
		case <-deadline:
			t.Fatal("no waiter took the event")
		case <-time.After(time.Millisecond):
		}
	}
	time.Sleep(100 * time.Millisecond)
	for i, ans := range answers {
		if i == got {
			continue
		}
		select {
		case a := <-ans:
			t.Errorf("waiter %d also ended: %+v", i, a)
			continue
		default:
		}
		cancels[i].fire()
		if a := <-ans; a.err != errInterrupted {
			t.Errorf("waiter %d after its cancel: %+v, want errInterrupted", i, a)
		}
	}
	if registered(f) {
		t.Errorf("the registration outlived its waiters")
	}
}

// TestEpollWaiterWokenKeepsRegistration wakes one of two exclusive waiters, which is
// then out of the line until it looks again, and lets the other leave: the registration
// must stay for the woken one, which goes back in line and is woken by the next event.
// (It ended with the last waiter in line, and the woken waiter then waited for events
// no one would tell it of.)
func TestEpollWaiterWokenKeepsRegistration(t *testing.T) {
	ep, efd := epollOfEventfd(t)
	f := &File{fd: ep, refs: 1}
	ev := []uint32{unix.POLLIN}
	w1, err := hostPoller.watch([]*File{f}, ev, true)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := hostPoller.watch([]*File{f}, ev, true)
	if err != nil {
		t.Fatal(err)
	}
	hostPoller.mu.Lock()
	hostPoller.set.regs[f].wakeNext() // w1, first in line
	hostPoller.mu.Unlock()
	select {
	case <-w1.ch:
	default:
		t.Fatal("the first waiter in line was not woken")
	}
	hostPoller.unwatch(w2)
	if !registered(f) {
		t.Fatal("the registration ended while a woken waiter still watches")
	}
	hostPoller.requeue(w1)
	hostPoller.mu.Lock() // the poller's goroutine takes waiters out of line
	inLine := w1.excl != nil
	hostPoller.mu.Unlock()
	if !inLine {
		t.Fatal("the woken waiter could not go back in line")
	}
	unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	select {
	case <-w1.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the event did not wake the waiter back in line")
	}
	hostPoller.unwatch(w1)
	if registered(f) {
		t.Error("the registration outlived its waiters")
	}
}

// TestPollFileClosedWhileWatched closes a watched file: it leaves the poller before its
// host descriptor closes, and the wait goes on until cancelled.
func TestPollFileClosedWhileWatched(t *testing.T) {
	r, w := newPipeFiles(t)
	c, ans := startAwait(t, []*File{r}, unix.POLLIN, false, func() (int, error) { return 0, nil })
	if !registered(r) {
		t.Fatal("not registered")
	}
	if err := r.release(); err != nil {
		t.Fatal(err)
	}
	if registered(r) || r.pollRegs.Load() != 0 || len(r.polls) != 0 {
		t.Fatalf("a closed file is still registered")
	}
	unix.Write(w.fd, []byte{1})
	select {
	case a := <-ans:
		t.Fatalf("the wait ended: %+v", a)
	case <-time.After(20 * time.Millisecond):
	}
	c.fire()
	if a := <-ans; a.err != errInterrupted {
		t.Errorf("after the cancel: %+v, want errInterrupted", a)
	}
}

// parkOn parks t in a wait for f to be readable, as a repeatable run's poll does.
func parkOn(t *Task, f *File) {
	t.pending = &pendingOp{wait: &hostWait{
		fds:   []unix.PollFd{{Fd: int32(f.fd), Events: unix.POLLIN}},
		files: []*File{f},
		retry: func() (uint64, error) { return 1, nil },
	}}
	op := t.pending
	sleepNow(t)
	t.p.park(t, op)
}

// BenchmarkParkedTurn is what a turn of a repeatable run's loop pays for n parked waits
// of which none is ready: on one pipe, or on an eventfd each. It was one poll per wait.
func BenchmarkParkedTurn(b *testing.B) {
	for _, own := range []bool{false, true} {
		for _, n := range []int{10, 100, 1000, 10000} {
			if own && n > 1000 {
				continue // a descriptor each
			}
			b.Run(fmt.Sprintf("own=%v/waits=%d", own, n), func(b *testing.B) {
				task := loadTestTask(b)
				p := task.p
				r, _ := newPipeFiles(b)
				b.Cleanup(func() { unix.Close(r.fd) })
				for _, w := range extraThreads(task, n) {
					f := r
					if own {
						efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
						if err != nil {
							b.Fatal(err)
						}
						b.Cleanup(func() { unix.Close(efd) })
						f = &File{fd: efd, refs: 1}
					}
					parkOn(w, f)
				}
				for b.Loop() {
					if p.pollParked() {
						b.Fatal("a wait ended")
					}
				}
			})
		}
	}
}
