/*
 * sigbus.c — the SIGBUS guard: every copy between a mapping and memory of
 * the caller runs inside a per-thread scope, so a fault (the backing file
 * truncated by someone else, a full disk under a hole, an I/O error) makes
 * that one call return -EIO instead of killing the process.
 *
 * Design
 *   - One process-wide handler, installed once (pthread_once) with
 *     SA_SIGINFO | SA_NODEFER | SA_ONSTACK. SA_NODEFER keeps SIGBUS
 *     unblocked after we jump out of the handler, so the scope can use
 *     sigsetjmp(env, 0): no sigprocmask syscall per copy. The handler
 *     still restores the interrupted mask from its ucontext before the
 *     jump (one syscall, on faults only), for interposers of sigaction
 *     that block every signal in handlers (ThreadSanitizer).
 *   - Per thread: a thread-local pointer to the innermost scope's jmp_buf.
 *     A scope saves the previous pointer and restores it on exit, so scopes
 *     nest (a chunk callback may call mmapio_read).
 *   - Outside a scope the handler chains to the action that was installed
 *     before ours: a SA_SIGINFO or plain handler is called; SIG_DFL and
 *     SIG_IGN are restored and the signal re-raised, so the process dies
 *     (with a core) exactly as it would have without the library.
 *   - AddressSanitizer installs its own SIGBUS handler at start-up and lets
 *     a later sigaction() replace it (allow_user_segv_handler, its default);
 *     ours then chains to it for faults outside a scope.
 *
 * Invariants: the handler touches only the thread-local pointer and the
 * saved action, both async-signal-safe to read, and calls only
 * async-signal-safe functions (pthread_sigmask, siglongjmp). Code inside a
 * scope must not take locks or allocate: it may be abandoned at any byte.
 *
 * Threads: any thread; the only shared state (the saved action) is written
 * once under pthread_once before the handler can run.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static struct sigaction previous_action;

/* The innermost guard scope of this thread, NULL outside any. Initial-exec
 * TLS: one %fs-relative load, and nothing the handler reads can need an
 * allocation (a dynamic TLS block could, in a thread that never used the
 * library). */
static __thread sigjmp_buf *volatile guard_env
	__attribute__((tls_model("initial-exec")));

static void sigbus_handler(int sig, siginfo_t *info, void *uctx)
{
	sigjmp_buf *env = guard_env;

	if (env) {
		/* Leave with the mask of the interrupted copy. SA_NODEFER alone
		 * does not guarantee it: an interposer of sigaction(2) may run
		 * us with every signal blocked (ThreadSanitizer fills sa_mask),
		 * and sigsetjmp(env, 0) restores no mask, so the thread's next
		 * fault would find SIGBUS blocked and kill the process. Only
		 * the fault path pays for this syscall. */
		pthread_sigmask(SIG_SETMASK,
				&((ucontext_t *)uctx)->uc_sigmask, NULL);
		siglongjmp(*env, 1);
	}

	if (previous_action.sa_flags & SA_SIGINFO) {
		previous_action.sa_sigaction(sig, info, uctx);
		return;
	}
	if (previous_action.sa_handler != SIG_DFL &&
	    previous_action.sa_handler != SIG_IGN) {
		previous_action.sa_handler(sig);
		return;
	}
	/* Nobody handles it: die of it as if we had never been installed. A
	 * hardware fault would also recur when we return. */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigbus_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &previous_action);
}

void mmapio__sigbus_install(void)
{
	pthread_once(&install_once, install);
}

void mmapio__sigbus_rearm(void)
{
	struct sigaction cur;

	mmapio__sigbus_install();
	if (sigaction(SIGBUS, NULL, &cur) == 0 &&
	    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == sigbus_handler)
		return;
	install();
}

/*
 * The two scopes below share one shape: save the outer scope, arm ours,
 * run, restore. The signal fences keep the compiler from moving the copy
 * outside the armed window (the handler runs on this thread).
 */
int mmapio__guarded_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf env;
	sigjmp_buf *outer = guard_env;

	mmapio__sigbus_install();
	if (sigsetjmp(env, 0)) {
		guard_env = outer;
		return -EIO;
	}
	guard_env = &env;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, n);
	atomic_signal_fence(memory_order_seq_cst);
	guard_env = outer;
	return 0;
}

int mmapio__guarded_call(int (*fn)(void *arg), void *arg)
{
	sigjmp_buf env;
	sigjmp_buf *outer = guard_env;
	int rc;

	mmapio__sigbus_install();
	if (sigsetjmp(env, 0)) {
		guard_env = outer;
		return -EIO;
	}
	guard_env = &env;
	atomic_signal_fence(memory_order_seq_cst);
	rc = fn(arg);
	atomic_signal_fence(memory_order_seq_cst);
	guard_env = outer;
	return rc;
}
