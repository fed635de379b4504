// The signals vemu was started with ignored. A program started in vemu's place inherits
// SIG_IGN through execve; the Go runtime installs its own handlers over most of them and
// tells only SIGINT and SIGHUP apart (os/signal.Ignored), so the dispositions are read
// here, in a constructor, before the runtime starts.
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t start_ignored;

// The kernel's struct sigaction: the raw call also answers for the signals glibc keeps
// for itself (32 and 33), whose wrapper refuses them.
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

__attribute__((constructor)) static void read_start_ignored(void) {
	for (int sig = 1; sig <= 64; sig++) {
		struct ksigaction old;
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof old.mask) == 0 && old.handler == (void *)1)
			start_ignored |= (uint64_t)1 << (sig - 1);
	}
}

uint64_t vemu_start_ignored(void) { return start_ignored; }
