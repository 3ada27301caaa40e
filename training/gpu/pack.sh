#!/bin/sh
# Pack what train_image.py reads into training/.data/gpu (gzip; ~40 MB) so it can travel to a GPU machine.
set -e
cd "$(dirname "$0")/../.data"
mkdir -p gpu/tokenizer
for f in images-train.u8 images-heldout.u8 images-train.jsonl images-heldout.jsonl images.json corpus.json token-ids.json; do gzip -1 -c "$f" > "gpu/$f.gz"; done
cp tokenizer/* gpu/tokenizer/
du -sh gpu
