#ifndef BT_DNNL_H
#define BT_DNNL_H

#include <stddef.h>
#include <stdint.h>

/// oneDNN, loaded at run time when the system has it. Every function is safe to call when it is absent:
/// bt_dnnl_load reports why, and the rest then fail with a non-zero status.

/// Loads libdnnl and resolves its entry points; 0 on success, else fills `message`.
int bt_dnnl_load(char *message, int capacity);
/// "2.6.3"-style version and the instruction set oneDNN's JIT kernels target ("avx512_core_amx", ...).
void bt_dnnl_describe(char *version, int versionCapacity, char *isa, int isaCapacity);

/// c[m,n] = alpha · op(a) · op(b) + beta · c, row-major single precision, on `threads` threads of the
/// calling thread's own OpenMP team (1 runs on the caller alone). 0 on success.
int bt_dnnl_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                  int threads);

/// The input types of a matrix product: single precision, bfloat16 bits, or signed 8-bit integers (whose product
/// writes its exact int32 sums, with no bias, scale or sum).
enum { BT_DNNL_F32 = 0, BT_DNNL_BF16 = 1, BT_DNNL_S8 = 2 };

/// A matrix product of fixed strides, created once and run many times:
/// c[m,n] = alpha · op(a) · op(b) + beta · c, row-major, inputs of one type of the three above, output F32 (int32
/// for s8 inputs).
/// With `runtimeShape` the primitive takes any m, n and k at each run (oneDNN's runtime dimensions); without it,
/// it is made for the m, n and k given here, and every run must pass those. With `packedWeights` (one shape only)
/// b is passed to each run in the layout the primitive chose, written once by bt_dnnl_matmul_pack_weights. With
/// `withBias` each run adds a bias row of n values to every row of the product (before beta · c).
typedef struct bt_dnnl_matmul bt_dnnl_matmul;

bt_dnnl_matmul *bt_dnnl_matmul_create(int transA, int transB, int64_t m, int64_t n, int64_t k,
                                      int64_t lda, int64_t ldb, int64_t ldc, float alpha, float beta,
                                      int inputs, int runtimeShape, int packedWeights, int withBias,
                                      char *message, int capacity);
/// The bytes of b in the layout a primitive made with `packedWeights` chose (0 for the others).
size_t bt_dnnl_matmul_packed_weight_bytes(const bt_dnnl_matmul *matmul);
/// Writes `weights`, b as the primitive was described (op(b) with its ldb), into `packed` (64-byte aligned, of
/// bt_dnnl_matmul_packed_weight_bytes). 0 on success.
int bt_dnnl_matmul_pack_weights(bt_dnnl_matmul *matmul, const void *weights, void *packed, int threads);
/// `bias` is given exactly when the primitive was made with one. 0 on success.
int bt_dnnl_matmul_run(const bt_dnnl_matmul *matmul, int64_t m, int64_t n, int64_t k, const void *a, const void *b,
                       const float *bias, void *c, int threads);
/// Whether two primitives made with `packedWeights` read their weights in the same layout (so weights packed for
/// one serve the other).
int bt_dnnl_matmul_same_packed_weights(const bt_dnnl_matmul *a, const bt_dnnl_matmul *b);
/// The implementation oneDNN chose ("brg:avx512_core_amx_bf16", ...).
const char *bt_dnnl_matmul_implementation(const bt_dnnl_matmul *matmul);
void bt_dnnl_matmul_destroy(bt_dnnl_matmul *matmul);
/// The capacity of oneDNN's own primitive cache (0 once loaded, unless its variable set one), -1 when not loaded.
int bt_dnnl_primitive_cache_capacity(void);

#endif
