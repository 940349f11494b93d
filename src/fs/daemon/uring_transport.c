/*
 * uring_transport.c — FUSE over io_uring, built in the daemon beneath
 * libfuse 3.14's low-level API (which knows nothing of it).
 *
 * Why: over /dev/fuse every request costs a read(2) to fetch it and a
 * writev(2) to answer it, and each wakes a worker on whatever CPU is free.
 * Over the ring, one io_uring_enter(2) answers a request and waits for the
 * next, and a request is queued to the ring of the CPU it was issued on.
 *
 * Design:
 *   - The kernel has one queue per possible CPU and uses the rings only
 *     when every queue has a registered entry. Each queue gets
 *     threads_per_queue ring threads, left where the scheduler puts them.
 *     Pinning was measured and loses: 4 KiB random writes of one job ran
 *     at 0.71x of /dev/fuse with each thread pinned to its queue's CPU,
 *     0.44x pinned to the next CPU, 1.79-1.92x unpinned
 *     (bench/ab-transport.sh; docs/performance.md, "Transports").
 *     Each ring thread owns one io_uring (SQE128, single issuer) and one ring
 *     entry: a 288-byte header buffer and a payload buffer of
 *     max(8 KiB, max_write, max_pages pages), in one anonymous mapping with
 *     a page in front of the payload (uring_frame.h). A thread that blocks
 *     in a handler (an fsync) holds one entry; the queue's other threads
 *     keep serving.
 *   - A fetched request is laid out as /dev/fuse delivers it and handed to
 *     fuse_session_process_buf(), so every handler stays as it is. The
 *     handler replies synchronously, in the same thread (no handler keeps a
 *     fuse_req_t), through libfuse's custom writev hook (kernel_io.c),
 *     which calls mmapfs_uring_take_reply(): the thread-local `serving`
 *     names the entry, the reply's unique must be its request's, and the
 *     reply is framed into the entry. The thread then commits it and
 *     fetches the next request in one COMMIT_AND_FETCH.
 *   - Everything else stays on /dev/fuse, as the kernel requires: INIT,
 *     FORGET, INTERRUPT (the kernel sends them there), notifications
 *     (invalidate.c; the kernel rejects them on the ring) and any reply
 *     written by a thread that is not serving that request.
 *   - Buffers are anonymous mappings unmapped only at destroy, after the
 *     /dev/fuse descriptor is closed: a late kernel access meets EFAULT,
 *     never another allocation.
 *
 * Ring entry states (the daemon's view of the kernel's FRRS_* states):
 *   registered/fetching — a REGISTER or COMMIT_AND_FETCH is in the kernel
 *       (kernel: AVAILABLE, then FUSE_REQ when a request is assigned);
 *   serving — its completion arrived with a request; the thread runs the
 *       handler and `serving` points at it (kernel: USERSPACE);
 *   replied — the reply is framed, the commit is about to be submitted;
 *   stopped — a completion with an error (-ENOTCONN or -ECONNABORTED: the
 *       connection ended) or the stop event: the thread exits.
 * Invariants: an entry holds at most one request; a reply is stored only
 * by the thread serving that request, only once; every request fetched is
 * committed (an error reply when the handler did not answer).
 *
 * Shutdown: unmount and abort end every entry's command with an error,
 * so the threads leave on their own. mmapfs_uring_stop() (after the
 * session loop: SIGTERM, SIGINT, unmount) writes an eventfd each ring
 * polls; a thread finishes and commits the request it serves first.
 * Closing a ring cancels its command; the kernel fails requests still
 * queued when the connection ends, as with /dev/fuse.
 *
 * Threads and locking: choose() runs in the main thread before the mount;
 * take_init() and start() once, in the libfuse worker that answers INIT;
 * stop() and destroy() in the main thread after the session loop, whose
 * end joins that worker (so start()'s writes to `ur` happen before).
 * `lock` guards the start counters (done, failures) and `started`; each
 * ring_thread is otherwise touched only by its own thread between start
 * and join. `state` is atomic; set_state() mirrors it into
 * mmapfs_d.transport, which the stats files read from any thread.
 */
#include "daemon/uring_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "logic/fuse_uring_uapi.h"
#include "logic/log.h"
#include "logic/uring_frame.h"
#include "model/mount.h"

#define ENABLE_URING_PARAM "/sys/module/fuse/parameters/enable_uring"
#define POSSIBLE_CPUS "/sys/devices/system/cpu/possible"
#define RING_SQES 4             /* the entry's command and the stop poll */
#define TAG_ENTRY 1
#define TAG_STOP 2
#define START_TIMEOUT_S 10

enum uring_state {
	URING_DEV = 0,          /* /dev/fuse only */
	URING_ACTIVE,           /* INIT took the ring; entries registered
				 * (or being registered, during start()) */
	URING_FAILED,           /* transport = io_uring could not be had */
};

struct ring_thread {
	pthread_t tid;
	bool joinable;
	unsigned qid;
	struct io_uring ring;
	bool ring_ok;
	void *mem;              /* front page (header) + payload */
	size_t mem_size;
	struct iovec iov[2];    /* header buffer, payload buffer */
	struct uring_frame frame;
	uint64_t unique;        /* request being served */
	uint32_t opcode;
	bool replied;
};

static struct {
	enum mmapfs_transport wanted;   /* after choose(): never AUTO */
	bool required;                  /* transport = io_uring */
	unsigned threads_per_queue;
	char fallback[256];             /* auto without the ring: why */
	struct fuse_session *se;
	void (*note_request)(const char *buf, size_t len);
	int fd;
	int stop_fd;
	struct ring_thread *threads;
	unsigned nthreads;
	atomic_int state;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned done, failures;        /* start(): threads reported */
	unsigned ended;                 /* of them: found the connection
					 * gone (an unmount during start) */
	bool started;
} ur = {
	.wanted = MMAPFS_TRANSPORT_DEV,
	.stop_fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static _Thread_local struct ring_thread *serving;

/* The state, and the transport in use as the stats files show it. */
static void set_state(enum uring_state s)
{
	atomic_store(&ur.state, s);
	atomic_store(&mmapfs_d.transport, s == URING_ACTIVE ?
		     MMAPFS_TRANSPORT_IO_URING : MMAPFS_TRANSPORT_DEV);
}

/* Why the kernel side is off, in why; 0 when it is on. */
static int kernel_side(char *why, size_t len)
{
	char v = 'N';
	int fd = open(ENABLE_URING_PARAM, O_RDONLY | O_CLOEXEC);
	struct io_uring probe;
	int res;

	if (fd < 0) {
		snprintf(why, len, "this kernel has no FUSE over io_uring (no "
			 "%s: it needs Linux 6.14 or later with "
			 "CONFIG_FUSE_IO_URING)", ENABLE_URING_PARAM);
		return -EOPNOTSUPP;
	}
	if (read(fd, &v, 1) != 1)
		v = 'N';
	close(fd);
	if (v != 'Y') {
		snprintf(why, len, "the fuse module parameter enable_uring is "
			 "off (as root: echo Y > %s)", ENABLE_URING_PARAM);
		return -EOPNOTSUPP;
	}
	res = io_uring_queue_init(RING_SQES, &probe, IORING_SETUP_SQE128);
	if (res < 0) {
		snprintf(why, len, "io_uring is not available to the daemon: "
			 "%s (see sysctl kernel.io_uring_disabled)",
			 strerror(-res));
		return -EOPNOTSUPP;
	}
	io_uring_queue_exit(&probe);
	return 0;
}

int mmapfs_uring_choose(enum mmapfs_transport wanted,
			unsigned threads_per_queue, bool auto_unmount,
			char *why, size_t len)
{
	char reason[256];
	int res;

	set_state(URING_DEV);
	ur.threads_per_queue = threads_per_queue ? threads_per_queue : 1;
	ur.required = wanted == MMAPFS_TRANSPORT_IO_URING;
	ur.wanted = MMAPFS_TRANSPORT_DEV;
	if (wanted == MMAPFS_TRANSPORT_DEV)
		return 0;
	res = kernel_side(reason, sizeof(reason));
	if (res < 0 && ur.required) {
		snprintf(why, len, "%s", reason);
		return res;
	}
	if (res < 0) {
		/* Logged at INIT, once the log has its final destination
		 * (syslog when daemonized). */
		snprintf(ur.fallback, sizeof(ur.fallback), "%s", reason);
		return 0;
	}
	if (auto_unmount && !ur.required) {
		/* After a SIGKILL the kernel tears the rings down after the
		 * daemon is gone; until then requests fail with ECONNABORTED,
		 * and fusermount3 3.14 unmounts only when its probe of the
		 * mount fails with ENOTCONN, so it would leave the mount. */
		snprintf(ur.fallback, sizeof(ur.fallback), "-o auto_unmount "
			 "(fusermount3 may not unmount a killed daemon's ring "
			 "connection; -o transport=io_uring to use it anyway)");
		return 0;
	}
	ur.wanted = MMAPFS_TRANSPORT_IO_URING;
	return 0;
}

/* The errors of a connection that ended: the kernel refuses entries
 * once the mount is gone, which a quick unmount can make happen while
 * the rings start. Not a failure of the transport. */
static bool connection_ended(int res)
{
	return res == -ENOTCONN || res == -ECONNABORTED || res == -ENODEV;
}

static void fail_required(const char *what)
{
	mmapfs_err("transport = io_uring: %s; ending the session", what);
	set_state(URING_FAILED);
	fuse_session_exit(mmapfs_d.se);
}

bool mmapfs_uring_take_init(bool offered)
{
	if (ur.fallback[0]) {
		mmapfs_notice("transport: /dev/fuse, because %s", ur.fallback);
		ur.fallback[0] = '\0';
	}
	if (ur.wanted != MMAPFS_TRANSPORT_IO_URING)
		return false;
	if (offered)
		return true;
	if (ur.required) {
		fail_required("the kernel did not offer FUSE over io_uring at "
			      "INIT (is " ENABLE_URING_PARAM " still Y?)");
		return false;
	}
	mmapfs_notice("transport: /dev/fuse, because the kernel did not "
		      "offer FUSE over io_uring at INIT");
	return false;
}

/* The number of queues the kernel makes: one per possible CPU. */
static unsigned possible_cpus(void)
{
	FILE *f = fopen(POSSIBLE_CPUS, "re");
	char text[256], *p;
	unsigned n = 0;

	if (f) {
		if (fgets(text, sizeof(text), f)) {
			/* "0-3,8-11": the highest id + 1 */
			for (p = text; *p;) {
				char *end;
				unsigned long v = strtoul(p, &end, 10);

				if (end == p)
					break;
				if (v + 1 > n)
					n = (unsigned)v + 1;
				p = end;
				if (*p == '-' || *p == ',')
					p++;
				else
					break;
			}
		}
		fclose(f);
	}
	if (n == 0)
		n = (unsigned)get_nprocs_conf();
	return n ? n : 1;
}

static struct io_uring_sqe *get_sqe(struct ring_thread *t)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);

	if (sqe)
		memset(sqe, 0, 2 * sizeof(*sqe));   /* an SQE128 slot */
	return sqe;
}

/* Queues a REGISTER or COMMIT_AND_FETCH of the thread's entry. */
static int prep_entry_cmd(struct ring_thread *t, uint32_t op,
			  uint64_t commit_id)
{
	struct io_uring_sqe *sqe = get_sqe(t);
	struct mmapfs_fuse_uring_cmd_req req = {
		.commit_id = commit_id,
		.qid = (uint16_t)t->qid,
	};

	if (!sqe)
		return -EBUSY;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = ur.fd;
	sqe->cmd_op = op;
	sqe->addr = (uint64_t)(uintptr_t)t->iov;
	sqe->len = 2;
	sqe->user_data = TAG_ENTRY;
	memcpy(sqe->cmd, &req, sizeof(req));
	return 0;
}

static int ring_setup(struct ring_thread *t)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_COOP_TASKRUN,
	};
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int res;

	res = io_uring_queue_init_params(RING_SQES, &t->ring, &p);
	if (res == -EINVAL) {
		/* Kernels before 6.0 lack SINGLE_ISSUER. */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		res = io_uring_queue_init_params(RING_SQES, &t->ring, &p);
	}
	if (res < 0)
		return res;
	t->ring_ok = true;
	sqe = get_sqe(t);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, ur.stop_fd, POLLIN);
	sqe->user_data = TAG_STOP;
	res = prep_entry_cmd(t, MMAPFS_FUSE_IO_URING_CMD_REGISTER, 0);
	if (res < 0)
		return res;
	res = io_uring_submit(&t->ring);
	if (res < 0)
		return res;
	/* REGISTER completes only with a request; an error completes at
	 * once (the command is issued inline at submit). */
	if (io_uring_peek_cqe(&t->ring, &cqe) == 0 &&
	    cqe->user_data == TAG_ENTRY && cqe->res < 0) {
		res = cqe->res;
		io_uring_cqe_seen(&t->ring, cqe);
		return res;
	}
	return 0;
}

/* Serves the request the entry holds and queues its commit. */
static void serve_one(struct ring_thread *t)
{
	struct fuse_in_header in;
	struct fuse_buf buf;
	char *start;
	size_t len;
	uint64_t unique;
	int res;

	res = uring_frame_request(&t->frame, &start, &len, &unique);
	if (res < 0) {
		memcpy(&in, t->frame.hdr->in_out, sizeof(in));
		mmapfs_warn("io_uring: malformed request (opcode %u, len %u, "
			    "payload %u): answered EIO", in.opcode, in.len,
			    t->frame.hdr->ring_ent_in_out.payload_sz);
		uring_frame_error(&t->frame, in.unique, -EIO);
		unique = in.unique;
	} else {
		memcpy(&in, start, sizeof(in));
		t->unique = unique;
		t->opcode = in.opcode;
		t->replied = false;
		ur.note_request(start, len);
		memset(&buf, 0, sizeof(buf));
		buf.mem = start;
		buf.size = len;
		serving = t;
		fuse_session_process_buf(ur.se, &buf);
		serving = NULL;
		if (!t->replied) {
			/* Every ring request needs an answer; libfuse's
			 * dispatch answers all of them, so this is a bug. */
			mmapfs_warn("io_uring: no reply to opcode %u: "
				    "answered EIO", in.opcode);
			uring_frame_error(&t->frame, unique, -EIO);
		}
		t->unique = 0;
	}
	res = prep_entry_cmd(t, MMAPFS_FUSE_IO_URING_CMD_COMMIT_AND_FETCH,
			     unique);
	if (res < 0)
		mmapfs_err("io_uring: cannot queue a commit: %s",
			   strerror(-res));
}

static void serve(struct ring_thread *t)
{
	struct io_uring_cqe *cqe;
	bool stop = false;

	while (!stop) {
		int res = io_uring_submit_and_wait(&t->ring, 1);

		if (res < 0 && res != -EINTR) {
			mmapfs_err("io_uring: queue %u: %s", t->qid,
				   strerror(-res));
			return;
		}
		/* Every completion that arrived is handled, a request too
		 * when the stop came with it: no fetched request is left
		 * without an answer. */
		while (io_uring_peek_cqe(&t->ring, &cqe) == 0) {
			uint64_t tag = cqe->user_data;
			int r = cqe->res;

			io_uring_cqe_seen(&t->ring, cqe);
			if (tag == TAG_STOP) {
				stop = true;
			} else if (r < 0) {
				/* ENOTCONN, ECONNABORTED: the connection
				 * ended; anything else loses the entry. */
				if (!connection_ended(r))
					mmapfs_warn("io_uring: queue %u: "
						    "entry failed: %s",
						    t->qid, strerror(-r));
				stop = true;
			} else {
				serve_one(t);
			}
		}
	}
	/* The last replies go out; their fetches are cancelled when the ring
	 * closes. */
	(void)io_uring_submit(&t->ring);
}

static void report(int res)
{
	pthread_mutex_lock(&ur.lock);
	ur.done++;
	if (connection_ended(res))
		ur.ended++;
	else if (res < 0)
		ur.failures++;
	pthread_cond_broadcast(&ur.cond);
	pthread_mutex_unlock(&ur.lock);
}

static void *ring_main(void *arg)
{
	struct ring_thread *t = arg;
	int res;

	res = ring_setup(t);
	if (res < 0 && !connection_ended(res))
		mmapfs_warn("io_uring: queue %u: cannot register: %s", t->qid,
			    strerror(-res));
	report(res);
	if (res == 0)
		serve(t);
	return NULL;
}

static int map_entry(struct ring_thread *t, size_t payload_size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	payload_size = (payload_size + page - 1) / page * page;
	t->mem_size = URING_FRAME_FRONT + payload_size;
	t->mem = mmap(NULL, t->mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->mem == MAP_FAILED) {
		t->mem = NULL;
		return -errno;
	}
	t->frame.hdr = t->mem;
	t->frame.payload = (char *)t->mem + URING_FRAME_FRONT;
	t->frame.payload_size = payload_size;
	t->iov[0].iov_base = t->frame.hdr;
	t->iov[0].iov_len = sizeof(*t->frame.hdr);
	t->iov[1].iov_base = t->frame.payload;
	t->iov[1].iov_len = payload_size;
	return 0;
}

/* Starts the threads with the signals libfuse's workers block (they
 * belong to the main thread and the SIGHUP reader). Synchronous signals
 * stay open: libmmapio turns a SIGBUS on a truncated mapping into an
 * error, and a blocked SIGBUS would kill the daemon instead. */
static int start_threads(void)
{
	static const int blocked[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	sigset_t set, old;
	int res = 0;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
		sigaddset(&set, blocked[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned i = 0; i < ur.nthreads && res == 0; i++) {
		res = -pthread_create(&ur.threads[i].tid, NULL, ring_main,
				      &ur.threads[i]);
		ur.threads[i].joinable = res == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return res;
}

/* Waits until every started thread reported its registration; returns
 * the failures, and in *ended the threads that found the connection
 * gone. */
static unsigned wait_registered(unsigned started, unsigned *ended)
{
	struct timespec until;
	unsigned failures;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += START_TIMEOUT_S;
	pthread_mutex_lock(&ur.lock);
	while (ur.done < started &&
	       pthread_cond_timedwait(&ur.cond, &ur.lock, &until) == 0)
		;
	failures = ur.failures + (started - ur.done);
	*ended = ur.ended;
	pthread_mutex_unlock(&ur.lock);
	return failures;
}

int mmapfs_uring_start(struct fuse_session *se, int fd, size_t payload_size,
		       void (*note_request)(const char *buf, size_t len))
{
	unsigned queues = possible_cpus(), started = 0, failures, ended;
	int res = 0;

	pthread_mutex_lock(&ur.lock);
	if (ur.started) {
		pthread_mutex_unlock(&ur.lock);
		return -EALREADY;
	}
	ur.started = true;
	pthread_mutex_unlock(&ur.lock);
	ur.se = se;
	ur.note_request = note_request;
	ur.fd = fd;
	ur.nthreads = queues * ur.threads_per_queue;
	ur.threads = calloc(ur.nthreads, sizeof(*ur.threads));
	ur.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!ur.threads || ur.stop_fd < 0)
		res = -ENOMEM;
	for (unsigned i = 0; res == 0 && i < ur.nthreads; i++) {
		ur.threads[i].qid = i % queues;
		res = map_entry(&ur.threads[i], payload_size);
	}
	/* In use from here: the INIT reply took the ring, and the kernel
	 * switches to it once every queue has an entry. */
	if (res == 0) {
		set_state(URING_ACTIVE);
		res = start_threads();
	}
	for (unsigned i = 0; ur.threads && i < ur.nthreads; i++)
		started += ur.threads[i].joinable;
	failures = wait_registered(started, &ended);
	if (res == 0 && failures)
		res = -EIO;
	if (res == 0 && ended) {
		/* Unmounted before every entry was in: the session is
		 * ending, and /dev/fuse sees it end. */
		mmapfs_info("transport: the connection ended while the rings "
			    "started");
		return 0;
	}
	if (res < 0) {
		char what[160];

		snprintf(what, sizeof(what), "cannot set up the rings (%u of "
			 "%u entries failed: %s)", failures + ur.nthreads -
			 started, ur.nthreads, strerror(-res));
		set_state(URING_DEV);
		if (ur.required)
			fail_required(what);
		else
			mmapfs_warn("transport: /dev/fuse, because io_uring %s",
				    what);
		return res;
	}
	mmapfs_info("transport: io_uring (%u queues, %u ring threads, "
		      "%zu KiB per entry)", queues, ur.nthreads,
		      ur.threads[0].mem_size / 1024);
	return 0;
}

bool mmapfs_uring_take_reply(const struct iovec *iov, int count,
			     ssize_t *res)
{
	struct ring_thread *t = serving;
	struct fuse_out_header out;
	ssize_t n;

	if (!t || count < 1 || iov[0].iov_len != sizeof(out))
		return false;
	memcpy(&out, iov[0].iov_base, sizeof(out));
	if (out.unique != t->unique || t->replied)
		return false;
	/* READ replies come straight from file mappings: a page past a
	 * truncation must fail the reply, not kill the daemon. */
	n = uring_frame_reply(&t->frame, iov, count, t->opcode == FUSE_READ);
	t->replied = true;
	if (n < 0) {
		uring_frame_error(&t->frame, t->unique, -EIO);
		errno = (int)-n;
		*res = -1;
	} else {
		*res = n;
	}
	return true;
}

void mmapfs_uring_stop(void)
{
	uint64_t one = 1;

	if (!ur.threads)
		return;
	if (ur.stop_fd >= 0 && write(ur.stop_fd, &one, sizeof(one)) < 0)
		mmapfs_warn("io_uring: cannot signal the ring threads: %s",
			    strerror(errno));
	for (unsigned i = 0; i < ur.nthreads; i++) {
		struct ring_thread *t = &ur.threads[i];

		if (t->joinable)
			pthread_join(t->tid, NULL);
		t->joinable = false;
		if (t->ring_ok)
			io_uring_queue_exit(&t->ring);
		t->ring_ok = false;
	}
	if (atomic_load(&ur.state) == URING_ACTIVE)
		set_state(URING_DEV);
}

void mmapfs_uring_destroy(void)
{
	mmapfs_uring_stop();
	for (unsigned i = 0; ur.threads && i < ur.nthreads; i++)
		if (ur.threads[i].mem)
			munmap(ur.threads[i].mem, ur.threads[i].mem_size);
	free(ur.threads);
	ur.threads = NULL;
	ur.nthreads = 0;
	if (ur.stop_fd >= 0)
		close(ur.stop_fd);
	ur.stop_fd = -1;
}

bool mmapfs_uring_failed(void)
{
	return atomic_load(&ur.state) == URING_FAILED;
}
