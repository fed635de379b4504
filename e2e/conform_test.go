package e2e

import (
	"strings"
	"testing"
)

// conformGuests check system calls against Linux's answers, each as a C program run
// natively and under vemu with both libcs. Those that change credentials need root and
// say "skipped" otherwise, natively and under vemu alike.
var conformGuests = []diffCase{
	{name: "caps", cmds: one("caps")},
	{name: "calls", cmds: one("calls")},
	{name: "pidfd", cmds: one("pidfd")},
	{name: "sysvipc", cmds: one("sysvipc")},
	{name: "pshared", cmds: one("pshared")},
	{name: "procvm", cmds: one("procvm")},
	{name: "fsperm", cmds: one("fsperm")},
	{name: "procpid", cmds: one("procpid")},
	{name: "procsmaps", cmds: one("procsmaps")},
	{name: "procmisc", cmds: one("procmisc")},
	{name: "procstatus", cmds: one("procstatus")},
	{name: "frameless", cmds: one("frameless")},
	{name: "limits", cmds: one("limits")},
	{name: "cpulimit", cmds: one("cpulimit")},
	{name: "sigio", cmds: one("sigio")},
	{name: "fioasync", cmds: one("fioasync")},
	{name: "sigiospace", cmds: one("sigiospace")},
	{name: "sigiohup", cmds: one("sigiohup")},
	{name: "faultrf", cmds: one("faultrf")},
	{name: "x87math", cmds: one("x87math")},
	{name: "sseflags", cmds: one("sseflags")},
	{name: "vexud", cmds: one("vexud")},
	{name: "latehook-thread", cmds: one("latehook", "thread")},
	{name: "latehook-handler", cmds: one("latehook", "handler")},
	{name: "anonmerge", cmds: one("anonmerge")},
	{name: "thpalign", cmds: one("thpalign")},
	{name: "shflag", cmds: one("shflag")},
	{name: "getcpu", cmds: one("getcpu")},
	{name: "rseq", cmds: one("rseq")},
	{name: "faccess", cmds: one("faccess")},
	{name: "mqueue", cmds: one("mqueue")},
	{name: "aio", cmds: one("aio")},
	{name: "futex2", cmds: one("futex2")},
	{name: "futexpi", cmds: one("futexpi")},
	{name: "procmm", cmds: one("procmm")},
	{name: "mseal", cmds: one("mseal")},
	{name: "ptrace", cmds: one("ptrace")},
	{name: "seccomp", cmds: one("seccomp")},
	{name: "proctask", cmds: one("proctask")},
	{name: "clonevm", cmds: one("clonevm")},
	{name: "vforkbrk", cmds: one("vforkbrk")},
	{name: "refused", cmds: one("refused")},
	{name: "ldt", cmds: one("ldt")},
	{name: "orphans", cmds: one("orphans")},
	{name: "rusage", cmds: one("rusage")},
	{name: "killperm", cmds: one("killperm")},
	{name: "stopcont", cmds: one("stopcont")},
	{name: "mempolicy", cmds: one("mempolicy")},
	// Terabytes mapped, split, protected, shrunk and unmapped a thousand times: as quick
	// as the pages touched, or the run's timeout ends it.
	{name: "bigunmap", cmds: one("bigunmap", "8192", "1000")},
	{name: "secretmem", cmds: one("secretmem")},
	{name: "remapfile", cmds: one("remapfile", "work"), setup: mkdirs("work")},
	{name: "xattrat", cmds: one("xattrat", "work"), setup: mkdirs("work")},
	{name: "fileattr", cmds: one("fileattr", "work"), setup: mkdirs("work")},
	{name: "leases", cmds: one("leases", "work"), setup: mkdirs("work")},
	{name: "madvise", cmds: one("madvise")},
	{name: "ptseccomp", cmds: one("ptseccomp")},
	{name: "pthwbp", cmds: one("pthwbp")},
	{name: "ptlisten", cmds: one("ptlisten")},
	{name: "ptthreads", cmds: one("ptthreads")},
	{name: "ptmulti", cmds: one("ptmulti")},
	{name: "ptnoclone", cmds: one("ptnoclone")},
	{name: "ptrestart", cmds: one("ptrestart")},
	{name: "ptsysexit", cmds: one("ptsysexit")},
	{name: "ptexit", cmds: one("ptexit")},
	{name: "ptgroupstop", cmds: one("ptgroupstop")},
	{name: "ptseizemany", cmds: one("ptseizemany")},
	{name: "smc", cmds: one("smc")},
	{name: "dualmap", cmds: one("dualmap")},
	{name: "threadcpu", cmds: one("threadcpu")},
	{name: "rusagethread", cmds: one("rusagethread")},
	{name: "recvmmsg", cmds: one("recvmmsg")},
	{name: "mlock", cmds: one("mlock")},
	{name: "seccompnotify", cmds: one("seccompnotify")},
	{name: "unsharefiles", cmds: one("unsharefiles", "."), setup: mkdirs("work")},
	{name: "umask", cmds: one("umask", "work"), setup: mkdirs("work")},
	{name: "dnotify", cmds: one("dnotify", "work"), setup: mkdirs("work")},
	{name: "truncmap", cmds: one("truncmap", "work"), setup: mkdirs("work")},
	{name: "shmmany", cmds: one("shmmany", "work"), setup: mkdirs("work")},
	{name: "sigwaits", cmds: one("sigwaits")},
	{name: "sigtoggle", cmds: one("sigtoggle")},
	{name: "pty", cmds: one("pty")},
	{name: "ttyjob", cmds: one("ttyjob")},
	{name: "tcflow", cmds: one("tcflow")},
	{name: "killstart", cmds: one("killstart")},
	{name: "sharedexec", cmds: one("sharedexec")},
	{name: "pipeherd", cmds: one("pipeherd")},
	{name: "pollherd", cmds: one("pollherd")},
	{name: "schedpids", cmds: one("schedpids")},
	{name: "procfdlist", cmds: one("procfdlist")},
	{name: "sockioctl", cmds: one("sockioctl")},
	{name: "socktimeo", cmds: one("socktimeo")},
	{name: "execcomm", cmds: one("execcomm", "work"), setup: mkdirs("work")},
	{name: "fsflags", cmds: one("fsflags", "work"), setup: mkdirs("work")},
	{name: "affinitypeer", cmds: one("affinitypeer")},
	{name: "procpeer", cmds: one("procpeer", "work"), setup: mkdirs("work")},
	{name: "chroot", cmds: one("chroot")},
	{name: "mountchecks", cmds: one("mountchecks")},
	{name: "quotactl", cmds: one("quotactl")},
	{name: "vsock", cmds: one("vsock")},
	{name: "pollclose", cmds: one("pollclose")},
	{name: "pollmask", cmds: one("pollmask")},
	{name: "peercred", cmds: one("peercred")},
	{name: "scmcreds", cmds: one("scmcreds")},
	{name: "orphanpg", cmds: one("orphanpg")},
	{name: "proctitle", cmds: one("proctitle")},
	{name: "proclinks", cmds: one("proclinks", "work"), setup: mkdirs("work")},
	{name: "procsymlink", cmds: one("procsymlink")},
	{name: "sigstarve", cmds: one("sigstarve")},
	{name: "setuidexec", cmds: one("setuidexec", "work"), setup: mkdirs("work")},
	{name: "vmaname", cmds: one("vmaname")},
	{name: "procpagemap", cmds: one("procpagemap", "work"), setup: mkdirs("work")},
	{name: "procsched", cmds: one("procsched")},
	{name: "procwalk", cmds: one("procwalk")},
}

// conformOther are the Go guests of the same kind.
var conformOther = []diffCase{
	{name: "go/splicecopy", cmds: one("splicecopy.go.bin", ".")},
}

func TestConformDiff(t *testing.T) { runGuests(t, conformGuests, conformOther) }

// TestListnsVemu runs testdata/c/listns.c under vemu alone: listns is Linux 6.19's, and a
// host kernel without it answers ENOSYS natively. The guest checks what the kernel's
// documentation and source say it answers, and exits non-zero on a difference.
func TestListnsVemu(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			t.Parallel()
			r := runVemu(t, invocation{prog: guest("listns." + libc), dir: t.TempDir()})
			if r.status != 0 || !strings.Contains(string(r.stdout), "listed: ") {
				t.Fatalf("listns under vemu: %v\n%s", r, r.stdout)
			}
		})
	}
}
