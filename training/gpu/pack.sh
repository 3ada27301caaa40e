#!/bin/sh
# Pack what train_image.py reads into training/.data/gpu (~21 MB) to carry to a GPU machine, where the working tree
# and what it carries may take 64 MiB in all (the tracked tree is ~35 MB): xz -9e, and corpus.json cut to the
# parts train_image.py reads. With a stage-1 checkpoint as argument (for image_stage.sh finetune) it adds that
# checkpoint with fp16 weights (6.6 MB instead of 13; training/gpu/unpack.py casts them back to fp32).
#   sh training/gpu/pack.sh [training/.data/run-gpu/A/image-stage1.pt]
set -e
INIT=${1:+$(realpath "$1")}
cd "$(dirname "$0")/../.data"
mkdir -p gpu/tokenizer
rm -f gpu/*.gz gpu/image-stage1-f16.pt
for f in images-train.u8 images-heldout.u8 images-train.jsonl images-heldout.jsonl images.json token-ids.json corpus.json; do
  [ "gpu/$f.xz" -nt "$f" ] && continue  # xz -9e of the images takes minutes on one core
  if [ $f = corpus.json ]; then
    /usr/bin/python3 -c "
import json; c = json.load(open('corpus.json', encoding='utf-8'))
json.dump({k: c[k] for k in ('langs', 'emoji', 'groups', 'subgroups')}, open('gpu/corpus.json', 'w', encoding='utf-8'), ensure_ascii=False)"
    xz -T1 -9e -f gpu/corpus.json
  else
    xz -T1 -9e -c "$f" > "gpu/$f.xz"
  fi
done
cp tokenizer/* gpu/tokenizer/
[ -z "$INIT" ] || /usr/bin/python3 -c "
import sys, torch; c = torch.load(sys.argv[1], map_location='cpu')
for k in ('image', 'text'): c[k] = {n: (t.half() if t.is_floating_point() else t) for n, t in c[k].items()}
torch.save(c, 'gpu/image-stage1-f16.pt')" "$INIT"
du -sb gpu
