#include "bt_kernels.h"

#include <stdlib.h>
#include <string.h>

// BF16 products on AMX tiles, accumulated in single precision: c[m, n] (+)= a[m, k] · b[k, n] (+ bias).
//
// A tile holds 16 rows of 64 bytes: 16 × 32 bfloat16 of the first input, or 16 pairs of rows of the second
// laid out as the instruction reads it (VNNI: b[2x, j] and b[2x + 1, j] side by side), or 16 × 16 floats of
// the output. Eight tiles make a block of 32 × 32 outputs: four accumulators, two tiles of the first input's
// rows, two of the second's columns; each step of 32 along k loads four tiles and runs four products of
// 16 × 16 × 32. The first input is read where it lies (rows lda apart); the second is packed beforehand in
// panels of 16 columns, each panel the whole depth, so its tiles are 1 KB each, one after the other.
// Accumulators start from zero, from the output (accumulate) or from the bias, and are stored once.
// The last rows of a first input read in place (fewer than 16) run on tiles configured to that many rows; the
// rest of the edges (every row of a first input whose depth is not a whole number of steps, a last panel
// narrower than 16 columns) go through small buffers, so no tile reads or writes past a matrix.

size_t bt_amx_packed_elements(size_t k, size_t n) {
    const size_t kp = (k + BT_AMX_DEPTH - 1) / BT_AMX_DEPTH * BT_AMX_DEPTH;
    const size_t np = (n + BT_AMX_PANEL - 1) / BT_AMX_PANEL * BT_AMX_PANEL;
    return kp * np;
}

// The packing and transposition below, one value at a time: the reference for the vector forms further down and
// what they do at the edges.
static void bt_amx_pack_scalar(uint16_t *p, const uint16_t *b, size_t ldb, int transposed, size_t k, size_t kp,
                               size_t j0, size_t width, size_t x_begin) {
    for (size_t x = x_begin; x < kp; x += 2) {
        uint16_t *out = p + x * BT_AMX_PANEL;
        for (size_t j = 0; j < BT_AMX_PANEL; j++) {
            const int in = j < width;
            out[2 * j] = in && x < k ? (transposed ? b[(j0 + j) * ldb + x] : b[x * ldb + j0 + j]) : 0;
            out[2 * j + 1] = in && x + 1 < k ? (transposed ? b[(j0 + j) * ldb + x + 1] : b[(x + 1) * ldb + j0 + j]) : 0;
        }
    }
}

static void bt_amx_transpose_scalar(uint16_t *out, size_t ldo, const uint16_t *in, size_t ldi, size_t rows,
                                    size_t j_begin, size_t j_end, size_t x_begin) {
    for (size_t j = j_begin; j < j_end; j++) {
        for (size_t x = x_begin; x < rows; x++) out[j * ldo + x] = in[x * ldi + j];
        for (size_t x = rows > x_begin ? rows : x_begin; x < ldo; x++) out[j * ldo + x] = 0;
    }
}

#include <pthread.h>

// Per thread, the work area of the products it starts: the second input packed, the first transposed.
static pthread_key_t bt_amx_workspace_key;
static pthread_once_t bt_amx_workspace_once = PTHREAD_ONCE_INIT;
static void bt_amx_make_workspace_key(void) { pthread_key_create(&bt_amx_workspace_key, free); }

uint16_t *bt_amx_workspace(size_t elements) {
    pthread_once(&bt_amx_workspace_once, bt_amx_make_workspace_key);
    size_t *area = pthread_getspecific(bt_amx_workspace_key);
    if (area && area[0] >= elements) return (uint16_t *)(area + 8);
    free(area);
    // 64 bytes of header keep the values 64-byte aligned.
    area = aligned_alloc(64, (64 + elements * 2 + 63) / 64 * 64);
    if (!area) abort();
    area[0] = elements;
    pthread_setspecific(bt_amx_workspace_key, area);
    return (uint16_t *)(area + 8);
}

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BT_AMX __attribute__((target("amx-tile,amx-bf16,avx512f")))
// Depth of a chunk: a pair of panels' chunk is 2 × 16 × 512 bfloat16 (32 KB).
#define BT_AMX_CHUNK 512
#define BT_AVX512 __attribute__((target("avx512f,avx512bw")))

#include "bt_transpose16.h"

// Sixteen 32-bit pairs (r0[j], r1[j]): two rows' values side by side.
static inline __attribute__((always_inline)) BT_AVX512 __m512i bt_pairs(const uint16_t *r0, const uint16_t *r1) {
    const __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)r0));
    const __m512i hi = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)r1));
    return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

BT_AVX512 void bt_amx_pack(uint16_t *packed, const uint16_t *b, size_t ldb, int transposed, size_t k, size_t n,
                           size_t panel_begin, size_t panel_end) {
    const size_t kp = (k + BT_AMX_DEPTH - 1) / BT_AMX_DEPTH * BT_AMX_DEPTH;
    for (size_t panel = panel_begin; panel < panel_end; panel++) {
        const size_t j0 = panel * BT_AMX_PANEL;
        const size_t width = n - j0 < BT_AMX_PANEL ? n - j0 : BT_AMX_PANEL;
        uint16_t *p = packed + j0 * kp;
        size_t x = 0;
        if (width == BT_AMX_PANEL && transposed) {
            // b is [n, k]: 32 values of 16 rows are 16 pairs of 16 columns, transposed into 16 rows of the tile.
            for (; x + 32 <= k; x += 32) {
                __m512i r[16];
                for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_si512(b + (j0 + j) * ldb + x);
                bt_transpose16_32(r);
                for (int q = 0; q < 16; q++) _mm512_store_si512(p + (x + 2 * q) * BT_AMX_PANEL, r[q]);
            }
        } else if (width == BT_AMX_PANEL) {
            for (; x + 2 <= k; x += 2)
                _mm512_store_si512(p + x * BT_AMX_PANEL, bt_pairs(b + x * ldb + j0, b + (x + 1) * ldb + j0));
        }
        bt_amx_pack_scalar(p, b, ldb, transposed, k, kp, j0, width, x);
    }
}

BT_AVX512 void bt_amx_transpose(uint16_t *out, size_t ldo, const uint16_t *in, size_t ldi, size_t rows,
                                size_t col_begin, size_t col_end) {
    size_t j = col_begin;
    for (; j + 16 <= col_end; j += 16) {
        size_t x = 0;
        for (; x + 32 <= rows; x += 32) {
            // 16 pairs of rows, 16 columns each, transposed: row q holds column j + q's 32 values.
            __m512i r[16];
            for (int s = 0; s < 16; s++) r[s] = bt_pairs(in + (x + 2 * s) * ldi + j, in + (x + 2 * s + 1) * ldi + j);
            bt_transpose16_32(r);
            for (int q = 0; q < 16; q++) _mm512_storeu_si512(out + (j + q) * ldo + x, r[q]);
        }
        bt_amx_transpose_scalar(out, ldo, in, ldi, rows, j, j + 16, x);
    }
    bt_amx_transpose_scalar(out, ldo, in, ldi, rows, j, col_end, 0);
}

// Linux hands out the tiles' 8 KB of state only to processes that ask (arch_prctl ARCH_REQ_XCOMP_PERM, feature 18).
static int bt_amx_permitted = -1;
static pthread_once_t bt_amx_once = PTHREAD_ONCE_INIT;
static void bt_amx_ask(void) {
    bt_amx_permitted = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}
int bt_amx_request(void) {
    pthread_once(&bt_amx_once, bt_amx_ask);
    return bt_amx_permitted;
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} bt_tile_config;

// Tiles 0-3 (outputs) and 4-5 (the first input's rows) of `rows` rows, 6-7 (the second input's pairs) of 16: rows
// below 16 are the last rows of a product, read and written in place.
static BT_AMX void bt_amx_configure(int rows) {
    bt_tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.rows[t] = t < 6 ? rows : 16; config.colsb[t] = 64; }
    _tile_loadconfig(&config);
}

// One block of up to 2 × 2 tiles whose rows and columns are all inside the matrices. `init`: 0 zeros, 1 the
// output, 2 the bias (its 16 values read by every row: a stride of 0).
static inline __attribute__((always_inline)) BT_AMX
void bt_amx_block(const int two_rows, const int two_cols, const uint16_t *a, size_t lda, const uint16_t *p0,
                  const uint16_t *p1, size_t kp, float *c, size_t ldc, int init, const float *bias) {
    const size_t lda_bytes = lda * 2, ldc_bytes = ldc * 4;
    if (init == 1) {
        _tile_loadd(0, c, ldc_bytes);
        if (two_cols) _tile_loadd(1, c + 16, ldc_bytes);
        if (two_rows) _tile_loadd(2, c + 16 * ldc, ldc_bytes);
        if (two_rows && two_cols) _tile_loadd(3, c + 16 * ldc + 16, ldc_bytes);
    } else if (init == 2) {
        _tile_loadd(0, bias, 0);
        if (two_cols) _tile_loadd(1, bias + 16, 0);
        if (two_rows) _tile_loadd(2, bias, 0);
        if (two_rows && two_cols) _tile_loadd(3, bias + 16, 0);
    } else {
        _tile_zero(0);
        if (two_cols) _tile_zero(1);
        if (two_rows) _tile_zero(2);
        if (two_rows && two_cols) _tile_zero(3);
    }
    for (size_t x = 0; x < kp; x += BT_AMX_DEPTH) {
        _tile_loadd(4, a + x, lda_bytes);
        _tile_loadd(6, p0 + x * BT_AMX_PANEL, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (two_cols) {
            _tile_loadd(7, p1 + x * BT_AMX_PANEL, 64);
            _tile_dpbf16ps(1, 4, 7);
        }
        if (two_rows) {
            _tile_loadd(5, a + 16 * lda + x, lda_bytes);
            _tile_dpbf16ps(2, 5, 6);
            if (two_cols) _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, ldc_bytes);
    if (two_cols) _tile_stored(1, c + 16, ldc_bytes);
    if (two_rows) _tile_stored(2, c + 16 * ldc, ldc_bytes);
    if (two_rows && two_cols) _tile_stored(3, c + 16 * ldc + 16, ldc_bytes);
}

#define BT_AMX_BLOCK(R, C) \
    static BT_AMX void bt_amx_block_##R##C(const uint16_t *a, size_t lda, const uint16_t *p0, const uint16_t *p1, \
                                           size_t kp, float *c, size_t ldc, int init, const float *bias) { \
        bt_amx_block(R, C, a, lda, p0, p1, kp, c, ldc, init, bias); \
    }
BT_AMX_BLOCK(0, 0)
BT_AMX_BLOCK(0, 1)
BT_AMX_BLOCK(1, 0)
BT_AMX_BLOCK(1, 1)

// One block of rows (two tiles' or one tile's) of one chunk of the depth, over every whole panel from panel_begin
// to panel_end, in pairs where two are left; `ax` is the block's first row at the chunk's depth, `c` its outputs'
// first row. A narrow last panel is left to the edge tiles.
static BT_AMX void bt_amx_row_block(int two_rows, const uint16_t *ax, size_t lda, const uint16_t *packed, size_t kp,
                                    size_t x0, size_t depth, float *c, size_t ldc, size_t n, int start,
                                    const float *bias, size_t panel_begin, size_t panel_end) {
    for (size_t panel = panel_begin; panel < panel_end && (panel + 1) * BT_AMX_PANEL <= n;) {
        const size_t j = panel * BT_AMX_PANEL;
        const int pair = panel + 1 < panel_end && (panel + 2) * BT_AMX_PANEL <= n;
        const uint16_t *p0 = packed + j * kp + x0 * BT_AMX_PANEL, *p1 = p0 + BT_AMX_PANEL * kp;
        const float *bias0 = bias ? bias + j : NULL;
        if (two_rows && pair) bt_amx_block_11(ax, lda, p0, p1, depth, c + j, ldc, start, bias0);
        else if (two_rows) bt_amx_block_10(ax, lda, p0, p1, depth, c + j, ldc, start, bias0);
        else if (pair) bt_amx_block_01(ax, lda, p0, p1, depth, c + j, ldc, start, bias0);
        else bt_amx_block_00(ax, lda, p0, p1, depth, c + j, ldc, start, bias0);
        panel += pair ? 2 : 1;
    }
}

// Per thread: the rows and outputs of edge tiles, copied into whole tiles.
static pthread_key_t bt_amx_key;
static pthread_once_t bt_amx_key_once = PTHREAD_ONCE_INIT;
static void bt_amx_make_key(void) { pthread_key_create(&bt_amx_key, free); }
typedef struct { size_t capacity; uint16_t *rows; float out[16 * 16]; float bias[16]; } bt_amx_edge;

static bt_amx_edge *bt_amx_edge_buffers(size_t kp) {
    pthread_once(&bt_amx_key_once, bt_amx_make_key);
    bt_amx_edge *edge = pthread_getspecific(bt_amx_key);
    if (edge && edge->capacity >= kp) return edge;
    free(edge);
    edge = aligned_alloc(64, (sizeof(bt_amx_edge) + 16 * kp * 2 + 63) / 64 * 64);
    if (!edge) abort();
    edge->capacity = kp;
    edge->rows = (uint16_t *)(edge + 1);
    pthread_setspecific(bt_amx_key, edge);
    return edge;
}

// One tile of `rows` × `width` outputs at the edge of the matrices, through the thread's buffers.
static BT_AMX void bt_amx_edge_tile(bt_amx_edge *edge, const uint16_t *a, size_t lda, size_t rows, size_t k,
                                    size_t kp, const uint16_t *p, float *c, size_t ldc, size_t width, int accumulate,
                                    const float *bias) {
    memset(edge->rows, 0, 16 * kp * 2);
    for (size_t r = 0; r < rows; r++) memcpy(edge->rows + r * kp, a + r * lda, k * 2);
    memset(edge->out, 0, sizeof edge->out);
    int init = 0;
    if (accumulate) {
        for (size_t r = 0; r < rows; r++) memcpy(edge->out + 16 * r, c + r * ldc, width * 4);
        init = 1;
    } else if (bias) {
        memset(edge->bias, 0, sizeof edge->bias);
        memcpy(edge->bias, bias, width * 4);
        init = 2;
    }
    bt_amx_block_00(edge->rows, kp, p, p, kp, edge->out, 16, init, edge->bias);
    for (size_t r = 0; r < rows; r++) memcpy(c + r * ldc, edge->out + 16 * r, width * 4);
}

BT_AMX void bt_amx_gemm(float *c, size_t ldc, const uint16_t *a, size_t lda, const uint16_t *packed, size_t m,
                        size_t n, size_t k, int accumulate, const float *bias, size_t panel_begin, size_t panel_end) {
    const size_t kp = (k + BT_AMX_DEPTH - 1) / BT_AMX_DEPTH * BT_AMX_DEPTH;
    // Whole tiles read the first input's rows up to kp: only where k is a multiple of the depth.
    const int direct = kp == k;
    const size_t whole_rows = direct ? m / 16 * 16 : 0;
    const int init = accumulate ? 1 : bias ? 2 : 0;
    bt_amx_edge *edge = !direct || (n % BT_AMX_PANEL && panel_end * BT_AMX_PANEL > n) ? bt_amx_edge_buffers(kp) : NULL;
    bt_amx_configure(16);
    // Whole tiles, the depth in chunks; after the first chunk the accumulators start from the output. Within a
    // chunk, each block of 32 rows (at most 32 KB of the first input) is held while every pair of panels passes
    // over it: the panels stream one after the other, which the prefetchers follow, and the rows' tiles, read at
    // their stride, stay in the first-level cache. (Panels outer and rows inner read the rows again from the second
    // level for every pair; training steps with rows outer ran 0.88-1.20 times as fast, median 1.10 over 12 pairs.)
    const size_t chunk = BT_AMX_CHUNK;
    for (size_t x0 = 0; x0 < kp; x0 += chunk) {
        const size_t depth = kp - x0 < chunk ? kp - x0 : chunk;
        const int start = x0 == 0 ? init : 1;
        for (size_t r = 0; r < whole_rows; r += 32)
            bt_amx_row_block(r + 32 <= whole_rows, a + r * lda + x0, lda, packed, kp, x0, depth, c + r * ldc, ldc,
                             n, start, bias, panel_begin, panel_end);
    }
    // The last rows (fewer than 16) of a first input read in place, on tiles configured to that many rows: no
    // copies, and pairs of panels as above.
    const size_t tail = direct ? m - whole_rows : 0;
    if (tail) {
        bt_amx_configure((int)tail);
        for (size_t x0 = 0; x0 < kp; x0 += chunk)
            bt_amx_row_block(0, a + whole_rows * lda + x0, lda, packed, kp, x0, kp - x0 < chunk ? kp - x0 : chunk,
                             c + whole_rows * ldc, ldc, n, x0 == 0 ? init : 1, bias, panel_begin, panel_end);
        bt_amx_configure(16);
    }
    // Rows past the whole tiles when the first input is not read in place, and every row of a panel narrower than
    // 16 columns, over the whole depth, through the edge buffers.
    for (size_t q = panel_begin; q < panel_end; q++) {
        const size_t jq = q * BT_AMX_PANEL;
        const size_t width = n - jq < BT_AMX_PANEL ? n - jq : BT_AMX_PANEL;
        for (size_t r = width == BT_AMX_PANEL ? whole_rows + tail : 0; r < m; r += 16) {
            const size_t rows = m - r < 16 ? m - r : 16;
            bt_amx_edge_tile(edge, a + r * lda, lda, rows, k, kp, packed + jq * kp, c + r * ldc + jq, ldc, width,
                             accumulate, bias ? bias + jq : NULL);
        }
    }
    _tile_release();
}

#else

int bt_amx_request(void) { return 0; }

void bt_amx_pack(uint16_t *packed, const uint16_t *b, size_t ldb, int transposed, size_t k, size_t n,
                 size_t panel_begin, size_t panel_end) {
    const size_t kp = (k + BT_AMX_DEPTH - 1) / BT_AMX_DEPTH * BT_AMX_DEPTH;
    for (size_t panel = panel_begin; panel < panel_end; panel++) {
        const size_t j0 = panel * BT_AMX_PANEL;
        bt_amx_pack_scalar(packed + j0 * kp, b, ldb, transposed, k, kp, j0, n - j0 < BT_AMX_PANEL ? n - j0 : BT_AMX_PANEL, 0);
    }
}

void bt_amx_transpose(uint16_t *out, size_t ldo, const uint16_t *in, size_t ldi, size_t rows, size_t col_begin,
                      size_t col_end) {
    bt_amx_transpose_scalar(out, ldo, in, ldi, rows, col_begin, col_end, 0);
}

void bt_amx_gemm(float *c, size_t ldc, const uint16_t *a, size_t lda, const uint16_t *packed, size_t m, size_t n,
                 size_t k, int accumulate, const float *bias, size_t panel_begin, size_t panel_end) {
    (void)c; (void)ldc; (void)a; (void)lda; (void)packed; (void)m; (void)n; (void)k; (void)accumulate; (void)bias;
    (void)panel_begin; (void)panel_end;
    __builtin_trap();
}

#endif
