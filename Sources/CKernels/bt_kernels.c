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

static inline uint32_t bf16_bits(uint32_t bits) {
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
        parameters[i] = p - step_size * mi / (sqrtf(vi) * inv_bias2_sqrt + eps);
    }
    if (zeroing) memset(zeroing, 0, count * sizeof(float));
}

// The Tensors module's FastMath, operation for operation (see FastMath.swift for the derivations).
static inline float clampf(float x, float lower, float upper) {
    float raised = lower >= x ? lower : x;     // Swift.max(x, lower): NaN stays NaN
    return raised > upper ? upper : raised;    // Swift.min(raised, upper)
}

static inline float fast_exp(float x) {
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

static inline float fast_erf(float x) {
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

static inline float fast_tanh(float x) {
    float c = clampf(x, -15.0f, 15.0f);
    return 1.0f - 2.0f / (fast_exp(2.0f * c) + 1.0f);
}

static const float inv_sqrt2 = 0.7071067811865475f;
static const float inv_sqrt_2pi = 0.3989422804014327f;
static const float sqrt_2_over_pi = 0.7978845608028654f;

BT_CLONES
void bt_gelu_forward(float *out, const float *in, size_t count, int form) {
    switch (form) {
    case BT_GELU_ERF:
        for (size_t i = 0; i < count; i++) {
            float x = in[i];
            out[i] = 0.5f * x * (1.0f + fast_erf(x * inv_sqrt2));
        }
        break;
    case BT_GELU_TANH:
        for (size_t i = 0; i < count; i++) {
            float x = in[i];
            out[i] = 0.5f * x * (1.0f + fast_tanh(sqrt_2_over_pi * (x + 0.044715f * x * x * x)));
        }
        break;
    default:
        for (size_t i = 0; i < count; i++) {
            float x = in[i];
            out[i] = 0.0f >= x ? 0.0f : x;     // Swift.max(x, 0)
        }
    }
}

BT_CLONES
void bt_gelu_backward(float *dinp, const float *dout, const float *inp, size_t count, int form) {
    switch (form) {
    case BT_GELU_ERF:
        for (size_t i = 0; i < count; i++) {
            float x = inp[i];
            float cdf = 0.5f * (1.0f + fast_erf(x * inv_sqrt2));
            float pdf = inv_sqrt_2pi * fast_exp(-0.5f * x * x);
            dinp[i] = dout[i] * (cdf + x * pdf);
        }
        break;
    case BT_GELU_TANH:
        for (size_t i = 0; i < count; i++) {
            float x = inp[i];
            float th = fast_tanh(sqrt_2_over_pi * (x + 0.044715f * x * x * x));
            float du = sqrt_2_over_pi * (1.0f + 3.0f * 0.044715f * x * x);
            dinp[i] = dout[i] * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
        }
        break;
    default:
        for (size_t i = 0; i < count; i++) dinp[i] = inp[i] > 0.0f ? dout[i] : 0.0f;
    }
}
