#include "fsmpi.h"

#include <mpi.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Arrival messages: rank r sends every other rank the number of each collective
// it starts; each rank keeps one receive posted per peer.
enum { ARRIVAL_TAG = 7331 };

static int world_rank = 0, world_size = 0, running = 0;
static MPI_Request *receives = NULL, *sends = NULL;
static int64_t *received = NULL, *outgoing = NULL, *last_arrival = NULL;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void post_receive(int peer) {
    MPI_Irecv(&received[peer], 1, MPI_INT64_T, peer, ARRIVAL_TAG, MPI_COMM_WORLD, &receives[peer]);
}

int fsmpi_init(int *rank, int *size) {
    int provided = 0;
    int status = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (status != MPI_SUCCESS) return status;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    receives = calloc((size_t)world_size, sizeof(MPI_Request));
    sends = calloc((size_t)world_size, sizeof(MPI_Request));
    received = calloc((size_t)world_size, sizeof(int64_t));
    outgoing = calloc((size_t)world_size, sizeof(int64_t));
    last_arrival = calloc((size_t)world_size, sizeof(int64_t));
    if (!receives || !sends || !received || !outgoing || !last_arrival) return MPI_ERR_NO_MEM;
    for (int peer = 0; peer < world_size; peer++) {
        receives[peer] = sends[peer] = MPI_REQUEST_NULL;
        last_arrival[peer] = -1;
        if (peer != world_rank) post_receive(peer);
    }
    running = 1;
    *rank = world_rank;
    *size = world_size;
    return MPI_SUCCESS;
}

int fsmpi_is_running(void) { return running; }

int fsmpi_finalize(void) {
    if (!running) return MPI_SUCCESS;
    for (int peer = 0; peer < world_size; peer++) {
        if (receives[peer] != MPI_REQUEST_NULL) {
            MPI_Cancel(&receives[peer]);
            MPI_Wait(&receives[peer], MPI_STATUS_IGNORE);
        }
        if (sends[peer] != MPI_REQUEST_NULL) MPI_Wait(&sends[peer], MPI_STATUS_IGNORE);
    }
    running = 0;
    return MPI_Finalize();
}

void fsmpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

// Records the arrivals that came in, reposting each receive.
static void poll_arrivals(void) {
    for (int peer = 0; peer < world_size; peer++) {
        if (peer == world_rank || receives[peer] == MPI_REQUEST_NULL) continue;
        int done = 0;
        while (receives[peer] != MPI_REQUEST_NULL && MPI_Test(&receives[peer], &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done) {
            if (received[peer] > last_arrival[peer]) last_arrival[peer] = received[peer];
            post_receive(peer);
            done = 0;
        }
    }
}

// Tells every other rank that this one started collective `sequence`.
static int arrive(int64_t sequence) {
    last_arrival[world_rank] = sequence;
    for (int peer = 0; peer < world_size; peer++) {
        if (peer == world_rank) continue;
        // The previous message is small and sent eagerly: its send completes locally.
        if (sends[peer] != MPI_REQUEST_NULL) {
            int status = MPI_Wait(&sends[peer], MPI_STATUS_IGNORE);
            if (status != MPI_SUCCESS) return status;
        }
        outgoing[peer] = sequence;
        int status = MPI_Isend(&outgoing[peer], 1, MPI_INT64_T, peer, ARRIVAL_TAG, MPI_COMM_WORLD, &sends[peer]);
        if (status != MPI_SUCCESS) return status;
    }
    return MPI_SUCCESS;
}

// Waits for `count` requests until the deadline, spinning for the first
// millisecond (collectives of a training step are short) and then sleeping
// 100 microseconds between tests.
static int wait_all(int count, MPI_Request *requests, double timeout_seconds) {
    double start = now_seconds();
    for (long spins = 0;; spins++) {
        int done = 0;
        int status = MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (status != MPI_SUCCESS) return status;
        if (done) return MPI_SUCCESS;
        poll_arrivals();
        double waited = now_seconds() - start;
        if (waited > timeout_seconds) return FSMPI_TIMEOUT;
        if (waited > 1e-3) {
            struct timespec pause = {0, 100000};
            nanosleep(&pause, NULL);
        } else {
            sched_yield();
        }
    }
}

int fsmpi_allreduce_sum_float(float *buffer, int64_t count, int64_t chunk, int64_t sequence, double timeout_seconds) {
    if (chunk <= 0 || chunk > 0x40000000) chunk = 0x40000000;
    int64_t chunks = (count + chunk - 1) / chunk;
    if (chunks == 0) chunks = 1;
    // The requests' array grows once to the largest step and is kept.
    static MPI_Request *requests = NULL;
    static int64_t capacity = 0;
    if (chunks > capacity) {
        MPI_Request *grown = realloc(requests, (size_t)chunks * sizeof(MPI_Request));
        if (!grown) return MPI_ERR_NO_MEM;
        requests = grown;
        capacity = chunks;
    }
    int status = arrive(sequence);
    for (int64_t i = 0; i < chunks && status == MPI_SUCCESS; i++) {
        int64_t offset = i * chunk, n = count - offset < chunk ? count - offset : chunk;
        status = MPI_Iallreduce(MPI_IN_PLACE, buffer + offset, (int)(n < 0 ? 0 : n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                                &requests[i]);
        if (status != MPI_SUCCESS) chunks = i;
    }
    if (status == MPI_SUCCESS) status = wait_all((int)chunks, requests, timeout_seconds);
    return status;
}

int fsmpi_broadcast_bytes(unsigned char *bytes, int64_t count, int64_t sequence, double timeout_seconds) {
    if (count > 0x7fffffff) return MPI_ERR_COUNT;
    int status = arrive(sequence);
    if (status != MPI_SUCCESS) return status;
    MPI_Request request;
    status = MPI_Ibcast(bytes, (int)count, MPI_UNSIGNED_CHAR, 0, MPI_COMM_WORLD, &request);
    if (status != MPI_SUCCESS) return status;
    return wait_all(1, &request, timeout_seconds);
}

int fsmpi_allgather_u64(const uint64_t *values, int per_rank, uint64_t *out, int64_t sequence, double timeout_seconds) {
    int status = arrive(sequence);
    if (status != MPI_SUCCESS) return status;
    MPI_Request request;
    status = MPI_Iallgather(values, per_rank, MPI_UINT64_T, out, per_rank, MPI_UINT64_T, MPI_COMM_WORLD, &request);
    if (status != MPI_SUCCESS) return status;
    return wait_all(1, &request, timeout_seconds);
}

int fsmpi_missing_ranks(int64_t sequence, int *out, int capacity) {
    poll_arrivals();
    int count = 0;
    for (int peer = 0; peer < world_size; peer++) {
        if (last_arrival[peer] < sequence) {
            if (count < capacity) out[count] = peer;
            count++;
        }
    }
    return count;
}

void fsmpi_error_string(int code, char *out, int capacity) {
    if (capacity <= 0) return;
    if (code == FSMPI_TIMEOUT) {
        strncpy(out, "timed out", (size_t)capacity - 1);
        out[capacity - 1] = 0;
        return;
    }
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    text[length < MPI_MAX_ERROR_STRING ? length : MPI_MAX_ERROR_STRING - 1] = 0;
    strncpy(out, length > 0 ? text : "unknown MPI error", (size_t)capacity - 1);
    out[capacity - 1] = 0;
}
