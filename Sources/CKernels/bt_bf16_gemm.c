#include "bt_kernels.h"

// BF16 products on AVX512-BF16's dot products (vdpbf16ps), accumulated in single precision, on the AMX kernel's
// panels (bt_amx_pack): c[m, n] (+)= a[m, k] · b[k, n] (+ bias), for processors with AVX512-BF16 and no AMX.
//
// A panel holds 16 columns of the second input over the whole depth, each pair of depths as sixteen 32-bit pairs
// (b[2x, j], b[2x + 1, j]): one vector, which is what the instruction reads. A tile of 8 rows × 32 columns keeps
// sixteen accumulators in registers; each pair of depths loads two vectors of the panels, broadcasts each row's
// pair (a[r, 2x], a[r, 2x + 1]) and runs sixteen dot products. Each output is its start (zero, the output or the
// bias) plus its terms two at a time in the order of the depth, whatever the rows around it, so a row gets the same
// bits alone or in a batch. Panels are padded with zeros past n, so a narrow last panel is read whole and stored
// through a mask.

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#include <string.h>

#define BT_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define BT_BF16_ROWS 8
#define BT_BF16_BLOCK_ROWS 64

// The pair a[0], a[1] (or a[0] and zero at an odd depth's end) in every 32-bit lane.
static inline __attribute__((always_inline)) BT_BF16 __m512bh bt_bf16_pair(const uint16_t *a, int last_single) {
    uint32_t pair;
    if (last_single) pair = a[0];
    else memcpy(&pair, a, 4);
    return (__m512bh)_mm512_set1_epi32((int)pair);
}

// One pair of depths for R rows: the panels' vectors at this depth against each row's pair.
static inline __attribute__((always_inline)) BT_BF16
void bt_bf16_step(const int R, const int two, const uint16_t *a, size_t lda, const uint16_t *p0, const uint16_t *p1,
                  __m512 *acc0, __m512 *acc1, const int last_single) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(p0);
    const __m512bh b1 = two ? (__m512bh)_mm512_load_si512(p1) : b0;
    for (int r = 0; r < R; r++) {
        const __m512bh av = bt_bf16_pair(a + r * lda, last_single);
        acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
        if (two) acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
    }
}

// One tile of R rows (at most BT_BF16_ROWS) and one or two panels (`two`), over the whole depth. `init`: 0 zeros,
// 1 the output, 2 the bias (bias0 at the first panel's columns).
static inline __attribute__((always_inline)) BT_BF16
void bt_bf16_tile(const int R, const int two, const uint16_t *a, size_t lda, const uint16_t *p0, const uint16_t *p1,
                  size_t k, float *c, size_t ldc, int init, const float *bias0, __mmask16 m0, __mmask16 m1) {
    __m512 acc0[BT_BF16_ROWS], acc1[BT_BF16_ROWS];
    for (int r = 0; r < R; r++) {
        if (init == 1) {
            acc0[r] = _mm512_maskz_loadu_ps(m0, c + r * ldc);
            acc1[r] = two ? _mm512_maskz_loadu_ps(m1, c + r * ldc + 16) : _mm512_setzero_ps();
        } else if (init == 2) {
            acc0[r] = _mm512_maskz_loadu_ps(m0, bias0);
            acc1[r] = two ? _mm512_maskz_loadu_ps(m1, bias0 + 16) : _mm512_setzero_ps();
        } else {
            acc0[r] = _mm512_setzero_ps();
            acc1[r] = _mm512_setzero_ps();
        }
    }
    const size_t even = k & ~(size_t)1;
    for (size_t x = 0; x < even; x += 2)
        bt_bf16_step(R, two, a + x, lda, p0 + x * BT_AMX_PANEL, p1 + x * BT_AMX_PANEL, acc0, acc1, 0);
    if (even < k)
        bt_bf16_step(R, two, a + even, lda, p0 + even * BT_AMX_PANEL, p1 + even * BT_AMX_PANEL, acc0, acc1, 1);
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc0[r]);
        if (two) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc1[r]);
    }
}

#define BT_BF16_TILE(R) \
    static BT_BF16 void bt_bf16_tile_##R(int two, const uint16_t *a, size_t lda, const uint16_t *p0, \
                                         const uint16_t *p1, size_t k, float *c, size_t ldc, int init, \
                                         const float *bias0, __mmask16 m0, __mmask16 m1) { \
        if (two) bt_bf16_tile(R, 1, a, lda, p0, p1, k, c, ldc, init, bias0, m0, m1); \
        else bt_bf16_tile(R, 0, a, lda, p0, p1, k, c, ldc, init, bias0, m0, m1); \
    }
BT_BF16_TILE(1)
BT_BF16_TILE(2)
BT_BF16_TILE(3)
BT_BF16_TILE(4)
BT_BF16_TILE(5)
BT_BF16_TILE(6)
BT_BF16_TILE(7)
BT_BF16_TILE(8)

typedef void (*bt_bf16_tile_fn)(int, const uint16_t *, size_t, const uint16_t *, const uint16_t *, size_t, float *,
                                size_t, int, const float *, __mmask16, __mmask16);
static const bt_bf16_tile_fn bt_bf16_tiles[BT_BF16_ROWS + 1] = {
    NULL, bt_bf16_tile_1, bt_bf16_tile_2, bt_bf16_tile_3, bt_bf16_tile_4,
    bt_bf16_tile_5, bt_bf16_tile_6, bt_bf16_tile_7, bt_bf16_tile_8,
};

static inline __mmask16 bt_bf16_mask(size_t width) {
    return width >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << width) - 1);
}

BT_BF16 void bt_bf16_gemm(float *c, size_t ldc, const uint16_t *a, size_t lda, const uint16_t *packed, size_t m,
                          size_t n, size_t k, int accumulate, const float *bias, size_t panel_begin, size_t panel_end) {
    const size_t kp = (k + BT_AMX_DEPTH - 1) / BT_AMX_DEPTH * BT_AMX_DEPTH;
    const int init = accumulate ? 1 : bias ? 2 : 0;
    // Blocks of 64 rows outer (at most 192 KB of the first input at a depth of 1,536, held in the second-level
    // cache), then pairs of panels, then tiles of rows: a pair of panels (64 bytes a pair of depths) is read once per
    // tile of rows, from the second-level cache at most, and the rows' pairs are broadcast from the first.
    for (size_t r0 = 0; r0 < m; r0 += BT_BF16_BLOCK_ROWS) {
        const size_t r_end = m - r0 < BT_BF16_BLOCK_ROWS ? m : r0 + BT_BF16_BLOCK_ROWS;
        for (size_t panel = panel_begin; panel < panel_end;) {
            const size_t j = panel * BT_AMX_PANEL;
            const int two = panel + 1 < panel_end;
            const size_t width0 = n - j, width1 = two ? n - j - BT_AMX_PANEL : 0;
            const __mmask16 m0 = bt_bf16_mask(width0), m1 = bt_bf16_mask(width1);
            const uint16_t *p0 = packed + j * kp, *p1 = p0 + BT_AMX_PANEL * kp;
            const float *bias0 = bias ? bias + j : NULL;
            for (size_t r = r0; r < r_end; r += BT_BF16_ROWS) {
                const size_t rows = r_end - r < BT_BF16_ROWS ? r_end - r : BT_BF16_ROWS;
                bt_bf16_tiles[rows](two, a + r * lda, lda, p0, p1, k, c + r * ldc + j, ldc, init, bias0, m0, m1);
            }
            panel += two ? 2 : 1;
        }
    }
}

#else

void bt_bf16_gemm(float *c, size_t ldc, const uint16_t *a, size_t lda, const uint16_t *packed, size_t m, size_t n,
                  size_t k, int accumulate, const float *bias, size_t panel_begin, size_t panel_end) {
    (void)c; (void)ldc; (void)a; (void)lda; (void)packed; (void)m; (void)n; (void)k; (void)accumulate; (void)bias;
    (void)panel_begin; (void)panel_end;
    __builtin_trap();
}

#endif
