#include "bt_kernels.h"

#include <math.h>
#include <string.h>

// Every kernel rounds each operation as written: no fused multiply-adds, so results do not depend on the clone.
#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

// Function multi-versioning: the loader picks the widest clone the processor runs.
#if defined(__x86_64__) && defined(__linux__)
#define BT_CLONES __attribute__((target_clones("avx512bw", "avx2", "default")))
#else
#define BT_CLONES
#endif

// Element-wise loops whose output may be their input (in place) or a distinct array. Each element is read before
// it is written and no element depends on another, so vectors are safe either way; without this the compiler
// checks for overlap at run time and, finding the exact alias of an in-place call, runs the scalar loop.
// Helpers are inlined into each clone; a helper left out of line would be compiled for the baseline only.
#define BT_INLINE static inline __attribute__((always_inline))

#define BT_ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")

BT_INLINE uint32_t bf16_bits(uint32_t bits) {
    uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (bits >> 16) | 0x0040u;
    return (bits & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded;
}

BT_CLONES
void bt_convert_f32_to_bf16(uint16_t *restrict out, const float *restrict in, size_t count) {
    const uint32_t *bits = (const uint32_t *)(const void *)in;
    for (size_t i = 0; i < count; i++) out[i] = (uint16_t)bf16_bits(bits[i]);
}

BT_CLONES
void bt_round_f32_to_bf16(float *restrict out, const float *restrict in, size_t count) {
    const uint32_t *bits = (const uint32_t *)(const void *)in;
    uint32_t *outBits = (uint32_t *)(void *)out;
    for (size_t i = 0; i < count; i++) outBits[i] = bf16_bits(bits[i]) << 16;
}

BT_CLONES
void bt_adamw(float *restrict parameters, const float *restrict gradients, float *restrict m, float *restrict v,
              size_t count, float b1, float b2, float eps, float step_size, float inv_bias2_sqrt,
              float gradient_scale, float decay_factor, float *zeroing) {
    const float one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2;
    for (size_t i = 0; i < count; i++) {
        float g = gradients[i] * gradient_scale;
        float mi = b1 * m[i] + one_minus_b1 * g;
        float vi = b2 * v[i] + one_minus_b2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float p = parameters[i] * decay_factor;
        parameters[i] = p - step_size * mi / (__builtin_elementwise_sqrt(vi) * inv_bias2_sqrt + eps);
    }
    if (zeroing) memset(zeroing, 0, count * sizeof(float));
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

BT_CLONES
void bt_gelu_forward(float *out, const float *in, size_t count, int form) {
#define LOOP(gelu, gelu_back) \
    BT_ELEMENTWISE \
    for (size_t i = 0; i < count; i++) out[i] = gelu(in[i]);
    BT_SWITCH_FORM(form, LOOP)
#undef LOOP
}

BT_CLONES
void bt_gelu_backward(float *dinp, const float *dout, const float *inp, size_t count, int form) {
#define LOOP(gelu, gelu_back) \
    BT_ELEMENTWISE \
    for (size_t i = 0; i < count; i++) dinp[i] = gelu_back(dout[i], inp[i]);
    BT_SWITCH_FORM(form, LOOP)
#undef LOOP
}

BT_CLONES
void bt_bias_gelu_forward(float *out, float *pre, const float *bias, size_t rows, size_t n, int form) {
#define LOOP(gelu, gelu_back) \
    for (size_t t = 0; t < rows; t++) { \
        float *p = pre + t * n, *o = out + t * n; \
        BT_ELEMENTWISE \
        for (size_t j = 0; j < n; j++) { \
            float x = p[j] + bias[j]; \
            p[j] = x; \
            o[j] = gelu(x); \
        } \
    }
    BT_SWITCH_FORM(form, LOOP)
#undef LOOP
}

BT_CLONES
void bt_bias_gelu_forward_bf16(uint16_t *out16, float *out, float *pre, const float *bias, size_t rows, size_t n,
                               int form) {
#define LOOP(gelu, gelu_back) \
    for (size_t t = 0; t < rows; t++) { \
        float *p = pre + t * n, *o = out + t * n; \
        uint16_t *h = out16 + t * n; \
        BT_ELEMENTWISE \
        for (size_t j = 0; j < n; j++) { \
            float x = p[j] + bias[j]; \
            float y = gelu(x); \
            uint32_t bits; \
            memcpy(&bits, &y, 4); \
            p[j] = x; \
            o[j] = y; \
            h[j] = (uint16_t)bf16_bits(bits); \
        } \
    }
#define LOOP_BF16_ONLY(gelu, gelu_back) \
    for (size_t t = 0; t < rows; t++) { \
        const float *p = pre + t * n; \
        uint16_t *h = out16 + t * n; \
        BT_ELEMENTWISE \
        for (size_t j = 0; j < n; j++) { \
            float y = gelu(p[j] + bias[j]); \
            uint32_t bits; \
            memcpy(&bits, &y, 4); \
            h[j] = (uint16_t)bf16_bits(bits); \
        } \
    }
    if (out) {
        BT_SWITCH_FORM(form, LOOP)
    } else {
        BT_SWITCH_FORM(form, LOOP_BF16_ONLY)
    }
#undef LOOP
#undef LOOP_BF16_ONLY
}

BT_CLONES
void bt_gelu_bias_backward(float *dinp, float *dbias, const float *dout, const float *inp, size_t rows, size_t n,
                           size_t begin, size_t end, int form) {
#define LOOP(gelu, gelu_back) \
    for (size_t t = 0; t < rows; t++) { \
        float *dx = dinp + t * n; \
        const float *d = dout + t * n, *x = inp + t * n; \
        BT_ELEMENTWISE \
        for (size_t j = begin; j < end; j++) { \
            float g = gelu_back(d[j], x[j]); \
            dx[j] = g; \
            dbias[j] += g; \
        } \
    }
    BT_SWITCH_FORM(form, LOOP)
#undef LOOP
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

BT_CLONES
void bt_dropout_forward(float *out, const float *in, size_t count, bt_dropout dropout, uint32_t counter_base) {
    // Sixteen counters at a time in explicit vectors: attention calls this once per short row, in place.
    const bt_vu lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const size_t whole = count - count % BT_LANES;
    bt_vf x;
    for (size_t i = 0; i <= whole; i += BT_LANES) {
        const size_t n = i < whole ? BT_LANES : count - whole;
        if (n == 0) break;
        bt_vu h = (lane + (counter_base + (uint32_t)i) + dropout.key0) * 0x9E3779B1u;
        h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        h ^= dropout.key1;
        h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        if (n == BT_LANES) BT_LOAD(x, in + i); else bt_load_part(&x, in + i, n, 0.0f);
        bt_vf kept = x * dropout.scale;
        bt_vf value = (h >> 8) >= dropout.threshold ? kept : 0.0f;
        if (n == BT_LANES) BT_STORE(out + i, value); else bt_store_part(out + i, &value, n);
    }
}

BT_CLONES
void bt_softmax_forward(float *probs, const float *scores, size_t rows, size_t n) {
    const bt_vu lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const size_t whole = n - n % BT_LANES, rest = n - whole;
    for (size_t r = 0; r < rows; r++) {
        const float *s = scores + r * n;
        float *p = probs + r * n;
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
        for (int width = BT_LANES / 2; width >= 1; width /= 2)
            for (int j = 0; j < width; j++) lanes[j] = lanes[j] >= lanes[j + width] ? lanes[j] : lanes[j + width];
        const float m = lanes[0];
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
}

BT_CLONES
void bt_softmax_backward(float *dscores, const float *dprobs, const float *probs, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        const float *dp = dprobs + r * n, *p = probs + r * n;
        float *ds = dscores + r * n;
        float dot = bt_dot(dp, p, n);
        BT_ELEMENTWISE
        for (size_t j = 0; j < n; j++) ds[j] = p[j] * (dp[j] - dot);
    }
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

BT_CLONES
void bt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, size_t rows, size_t C, float eps) {
    for (size_t t = 0; t < rows; t++)
        bt_layernorm_row(out + t * C, mean + t, rstd + t, inp + t * C, weight, bias, C, eps);
}

BT_CLONES
void bt_residual_layernorm_forward(float *out, float *mean, float *rstd, float *residual, const float *projection,
                                   const float *skip, const float *weight, const float *bias, size_t rows, size_t C,
                                   float eps, const bt_dropout *dropout, uint32_t counter_base) {
    for (size_t t = 0; t < rows; t++) {
        float *r = residual + t * C;
        const float *p = projection + t * C, *x = skip + t * C;
        if (dropout) {
            uint32_t row_base = counter_base + (uint32_t)(t * C);
            BT_ELEMENTWISE
            for (size_t c = 0; c < C; c++) r[c] = bt_drop(p[c], row_base + (uint32_t)c, dropout) + x[c];
        } else {
            BT_ELEMENTWISE
            for (size_t c = 0; c < C; c++) r[c] = p[c] + x[c];
        }
        bt_layernorm_row(out + t * C, mean + t, rstd + t, r, weight, bias, C, eps);
    }
}

BT_CLONES
void bt_layernorm_backward(float *dinp, float *dprojection, const float *dout, const float *inp, const float *weight,
                           const float *mean, const float *rstd, size_t rows, size_t C,
                           const bt_dropout *dropout, uint32_t counter_base) {
    for (size_t t = 0; t < rows; t++) {
        const float *x = inp + t * C, *d = dout + t * C;
        float *dx = dinp + t * C;
        const float m = mean[t], s = rstd[t];
        float acc_dnorm[BT_LANES] = {0}, acc_dnorm_norm[BT_LANES] = {0};
        size_t c = 0;
        for (; c + BT_LANES <= C; c += BT_LANES)
            for (int j = 0; j < BT_LANES; j++) {
                float dnorm = weight[c + j] * d[c + j];
                acc_dnorm[j] += dnorm;
                acc_dnorm_norm[j] += dnorm * ((x[c + j] - m) * s);
            }
        for (int j = 0; c + j < C; j++) {
            float dnorm = weight[c + j] * d[c + j];
            acc_dnorm[j] += dnorm;
            acc_dnorm_norm[j] += dnorm * ((x[c + j] - m) * s);
        }
        const float dnorm_mean = bt_reduce_lanes(acc_dnorm) / (float)C;
        const float dnorm_norm_mean = bt_reduce_lanes(acc_dnorm_norm) / (float)C;
        BT_ELEMENTWISE
        for (size_t k = 0; k < C; k++) {
            float norm = (x[k] - m) * s;
            dx[k] = (weight[k] * d[k] - dnorm_mean - norm * dnorm_norm_mean) * s;
        }
        if (dprojection) {
            float *dp = dprojection + t * C;
            uint32_t row_base = counter_base + (uint32_t)(t * C);
            BT_ELEMENTWISE
            for (size_t k = 0; k < C; k++) dp[k] = bt_drop(dx[k], row_base + (uint32_t)k, dropout);
        }
    }
}

BT_CLONES
void bt_layernorm_parameters_backward(float *dweight, float *dbias, const float *dout, const float *inp,
                                      const float *mean, const float *rstd, size_t rows, size_t C,
                                      size_t c_begin, size_t c_end) {
    for (size_t t = 0; t < rows; t++) {
        const float *x = inp + t * C, *d = dout + t * C;
        const float m = mean[t], s = rstd[t];
        BT_ELEMENTWISE
        for (size_t c = c_begin; c < c_end; c++) {
            dweight[c] += d[c] * (x[c] - m) * s;
            dbias[c] += d[c];
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Residual add, bias add and bias gradient.

BT_CLONES
void bt_add(float *out, const float *a, const float *b, size_t count) {
    BT_ELEMENTWISE
    for (size_t i = 0; i < count; i++) out[i] = a[i] + b[i];
}

BT_CLONES
void bt_accumulate_twice(float *da, float *db, const float *dout, size_t count) {
    BT_ELEMENTWISE
    for (size_t i = 0; i < count; i++) { da[i] += dout[i]; db[i] += dout[i]; }
}

BT_CLONES
void bt_bias_forward(float *out, const float *bias, size_t rows, size_t n) {
    for (size_t t = 0; t < rows; t++) {
        float *o = out + t * n;
        BT_ELEMENTWISE
        for (size_t j = 0; j < n; j++) o[j] += bias[j];
    }
}

BT_CLONES
void bt_bias_backward(float *dbias, const float *dout, size_t rows, size_t n, size_t begin, size_t end) {
    for (size_t t = 0; t < rows; t++) {
        const float *d = dout + t * n;
        BT_ELEMENTWISE
        for (size_t j = begin; j < end; j++) dbias[j] += d[j];
    }
}

BT_CLONES
double bt_sum_of_squares(const float *x, size_t count) {
    // Sixteen Float partial sums per block of 4,096 (short enough that they keep their digits), blocks added in
    // Double in order.
    double total = 0;
    for (size_t start = 0; start < count; start += 4096) {
        const size_t end = start + 4096 < count ? start + 4096 : count;
        float acc[BT_LANES] = {0};
        size_t i = start;
        for (; i + BT_LANES <= end; i += BT_LANES)
            for (int j = 0; j < BT_LANES; j++) acc[j] += x[i + j] * x[i + j];
        double block = (double)bt_reduce_lanes(acc);
        for (; i < end; i++) block += (double)x[i] * (double)x[i];
        total += block;
    }
    return total;
}
