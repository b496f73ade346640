#!/usr/bin/env bash
# One short check of the GPU path, for a machine with a CUDA GPU:
#   1. `spacy train --gpu-id 0` on UD English EWT (configs/ewt_upos.cfg) for 300 steps;
#   2. `spacy evaluate --gpu-id 0` on dev;
#   3. tag EWT test on the GPU, load the same pipeline on the CPU (no GPU visible) and tag
#      it again: the tags must be identical;
#   4. words/s on the GPU with nlp.pipe(batch_size=1000) and (batch_size=10000).
#
# Needs: a CUDA build of torch, cupy for that CUDA (e.g. pip install cupy-cuda12x), this
# package installed, and the treebank (DATA, default ../shared/data/ud-english-ewt).
# Usage: bash benchmarks/gpu_check.sh [WORK_DIR]      (prints everything; exits 1 on a failure)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
DATA=${DATA:-../shared/data/ud-english-ewt}
WORK=${1:-/tmp/gpu_check}
mkdir -p "$WORK/corpus"

$PYTHON - <<'EOF'
import torch, spacy, thinc
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPU: "
      f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}; "
      f"spaCy {spacy.__version__}, thinc {thinc.__version__}")
import cupy  # noqa: F401  (spaCy's GPU ops need it)
EOF

$PYTHON -c 'import sys; from pathlib import Path; from benchmarks.common import convert
convert("ewt", Path(sys.argv[1]), Path(sys.argv[2]))' "$WORK/corpus" "$DATA"

start=$(date +%s)
$PYTHON -m spacy train configs/ewt_upos.cfg --output "$WORK/training" --gpu-id 0 \
  --paths.train "$WORK/corpus/en_ewt-ud-train.spacy" --paths.dev "$WORK/corpus/en_ewt-ud-dev.spacy" \
  --system.gpu_allocator pytorch --training.max_steps 300 --training.eval_frequency 100
echo "train: $(( $(date +%s) - start )) s for 300 steps"

$PYTHON -m spacy evaluate "$WORK/training/model-last" "$WORK/corpus/en_ewt-ud-dev.spacy" \
  --gold-preproc --gpu-id 0

TAGS_SCRIPT='
import json, sys, time
import spacy
from spacy.tokens import DocBin
on_gpu = sys.argv[1] == "gpu"
if on_gpu:
    spacy.require_gpu(0)
nlp = spacy.load(sys.argv[2])
docs = list(DocBin().from_disk(sys.argv[3]).get_docs(nlp.vocab))
words = [[t.text for t in doc] for doc in docs]
def fresh():
    return [spacy.tokens.Doc(nlp.vocab, words=w) for w in words]
tags = [[t.pos_ for t in doc] for doc in nlp.pipe(fresh(), batch_size=1000)]
json.dump(tags, open(sys.argv[4], "w"))
if on_gpu:
    n_words = sum(len(w) for w in words)
    for batch_size in (1000, 10000):
        list(nlp.pipe(fresh(), batch_size=batch_size))  # warm-up
        start = time.perf_counter()
        list(nlp.pipe(fresh(), batch_size=batch_size))
        print(f"GPU words/s at batch_size {batch_size}: {n_words / (time.perf_counter() - start):,.0f}")
'
TEST="$WORK/corpus/en_ewt-ud-test.spacy"
$PYTHON -c "$TAGS_SCRIPT" gpu "$WORK/training/model-last" "$TEST" "$WORK/tags_gpu.json"
CUDA_VISIBLE_DEVICES="" $PYTHON -c "$TAGS_SCRIPT" cpu "$WORK/training/model-last" "$TEST" "$WORK/tags_cpu.json"
$PYTHON - "$WORK" <<'EOF'
import json, sys
gpu = json.load(open(f"{sys.argv[1]}/tags_gpu.json"))
cpu = json.load(open(f"{sys.argv[1]}/tags_cpu.json"))
same = sum(a == b for g, c in zip(gpu, cpu) for a, b in zip(g, c))
total = sum(len(g) for g in gpu)
print(f"tags saved on the GPU and loaded on the CPU: {same}/{total} identical")
sys.exit(0 if same == total else 1)
EOF
echo "gpu_check: all steps passed"
