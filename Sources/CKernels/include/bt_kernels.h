#ifndef BT_KERNELS_H
#define BT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Element-wise kernels compiled once per instruction set (AVX-512, AVX2, baseline); the first call picks the
/// widest the processor runs, or narrower where the BERT_TAGGER_MAX_CPU_ISA variable caps it.

/// The variable that caps the instruction sets the tool uses, named as oneDNN's ONEDNN_MAX_CPU_ISA names them
/// (sse41, avx2, avx512_core, avx512_core_bf16, avx512_core_amx): it emulates a lesser processor on this one.
#define BT_MAX_CPU_ISA_VARIABLE "BERT_TAGGER_MAX_CPU_ISA"

enum { BT_KERNELS_BASELINE = 0, BT_KERNELS_AVX2 = 1, BT_KERNELS_AVX512 = 2 };
/// The variant every kernel runs (BT_KERNELS_*), chosen at the first call.
int bt_kernels_level(void);
/// The variant for a processor whose widest is `detected`, under the cap `cap` (NULL or empty: none).
int bt_kernels_level_for(int detected, const char *cap);

/// The lane the calling thread runs (`Parallel.forEachLane`), or -1 outside one: a thread-local value.
int bt_parallel_lane(void);
/// Sets the calling thread's lane (-1: none).
void bt_parallel_set_lane(int lane);

/// out[i] = the bfloat16 nearest to in[i] (ties to even); NaN stays a quiet NaN.
void bt_convert_f32_to_bf16(uint16_t *out, const float *in, size_t count);
/// out[i] = in[i] rounded to the nearest bfloat16, kept in single precision.
void bt_round_f32_to_bf16(float *out, const float *in, size_t count);

/// Each row of in [rows, k] as signed 8-bit integers on a scale of its own: scales[r] = max |x| / 127, out =
/// x · (127 / max |x|) rounded to the nearest integer (ties to even), within ±127; a row of zeros gets scale 0
/// and zeros, and a NaN becomes 0. sums[r] (when sums is not NULL) = the sum of row r's integers.
void bt_quantize_rows_s8(int8_t *out, float *scales, int32_t *sums, const float *in, size_t rows, size_t k);
/// out[r, j] = (float)sums[r, j] · row_scales[r] · column_scales[j] (+ bias[j] when bias is not NULL), each
/// operation rounded in that order; out may be sums itself (in place).
void bt_dequantize_rows(float *out, const int32_t *sums, const float *row_scales, const float *column_scales,
                        const float *bias, size_t rows, size_t n);
/// out8 row r (scale out_scales[r]) = the quantization of GELU(dequantized sums + bias), row by row through `row`
/// (n floats of scratch): bt_dequantize_rows, the GELU and bt_quantize_rows_s8 in one pass, the same bits. The erf
/// form's GELU is bt_gelu_pieces_forward's, the others bt_gelu_forward's. out_sums as bt_quantize_rows_s8's sums.
void bt_int8_gelu_rows(int8_t *out8, float *out_scales, int32_t *out_sums, const int32_t *sums,
                       const float *row_scales, const float *column_scales, const float *bias, size_t rows, size_t n,
                       int form, float *row);
/// out row r = LayerNorm(dequantized sums + bias + skip) (mean, rstd kept), then, when out8 is not NULL, its
/// quantization, row by row through `row` (C floats of scratch): bt_dequantize_rows,
/// bt_residual_layernorm_forward and bt_quantize_rows_s8 in one pass, the same bits. out_sums as
/// bt_quantize_rows_s8's sums.
void bt_int8_residual_layernorm_rows(float *out, float *mean, float *rstd, int8_t *out8, float *out_scales,
                                     int32_t *out_sums, const int32_t *sums, const float *row_scales,
                                     const float *column_scales, const float *bias, const float *skip,
                                     const float *weight, const float *ln_bias, size_t rows, size_t C, float eps,
                                     float *row);

/// One AdamW update (torch's order of operations) of parameters[0 ..< count], with gradients scaled by
/// `gradient_scale`; `zeroing`, when not NULL, is set to zero alongside (the gradients, for the next step).
void bt_adamw(float *parameters, const float *gradients, float *m, float *v, size_t count, float b1, float b2,
              float eps, float step_size, float inv_bias2_sqrt, float gradient_scale, float decay_factor,
              float *zeroing);

/// GELU forms, as the Tensors module's `GELUForm`.
enum { BT_GELU_ERF = 0, BT_GELU_TANH = 1, BT_GELU_RELU = 2 };

/// out = GELU(in) (the erf form) by cubic pieces, within 6e-7 of the exact GELU: INT8 tagging's activation, whose
/// output is rounded to 8 bits next (see bt_kernels.c). out may alias in.
void bt_gelu_pieces_forward(float *out, const float *in, size_t count);
/// out = GELU(in) elementwise (out may alias in), with the Tensors module's fast exp/erf/tanh, operation for
/// operation, so every clone gives the bits of its scalar forms.
void bt_gelu_forward(float *out, const float *in, size_t count, int form);
/// dinp = dout · GELU'(inp) elementwise (dinp may alias dout).
void bt_gelu_backward(float *dinp, const float *dout, const float *inp, size_t count, int form);
/// pre[t] += bias, then out[t] = GELU(pre[t]), for each of `rows` rows of n: the bias add and the activation in
/// one pass (out may alias pre only if the biased values are not needed).
void bt_bias_gelu_forward(float *out, float *pre, const float *bias, size_t rows, size_t n, int form);
/// bt_bias_gelu_forward that also writes the activation as bfloat16 bits (round to nearest even, as
/// bt_convert_f32_to_bf16) into out16, the input of the product that follows. With out NULL only out16 is
/// written and pre is left as it was (a forward that keeps no activations).
void bt_bias_gelu_forward_bf16(uint16_t *out16, float *out, float *pre, const float *bias, size_t rows, size_t n,
                               int form);
/// The mirror of bt_bias_gelu_forward for columns begin ..< end: dinp = dout · GELU'(inp) (dinp may alias dout),
/// and dbias[j] += Σ_t dinp[t, j] in token order; with dinp16 not NULL, dinp also in bfloat16 there.
void bt_gelu_bias_backward(float *dinp, float *dbias, const float *dout, const float *inp, size_t rows, size_t n,
                           size_t begin, size_t end, int form, uint16_t *dinp16);

/// Inverted dropout with a counter-based mask, as the Tensors module's `dropoutForward`: element i is kept when
/// the 24 high bits of CounterRandom(key0, key1).bits(counter of i) are at least `threshold`, and kept values are
/// multiplied by `scale`.
typedef struct {
    uint32_t key0, key1, threshold;
    float scale;
} bt_dropout;

/// out[i] = keep(counter_base + i) ? in[i] · scale : 0; out may alias in.
void bt_dropout_forward(float *out, const float *in, size_t count, bt_dropout dropout, uint32_t counter_base);

/// probs = softmax(scores) per row of n; probs may alias scores.
void bt_softmax_forward(float *probs, const float *scores, size_t rows, size_t n);
/// dscores = probs · (dprobs - Σ dprobs · probs) per row; dscores may alias dprobs.
void bt_softmax_backward(float *dscores, const float *dprobs, const float *probs, size_t rows, size_t n);

/// out = (inp - mean) · rstd · weight + bias per row of C, caching mean and rstd.
void bt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, size_t rows, size_t C, float eps);
/// residual = dropout(projection) + skip (no dropout when `dropout` is NULL; residual may alias projection),
/// then out = LayerNorm(residual): one pass over each row instead of three. Row t's dropout counters are
/// counter_base + t·C + c. With out16 not NULL, it also gets out in bfloat16 (round to nearest even).
void bt_residual_layernorm_forward(float *out, float *mean, float *rstd, float *residual, const float *projection,
                                   const float *skip, const float *weight, const float *bias, size_t rows, size_t C,
                                   float eps, const bt_dropout *dropout, uint32_t counter_base,
                                   uint16_t *out16);
/// The mirror of the two above for the input: dinp = d LayerNorm / d inp (overwritten; may not alias dout), and,
/// when dprojection is not NULL, dprojection = dropout's backward of dinp with the forward's mask.
void bt_layernorm_backward(float *dinp, float *dprojection, const float *dout, const float *inp, const float *weight,
                           const float *mean, const float *rstd, size_t rows, size_t C,
                           const bt_dropout *dropout, uint32_t counter_base);
/// dweight[c] += Σ_t dout · norm, dbias[c] += Σ_t dout for c in c_begin ..< c_end, in token order.
void bt_layernorm_parameters_backward(float *dweight, float *dbias, const float *dout, const float *inp,
                                      const float *mean, const float *rstd, size_t rows, size_t C,
                                      size_t c_begin, size_t c_end);

/// out = a + b; out may alias either.
void bt_add(float *out, const float *a, const float *b, size_t count);
/// da += dout, db += dout.
void bt_accumulate_twice(float *da, float *db, const float *dout, size_t count);
/// out[t] += bias for each of `rows` rows of n.
void bt_bias_forward(float *out, const float *bias, size_t rows, size_t n);
/// dbias[j] += Σ_t dout[t, j] for j in begin ..< end, in token order.
void bt_bias_backward(float *dbias, const float *dout, size_t rows, size_t n, size_t begin, size_t end);

/// Σ x² over count values: sixteen Float partial sums per block of 4,096, blocks added in Double in order.
double bt_sum_of_squares(const float *x, size_t count);

/// Attention of one sequence and head, n tokens, head size hs, q, k and v rows ld apart and out rows ldo apart (the
/// head's columns of [T, C] matrices, or of q, k and v side by side in one [T, 3C]): out = dropout(softmax(scale ·
/// q kᵀ)) v, where dropout (NULL: none) keeps element (i, j) as bt_dropout_forward with the counter counter_base +
/// i · counter_row_stride + j. `scratch` holds bt_attention_scratch_floats(n, hs) floats or more; out is
/// overwritten. With out16 not NULL, out's block also in bfloat16 at the same offsets of out16.
void bt_attention_forward(float *out, size_t ldo, const float *q, const float *k, const float *v, size_t n, size_t hs,
                          size_t ld, float scale, const bt_dropout *dropout, uint32_t counter_base,
                          uint32_t counter_row_stride, float *scratch, uint16_t *out16);
/// The mirror of bt_attention_forward with the same dropout: dq, dk, dv (overwritten) from dout, recomputing the
/// probabilities from q and k.
void bt_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                           const float *v, size_t n, size_t hs, size_t ld, float scale, const bt_dropout *dropout,
                           uint32_t counter_base, uint32_t counter_row_stride, float *scratch);
/// The scratch floats attention of sequences up to max_n tokens with head size hs needs.
size_t bt_attention_scratch_floats(size_t max_n, size_t hs);

/// Single-precision products against a weight laid out once (bt_packed_sgemm.c): out[t, j] = bias[j] +
/// Σ_x inp[t, x] · weight[j, x], the weight [n, k] (a PyTorch Linear weight) kept in panels of BT_PACKED_PANEL
/// output columns. Each output is the bias plus the products in order of x, one fused multiply-add each.
#define BT_PACKED_PANEL 16
/// The rows of the kernel's tile: row ranges split at multiples of it keep every tile whole.
#define BT_PACKED_TILE_ROWS 6
/// Whether this processor runs the packed products (AVX2 and FMA, under BERT_TAGGER_MAX_CPU_ISA's cap).
int bt_packed_sgemm_available(void);
/// Floats (from a 64-byte aligned start) the packed form of an n × k weight takes.
size_t bt_packed_sgemm_floats(size_t n, size_t k);
/// Lays weight [n, k] out for bt_packed_sgemm (the panels' columns past n are zeros).
void bt_packed_sgemm_pack(float *packed, const float *weight, size_t n, size_t k);
/// Rows row_begin ..< row_end of out (rows ldo apart) for the columns of panels panel_begin ..< panel_end, from
/// the input's rows (lda apart, k values each); bias NULL adds nothing. Only where bt_packed_sgemm_available().
void bt_packed_sgemm(float *out, size_t ldo, const float *inp, size_t lda, const float *packed, const float *bias,
                     size_t n, size_t k, size_t row_begin, size_t row_end, size_t panel_begin, size_t panel_end);

/// BF16 products on AMX tiles (bt_amx_gemm.c): c[m, n] = a[m, k] · b[k, n] in single precision, plus the output
/// (accumulate) or a bias row, or nothing. The second input is packed beforehand in panels of BT_AMX_PANEL columns,
/// the depth padded with zeros to a multiple of BT_AMX_DEPTH.
#define BT_AMX_PANEL 16
#define BT_AMX_DEPTH 32
/// Asks Linux for the tiles' state (once per process); 1 when granted. Only where the processor has AMX.
int bt_amx_request(void);
/// bfloat16 values the packed form of a k × n second input takes.
size_t bt_amx_packed_elements(size_t k, size_t n);
/// Packs panels panel_begin ..< panel_end of b, given as [k, n] (rows ldb apart), or as [n, k] when transposed.
void bt_amx_pack(uint16_t *packed, const uint16_t *b, size_t ldb, int transposed, size_t k, size_t n,
                 size_t panel_begin, size_t panel_end);
/// out[j, x] = in[x, j] for x < rows and columns j in col_begin ..< col_end; zeros for x from rows to ldo.
void bt_amx_transpose(uint16_t *out, size_t ldo, const uint16_t *in, size_t ldi, size_t rows, size_t col_begin,
                      size_t col_end);
/// The calling thread's work area of at least `elements` bfloat16 values, 64-byte aligned (it grows, never shrinks).
uint16_t *bt_amx_workspace(size_t elements);
/// Columns of panels panel_begin ..< panel_end of c (rows ldc apart) from a (rows lda apart, k values each) and
/// the packed second input; accumulate adds to c, else bias (NULL: none) starts each row. Only after
/// bt_amx_request() granted the tiles.
void bt_amx_gemm(float *c, size_t ldc, const uint16_t *a, size_t lda, const uint16_t *packed, size_t m, size_t n,
                 size_t k, int accumulate, const float *bias, size_t panel_begin, size_t panel_end);
/// bt_amx_gemm's product on AVX512-BF16's dot products instead of tiles (bt_bf16_gemm.c), on the same panels, for
/// processors with AVX512-BF16 and no AMX; a reads k values of each row (no padding needed). Only where the
/// processor has AVX512-BF16.
void bt_bf16_gemm(float *c, size_t ldc, const uint16_t *a, size_t lda, const uint16_t *packed, size_t m, size_t n,
                  size_t k, int accumulate, const float *bias, size_t panel_begin, size_t panel_end);

/// INT8 products on AVX512-VNNI's dot products (bt_vnni_gemm.c): sums[m, n] = a[m, k] · wᵀ, exact in int32, a and
/// w [n, k] signed 8-bit values. The weight is packed beforehand in panels of BT_VNNI_PANEL output channels, the
/// depth padded to a multiple of BT_VNNI_DEPTH.
#define BT_VNNI_PANEL 16
#define BT_VNNI_DEPTH 4
/// Bytes the packed form of an n × k weight takes.
size_t bt_vnni_packed_bytes(size_t k, size_t n);
/// Packs w [n, k] (rows k apart) into bt_vnni_packed_bytes(k, n) bytes, 64-byte aligned.
void bt_vnni_pack(uint8_t *packed, const int8_t *w, size_t k, size_t n);
/// Columns of panels panel_begin ..< panel_end of c (rows ldc apart) from a (rows lda apart, k values each, read no
/// further) and the packed weight; row_sums[r] is row r's sum of values (as bt_quantize_rows_s8 counts them). Only
/// where the processor has AVX512-VNNI.
void bt_vnni_gemm(int32_t *c, size_t ldc, const int8_t *a, size_t lda, const uint8_t *packed, size_t m, size_t n,
                  size_t k, size_t panel_begin, size_t panel_end, const int32_t *row_sums);

#endif
