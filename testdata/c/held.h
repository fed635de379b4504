/* held.h: a forked child that does its part, says so and waits to be let go, so that its
 * parent reads what /proc shows of it while it stands still. */
#ifndef HELD_H
#define HELD_H

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct held {
	pid_t pid;
	int ready[2], go[2];
};

/* hold_fork forks: it returns 0 in the child, which does its part and calls hold_here;
 * in the parent, the child's pid once the child is there (-1 if it could not fork). */
__attribute__((unused)) static pid_t hold_fork(struct held *h)
{
	if (pipe(h->ready) < 0 || pipe(h->go) < 0)
		return -1;
	h->pid = fork();
	if (h->pid > 0) {
		char c;
		read(h->ready[0], &c, 1);
	}
	return h->pid;
}

/* hold_here, in the child, says it is there and waits to be let go, then exits 0. */
__attribute__((unused)) static void hold_here(struct held *h)
{
	write(h->ready[1], "r", 1);
	char c;
	read(h->go[0], &c, 1);
	_exit(0);
}

/* hold_release lets the child go and waits for its end. */
__attribute__((unused)) static void hold_release(struct held *h)
{
	write(h->go[1], "g", 1);
	waitpid(h->pid, NULL, 0);
}

#endif
