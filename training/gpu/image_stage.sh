#!/bin/sh
# Stage 1 (image + text towers) and stage 1c (image tower only, against the frozen stage-1 text tower) on one
# CUDA GPU, as the shipped xmodal-mini was made. Two calls, since a device call may run 10 min at most:
#   sh training/gpu/image_stage.sh stage1     6.5 min of training from scratch (the shipped call: 411 s on an H200)
#   sh training/gpu/image_stage.sh finetune   4.5 min from the stage-1 checkpoint pack.sh packed (the shipped call: 293 s)
# Run from the repo root with training/.data/gpu carried along (training/gpu/pack.sh; before finetune,
# pack.sh RUN/image-stage1.pt); writes image.pt and image.log into $OUT (default training/.data/run-gpu/<step>).
# The shipped stage 1 shared its GPU with a comparison run (13,341 steps at ~35k img/s): alone it makes more steps.
# The whole recipe, CPU stages included: training/build.sh.
set -e
D=training/.data
case "$1" in
  stage1) run="--lr 2e-3 --minutes 6.5 --seed 0 --workers 6" ;;
  finetune) run="--init $D/run-in/image-stage1.pt --freeze-text --lr 5e-4 --minutes 4.5 --seed 1 --workers 12"
    [ -f $D/gpu/image-stage1-f16.pt ] || { echo "pack the stage-1 checkpoint first: sh training/gpu/pack.sh RUN/image-stage1.pt" >&2; exit 2; } ;;
  *) echo "usage: sh training/gpu/image_stage.sh stage1|finetune" >&2; exit 2 ;;
esac
OUT=${OUT:-$D/run-gpu/$1}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
python3 training/gpu/unpack.py $D
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader || true
python3 training/train_image.py --data $D --out "$OUT" --widths 16,32,64,128,256 --cartoon --batch 1024 --steps 100000000 \
  --eval-every 2000 --log-every 500 $run
