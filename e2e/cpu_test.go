package e2e

import (
	"strings"
	"testing"

	"vemu/emu"
)

// featureLine is one feature line of the cpufeat guest: what CPUID, __builtin_cpu_supports
// ('-' where GCC has no name) and /proc/cpuinfo say, and the snippet's results or SIGILL.
type featureLine struct {
	cpuid, builtin, cpuinfo byte
	results                 string
}

// parseCPUFeat splits the cpufeat guest's output into its check lines (name -> rest) and
// feature lines.
func parseCPUFeat(t *testing.T, out []byte) (checks map[string]string, feats map[string]featureLine, order []string) {
	checks, feats = map[string]string{}, map[string]featureLine{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.HasPrefix(f[1], "cpuid=") {
			val := func(s, key string) byte {
				if !strings.HasPrefix(s, key+"=") || len(s) != len(key)+2 {
					t.Fatalf("bad field %q in %q", s, line)
				}
				return s[len(key)+1]
			}
			feats[f[0]] = featureLine{val(f[1], "cpuid"), val(f[2], "builtin"), val(f[3], "cpuinfo"), strings.Join(f[4:], " ")}
			order = append(order, f[0])
		} else if len(f) >= 2 {
			checks[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return checks, feats, order
}

// TestCPUFeatures runs the cpufeat guest natively and under vemu: every feature the
// emulated CPU advertises in CPUID must give the native results, and every other must
// raise SIGILL; __builtin_cpu_supports, /proc/cpuinfo, AT_HWCAP and AT_HWCAP2 must say
// what CPUID says, and the number of CPUs must agree between sched_getaffinity,
// /proc/cpuinfo and /sys/devices/system/cpu/online.
func TestCPUFeatures(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			inv := invocation{prog: guest("cpufeat." + libc), dir: t.TempDir()}
			n, v := runNative(t, inv), runVemu(t, inv)
			if n.status != 0 || v.status != 0 {
				t.Fatalf("status: native %d, vemu %d\nvemu stderr:\n%s", n.status, v.status, tail(v.stderr, 2000))
			}
			nChecks, nFeats, _ := parseCPUFeat(t, n.stdout)
			vChecks, vFeats, order := parseCPUFeat(t, v.stdout)
			for name, want := range map[string]string{
				"hwcap-is-cpuid1-edx":      "yes",
				"hwcap2-fsgsbase-is-cpuid": "yes",
				"cpus":                     "affinity-is-cpuinfo yes affinity-is-online yes",
			} {
				if vChecks[name] != want {
					t.Errorf("vemu: %s %s, want %s", name, vChecks[name], want)
				}
				if nChecks[name] != want {
					t.Logf("native: %s %s (the host differs from what vemu shows)", name, nChecks[name])
				}
			}
			advertised := map[string]bool{}
			for _, name := range order {
				vf, nf := vFeats[name], nFeats[name]
				adv := vf.cpuid == 'Y'
				advertised[name] = adv
				if vf.cpuinfo != vf.cpuid {
					t.Errorf("%s: CPUID says %c, /proc/cpuinfo %c", name, vf.cpuid, vf.cpuinfo)
				}
				if vf.builtin != '-' && vf.builtin != vf.cpuid {
					t.Errorf("%s: CPUID says %c, __builtin_cpu_supports %c", name, vf.cpuid, vf.builtin)
				}
				switch {
				case adv && nf.results == "SIGILL":
					t.Errorf("%s: advertised, but the host lacks it: nothing to compare with", name)
				case adv && vf.results != nf.results:
					t.Errorf("%s: advertised, but the results differ\nnative: %s\nvemu:   %s", name, nf.results, vf.results)
				case !adv && vf.results != "SIGILL" && emu.RunAnyway[name] == "":
					t.Errorf("%s: not advertised, but its instructions run: %s", name, vf.results)
				}
			}
			// The instructions the emulated CPU lacked before it chose a richer model.
			for _, name := range []string{"popcnt", "abm", "bmi1", "sse4_2", "ssse3", "aes", "pclmulqdq"} {
				if !advertised[name] {
					t.Errorf("%s is not advertised", name)
				}
			}
		})
	}
}
