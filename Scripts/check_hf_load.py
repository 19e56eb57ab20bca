#!/usr/bin/env python3
"""Checks that transformers loads a saved model directory as is.

    python3 Scripts/check_hf_load.py DIR [--sentence "EU rejects German call to boycott British lamb ."]

Loads DIR with AutoModelForTokenClassification and AutoTokenizer, tags one sentence, and exits non-zero
when a weight is missing, unexpected or mis-shaped, when transformers warns that weights were newly
initialised or not used, or when the outputs do not fit the config (label count, finite logits).
"""
import argparse
import io
import logging
import sys
import warnings

# Messages that mean the checkpoint and the architecture disagree.
ALARMING = ("newly initialized", "not initialized", "were not used", "missing", "unexpected", "mismatch",
            "not found", "ignored")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--sentence", default="EU rejects German call to boycott British lamb .")
    args = parser.parse_args()
    import os
    if not os.path.isfile(os.path.join(args.directory, "config.json")):
        sys.exit(f"FAIL: {args.directory} has no config.json; pass a directory saved by the Swift checkpoint writer")

    import torch
    import transformers
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    transformers.logging.set_verbosity_warning()
    transformers.logging.add_handler(handler)
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, info = AutoModelForTokenClassification.from_pretrained(args.directory, output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(args.directory)
    transformers.logging.remove_handler(handler)

    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(key):
            problems.append(f"{key}: {sorted(map(str, info[key]))}")
    messages = [line for line in log.getvalue().splitlines() if line.strip()]
    messages += [f"{w.category.__name__}: {w.message}" for w in caught]
    for message in messages:
        print(f"warning: {message}")
        if any(word in message.lower() for word in ALARMING):
            problems.append(f"transformers warned: {message}")

    config = model.config
    if type(model).__name__ != "BertForTokenClassification":
        problems.append(f"loaded as {type(model).__name__}, not BertForTokenClassification")
    if config.architectures != ["BertForTokenClassification"]:
        problems.append(f"config.architectures is {config.architectures}")
    if sorted(config.id2label) != list(range(config.num_labels)) or \
            {v: k for k, v in config.id2label.items()} != config.label2id:
        problems.append(f"id2label {config.id2label} and label2id {config.label2id} disagree")

    words = args.sentence.split()
    encoding = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        logits = model(**encoding).logits
    if tuple(logits.shape) != (1, encoding["input_ids"].shape[1], config.num_labels):
        problems.append(f"logits have shape {tuple(logits.shape)}")
    if not torch.isfinite(logits).all():
        problems.append("logits are not finite")
    predictions = logits.argmax(-1)[0].tolist()
    pieces = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])
    print(f"{args.directory}: {type(model).__name__}, {config.num_labels} labels, "
          f"{sum(p.numel() for p in model.parameters())} parameters, tokenizer {type(tokenizer).__name__}")
    print("  " + " ".join(f"{piece}/{config.id2label[p]}" for piece, p in zip(pieces, predictions)))
    if problems:
        for problem in problems:
            print(f"FAIL: {problem}", file=sys.stderr)
        sys.exit(1)
    print("OK: loaded without missing, unexpected or mis-shaped weights")


if __name__ == "__main__":
    main()
