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

BT_VARIANT_FUNCTION
void BT_NAME(bt_adamw)(float *restrict parameters, const float *restrict gradients, float *restrict m, float *restrict v,
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

BT_VARIANT_FUNCTION
void BT_NAME(bt_dropout_forward)(float *out, const float *in, size_t count, bt_dropout dropout, uint32_t counter_base) {
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

BT_VARIANT_FUNCTION
void BT_NAME(bt_softmax_forward)(float *probs, const float *scores, size_t rows, size_t n) {
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

BT_VARIANT_FUNCTION
void BT_NAME(bt_softmax_backward)(float *dscores, const float *dprobs, const float *probs, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        const float *dp = dprobs + r * n, *p = probs + r * n;
        float *ds = dscores + r * n;
        float dot = bt_dot(dp, p, n);
        BT_ELEMENTWISE
        for (size_t j = 0; j < n; j++) ds[j] = p[j] * (dp[j] - dot);
    }
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
