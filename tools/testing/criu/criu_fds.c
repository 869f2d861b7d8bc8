// SPDX-License-Identifier: GPL-2.0
/*
 * criu_fds: what an ordinary process holds besides memory, for criu_pages.
 *
 * Real processes that CRIU checkpoints hold sockets (syslog, D-Bus), pipes
 * (a shell pipeline), eventfds, memfds and SysV shared memory; each is a
 * file or object CRIU dumps by its own code, and the unix sockets are what
 * made CRIU fail on a 7.3 kernel without CONFIG_SECURITY_NETWORK
 * (getsockopt(SO_PASSSEC)). fds_setup() makes them, each with state that
 * must survive the round trip; fds_verify() checks that state in the
 * restored process:
 *
 *   - a unix stream socketpair with a message queued in each direction;
 *   - a unix stream socket listening on DIR/listen.sock: the restored
 *     process connects to it, accepts, and exchanges a message;
 *   - a pipe with data in its buffer;
 *   - an eventfd with a counter value;
 *   - a memfd with content and size;
 *   - a SysV shared memory segment, attached, with content, in the
 *     process's own IPC namespace (unshare(CLONE_NEWIPC)): CRIU dumps and
 *     restores the namespace with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "criu_fds.h"

#define MEMFD_SIZE (3 * 4096 + 100)
#define SHM_SIZE (16 * 4096)
#define EVENTFD_COUNT 0x1234567ULL

static int sp[2] = { -1, -1 }, lsk = -1, pp[2] = { -1, -1 }, efd = -1, mfd = -1, shmid = -1;
static unsigned char *shm;
static struct sockaddr_un laddr;

static unsigned char pattern(unsigned long i, unsigned int salt)
{
	return (unsigned char)(i * 31 + salt + (i >> 8));
}

static const char msg_ab[] = "queued a->b before the dump";
static const char msg_ba[] = "queued b->a before the dump";
static const char msg_pipe[] = "pipe buffer content";

static int fail(char *why, size_t len, const char *what)
{
	snprintf(why, len, "%s: %s", what, strerror(errno));
	return -1;
}

int fds_setup(const char *dir, char *why, size_t len)
{
	unsigned char buf[MEMFD_SIZE];
	uint64_t v = EVENTFD_COUNT;
	unsigned long i;

	if (unshare(CLONE_NEWIPC))
		return fail(why, len, "unshare(CLONE_NEWIPC)");

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		return fail(why, len, "socketpair");
	if (write(sp[0], msg_ab, sizeof(msg_ab)) != sizeof(msg_ab) ||
	    write(sp[1], msg_ba, sizeof(msg_ba)) != sizeof(msg_ba))
		return fail(why, len, "socketpair write");

	lsk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lsk < 0)
		return fail(why, len, "socket");
	laddr.sun_family = AF_UNIX;
	if ((size_t)snprintf(laddr.sun_path, sizeof(laddr.sun_path), "%s/listen.sock", dir) >=
	    sizeof(laddr.sun_path)) {
		snprintf(why, len, "socket path too long");
		return -1;
	}
	unlink(laddr.sun_path);
	if (bind(lsk, (struct sockaddr *)&laddr, sizeof(laddr)) || listen(lsk, 4))
		return fail(why, len, "bind/listen");

	if (pipe(pp))
		return fail(why, len, "pipe");
	if (write(pp[1], msg_pipe, sizeof(msg_pipe)) != sizeof(msg_pipe))
		return fail(why, len, "pipe write");

	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0 || write(efd, &v, sizeof(v)) != sizeof(v))
		return fail(why, len, "eventfd");

	mfd = memfd_create("criu_fds", MFD_CLOEXEC);
	if (mfd < 0)
		return fail(why, len, "memfd_create");
	for (i = 0; i < MEMFD_SIZE; i++)
		buf[i] = pattern(i, 7);
	if (pwrite(mfd, buf, MEMFD_SIZE, 0) != MEMFD_SIZE)
		return fail(why, len, "memfd write");

	shmid = shmget(IPC_PRIVATE, SHM_SIZE, IPC_CREAT | 0600);
	if (shmid < 0)
		return fail(why, len, "shmget");
	shm = shmat(shmid, NULL, 0);
	if (shm == (void *)-1)
		return fail(why, len, "shmat");
	for (i = 0; i < SHM_SIZE; i++)
		shm[i] = pattern(i, 11);
	return 0;
}

static int expect_read(int fd, const char *want, size_t n, char *why, size_t len,
		       const char *what)
{
	char got[64];

	if (read(fd, got, n) != (ssize_t)n)
		return fail(why, len, what);
	if (memcmp(got, want, n)) {
		snprintf(why, len, "%s: wrong content", what);
		return -1;
	}
	return 0;
}

int fds_verify(char *why, size_t len)
{
	unsigned char buf[MEMFD_SIZE];
	struct shmid_ds ds;
	uint64_t v = 0;
	unsigned long i;
	int c, a;

	if (expect_read(sp[1], msg_ab, sizeof(msg_ab), why, len, "socketpair a->b") ||
	    expect_read(sp[0], msg_ba, sizeof(msg_ba), why, len, "socketpair b->a"))
		return -1;
	if (write(sp[0], "x", 1) != 1 || expect_read(sp[1], "x", 1, why, len, "socketpair after"))
		return fail(why, len, "socketpair after restore");

	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&laddr, sizeof(laddr)))
		return fail(why, len, "connect to the listening socket");
	a = accept(lsk, NULL, NULL);
	if (a < 0)
		return fail(why, len, "accept");
	if (write(c, "hello", 5) != 5 || expect_read(a, "hello", 5, why, len, "accepted socket"))
		return -1;
	close(a);
	close(c);

	if (expect_read(pp[0], msg_pipe, sizeof(msg_pipe), why, len, "pipe"))
		return -1;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return fail(why, len, "eventfd read");
	if (v != EVENTFD_COUNT) {
		snprintf(why, len, "eventfd counter %#llx, expected %#llx",
			 (unsigned long long)v, (unsigned long long)EVENTFD_COUNT);
		return -1;
	}

	if (lseek(mfd, 0, SEEK_END) != MEMFD_SIZE) {
		snprintf(why, len, "memfd size %lld", (long long)lseek(mfd, 0, SEEK_END));
		return -1;
	}
	if (pread(mfd, buf, MEMFD_SIZE, 0) != MEMFD_SIZE)
		return fail(why, len, "memfd read");
	for (i = 0; i < MEMFD_SIZE; i++)
		if (buf[i] != pattern(i, 7)) {
			snprintf(why, len, "memfd byte %lu", i);
			return -1;
		}

	if (shmctl(shmid, IPC_STAT, &ds))
		return fail(why, len, "shmctl(IPC_STAT)");
	if (ds.shm_segsz != SHM_SIZE || ds.shm_nattch != 1) {
		snprintf(why, len, "shm size %zu, %lu attached", (size_t)ds.shm_segsz,
			 (unsigned long)ds.shm_nattch);
		return -1;
	}
	for (i = 0; i < SHM_SIZE; i++)
		if (shm[i] != pattern(i, 11)) {
			snprintf(why, len, "shm byte %lu", i);
			return -1;
		}
	snprintf(why, len, "%s", "socketpair, listening socket, pipe, eventfd, memfd, SysV shm");
	return 0;
}
