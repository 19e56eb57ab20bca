#ifndef BT_CPU_FEATURES_H
#define BT_CPU_FEATURES_H

#include <stdbool.h>

/// What the processor reports through CPUID, and which register states the operating system saves
/// (XGETBV): an instruction set counts only when both agree. Everything is false off x86-64.
typedef struct {
    char vendor[13];       // "GenuineIntel", "AuthenticAMD", ...
    char brand[49];        // "Intel(R) Xeon(R) ..."
    unsigned family;       // display family (base + extended)
    unsigned model;        // display model (base + extended)
    unsigned stepping;
    bool sse3, ssse3, sse41, sse42;
    bool avx, fma, f16c, avx2;
    bool avx512f, avx512dq, avx512cd, avx512bw, avx512vl;
    bool avx512vnni, avx512bf16, avx512fp16;
    bool amxTile, amxBF16, amxInt8;
} bt_cpu_features;

/// Fills `out` from CPUID leaves 0, 1, 7 (subleaves 0 and 1) and 0x80000002-4, and XCR0.
void bt_cpu_features_read(bt_cpu_features *out);

#endif
