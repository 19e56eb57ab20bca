#include "bt_kernels.h"

// INT8 products on AVX512-VNNI's dot products (vpdpbusd), summed exactly in int32: sums[m, n] = a[m, k] · wᵀ with a
// and w signed 8-bit values, w [n, k] (a projection's weight, one row per output channel), for processors with
// AVX512-VNNI and no AMX.
//
// The instruction multiplies unsigned bytes by signed ones, so the weight is stored as w + 128 (unsigned) and each
// row of a, signed, is the other operand: the dot product of a row is then its true sum plus 128 times the sum of the
// row's values, which is subtracted before the store (the sum as the quantization counted it). The instruction adds
// in 32 bits modulo 2^32 (it does not saturate), and so does the subtraction, so the result is the true sum whenever that fits in int32 (at most
// 127 · 127 · k: any depth below 133,000), exact whatever the order and the same as any other exact product.
//
// A panel holds 16 output channels over the whole depth, each group of four depths as sixteen 32-bit groups
// (w[j, 4x .. 4x + 3] + 128 for channel j): one vector, which is what the instruction reads. A tile of 8 rows × 32
// channels keeps sixteen accumulators in registers; each group of four depths loads two vectors of the panels,
// broadcasts each row's four values and runs sixteen dot products. Panels are padded with 128 (a zero weight) past n
// and past k; a row's last group past k is read as zeros, so a narrow last panel is read whole and stored through a
// mask.

size_t bt_vnni_packed_bytes(size_t k, size_t n) {
    const size_t kp = (k + BT_VNNI_DEPTH - 1) / BT_VNNI_DEPTH * BT_VNNI_DEPTH;
    const size_t np = (n + BT_VNNI_PANEL - 1) / BT_VNNI_PANEL * BT_VNNI_PANEL;
    return kp * np;
}

void bt_vnni_pack(uint8_t *packed, const int8_t *w, size_t k, size_t n) {
    const size_t kp = (k + BT_VNNI_DEPTH - 1) / BT_VNNI_DEPTH * BT_VNNI_DEPTH;
    for (size_t j0 = 0; j0 < n; j0 += BT_VNNI_PANEL) {
        uint8_t *p = packed + j0 * kp;
        for (size_t x = 0; x < kp; x += BT_VNNI_DEPTH)
            for (size_t j = 0; j < BT_VNNI_PANEL; j++)
                for (size_t q = 0; q < BT_VNNI_DEPTH; q++) {
                    const int value = j0 + j < n && x + q < k ? w[(j0 + j) * k + x + q] : 0;
                    p[x * BT_VNNI_PANEL + j * BT_VNNI_DEPTH + q] = (uint8_t)(value + 128);
                }
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#include <string.h>

#define BT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define BT_VNNI_ROWS 8
#define BT_VNNI_BLOCK_ROWS 64

// The group a[0 .. 3] (or its first `tail` values and zeros, at the depth's end) in every 32-bit lane.
static inline __attribute__((always_inline)) BT_VNNI __m512i bt_vnni_group(const int8_t *a, size_t tail) {
    uint32_t group = 0;
    memcpy(&group, a, tail ? tail : 4);
    return _mm512_set1_epi32((int)group);
}

// One group of four depths for R rows: the panels' vectors at this depth against each row's group.
static inline __attribute__((always_inline)) BT_VNNI
void bt_vnni_step(const int R, const int two, const int8_t *a, size_t lda, const uint8_t *p0, const uint8_t *p1,
                  __m512i *acc0, __m512i *acc1, size_t tail) {
    const __m512i b0 = _mm512_load_si512(p0);
    const __m512i b1 = two ? _mm512_load_si512(p1) : b0;
    for (int r = 0; r < R; r++) {
        const __m512i av = bt_vnni_group(a + r * lda, tail);
        acc0[r] = _mm512_dpbusd_epi32(acc0[r], b0, av);
        if (two) acc1[r] = _mm512_dpbusd_epi32(acc1[r], b1, av);
    }
}

// One tile of R rows (at most BT_VNNI_ROWS) and one or two panels (`two`), over the whole depth; `offsets` holds
// 128 times each row's sum of values.
static inline __attribute__((always_inline)) BT_VNNI
void bt_vnni_tile(const int R, const int two, const int8_t *a, size_t lda, const uint8_t *p0, const uint8_t *p1,
                  size_t k, int32_t *c, size_t ldc, const int32_t *offsets, __mmask16 m0, __mmask16 m1) {
    __m512i acc0[BT_VNNI_ROWS], acc1[BT_VNNI_ROWS];
    for (int r = 0; r < R; r++) {
        acc0[r] = _mm512_setzero_si512();
        acc1[r] = _mm512_setzero_si512();
    }
    const size_t whole = k & ~(size_t)(BT_VNNI_DEPTH - 1);
    for (size_t x = 0; x < whole; x += BT_VNNI_DEPTH)
        bt_vnni_step(R, two, a + x, lda, p0 + x * BT_VNNI_PANEL, p1 + x * BT_VNNI_PANEL, acc0, acc1, 0);
    if (whole < k)
        bt_vnni_step(R, two, a + whole, lda, p0 + whole * BT_VNNI_PANEL, p1 + whole * BT_VNNI_PANEL, acc0, acc1,
                     k - whole);
    for (int r = 0; r < R; r++) {
        const __m512i offset = _mm512_set1_epi32(offsets[r]);
        _mm512_mask_storeu_epi32(c + r * ldc, m0, _mm512_sub_epi32(acc0[r], offset));
        if (two) _mm512_mask_storeu_epi32(c + r * ldc + 16, m1, _mm512_sub_epi32(acc1[r], offset));
    }
}

#define BT_VNNI_TILE(R) \
    static BT_VNNI void bt_vnni_tile_##R(int two, const int8_t *a, size_t lda, const uint8_t *p0, const uint8_t *p1, \
                                         size_t k, int32_t *c, size_t ldc, const int32_t *offsets, __mmask16 m0, \
                                         __mmask16 m1) { \
        if (two) bt_vnni_tile(R, 1, a, lda, p0, p1, k, c, ldc, offsets, m0, m1); \
        else bt_vnni_tile(R, 0, a, lda, p0, p1, k, c, ldc, offsets, m0, m1); \
    }
BT_VNNI_TILE(1)
BT_VNNI_TILE(2)
BT_VNNI_TILE(3)
BT_VNNI_TILE(4)
BT_VNNI_TILE(5)
BT_VNNI_TILE(6)
BT_VNNI_TILE(7)
BT_VNNI_TILE(8)

typedef void (*bt_vnni_tile_fn)(int, const int8_t *, size_t, const uint8_t *, const uint8_t *, size_t, int32_t *,
                                size_t, const int32_t *, __mmask16, __mmask16);
static const bt_vnni_tile_fn bt_vnni_tiles[BT_VNNI_ROWS + 1] = {
    NULL, bt_vnni_tile_1, bt_vnni_tile_2, bt_vnni_tile_3, bt_vnni_tile_4,
    bt_vnni_tile_5, bt_vnni_tile_6, bt_vnni_tile_7, bt_vnni_tile_8,
};

static inline __mmask16 bt_vnni_mask(size_t width) {
    return width >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << width) - 1);
}

BT_VNNI void bt_vnni_gemm(int32_t *c, size_t ldc, const int8_t *a, size_t lda, const uint8_t *packed, size_t m,
                          size_t n, size_t k, size_t panel_begin, size_t panel_end, const int32_t *row_sums) {
    const size_t kp = (k + BT_VNNI_DEPTH - 1) / BT_VNNI_DEPTH * BT_VNNI_DEPTH;
    int32_t offsets[BT_VNNI_BLOCK_ROWS];
    // Blocks of 64 rows outer (96 KB of the first input at a depth of 1,536, held in the second-level cache), then
    // pairs of panels, then tiles of rows: a pair of panels (128 bytes a group of depths) is read once per tile of
    // rows, from the second-level cache at most, and the rows' groups are broadcast from the first.
    for (size_t r0 = 0; r0 < m; r0 += BT_VNNI_BLOCK_ROWS) {
        const size_t r_end = m - r0 < BT_VNNI_BLOCK_ROWS ? m : r0 + BT_VNNI_BLOCK_ROWS;
        // Multiplied in unsigned arithmetic: modulo 2^32, as the instruction sums.
        for (size_t r = r0; r < r_end; r++) offsets[r - r0] = (int32_t)(128u * (uint32_t)row_sums[r]);
        for (size_t panel = panel_begin; panel < panel_end;) {
            const size_t j = panel * BT_VNNI_PANEL;
            const int two = panel + 1 < panel_end;
            const size_t width0 = n - j, width1 = two ? n - j - BT_VNNI_PANEL : 0;
            const __mmask16 m0 = bt_vnni_mask(width0), m1 = bt_vnni_mask(width1);
            const uint8_t *p0 = packed + j * kp, *p1 = p0 + BT_VNNI_PANEL * kp;
            for (size_t r = r0; r < r_end; r += BT_VNNI_ROWS) {
                const size_t rows = r_end - r < BT_VNNI_ROWS ? r_end - r : BT_VNNI_ROWS;
                bt_vnni_tiles[rows](two, a + r * lda, lda, p0, p1, k, c + r * ldc + j, ldc, offsets + (r - r0), m0,
                                    m1);
            }
            panel += two ? 2 : 1;
        }
    }
}

#else

void bt_vnni_gemm(int32_t *c, size_t ldc, const int8_t *a, size_t lda, const uint8_t *packed, size_t m, size_t n,
                  size_t k, size_t panel_begin, size_t panel_end, const int32_t *row_sums) {
    (void)c; (void)ldc; (void)a; (void)lda; (void)packed; (void)m; (void)n; (void)k; (void)panel_begin;
    (void)panel_end; (void)row_sums;
    __builtin_trap();
}

#endif
