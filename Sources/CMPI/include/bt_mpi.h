#ifndef BT_MPI_H
#define BT_MPI_H

#include <stdint.h>

/// Open MPI (libmpi.so.40), loaded at run time so that the binary builds and runs where it is absent.
/// No MPI header is needed to build: the handles are Open MPI's predefined objects, resolved by name.
/// Every call returns 0 on success, else an MPI error code (or -1 when the library is not loaded) and
/// fills `message`.

/// Loads libmpi and resolves its entry points and handles.
int bt_mpi_load(char *message, int capacity);
/// MPI_Init_thread(MPI_THREAD_SERIALIZED) on MPI_COMM_WORLD; errors are returned, not fatal.
int bt_mpi_init(int *rank, int *size, char *message, int capacity);
int bt_mpi_finalize(void);
/// Whether the library granted MPI_THREAD_SERIALIZED or more at init: calls may then come from any thread,
/// one at a time.
int bt_mpi_serialized_threads(void);
/// Ends every rank of the job with `code` (MPI_Abort).
void bt_mpi_abort(int code);

/// In-place sum over all ranks of `count` elements: kind 0 float, 1 double, 2 int64.
int bt_mpi_allreduce_sum(void *buffer, int count, int kind, char *message, int capacity);
/// `count` bytes from `root` to every rank.
int bt_mpi_broadcast(void *buffer, int count, int root, char *message, int capacity);
int bt_mpi_barrier(char *message, int capacity);
/// Every rank's `count` bytes, concatenated in rank order at `root` (`counts` and `displacements` are read at
/// root only); `receive` may be NULL elsewhere.
int bt_mpi_gather_bytes(const void *send, int count, void *receive, const int *counts, const int *displacements,
                        int root, char *message, int capacity);
/// One int from every rank, in rank order at `root`.
int bt_mpi_gather_int(int value, int *receive, int root, char *message, int capacity);

#endif
