package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"

	"vemu/abi"
)

func TestTimensOffsetsWrite(t *testing.T) {
	for _, c := range []struct {
		name, in string
		sysTime  bool
		want     error
	}{
		{"frozen", "monotonic 1 0\n", true, unix.EACCES},
		{"unprivileged", "boottime -5 10\n", false, unix.EPERM},
		{"by-number", "1 1 0\n7 2 0\n", true, unix.EACCES},
		{"bad-clock", "realtime 1 0\n", true, unix.EINVAL},
		{"nsec-too-big", "monotonic 1 1000000000\n", true, unix.EINVAL},
		{"missing-field", "monotonic 1\n", false, unix.EINVAL},
		{"not-a-number", "monotonic x 0\n", true, unix.EINVAL},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := setTimensOffsets([]byte(c.in), uint64(len(c.in)), c.sysTime)
			assert.Equal(t, c.want, err)
		})
	}
}

func TestAutogroupNiceWrite(t *testing.T) {
	k := &Kernel{}
	for _, c := range []struct {
		in   string
		nice bool
		want error
	}{
		{"5\n", false, nil}, {"19", false, nil}, {"20", true, unix.EINVAL}, {"-21", true, unix.EINVAL},
		{"-1", false, unix.EPERM}, {"-20", true, nil}, {"x", true, unix.EINVAL}, {"", true, unix.EINVAL},
	} {
		n, err := k.setAutogroupNice([]byte(c.in), uint64(len(c.in)), c.nice)
		assert.Equal(t, c.want, err, "%q", c.in)
		if err == nil {
			assert.Equal(t, uint64(len(c.in)), n)
		}
	}
	assert.Equal(t, int32(-20), k.autogroupNice.Load())
}

func TestMapFilesName(t *testing.T) {
	for s, want := range map[string]bool{
		"400000-401000": true, "7f00a000-7f00b000": true, "0400000-401000": false, "400000-400000": false,
		"401000-400000": false, "400000": false, "ABC-DEF0": false, "400000-401000-": false, "-1": false,
	} {
		assert.Equal(t, want, mapFilesName(s), s)
	}
}

func TestTimersText(t *testing.T) {
	p := &Process{pid: 42}
	p.timers.byID = map[int32]*posixTimer{
		0: {id: 0, named: 1, made: 1, notify: abi.SIGEV_SIGNAL, signo: 10, value: 0x1234},
		1: {id: 1, named: -6, made: 3, notify: abi.SIGEV_NONE, signo: 10},
		5: {id: 5, named: 0, made: 2, notify: abi.SIGEV_SIGNAL | abi.SIGEV_THREAD_ID, signo: 14, target: &Task{tid: 43}},
	}
	assert.Equal(t, "ID: 1\nsignal: 10/0000000000000000\nnotify: none/pid.42\nClockID: -6\n"+
		"ID: 5\nsignal: 14/0000000000000000\nnotify: signal/tid.43\nClockID: 0\n"+
		"ID: 0\nsignal: 10/0000000000001234\nnotify: signal/pid.42\nClockID: 1\n", string(p.timersText()))
}
