#!/usr/bin/env python3
"""Writes Tests/SeqEvalTests/Fixtures/seqeval_random.json: seqeval 1.2.2's verdicts on seeded
random gold/prediction pairs, for the Swift SeqEval tests to match.

Each case is a batch of short sentences (some empty) with gold and predicted tags drawn around
well-formed encodings in one scheme and then corrupted: I- after O, I- of another type, lone B-,
E-/S-/L-/U- tags, types only in predictions, a hyphenated and a non-ASCII type, and in some cases
tags seqeval reads oddly or its strict mode rejects ('X', 'X-PER', 'B', '.', 'BPER', 'B--dash-').

For default mode and for strict mode with each of the six schemes it records either that seqeval
raises, or the entities of every sentence (`get_entities` per sentence in default mode,
`Entities(...).entities` in strict mode) and the `output_dict=True` values; token accuracy once per
case. Every second case also records one `classification_report(..., digits=4)` text: default
mode in cases 0, 4, 8, ..., the first strict scheme seqeval accepts in cases 1, 5, 9, ... (default
mode if none). 500 texts pin the layout, which is the same code for every mode, and keep the file
well under 1 MB.
Results identical across modes of a case are stored once. `json` holds `json.dumps` of a few
strict reports (with "accuracy" added), compact and with indent=2, to pin the JSON layout.

`wide` holds a few default-mode reports over 9 to 140 types, where numpy's pairwise summation
decides the last bits of the macro and weighted averages.

Layout (plain JSON, no gzip on Linux Foundation, so small by construction):
  modes: the order of cases[i].modes: "default" and the six scheme names
  cases[i].gold / .predicted: one space-joined string of tags per sentence
  cases[i].accuracy: accuracy_score(gold, predicted)
  cases[i].modes: per mode, an index into cases[i].results, or -1 where seqeval raises
  cases[i].results[k].entities: [gold, predicted], each one string per sentence of
      "TYPE START END" triples (END exclusive) joined by spaces
  cases[i].results[k].report: {row name: [precision, recall, f1, support]}, macro values null
      where numpy gives NaN (no entity types at all)
  cases[i].results[k].text: the report text, present in one result of every second case; null where seqeval's
      text report itself fails (max() of no type names)

Run: python3 Scripts/make_seqeval_fixtures.py  (needs seqeval==1.2.2)
"""

import importlib.metadata
import json
import math
import os
import random
import warnings

import numpy
from seqeval.metrics import accuracy_score, classification_report
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import BILOU, IOB1, IOB2, IOBES, IOE1, IOE2, Entities

SEQEVAL_VERSION = importlib.metadata.version("seqeval")
assert SEQEVAL_VERSION == "1.2.2", f"seqeval {SEQEVAL_VERSION} is installed; the fixtures pin 1.2.2"

SEED = 20030
CASES = 1000
SCHEMES = {"IOB1": IOB1, "IOB2": IOB2, "IOE1": IOE1, "IOE2": IOE2, "IOBES": IOBES, "BILOU": BILOU}
PREFIXES = {"IOB1": "BIO", "IOB2": "BIO", "IOE1": "IEO", "IOE2": "IEO", "IOBES": "BIESO",
            "BILOU": "BILUO", "mixed": "BIESLUO"}
GOLD_TYPES = ["PER", "LOC", "ORG", "creative-work", "Straße"]
PREDICTED_ONLY_TYPES = ["MISC"]
JUNK_TAGS = ["B", "I", "E", "X", "U-", "X-PER", "BPER", ".", "O-PER", "B-", "I-_", "Bx-LOC", "B--dash-", "S-", "U-PER"]

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SeqEvalTests",
                   "Fixtures", "seqeval_random.json")


def encode(spans, length, scheme):
    """Tags for non-overlapping (type, start, end) spans in a scheme (mixed/junk use IOBES)."""
    tags = ["O"] * length
    spans = sorted(spans, key=lambda s: s[1])
    for k, (t, start, end) in enumerate(spans):
        follows = k > 0 and spans[k - 1][2] == start and spans[k - 1][0] == t
        precedes = k + 1 < len(spans) and spans[k + 1][1] == end and spans[k + 1][0] == t
        single = end - start == 1
        for i in range(start, end):
            first, last = i == start, i == end - 1
            if scheme == "IOB1":
                p = "B" if first and follows else "I"
            elif scheme == "IOB2":
                p = "B" if first else "I"
            elif scheme == "IOE1":
                p = "E" if last and precedes else "I"
            elif scheme == "IOE2":
                p = "E" if last else "I"
            elif scheme == "BILOU":
                p = "U" if single else "B" if first else "L" if last else "I"
            else:
                p = "S" if single else "B" if first else "E" if last else "I"
            tags[i] = p + "-" + t
    return tags


def random_spans(rng, length, types):
    spans, i = [], 0
    while i < length:
        if rng.random() < 0.35:
            end = min(length, i + rng.choice([1, 1, 2, 2, 3]))
            spans.append((rng.choice(types), i, end))
            i = end
        else:
            i += 1
    return spans


def mutate(rng, spans, length, types):
    out = []
    for t, s, e in spans:
        r = rng.random()
        if r < 0.15:
            continue
        if r < 0.3:
            t = rng.choice(PREDICTED_ONLY_TYPES if rng.random() < 0.2 else types)
        elif r < 0.45:
            s = min(length - 1, max(0, s + rng.choice([-1, 1])))
            e = max(s + 1, min(length, e + rng.choice([-1, 0, 1])))
        out.append((t, s, e))
    if rng.random() < 0.3 and length:
        s = rng.randrange(length)
        out.append((rng.choice(PREDICTED_ONLY_TYPES if rng.random() < 0.2 else types), s, s + 1))
    # Keep the spans non-overlapping so they can be encoded; the corruption step adds the rest.
    out.sort(key=lambda x: (x[1], x[2]))
    kept, last_end = [], 0
    for t, s, e in out:
        if s >= last_end:
            kept.append((t, s, e))
            last_end = e
    return kept


def corrupt(rng, tags, pool, types, rate, junk):
    out = []
    for tag in tags:
        if rng.random() < rate:
            if junk and rng.random() < 0.4:
                tag = rng.choice(JUNK_TAGS)
            else:
                p = rng.choice(PREFIXES[pool])
                tag = "O" if p == "O" else p + "-" + rng.choice(types)
        out.append(tag)
    return out


def make_case(rng):
    pool = rng.choice(["IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU", "mixed", "mixed", "junk"])
    junk = pool == "junk"
    encoding = "IOBES" if pool in ("mixed", "junk") else pool
    prefix_pool = "mixed" if pool == "junk" else pool
    types = rng.sample(GOLD_TYPES[:4], rng.choice([1, 1, 2, 2, 3]))
    if rng.random() < 0.1:
        types.append("Straße")
    gold, predicted = [], []
    for _ in range(rng.randint(1, 3)):
        length = 0 if rng.random() < 0.06 else rng.randint(1, 6)
        spans = random_spans(rng, length, types)
        g = encode(spans, length, encoding)
        p = encode(mutate(rng, spans, length, types), length, encoding)
        gold.append(corrupt(rng, g, prefix_pool, types, rng.choice([0, 0.05, 0.15]), junk))
        predicted.append(corrupt(rng, p, prefix_pool, types + PREDICTED_ONLY_TYPES[:rng.random() < 0.3],
                                 rng.choice([0, 0.1, 0.2]), junk))
    return gold, predicted


def plain(value):
    value = float(value)
    return None if math.isnan(value) else value


def report_rows(report):
    return {name: [plain(row["precision"]), plain(row["recall"]), plain(row["f1-score"]), int(row["support"])]
            for name, row in report.items()}


def entity_strings(sentences):
    return [" ".join(f"{t} {s} {e}" for t, s, e in sentence) for sentence in sentences]


def evaluate(gold, predicted, mode, with_text):
    if mode == "default":
        entities = [entity_strings([[(t, s, e + 1) for t, s, e in get_entities(sentence)] for sentence in side])
                    for side in (gold, predicted)]
        kwargs = {}
    else:
        try:
            entities = [entity_strings([[(x.tag, x.start, x.end) for x in sentence]
                                        for sentence in Entities(side, SCHEMES[mode]).entities])
                        for side in (gold, predicted)]
        except (ValueError, KeyError, IndexError):
            return None
        kwargs = {"mode": "strict", "scheme": SCHEMES[mode]}
    report = classification_report(gold, predicted, output_dict=True, **kwargs)
    result = {"entities": entities, "report": report_rows(report)}
    if with_text:
        try:
            result["text"] = classification_report(gold, predicted, digits=4, **kwargs)
        except ValueError:
            result["text"] = None  # max() of no type names: seqeval prints no report without types
    return result, report


def main():
    warnings.simplefilter("ignore")
    rng = random.Random(SEED)
    cases, dumps = [], []
    while len(cases) < CASES:
        gold, predicted = make_case(rng)
        if sum(map(len, gold)) == 0:
            continue  # accuracy_score divides by zero
        case = {"gold": [" ".join(s) for s in gold], "predicted": [" ".join(s) for s in predicted],
                "accuracy": accuracy_score(gold, predicted), "modes": [], "results": []}
        accepted = [m for m in SCHEMES if evaluate(gold, predicted, m, False) is not None]
        text_mode = None if len(cases) % 4 > 1 else accepted[0] if len(cases) % 4 == 1 and accepted else "default"
        for mode in ["default"] + list(SCHEMES):
            outcome = evaluate(gold, predicted, mode, mode == text_mode)
            if outcome is None:
                case["modes"].append(-1)
                continue
            result, report = outcome
            same = [k for k, r in enumerate(case["results"])
                    if r["entities"] == result["entities"] and r["report"] == result["report"]]
            if same:
                case["modes"].append(same[0])
                if "text" in result:
                    case["results"][same[0]]["text"] = result["text"]
            else:
                case["modes"].append(len(case["results"]))
                case["results"].append(result)
            if len(dumps) < 6 and len(report) > 4 and mode != "default":
                full = dict(report)
                full = {k: {kk: (int(vv) if kk == "support" else float(vv)) for kk, vv in v.items()}
                        for k, v in full.items()}
                full["accuracy"] = case["accuracy"]
                dumps.append({"case": len(cases), "mode": mode, "compact": json.dumps(full),
                              "indented": json.dumps(full, indent=2)})
        cases.append(case)

    wide = []
    for type_count in (9, 17, 40, 140):
        names = [f"T{k:03d}" for k in range(type_count)]
        gold, predicted = [], []
        for _ in range(3 * type_count):
            length = rng.randint(1, 5)
            spans = random_spans(rng, length, names)
            gold.append(encode(spans, length, "IOB2"))
            predicted.append(encode(mutate(rng, spans, length, names), length, "IOB2"))
        wide.append({"gold": [" ".join(x) for x in gold], "predicted": [" ".join(x) for x in predicted],
                     "report": report_rows(classification_report(gold, predicted, output_dict=True))})

    fixture = {
        "generator": "Scripts/make_seqeval_fixtures.py",
        "seqeval": "1.2.2",
        "numpy": numpy.__version__,
        "seed": SEED,
        "modes": ["default"] + list(SCHEMES),
        "json": dumps,
        "wide": wide,
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases, {os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
