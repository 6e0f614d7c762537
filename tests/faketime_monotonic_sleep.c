/*
 * Preloaded before Debian's libfaketime (0.9.10) for ./dev.sh's clock-shifted test pass.
 *
 * With FAKETIME_DONT_FAKE_MONOTONIC=1 that libfaketime still rewrites the deadline of
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...) by the fake offset; Python 3.11's
 * time.sleep() sleeps exactly that way, so every sleep fails with EINVAL (a month ahead
 * makes the deadline negative). Upstream: https://github.com/wolfcw/libfaketime/issues/426.
 * Sleeps on any clock but the wall clock go straight to the kernel here, unfaked, as the
 * monotonic clock itself is; wall-clock sleeps still go through libfaketime. The same holds for
 * waits on a condition variable (below).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request, struct timespec *remain)
{
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);

    if (clock_id != CLOCK_REALTIME)
        /* clock_nanosleep returns the error number; it does not set errno. */
        return syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == -1 ? errno : 0;
    if (!next)
        next = (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(RTLD_NEXT, "clock_nanosleep");
    return next(clock_id, flags, request, remain);
}

/*
 * The same libfaketime also shifts the deadline of pthread_cond_timedwait on a condition variable
 * that waits on CLOCK_MONOTONIC, so the wait times out at once. CPython's GIL waits that way (its
 * 5 ms switch interval): a thread waiting for the GIL spins and asks the holder to drop it all the
 * time, and a process with more than one thread (the queue host's uvicorn loop and its worker
 * threads) runs many times slower and burns the CPU. Such waits go to glibc itself here; waits on
 * the wall clock still go through libfaketime. glibc keeps a condition variable's clock in bit 1
 * of __wrefs (nptl's __PTHREAD_COND_CLOCK_MONOTONIC_MASK), set once by pthread_cond_init.
 */
int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *abstime)
{
    static int (*faked)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);

    if (__atomic_load_n(&cond->__data.__wrefs, __ATOMIC_RELAXED) & 2)
        return pthread_cond_clockwait(cond, mutex, CLOCK_MONOTONIC, abstime);
    if (!faked)
        faked = (int (*)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *))dlsym(RTLD_NEXT, "pthread_cond_timedwait");
    return faked(cond, mutex, abstime);
}
