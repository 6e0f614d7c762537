/*
 * Preloaded before Debian's libfaketime (0.9.10) for ./dev.sh's clock-shifted test pass.
 *
 * With FAKETIME_DONT_FAKE_MONOTONIC=1 that libfaketime still rewrites the deadline of
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...) by the fake offset; Python 3.11's
 * time.sleep() sleeps exactly that way, so every sleep fails with EINVAL (a month ahead
 * makes the deadline negative). Upstream: https://github.com/wolfcw/libfaketime/issues/426.
 * Sleeps on any clock but the wall clock go straight to the kernel here, unfaked, as the
 * monotonic clock itself is; wall-clock sleeps still go through libfaketime.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
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
