#include "bt_kernels.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// Every kernel rounds each operation as written: no fused multiply-adds, so results do not depend on the variant.
#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

// Each kernel is compiled once per instruction set (AVX-512, AVX2, the baseline) from bt_kernels_body.h, and the
// public entry points at the end of this file run the widest variant the processor runs, or the one
// BERT_TAGGER_MAX_CPU_ISA caps them at (bt_kernels_level).
// Element-wise loops whose output may be their input (in place) or a distinct array. Each element is read before
// it is written and no element depends on another, so vectors are safe either way; without this the compiler
// checks for overlap at run time and, finding the exact alias of an in-place call, runs the scalar loop.
// Helpers are inlined into each variant; a helper left out of line would be compiled for the baseline only.
#define BT_INLINE static inline __attribute__((always_inline))

#define BT_ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")

BT_INLINE uint32_t bf16_bits(uint32_t bits) {
    uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (bits >> 16) | 0x0040u;
    return (bits & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded;
}

// The Tensors module's FastMath, operation for operation (see FastMath.swift for the derivations).
BT_INLINE float clampf(float x, float lower, float upper) {
    float raised = lower >= x ? lower : x;     // Swift.max(x, lower): NaN stays NaN
    return raised > upper ? upper : raised;    // Swift.min(raised, upper)
}

BT_INLINE float fast_exp(float x) {
    float clamped = clampf(x, -87.33654f, 88.37626f);
    float shifted = clamped * 1.44269504f + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = clamped - n * 0.693359375f;
    r = r - n * -2.1219444e-4f;
    float p = 1.98756915e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &shifted, 4);
    uint32_t scaleBits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &scaleBits, 4);
    return p * scale;
}

BT_INLINE float fast_erf(float x) {
    float c = clampf(x, -4.0f, 4.0f);
    float x2 = c * c;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * c;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

BT_INLINE float fast_tanh(float x) {
    float c = clampf(x, -15.0f, 15.0f);
    return 1.0f - 2.0f / (fast_exp(2.0f * c) + 1.0f);
}

static const float inv_sqrt2 = 0.7071067811865475f;
static const float inv_sqrt_2pi = 0.3989422804014327f;
static const float sqrt_2_over_pi = 0.7978845608028654f;

BT_INLINE float gelu_erf(float x) { return 0.5f * x * (1.0f + fast_erf(x * inv_sqrt2)); }
BT_INLINE float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + fast_tanh(sqrt_2_over_pi * (x + 0.044715f * x * x * x)));
}
BT_INLINE float relu(float x) { return 0.0f >= x ? 0.0f : x; }     // Swift.max(x, 0)

BT_INLINE float gelu_erf_backward(float d, float x) {
    float cdf = 0.5f * (1.0f + fast_erf(x * inv_sqrt2));
    float pdf = inv_sqrt_2pi * fast_exp(-0.5f * x * x);
    return d * (cdf + x * pdf);
}
BT_INLINE float gelu_tanh_backward(float d, float x) {
    float th = fast_tanh(sqrt_2_over_pi * (x + 0.044715f * x * x * x));
    float du = sqrt_2_over_pi * (1.0f + 3.0f * 0.044715f * x * x);
    return d * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
}
BT_INLINE float relu_backward(float d, float x) { return x > 0.0f ? d : 0.0f; }

// One loop per form, written once as a macro of the form's functions, so each loop vectorizes with its
// function inlined.
#define BT_SWITCH_FORM(form, LOOP) \
    switch (form) { \
    case BT_GELU_ERF: LOOP(gelu_erf, gelu_erf_backward) break; \
    case BT_GELU_TANH: LOOP(gelu_tanh, gelu_tanh_backward) break; \
    default: LOOP(relu, relu_backward) \
    }

// ---------------------------------------------------------------------------------------------------------------
// Reductions. Sums run in BT_LANES independent partial sums (lane j takes elements j, j + BT_LANES, ...) that are
// then added in one fixed tree, so every clone, whatever its vector width, gives the same bits.

#define BT_LANES 16

BT_INLINE float bt_reduce_lanes(float *acc) {
    for (int width = BT_LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++) acc[j] += acc[j + width];
    return acc[0];
}

/// The largest of BT_LANES lanes, in the same fixed tree.
BT_INLINE float bt_max_lanes(float *lanes) {
    for (int width = BT_LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++) lanes[j] = lanes[j] >= lanes[j + width] ? lanes[j] : lanes[j + width];
    return lanes[0];
}

// A row's last n mod BT_LANES elements are copied into a padded block, so the tail is one more vector step
// instead of a scalar loop; the padding changes no lane (zeros to a sum, the mean to a sum of squared deviations).
#define BT_TAIL(name, x, i, n, pad) \
    float name[BT_LANES]; \
    for (int j_ = 0; j_ < BT_LANES; j_++) name[j_] = (pad); \
    memcpy(name, (x) + (i), ((n) - (i)) * sizeof(float));

BT_INLINE float bt_sum(const float *x, size_t n) {
    float acc[BT_LANES] = {0};
    size_t i = 0;
    for (; i + BT_LANES <= n; i += BT_LANES)
        for (int j = 0; j < BT_LANES; j++) acc[j] += x[i + j];
    if (i < n) {
        BT_TAIL(tail, x, i, n, 0.0f)
        for (int j = 0; j < BT_LANES; j++) acc[j] += tail[j];
    }
    return bt_reduce_lanes(acc);
}

BT_INLINE float bt_centered_squares(const float *x, float m, size_t n) {
    float acc[BT_LANES] = {0};
    size_t i = 0;
    for (; i + BT_LANES <= n; i += BT_LANES)
        for (int j = 0; j < BT_LANES; j++) { float d = x[i + j] - m; acc[j] += d * d; }
    if (i < n) {
        BT_TAIL(tail, x, i, n, m)                 // padded with the mean: its deviation is zero
        for (int j = 0; j < BT_LANES; j++) { float d = tail[j] - m; acc[j] += d * d; }
    }
    return bt_reduce_lanes(acc);
}

BT_INLINE float bt_dot(const float *a, const float *b, size_t n) {
    float acc[BT_LANES] = {0};
    size_t i = 0;
    for (; i + BT_LANES <= n; i += BT_LANES)
        for (int j = 0; j < BT_LANES; j++) acc[j] += a[i + j] * b[i + j];
    if (i < n) {
        BT_TAIL(ta, a, i, n, 0.0f)
        BT_TAIL(tb, b, i, n, 0.0f)
        for (int j = 0; j < BT_LANES; j++) acc[j] += ta[j] * tb[j];
    }
    return bt_reduce_lanes(acc);
}

// ---------------------------------------------------------------------------------------------------------------
// Dropout: the Tensors module's CounterRandom.bits, the same numbers in every lane.

BT_INLINE uint32_t bt_counter_bits(uint32_t counter, uint32_t key0, uint32_t key1) {
    uint32_t h = (counter + key0) * 0x9E3779B1u;
    h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
    h ^= key1;
    h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
    return h;
}

BT_INLINE float bt_drop(float x, uint32_t counter, const bt_dropout *d) {
    uint32_t draw = bt_counter_bits(counter, d->key0, d->key1) >> 8;
    return draw >= d->threshold ? x * d->scale : 0.0f;
}

// ---------------------------------------------------------------------------------------------------------------
// Softmax rows.

// Sixteen-lane vectors, split by each clone into what its registers hold: lane j of every operation is the scalar
// operation on element j, so the vector forms give the scalar forms' bits. Attention's rows are short (a sentence)
// and computed in place, where the compiler's own vectorization falls back to scalar loops.
typedef float bt_vf __attribute__((ext_vector_type(BT_LANES)));
typedef uint32_t bt_vu __attribute__((ext_vector_type(BT_LANES)));
typedef int32_t bt_vi __attribute__((ext_vector_type(BT_LANES)));

// Vectors pass through pointers: by value, a 16-lane vector's calling convention would differ between clones.
BT_INLINE void bt_load_part(bt_vf *v, const float *x, size_t count, float pad) {
    *v = pad;
    for (size_t j = 0; j < count; j++) (*v)[j] = x[j];
}
BT_INLINE void bt_store_part(float *x, const bt_vf *v, size_t count) {
    for (size_t j = 0; j < count; j++) x[j] = (*v)[j];
}
#define BT_LOAD(v, x) memcpy(&(v), (x), sizeof(bt_vf))
#define BT_STORE(x, v) memcpy((x), &(v), sizeof(bt_vf))

/// bt_reduce_lanes and bt_max_lanes for sixteen sums (or maxima) at once, one in each lane: BT_LANES vectors of
/// partial results combined lane for lane in the same fixed tree, the result left in acc[0].
BT_INLINE void bt_reduce_vectors(bt_vf *acc) {
    for (int width = BT_LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++) acc[j] += acc[j + width];
}
BT_INLINE void bt_max_vectors(bt_vf *most) {
    for (int width = BT_LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++) most[j] = most[j] >= most[j + width] ? most[j] : most[j + width];
}

/// fast_exp in sixteen lanes, operation for operation.
BT_INLINE void fast_exp_v(bt_vf *out, const bt_vf *x) {
    const bt_vf lower = -87.33654f, upper = 88.37626f;
    bt_vf raised = lower >= *x ? lower : *x;
    bt_vf clamped = raised > upper ? upper : raised;
    bt_vf shifted = clamped * 1.44269504f + 12582912.0f;
    bt_vf n = shifted - 12582912.0f;
    bt_vf r = clamped - n * 0.693359375f;
    r = r - n * -2.1219444e-4f;
    bt_vf p = 1.98756915e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    bt_vu scale_bits = (__builtin_bit_cast(bt_vu, shifted) - 0x4B400000u + 127u) << 23;
    *out = p * __builtin_bit_cast(bt_vf, scale_bits);
}

// GELU (the erf form) by cubic pieces, for INT8 tagging's intermediate projection, whose output is rounded to 8 bits
// next: max(x, 0) + h(|x|) with h(t) = -t·Φ(-t) a cubic on each of 32 equal pieces of [0, 5.5] (|h| < 1.1e-7 past
// 5.5). u = min(|x|, 5.5) · BT_GELU_PIECES_SCALE, piece i = min(floor(u), 31), f = u - i, and
// h = ((c3·f + c2)·f + c1)·f + c0 from row c0..c3 of the table at i. Two thirds of gelu_erf's operations and no
// division, within 6e-7 of the exact GELU (Scripts/make_gelu_pieces.py fits the table and checks it).
#define BT_GELU_PIECES 32
#define BT_GELU_PIECES_RANGE 5.5f
#define BT_GELU_PIECES_SCALE 5.818182f
// Generated by Scripts/make_gelu_pieces.py: largest error against the exact GELU over [-12, 12] 5.41e-07, relative 1.3e-04 for |x| <= 1e-3.
static const float bt_gelu_pieces_table[4][32] __attribute__((aligned(64))) = {
    {0.000000000e+00f, -7.420971245e-02f, -1.256462336e-01f, -1.562642157e-01f, -1.690451205e-01f, -1.676356643e-01f, -1.559373587e-01f, -1.377147138e-01f, -1.162781194e-01f, -9.427715093e-02f, -7.361417264e-02f, -5.546580255e-02f, -4.038399830e-02f, -2.844185941e-02f, -1.939105242e-02f, -1.280528400e-02f, -8.194325492e-03f, -5.083030090e-03f, -3.057280090e-03f, -1.783382380e-03f, -1.009080443e-03f, -5.539112608e-04f, -2.950106282e-04f, -1.524612017e-04f, -7.646088488e-05f, -3.721397661e-05f, -1.757856990e-05f, -8.059198080e-06f, -3.586312232e-06f, -1.549055241e-06f, -6.494724403e-07f, -2.643262746e-07f},
    {-8.594823629e-02f, -6.261033565e-02f, -4.061453789e-02f, -2.113878913e-02f, -5.043531768e-03f, 7.208078634e-03f, 1.556499209e-02f, 2.033878677e-02f, 2.210699394e-02f, 2.159354277e-02f, 1.955125295e-02f, 1.666614041e-02f, 1.349480823e-02f, 1.043710671e-02f, 7.738874760e-03f, 5.515405908e-03f, 3.785195993e-03f, 2.505040495e-03f, 1.600365271e-03f, 9.877865668e-04f, 5.894333590e-04f, 3.402254370e-04f, 1.900423231e-04f, 1.027646867e-04f, 5.381216033e-05f, 2.729433982e-05f, 1.341271309e-05f, 6.386978384e-06f, 2.947684152e-06f, 1.318669206e-06f, 5.718937928e-07f, 2.404739803e-07f},
    {1.184972189e-02f, 1.150441635e-02f, 1.050035469e-02f, 8.973449469e-03f, 7.110671140e-03f, 5.123586860e-03f, 3.213225398e-03f, 1.540943515e-03f, 2.105437889e-04f, -7.364377379e-04f, -1.313691493e-03f, -1.575141097e-03f, -1.596751856e-03f, -1.459471649e-03f, -1.236262033e-03f, -9.844658198e-04f, -7.432523998e-04f, -5.349008134e-04f, -3.683140094e-04f, -2.432873880e-04f, -1.544643892e-04f, -9.440487338e-05f, -5.560656791e-05f, -3.159579501e-05f, -1.733140743e-05f, -9.183574548e-06f, -4.703165814e-06f, -2.328956953e-06f, -1.115550390e-06f, -5.170287523e-07f, -2.319319208e-07f, -1.007241934e-07f},
    {-1.110867306e-04f, -3.304991405e-04f, -5.036783405e-04f, -6.154527655e-04f, -6.575633306e-04f, -6.332898629e-04f, -5.555287353e-04f, -4.431304988e-04f, -3.165878006e-04f, -1.941624214e-04f, -8.924051508e-05f, -9.241840417e-06f, 4.404493302e-05f, 7.314227696e-05f, 8.313779836e-05f, 8.000960224e-05f, 6.934969133e-05f, 5.561224680e-05f, 4.185024954e-05f, 2.980728459e-05f, 2.020433567e-05f, 1.308344144e-05f, 8.116195204e-06f, 4.833188086e-06f, 2.767311798e-06f, 1.525361540e-06f, 8.102495030e-07f, 4.151045516e-07f, 2.052530732e-07f, 9.800955780e-08f, 4.521779218e-08f, 2.016497724e-08f},
};

// ---------------------------------------------------------------------------------------------------------------
// Rows of dropout and softmax: the bodies of bt_dropout_forward, bt_softmax_forward and bt_softmax_backward, which
// attention also runs on the rows of its score blocks.

/// out[i] = keep(counter_base + i · counter_step) ? in[i] · scale : 0 for i < count; out may alias in. Sixteen
/// counters at a time in explicit vectors: attention runs it on short rows, in place, a row of its probabilities
/// (step 1) or a column of them (step: the counters between rows).
BT_INLINE void bt_dropout_row(float *out, const float *in, size_t count, const bt_dropout *dropout,
                              uint32_t counter_base, uint32_t counter_step) {
    const bt_vu lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const size_t whole = count - count % BT_LANES;
    // The counters of the next sixteen elements, advanced by addition (arithmetic modulo 2^32 gives each element's
    // counter whatever the grouping).
    bt_vu counter = lane * counter_step + counter_base;
    const uint32_t advance = BT_LANES * counter_step;
    bt_vf x;
    for (size_t i = 0; i <= whole; i += BT_LANES) {
        const size_t n = i < whole ? BT_LANES : count - whole;
        if (n == 0) break;
        bt_vu h = (counter + dropout->key0) * 0x9E3779B1u;
        counter += advance;
        h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        h ^= dropout->key1;
        h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        if (n == BT_LANES) BT_LOAD(x, in + i); else bt_load_part(&x, in + i, n, 0.0f);
        bt_vf kept = x * dropout->scale;
        bt_vf value = (h >> 8) >= dropout->threshold ? kept : 0.0f;
        if (n == BT_LANES) BT_STORE(out + i, value); else bt_store_part(out + i, &value, n);
    }
}

/// p = softmax(s) over one row of n; p may alias s.
BT_INLINE void bt_softmax_row(float *p, const float *s, size_t n) {
    const bt_vu lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const size_t whole = n - n % BT_LANES, rest = n - whole;
    bt_vf largest = -INFINITY, v, e;
    for (size_t i = 0; i < whole; i += BT_LANES) {
        BT_LOAD(v, s + i);
        largest = largest >= v ? largest : v;
    }
    if (rest) {
        bt_load_part(&v, s + whole, rest, -INFINITY);
        largest = largest >= v ? largest : v;
    }
    float lanes[BT_LANES];
    memcpy(lanes, &largest, sizeof lanes);
    const float m = bt_max_lanes(lanes);
    // The exponentials and their sum in one pass; the padding of the last block adds nothing.
    bt_vf sum = 0.0f, last = 0.0f;
    for (size_t i = 0; i < whole; i += BT_LANES) {
        BT_LOAD(v, s + i);
        v = v - m;
        fast_exp_v(&e, &v);
        BT_STORE(p + i, e);
        sum += e;
    }
    if (rest) {
        bt_load_part(&v, s + whole, rest, m);
        v = v - m;
        fast_exp_v(&last, &v);
        last = lane < (uint32_t)rest ? last : 0.0f;
        sum += last;
    }
    memcpy(lanes, &sum, sizeof lanes);
    const float inv = 1.0f / bt_reduce_lanes(lanes);
    for (size_t i = 0; i < whole; i += BT_LANES) {
        BT_LOAD(v, p + i);
        v = v * inv;
        BT_STORE(p + i, v);
    }
    if (rest) {
        last = last * inv;
        bt_store_part(p + whole, &last, rest);
    }
}

/// ds = p · (dp - Σ dp · p) over one row of n; ds may alias dp.
BT_INLINE void bt_softmax_backward_row(float *ds, const float *dp, const float *p, size_t n) {
    float dot = bt_dot(dp, p, n);
    BT_ELEMENTWISE
    for (size_t j = 0; j < n; j++) ds[j] = p[j] * (dp[j] - dot);
}

// ---------------------------------------------------------------------------------------------------------------
// LayerNorm rows, optionally fused with the dropout and residual add before it.

BT_INLINE void bt_layernorm_row(float *out, float *mean, float *rstd, const float *x, const float *weight,
                                    const float *bias, size_t C, float eps) {
    float m = bt_sum(x, C) / (float)C;
    float s = 1.0f / __builtin_elementwise_sqrt(bt_centered_squares(x, m, C) / (float)C + eps);
    BT_ELEMENTWISE
    for (size_t c = 0; c < C; c++) out[c] = (x[c] - m) * s * weight[c] + bias[c];
    *mean = m;
    *rstd = s;
}

// ---------------------------------------------------------------------------------------------------------------
// The variants. On other systems (or compilers without per-function targets) all three are the baseline.

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define BT_TARGET_AVX512 _Pragma("clang attribute push (__attribute__((target(\"avx512bw\"))), apply_to = function)")
#define BT_TARGET_AVX2 _Pragma("clang attribute push (__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define BT_TARGET_END _Pragma("clang attribute pop")
#else
#define BT_TARGET_AVX512
#define BT_TARGET_AVX2
#define BT_TARGET_END
#endif
#define BT_VARIANT_FUNCTION static

// Attention's products multiply and add in one rounding where the variant has FMA (AVX-512 and AVX2 here), and in
// two on the baseline. Every other kernel rounds each operation (FP_CONTRACT OFF above) and gives the same bits in
// every variant.
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define BT_FUSED_MUL_ADD(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#else
#define BT_FUSED_MUL_ADD(a, b, c) ((a) * (b) + (c))
#endif

/// A row of n attention scores padded to whole sixteen-lane vectors.
BT_INLINE size_t bt_attention_padded(size_t n) { return (n + BT_LANES - 1) / BT_LANES * BT_LANES; }

/// Rows this far ahead of the one being read are asked for early. A head's slice of a row of q, k or v is a few
/// cache lines one row of the [T, C] activations apart (1,536 bytes for the default encoder), a stride the
/// hardware prefetchers miss across pages, so attention otherwise waits on memory at every row. The forward asks
/// (tagging's 4,096-token batches leave q, k and v far out of cache); the backward does not, since training's
/// batches of 32 sentences stay in cache and its steps measured slower with it.
#define BT_ROWS_AHEAD 4

/// Asks for the cache lines of `count` floats from `p`.
BT_INLINE void bt_prefetch_floats(const float *p, size_t count) {
    for (size_t i = 0; i < count; i += 16) __builtin_prefetch(p + i);
    __builtin_prefetch(p + count - 1);
}

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#include <immintrin.h>
#include "bt_transpose16.h"
#define BT_HAS_AVX512_INTRINSICS 1
#else
#define BT_HAS_AVX512_INTRINSICS 0
#endif

// Attention's small products keep eight sums in flight where there are 32 vector registers (AVX-512); AVX2's sixteen
// hold only the four-sum blocks (a sixteen-lane vector is two registers there).
#define BT_NAME(name) name##_avx512
#define BT_MUL_ADD BT_FUSED_MUL_ADD
#define BT_WIDE_BLOCKS BT_HAS_AVX512_INTRINSICS
BT_TARGET_AVX512
#include "bt_kernels_body.h"
BT_TARGET_END
#undef BT_WIDE_BLOCKS
#undef BT_MUL_ADD
#undef BT_NAME
#define BT_WIDE_BLOCKS 0

#define BT_NAME(name) name##_avx2
#define BT_MUL_ADD BT_FUSED_MUL_ADD
BT_TARGET_AVX2
#include "bt_kernels_body.h"
BT_TARGET_END
#undef BT_MUL_ADD
#undef BT_NAME

#define BT_NAME(name) name##_baseline
#define BT_MUL_ADD(a, b, c) ((a) * (b) + (c))
#include "bt_kernels_body.h"
#undef BT_MUL_ADD
#undef BT_NAME

// ---------------------------------------------------------------------------------------------------------------
// Choosing the variant: once, at the first call.

static int bt_detected_level(void) {
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bw")) return BT_KERNELS_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return BT_KERNELS_AVX2;
#endif
    return BT_KERNELS_BASELINE;
}

static _Thread_local int bt_lane_plus_one;
int bt_parallel_lane(void) { return bt_lane_plus_one - 1; }
void bt_parallel_set_lane(int lane) { bt_lane_plus_one = lane + 1; }

int bt_kernels_level_for(int detected, const char *cap) {
    if (!cap || !*cap) return detected;
    int capped;
    if (!strcasecmp(cap, "sse41") || !strcasecmp(cap, "avx")) capped = BT_KERNELS_BASELINE;
    else if (!strcasecmp(cap, "avx2")) capped = BT_KERNELS_AVX2;
    else if (!strncasecmp(cap, "avx512_core", 11)) capped = BT_KERNELS_AVX512;
    else return detected;    // not a cap this library knows; the Tensors module reports it as an error
    return capped < detected ? capped : detected;
}

static _Atomic int bt_level = -1;

int bt_kernels_level(void) {
    int level = atomic_load_explicit(&bt_level, memory_order_relaxed);
    if (level < 0) {
        level = bt_kernels_level_for(bt_detected_level(), getenv(BT_MAX_CPU_ISA_VARIABLE));
        atomic_store_explicit(&bt_level, level, memory_order_relaxed);
    }
    return level;
}

#define BT_PICK(name) \
    (bt_kernels_level() == BT_KERNELS_AVX512 ? name##_avx512 \
     : bt_kernels_level() == BT_KERNELS_AVX2 ? name##_avx2 : name##_baseline)

void bt_convert_f32_to_bf16(uint16_t *restrict out, const float *restrict in, size_t count) { BT_PICK(bt_convert_f32_to_bf16)(out, in, count); }
void bt_round_f32_to_bf16(float *restrict out, const float *restrict in, size_t count) { BT_PICK(bt_round_f32_to_bf16)(out, in, count); }
void bt_quantize_rows_s8(int8_t *restrict out, float *restrict scales, int32_t *restrict sums, const float *restrict in, size_t rows, size_t k) { BT_PICK(bt_quantize_rows_s8)(out, scales, sums, in, rows, k); }
void bt_dequantize_rows(float *out, const int32_t *sums, const float *row_scales, const float *column_scales, const float *bias, size_t rows, size_t n) { BT_PICK(bt_dequantize_rows)(out, sums, row_scales, column_scales, bias, rows, n); }
void bt_int8_gelu_rows(int8_t *out8, float *out_scales, int32_t *out_sums, const int32_t *sums, const float *row_scales, const float *column_scales, const float *bias, size_t rows, size_t n, int form, float *row) { BT_PICK(bt_int8_gelu_rows)(out8, out_scales, out_sums, sums, row_scales, column_scales, bias, rows, n, form, row); }
void bt_int8_residual_layernorm_rows(float *out, float *mean, float *rstd, int8_t *out8, float *out_scales, int32_t *out_sums, const int32_t *sums, const float *row_scales, const float *column_scales, const float *bias, const float *skip, const float *weight, const float *ln_bias, size_t rows, size_t C, float eps, float *row) { BT_PICK(bt_int8_residual_layernorm_rows)(out, mean, rstd, out8, out_scales, out_sums, sums, row_scales, column_scales, bias, skip, weight, ln_bias, rows, C, eps, row); }
void bt_adamw(float *restrict parameters, const float *restrict gradients, float *restrict m, float *restrict v, size_t count, float b1, float b2, float eps, float step_size, float inv_bias2_sqrt, float gradient_scale, float decay_factor, float *zeroing) { BT_PICK(bt_adamw)(parameters, gradients, m, v, count, b1, b2, eps, step_size, inv_bias2_sqrt, gradient_scale, decay_factor, zeroing); }
void bt_gelu_pieces_forward(float *out, const float *in, size_t count) { BT_PICK(bt_gelu_pieces_forward)(out, in, count); }
void bt_gelu_forward(float *out, const float *in, size_t count, int form) { BT_PICK(bt_gelu_forward)(out, in, count, form); }
void bt_gelu_backward(float *dinp, const float *dout, const float *inp, size_t count, int form) { BT_PICK(bt_gelu_backward)(dinp, dout, inp, count, form); }
void bt_bias_gelu_forward(float *out, float *pre, const float *bias, size_t rows, size_t n, int form) { BT_PICK(bt_bias_gelu_forward)(out, pre, bias, rows, n, form); }
void bt_bias_gelu_forward_bf16(uint16_t *out16, float *out, float *pre, const float *bias, size_t rows, size_t n, int form) { BT_PICK(bt_bias_gelu_forward_bf16)(out16, out, pre, bias, rows, n, form); }
void bt_gelu_bias_backward(float *dinp, float *dbias, const float *dout, const float *inp, size_t rows, size_t n, size_t begin, size_t end, int form, uint16_t *dinp16) { BT_PICK(bt_gelu_bias_backward)(dinp, dbias, dout, inp, rows, n, begin, end, form, dinp16); }
void bt_dropout_forward(float *out, const float *in, size_t count, bt_dropout dropout, uint32_t counter_base) { BT_PICK(bt_dropout_forward)(out, in, count, dropout, counter_base); }
void bt_softmax_forward(float *probs, const float *scores, size_t rows, size_t n) { BT_PICK(bt_softmax_forward)(probs, scores, rows, n); }
void bt_softmax_backward(float *dscores, const float *dprobs, const float *probs, size_t rows, size_t n) { BT_PICK(bt_softmax_backward)(dscores, dprobs, probs, rows, n); }
void bt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias, size_t rows, size_t C, float eps) { BT_PICK(bt_layernorm_forward)(out, mean, rstd, inp, weight, bias, rows, C, eps); }
void bt_residual_layernorm_forward(float *out, float *mean, float *rstd, float *residual, const float *projection, const float *skip, const float *weight, const float *bias, size_t rows, size_t C, float eps, const bt_dropout *dropout, uint32_t counter_base, uint16_t *out16) { BT_PICK(bt_residual_layernorm_forward)(out, mean, rstd, residual, projection, skip, weight, bias, rows, C, eps, dropout, counter_base, out16); }
void bt_layernorm_backward(float *dinp, float *dprojection, const float *dout, const float *inp, const float *weight, const float *mean, const float *rstd, size_t rows, size_t C, const bt_dropout *dropout, uint32_t counter_base) { BT_PICK(bt_layernorm_backward)(dinp, dprojection, dout, inp, weight, mean, rstd, rows, C, dropout, counter_base); }
void bt_layernorm_parameters_backward(float *dweight, float *dbias, const float *dout, const float *inp, const float *mean, const float *rstd, size_t rows, size_t C, size_t c_begin, size_t c_end) { BT_PICK(bt_layernorm_parameters_backward)(dweight, dbias, dout, inp, mean, rstd, rows, C, c_begin, c_end); }
void bt_add(float *out, const float *a, const float *b, size_t count) { BT_PICK(bt_add)(out, a, b, count); }
void bt_accumulate_twice(float *da, float *db, const float *dout, size_t count) { BT_PICK(bt_accumulate_twice)(da, db, dout, count); }
void bt_bias_forward(float *out, const float *bias, size_t rows, size_t n) { BT_PICK(bt_bias_forward)(out, bias, rows, n); }
void bt_bias_backward(float *dbias, const float *dout, size_t rows, size_t n, size_t begin, size_t end) { BT_PICK(bt_bias_backward)(dbias, dout, rows, n, begin, end); }
double bt_sum_of_squares(const float *x, size_t count) { return BT_PICK(bt_sum_of_squares)(x, count); }
void bt_attention_forward(float *out, size_t ldo, const float *q, const float *k, const float *v, size_t n, size_t hs, size_t ld, float scale, const bt_dropout *dropout, uint32_t counter_base, uint32_t counter_row_stride, float *scratch, uint16_t *out16) { BT_PICK(bt_attention_forward)(out, ldo, q, k, v, n, hs, ld, scale, dropout, counter_base, counter_row_stride, scratch, out16); }
void bt_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, size_t n, size_t hs, size_t ld, float scale, const bt_dropout *dropout, uint32_t counter_base, uint32_t counter_row_stride, float *scratch) { BT_PICK(bt_attention_backward)(dq, dk, dv, dout, q, k, v, n, hs, ld, scale, dropout, counter_base, counter_row_stride, scratch); }
size_t bt_attention_scratch_floats(size_t max_n, size_t hs) { return (3 * max_n + hs) * bt_attention_padded(max_n); }
