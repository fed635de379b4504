package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/kernel/mm"
)

// Futex queues and the scheduler with many threads: the cost of one operation must not
// grow with the number of waiters or threads. The threads here have no registers of
// their own (no engine context), so that ten thousand of them cost little; they only
// wait, wake and are scheduled.

// extraThreads adds n threads to task's process, all runnable.
func extraThreads(task *Task, n int) []*Task {
	p := task.p
	out := make([]*Task, n)
	for i := range out {
		t := &Task{p: p, cpu: p.cpu, tid: 1_000_000 + len(p.tasks)}
		p.tasks = append(p.tasks, t)
		p.byTID[t.tid] = t
		p.live++
		p.maskStale = true
		p.runq.push(t)
		t.maskChanged()
		out[i] = t
	}
	return out
}

// sleepNow does what the run loop does with a call that blocked.
func sleepNow(t *Task) {
	op := t.pending
	t.pending = nil
	t.setState(taskBlocked)
	t.blocked = op
	t.gen++
}

// futexOn makes futex(2) operation op for t on the word at addr.
func futexOn(t *Task, addr mm.Addr, op int32, val uint64, rest ...uint64) (uint64, error) {
	a := Args{uint64(addr), uint64(op), val}
	copy(a[3:], rest)
	return sysFutex(t, a)
}

// waitOn makes t wait on the futex at addr (whose value must be 0) with bitset bits.
func waitOn(tb testing.TB, t *Task, addr mm.Addr, bits uint32) {
	_, err := futexOn(t, addr, abi.FUTEX_WAIT_BITSET|abi.FUTEX_PRIVATE_FLAG, 0, 0, 0, uint64(bits))
	require.ErrorIs(tb, err, errBlocked)
	sleepNow(t)
}

// waitvOn makes t wait on the futexes at addrs with futex_waitv, all private.
func waitvOn(tb testing.TB, t *Task, at mm.Addr, addrs ...mm.Addr) {
	var b []byte
	for _, a := range addrs {
		var w [futexWaitvSize]byte
		putLE64(w[8:], uint64(a))
		putLE64(w[16:], futex2SizeU32|futex2Private)
		b = append(b, w[:]...)
	}
	require.NoError(tb, t.p.mm.CopyOut(at, b))
	_, err := sysFutexWaitv(t, Args{uint64(at), uint64(len(addrs))})
	require.ErrorIs(tb, err, errBlocked)
	sleepNow(t)
}

func putLE64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func wake(tb testing.TB, t *Task, addr mm.Addr, n int) int {
	r, err := futexOn(t, addr, abi.FUTEX_WAKE|abi.FUTEX_PRIVATE_FLAG, uint64(n))
	require.NoError(tb, err)
	return int(r)
}

func runnableOf(ts []*Task) (n int) {
	for _, t := range ts {
		if t.state == taskRunnable {
			n++
		}
	}
	return n
}

const (
	futexA = scratchRW + 0x100
	futexB = scratchRW + 0x200
)

func TestFutexTenThousandWaiters(t *testing.T) {
	task := loadTestTask(t)
	const n = 10000
	ws := extraThreads(task, n)
	for i, w := range ws {
		bits := uint32(1)
		if i%2 == 1 {
			bits = 2
		}
		waitOn(t, w, futexA, bits)
	}
	require.Equal(t, 1, task.p.runnable(), "only the waker runs")
	// Wakes take waiters in arrival order.
	require.Equal(t, 1, wake(t, task, futexA, 1))
	assert.Equal(t, taskRunnable, ws[0].state)
	assert.Equal(t, taskBlocked, ws[1].state)
	// A bitset wake takes only the waiters whose bitsets meet it, first come first.
	r, err := futexOn(task, futexA, abi.FUTEX_WAKE_BITSET|abi.FUTEX_PRIVATE_FLAG, 3, 0, 0, 2)
	require.NoError(t, err)
	require.Equal(t, uint64(3), r)
	assert.Equal(t, []taskState{taskRunnable, taskBlocked, taskRunnable, taskBlocked, taskRunnable, taskBlocked, taskBlocked},
		states(ws[1:8]))
	// FUTEX_REQUEUE moves all the others to another futex, in their order.
	left := n - 4
	r, err = futexOn(task, futexA, abi.FUTEX_REQUEUE|abi.FUTEX_PRIVATE_FLAG, 0, math.MaxInt32, uint64(futexB))
	require.NoError(t, err)
	require.Equal(t, uint64(left), r)
	require.Zero(t, wake(t, task, futexA, math.MaxInt32), "none left on the first futex")
	require.Equal(t, 1, wake(t, task, futexB, 1))
	assert.Equal(t, taskRunnable, ws[2].state, "the first of them is the first out")
	require.Equal(t, left-1, wake(t, task, futexB, math.MaxInt32))
	assert.Equal(t, n+1, task.p.runnable())
	assert.Equal(t, n, runnableOf(ws))
	assert.Empty(t, task.p.futexes, "no queue is kept once empty")
}

func states(ts []*Task) []taskState {
	out := make([]taskState, len(ts))
	for i, t := range ts {
		out[i] = t.state
	}
	return out
}

func TestFutexRequeueOntoItself(t *testing.T) {
	// A requeue onto the same futex moves each waiter once, to the back.
	task := loadTestTask(t)
	ws := extraThreads(task, 3)
	for _, w := range ws {
		waitOn(t, w, futexA, abi.FUTEX_BITSET_MATCH_ANY)
	}
	r, err := futexOn(task, futexA, abi.FUTEX_REQUEUE|abi.FUTEX_PRIVATE_FLAG, 0, 2, uint64(futexA))
	require.NoError(t, err)
	require.Equal(t, uint64(2), r)
	require.Equal(t, 1, wake(t, task, futexA, 1))
	assert.Equal(t, taskRunnable, ws[2].state, "the one not moved is first now")
	r, err = futexOn(task, futexA, abi.FUTEX_REQUEUE|abi.FUTEX_PRIVATE_FLAG, 0, 100, uint64(futexA))
	require.NoError(t, err)
	require.Equal(t, uint64(2), r)
	require.Equal(t, 1, wake(t, task, futexA, 1))
	assert.Equal(t, taskRunnable, ws[0].state)
}

func TestFutexKilledWaiters(t *testing.T) {
	// Waiters that end mid-wait (exec ends the other threads, say) leave their queues:
	// a later wake neither counts nor touches them.
	task := loadTestTask(t)
	p := task.p
	ws := extraThreads(task, 1000)
	for i, w := range ws {
		if i%3 == 0 {
			waitvOn(t, w, scratchRW+0x1000, futexA, futexB)
		} else {
			waitOn(t, w, futexA, abi.FUTEX_BITSET_MATCH_ANY)
		}
	}
	for i, w := range ws {
		if i%2 == 0 {
			w.setState(taskDead)
		}
	}
	p.reap()
	require.Equal(t, 500, p.live-1)
	require.Equal(t, 500, wake(t, task, futexA, math.MaxInt32))
	assert.Equal(t, 500, runnableOf(ws))
	assert.Empty(t, p.futexes)
	assert.Empty(t, p.swaits, "the futex_waitv waits went with them")
	assert.Zero(t, wake(t, task, futexB, math.MaxInt32), "woken futex_waitv waits left the other futex")
	sf := p.k.sharedFutexTable()
	sf.mu.Lock()
	defer sf.mu.Unlock()
	assert.Empty(t, sf.q)
}

func TestFutexWaitvSameWordTwice(t *testing.T) {
	// One wake takes a futex_waitv that waits twice on its word once, and goes on to
	// the next waiter.
	task := loadTestTask(t)
	ws := extraThreads(task, 3)
	waitOn(t, ws[0], futexA, abi.FUTEX_BITSET_MATCH_ANY)
	waitvOn(t, ws[1], scratchRW+0x1000, futexA, futexB, futexA)
	waitvOn(t, ws[2], scratchRW+0x2000, futexA)
	// The private plain waiter first, then the futex_waitv ones in order.
	require.Equal(t, 3, wake(t, task, futexA, 3))
	assert.Equal(t, 3, runnableOf(ws))
	assert.Equal(t, uint64(0), *ws[1].resume, "woken through its first entry")
	assert.Empty(t, task.p.swaits)
}

func TestRunQueueTakesTurns(t *testing.T) {
	task := loadTestTask(t)
	p := task.p
	ws := extraThreads(task, 3)
	all := append([]*Task{task}, ws...)
	var got []*Task
	for range 8 {
		got = append(got, p.pick())
	}
	assert.Equal(t, append(all, all...), got, "round robin")
	ws[0].setState(taskBlocked)
	ws[0].setState(taskBlocked)
	assert.Equal(t, 3, p.runnable())
	assert.Equal(t, []*Task{task, ws[1], ws[2], task}, []*Task{p.pick(), p.pick(), p.pick(), p.pick()})
	ws[0].setState(taskRunnable)
	assert.Equal(t, []*Task{ws[1], ws[2], task, ws[0]}, []*Task{p.pick(), p.pick(), p.pick(), p.pick()},
		"a thread that wakes joins the back")
	ws[1].setState(taskDead)
	ws[1].setState(taskRunnable)
	assert.Equal(t, taskDead, ws[1].state, "the dead stay dead")
	assert.Equal(t, 3, p.runnable())
	assert.Equal(t, 3, p.live)
	p.stopped = true
	assert.Nil(t, p.pick())
	assert.Zero(t, p.runnable())
	p.stopped = false
}

func TestBlockedSignalCounts(t *testing.T) {
	task := loadTestTask(t)
	p := task.p
	ws := extraThreads(task, 3)
	usr1, usr2 := sigBit(abi.SIGUSR1), sigBit(abi.SIGUSR2)
	for _, w := range append(ws, task) {
		w.putSigmask(usr1)
	}
	all, any := p.blockedSignals()
	assert.Equal(t, usr1, all)
	assert.Equal(t, usr1, any)
	ws[1].setSigWait(&sigWait{set: usr2})
	ws[2].putSigmask(usr2)
	all, any = p.blockedSignals()
	assert.Zero(t, all)
	assert.Equal(t, usr1|usr2, any)
	ws[2].setState(taskDead) // the one that did not block SIGUSR1 ends
	all, any = p.blockedSignals()
	assert.Equal(t, usr1, all)
	assert.Equal(t, usr1|usr2, any)
	ws[1].setSigWait(nil)
	_, any = p.blockedSignals()
	assert.Equal(t, usr1, any)
	// A new thread that blocks nothing: no signal is blocked by all any more.
	_, err := p.newTask(2_000_000)
	require.NoError(t, err)
	all, _ = p.blockedSignals()
	assert.Zero(t, all)
}

func BenchmarkFutexWakeOne(b *testing.B) {
	// One wake and one wait again, with n threads waiting on the futex.
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("waiters=%d", n), func(b *testing.B) {
			task := loadTestTask(b)
			ws := extraThreads(task, n)
			for _, w := range ws {
				waitOn(b, w, futexA, abi.FUTEX_BITSET_MATCH_ANY)
			}
			i := 0
			for b.Loop() {
				if wake(b, task, futexA, 1) != 1 {
					b.Fatal("no waiter woken")
				}
				w := ws[i%n]
				w.resume = nil
				waitOn(b, w, futexA, abi.FUTEX_BITSET_MATCH_ANY)
				i++
			}
		})
	}
}

func BenchmarkFutexWaitvWakeOne(b *testing.B) {
	// The same through the kernel-wide table, with futex_waitv's waiters.
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("waiters=%d", n), func(b *testing.B) {
			task := loadTestTask(b)
			ws := extraThreads(task, n)
			for _, w := range ws {
				waitvOn(b, w, scratchRW+0x1000, futexA)
			}
			i := 0
			for b.Loop() {
				if wake(b, task, futexA, 1) != 1 {
					b.Fatal("no waiter woken")
				}
				w := ws[i%n]
				w.resume = nil
				waitvOn(b, w, scratchRW+0x1000, futexA)
				i++
			}
		})
	}
}

func BenchmarkSchedTurn(b *testing.B) {
	// What one turn of the run loop costs besides running guest code, with n threads
	// runnable, or one runnable and n-1 waiting on futexes.
	for _, blocked := range []bool{false, true} {
		for _, n := range []int{10, 100, 1000, 10000} {
			b.Run(fmt.Sprintf("blocked=%v/threads=%d", blocked, n), func(b *testing.B) {
				defer func(was bool) { checkBlocked = was }(checkBlocked)
				checkBlocked = false // the check walks every thread
				task := loadTestTask(b)
				p := task.p
				ws := extraThreads(task, n-1)
				if blocked {
					for i, w := range ws {
						waitOn(b, w, futexA+mm.Addr(4*i), abi.FUTEX_BITSET_MATCH_ANY)
					}
				}
				for b.Loop() {
					p.drain(false)
					if p.pick() == nil {
						b.Fatal("nothing to run")
					}
					p.publishFatal()
					p.advanceVirtual()
					p.reap()
					p.updatePreempt()
				}
			})
		}
	}
}

// piOwnerWithMappings makes task the owner, in user space, of nLocks PI futexes, one in
// each of the first of nMaps shared one-page mappings, each with a waiter (threads of
// its own process); it returns the words and their waiters.
func piOwnerWithMappings(tb testing.TB, task *Task, nMaps, nLocks int) ([]mm.Addr, []*Task) {
	tb.Helper()
	var words []mm.Addr
	for i := range nMaps {
		r := call(task, abi.SYS_MMAP, 0, mm.PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS, ^uint64(0), 0)
		require.Greater(tb, r, int64(0), "mmap")
		if i < nLocks {
			at := mm.Addr(r) + mm.Addr(4*(i%64))
			require.NoError(tb, task.storeWord(at, uint32(task.tid)))
			words = append(words, at)
		}
	}
	ws := extraThreads(task, nLocks)
	for i, w := range ws {
		_, err := futexOn(w, words[i], abi.FUTEX_LOCK_PI, 0)
		require.ErrorIs(tb, err, errBlocked)
		sleepNow(w)
	}
	return words, ws
}

func TestFutexPIExitWithManyMappings(t *testing.T) {
	// An owner that ends holding many shared PI futexes passes each to its waiter,
	// whether its process met the word in the kernel before or not.
	task := loadTestTask(t)
	words, ws := piOwnerWithMappings(t, task, 3000, 1000)
	pt := task.p.k.piFutexes()
	pt.mu.Lock()
	i := 0
	for l := range pt.owned[task.tid] {
		if i%2 == 0 {
			l.at = nil // as if only another process's threads had met it
		}
		i++
	}
	require.Equal(t, 1000, i)
	pt.mu.Unlock()
	task.exitPI(false)
	for i, w := range words {
		v, err := task.loadWord(w)
		require.NoError(t, err)
		require.Equal(t, uint32(ws[i].tid)|futexWaiters|futexOwnerDied, v, "word %d", i)
		require.Equal(t, taskRunnable, ws[i].state)
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	assert.Empty(t, pt.owned[task.tid])
}

func BenchmarkFutexPIExit(b *testing.B) {
	// Finding the words of 100 PI futexes an ending owner holds, with n mappings: met by
	// its own process in the kernel before (waiters of its own), or not (another
	// process's waiters).
	for _, met := range []bool{true, false} {
		for _, n := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("met=%v/mappings=%d", met, n), func(b *testing.B) {
				task := loadTestTask(b)
				words, _ := piOwnerWithMappings(b, task, n, 100)
				pt := task.p.k.piFutexes()
				var held []*piLock
				for l := range pt.owned[task.tid] {
					if !met {
						l.at = nil
					}
					held = append(held, l)
				}
				for b.Loop() {
					if got := task.piAddrs(held); len(got) != len(words) {
						b.Fatalf("%d words found, want %d", len(got), len(words))
					}
				}
			})
		}
	}
}

func TestThreadPendingCounts(t *testing.T) {
	// The process keeps which signals some thread has pending, for signalfds.
	task := loadTestTask(t)
	p := task.p
	ws := extraThreads(task, 3)
	for _, w := range ws {
		w.sig.pending.thread = true
	}
	usr1, usr2 := sigBit(abi.SIGUSR1), sigBit(abi.SIGUSR2)
	ws[0].sig.pending.add(abi.Siginfo{Signo: abi.SIGUSR1}, p.queued())
	ws[1].sig.pending.add(abi.Siginfo{Signo: abi.SIGUSR1}, p.queued())
	ws[1].sig.pending.add(abi.Siginfo{Signo: abi.SIGUSR2}, p.queued())
	p.sig.pending.add(abi.Siginfo{Signo: abi.SIGTERM}, p.queued())
	assert.Equal(t, usr1|usr2, p.sigQueued.threadsAny, "the process's own queue is not a thread's")
	ws[0].sig.pending.take(abi.SIGUSR1, p.queued())
	assert.Equal(t, usr1|usr2, p.sigQueued.threadsAny)
	ws[1].sig.pending.drop(abi.SIGUSR1, p.queued())
	assert.Equal(t, usr2, p.sigQueued.threadsAny)
	ws[1].sig.pending.discard(p.queued())
	assert.Zero(t, p.sigQueued.threadsAny)
}

func TestFutexTimedWaitsWokenEarly(t *testing.T) {
	// Timed waits that a wake ends before their time leave no timer behind.
	task := loadTestTask(t)
	p := task.p
	ts := scratchRW + 0x3000
	require.NoError(t, p.mm.CopyOut(ts, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 3600), 0)))
	ws := extraThreads(task, 1000)
	for _, w := range ws {
		_, err := futexOn(w, futexA, abi.FUTEX_WAIT|abi.FUTEX_PRIVATE_FLAG, 0, uint64(ts))
		require.ErrorIs(t, err, errBlocked)
		sleepNow(w)
	}
	require.Equal(t, 1000, p.vtimers.len())
	require.Equal(t, 500, wake(t, task, futexA, 500))
	assert.Equal(t, 500, p.vtimers.len())
	for _, w := range ws[500:] {
		w.setState(taskDead)
	}
	p.reap()
	assert.Zero(t, p.vtimers.len(), "nor do waiters that ended")
}
