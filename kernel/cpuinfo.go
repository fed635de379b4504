package kernel

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"vemu/emu"
)

// The guest's view of its CPUs: as many as vemu may run on (what sched_getaffinity
// reports), each the emulated model with the features its CPUID advertises. /proc/cpuinfo
// and /sys/devices/system/cpu/{online,possible,present} say the same, so that glibc's
// sysconf (which reads the sysfs files), musl's (sched_getaffinity) and programs that
// count "processor" lines agree.

// guestCPUs returns the numbers of the CPUs the guest has: those of vemu's affinity mask.
func guestCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return []int{0}
	}
	var cpus []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) == 0 {
		return []int{0}
	}
	return cpus
}

// cpuList formats CPU numbers (ascending) as Linux's cpulist format: "0-3,6".
func cpuList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// hostClock is the host's "cpu MHz" and "bogomips" (the guest's rdtsc counts the host's
// TSC), read once from the host's /proc/cpuinfo.
var hostClock = sync.OnceValue(func() (c struct{ mhz, bogomips string }) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return c
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && (c.mhz == "" || c.bogomips == "") {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			continue
		}
		switch k {
		case "cpu MHz":
			c.mhz = v
		case "bogomips":
			c.bogomips = v
		}
	}
	return c
})

// cpuinfo renders /proc/cpuinfo as Linux's show_cpuinfo() does for x86: one entry per CPU,
// all cores of one package.
func cpuinfo(in emu.CPUInfo, cpus []int) []byte {
	clk := hostClock()
	var b bytes.Buffer
	for i, n := range cpus {
		fmt.Fprintf(&b, "processor\t: %d\n", n)
		fmt.Fprintf(&b, "vendor_id\t: %s\n", in.Vendor)
		fmt.Fprintf(&b, "cpu family\t: %d\n", in.Family)
		fmt.Fprintf(&b, "model\t\t: %d\n", in.Model)
		fmt.Fprintf(&b, "model name\t: %s\n", in.ModelName)
		fmt.Fprintf(&b, "stepping\t: %d\n", in.Stepping)
		if clk.mhz != "" {
			fmt.Fprintf(&b, "cpu MHz\t\t: %s\n", clk.mhz)
		}
		if in.L2KiB != 0 {
			fmt.Fprintf(&b, "cache size\t: %d KB\n", in.L2KiB)
		}
		fmt.Fprintf(&b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n", len(cpus), i, len(cpus))
		fmt.Fprintf(&b, "apicid\t\t: %d\ninitial apicid\t: %d\n", i, i)
		fmt.Fprintf(&b, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %d\nwp\t\t: yes\n", in.Level)
		fmt.Fprintf(&b, "flags\t\t: %s\n", strings.Join(in.Flags, " "))
		b.WriteString("bugs\t\t:\n")
		if clk.bogomips != "" {
			fmt.Fprintf(&b, "bogomips\t: %s\n", clk.bogomips)
		}
		fmt.Fprintf(&b, "clflush size\t: %d\ncache_alignment\t: %d\n", in.CLFlushSize, in.CLFlushSize)
		fmt.Fprintf(&b, "address sizes\t: %d bits physical, %d bits virtual\n", in.PhysBits, in.VirtBits)
		b.WriteString("power management:\n\n")
	}
	return b.Bytes()
}

// systemFile returns the contents of a synthetic file outside /proc/self that describes
// the emulated machine, or false for any other path.
func (t *Task) systemFile(p string) ([]byte, bool) {
	if !path.IsAbs(p) {
		return nil, false
	}
	switch path.Clean(p) {
	case "/proc/cpuinfo":
		return cpuinfo(t.p.cpu.Info(), guestCPUs()), true
	case "/proc/sys/kernel/core_pattern":
		return []byte(corePattern), true
	case "/sys/devices/system/cpu/online", "/sys/devices/system/cpu/possible", "/sys/devices/system/cpu/present":
		return []byte(cpuList(guestCPUs()) + "\n"), true
	}
	return nil, false
}
