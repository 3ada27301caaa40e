"""On the GPU machine: training/.data/gpu (training/gpu/pack.sh) -> training/.data/*, and its fp16 stage-1
checkpoint, if packed, -> training/.data/run-in/image-stage1.pt (fp32) for image_stage.sh finetune.
    python3 training/gpu/unpack.py [training/.data]"""
import lzma, os, shutil, sys
import torch

D = sys.argv[1] if len(sys.argv) > 1 else "training/.data"
src = os.path.join(D, "gpu")
for f in os.listdir(src):
    if f.endswith(".xz"):
        with lzma.open(os.path.join(src, f)) as i, open(os.path.join(D, f[:-3]), "wb") as o:
            shutil.copyfileobj(i, o, 1 << 24)
os.makedirs(os.path.join(D, "tokenizer"), exist_ok=True)
for f in os.listdir(os.path.join(src, "tokenizer")):
    shutil.copy(os.path.join(src, "tokenizer", f), os.path.join(D, "tokenizer", f))
f16 = os.path.join(src, "image-stage1-f16.pt")
if os.path.exists(f16):
    c = torch.load(f16, map_location="cpu", weights_only=False)
    for k in ("image", "text"):
        c[k] = {n: (t.float() if t.is_floating_point() else t) for n, t in c[k].items()}
    os.makedirs(os.path.join(D, "run-in"), exist_ok=True)
    torch.save(c, os.path.join(D, "run-in", "image-stage1.pt"))
print("unpacked", sorted(os.listdir(D)))
