#!/bin/sh
# Stage 1 on a CUDA machine (optional: the same script trains on CPU, only slower). Run from the repo root
# with training/.data/gpu carried along; writes the checkpoint and log under $OUT/run.
set -e
D=training/.data
for f in $D/gpu/*.gz; do gunzip -c "$f" > "$D/$(basename "$f" .gz)"; done
mkdir -p $D/tokenizer && cp $D/gpu/tokenizer/* $D/tokenizer/
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader || true
python3 training/train_image.py --data $D --out "${OUT:-$D}/run" --batch 1024 --lr 2e-3 --minutes "${MINUTES:-6}" --eval-every 1000 --log-every 250 --seed 0
