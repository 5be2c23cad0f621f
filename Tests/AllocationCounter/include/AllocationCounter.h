#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

// Counts heap allocations (malloc, calloc, realloc, posix_memalign,
// aligned_alloc, memalign, valloc) made between fsac_start() and fsac_stop()
// on the threads that called fsac_count_this_thread() (the test's and the
// worker pool's), not on the test runner's or Foundation's own threads, which
// allocate at times of their choosing. Linux with glibc only: the test
// executable defines those functions and forwards each to glibc's own
// implementation (__libc_malloc, ...), so every allocation still comes from
// glibc's heap and glibc's free releases it. Elsewhere fsac_available() is 0.

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when allocations are counted on this platform, else 0.
int fsac_available(void);
/// Counts the calling thread's allocations from now on (for the process's life).
void fsac_count_this_thread(void);
/// Resets the count to zero and starts counting.
void fsac_start(void);
/// Stops counting and returns the allocations made since fsac_start().
long fsac_stop(void);

#ifdef __cplusplus
}
#endif

#endif
