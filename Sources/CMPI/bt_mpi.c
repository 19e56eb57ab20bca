#include "bt_mpi.h"

#include <stdio.h>
#include <string.h>

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>

// Open MPI's ABI: every handle (communicator, datatype, operation, error handler) is a pointer to a predefined
// global object, MPI_IN_PLACE is (void *)1 and MPI_THREAD_SERIALIZED is 2. These hold for every Open MPI
// release that ships libmpi.so.40 (3.x to 5.x).
typedef void *handle_t;
#define BT_MPI_IN_PLACE ((void *)1)
#define BT_MPI_THREAD_SERIALIZED 2

static struct {
    int (*initialized)(int *);
    int (*init_thread)(int *, char ***, int, int *);
    int (*query_thread)(int *);
    int (*finalized)(int *);
    int (*finalize)(void);
    int (*comm_rank)(handle_t, int *);
    int (*comm_size)(handle_t, int *);
    int (*comm_set_errhandler)(handle_t, handle_t);
    int (*allreduce)(const void *, void *, int, handle_t, handle_t, handle_t);
    int (*bcast)(void *, int, handle_t, int, handle_t);
    int (*barrier)(handle_t);
    int (*gather)(const void *, int, handle_t, void *, int, handle_t, int, handle_t);
    int (*gatherv)(const void *, int, handle_t, void *, const int *, const int *, handle_t, int, handle_t);
    int (*abort)(handle_t, int);
    int (*error_string)(int, char *, int *);
    handle_t world, floats, doubles, int64s, bytes, ints, sum, errors_return;
    int loaded;
    int thread_level;
} lib;

static void describe(int code, const char *what, char *message, int capacity) {
    char text[512];
    int length = 0;
    text[0] = 0;
    if (lib.error_string) lib.error_string(code, text, &length);
    snprintf(message, capacity, "%s failed: %s (MPI error %d)", what, text[0] ? text : "unknown error", code);
}

int bt_mpi_load(char *message, int capacity) {
    if (lib.loaded) return 0;
    // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve libmpi's symbols from the global namespace.
    void *handle = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
        snprintf(message, capacity, "%s", dlerror());
        return -1;
    }
#define RESOLVE(field, name)                                                                        \
    do {                                                                                            \
        *(void **)&lib.field = dlsym(handle, name);                                                 \
        if (!lib.field) {                                                                           \
            snprintf(message, capacity, "libmpi.so.40 has no %s: not an Open MPI library", name);   \
            return -1;                                                                              \
        }                                                                                           \
    } while (0)
    RESOLVE(initialized, "MPI_Initialized");
    RESOLVE(init_thread, "MPI_Init_thread");
    RESOLVE(query_thread, "MPI_Query_thread");
    RESOLVE(finalized, "MPI_Finalized");
    RESOLVE(finalize, "MPI_Finalize");
    RESOLVE(comm_rank, "MPI_Comm_rank");
    RESOLVE(comm_size, "MPI_Comm_size");
    RESOLVE(comm_set_errhandler, "MPI_Comm_set_errhandler");
    RESOLVE(allreduce, "MPI_Allreduce");
    RESOLVE(bcast, "MPI_Bcast");
    RESOLVE(barrier, "MPI_Barrier");
    RESOLVE(gather, "MPI_Gather");
    RESOLVE(gatherv, "MPI_Gatherv");
    RESOLVE(abort, "MPI_Abort");
    RESOLVE(error_string, "MPI_Error_string");
    RESOLVE(world, "ompi_mpi_comm_world");
    RESOLVE(floats, "ompi_mpi_float");
    RESOLVE(doubles, "ompi_mpi_double");
    RESOLVE(int64s, "ompi_mpi_int64_t");
    RESOLVE(bytes, "ompi_mpi_byte");
    RESOLVE(ints, "ompi_mpi_int");
    RESOLVE(sum, "ompi_mpi_op_sum");
    RESOLVE(errors_return, "ompi_mpi_errors_return");
#undef RESOLVE
    lib.loaded = 1;
    return 0;
}

int bt_mpi_init(int *rank, int *size, char *message, int capacity) {
    if (!lib.loaded) { snprintf(message, capacity, "libmpi is not loaded"); return -1; }
    int done = 0, provided = 0, code;
    lib.initialized(&done);
    if (!done && (code = lib.init_thread(NULL, NULL, BT_MPI_THREAD_SERIALIZED, &provided)) != 0) {
        describe(code, "MPI_Init_thread", message, capacity);
        return code;
    }
    // What the library grants, which may be less than asked (a build without thread support grants SINGLE).
    if ((code = lib.query_thread(&lib.thread_level)) != 0) { describe(code, "MPI_Query_thread", message, capacity); return code; }
    // A failed collective (a rank that died, a network that went away) comes back as an error the caller
    // reports, instead of Open MPI's default of ending the process without saying where it was.
    if ((code = lib.comm_set_errhandler(lib.world, lib.errors_return)) != 0) {
        describe(code, "MPI_Comm_set_errhandler", message, capacity);
        return code;
    }
    if ((code = lib.comm_rank(lib.world, rank)) != 0) { describe(code, "MPI_Comm_rank", message, capacity); return code; }
    if ((code = lib.comm_size(lib.world, size)) != 0) { describe(code, "MPI_Comm_size", message, capacity); return code; }
    return 0;
}

int bt_mpi_finalize(void) {
    if (!lib.loaded) return -1;
    int done = 0;
    lib.finalized(&done);
    return done ? 0 : lib.finalize();
}

void bt_mpi_abort(int code) {
    if (lib.loaded) lib.abort(lib.world, code);
}

int bt_mpi_serialized_threads(void) { return lib.loaded && lib.thread_level >= BT_MPI_THREAD_SERIALIZED; }

int bt_mpi_allreduce_sum(void *buffer, int count, int kind, char *message, int capacity) {
    if (!lib.loaded) { snprintf(message, capacity, "libmpi is not loaded"); return -1; }
    handle_t type = kind == 0 ? lib.floats : kind == 1 ? lib.doubles : lib.int64s;
    int code = lib.allreduce(BT_MPI_IN_PLACE, buffer, count, type, lib.sum, lib.world);
    if (code) describe(code, "MPI_Allreduce", message, capacity);
    return code;
}

int bt_mpi_broadcast(void *buffer, int count, int root, char *message, int capacity) {
    if (!lib.loaded) { snprintf(message, capacity, "libmpi is not loaded"); return -1; }
    int code = lib.bcast(buffer, count, lib.bytes, root, lib.world);
    if (code) describe(code, "MPI_Bcast", message, capacity);
    return code;
}

int bt_mpi_barrier(char *message, int capacity) {
    if (!lib.loaded) { snprintf(message, capacity, "libmpi is not loaded"); return -1; }
    int code = lib.barrier(lib.world);
    if (code) describe(code, "MPI_Barrier", message, capacity);
    return code;
}

int bt_mpi_gather_bytes(const void *send, int count, void *receive, const int *counts, const int *displacements,
                        int root, char *message, int capacity) {
    if (!lib.loaded) { snprintf(message, capacity, "libmpi is not loaded"); return -1; }
    int code = lib.gatherv(send, count, lib.bytes, receive, counts, displacements, lib.bytes, root, lib.world);
    if (code) describe(code, "MPI_Gatherv", message, capacity);
    return code;
}

int bt_mpi_gather_int(int value, int *receive, int root, char *message, int capacity) {
    if (!lib.loaded) { snprintf(message, capacity, "libmpi is not loaded"); return -1; }
    int code = lib.gather(&value, 1, lib.ints, receive, 1, lib.ints, root, lib.world);
    if (code) describe(code, "MPI_Gather", message, capacity);
    return code;
}

#else

int bt_mpi_load(char *message, int capacity) { snprintf(message, capacity, "MPI needs Linux or macOS"); return -1; }
int bt_mpi_init(int *rank, int *size, char *message, int capacity) { (void)rank; (void)size; return bt_mpi_load(message, capacity); }
int bt_mpi_finalize(void) { return -1; }
void bt_mpi_abort(int code) { (void)code; }
int bt_mpi_serialized_threads(void) { return 0; }
int bt_mpi_allreduce_sum(void *b, int c, int k, char *m, int n) { (void)b; (void)c; (void)k; return bt_mpi_load(m, n); }
int bt_mpi_broadcast(void *b, int c, int r, char *m, int n) { (void)b; (void)c; (void)r; return bt_mpi_load(m, n); }
int bt_mpi_barrier(char *m, int n) { return bt_mpi_load(m, n); }
int bt_mpi_gather_bytes(const void *s, int c, void *r, const int *cs, const int *d, int root, char *m, int n) {
    (void)s; (void)c; (void)r; (void)cs; (void)d; (void)root; return bt_mpi_load(m, n);
}
int bt_mpi_gather_int(int v, int *r, int root, char *m, int n) { (void)v; (void)r; (void)root; return bt_mpi_load(m, n); }

#endif
