#!/usr/bin/env python3
"""bert-tagger next to transformers' Trainer, PyTorch and ONNX Runtime, measured in one run on this machine.

    python3 Scripts/bench_side_by_side.py [--steps 40] [--threads 2] [--tagger-model DIR] [--skip-peers]
                                          [--cap avx2|avx512_core|avx512_core_bf16]

1. Training: `bert-tagger-bench train-step` (real CoNLL-2003 optimizer steps, 32 random sentences a batch) in fp32
   and bf16, then `Scripts/bench_peers.py train-steps` (the Trainer, 32 sentences a batch, fp32 and bf16=True)
   over the same number of steps; tokens per second of each and their ratios.
2. Tagging (with --tagger-model, a trained token-classification directory such as runs/NAME/best):
   `bert-tagger predict` on CoNLL-2003 test in fp32 and bf16, then `Scripts/bench_peers.py tag` (PyTorch eager
   and ONNX Runtime on the same weights); sentences per second and ratios.
Where `bert-tagger info` reports no BF16 hardware (the processor's or the cap's), PyTorch would emulate bf16 at a
few percent of its fp32 speed, so the peers run in fp32 only.

With --cap, every side runs as on a lesser processor of this machine's make: bert-tagger under
BERT_TAGGER_MAX_CPU_ISA, PyTorch under ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS and ONEDNN_MAX_CPU_ISA (its
own kernels, its BLAS and its oneDNN), so the ratios stand for a CPU without AMX (or without AVX-512) of the same
cores, caches and clock. The instruction sets are emulated, not the processor.

Runs one thing at a time: the figures assume the machine is otherwise idle (its load average is printed).
Needs the release build (`bash Scripts/setup.sh`) and, for the peers, the packages bench_peers.py lists.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, ".build", "release", "bert-tagger-bench")
TAGGER = os.path.join(ROOT, ".build", "release", "bert-tagger")


def run(command, env=None):
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{output}")
    return output


def first(pattern, text, what):
    match = re.search(pattern, text)
    if not match:
        sys.exit(f"could not find {what} in:\n{text}")
    return float(match.group(1).replace(",", ""))


# What each side is told for each cap: (BERT_TAGGER_MAX_CPU_ISA, ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS,
# ONEDNN_MAX_CPU_ISA).
CAPS = {
    "avx2": ("avx2", "avx2", "AVX2", "AVX2"),
    "avx512_core": ("avx512_core", "avx512", "AVX512", "AVX512_CORE"),
    "avx512_core_bf16": ("avx512_core_bf16", "avx512", "AVX512_E3", "AVX512_CORE_BF16"),
}


def capped_environments(cap):
    """The environments of bert-tagger's runs and of the peers' under `cap` (None: this processor as it is)."""
    ours, peers = dict(os.environ), dict(os.environ)
    if cap:
        tagger, aten, mkl, onednn = CAPS[cap]
        ours["BERT_TAGGER_MAX_CPU_ISA"] = tagger
        peers.update(ATEN_CPU_CAPABILITY=aten, MKL_ENABLE_INSTRUCTIONS=mkl, ONEDNN_MAX_CPU_ISA=onednn,
                     DNNL_MAX_CPU_ISA=onednn)
    return ours, peers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed optimizer steps on each side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tagger-model", help="a trained token-classification directory for the tagging comparison")
    parser.add_argument("--skip-peers", action="store_true", help="only bert-tagger's figures")
    parser.add_argument("--cap", choices=sorted(CAPS), help="run every side as on a processor with these instruction "
                        "sets at most (emulated on this one)")
    args = parser.parse_args()
    ours_env, peers_env = capped_environments(args.cap)
    for binary in (BENCH, TAGGER):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: run `bash Scripts/setup.sh` first")

    info = run([TAGGER, "info"], env=ours_env).strip()
    print(info)
    if args.cap:
        print("peers capped: " + ", ".join(f"{k}={peers_env[k]}" for k in
                                           ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")))
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    rows = []
    # PyTorch emulates bf16 where the processor, as `info` sees it (under the cap, if any), has no BF16 instructions.
    hardware = re.search(r"BF16 hardware: (.+)", info)
    if not hardware:
        sys.exit(f"could not find the BF16 hardware in `bert-tagger info`:\n{info}")
    peer_bf16_emulated = hardware.group(1).strip() == "none"

    ours = {}
    for precision in ("fp32", "bf16"):
        out = run([BENCH, "train-step", "--precision", precision, "--steps", str(args.steps),
                   "--threads", str(args.threads)], env=ours_env)
        ours[precision] = first(r"([\d.]+) tokens/s \(", out, "train-step tokens/s")
        rows.append((f"bert-tagger train step, {precision}", ours[precision], "tokens/s"))
    if not args.skip_peers:
        # Without BF16 instructions PyTorch emulates bf16=True at a few percent of its fp32 speed (21 against 456
        # tokens/s under the avx2 cap), so on such a processor, or under such a cap, the Trainer's best is its fp32
        # and bf16 is not run.
        peer_precisions = ("fp32",) if peer_bf16_emulated else ("fp32", "bf16")
        out = run([sys.executable, "Scripts/bench_peers.py", "train-steps", "--steps", str(args.steps),
                   "--threads", str(args.threads), "--precision", "both" if len(peer_precisions) == 2 else "fp32"],
                  env=peers_env)
        print("\n".join(line for line in out.splitlines()
                        if line.startswith(("cpu:", "versions:", "libraries:", "threads:", "onednn:"))))
        for precision in peer_precisions:
            peer = first(rf"trainer {precision}: [\d.]+ s/step, ([\d.]+) tokens/s", out, f"trainer {precision}")
            rows.append((f"Trainer step, {precision}", peer, "tokens/s"))
        trainer_best = max(r[1] for r in rows if r[0].startswith("Trainer"))
        for precision in ("fp32", "bf16"):
            rows.append((f"ratio bert-tagger {precision} / Trainer's best", ours[precision] / trainer_best, "×"))
        trainer_fp32 = next(r[1] for r in rows if r[0] == "Trainer step, fp32")
        rows.append(("ratio bert-tagger fp32 / Trainer fp32", ours["fp32"] / trainer_fp32, "×"))

    if args.tagger_model:
        test = os.path.join(ROOT, "data", "conll2003", "test.txt")
        tagged = {}
        with tempfile.TemporaryDirectory() as scratch:
            for precision in ("fp32", "bf16"):
                out = run([TAGGER, "predict", "--model", args.tagger_model, "--input", test,
                           "--output", os.path.join(scratch, f"{precision}.conll"), "--precision", precision,
                           "--threads", str(args.threads)], env=ours_env)
                sentences = first(r"tagged (\d+) sentences", out, "sentence count")
                seconds = first(r"in ([\d.]+) s", out, "seconds")
                tagged[precision] = sentences / seconds
                rows.append((f"bert-tagger predict CoNLL-2003 test, {precision}", tagged[precision], "sentences/s"))
        if not args.skip_peers:
            engines = ("torch-fp32", "ort-fp32") if peer_bf16_emulated else ("torch-fp32", "torch-bf16", "ort-fp32")
            out = run([sys.executable, "Scripts/bench_peers.py", "tag", "--model", args.tagger_model,
                       "--threads", str(args.threads), "--engines", ",".join(engines)], env=peers_env)
            for name in engines:
                peer = first(rf"tag {name}: ([\d.]+) sentences/s", out, name)
                rows.append((f"{name} tagging CoNLL-2003 test", peer, "sentences/s"))
            ort = next(r[1] for r in rows if r[0].startswith("ort-fp32"))
            for precision in ("fp32", "bf16"):
                rows.append((f"ratio bert-tagger predict {precision} / ONNX Runtime fp32", tagged[precision] / ort, "×"))

    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print()
    width = max(len(r[0]) for r in rows)
    for name, value, unit in rows:
        print(f"{name.ljust(width)}  {value:10.2f} {unit}")


if __name__ == "__main__":
    main()
