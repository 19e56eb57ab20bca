#!/usr/bin/env python3
"""Reference figures from the Python stack on this machine: transformers' Trainer, PyTorch and ONNX Runtime.

The peers of `bert-tagger train` and `bert-tagger predict` on the same encoder, corpus and threads, so the
Swift figures in the README can be read against them. Nothing is written to the repository: Trainer
output goes to a temporary folder, the ONNX export to --cache (default /tmp/bert-tagger-peers).

    python3 Scripts/bench_peers.py train-steps [--steps 50] [--warmup-steps 5] [--precision fp32|bf16|both]
                                               [--full-epoch]
    python3 Scripts/bench_peers.py tag [--batch-size 32] [--latency-sentences 200] [--limit N] [--engines LIST]
    python3 Scripts/bench_peers.py all [options of both]

Common options: --model DIR (models/all-MiniLM-L6-v2), --corpus DIR (data/conll2003), --threads N (2,
applied to torch.set_num_threads and ONNX Runtime's intra_op_num_threads), --seed N (42).

train-steps: Trainer on CoNLL-2003 train NER (first sub-word labelled, -100 elsewhere, truncation at 512,
DataCollatorForTokenClassification, 32 sentences a batch in random order, lr 1e-4 with 10% linear warmup
over one epoch, weight decay 0.01, clipping at 1.0, seed 42, use_cpu=True), fp32 and bf16=True. After
--warmup-steps untimed optimizer steps, times --steps steps with a callback at the end of each step (so
data loading and collation count) and prints seconds per step, real (non-pad) tokens per second in the
timed batches, and one epoch projected at ceil(14041 / 32) = 439 steps. --full-epoch instead trains one
whole epoch and validates on dev (seqeval F1, default mode).

tag: tags CoNLL-2003 test (3,453 pre-split sentences; --limit N takes the first N) with
  torch-fp32   AutoModelForTokenClassification, eager, torch.inference_mode
  torch-bf16   the same under torch.autocast("cpu", dtype=torch.bfloat16)
  ort-fp32     ONNX Runtime on the same weights exported by torch.onnx.export (dynamic batch and length)
  ort-int8     the same ONNX file after onnxruntime.quantization.quantize_dynamic (8-bit weights per output
               channel, activations quantized per tensor at run time), ONNX Runtime's own INT8 path
  pipeline     pipeline("token-classification", aggregation_strategy="simple") on the sentences joined by
               spaces, batch_size --batch-size
The first three tokenize inside the timed region, sort by sub-word length, pad per batch of --batch-size
sentences and label each word by its first sub-word; each then tags the same sentences as raw text (joined
by spaces, split into words by the tokenizer). Latency p50/p99 is over the first --latency-sentences
sentences tagged one at a time (tokenizing included), pre-split and raw, for torch-fp32, ort-fp32, ort-int8
and the pipeline (raw). --engines times only those named (default: all five).
torch-fp32 and ort-fp32 must agree on at least 99.9% of word labels; the script exits non-zero otherwise.

The encoder directory has no classifier: its 9-label head is initialised from --seed, the same in every
engine (the ONNX cache is keyed by a hash of the weights). A fine-tuned directory whose config already
names the CoNLL-2003 labels is used as it is. The header names the CPU, its AVX-512/AMX flags, the library
versions, the thread count and which oneDNN kernel runs a bf16 autocast matmul (AMX or not).

Setup (Python 3.11, Linux x86_64, no GPU). PyPI's default torch wheel depends on several GB of nvidia-*
and cuda-* packages; a CPU-only wheel avoids them. On the development machine, with a CPU wheel kept
locally in /opt/wheels (onnxscript is needed by torch.onnx.export's default exporter since torch 2.9):

    pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl \\
        transformers onnxruntime onnx onnxscript seqeval accelerate

Without such a wheel, PyPI's default wheel without its CUDA dependencies runs on the CPU alone:

    pip install --no-deps torch
    pip install filelock sympy networkx jinja2 fsspec typing-extensions
    pip install transformers onnxruntime onnx onnxscript seqeval accelerate

Scripts/requirements-bench.txt pins the versions used on the development machine (torch aside).
Check with: python3 -c "import torch; print(torch.__version__, torch.backends.mkldnn.is_available())"
Run offline (HF_HUB_OFFLINE=1 is set by the script); models are read from local directories only.
"""
import argparse
import hashlib
import logging
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
TRAIN_SENTENCES = 14041
AGREEMENT_FLOOR = 0.999
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile")
ENGINES = ("torch-fp32", "torch-bf16", "ort-fp32", "ort-int8", "pipeline")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("train-steps", "tag", "all"))
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    parser.add_argument("--corpus", default=os.path.join(ROOT, "data", "conll2003"),
                        help="folder with train.txt, dev.txt, test.txt")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    group = parser.add_argument_group("train-steps")
    group.add_argument("--steps", type=int, default=50, help="timed optimizer steps")
    group.add_argument("--warmup-steps", type=int, default=5, help="untimed optimizer steps before them")
    group.add_argument("--precision", choices=("fp32", "bf16", "both"), default="both")
    group.add_argument("--full-epoch", action="store_true", help="time one whole epoch plus validation on dev")
    group = parser.add_argument_group("tag")
    group.add_argument("--batch-size", type=int, default=32, help="sentences per batch")
    group.add_argument("--latency-sentences", type=int, default=200)
    group.add_argument("--limit", type=int, help="tag only the first N test sentences")
    group.add_argument("--engines", default=",".join(ENGINES),
                       help=f"comma-separated engines to time, of {', '.join(ENGINES)}")
    group.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "bert-tagger-peers"),
                       help="where the ONNX export is kept (not the repository)")
    args = parser.parse_args()
    if args.threads < 1 or args.steps < 1 or args.warmup_steps < 0 or args.batch_size < 1:
        parser.error("--threads, --steps and --batch-size must be positive, --warmup-steps not negative")
    args.engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in args.engines if e not in ENGINES]
    if unknown or not args.engines:
        parser.error(f"--engines: {', '.join(unknown) or 'none given'}; choose from {', '.join(ENGINES)}")
    return args


def read_conll(path, column=-1):
    """[(words, tags)] from a CoNLL file: first column words, tags from `column` (the last), -DOCSTART- skipped."""
    result, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if words:
                    result.append((words, tags))
                words, tags = [], []
            elif fields[0] != "-DOCSTART-":
                words.append(fields[0])
                tags.append(fields[column])
    if words:
        result.append((words, tags))
    return result


# ---------------------------------------------------------------------------------------------- header

def cpu_description():
    name, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and name == "unknown":
                    name = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name, flags


ONEDNN_PROBE = """
import torch
torch.set_num_threads(1)
layer = torch.nn.Linear(384, 1536)
x = torch.randn(64, 384, requires_grad=True)
with torch.autocast("cpu", dtype=torch.bfloat16):
    y = layer(x)
y.float().sum().backward()
"""


def load_average():
    """The 1, 5 and 15 minute load averages, "unknown" where /proc does not say."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def peer_libraries():
    """The matrix-product libraries the peers run: torch's BLAS and oneDNN builds (from torch.__config__.show()),
    ONNX Runtime's execution providers (CPUExecutionProvider multiplies with its own MLAS kernels)."""
    import onnxruntime
    import torch
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    mkl = re.search(r"Math Kernel Library Version ([\d.]+)", config)
    onednn = re.search(r"MKL-DNN (v[\d.]+)", config)
    torch_text = f"torch BLAS {blas.group(1) if blas else 'unknown'}"
    if mkl:
        torch_text += f" (MKL {mkl.group(1)})"
    torch_text += f", oneDNN {onednn.group(1) if onednn else 'absent'}"
    providers = ", ".join(onnxruntime.get_available_providers())
    return f"{torch_text}; onnxruntime providers {providers} (CPU: MLAS kernels)"


def onednn_probe():
    """The ISA oneDNN reports and the kernels it picks for a bf16 autocast Linear, forward and backward."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1")
    try:
        out = subprocess.run([sys.executable, "-c", ONEDNN_PROBE], env=env, capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return f"probe failed ({error})"
    isa, kernels = "not reported", []
    for line in out.splitlines():
        fields = line.split(",")
        if len(fields) > 4 and fields[2] == "info" and fields[3] == "cpu" and fields[4].startswith("isa:"):
            isa = fields[4][4:]
        elif len(fields) > 6 and fields[2] == "primitive" and fields[3] == "exec" and fields[5] == "matmul":
            if fields[6] not in kernels:
                kernels.append(fields[6])
    if not kernels:
        return f"isa {isa}; bf16 autocast matmul does not go through oneDNN (AMX: no)"
    amx = any("amx" in k for k in kernels)
    return f"isa {isa}; bf16 autocast matmul kernels {' '.join(kernels)} (AMX: {'yes' if amx else 'no'})"


def print_header(args):
    import onnxruntime
    import torch
    import transformers
    name, flags = cpu_description()
    print(f"cpu: {name}; cores visible {os.cpu_count()}; "
          + ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in CPU_FLAGS))
    print(f"versions: python {sys.version.split()[0]}, torch {torch.__version__}, transformers "
          f"{transformers.__version__}, onnxruntime {onnxruntime.__version__}; torch cpu capability "
          f"{torch.backends.cpu.get_cpu_capability()}, mkldnn {torch.backends.mkldnn.is_available()}")
    print(f"load average before: {load_average()} (the figures assume the cores are otherwise idle)")
    print(f"threads: torch.get_num_threads() {torch.get_num_threads()}, interop {torch.get_num_interop_threads()}, "
          f"onnxruntime intra_op {args.threads}")
    print(f"libraries: {peer_libraries()}")
    print(f"onednn: {onednn_probe()}")
    print(f"model: {args.model}")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------- models

def load_model(path, seed):
    """AutoModelForTokenClassification with the 9 CoNLL-2003 labels, and whether its head was in the directory;
    a missing head is initialised from seed."""
    from transformers import AutoConfig, AutoModelForTokenClassification, set_seed
    config = AutoConfig.from_pretrained(path)
    set_seed(seed)
    if sorted(config.id2label.values()) == sorted(LABELS):
        return AutoModelForTokenClassification.from_pretrained(path), True
    return AutoModelForTokenClassification.from_pretrained(
        path, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id={l: i for i, l in enumerate(LABELS)}), False


def load_tokenizer(path):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(path)
    if not tokenizer.is_fast:
        sys.exit(f"{path}: needs a fast tokenizer (tokenizer.json) for word ids")
    return tokenizer


def encode(tokenizer, word_lists):
    """Input ids and word ids; tokenizer.json's own padding and truncation (128) are overridden."""
    encoding = tokenizer(word_lists, is_split_into_words=True, truncation=True, max_length=512)
    return encoding["input_ids"], [encoding.word_ids(i) for i in range(len(word_lists))]


# ---------------------------------------------------------------------------------------------- train

def train_features(tokenizer, sentences, label2id):
    ids, word_ids = encode(tokenizer, [words for words, _ in sentences])
    features = []
    for (_, tags), piece_ids, words in zip(sentences, ids, word_ids):
        labels, previous = [], None
        for w in words:
            labels.append(-100 if w is None or w == previous else label2id[tags[w]])
            previous = w
        features.append({"input_ids": piece_ids, "attention_mask": [1] * len(piece_ids),
                         "token_type_ids": [0] * len(piece_ids), "labels": labels})
    return features


def training_arguments(output_dir, precision, seed):
    import inspect
    from transformers import TrainingArguments
    accepted = inspect.signature(TrainingArguments.__init__).parameters
    options = dict(output_dir=output_dir, per_device_train_batch_size=32, per_device_eval_batch_size=32,
                   learning_rate=1e-4, weight_decay=0.01, num_train_epochs=1, seed=seed, use_cpu=True,
                   bf16=precision == "bf16", save_strategy="no", eval_strategy="no", logging_strategy="no",
                   report_to="none", disable_tqdm=True, remove_unused_columns=False, dataloader_num_workers=0)
    # warmup_ratio became warmup_steps given as a fraction in later transformers.
    if "warmup_ratio" in accepted:
        options["warmup_ratio"] = 0.1
    else:
        options["warmup_steps"] = 0.1
    if "eval_strategy" not in accepted:
        options["evaluation_strategy"] = options.pop("eval_strategy")
    return TrainingArguments(**{k: v for k, v in options.items() if k in accepted or k == "evaluation_strategy"})


def run_trainer(args, precision, tokenizer, train, dev):
    import numpy as np
    import torch
    from transformers import DataCollatorForTokenClassification, PrinterCallback, Trainer, TrainerCallback

    model, _ = load_model(args.model, args.seed)
    label2id = model.config.label2id
    id2label = model.config.id2label
    train_set = train_features(tokenizer, train, label2id)
    dev_set = train_features(tokenizer, dev, label2id) if args.full_epoch else None
    collator = DataCollatorForTokenClassification(tokenizer)
    batch_tokens = []

    def counting_collator(features):
        batch = collator(features)
        if "attention_mask" in batch:
            batch_tokens.append(int(batch["attention_mask"].sum()))
        return batch

    stop_after = None if args.full_epoch else args.warmup_steps + args.steps

    class StepClock(TrainerCallback):
        def __init__(self):
            self.stamps = []

        def on_train_begin(self, arguments, state, control, **kwargs):
            self.stamps = [time.perf_counter()]

        def on_step_end(self, arguments, state, control, **kwargs):
            self.stamps.append(time.perf_counter())
            if stop_after is not None and state.global_step >= stop_after:
                control.should_training_stop = True

    def compute_metrics(prediction):
        from seqeval.metrics import f1_score
        predicted = np.argmax(prediction.predictions, axis=-1)
        gold, guess = [], []
        for p_row, g_row in zip(predicted, prediction.label_ids):
            keep = g_row != -100
            gold.append([id2label[int(g)] for g in g_row[keep]])
            guess.append([id2label[int(p)] for p in p_row[keep]])
        return {"f1": f1_score(gold, guess)}

    clock = StepClock()
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as output_dir:
        trainer = Trainer(model=model, args=training_arguments(output_dir, precision, args.seed),
                          train_dataset=train_set, data_collator=counting_collator, callbacks=[clock],
                          compute_metrics=compute_metrics if args.full_epoch else None)
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - start
        steps_per_epoch = math.ceil(len(train_set) / 32)
        if args.full_epoch:
            start = time.perf_counter()
            metrics = trainer.evaluate(eval_dataset=dev_set)
            eval_seconds = time.perf_counter() - start
            steps = len(clock.stamps) - 1
            tokens = sum(batch_tokens[:steps])
            print(f"trainer {precision} full epoch: {steps} steps, train {train_seconds:.1f} s, "
                  f"{tokens / train_seconds:.0f} tokens/s, validation {eval_seconds:.1f} s, "
                  f"total {train_seconds + eval_seconds:.1f} s, dev F1 {100 * metrics['eval_f1']:.2f}")
            return
    stamps = clock.stamps
    first, last = args.warmup_steps, args.warmup_steps + args.steps
    if len(stamps) <= last:
        sys.exit(f"trainer {precision}: only {len(stamps) - 1} steps ran, {last} needed")
    seconds = stamps[last] - stamps[first]
    tokens = sum(batch_tokens[first:last])
    per_step = [b - a for a, b in zip(stamps[first:last], stamps[first + 1:last + 1])]
    print(f"trainer {precision}: {seconds / args.steps:.3f} s/step, {tokens / seconds:.0f} tokens/s, "
          f"epoch ≈ {seconds / args.steps * steps_per_epoch:.0f} s "
          f"({args.steps} steps after {args.warmup_steps}, {tokens} tokens, step min {min(per_step):.3f} "
          f"max {max(per_step):.3f} s, {steps_per_epoch} steps/epoch, torch threads {torch.get_num_threads()})")
    sys.stdout.flush()


def train_steps(args):
    tokenizer = load_tokenizer(args.model)
    train = read_conll(os.path.join(args.corpus, "train.txt"))
    dev = read_conll(os.path.join(args.corpus, "dev.txt")) if args.full_epoch else None
    if len(train) != TRAIN_SENTENCES:
        print(f"note: {len(train)} training sentences, not the {TRAIN_SENTENCES} of CoNLL-2003")
    for precision in (("fp32", "bf16") if args.precision == "both" else (args.precision,)):
        run_trainer(args, precision, tokenizer, train, dev)


# ---------------------------------------------------------------------------------------------- tag

def pad(rows, pad_id):
    import numpy as np
    length = max(len(r) for r in rows)
    ids = np.full((len(rows), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), length), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask, np.zeros_like(ids)


def word_labels(predicted, word_ids, count):
    """The label of each word's first sub-word; -1 for a word cut off by truncation."""
    labels, previous = [-1] * count, None
    for j, w in enumerate(word_ids):
        if w is not None and w != previous:
            labels[w] = int(predicted[j])
        previous = w
    return labels


def tag_corpus(forward, tokenizer, word_lists, batch_size):
    """Seconds, real tokens and word labels: tokenize, sort by length, pad per batch, run, read labels."""
    start = time.perf_counter()
    ids, word_ids = encode(tokenizer, word_lists)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    result = [None] * len(ids)
    for b in range(0, len(order), batch_size):
        batch = order[b:b + batch_size]
        predicted = forward(*pad([ids[i] for i in batch], tokenizer.pad_token_id)).argmax(-1)
        for row, i in enumerate(batch):
            result[i] = word_labels(predicted[row], word_ids[i], len(word_lists[i]))
    return time.perf_counter() - start, sum(len(r) for r in ids), result


def encode_texts(tokenizer, texts):
    """Input ids and word ids of raw texts: words as the tokenizer's pre-tokenizer splits them."""
    encoding = tokenizer(texts, truncation=True, max_length=512)
    return encoding["input_ids"], [encoding.word_ids(i) for i in range(len(texts))]


def tag_texts(forward, tokenizer, texts, batch_size):
    """Seconds and word labels for raw texts, as tag_corpus does for pre-split words."""
    start = time.perf_counter()
    ids, word_ids = encode_texts(tokenizer, texts)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    result = [None] * len(ids)
    for b in range(0, len(order), batch_size):
        batch = order[b:b + batch_size]
        predicted = forward(*pad([ids[i] for i in batch], tokenizer.pad_token_id)).argmax(-1)
        for row, i in enumerate(batch):
            count = 1 + max((w for w in word_ids[i] if w is not None), default=-1)
            result[i] = word_labels(predicted[row], word_ids[i], count)
    return time.perf_counter() - start, result


def percentiles(times):
    import numpy as np
    return 1000 * np.percentile(times, 50), 1000 * np.percentile(times, 99)


def latencies(forward, tokenizer, word_lists):
    times = []
    for words in word_lists:
        start = time.perf_counter()
        ids, word_ids = encode(tokenizer, [words])
        word_labels(forward(*pad(ids, tokenizer.pad_token_id)).argmax(-1)[0], word_ids[0], len(words))
        times.append(time.perf_counter() - start)
    return percentiles(times)


def text_latencies(forward, tokenizer, texts):
    """One raw sentence at a time: tokenize, run, label the words."""
    times = []
    for text in texts:
        start = time.perf_counter()
        ids, word_ids = encode_texts(tokenizer, [text])
        count = 1 + max((w for w in word_ids[0] if w is not None), default=-1)
        word_labels(forward(*pad(ids, tokenizer.pad_token_id)).argmax(-1)[0], word_ids[0], count)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def weights_key(model):
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def export_onnx(model, cache):
    """The ONNX file for these weights under cache, exported once; returns its path and how it was made."""
    import torch
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"token-classification-{weights_key(model)}.onnx")
    if os.path.exists(path):
        return path, "cached"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = torch.tensor([[101, 7327, 19164, 2446, 2655, 102, 0, 0], [101, 2848, 13934, 102, 0, 0, 0, 0]])
    inputs = (example, (example != 0).long(), torch.zeros_like(example))
    partial = path + ".partial"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dims = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
            torch.onnx.export(model, inputs, partial, input_names=names, output_names=["logits"],
                              dynamic_shapes={n: dims for n in names}, dynamo=True, external_data=False,
                              verbose=False)
            how = "torch.onnx.export (dynamo)"
        except Exception as error:  # older torch, or the exporter could not trace
            print(f"note: dynamo export failed ({type(error).__name__}), using the TorchScript exporter")
            torch.onnx.export(model, inputs, partial, input_names=names, output_names=["logits"],
                              dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["logits"]},
                              opset_version=17, dynamo=False)
            how = "torch.onnx.export (TorchScript)"
    os.replace(partial, path)
    return path, how


def tag(args):
    import numpy as np
    import onnxruntime
    import torch
    from transformers import pipeline

    sentences = read_conll(os.path.join(args.corpus, "test.txt"))
    if args.limit:
        sentences = sentences[:args.limit]
    word_lists = [words for words, _ in sentences]
    latency_lists = word_lists[:args.latency_sentences]
    words_total = sum(len(w) for w in word_lists)
    tokenizer = load_tokenizer(args.model)
    model, fine_tuned = load_model(args.model, args.seed)
    model.eval()
    print(f"tag: {os.path.basename(args.corpus)}/test.txt, {len(word_lists)} sentences, {words_total} words, "
          f"batches of {args.batch_size} sentences sorted by length, latency over {len(latency_lists)} sentences")

    def torch_forward(ids, mask, types):
        with torch.inference_mode():
            return model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                         token_type_ids=torch.from_numpy(types)).logits.float().numpy()

    def torch_bf16_forward(ids, mask, types):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return torch_forward(ids, mask, types)

    start = time.perf_counter()
    onnx_path, how = export_onnx(model, args.cache)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    print(f"onnx: {onnx_path} ({how}), session ready in {time.perf_counter() - start:.1f} s")

    def ort_forward(ids, mask, types):
        return session.run(["logits"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]

    int8_session = None
    if "ort-int8" in args.engines:
        int8_path = onnx_path[:-len(".onnx")] + "-int8.onnx"
        if not os.path.exists(int8_path):
            from onnxruntime.quantization import QuantType, quantize_dynamic
            quantize_dynamic(onnx_path, int8_path + ".partial", per_channel=True, weight_type=QuantType.QInt8)
            os.replace(int8_path + ".partial", int8_path)
        int8_session = onnxruntime.InferenceSession(int8_path, options, providers=["CPUExecutionProvider"])
        print(f"onnx int8: {int8_path} (quantize_dynamic, per-channel QInt8 weights)")

    def ort_int8_forward(ids, mask, types):
        return int8_session.run(["logits"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]

    engines = [("torch-fp32", torch_forward, True), ("torch-bf16", torch_bf16_forward, False),
               ("ort-fp32", ort_forward, True), ("ort-int8", ort_int8_forward, True)]
    texts = [" ".join(words) for words in word_lists]
    labels = {}
    for name, forward, timed_latency in engines:
        if name not in args.engines:
            continue
        warm = pad(encode(tokenizer, word_lists[:args.batch_size])[0], tokenizer.pad_token_id)
        forward(*warm)
        seconds, tokens, labels[name] = tag_corpus(forward, tokenizer, word_lists, args.batch_size)
        line = (f"tag {name}: {len(word_lists) / seconds:.1f} sentences/s, {seconds:.3f} s, "
                f"{words_total / seconds:.0f} words/s, {tokens / seconds:.0f} tokens/s")
        if timed_latency and latency_lists:
            p50, p99 = latencies(forward, tokenizer, latency_lists)
            line += f", latency p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        print(line)
        # The same sentences as raw text (joined by spaces): the tokenizer splits the words.
        seconds, from_text = tag_texts(forward, tokenizer, texts, args.batch_size)
        line = f"tag {name} raw text: {len(texts) / seconds:.1f} sentences/s, {seconds:.3f} s"
        if timed_latency and latency_lists:
            p50, p99 = text_latencies(forward, tokenizer, texts[:len(latency_lists)])
            line += f", latency p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        print(line + f" ({sum(map(len, from_text))} words as the tokenizer splits the text)")
        sys.stdout.flush()

    if "pipeline" in args.engines:
        tagger = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple",
                          device="cpu")
        tagger(texts[:args.batch_size], batch_size=args.batch_size)
        start = time.perf_counter()
        entities = tagger(texts, batch_size=args.batch_size)
        seconds = time.perf_counter() - start
        times = []
        for text in texts[:len(latency_lists)]:
            start = time.perf_counter()
            tagger(text)
            times.append(time.perf_counter() - start)
        p50, p99 = percentiles(times) if times else (math.nan, math.nan)
        print(f"tag pipeline: {len(texts) / seconds:.1f} sentences/s, {seconds:.3f} s, {words_total / seconds:.0f} words/s "
              f"(raw text, aggregation simple, batch_size {args.batch_size}, {sum(map(len, entities))} entities), "
              f"latency p50 {p50:.2f} ms, p99 {p99:.2f} ms")

    def agreement(a, b):
        pairs = [(x, y) for s, t in zip(labels[a], labels[b]) for x, y in zip(s, t)]
        return sum(x == y for x, y in pairs) / max(1, len(pairs)), len(pairs)

    if "torch-fp32" not in labels:
        return True
    share, count = 1.0, words_total
    if "ort-fp32" in labels:
        share, count = agreement("torch-fp32", "ort-fp32")
        verdict = "ok" if share >= AGREEMENT_FLOOR else "FAIL"
        print(f"agreement torch-fp32 vs ort-fp32: {100 * share:.3f}% of {count} words ({verdict}, "
              f"needs {100 * AGREEMENT_FLOOR:.1f}%)")
    if "ort-int8" in labels:
        share_int8, _ = agreement("torch-fp32", "ort-int8")
        print(f"agreement torch-fp32 vs ort-int8: {100 * share_int8:.3f}% of {count} words (for information)")
    if "torch-bf16" in labels:
        share_bf16, _ = agreement("torch-fp32", "torch-bf16")
        print(f"agreement torch-fp32 vs torch-bf16: {100 * share_bf16:.3f}% of {count} words (for information)")
    if fine_tuned:
        gold = [[model.config.label2id.get(t, -2) for t in tags] for _, tags in sentences]
        right = sum(p == g for s, t in zip(labels["torch-fp32"], gold) for p, g in zip(s, t))
        print(f"word accuracy torch-fp32 vs gold: {100 * right / count:.2f}%")
    return share >= AGREEMENT_FLOOR


def main():
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    import transformers
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in ("model", "corpus"):
        if not os.path.isdir(getattr(args, name)):
            sys.exit(f"--{name} {getattr(args, name)}: no such directory (see Scripts/setup.sh)")
    print_header(args)
    ok = True
    if args.command in ("train-steps", "all"):
        train_steps(args)
    if args.command in ("tag", "all"):
        ok = tag(args)
    print(f"load average after: {load_average()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
