#include "bt_dnnl.h"

#include <stdio.h>
#include <string.h>

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>

// Entry points, resolved from the library loaded with dlopen, so the binary runs where oneDNN is absent.
static struct {
    const dnnl_version_t *(*version)(void);
    dnnl_cpu_isa_t (*effective_isa)(void);
    dnnl_status_t (*sgemm)(char, char, dnnl_dim_t, dnnl_dim_t, dnnl_dim_t, float, const float *, dnnl_dim_t,
                           const float *, dnnl_dim_t, float, float *, dnnl_dim_t);
    dnnl_status_t (*engine_create)(dnnl_engine_t *, dnnl_engine_kind_t, size_t);
    dnnl_status_t (*stream_create)(dnnl_stream_t *, dnnl_engine_t, unsigned);
    dnnl_status_t (*md_init_by_strides)(dnnl_memory_desc_t *, int, const dnnl_dims_t, dnnl_data_type_t,
                                        const dnnl_dims_t);
    dnnl_status_t (*md_init_by_tag)(dnnl_memory_desc_t *, int, const dnnl_dims_t, dnnl_data_type_t,
                                    dnnl_format_tag_t);
    dnnl_status_t (*reorder_pd_create)(dnnl_primitive_desc_t *, const dnnl_memory_desc_t *, dnnl_engine_t,
                                       const dnnl_memory_desc_t *, dnnl_engine_t, const_dnnl_primitive_attr_t);
    dnnl_status_t (*matmul_desc_init)(dnnl_matmul_desc_t *, const dnnl_memory_desc_t *, const dnnl_memory_desc_t *,
                                      const dnnl_memory_desc_t *, const dnnl_memory_desc_t *);
    dnnl_status_t (*attr_create)(dnnl_primitive_attr_t *);
    dnnl_status_t (*attr_destroy)(dnnl_primitive_attr_t);
    dnnl_status_t (*attr_set_output_scales)(dnnl_primitive_attr_t, dnnl_dim_t, int, const float *);
    dnnl_status_t (*attr_set_post_ops)(dnnl_primitive_attr_t, const_dnnl_post_ops_t);
    dnnl_status_t (*attr_set_scratchpad_mode)(dnnl_primitive_attr_t, dnnl_scratchpad_mode_t);
    const dnnl_memory_desc_t *(*pd_query_md)(const_dnnl_primitive_desc_t, dnnl_query_t, int);
    size_t (*md_get_size)(const dnnl_memory_desc_t *);
    int (*md_equal)(const dnnl_memory_desc_t *, const dnnl_memory_desc_t *);
    dnnl_status_t (*post_ops_create)(dnnl_post_ops_t *);
    dnnl_status_t (*post_ops_append_sum)(dnnl_post_ops_t, float);
    dnnl_status_t (*post_ops_destroy)(dnnl_post_ops_t);
    dnnl_status_t (*pd_create)(dnnl_primitive_desc_t *, const_dnnl_op_desc_t, const_dnnl_primitive_attr_t,
                               dnnl_engine_t, const_dnnl_primitive_desc_t);
    dnnl_status_t (*pd_query)(const_dnnl_primitive_desc_t, dnnl_query_t, int, void *);
    dnnl_status_t (*pd_destroy)(dnnl_primitive_desc_t);
    dnnl_status_t (*primitive_create)(dnnl_primitive_t *, const_dnnl_primitive_desc_t);
    dnnl_status_t (*primitive_execute)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t *);
    dnnl_status_t (*primitive_destroy)(dnnl_primitive_t);
    dnnl_status_t (*memory_create)(dnnl_memory_t *, const dnnl_memory_desc_t *, dnnl_engine_t, void *);
    dnnl_status_t (*memory_destroy)(dnnl_memory_t);
    dnnl_status_t (*get_cache_capacity)(int *);
    dnnl_status_t (*set_cache_capacity)(int);
    void (*omp_set_num_threads)(int);
    dnnl_engine_t engine;
    int loaded;
} lib;

int bt_dnnl_load(char *message, int capacity) {
    if (lib.loaded) return 0;
    void *handle = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!handle) handle = dlopen("libdnnl.so", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(message, capacity, "%s", dlerror());
        return 1;
    }
#define RESOLVE(field, name)                                                                  \
    do {                                                                                      \
        *(void **)&lib.field = dlsym(handle, name);                                           \
        if (!lib.field) {                                                                     \
            snprintf(message, capacity, "libdnnl has no %s: not a oneDNN 2.x build", name);   \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)
    RESOLVE(version, "dnnl_version");
    RESOLVE(effective_isa, "dnnl_get_effective_cpu_isa");
    RESOLVE(sgemm, "dnnl_sgemm");
    RESOLVE(engine_create, "dnnl_engine_create");
    RESOLVE(stream_create, "dnnl_stream_create");
    RESOLVE(md_init_by_strides, "dnnl_memory_desc_init_by_strides");
    RESOLVE(md_init_by_tag, "dnnl_memory_desc_init_by_tag");
    RESOLVE(reorder_pd_create, "dnnl_reorder_primitive_desc_create");
    RESOLVE(matmul_desc_init, "dnnl_matmul_desc_init");
    RESOLVE(attr_create, "dnnl_primitive_attr_create");
    RESOLVE(attr_destroy, "dnnl_primitive_attr_destroy");
    RESOLVE(attr_set_output_scales, "dnnl_primitive_attr_set_output_scales");
    RESOLVE(attr_set_post_ops, "dnnl_primitive_attr_set_post_ops");
    RESOLVE(attr_set_scratchpad_mode, "dnnl_primitive_attr_set_scratchpad_mode");
    RESOLVE(pd_query_md, "dnnl_primitive_desc_query_md");
    RESOLVE(md_get_size, "dnnl_memory_desc_get_size");
    RESOLVE(md_equal, "dnnl_memory_desc_equal");
    RESOLVE(post_ops_create, "dnnl_post_ops_create");
    RESOLVE(post_ops_append_sum, "dnnl_post_ops_append_sum");
    RESOLVE(post_ops_destroy, "dnnl_post_ops_destroy");
    RESOLVE(pd_create, "dnnl_primitive_desc_create");
    RESOLVE(pd_query, "dnnl_primitive_desc_query");
    RESOLVE(pd_destroy, "dnnl_primitive_desc_destroy");
    RESOLVE(primitive_create, "dnnl_primitive_create");
    RESOLVE(primitive_execute, "dnnl_primitive_execute");
    RESOLVE(primitive_destroy, "dnnl_primitive_destroy");
    RESOLVE(memory_create, "dnnl_memory_create");
    RESOLVE(memory_destroy, "dnnl_memory_destroy");
    RESOLVE(get_cache_capacity, "dnnl_get_primitive_cache_capacity");
    RESOLVE(set_cache_capacity, "dnnl_set_primitive_cache_capacity");
    // The OpenMP runtime oneDNN was built with; its team size is a per-thread setting.
    *(void **)&lib.omp_set_num_threads = dlsym(handle, "omp_set_num_threads");
#undef RESOLVE
    // The caller keeps the primitives it makes in its own bounded cache. oneDNN's cache would keep another copy
    // of each (up to 1024 shapes), memory that destroying a primitive does not give back; a capacity the user
    // set through oneDNN's variable stands.
    const char *capacity_set = getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY");
    if (!capacity_set || !*capacity_set) capacity_set = getenv("DNNL_PRIMITIVE_CACHE_CAPACITY");
    if ((!capacity_set || !*capacity_set) && lib.set_cache_capacity(0) != dnnl_success) {
        snprintf(message, capacity, "oneDNN refused to turn its primitive cache off");
        return 1;
    }
    if (lib.engine_create(&lib.engine, dnnl_cpu, 0) != dnnl_success) {
        snprintf(message, capacity, "oneDNN could not create its CPU engine");
        return 1;
    }
    lib.loaded = 1;
    return 0;
}

int bt_dnnl_primitive_cache_capacity(void) {
    int capacity = -1;
    if (lib.loaded) lib.get_cache_capacity(&capacity);
    return capacity;
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch ((int)isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "other";
    }
}

void bt_dnnl_describe(char *version, int versionCapacity, char *isa, int isaCapacity) {
    if (!lib.loaded) {
        snprintf(version, versionCapacity, "-");
        snprintf(isa, isaCapacity, "-");
        return;
    }
    const dnnl_version_t *v = lib.version();
    snprintf(version, versionCapacity, "%d.%d.%d", v->major, v->minor, v->patch);
    snprintf(isa, isaCapacity, "%s", isa_name(lib.effective_isa()));
}

static void use_threads(int threads) {
    if (lib.omp_set_num_threads && threads > 0) lib.omp_set_num_threads(threads);
}

int bt_dnnl_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                  int threads) {
    if (!lib.loaded) return 1;
    use_threads(threads);
    return lib.sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        != dnnl_success;
}

// Streams are not to be shared between threads; each calling thread keeps one.
static _Thread_local dnnl_stream_t thread_stream;

struct bt_dnnl_matmul {
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t a, b, c, bias, scratchpad;
    // With packed weights: b is the layout the primitive chose, plain_b the row-major one packing reads, and
    // pack the reorder between them, made at the first packing.
    dnnl_memory_desc_t plain_b;
    dnnl_primitive_t pack;
    pthread_mutex_t pack_lock;
    int transA, transB, runtime_shape, packed_weights, with_bias;
    int64_t lda, ldb, ldc;
    dnnl_data_type_t in, out;
    size_t scratchpad_size;
    char implementation[64];
};

// Each primitive's scratchpad (packed blocks of its inputs, bytes to megabytes) comes from the calling thread's own
// buffer, grown to the largest any primitive asked for and kept: in oneDNN's default mode each execution allocated
// and freed its own, and blocks above malloc's mmap threshold were mapped and unmapped on every product.
typedef struct {
    void *data;
    size_t size;
} scratchpad_buffer;

static pthread_key_t scratchpad_key;
static pthread_once_t scratchpad_key_once = PTHREAD_ONCE_INIT;

static void scratchpad_release(void *buffer) {
    scratchpad_buffer *b = buffer;
    free(b->data);
    free(b);
}

static void scratchpad_key_create(void) { pthread_key_create(&scratchpad_key, scratchpad_release); }

/// The calling thread's scratchpad of at least `size` bytes, or NULL when memory runs out.
static void *thread_scratchpad(size_t size) {
    pthread_once(&scratchpad_key_once, scratchpad_key_create);
    scratchpad_buffer *b = pthread_getspecific(scratchpad_key);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || pthread_setspecific(scratchpad_key, b) != 0) {
            free(b);
            return NULL;
        }
    }
    if (b->size < size) {
        const size_t rounded = (size + 4095) / 4096 * 4096;
        void *grown = aligned_alloc(4096, rounded);
        if (!grown) return NULL;
        free(b->data);
        b->data = grown;
        b->size = rounded;
    }
    return b->data;
}

// A row-major [rows, cols] view with leading dimension `ld`, or its transpose when `transposed` (the
// stored matrix is then [cols, rows]).
static int describe(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, int transposed, int64_t ld,
                    dnnl_data_type_t type) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {transposed ? 1 : ld, transposed ? ld : 1};
    return lib.md_init_by_strides(md, 2, dims, type, strides) != dnnl_success;
}

bt_dnnl_matmul *bt_dnnl_matmul_create(int transA, int transB, int64_t m, int64_t n, int64_t k,
                                      int64_t lda, int64_t ldb, int64_t ldc, float alpha, float beta,
                                      int inputs, int runtimeShape, int packedWeights, int withBias,
                                      char *message, int capacity) {
    if (!lib.loaded) {
        snprintf(message, capacity, "oneDNN is not loaded");
        return NULL;
    }
    if (runtimeShape && packedWeights) {
        snprintf(message, capacity, "oneDNN matmul: packed weights need a primitive of one shape");
        return NULL;
    }
    if (inputs == BT_DNNL_S8 && (withBias || alpha != 1.0f || beta != 0.0f)) {
        snprintf(message, capacity, "oneDNN matmul: s8 products write their s32 sums alone (no bias, scale or sum)");
        return NULL;
    }
    bt_dnnl_matmul *mm = calloc(1, sizeof *mm);
    dnnl_data_type_t in = inputs == BT_DNNL_S8 ? dnnl_s8 : inputs == BT_DNNL_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_data_type_t out = inputs == BT_DNNL_S8 ? dnnl_s32 : dnnl_f32;
    *mm = (bt_dnnl_matmul){.transA = transA, .transB = transB, .runtime_shape = runtimeShape,
                           .packed_weights = packedWeights, .with_bias = withBias, .lda = lda, .ldb = ldb,
                           .ldc = ldc, .in = in, .out = out};
    pthread_mutex_init(&mm->pack_lock, NULL);
    if (runtimeShape) m = n = k = DNNL_RUNTIME_DIM_VAL;
    dnnl_dims_t weight_dims = {k, n};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_matmul_desc_t desc;
    const char *failed = NULL;
    if (describe(&mm->a, m, k, transA, lda, in) || describe(&mm->plain_b, k, n, transB, ldb, in)
        || describe(&mm->c, m, n, 0, ldc, out)
        || (withBias && describe(&mm->bias, 1, n, 0, n, dnnl_f32))
        || (packedWeights ? lib.md_init_by_tag(&mm->b, 2, weight_dims, in, dnnl_format_tag_any) != dnnl_success
                          : (mm->b = mm->plain_b, 0))) {
        failed = "memory descriptors";
    } else if (lib.matmul_desc_init(&desc, &mm->a, &mm->b, withBias ? &mm->bias : NULL, &mm->c) != dnnl_success) {
        failed = "matmul descriptor";
    } else if (lib.attr_create(&attr) != dnnl_success) {
        failed = "attributes";
    } else if (alpha != 1.0f && lib.attr_set_output_scales(attr, 1, 0, &alpha) != dnnl_success) {
        failed = "output scale";
    } else if (lib.attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success) {
        failed = "scratchpad mode";
    } else if (beta != 0.0f && (lib.post_ops_create(&ops) != dnnl_success
                                || lib.post_ops_append_sum(ops, beta) != dnnl_success
                                || lib.attr_set_post_ops(attr, ops) != dnnl_success)) {
        failed = "sum post-op";
    } else if (lib.pd_create(&pd, &desc, attr, lib.engine, NULL) != dnnl_success) {
        failed = "primitive descriptor (no implementation for this shape and type)";
    } else if (lib.primitive_create(&mm->primitive, pd) != dnnl_success) {
        failed = "primitive";
    }
    if (!failed) {
        const dnnl_memory_desc_t *scratchpad = lib.pd_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (scratchpad) {
            mm->scratchpad = *scratchpad;
            mm->scratchpad_size = lib.md_get_size(scratchpad);
        }
        if (packedWeights) mm->b = *lib.pd_query_md(pd, dnnl_query_weights_md, 0);
        const char *impl = NULL;
        lib.pd_query(pd, dnnl_query_impl_info_str, 0, &impl);
        snprintf(mm->implementation, sizeof mm->implementation, "%s", impl ? impl : "?");
    }
    if (pd) lib.pd_destroy(pd);
    if (ops) lib.post_ops_destroy(ops);
    if (attr) lib.attr_destroy(attr);
    if (failed) {
        if (runtimeShape)
            snprintf(message, capacity, "oneDNN matmul of any shape (strides %lld, %lld, %lld): could not create the %s",
                     (long long)lda, (long long)ldb, (long long)ldc, failed);
        else
            snprintf(message, capacity, "oneDNN matmul %lldx%lldx%lld: could not create the %s",
                     (long long)m, (long long)n, (long long)k, failed);
        pthread_mutex_destroy(&mm->pack_lock);
        free(mm);
        return NULL;
    }
    return mm;
}

size_t bt_dnnl_matmul_packed_weight_bytes(const bt_dnnl_matmul *mm) {
    return mm->packed_weights ? lib.md_get_size(&mm->b) : 0;
}

int bt_dnnl_matmul_pack_weights(bt_dnnl_matmul *mm, const void *weights, void *packed, int threads) {
    if (!mm->packed_weights) return 1;
    if (!thread_stream && lib.stream_create(&thread_stream, lib.engine, dnnl_stream_default_flags) != dnnl_success)
        return 1;
    pthread_mutex_lock(&mm->pack_lock);
    if (!mm->pack) {
        dnnl_primitive_desc_t pd = NULL;
        if (lib.reorder_pd_create(&pd, &mm->plain_b, lib.engine, &mm->b, lib.engine, NULL) == dnnl_success)
            lib.primitive_create(&mm->pack, pd);
        if (pd) lib.pd_destroy(pd);
    }
    pthread_mutex_unlock(&mm->pack_lock);
    if (!mm->pack) return 1;
    use_threads(threads);
    dnnl_memory_t from = NULL, to = NULL;
    int status = 1;
    if (lib.memory_create(&from, &mm->plain_b, lib.engine, (void *)weights) == dnnl_success
        && lib.memory_create(&to, &mm->b, lib.engine, packed) == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        status = lib.primitive_execute(mm->pack, thread_stream, 2, args) != dnnl_success;
    }
    if (from) lib.memory_destroy(from);
    if (to) lib.memory_destroy(to);
    return status;
}

int bt_dnnl_matmul_same_packed_weights(const bt_dnnl_matmul *a, const bt_dnnl_matmul *b) {
    return a->packed_weights && b->packed_weights && lib.md_equal(&a->b, &b->b);
}

int bt_dnnl_matmul_run(const bt_dnnl_matmul *mm, int64_t m, int64_t n, int64_t k, const void *a, const void *b,
                       const float *bias, void *c, int threads) {
    if ((bias != NULL) != (mm->with_bias != 0)) return 1;
    if (!thread_stream && lib.stream_create(&thread_stream, lib.engine, dnnl_stream_default_flags) != dnnl_success)
        return 1;
    // A primitive made for any shape runs on memory described with this call's shape.
    dnnl_memory_desc_t shaped[4];
    const dnnl_memory_desc_t *da = &mm->a, *db = &mm->b, *dc = &mm->c, *dbias = &mm->bias;
    if (mm->runtime_shape) {
        if (describe(&shaped[0], m, k, mm->transA, mm->lda, mm->in) || describe(&shaped[1], k, n, mm->transB, mm->ldb, mm->in)
            || describe(&shaped[2], m, n, 0, mm->ldc, mm->out) || describe(&shaped[3], 1, n, 0, n, dnnl_f32))
            return 1;
        da = &shaped[0], db = &shaped[1], dc = &shaped[2], dbias = &shaped[3];
    }
    use_threads(threads);
    void *scratchpad = NULL;
    if (mm->scratchpad_size > 0 && !(scratchpad = thread_scratchpad(mm->scratchpad_size))) return 1;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, ms = NULL, mbias = NULL;
    int status = 1;
    if (lib.memory_create(&ma, da, lib.engine, (void *)a) == dnnl_success
        && lib.memory_create(&mb, db, lib.engine, (void *)b) == dnnl_success
        && lib.memory_create(&mc, dc, lib.engine, c) == dnnl_success
        && (!scratchpad || lib.memory_create(&ms, &mm->scratchpad, lib.engine, scratchpad) == dnnl_success)
        && (!bias || lib.memory_create(&mbias, dbias, lib.engine, (void *)bias) == dnnl_success)) {
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
        int count = 3;
        if (scratchpad) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, ms};
        if (bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mbias};
        status = lib.primitive_execute(mm->primitive, thread_stream, count, args) != dnnl_success;
    }
    if (ma) lib.memory_destroy(ma);
    if (mb) lib.memory_destroy(mb);
    if (mc) lib.memory_destroy(mc);
    if (ms) lib.memory_destroy(ms);
    if (mbias) lib.memory_destroy(mbias);
    return status;
}

const char *bt_dnnl_matmul_implementation(const bt_dnnl_matmul *mm) { return mm->implementation; }

void bt_dnnl_matmul_destroy(bt_dnnl_matmul *mm) {
    if (!mm) return;
    lib.primitive_destroy(mm->primitive);
    if (mm->pack) lib.primitive_destroy(mm->pack);
    pthread_mutex_destroy(&mm->pack_lock);
    free(mm);
}

#else

// Built without oneDNN's headers: every call reports that it is absent.
int bt_dnnl_load(char *message, int capacity) {
    snprintf(message, capacity, "built without oneDNN headers (install libdnnl-dev and rebuild)");
    return 1;
}
void bt_dnnl_describe(char *version, int versionCapacity, char *isa, int isaCapacity) {
    snprintf(version, versionCapacity, "-");
    snprintf(isa, isaCapacity, "-");
}
int bt_dnnl_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int threads) {
    return 1;
}
bt_dnnl_matmul *bt_dnnl_matmul_create(int transA, int transB, int64_t m, int64_t n, int64_t k, int64_t lda,
                                      int64_t ldb, int64_t ldc, float alpha, float beta, int inputs,
                                      int runtimeShape, int packedWeights, int withBias, char *message, int capacity) {
    snprintf(message, capacity, "built without oneDNN");
    return NULL;
}
size_t bt_dnnl_matmul_packed_weight_bytes(const bt_dnnl_matmul *matmul) { return 0; }
int bt_dnnl_matmul_pack_weights(bt_dnnl_matmul *matmul, const void *weights, void *packed, int threads) { return 1; }
int bt_dnnl_matmul_same_packed_weights(const bt_dnnl_matmul *a, const bt_dnnl_matmul *b) { return 0; }
int bt_dnnl_matmul_run(const bt_dnnl_matmul *matmul, int64_t m, int64_t n, int64_t k, const void *a, const void *b,
                       const float *bias, void *c, int threads) {
    return 1;
}
const char *bt_dnnl_matmul_implementation(const bt_dnnl_matmul *matmul) { return "-"; }
int bt_dnnl_primitive_cache_capacity(void) { return -1; }
void bt_dnnl_matmul_destroy(bt_dnnl_matmul *matmul) {}

#endif
