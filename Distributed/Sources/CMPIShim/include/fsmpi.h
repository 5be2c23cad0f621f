// The MPI calls frameseq-mpi makes, as plain C functions Swift can call: Open MPI's
// handles (MPI_COMM_WORLD, MPI_FLOAT, ...) are C macros Swift does not import.
//
// Every collective here has a deadline. Before it starts, a rank tells every
// other rank (a small point-to-point message) that it arrived at the
// collective numbered `sequence`; a rank that waits longer than the deadline
// returns FSMPI_TIMEOUT, and fsmpi_missing_ranks names the ranks it heard
// nothing from, so a hung rank ends the job with a message naming it instead
// of a silent hang.
#ifndef FSMPI_H
#define FSMPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Returned by the collectives when the deadline passed.
#define FSMPI_TIMEOUT (-1)

/// MPI_Init_thread (funneled: only the thread that called it makes MPI calls)
/// with errors returned rather than fatal, and the arrival receives posted.
/// Writes this process's rank and the job's size. Returns 0 or an MPI error code.
int fsmpi_init(int *rank, int *size);
/// Cancels the arrival receives and calls MPI_Finalize. Returns 0 or an MPI error code.
int fsmpi_finalize(void);
/// Ends every process of the job (MPI_Abort on MPI_COMM_WORLD) with `code`.
void fsmpi_abort(int code);
/// Whether fsmpi_init ran and fsmpi_finalize did not.
int fsmpi_is_running(void);

/// In-place sum of `count` floats over every rank, as non-blocking all-reduces
/// of `chunk` floats each, all in flight at once. Returns 0, FSMPI_TIMEOUT or an MPI error code.
int fsmpi_allreduce_sum_float(float *buffer, int64_t count, int64_t chunk, int64_t sequence, double timeout_seconds);
/// Rank 0's `count` bytes into every rank's `bytes` (every rank passes the same count).
int fsmpi_broadcast_bytes(unsigned char *bytes, int64_t count, int64_t sequence, double timeout_seconds);
/// Every rank's `per_rank` values, rank by rank, into `out` (size * per_rank values).
int fsmpi_allgather_u64(const uint64_t *values, int per_rank, uint64_t *out, int64_t sequence, double timeout_seconds);

/// After FSMPI_TIMEOUT: the ranks this rank has heard nothing from at `sequence`
/// (up to `capacity`, in order), and how many there are.
int fsmpi_missing_ranks(int64_t sequence, int *out, int capacity);
/// MPI's text for an error code.
void fsmpi_error_string(int code, char *out, int capacity);

#ifdef __cplusplus
}
#endif

#endif
