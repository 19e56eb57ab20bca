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
