// The element-wise kernels, compiled once per instruction set: bt_kernels.c includes this file once for each,
// with BT_NAME giving the variant's names and BT_VARIANT_FUNCTION its target. Helpers come from bt_kernels.c,
// inlined into each variant. No include guard: it is meant to be included more than once.

BT_VARIANT_FUNCTION
void BT_NAME(bt_convert_f32_to_bf16)(uint16_t *restrict out, const float *restrict in, size_t count) {
    const uint32_t *bits = (const uint32_t *)(const void *)in;
    for (size_t i = 0; i < count; i++) out[i] = (uint16_t)bf16_bits(bits[i]);
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_round_f32_to_bf16)(float *restrict out, const float *restrict in, size_t count) {
    const uint32_t *bits = (const uint32_t *)(const void *)in;
    uint32_t *outBits = (uint32_t *)(void *)out;
    for (size_t i = 0; i < count; i++) outBits[i] = bf16_bits(bits[i]) << 16;
}

/// q = x rounded to steps of largest / 127 (its scale), for a row whose largest magnitude is `largest`; *sum (when
/// not NULL) = the sum of q, which the VNNI kernel takes off its dot products.
BT_INLINE void BT_NAME(bt_quantize_row_s8)(int8_t *restrict q, float *restrict scale, const float *restrict x, size_t k,
                                            float largest, int32_t *restrict sum) {
    const float inverse = largest > 0.0f ? 127.0f / largest : 0.0f;
    *scale = largest / 127.0f;
    int32_t total = 0;
    for (size_t i = 0; i < k; i++) {
        float step = __builtin_rintf(x[i] * inverse);
        step = step > 127.0f ? 127.0f : step;
        step = step < -127.0f ? -127.0f : step;
        step = step == step ? step : 0.0f;
        const int8_t value = (int8_t)step;
        q[i] = value;
        total += value;
    }
    if (sum) *sum = total;
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_quantize_rows_s8)(int8_t *restrict out, float *restrict scales, int32_t *restrict sums,
                                  const float *restrict in, size_t rows, size_t k) {
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * k;
        int8_t *q = out + r * k;
        // The largest magnitude in running maxima of whole vectors, then across their lanes: a maximum is exact in
        // any order, and a NaN is passed over either way.
        bt_vf most = 0.0f, v;
        size_t i0 = 0;
        for (; i0 + BT_LANES <= k; i0 += BT_LANES) {
            BT_LOAD(v, x + i0);
            v = v < 0.0f ? -v : v;
            most = v > most ? v : most;
        }
        if (i0 < k) {
            bt_load_part(&v, x + i0, k - i0, 0.0f);
            v = v < 0.0f ? -v : v;
            most = v > most ? v : most;
        }
        float lanes[BT_LANES];
        memcpy(lanes, &most, sizeof lanes);
        BT_NAME(bt_quantize_row_s8)(q, scales + r, x, k, bt_max_lanes(lanes), sums ? sums + r : NULL);
    }
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_dequantize_rows)(float *out, const int32_t *sums, const float *row_scales, const float *column_scales,
                                 const float *bias, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        const float s = row_scales[r];
        float *o = out + r * n;
        const int32_t *a = sums + r * n;
        if (bias) {
            BT_ELEMENTWISE
            for (size_t j = 0; j < n; j++) o[j] = (float)a[j] * s * column_scales[j] + bias[j];
        } else {
            BT_ELEMENTWISE
            for (size_t j = 0; j < n; j++) o[j] = (float)a[j] * s * column_scales[j];
        }
    }
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_adamw)(float *restrict parameters, const float *restrict gradients, float *restrict m, float *restrict v,
              size_t count, float b1, float b2, float eps, float step_size, float inv_bias2_sqrt,
              float gradient_scale, float decay_factor, float *zeroing) {
    const float one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2;
#define BT_ADAMW_ELEMENT(g_read, after_read) \
        float g = (g_read) * gradient_scale; \
        after_read; \
        float mi = b1 * m[i] + one_minus_b1 * g; \
        float vi = b2 * v[i] + one_minus_b2 * g * g; \
        m[i] = mi; \
        v[i] = vi; \
        float p = parameters[i] * decay_factor; \
        parameters[i] = p - step_size * mi / (__builtin_elementwise_sqrt(vi) * inv_bias2_sqrt + eps);
    if (zeroing == gradients) {
        // The gradients are consumed: each is cleared as it is read, in the same pass (no second pass of memset).
        for (size_t i = 0; i < count; i++) { BT_ADAMW_ELEMENT(zeroing[i], zeroing[i] = 0.0f) }
    } else {
        for (size_t i = 0; i < count; i++) { BT_ADAMW_ELEMENT(gradients[i], (void)0) }
        if (zeroing) memset(zeroing, 0, count * sizeof(float));
    }
#undef BT_ADAMW_ELEMENT
}

/// GELU by cubic pieces (bt_gelu_pieces_table) in sixteen lanes. The AVX-512 clone looks the coefficients up in
/// registers (permutes of two registers), the others lane by lane: the same values, so the same bits. NaN stays
/// NaN (its piece is the last one, and max(x, 0) keeps it).
BT_INLINE void BT_NAME(bt_gelu_pieces_v)(bt_vf *out, const bt_vf *x) {
    bt_vf t = __builtin_bit_cast(bt_vf, __builtin_bit_cast(bt_vu, *x) & 0x7FFFFFFFu);
    t = t < BT_GELU_PIECES_RANGE ? t : BT_GELU_PIECES_RANGE;
    const bt_vf u = t * BT_GELU_PIECES_SCALE;
    bt_vf piece = __builtin_elementwise_floor(u);
    piece = piece < (float)(BT_GELU_PIECES - 1) ? piece : (float)(BT_GELU_PIECES - 1);
    const bt_vf f = u - piece;
    bt_vf c[4];
#if BT_WIDE_BLOCKS
    const __m512i index = _mm512_cvttps_epi32(__builtin_bit_cast(__m512, piece));
    for (int j = 0; j < 4; j++)
        c[j] = __builtin_bit_cast(bt_vf, _mm512_permutex2var_ps(_mm512_load_ps(bt_gelu_pieces_table[j]), index,
                                                                 _mm512_load_ps(bt_gelu_pieces_table[j] + 16)));
#else
    const bt_vi index = __builtin_convertvector(piece, bt_vi);
    for (int lane = 0; lane < BT_LANES; lane++)
        for (int j = 0; j < 4; j++) c[j][lane] = bt_gelu_pieces_table[j][index[lane]];
#endif
    bt_vf p = c[3] * f;
    p = p + c[2];
    p = p * f;
    p = p + c[1];
    p = p * f;
    p = p + c[0];
    const bt_vf relu = 0.0f >= *x ? 0.0f : *x;
    *out = relu + p;
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_gelu_pieces_forward)(float *out, const float *in, size_t count) {
    bt_vf x, g;
    for (size_t i = 0; i < count; i += BT_LANES) {
        const size_t n = count - i < BT_LANES ? count - i : BT_LANES;
        if (n == BT_LANES) BT_LOAD(x, in + i); else bt_load_part(&x, in + i, n, 0.0f);
        BT_NAME(bt_gelu_pieces_v)(&g, &x);
        if (n == BT_LANES) BT_STORE(out + i, g); else bt_store_part(out + i, &g, n);
    }
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_gelu_forward)(float *out, const float *in, size_t count, int form) {
#define LOOP(gelu, gelu_back) \
    BT_ELEMENTWISE \
    for (size_t i = 0; i < count; i++) out[i] = gelu(in[i]);
    BT_SWITCH_FORM(form, LOOP)
#undef LOOP
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_gelu_backward)(float *dinp, const float *dout, const float *inp, size_t count, int form) {
#define LOOP(gelu, gelu_back) \
    BT_ELEMENTWISE \
    for (size_t i = 0; i < count; i++) dinp[i] = gelu_back(dout[i], inp[i]);
    BT_SWITCH_FORM(form, LOOP)
#undef LOOP
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_bias_gelu_forward)(float *out, float *pre, const float *bias, size_t rows, size_t n, int form) {
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

BT_VARIANT_FUNCTION
void BT_NAME(bt_bias_gelu_forward_bf16)(uint16_t *out16, float *out, float *pre, const float *bias, size_t rows, size_t n,
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

BT_VARIANT_FUNCTION
void BT_NAME(bt_gelu_bias_backward)(float *dinp, float *dbias, const float *dout, const float *inp, size_t rows, size_t n,
                           size_t begin, size_t end, int form, uint16_t *dinp16) {
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
#define LOOP_BF16(gelu, gelu_back) \
    for (size_t t = 0; t < rows; t++) { \
        float *dx = dinp + t * n; \
        const float *d = dout + t * n, *x = inp + t * n; \
        uint16_t *h = dinp16 + t * n; \
        BT_ELEMENTWISE \
        for (size_t j = begin; j < end; j++) { \
            float g = gelu_back(d[j], x[j]); \
            uint32_t bits; \
            memcpy(&bits, &g, 4); \
            dx[j] = g; \
            h[j] = (uint16_t)bf16_bits(bits); \
            dbias[j] += g; \
        } \
    }
    if (dinp16) {
        BT_SWITCH_FORM(form, LOOP_BF16)
    } else {
        BT_SWITCH_FORM(form, LOOP)
    }
#undef LOOP_BF16
#undef LOOP
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_dropout_forward)(float *out, const float *in, size_t count, bt_dropout dropout, uint32_t counter_base) {
    bt_dropout_row(out, in, count, &dropout, counter_base, 1);
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_softmax_forward)(float *probs, const float *scores, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) bt_softmax_row(probs + r * n, scores + r * n, n);
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_softmax_backward)(float *dscores, const float *dprobs, const float *probs, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) bt_softmax_backward_row(dscores + r * n, dprobs + r * n, probs + r * n, n);
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_layernorm_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, size_t rows, size_t C, float eps) {
    for (size_t t = 0; t < rows; t++)
        bt_layernorm_row(out + t * C, mean + t, rstd + t, inp + t * C, weight, bias, C, eps);
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_residual_layernorm_forward)(float *out, float *mean, float *rstd, float *residual, const float *projection,
                                   const float *skip, const float *weight, const float *bias, size_t rows, size_t C,
                                   float eps, const bt_dropout *dropout, uint32_t counter_base, uint16_t *out16) {
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
        // The row converted while it is in cache, for a BF16 product that takes it next.
        if (out16) BT_NAME(bt_convert_f32_to_bf16)(out16 + t * C, out + t * C, C);
    }
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_layernorm_backward)(float *dinp, float *dprojection, const float *dout, const float *inp, const float *weight,
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

BT_VARIANT_FUNCTION
void BT_NAME(bt_layernorm_parameters_backward)(float *dweight, float *dbias, const float *dout, const float *inp,
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

BT_VARIANT_FUNCTION
void BT_NAME(bt_add)(float *out, const float *a, const float *b, size_t count) {
    BT_ELEMENTWISE
    for (size_t i = 0; i < count; i++) out[i] = a[i] + b[i];
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_accumulate_twice)(float *da, float *db, const float *dout, size_t count) {
    BT_ELEMENTWISE
    for (size_t i = 0; i < count; i++) { da[i] += dout[i]; db[i] += dout[i]; }
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_bias_forward)(float *out, const float *bias, size_t rows, size_t n) {
    for (size_t t = 0; t < rows; t++) {
        float *o = out + t * n;
        BT_ELEMENTWISE
        for (size_t j = 0; j < n; j++) o[j] += bias[j];
    }
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_bias_backward)(float *dbias, const float *dout, size_t rows, size_t n, size_t begin, size_t end) {
    for (size_t t = 0; t < rows; t++) {
        const float *d = dout + t * n;
        BT_ELEMENTWISE
        for (size_t j = begin; j < end; j++) dbias[j] += d[j];
    }
}

BT_VARIANT_FUNCTION
double BT_NAME(bt_sum_of_squares)(const float *x, size_t count) {
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

// ---------------------------------------------------------------------------------------------------------------
// Attention of one (sequence, head): the scores, softmax, dropout and the product with V in one call, and the
// mirror. The n × n blocks stay in the caller's scratch (L1/L2-sized for sentences), rows padded to a multiple of
// sixteen columns. Products accumulate in sixteen-lane vectors with BT_MUL_ADD (fused where the variant has FMA),
// so their sums are ordered as in a matrix product of the same inputs but rounded per variant.

/// t[d·np + j] = x[j·ld + d] for d < hs, j < n, and 0 for n ≤ j < np: a head's n × hs columns transposed.
BT_INLINE void BT_NAME(bt_attention_transpose)(float *t, const float *x, size_t n, size_t np, size_t hs, size_t ld,
                                                int prefetch) {
#if BT_WIDE_BLOCKS
    if (hs % 16 == 0) {
        // Blocks of 16 × 16 transposed in registers; rows from n to np are zeros. np - n < 16, so j0 < n.
        for (size_t j0 = 0; j0 < np; j0 += 16) {
            const size_t rows = n - j0 < 16 ? n - j0 : 16;
            if (prefetch)
                for (size_t q = 16; q < 32 && j0 + q < n; q++) bt_prefetch_floats(x + (j0 + q) * ld, hs);
            for (size_t d0 = 0; d0 < hs; d0 += 16) {
                __m512i r[16];
                for (size_t q = 0; q < 16; q++)
                    r[q] = q < rows ? _mm512_loadu_si512(x + (j0 + q) * ld + d0) : _mm512_setzero_si512();
                bt_transpose16_32(r);
                for (size_t q = 0; q < 16; q++) _mm512_storeu_si512(t + (d0 + q) * np + j0, r[q]);
            }
        }
        return;
    }
#endif
    // Each row's last vector zeroed first (one store, where a loop over the padding became a call of memset), then
    // its first n values written over it.
    const bt_vf zero = 0.0f;
    for (size_t d = 0; d < hs; d++) BT_STORE(t + d * np + np - BT_LANES, zero);
    for (size_t j = 0; j < n; j++) {
        const float *row = x + j * ld;
        if (prefetch && j + BT_ROWS_AHEAD < n) bt_prefetch_floats(row + BT_ROWS_AHEAD * ld, hs);
        // Scalar stores: vectorised, this loop becomes scatter instructions, slow on the cores that have them.
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
        for (size_t d = 0; d < hs; d++) t[d * np + j] = row[d];
    }
}

/// s[i·np + j] = alpha · Σ_d a[i·lda + d] · bt[d·np + j] for i < rows, j < np.
BT_INLINE void BT_NAME(bt_attention_scores)(float *s, const float *a, size_t lda, const float *bt, size_t rows,
                                             size_t np, size_t depth, float alpha, int prefetch) {
    size_t i = 0;
    for (; i + 4 <= rows; i += 4) {
        const float *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        if (prefetch)
            for (size_t r = i + 4; r < i + 8 && r < rows; r++) bt_prefetch_floats(a + r * lda, depth);
        size_t j = 0;
#if BT_WIDE_BLOCKS
        // Two vectors of columns at once: eight independent sums, enough to keep two FMA units busy through
        // their latency (four are not). Each sum runs over d in the same order as below.
        for (; j + 2 * BT_LANES <= np; j += 2 * BT_LANES) {
            bt_vf c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f, e0 = 0.0f, e1 = 0.0f, e2 = 0.0f, e3 = 0.0f, b, f;
            for (size_t d = 0; d < depth; d++) {
                BT_LOAD(b, bt + d * np + j);
                BT_LOAD(f, bt + d * np + j + BT_LANES);
                bt_vf x0 = a0[d], x1 = a1[d], x2 = a2[d], x3 = a3[d];
                c0 = BT_MUL_ADD(x0, b, c0); e0 = BT_MUL_ADD(x0, f, e0);
                c1 = BT_MUL_ADD(x1, b, c1); e1 = BT_MUL_ADD(x1, f, e1);
                c2 = BT_MUL_ADD(x2, b, c2); e2 = BT_MUL_ADD(x2, f, e2);
                c3 = BT_MUL_ADD(x3, b, c3); e3 = BT_MUL_ADD(x3, f, e3);
            }
            c0 = c0 * alpha; c1 = c1 * alpha; c2 = c2 * alpha; c3 = c3 * alpha;
            e0 = e0 * alpha; e1 = e1 * alpha; e2 = e2 * alpha; e3 = e3 * alpha;
            BT_STORE(s + i * np + j, c0); BT_STORE(s + i * np + j + BT_LANES, e0);
            BT_STORE(s + (i + 1) * np + j, c1); BT_STORE(s + (i + 1) * np + j + BT_LANES, e1);
            BT_STORE(s + (i + 2) * np + j, c2); BT_STORE(s + (i + 2) * np + j + BT_LANES, e2);
            BT_STORE(s + (i + 3) * np + j, c3); BT_STORE(s + (i + 3) * np + j + BT_LANES, e3);
        }
#endif
        for (; j < np; j += BT_LANES) {
            bt_vf c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f, b;
            for (size_t d = 0; d < depth; d++) {
                BT_LOAD(b, bt + d * np + j);
                bt_vf x0 = a0[d], x1 = a1[d], x2 = a2[d], x3 = a3[d];
                c0 = BT_MUL_ADD(x0, b, c0);
                c1 = BT_MUL_ADD(x1, b, c1);
                c2 = BT_MUL_ADD(x2, b, c2);
                c3 = BT_MUL_ADD(x3, b, c3);
            }
            c0 = c0 * alpha; c1 = c1 * alpha; c2 = c2 * alpha; c3 = c3 * alpha;
            BT_STORE(s + i * np + j, c0);
            BT_STORE(s + (i + 1) * np + j, c1);
            BT_STORE(s + (i + 2) * np + j, c2);
            BT_STORE(s + (i + 3) * np + j, c3);
        }
    }
    for (; i < rows; i++) {
        const float *a0 = a + i * lda;
        for (size_t j = 0; j < np; j += BT_LANES) {
            bt_vf c0 = 0.0f, b;
            for (size_t d = 0; d < depth; d++) {
                BT_LOAD(b, bt + d * np + j);
                bt_vf x0 = a0[d];
                c0 = BT_MUL_ADD(x0, b, c0);
            }
            c0 = c0 * alpha;
            BT_STORE(s + i * np + j, c0);
        }
    }
}

/// out[i·ldo + d] = alpha · Σ_{j < inner} p(i, j) · x[j·ldx + d] for i < rows, d < width, where p(i, j) is
/// p[i·np + j], or p[j·np + i] when `transposed`.
BT_INLINE void BT_NAME(bt_attention_weighted_rows)(float *out, size_t ldo, const float *p, size_t np, int transposed,
                                                    const float *x, size_t ldx, size_t rows, size_t inner,
                                                    size_t width, float alpha, int prefetch) {
    const size_t row_step = transposed ? 1 : np, inner_step = transposed ? np : 1;
    size_t d0 = 0;
#if BT_WIDE_BLOCKS
    // Two vectors of columns at once (a head of 32 is one such step): eight independent sums, each over j in the
    // same order as below.
    for (; d0 + 2 * BT_LANES <= width; d0 += 2 * BT_LANES) {
        size_t i = 0;
        for (; i + 4 <= rows; i += 4) {
            bt_vf c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f, e0 = 0.0f, e1 = 0.0f, e2 = 0.0f, e3 = 0.0f, b, f;
            const float *pi = p + i * row_step;
            for (size_t j = 0; j < inner; j++) {
                if (prefetch && i == 0 && j + BT_ROWS_AHEAD < inner) __builtin_prefetch(x + (j + BT_ROWS_AHEAD) * ldx + d0);
                BT_LOAD(b, x + j * ldx + d0);
                BT_LOAD(f, x + j * ldx + d0 + BT_LANES);
                const float *pj = pi + j * inner_step;
                bt_vf p0 = pj[0], p1 = pj[row_step], p2 = pj[2 * row_step], p3 = pj[3 * row_step];
                c0 = BT_MUL_ADD(p0, b, c0); e0 = BT_MUL_ADD(p0, f, e0);
                c1 = BT_MUL_ADD(p1, b, c1); e1 = BT_MUL_ADD(p1, f, e1);
                c2 = BT_MUL_ADD(p2, b, c2); e2 = BT_MUL_ADD(p2, f, e2);
                c3 = BT_MUL_ADD(p3, b, c3); e3 = BT_MUL_ADD(p3, f, e3);
            }
            c0 = c0 * alpha; c1 = c1 * alpha; c2 = c2 * alpha; c3 = c3 * alpha;
            e0 = e0 * alpha; e1 = e1 * alpha; e2 = e2 * alpha; e3 = e3 * alpha;
            float *o = out + i * ldo + d0;
            BT_STORE(o, c0); BT_STORE(o + ldo, c1); BT_STORE(o + 2 * ldo, c2); BT_STORE(o + 3 * ldo, c3);
            o += BT_LANES;
            BT_STORE(o, e0); BT_STORE(o + ldo, e1); BT_STORE(o + 2 * ldo, e2); BT_STORE(o + 3 * ldo, e3);
        }
        for (; i < rows; i++) {
            bt_vf c0 = 0.0f, e0 = 0.0f, b, f;
            const float *pi = p + i * row_step;
            for (size_t j = 0; j < inner; j++) {
                BT_LOAD(b, x + j * ldx + d0);
                BT_LOAD(f, x + j * ldx + d0 + BT_LANES);
                bt_vf p0 = pi[j * inner_step];
                c0 = BT_MUL_ADD(p0, b, c0); e0 = BT_MUL_ADD(p0, f, e0);
            }
            c0 = c0 * alpha; e0 = e0 * alpha;
            BT_STORE(out + i * ldo + d0, c0); BT_STORE(out + i * ldo + d0 + BT_LANES, e0);
        }
    }
#endif
    for (; d0 < width; d0 += BT_LANES) {
        const size_t w = width - d0 < BT_LANES ? width - d0 : BT_LANES;
        size_t i = 0;
        for (; i + 4 <= rows; i += 4) {
            bt_vf c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f, b;
            const float *pi = p + i * row_step;
            for (size_t j = 0; j < inner; j++) {
                if (prefetch && i == 0 && j + BT_ROWS_AHEAD < inner) __builtin_prefetch(x + (j + BT_ROWS_AHEAD) * ldx + d0);
                if (w == BT_LANES) BT_LOAD(b, x + j * ldx + d0); else bt_load_part(&b, x + j * ldx + d0, w, 0.0f);
                const float *pj = pi + j * inner_step;
                bt_vf p0 = pj[0], p1 = pj[row_step], p2 = pj[2 * row_step], p3 = pj[3 * row_step];
                c0 = BT_MUL_ADD(p0, b, c0);
                c1 = BT_MUL_ADD(p1, b, c1);
                c2 = BT_MUL_ADD(p2, b, c2);
                c3 = BT_MUL_ADD(p3, b, c3);
            }
            c0 = c0 * alpha; c1 = c1 * alpha; c2 = c2 * alpha; c3 = c3 * alpha;
            float *o = out + i * ldo + d0;
            if (w == BT_LANES) {
                BT_STORE(o, c0); BT_STORE(o + ldo, c1); BT_STORE(o + 2 * ldo, c2); BT_STORE(o + 3 * ldo, c3);
            } else {
                bt_store_part(o, &c0, w); bt_store_part(o + ldo, &c1, w);
                bt_store_part(o + 2 * ldo, &c2, w); bt_store_part(o + 3 * ldo, &c3, w);
            }
        }
        for (; i < rows; i++) {
            bt_vf c0 = 0.0f, b;
            const float *pi = p + i * row_step;
            for (size_t j = 0; j < inner; j++) {
                if (w == BT_LANES) BT_LOAD(b, x + j * ldx + d0); else bt_load_part(&b, x + j * ldx + d0, w, 0.0f);
                bt_vf p0 = pi[j * inner_step];
                c0 = BT_MUL_ADD(p0, b, c0);
            }
            c0 = c0 * alpha;
            if (w == BT_LANES) BT_STORE(out + i * ldo + d0, c0); else bt_store_part(out + i * ldo + d0, &c0, w);
        }
    }
}

// Attention's blocks are held transposed: row i holds key i's entry for every query, so a query's softmax runs
// down a column. Sixteen queries at a time, each a lane, every sum and maximum of a query over its keys runs as
// bt_softmax_row and bt_softmax_backward_row run it over a row (keys i ≡ j (mod 16) in lane j's partial sum, then
// one fixed tree), with vectors of sixteen queries where those have scalars: no reduction across the lanes of a
// vector and one division for sixteen queries, where a row at a time reduced across lanes twice and divided once
// for each query. Columns from n to np (the padding of the last sixteen queries) get values no one reads.

/// The softmax down the columns r < n of a block's rows i < n (np apart): column r becomes query r's
/// probabilities, the bits of bt_softmax_row over query r's n scores. Keys from n to np count as the padding of a
/// row of np does: -∞ to the maxima, nothing to the sums (zeros, which change no sum of exponentials).
BT_INLINE void BT_NAME(bt_attention_softmax_columns)(float *p, size_t n, size_t np) {
    // Keys in blocks of sixteen, key i0 + j in lane j's vectors: indices known when compiled keep the vectors in
    // registers.
    for (size_t r0 = 0; r0 < np; r0 += BT_LANES) {
        bt_vf most[BT_LANES], sums[BT_LANES], v, e;
        for (int j = 0; j < BT_LANES; j++) { most[j] = -INFINITY; sums[j] = 0.0f; }
        for (size_t i0 = 0; i0 < np; i0 += BT_LANES) {
            _Pragma("clang loop unroll(full)")
            for (int j = 0; j < BT_LANES; j++) {
                if (i0 + j < n) BT_LOAD(v, p + (i0 + j) * np + r0); else v = -INFINITY;
                most[j] = most[j] >= v ? most[j] : v;
            }
        }
        bt_max_vectors(most);
        for (size_t i0 = 0; i0 < n; i0 += BT_LANES) {
            _Pragma("clang loop unroll(full)")
            for (int j = 0; j < BT_LANES; j++) {
                if (i0 + j >= n) break;
                float *row = p + (i0 + j) * np + r0;
                BT_LOAD(v, row);
                v = v - most[0];
                fast_exp_v(&e, &v);
                BT_STORE(row, e);
                sums[j] += e;
            }
        }
        bt_reduce_vectors(sums);
        const bt_vf inv = 1.0f / sums[0];
        for (size_t i = 0; i < n; i++) {
            BT_LOAD(v, p + i * np + r0);
            v = v * inv;
            BT_STORE(p + i * np + r0, v);
        }
    }
}

/// ds = p · (dp - Σ_i dp · p) down the columns r < n (rows i < n, np apart), in place of dp: bt_softmax_backward_row's
/// bits for each query. With `kept` (dropout's output for p) not NULL, dp is first dropped where dropout dropped p:
/// dp · scale where kept is not zero, else 0.
BT_INLINE void BT_NAME(bt_attention_softmax_backward_columns)(float *ds, const float *p, const float *kept, float scale,
                                                               size_t n, size_t np) {
    for (size_t r0 = 0; r0 < np; r0 += BT_LANES) {
        bt_vf sums[BT_LANES], dp, pv, kv;
        for (int j = 0; j < BT_LANES; j++) sums[j] = 0.0f;
        for (size_t i0 = 0; i0 < n; i0 += BT_LANES) {
            _Pragma("clang loop unroll(full)")
            for (int j = 0; j < BT_LANES; j++) {
                if (i0 + j >= n) break;
                const size_t at = (i0 + j) * np + r0;
                BT_LOAD(dp, ds + at);
                if (kept) {
                    BT_LOAD(kv, kept + at);
                    dp = kv != 0.0f ? dp * scale : 0.0f;
                    BT_STORE(ds + at, dp);
                }
                BT_LOAD(pv, p + at);
                sums[j] += dp * pv;
            }
        }
        bt_reduce_vectors(sums);
        const bt_vf dot = sums[0];
        for (size_t i = 0; i < n; i++) {
            BT_LOAD(dp, ds + i * np + r0);
            BT_LOAD(pv, p + i * np + r0);
            dp = pv * (dp - dot);
            BT_STORE(ds + i * np + r0, dp);
        }
    }
}

/// The forward's probabilities transposed, after dropout, into `probs` [n, np]: row i holds every query's
/// probability of key i, from scale · k qᵀ (`transposed` takes qᵀ) and the softmax down its columns, each value with
/// the bits of softmax(scale · q kᵀ)'s: a score's terms are the same products in the same order. Query r's
/// probability of key i has dropout's counter counter_base + r · counter_row_stride + i (drawn for whole rows of np,
/// the padding's columns too, so a row is whole vectors); with `kept` NULL dropout works in place, else it writes
/// `kept` and leaves `probs` as the softmax gave it.
BT_INLINE void BT_NAME(bt_attention_probabilities)(float *probs, float *kept, float *transposed, const float *q,
                                                    const float *k, size_t n, size_t np, size_t hs, size_t ld,
                                                    float scale, const bt_dropout *dropout, uint32_t counter_base,
                                                    uint32_t counter_row_stride, int prefetch) {
    BT_NAME(bt_attention_transpose)(transposed, q, n, np, hs, ld, prefetch);
    BT_NAME(bt_attention_scores)(probs, k, ld, transposed, n, np, hs, scale, prefetch);
    BT_NAME(bt_attention_softmax_columns)(probs, n, np);
    if (dropout)
        for (size_t i = 0; i < n; i++)
            bt_dropout_row((kept ? kept : probs) + i * np, probs + i * np, np, dropout, counter_base + (uint32_t)i,
                           counter_row_stride);
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_attention_forward)(float *out, size_t ldo, const float *q, const float *k, const float *v, size_t n,
                                   size_t hs, size_t ld, float scale, const bt_dropout *dropout, uint32_t counter_base,
                                   uint32_t counter_row_stride, float *scratch, uint16_t *out16) {
    if (n == 0) return;
    const size_t np = bt_attention_padded(n);
    float *probs = scratch, *transposed = scratch + 3 * n * np;
    BT_NAME(bt_attention_probabilities)(probs, NULL, transposed, q, k, n, np, hs, ld, scale, dropout, counter_base,
                                        counter_row_stride, 1);
    // out = p · v, reading the probabilities' block transposed.
    BT_NAME(bt_attention_weighted_rows)(out, ldo, probs, np, 1, v, ld, n, n, hs, 1.0f, 1);
    // The head's block converted while it is in cache, for the output projection's BF16 product.
    if (out16)
        for (size_t i = 0; i < n; i++) BT_NAME(bt_convert_f32_to_bf16)(out16 + i * ldo, out + i * ldo, hs);
}

BT_VARIANT_FUNCTION
void BT_NAME(bt_attention_backward)(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                                    const float *v, size_t n, size_t hs, size_t ld, float scale,
                                    const bt_dropout *dropout, uint32_t counter_base, uint32_t counter_row_stride,
                                    float *scratch) {
    if (n == 0) return;
    const size_t np = bt_attention_padded(n);
    float *probs = scratch, *kept = scratch + n * np, *dprobs = scratch + 2 * n * np, *transposed = scratch + 3 * n * np;
    // The forward's probabilities, recomputed, and what dropout kept of them; every block below is transposed as
    // they are (row i: key i, for every query).
    BT_NAME(bt_attention_probabilities)(probs, dropout ? kept : NULL, transposed, q, k, n, np, hs, ld, scale, dropout,
                                        counter_base, counter_row_stride, 0);
    if (!dropout) kept = probs;
    // out = kept · v: dv = keptᵀ · dout, dkept = dout · vᵀ (held as v · doutᵀ).
    BT_NAME(bt_attention_weighted_rows)(dv, ld, kept, np, 0, dout, ld, n, n, hs, 1.0f, 0);
    BT_NAME(bt_attention_transpose)(transposed, dout, n, np, hs, ld, 0);
    BT_NAME(bt_attention_scores)(dprobs, v, ld, transposed, n, np, hs, 1.0f, 0);
    BT_NAME(bt_attention_softmax_backward_columns)(dprobs, probs, dropout ? kept : NULL,
                                                   dropout ? dropout->scale : 1.0f, n, np);
    // scores = scale · q kᵀ: dq = scale · dscores · k, dk = scale · dscoresᵀ · q.
    BT_NAME(bt_attention_weighted_rows)(dq, ld, dprobs, np, 1, k, ld, n, n, hs, scale, 0);
    BT_NAME(bt_attention_weighted_rows)(dk, ld, dprobs, np, 0, q, ld, n, n, hs, scale, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// What follows an INT8 product in inference, row by row while the row is in the first-level cache: its sums scaled
// back, then the layer's next steps, then the next product's input quantized. Each row gets the operations of the
// kernels above in the same order (the same bits as running them one after another over the whole matrix).

/// out8 row r (scales out_scales[r]) = the 8-bit quantization of GELU(sums · row_scales · column_scales + bias):
/// the intermediate projection's rows to the output projection's input. `row` is n floats of scratch. The erf form
/// runs GELU by cubic pieces (bt_gelu_pieces_forward), in one pass with the scaling and the running maximum; the
/// other forms run bt_gelu_forward. Either way the bits of bt_dequantize_rows, the GELU and bt_quantize_rows_s8
/// one after another.
BT_VARIANT_FUNCTION
void BT_NAME(bt_int8_gelu_rows)(int8_t *out8, float *out_scales, int32_t *out_sums, const int32_t *sums,
                                const float *row_scales, const float *column_scales, const float *bias, size_t rows,
                                size_t n, int form, float *row) {
    if (form != BT_GELU_ERF) {
        for (size_t r = 0; r < rows; r++) {
            BT_NAME(bt_dequantize_rows)(row, sums + r * n, row_scales + r, column_scales, bias, 1, n);
            BT_NAME(bt_gelu_forward)(row, row, n, form);
            BT_NAME(bt_quantize_rows_s8)(out8 + r * n, out_scales + r, out_sums ? out_sums + r : NULL, row, 1, n);
        }
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const int32_t *a = sums + r * n;
        const float s = row_scales[r];
        bt_vf most = 0.0f, x, column, b = 0.0f, g;
        bt_vi whole;
        for (size_t i = 0; i < n; i += BT_LANES) {
            const size_t w = n - i < BT_LANES ? n - i : BT_LANES;
            // The padding past n is a zero sum, scale and bias: GELU(0) = 0, which changes no maximum.
            if (w == BT_LANES) {
                memcpy(&whole, a + i, sizeof whole);
                BT_LOAD(column, column_scales + i);
                if (bias) BT_LOAD(b, bias + i);
            } else {
                whole = 0;
                for (size_t j = 0; j < w; j++) whole[j] = a[i + j];
                bt_load_part(&column, column_scales + i, w, 0.0f);
                if (bias) bt_load_part(&b, bias + i, w, 0.0f);
            }
            x = __builtin_convertvector(whole, bt_vf) * s * column;
            if (bias) x = x + b;
            BT_NAME(bt_gelu_pieces_v)(&g, &x);
            if (w == BT_LANES) BT_STORE(row + i, g); else bt_store_part(row + i, &g, w);
            g = g < 0.0f ? -g : g;
            most = g > most ? g : most;
        }
        float lanes[BT_LANES];
        memcpy(lanes, &most, sizeof lanes);
        BT_NAME(bt_quantize_row_s8)(out8 + r * n, out_scales + r, row, n, bt_max_lanes(lanes),
                                    out_sums ? out_sums + r : NULL);
    }
}

/// out row r = LayerNorm(sums · row_scales · column_scales + bias + skip) (mean and rstd kept), and, when out8 is
/// not NULL, its 8-bit quantization: an output projection's rows through the residual LayerNorm to the next
/// product's input. `row` is C floats of scratch (the residual, not kept).
BT_VARIANT_FUNCTION
void BT_NAME(bt_int8_residual_layernorm_rows)(float *out, float *mean, float *rstd, int8_t *out8, float *out_scales,
                                              int32_t *out_sums, const int32_t *sums, const float *row_scales,
                                              const float *column_scales, const float *bias, const float *skip,
                                              const float *weight, const float *ln_bias, size_t rows, size_t C,
                                              float eps, float *row) {
    for (size_t r = 0; r < rows; r++) {
        BT_NAME(bt_dequantize_rows)(row, sums + r * C, row_scales + r, column_scales, bias, 1, C);
        BT_NAME(bt_residual_layernorm_forward)(out + r * C, mean + r, rstd + r, row, row, skip + r * C, weight,
                                               ln_bias, 1, C, eps, NULL, 0, NULL);
        if (out8)
            BT_NAME(bt_quantize_rows_s8)(out8 + r * C, out_scales + r, out_sums ? out_sums + r : NULL, out + r * C, 1,
                                         C);
    }
}
