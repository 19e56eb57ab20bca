// Microseconds per (sequence, head) of the fused attention kernels, forward and backward, for heads of 32 in a
// [n, 1152] q/k/v layout (the default encoder's), on one thread, best of seven timings. Build beside the
// CKernels sources and run:
//   clang -O3 -ISources/CKernels/include -c Sources/CKernels/bt_kernels.c -o /tmp/bt_kernels.o
//   clang -O2 -ISources/CKernels/include Benchmarks/kernels/attention_heads.c /tmp/bt_kernels.o -lm -o /tmp/attention_heads
//   /tmp/attention_heads
// BERT_TAGGER_MAX_CPU_ISA=avx2 (or sse41) times a narrower variant of the same kernels; `/tmp/attention_heads
// --dropout` times them with dropout 0.1 on the probabilities, as training runs them.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bt_kernels.h"
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  size_t ld=1152, hs=32; float scale=0.176f;
  // Dropout 0.1: elements whose 24 high bits of the counter's hash fall below 0.1 · 2^24 are dropped.
  bt_dropout drop={12345,678,1677721,1.0f/0.9f}; const bt_dropout *dropout=argc>1&&!strcmp(argv[1],"--dropout")?&drop:NULL;
  float *q=malloc(4*128*ld),*k=malloc(4*128*ld),*v=malloc(4*128*ld),*o=malloc(4*128*ld),*dq=malloc(4*128*ld),*dk=malloc(4*128*ld),*dv=malloc(4*128*ld);
  float *scratch=malloc(4*4*128*128+4*128*64*4);
  for(size_t i=0;i<128*ld;i++){q[i]=(rand()%1000)/1000.0f-0.5f;k[i]=(rand()%1000)/1000.0f-0.5f;v[i]=(rand()%1000)/1000.0f-0.5f;}
  size_t ns[]={20,32,48,100};
  for(int a=0;a<4;a++){size_t n=ns[a]; double bf=1e9,bb=1e9; int reps=200000/n;
    for(int t=0;t<7;t++){double s=now(); for(int r=0;r<reps;r++) for(int h=0;h<12;h++) bt_attention_forward(o+h*hs,ld,q+h*hs,k+h*hs,v+h*hs,n,hs,ld,scale,dropout,0,0,scratch,NULL); double e=(now()-s)/reps/12; if(e<bf)bf=e;
      s=now(); for(int r=0;r<reps/2;r++) for(int h=0;h<12;h++) bt_attention_backward(dq+h*hs,dk+h*hs,dv+h*hs,o+h*hs,q+h*hs,k+h*hs,v+h*hs,n,hs,ld,scale,dropout,0,0,scratch); e=(now()-s)/(reps/2)/12; if(e<bb)bb=e;}
    printf("n %3zu: forward %.2f us, backward %.2f us per head\n",n,bf*1e6,bb*1e6);}
}
