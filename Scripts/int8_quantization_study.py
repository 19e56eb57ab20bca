#!/usr/bin/env python3
"""Entity F1 of a token-classification model with its encoder's projections fake-quantized in PyTorch, to try
quantization schemes before building one into the tool.

    python3 Scripts/int8_quantization_study.py --model runs/NAME/best [--corpus data/conll2003]
                                               [--splits dev,test] [--schemes fp32,sym,asym-ff] [--threads 2]

Every Linear of the encoder's layers (query, key, value, attention output, intermediate, output) gets its weight
rounded per output channel to symmetric 8-bit steps (max |w| / 127), and its input per token:
  sym       symmetric 8-bit steps (max |x| / 127), as `--precision int8` quantizes every input;
  asym-ff   as sym, but the output projection's input (GELU's output, mostly positive) on unsigned 8-bit steps with
            a zero point per token ((max - min) / 255);
  fp32      nothing rounded.
Words are labelled by their first sub-word's argmax (no Viterbi), so compare schemes with one another, not with
`bert-tagger evaluate`'s figures. Prints one line per scheme: dev and test entity F1 (seqeval, default mode).
"""
import argparse

import torch
from seqeval.metrics import f1_score
from transformers import AutoModelForTokenClassification, AutoTokenizer

from bench_peers import read_conll


def symmetric(x):
    """Per row: rounded to steps of max |x| / 127, values -127 ... 127 (round half to even, as the tool)."""
    step = x.abs().amax(-1, keepdim=True) / 127
    step = torch.where(step == 0, torch.ones_like(step), step)
    return torch.round(x / step).clamp(-127, 127) * step


def asymmetric(x):
    """Per row: unsigned 8-bit steps of (max - min) / 255 from a zero point, the range holding 0."""
    low = x.amin(-1, keepdim=True).clamp(max=0)
    high = x.amax(-1, keepdim=True).clamp(min=0)
    step = (high - low) / 255
    step = torch.where(step == 0, torch.ones_like(step), step)
    zero = torch.round(-low / step)
    return ((torch.round(x / step) + zero).clamp(0, 255) - zero) * step


def quantize(model, scheme):
    if scheme == "fp32":
        return
    for layer in model.bert.encoder.layer:
        projections = [layer.attention.self.query, layer.attention.self.key, layer.attention.self.value,
                       layer.attention.output.dense, layer.intermediate.dense, layer.output.dense]
        for linear in projections:
            linear.weight.data = symmetric(linear.weight.data)
            rounding = asymmetric if scheme == "asym-ff" and linear is layer.output.dense else symmetric
            linear.register_forward_pre_hook(lambda module, args, rounding=rounding: (rounding(args[0]),))


def entity_f1(model, tokenizer, sentences):
    labels = model.config.id2label
    gold, predicted = [], []
    with torch.no_grad():
        for start in range(0, len(sentences), 64):
            batch = sentences[start:start + 64]
            words = [sentence_words for sentence_words, _ in batch]
            encoding = tokenizer(words, is_split_into_words=True, return_tensors="pt", padding=True,
                                 truncation=True, max_length=512)
            best = model(**encoding).logits.argmax(-1)
            for b, (_, sentence_tags) in enumerate(batch):
                seen, tags = set(), []
                for t, word in enumerate(encoding.word_ids(b)):
                    if word is None or word in seen:
                        continue
                    seen.add(word)
                    tags.append(labels[int(best[b, t])])
                predicted.append(tags)
                gold.append(sentence_tags)
    return 100 * f1_score(gold, predicted)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--corpus", default="data/conll2003")
    parser.add_argument("--splits", default="dev,test")
    parser.add_argument("--schemes", default="fp32,sym,asym-ff")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    corpora = {split: read_conll(f"{args.corpus}/{split}.txt") for split in args.splits.split(",")}
    for scheme in args.schemes.split(","):
        model = AutoModelForTokenClassification.from_pretrained(args.model).eval()
        quantize(model, scheme)
        scores = ", ".join(f"{split} {entity_f1(model, tokenizer, sentences):.2f}" for split, sentences in corpora.items())
        print(f"{args.model} {scheme}: {scores}", flush=True)


if __name__ == "__main__":
    main()
