// GFLOP/s of the tool's AMX kernel (bt_amx_gemm) on one thread, every quarter of a second: 512 × 384 × 384 BF16
// products, the inputs cached, so the figure is the tiles' own rate on the core that runs it. On a shared machine
// (a virtual machine whose neighbours use the same core's matrix units) it moves within seconds, and each core on
// its own; pin it to one core at a time to see each. Build beside the CKernels sources and run:
//   clang -O3 -ISources/CKernels/include -ISources/CKernels -c Sources/CKernels/bt_amx_gemm.c -o /tmp/bt_amx_gemm.o
//   clang -O3 -ISources/CKernels/include -c Sources/CKernels/bt_kernels.c -o /tmp/bt_kernels.o
//   clang -O2 -ISources/CKernels/include Benchmarks/kernels/amx_rate.c /tmp/bt_amx_gemm.o /tmp/bt_kernels.o -lm -lpthread -o /tmp/amx_rate
//   for cpu in 0 1; do taskset -c $cpu /tmp/amx_rate 2; done
// The argument is the seconds to run (default 3).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bt_kernels.h"
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  if(!bt_amx_request()){fprintf(stderr,"this processor or kernel gives no AMX tiles\n");return 1;}
  double seconds=argc>1?atof(argv[1]):3;
  size_t m=512,n=384,k=384;
  uint16_t *a=aligned_alloc(64,m*k*2),*b=malloc(n*k*2),*packed=aligned_alloc(64,bt_amx_packed_elements(k,n)*2);
  float *c=aligned_alloc(64,m*n*4);
  for(size_t i=0;i<m*k;i++) a[i]=0x3f80+(uint16_t)(rand()%64);   // bfloat16 values in [1, 2)
  for(size_t i=0;i<n*k;i++) b[i]=0x3c00+(uint16_t)(rand()%64);
  bt_amx_pack(packed,b,k,1,k,n,0,n/16);
  double start=now();
  printf("seconds  GFLOP/s\n");
  while(now()-start<seconds){
    double s=now(); long reps=0;
    while(now()-s<0.25){bt_amx_gemm(c,n,a,k,packed,m,n,k,0,NULL,0,n/16); reps++;}
    printf("%7.2f  %7.0f\n",now()-start,2.0*m*n*k*reps/(now()-s)/1e9);
  }
  return 0;
}
