// Multiply-adds per nanosecond, on one thread, of the inner step of a matrix-product tile on AVX2 in three forms,
// with everything in registers (so each figure is the core's own ceiling for that form): single precision (12
// fused multiply-adds of 8 lanes), and the two exact ways AVX2 has to multiply 8-bit values, which has no 8-bit dot
// product: both values widened to int16 (12 vpmaddwd of 16 products, each followed by a vpaddd into int32), and
// bytes kept (vpmaddubsw takes one operand unsigned and saturates its int16 pair sums, so a row's magnitudes meet
// the weight carrying the row's signs, vpsignb; then vpmaddwd against ones and vpaddd: 8 steps of 32 products). The
// ratio of an 8-bit form to single precision bounds what INT8 products could gain over FP32 ones on the processor.
// Build and run:
//   clang -O2 Benchmarks/kernels/int8_avx2_rate.c -o /tmp/int8_avx2_rate && taskset -c 0 /tmp/int8_avx2_rate
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
#define STEPS 40000000L
#define KEEP(x) __asm__ volatile("" : "+x"(x[0]), "+x"(x[1]), "+x"(x[2]), "+x"(x[3]), "+x"(x[4]), "+x"(x[5]), \
                                 "+x"(x[6]), "+x"(x[7]), "+x"(x[8]), "+x"(x[9]), "+x"(x[10]), "+x"(x[11]))
__attribute__((target("avx2,fma"))) int main(void) {
  // A row's value (or group of values) is broadcast from memory at each step, as a kernel's tile does.
  static float fa[6] = {0.001f, 0.002f, 0.003f, 0.004f, 0.005f, 0.006f};
  static int av[6] = {0x00070003, 0x00070004, 0x00070005, 0x00070006, 0x00070007, 0x00070008};
  float *volatile fp = fa; int *volatile ap = av;
  const float *frow = fp; const int *arow = ap;
  __m256 f[12], fw0 = _mm256_set1_ps(0.5f), fw1 = _mm256_set1_ps(0.25f);
  __m256i acc[12], w0 = _mm256_set1_epi16(3), w1 = _mm256_set1_epi16(-5), ones = _mm256_set1_epi16(1);
  for (int i = 0; i < 12; i++) { f[i] = _mm256_setzero_ps(); acc[i] = _mm256_setzero_si256(); }
  double best[3] = {0, 0, 0};
  for (int round = 0; round < 3; round++) {
    double s = now();
    for (long i = 0; i < STEPS; i++) {
      __asm__ volatile("" : "+x"(fw0), "+x"(fw1));
      for (int r = 0; r < 6; r++) {
        const __m256 x = _mm256_broadcast_ss(frow + r);
        f[2*r] = _mm256_fmadd_ps(x, fw0, f[2*r]);
        f[2*r+1] = _mm256_fmadd_ps(x, fw1, f[2*r+1]);
      }
      KEEP(f);
    }
    double rate = 12.0 * 8 * STEPS / (now() - s) / 1e9; if (rate > best[0]) best[0] = rate;
    s = now();
    for (long i = 0; i < STEPS; i++) {
      __asm__ volatile("" : "+x"(w0), "+x"(w1));
      for (int r = 0; r < 6; r++) {
        const __m256i x = _mm256_set1_epi32(arow[r]);
        acc[2*r] = _mm256_add_epi32(acc[2*r], _mm256_madd_epi16(w0, x));
        acc[2*r+1] = _mm256_add_epi32(acc[2*r+1], _mm256_madd_epi16(w1, x));
      }
      KEEP(acc);
    }
    rate = 12.0 * 16 * STEPS / (now() - s) / 1e9; if (rate > best[1]) best[1] = rate;
    s = now();
    for (long i = 0; i < STEPS; i++) {
      __asm__ volatile("" : "+x"(w0), "+x"(w1));
      for (int r = 0; r < 4; r++) {
        const __m256i x = _mm256_set1_epi32(arow[r]), magnitudes = _mm256_abs_epi8(x);
        acc[2*r] = _mm256_add_epi32(acc[2*r], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(w0, x)), ones));
        acc[2*r+1] = _mm256_add_epi32(acc[2*r+1], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(w1, x)), ones));
      }
      KEEP(acc);
    }
    rate = 8.0 * 32 * STEPS / (now() - s) / 1e9; if (rate > best[2]) best[2] = rate;
  }
  printf("multiply-adds per ns, best of 3: fp32 FMA %.1f; int8 widened to int16 (vpmaddwd) %.1f (%.2fx); "
         "int8 bytes (vpsignb, vpmaddubsw, vpmaddwd) %.1f (%.2fx)\n",
         best[0], best[1], best[1] / best[0], best[2], best[2] / best[0]);
  int sink = 0; for (int j = 0; j < 12; j++) sink += _mm256_extract_epi32(acc[j], 0) + (int)f[j][0];
  return sink == 123456789;
}
