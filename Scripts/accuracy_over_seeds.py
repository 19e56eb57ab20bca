#!/usr/bin/env python3
"""Accuracy over seeds: transformers' Trainer and `bert-tagger train` on CoNLL-2003, side by side, in one table.

    python3 Scripts/accuracy_over_seeds.py [--seeds 42,1,2] [--only GROUPS] [--runs runs/accuracy]
                                            [--threads 2] [--trainer-precision fp32|bf16] [--table-only]

Groups (--only takes a comma-separated subset; default: all, in this order):
  default   `bert-tagger train --seed S` with its defaults (the README's main command: 32 sentences a batch)
  trainer   transformers' Trainer, the usual fine-tuning script: first sub-word labelled (-100 elsewhere),
            DataCollatorForTokenClassification, 32 random sentences a batch, lr 1e-4, linear schedule with 10%
            warmup, weight decay 0.01, clipping at 1.0, 3 epochs, fp32 (--trainer-precision), the last
            model scored on dev and test with seqeval (default mode) on argmax predictions, dev after every epoch
  recipe    `bert-tagger train` with the README's recipe (RECIPE below)
  pos       POS tags (column 1), one seed (the first): bert-tagger defaults and the Trainer; token accuracy
  chunk     chunk tags (column 2), the same
Ablations, each a difference between the two loops tested by runs (printed in a second table against the
default runs of the same seeds; not run unless named in --only):
  argmax    the default runs' best models re-decoded with `--decoding argmax` (the Trainer's decoding), no training
  tokens    `bert-tagger train` with batches bounded by a 640-token budget alone (`--batch-sentences 0
            --batch-tokens 640`, the default before 32-sentence batches) instead of the Trainer's 32 sentences
  fp32      `bert-tagger train --precision fp32` (the Trainer's number format) instead of auto (BF16 with AMX)

Every run goes to its own folder under --runs (git-ignored) and leaves result.json there; a run whose
result.json exists is not run again, so the script can be stopped and started, and the table (--table-only)
printed at any time from what is done. F1 and accuracy are percentages; "±" is the sample standard deviation
over seeds. The Trainer's side needs transformers, torch, accelerate and seqeval (Scripts/bench_peers.py's
docstring says how to install a CPU-only torch); `bert-tagger` must be built (`bash Scripts/setup.sh`).

Training runs take minutes each (a Trainer NER run about half an hour on 2 cores): run it in the background,
`nohup python3 Scripts/accuracy_over_seeds.py > runs/accuracy.log 2>&1 &`, and read the table at the end.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAGGER = os.path.join(ROOT, ".build", "release", "bert-tagger")
GROUPS = ("default", "trainer", "recipe", "pos", "chunk")
ABLATIONS = {"argmax": None,
             "tokens": ["--batch-sentences", "0", "--batch-tokens", "640"],
             "fp32": ["--precision", "fp32"]}
RECIPE = ["--context", "32", "--lr", "2e-4"]
COLUMNS = {"pos": 1, "chunk": 2}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="42,1,2", help="comma-separated seeds (default 42,1,2)")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups to run: {', '.join(GROUPS + tuple(ABLATIONS))}")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "accuracy"), help="where runs are kept")
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    parser.add_argument("--corpus", default=os.path.join(ROOT, "data", "conll2003"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bert-tagger", default=TAGGER, help=f"the binary to train with (default {TAGGER})")
    parser.add_argument("--trainer-precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--table-only", action="store_true", help="print the table of finished runs and stop")
    args = parser.parse_args()
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: give integers separated by commas, e.g. 42,1,2")
    if not args.seeds:
        parser.error("--seeds: give at least one seed")
    args.only = [g for g in args.only.split(",") if g]
    unknown = [g for g in args.only if g not in GROUPS and g not in ABLATIONS]
    if unknown:
        parser.error(f"--only: unknown group {', '.join(unknown)}; "
                     f"choose from {', '.join(GROUPS + tuple(ABLATIONS))}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def plan(args):
    """(group, seed, run name) in the order they run."""
    runs = []
    for group in GROUPS:
        if group not in args.only:
            continue
        seeds = args.seeds if group in ("default", "trainer", "recipe") else args.seeds[:1]
        for seed in seeds:
            if group in COLUMNS:
                runs.append((group, "bert-tagger", seed, f"{group}-bert-tagger-s{seed}"))
                runs.append((group, "trainer", seed, f"{group}-trainer-s{seed}"))
            elif group == "trainer":
                runs.append(("ner", "trainer", seed, f"trainer-{args.trainer_precision}-s{seed}"))
            else:
                runs.append(("ner" if group == "default" else "recipe", "bert-tagger", seed, f"{group}-s{seed}"))
    for name in ABLATIONS:
        if name in args.only:
            runs += [(name, "bert-tagger", seed, f"ablation-{name}-s{seed}") for seed in args.seeds]
    return runs


def write_result(folder, result):
    path = os.path.join(folder, "result.json")
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".partial") as f:
        json.dump(result, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


# ---------------------------------------------------------------------------------------------- bert-tagger

def run_bert_tagger(args, group, seed, folder):
    if not os.path.exists(args.bert_tagger):
        sys.exit(f"{args.bert_tagger} is missing: run `bash Scripts/setup.sh` first")
    if group == "argmax":
        return redecode(args, seed, folder)
    command = [args.bert_tagger, "train", "--model", args.model, "--train", os.path.join(args.corpus, "train.txt"),
               "--dev", os.path.join(args.corpus, "dev.txt"), "--test", os.path.join(args.corpus, "test.txt"),
               "--seed", str(seed), "--threads", str(args.threads), "--output", os.path.join(folder, "run")]
    if group == "recipe":
        command += RECIPE
    command += ABLATIONS.get(group) or []
    if group in COLUMNS:
        # Chunk tags in dev that train never has (one I-PRT) are read as O on both sides.
        command += ["--label-column", str(COLUMNS[group])] + (["--unseen-labels", "outside"] if group == "chunk" else [])
    run_dir = os.path.join(folder, "run")
    if os.path.exists(os.path.join(run_dir, "options.json")):
        command = [args.bert_tagger, "train", "--resume", run_dir, "--threads", str(args.threads)]
    print("$ " + " ".join(command), flush=True)
    start = time.time()
    with open(os.path.join(folder, "train.log"), "a") as log:
        status = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    if status != 0:
        sys.exit(f"bert-tagger train failed ({status}); see {os.path.join(folder, 'train.log')}")
    seconds = time.time() - start
    reports = os.path.join(run_dir, "reports")
    dev = json.load(open(os.path.join(reports, "dev.json")))
    test = json.load(open(os.path.join(reports, "test.json")))
    epochs = []
    with open(os.path.join(run_dir, "metrics", "evaluations.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            epochs.append(100 * row["f1" if group not in COLUMNS else "accuracy"])
    f1 = lambda report: 100 * report["micro avg"]["f1-score"] if group not in COLUMNS else float("nan")
    return {"dev_f1": f1(dev), "test_f1": f1(test),
            "dev_accuracy": 100 * dev["accuracy"], "test_accuracy": 100 * test["accuracy"],
            "dev_by_epoch": epochs, "seconds": seconds, "command": " ".join(command)}


def redecode(args, seed, folder):
    """The default run of `seed` re-scored with argmax decoding: its best model tags dev and test again."""
    model = os.path.join(args.runs, f"default-s{seed}", "run", "best")
    if not os.path.exists(os.path.join(args.runs, f"default-s{seed}", "result.json")):
        sys.exit(f"ablation argmax needs the default run of seed {seed}: run --only default --seeds {seed} first")
    start, result = time.time(), {}
    for split in ("dev", "test"):
        tagged = os.path.join(folder, f"{split}.argmax.conll")
        command = [args.bert_tagger, "predict", "--model", model, "--input", os.path.join(args.corpus, f"{split}.txt"),
                   "--output", tagged, "--decoding", "argmax", "--threads", str(args.threads)]
        print("$ " + " ".join(command), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = json.loads(subprocess.run([args.bert_tagger, "evaluate", tagged, "--json"], check=True,
                                           capture_output=True, text=True).stdout)
        result[f"{split}_f1"] = 100 * report["micro avg"]["f1-score"]
        result[f"{split}_accuracy"] = 100 * report["accuracy"]
    result.update(dev_by_epoch=[], seconds=time.time() - start,
                  command=f"predict --decoding argmax with {model}, then evaluate")
    return result


# ---------------------------------------------------------------------------------------------- the Trainer

def run_trainer(args, group, seed, folder):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import torch
    from seqeval.metrics import f1_score
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              Trainer, set_seed)
    sys.path.insert(0, os.path.join(ROOT, "Scripts"))
    from bench_peers import read_conll, training_arguments, train_features

    torch.set_num_threads(args.threads)
    column = COLUMNS.get(group, -1)
    splits = {name: read_conll(os.path.join(args.corpus, f"{name}.txt"), column) for name in ("train", "dev", "test")}
    labels = sorted({t for _, tags in splits["train"] for t in tags})
    if group == "ner" and "O" in labels:
        labels = ["O"] + [l for l in labels if l != "O"]
    label2id = {l: i for i, l in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    set_seed(seed)
    model = AutoModelForTokenClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)

    def features(name):
        # Labels unseen in train (none in CoNLL-2003's NER and POS, one I-PRT in chunk dev) are O.
        fallback = "O" if "O" in label2id else labels[0]
        rows = [(w, [t if t in label2id else fallback for t in tags]) for w, tags in splits[name]]
        return train_features(tokenizer, rows, label2id)

    def scores(prediction, name):
        predicted = np.argmax(prediction.predictions, axis=-1)
        gold, guess = [], []
        for p_row, g_row in zip(predicted, prediction.label_ids):
            keep = g_row != -100
            gold.append([labels[int(g)] for g in g_row[keep]])
            guess.append([labels[int(p)] for p in p_row[keep]])
        # Gold from the corpus itself; a label train never has is O, as `--unseen-labels outside` reads it.
        gold = [[t if t in label2id or "O" not in label2id else "O" for t in tags] for _, tags in splits[name]]
        correct = sum(g == p for gs, ps in zip(gold, guess) for g, p in zip(gs, ps))
        total = sum(len(gs) for gs in gold)
        f1 = 100 * f1_score(gold, guess) if group == "ner" else float("nan")
        return f1, 100 * correct / total

    arguments = training_arguments(os.path.join(folder, "trainer"), args.trainer_precision, seed)
    arguments.num_train_epochs = 3
    train_set, dev_set, test_set = features("train"), features("dev"), features("test")
    by_epoch = []

    from transformers import TrainerCallback

    class EpochScores(TrainerCallback):
        def on_epoch_end(self, arguments, state, control, **kwargs):
            f1, accuracy = scores(trainer.predict(dev_set), "dev")
            by_epoch.append(f1 if group == "ner" else accuracy)
            print(f"  epoch {len(by_epoch)}: dev {'F1' if group == 'ner' else 'accuracy'} {by_epoch[-1]:.2f}",
                  flush=True)

    collator = DataCollatorForTokenClassification(tokenizer)
    trainer = Trainer(model=model, args=arguments, train_dataset=train_set, data_collator=collator,
                      callbacks=[EpochScores()])
    start = time.time()
    trainer.train()
    dev_f1, dev_accuracy = scores(trainer.predict(dev_set), "dev")
    test_f1, test_accuracy = scores(trainer.predict(test_set), "test")
    return {"dev_f1": dev_f1, "test_f1": test_f1, "dev_accuracy": dev_accuracy, "test_accuracy": test_accuracy,
            "dev_by_epoch": by_epoch, "seconds": time.time() - start,
            "command": f"Trainer {args.trainer_precision}, 32 sentences a batch, lr 1e-4, 3 epochs, seed {seed}"}


# ---------------------------------------------------------------------------------------------- table

def summary(values):
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def print_spreads(ours, trainer):
    """The default run's spread over seeds against the Trainer's, on dev and test: the ratio of the two sample
    standard deviations, its 90% interval and the one-sided p of an F test that ours is the wider (normal scores
    assumed), so that "no wider" is judged with the uncertainty of a few seeds' spread."""
    if len(ours) < 3 or len(trainer) < 3:
        return
    try:
        from scipy.stats import f as f_distribution
    except ImportError:
        print("\n(spreads: scipy is not installed, so the F test of the spreads is left out)")
        return
    print("\n| spread over seeds: bert-tagger (defaults) against the Trainer | runs | sd ours / sd Trainer | "
          "90% interval of the ratio | p (ours wider, F test) |")
    print("|---|---|---|---|---|")
    for split in ("dev", "test"):
        a = [r[f"{split}_f1"] for _, r in ours]
        b = [r[f"{split}_f1"] for _, r in trainer]
        ratio = statistics.stdev(a) / statistics.stdev(b)
        da, db = len(a) - 1, len(b) - 1
        low = ratio / math.sqrt(f_distribution.ppf(0.95, da, db))
        high = ratio / math.sqrt(f_distribution.ppf(0.05, da, db))
        p = f_distribution.sf(ratio ** 2, da, db)
        print(f"| {split} F1 | {len(a)} against {len(b)} | {ratio:.2f} | {low:.2f} – {high:.2f} | {p:.2f} |")


def print_table(args):
    rows = {}
    for group, side, seed, name in plan(args):
        path = os.path.join(args.runs, name, "result.json")
        if os.path.exists(path):
            rows.setdefault((group, side), []).append((seed, json.load(open(path))))
    titles = {("ner", "trainer"): f"NER, transformers' Trainer ({args.trainer_precision})",
              ("ner", "bert-tagger"): "NER, bert-tagger train (defaults)",
              ("recipe", "bert-tagger"): "NER, bert-tagger train " + " ".join(RECIPE),
              ("pos", "trainer"): "POS (column 1), Trainer", ("pos", "bert-tagger"): "POS (column 1), bert-tagger",
              ("chunk", "trainer"): "chunk (column 2), Trainer",
              ("chunk", "bert-tagger"): "chunk (column 2), bert-tagger"}
    print("\n| run | seeds | dev | test | per seed (dev / test) | minutes per run |")
    print("|---|---|---|---|---|---|")
    for key, title in titles.items():
        if key not in rows:
            continue
        done = rows[key]
        metric = "f1" if key[0] in ("ner", "recipe") else "accuracy"
        dev = [r[f"dev_{metric}"] for _, r in done]
        test = [r[f"test_{metric}"] for _, r in done]
        seeds = "/".join(str(s) for s, _ in done)
        per_seed = "; ".join(f"{r[f'dev_{metric}']:.2f} / {r[f'test_{metric}']:.2f}" for _, r in done)
        minutes = statistics.mean(r["seconds"] for _, r in done) / 60
        print(f"| {title} ({'F1' if metric == 'f1' else 'token accuracy'}) | {seeds} | {summary(dev)} | "
              f"{summary(test)} | {per_seed} | {minutes:.0f} |")
    print_spreads(rows.get(("ner", "bert-tagger"), []), rows.get(("ner", "trainer"), []))
    ablations = [(g, rows[(g, "bert-tagger")]) for g in ABLATIONS if (g, "bert-tagger") in rows]
    if ablations:
        defaults = {s: r for s, r in rows.get(("ner", "bert-tagger"), [])}
        print("\n| ablation (against the default run of the same seed) | seeds | dev F1 | test F1 | "
              "change of dev / test F1 per seed |")
        print("|---|---|---|---|---|")
        for name, done in ablations:
            paired = [(s, r, defaults[s]) for s, r in done if s in defaults]
            change = lambda key: [r[key] - d[key] for _, r, d in paired]
            per_seed = "; ".join(f"{r['dev_f1'] - d['dev_f1']:+.2f} / {r['test_f1'] - d['test_f1']:+.2f}"
                                 for _, r, d in paired)
            what = " ".join(ABLATIONS[name]) if ABLATIONS[name] else "--decoding argmax (re-decoded)"
            print(f"| {what} | {'/'.join(str(s) for s, _ in done)} | {summary([r['dev_f1'] for _, r in done])} | "
                  f"{summary([r['test_f1'] for _, r in done])} | {per_seed} (mean {summary(change('dev_f1'))} / "
                  f"{summary(change('test_f1'))}) |")
    sys.stdout.flush()


def main():
    args = parse_args()
    if not args.table_only:
        os.makedirs(args.runs, exist_ok=True)
        print(subprocess.run([args.bert_tagger, "info"], capture_output=True, text=True).stdout.strip()
              if os.path.exists(args.bert_tagger) else "", flush=True)
        for group, side, seed, name in plan(args):
            folder = os.path.join(args.runs, name)
            if os.path.exists(os.path.join(folder, "result.json")):
                continue
            os.makedirs(folder, exist_ok=True)
            print(f"== {name} ({time.strftime('%H:%M:%S')}, load {os.getloadavg()[0]:.1f})", flush=True)
            if side == "trainer":
                result = run_trainer(args, group, seed, folder)
            else:
                result = run_bert_tagger(args, group, seed, folder)
            result.update(group=group, side=side, seed=seed)
            write_result(folder, result)
            metric = "accuracy" if group in COLUMNS else "f1"
            print(f"   dev {result[f'dev_{metric}']:.2f}, test {result[f'test_{metric}']:.2f}, "
                  f"{result['seconds'] / 60:.1f} min", flush=True)
    print_table(args)


if __name__ == "__main__":
    main()
