#ifndef BT_KERNELS_H
#define BT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Element-wise kernels compiled once per instruction set (AVX-512, AVX2, baseline) and chosen when the
/// library loads, by the processor it runs on.

/// out[i] = the bfloat16 nearest to in[i] (ties to even); NaN stays a quiet NaN.
void bt_convert_f32_to_bf16(uint16_t *out, const float *in, size_t count);
/// out[i] = in[i] rounded to the nearest bfloat16, kept in single precision.
void bt_round_f32_to_bf16(float *out, const float *in, size_t count);

/// One AdamW update (torch's order of operations) of parameters[0 ..< count], with gradients scaled by
/// `gradient_scale`; `zeroing`, when not NULL, is set to zero alongside (the gradients, for the next step).
void bt_adamw(float *parameters, const float *gradients, float *m, float *v, size_t count, float b1, float b2,
              float eps, float step_size, float inv_bias2_sqrt, float gradient_scale, float decay_factor,
              float *zeroing);

/// GELU forms, as the Tensors module's `GELUForm`.
enum { BT_GELU_ERF = 0, BT_GELU_TANH = 1, BT_GELU_RELU = 2 };

/// out = GELU(in) elementwise (out may alias in), with the Tensors module's fast exp/erf/tanh, operation for
/// operation, so every clone gives the bits of its scalar forms.
void bt_gelu_forward(float *out, const float *in, size_t count, int form);
/// dinp = dout · GELU'(inp) elementwise (dinp may alias dout).
void bt_gelu_backward(float *dinp, const float *dout, const float *inp, size_t count, int form);

#endif
