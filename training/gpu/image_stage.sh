#!/bin/sh
# Stage 1 on a CUDA machine (optional: build.sh runs the same script on CPU, only slower). Run from the repo
# root with training/.data/gpu carried along (training/gpu/pack.sh makes it, ~40 MB); writes $OUT/run/image.pt.
# Then, back on the CPU: cp it to training/.data/run/image.pt and run STAGES="prompts finetune audio export verify eval".
set -e
D=training/.data
for f in $D/gpu/*.gz; do gunzip -c "$f" > "$D/$(basename "$f" .gz)"; done
mkdir -p $D/tokenizer && cp $D/gpu/tokenizer/* $D/tokenizer/
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader || true
python3 training/train_image.py --data $D --out "${OUT:-$D}/run" --batch 1024 --lr 2e-3 --widths 16,32,64,128,256 --cartoon \
  --steps 100000000 --minutes "${MINUTES:-4}" --eval-every 2000 --log-every 500 --seed 0
