#!/usr/bin/env python3
"""Tagging CoNLL-2003 test with bert-tagger's Tagger next to PyTorch eager, transformers' pipeline and ONNX Runtime.

    python3 Scripts/bench_tagging.py --model runs/NAME/best [--threads 2] [--rounds 3] [--latency-sentences 200]
                                     [--precision fp32,bf16,int8] [--corpus data/conll2003]

One fine-tuned model (a directory `train` wrote, or one saved by transformers) on every side, the same thread
count everywhere, one thing running at a time. Each round runs, in this order:

  `bert-tagger-bench tagger --headline` once per --precision: the Tagger on the 3,453 test sentences pre-split
      (first sub-word, Viterbi) and as raw text (the words joined by spaces; words and offsets found by the
      Tagger), and one raw sentence at a time for the latency;
  `Scripts/bench_peers.py tag --engines torch-fp32,ort-fp32,ort-int8,pipeline`: PyTorch eager and ONNX Runtime
      (fp32, exported from the same weights, and that file after ONNX Runtime's dynamic INT8 quantization)
      pre-split and on the same raw text, one raw sentence at a time, and
      pipeline("token-classification", aggregation_strategy="simple") on the raw text (it takes no pre-split
      words).

Rounds interleave the engines, so a drift of the machine's speed touches all of them; the table keeps each
figure's best round (highest sentences/s, lowest latency percentiles). Ratios are against ONNX Runtime fp32.
Needs the release build (`swift build -c release`) and the packages Scripts/bench_peers.py lists.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, ".build", "release", "bert-tagger-bench")
PEERS = ["torch-fp32", "ort-fp32", "ort-int8", "pipeline"]


def run(command):
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{output}")
    return output


def number(pattern, text, what):
    match = re.search(pattern, text)
    if not match:
        sys.exit(f"could not find {what} in:\n{text}")
    return float(match.group(1).replace(",", ""))


def ours(args, precision, test):
    out = run([BENCH, "tagger", "--headline", "--model", args.model, "--data", test, "--threads", str(args.threads),
               "--repeats", "1", "--latency-sentences", str(args.latency_sentences), "--precision", precision])
    return {
        "pre-split": number(r"Tagger, pre-split, first \+ viterbi\s+(\d+) sentences/s", out, "pre-split sentences/s"),
        "raw text": number(r"Tagger, raw text, first \+ viterbi\s+(\d+) sentences/s", out, "raw-text sentences/s"),
        "p50": number(r"one raw sentence at a time \(first \d+\): p50 ([\d.]+) ms", out, "p50"),
        "p99": number(r"one raw sentence at a time \(first \d+\): p50 [\d.]+ ms, p99 ([\d.]+) ms", out, "p99"),
    }, out


def peers(args):
    out = run([sys.executable, "Scripts/bench_peers.py", "tag", "--model", args.model, "--corpus", args.corpus,
               "--threads", str(args.threads), "--latency-sentences", str(args.latency_sentences),
               "--engines", ",".join(PEERS)])
    figures = {}
    for name in ("torch-fp32", "ort-fp32", "ort-int8"):
        raw = rf"tag {name} raw text: ([\d.]+) sentences/s"
        latency = rf"tag {name} raw text: [^\n]*latency p50 ([\d.]+) ms, p99 ([\d.]+) ms"
        match = re.search(latency, out)
        if not match:
            sys.exit(f"could not find {name}'s raw-text latency in:\n{out}")
        figures[name] = {
            "pre-split": number(rf"tag {name}: ([\d.]+) sentences/s", out, f"{name} sentences/s"),
            "raw text": number(raw, out, f"{name} raw-text sentences/s"),
            "p50": float(match.group(1)), "p99": float(match.group(2)),
        }
    match = re.search(r"tag pipeline: ([\d.]+) sentences/s[^\n]*latency p50 ([\d.]+) ms, p99 ([\d.]+) ms", out)
    if not match:
        sys.exit(f"could not find the pipeline's figures in:\n{out}")
    figures["pipeline"] = {"pre-split": None, "raw text": float(match.group(1)),
                           "p50": float(match.group(2)), "p99": float(match.group(3))}
    return figures, out


def keep_best(best, name, figures):
    row = best.setdefault(name, {})
    for key, value in figures.items():
        if value is None:
            row.setdefault(key, None)
            continue
        better = max if key in ("pre-split", "raw text") else min
        row[key] = value if row.get(key) is None else better(row[key], value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a fine-tuned token-classification directory")
    parser.add_argument("--corpus", default=os.path.join(ROOT, "data", "conll2003"), help="folder with test.txt")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-sentences", type=int, default=200)
    parser.add_argument("--precision", default="fp32,bf16",
                        help="comma-separated number formats of bert-tagger's products (fp32, bf16, int8, auto)")
    args = parser.parse_args()
    args.model = os.path.abspath(args.model)
    args.corpus = os.path.abspath(args.corpus)
    precisions = [p for p in args.precision.split(",") if p]
    test = os.path.join(args.corpus, "test.txt")
    if args.threads < 1 or args.rounds < 1 or args.latency_sentences < 1:
        parser.error("--threads, --rounds and --latency-sentences must be positive")
    if not precisions or any(p not in ("fp32", "bf16", "int8", "auto") for p in precisions):
        parser.error(f"--precision {args.precision}: give fp32, bf16, int8 or auto, comma-separated")
    if not os.path.isdir(args.model):
        sys.exit(f"--model {args.model}: no such directory")
    if not os.path.exists(test):
        sys.exit(f"{test}: not found; pass --corpus with the folder that holds CoNLL-2003's test.txt")
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} is missing: run `swift build -c release` first")

    print("load average before:", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    best = {}
    header = None
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number} of {args.rounds}", flush=True)
        for precision in precisions:
            figures, out = ours(args, precision, test)
            header = header or next((line for line in out.splitlines() if line.startswith("machine:")), None)
            keep_best(best, f"bert-tagger Tagger {precision}", figures)
            print(f"  bert-tagger {precision}: {figures}", flush=True)
        figures, out = peers(args)
        if round_number == 1:
            print("\n".join(line for line in out.splitlines()
                            if line.startswith(("cpu:", "versions:", "threads:", "onnx:", "agreement"))))
        for name in PEERS:
            keep_best(best, name, figures[name])
            print(f"  {name}: {figures[name]}", flush=True)
    print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if header:
        print(header)
    print(f"\nCoNLL-2003 test ({test}), {args.threads} threads, best of {args.rounds} interleaved rounds; "
          f"latency: one raw sentence at a time, first {args.latency_sentences} sentences")
    ort = best["ort-fp32"]
    columns = ["pre-split", "raw text", "p50", "p99"]
    print(f"{'engine':28} {'pre-split s/s':>14} {'raw text s/s':>13} {'p50 ms':>8} {'p99 ms':>8}   vs ONNX Runtime fp32")
    for name, row in best.items():
        cells = [f"{row[c]:14.0f}" if c == "pre-split" and row[c] is not None else
                 f"{'–':>14}" if row[c] is None else
                 f"{row[c]:13.0f}" if c == "raw text" else f"{row[c]:8.2f}" for c in columns]
        ratios = []
        for c, what in (("pre-split", "pre-split"), ("raw text", "raw")):
            if row[c] is not None:
                ratios.append(f"{row[c] / ort[c]:.2f}× {what}")
        ratios.append(f"latency p50 {row['p50'] / ort['p50']:.2f}×")
        print(f"{name:28} " + " ".join(cells) + "   " + ", ".join(ratios))


if __name__ == "__main__":
    main()
