// A host SIGBUS while an engine runs guest code: the host file behind a shared mapping
// became shorter than the mapping (another program truncated it; the kernel's own
// truncations take the pages from the guest first). The host would kill vemu; instead
// the page gets zeroes, the engine stops, and Go gives the guest its SIGBUS. Every other
// SIGBUS goes to Go's handler, which panics where Go code asked for it
// (debug.SetPanicOnFault) and ends the program otherwise.
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hooks.h"

// The engine this thread runs guest code for, during vemu_run.
static __thread uc_engine *bus_uc;
static __thread struct vemu_state *bus_st;

// go_bus is the handler Go installed, which gets what is not ours.
static struct sigaction go_bus;

void vemu_sigbus_running(uc_engine *uc, struct vemu_state *st) {
	bus_uc = uc;
	bus_st = st;
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx) {
	struct vemu_state *st = bus_st;
	// Only guest code runs while running is set: hooks clear it before they call Go.
	if (st && st->running && si->si_code == BUS_ADRERR) {
		uintptr_t page = (uintptr_t)si->si_addr & ~(uintptr_t)4095;
		// A private zero page in its place lets the access end (mmap is
		// async-signal-safe); Go maps the file there again once the engine stopped.
		void *p = mmap((void *)page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != MAP_FAILED) {
			if (st->lost_n < VEMU_LOST_MAX) st->lost[st->lost_n] = (uint64_t)(uintptr_t)si->si_addr;
			st->lost_n++;
			// The stop is not exact: the rest of the block runs (reading zeroes where
			// Linux would have stopped at the access), and with the block hook the
			// engine stops before the next block; without it, where uc_emu_stop lands.
			if (st->block_on) {
				__atomic_store_n(&st->kick, 1, __ATOMIC_RELAXED);
				vemu_block_next(st); // not within on_block: SIGBUS comes from guest code
			} else {
				uc_emu_stop(bus_uc);
			}
			return;
		}
	}
	if (go_bus.sa_flags & SA_SIGINFO) {
		go_bus.sa_sigaction(sig, si, ctx);
		return;
	}
	// No Go handler (never so in vemu): the default action.
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

// vemu_sigbus_install puts on_sigbus before Go's handler; 0 on success.
int vemu_sigbus_install(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	if (sigaction(SIGBUS, NULL, &go_bus) != 0) return -1;
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL);
}
