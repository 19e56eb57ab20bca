#!/usr/bin/env python3
"""Words per second for HuggingFace `tokenizers` on CoNLL-2003 train, word mode, one thread.

The counterpart of `bert-tagger-bench tokenizer`: same corpus reading (first column, blank lines end
sentences, -DOCSTART- skipped), tokenizer load excluded, best of --repeats passes. Measures
Tokenizer.encode(words, is_pretokenized=True) per sentence, and encode_batch over all sentences
with Rayon held to one thread.

Usage: python3 Scripts/bench_hf_tokenizer.py [--corpus DIR_OR_FILE] [--model DIR] [--repeats N]
"""
import os

# Both must be set before tokenizers starts its thread pool.
os.environ["RAYON_RS_NUM_CPUS"] = "1"
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import sys
import time

import tokenizers
from tokenizers import Tokenizer

from bench_peers import cpu_description, load_average

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sentences(path):
    result, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if current:
                    result.append(current)
                current = []
            elif fields[0] != "-DOCSTART-":
                current.append(fields[0])
    if current:
        result.append(current)
    return result


def best_of(repeats, run):
    best, tokens = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        tokens = run()
        best = min(best, time.perf_counter() - start)
    return best, tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=os.path.join(ROOT, "data", "conll2003"), help="train.txt or its folder")
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name, flags = cpu_description()
    print(f"machine: CPU {name} [{' '.join(f for f in ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile') if f in flags)}]; "
          f"python {sys.version.split()[0]}, tokenizers {tokenizers.__version__}; 1 thread; load average {load_average()}")
    path = os.path.join(args.corpus, "train.txt") if os.path.isdir(args.corpus) else args.corpus
    data = sentences(path)
    words = sum(len(s) for s in data)
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    # tokenizer.json pads and truncates to 128 for sentence embeddings; the Swift side does neither.
    tok.no_padding()
    tok.no_truncation()
    tok.encode(["warm", "up"], is_pretokenized=True)

    single, tokens = best_of(args.repeats, lambda: sum(len(tok.encode(s, is_pretokenized=True).ids) for s in data))
    batch, batch_tokens = best_of(args.repeats, lambda: sum(len(e.ids) for e in tok.encode_batch(data, is_pretokenized=True)))
    assert tokens == batch_tokens
    print("tokenizer: %s: %d sentences, %d words, %d tokens (tokenizers %s)"
          % (os.path.basename(path), len(data), words, tokens, tokenizers.__version__))
    print("HF tokenizers, encode(is_pretokenized) per sentence, 1 thread: %.3f s, %.0f words/s (best of %d)"
          % (single, words / single, args.repeats))
    print("HF tokenizers, encode_batch(is_pretokenized), 1 thread: %.3f s, %.0f words/s (best of %d)"
          % (batch, words / batch, args.repeats))


if __name__ == "__main__":
    main()
