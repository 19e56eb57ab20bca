#include "bt_kernels.h"

#include <string.h>

// Single-precision products against a weight laid out once, for forwards whose weights stay put (inference).
// A BLAS library lays the weight out again in every call; for a sentence of a few dozen tokens that copy costs
// as much as the product. Here the weight [n, k] is stored in panels of BT_PACKED_PANEL output columns, each
// panel k rows of sixteen consecutive floats, so the kernel reads it in the order it multiplies. The kernel
// holds a tile of up to six rows × sixteen columns in twelve AVX2 registers over the whole depth: per step of k,
// two loads of the panel, one broadcast per row, two fused multiply-adds per row. The input is read where it
// lies (rows lda apart); the output tile starts from the bias and is written once.

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define BT_AVX2 __attribute__((target("avx2,fma")))

/// c[r, 0 ..< width] = bias16 + Σ_x a[r·lda + x] · p[16·x ..< 16·x + 16] for r < R (R a constant once inlined).
static inline __attribute__((always_inline)) BT_AVX2
void bt_packed_tile(const int R, const float *a, size_t lda, const float *p, size_t k, const float *bias16,
                    float *c, size_t ldc, size_t width) {
    __m256 acc[BT_PACKED_TILE_ROWS][2];
    const __m256 b0 = _mm256_loadu_ps(bias16), b1 = _mm256_loadu_ps(bias16 + 8);
    for (int r = 0; r < R; r++) { acc[r][0] = b0; acc[r][1] = b1; }
    for (size_t x = 0; x < k; x++) {
        const __m256 w0 = _mm256_load_ps(p + 16 * x), w1 = _mm256_load_ps(p + 16 * x + 8);
        for (int r = 0; r < R; r++) {
            const __m256 v = _mm256_broadcast_ss(a + r * lda + x);
            acc[r][0] = _mm256_fmadd_ps(v, w0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(v, w1, acc[r][1]);
        }
    }
    if (width == BT_PACKED_PANEL) {
        for (int r = 0; r < R; r++) {
            _mm256_storeu_ps(c + r * ldc, acc[r][0]);
            _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
        }
    } else {
        float row[BT_PACKED_PANEL];
        for (int r = 0; r < R; r++) {
            _mm256_storeu_ps(row, acc[r][0]);
            _mm256_storeu_ps(row + 8, acc[r][1]);
            memcpy(c + r * ldc, row, width * sizeof(float));
        }
    }
}

#define BT_TILE_FUNCTION(R) \
    static BT_AVX2 void bt_packed_tile_##R(const float *a, size_t lda, const float *p, size_t k, const float *bias16, \
                                           float *c, size_t ldc, size_t width) { \
        bt_packed_tile(R, a, lda, p, k, bias16, c, ldc, width); \
    }
BT_TILE_FUNCTION(1)
BT_TILE_FUNCTION(2)
BT_TILE_FUNCTION(3)
BT_TILE_FUNCTION(4)
BT_TILE_FUNCTION(5)
BT_TILE_FUNCTION(6)

typedef void (*bt_tile_function)(const float *, size_t, const float *, size_t, const float *, float *, size_t, size_t);
static const bt_tile_function bt_tiles[BT_PACKED_TILE_ROWS + 1] = {
    NULL, bt_packed_tile_1, bt_packed_tile_2, bt_packed_tile_3, bt_packed_tile_4, bt_packed_tile_5, bt_packed_tile_6,
};

int bt_packed_sgemm_available(void) { return bt_kernels_level() >= BT_KERNELS_AVX2; }

void bt_packed_sgemm(float *out, size_t ldo, const float *inp, size_t lda, const float *packed, const float *bias,
                     size_t n, size_t k, size_t row_begin, size_t row_end, size_t panel_begin, size_t panel_end) {
    // Rows go in blocks whose inputs stay in the core's second-level cache (256 KB) while every panel passes over
    // them, so the input is read from memory once and the weight once per block; a sentence is one block.
    const size_t rows_total = row_end - row_begin, limit = 64 * 1024;
    const size_t blocks = (rows_total * k + limit - 1) / limit;
    size_t block = blocks <= 1 ? rows_total : (rows_total + blocks - 1) / blocks;
    block = (block + BT_PACKED_TILE_ROWS - 1) / BT_PACKED_TILE_ROWS * BT_PACKED_TILE_ROWS;
    for (size_t r0 = row_begin; r0 < row_end; r0 += block) {
        const size_t r1 = row_end - r0 < block ? row_end : r0 + block;
        for (size_t panel = panel_begin; panel < panel_end; panel++) {
            const size_t j = panel * BT_PACKED_PANEL;
            const size_t width = n - j < BT_PACKED_PANEL ? n - j : BT_PACKED_PANEL;
            float bias16[BT_PACKED_PANEL] = {0};
            if (bias) memcpy(bias16, bias + j, width * sizeof(float));
            const float *p = packed + j * k;
            for (size_t r = r0; r < r1; r += BT_PACKED_TILE_ROWS) {
                const size_t rows = r1 - r < BT_PACKED_TILE_ROWS ? r1 - r : BT_PACKED_TILE_ROWS;
                bt_tiles[rows](inp + r * lda, lda, p, k, bias16, out + r * ldo + j, ldo, width);
            }
        }
    }
}

#else

int bt_packed_sgemm_available(void) { return 0; }

void bt_packed_sgemm(float *out, size_t ldo, const float *inp, size_t lda, const float *packed, const float *bias,
                     size_t n, size_t k, size_t row_begin, size_t row_end, size_t panel_begin, size_t panel_end) {
    (void)out; (void)ldo; (void)inp; (void)lda; (void)packed; (void)bias; (void)n; (void)k;
    (void)row_begin; (void)row_end; (void)panel_begin; (void)panel_end;
    __builtin_trap();
}

#endif

size_t bt_packed_sgemm_floats(size_t n, size_t k) {
    return (n + BT_PACKED_PANEL - 1) / BT_PACKED_PANEL * BT_PACKED_PANEL * k;
}

void bt_packed_sgemm_pack(float *packed, const float *weight, size_t n, size_t k) {
    for (size_t j0 = 0; j0 < n; j0 += BT_PACKED_PANEL) {
        float *p = packed + j0 * k;
        for (size_t x = 0; x < k; x++)
            for (size_t j = 0; j < BT_PACKED_PANEL; j++)
                p[x * BT_PACKED_PANEL + j] = j0 + j < n ? weight[(j0 + j) * k + x] : 0.0f;
    }
}
