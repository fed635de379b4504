package kernel

import (
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
)

// sysUname implements uname(2): the host's names, on an x86_64 machine.
func sysUname(t *Task, a Args) (uint64, error) {
	var h unix.Utsname
	if err := unix.Uname(&h); err != nil {
		return 0, err
	}
	var u abi.Utsname
	cstr := func(b []byte) string {
		for i, c := range b {
			if c == 0 {
				return string(b[:i])
			}
		}
		return string(b)
	}
	abi.SetUtsField(&u.Sysname, "Linux")
	abi.SetUtsField(&u.Nodename, cstr(h.Nodename[:]))
	abi.SetUtsField(&u.Release, cstr(h.Release[:]))
	abi.SetUtsField(&u.Version, cstr(h.Version[:]))
	abi.SetUtsField(&u.Machine, "x86_64")
	abi.SetUtsField(&u.Domainname, cstr(h.Domainname[:]))
	var b [abi.UtsnameSize]byte
	u.Marshal(b[:])
	return 0, t.p.mm.CopyOut(a.Ptr(0), b[:])
}

// sysSysinfo implements sysinfo(2) with the host's figures.
func sysSysinfo(t *Task, a Args) (uint64, error) {
	var h unix.Sysinfo_t
	if err := unix.Sysinfo(&h); err != nil {
		return 0, err
	}
	s := abi.Sysinfo{
		Uptime: int64(h.Uptime), Loads: [3]uint64{uint64(h.Loads[0]), uint64(h.Loads[1]), uint64(h.Loads[2])},
		Totalram: uint64(h.Totalram), Freeram: uint64(h.Freeram), Sharedram: uint64(h.Sharedram),
		Bufferram: uint64(h.Bufferram), Totalswap: uint64(h.Totalswap), Freeswap: uint64(h.Freeswap),
		Procs: h.Procs, Totalhigh: uint64(h.Totalhigh), Freehigh: uint64(h.Freehigh), MemUnit: h.Unit,
	}
	var b [abi.SysinfoSize]byte
	s.Marshal(b[:])
	return 0, t.p.mm.CopyOut(a.Ptr(0), b[:])
}

// sysGetrandom implements getrandom(2); with a seed the bytes repeat from run to run.
func sysGetrandom(t *Task, a Args) (uint64, error) {
	fl := a.Uint(2)
	if fl&^(abi.GRND_NONBLOCK|abi.GRND_RANDOM|abi.GRND_INSECURE) != 0 ||
		fl&(abi.GRND_RANDOM|abi.GRND_INSECURE) == abi.GRND_RANDOM|abi.GRND_INSECURE {
		// As Linux: GRND_INSECURE and GRND_RANDOM ask for opposite things.
		return 0, unix.EINVAL
	}
	n := min(a[1], 1<<25)
	b, err := t.bufs(a.Ptr(0), n, emu.ProtWrite)
	if err != nil {
		if n == 0 {
			return 0, nil
		}
		return 0, err
	}
	var got uint64
	for _, p := range b {
		t.p.k.fillRandom(p)
		got += uint64(len(p))
	}
	return got, nil
}

// fillRandom fills b from the kernel's random source.
func (k *Kernel) fillRandom(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := k.random()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}
