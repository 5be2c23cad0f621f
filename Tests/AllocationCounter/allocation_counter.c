// See include/AllocationCounter.h. Interposes glibc's allocation entry points
// in the test executable; the count is one relaxed atomic add per allocation
// while counting and one relaxed load otherwise.

#include "AllocationCounter.h"

#include <errno.h>    // also defines __GLIBC__ on glibc
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define FSAC_SANITIZED 1   // the sanitizer owns malloc and free; do not interpose
#endif
#endif

#if defined(__linux__) && defined(__GLIBC__) && !defined(FSAC_SANITIZED)

#include <stdatomic.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);

static atomic_int counting;
static atomic_long allocations;
static __thread int marked;   // set by fsac_count_this_thread

static inline void note(void) {
    if (marked && atomic_load_explicit(&counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    }
}

int fsac_available(void) { return 1; }

void fsac_count_this_thread(void) { marked = 1; }

void fsac_start(void) {
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
}

long fsac_stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&allocations);
}

void *malloc(size_t size) {
    note();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    note();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    note();
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    note();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    note();
    return __libc_memalign(alignment, size);
}

void *valloc(size_t size) {
    note();
    return __libc_valloc(size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    // glibc's checks: a power of two that is a multiple of sizeof(void *).
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer) return ENOMEM;
    *result = pointer;
    return 0;
}

#else

int fsac_available(void) { return 0; }
void fsac_count_this_thread(void) {}
void fsac_start(void) {}
long fsac_stop(void) { return 0; }

#endif
