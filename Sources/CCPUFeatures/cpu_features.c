#include "cpu_features.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

void bt_cpu_features_read(bt_cpu_features *out) {
    memset(out, 0, sizeof *out);
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned maxLeaf = a;
    memcpy(out->vendor + 0, &b, 4);
    memcpy(out->vendor + 4, &d, 4);
    memcpy(out->vendor + 8, &c, 4);

    __get_cpuid(1, &a, &b, &c, &d);
    unsigned baseFamily = (a >> 8) & 0xf, baseModel = (a >> 4) & 0xf;
    out->family = baseFamily == 0xf ? baseFamily + ((a >> 20) & 0xff) : baseFamily;
    out->model = (baseFamily == 0x6 || baseFamily == 0xf) ? baseModel + (((a >> 16) & 0xf) << 4) : baseModel;
    out->stepping = a & 0xf;
    out->sse3 = c & (1u << 0);
    out->ssse3 = c & (1u << 9);
    out->sse41 = c & (1u << 19);
    out->sse42 = c & (1u << 20);
    bool osxsave = c & (1u << 27);
    bool cpuAVX = c & (1u << 28), cpuFMA = c & (1u << 12), cpuF16C = c & (1u << 29);

    // The OS must save the registers: XMM|YMM (bits 1, 2) for AVX; opmask|ZMM_Hi256|Hi16_ZMM (5-7) for
    // AVX-512; XTILECFG|XTILEDATA (17, 18) for AMX.
    unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
    bool osAVX = (xcr0 & 0x6) == 0x6;
    bool osAVX512 = osAVX && (xcr0 & 0xe0) == 0xe0;
    bool osAMX = (xcr0 & 0x60000ull) == 0x60000ull;
    out->avx = cpuAVX && osAVX;
    out->fma = cpuFMA && osAVX;
    out->f16c = cpuF16C && osAVX;

    if (maxLeaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        unsigned maxSubleaf = a;
        out->avx2 = osAVX && (b & (1u << 5));
        out->avx512f = osAVX512 && (b & (1u << 16));
        out->avx512dq = osAVX512 && (b & (1u << 17));
        out->avx512cd = osAVX512 && (b & (1u << 28));
        out->avx512bw = osAVX512 && (b & (1u << 30));
        out->avx512vl = osAVX512 && (b & (1u << 31));
        out->avx512vnni = osAVX512 && (c & (1u << 11));
        out->avx512fp16 = osAVX512 && (d & (1u << 23));
        out->amxBF16 = osAMX && (d & (1u << 22));
        out->amxTile = osAMX && (d & (1u << 24));
        out->amxInt8 = osAMX && (d & (1u << 25));
        if (maxSubleaf >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            out->avx512bf16 = osAVX512 && (a & (1u << 5));
        }
    }

    __get_cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000004) {
        unsigned regs[12];
        for (unsigned leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &regs[leaf * 4], &regs[leaf * 4 + 1], &regs[leaf * 4 + 2], &regs[leaf * 4 + 3]);
        memcpy(out->brand, regs, 48);
        out->brand[48] = 0;
    }
}

#else

void bt_cpu_features_read(bt_cpu_features *out) { memset(out, 0, sizeof *out); }

#endif
