"""Rebuild torch checkpoints from a shipped xmodal-mini folder, so a new version can start from the released one.

    /usr/bin/python3 training/from_onnx.py --model models/xmodal-mini --out training/.data/run-v1
      -> OUT/image.pt (text + image towers, as train_image.py writes) and OUT/audio.pt (as train_audio.py writes)

The export folded every BatchNorm into its convolution and stored the token table as uint8 rows; here each
BatchNorm becomes an identity (weight 1, running mean 0, running variance 1 - eps) that carries the folded bias,
and the table is dequantised. Checkpoints say "bn_frozen": trainers keep those BatchNorms in eval mode, so batch
statistics never replace the folded ones. A round trip (this, then export.py) gives the same graphs; --check
compares every tower's torch output with the ONNX initialisers' own arithmetic on random inputs.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from xmodal.models import AudioTower, ImageTower, TextTower  # noqa: E402


def initialisers(path):
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(path).graph.initializer}


def unfold(features, w, prefix="features"):
    """Load folded conv weights into Sequential(conv, bn, relu) blocks with identity BatchNorms."""
    state = {}
    for idx, block in enumerate(features):
        if not isinstance(block, torch.nn.Sequential):
            continue
        bn = block[1]
        state[f"{prefix}.{idx}.0.weight"] = w[f"{prefix}.{idx}.0.weight"]
        state[f"{prefix}.{idx}.1.weight"] = torch.ones_like(bn.weight)
        state[f"{prefix}.{idx}.1.bias"] = w[f"{prefix}.{idx}.0.bias"]
        state[f"{prefix}.{idx}.1.running_mean"] = torch.zeros_like(bn.running_mean)
        state[f"{prefix}.{idx}.1.running_var"] = torch.full_like(bn.running_var, 1.0 - bn.eps)
        state[f"{prefix}.{idx}.1.num_batches_tracked"] = torch.tensor(0)
    return state


def conv_widths(w):
    """Output channels of features.N.0 (the convolutions), in order."""
    keys = sorted((k for k in w if k.startswith("features.") and k.endswith(".0.weight")), key=lambda k: int(k.split(".")[1]))
    return tuple(w[k].shape[0] for k in keys)


def text_tower(w):
    vocab, dim = w["q"].shape
    tower = TextTower(vocab, token_dim=dim, hidden=w["tower.inp.weight"].shape[0])
    state = {k[len("tower."):]: v for k, v in w.items() if k.startswith("tower.")}
    state["embed.weight"] = (w["q"].float() - w["zero"][:, None]) * w["scale"][:, None]
    tower.load_state_dict(state)
    return tower


def image_tower(w):
    widths = conv_widths(w)
    tower = ImageTower(widths)
    state = unfold(tower.features, w)
    state["proj.weight"], state["proj.bias"] = w["proj.weight"], w["proj.bias"]
    tower.load_state_dict(state)
    return tower, widths


def audio_tower(w):
    widths = conv_widths(w)
    tower = AudioTower(widths, mels=w["mean"].shape[0], mean=w["mean"], std=w["std"])
    state = unfold(tower.features, w)
    state.update({k: w[k] for k in ("proj.0.weight", "proj.0.bias", "proj.2.weight", "proj.2.bias", "mean", "std")})
    tower.load_state_dict(state)
    return tower, widths


def folded_forward_image(w, x):
    """The exported vision graph's arithmetic, straight from its initialisers."""
    convs = sorted({int(k.split(".")[1]) for k in w if k.startswith("features.")})
    for n, i in enumerate(convs):
        x = torch.relu(torch.nn.functional.conv2d(x, w[f"features.{i}.0.weight"], w[f"features.{i}.0.bias"], padding=1))
        if n < len(convs) - 1:
            x = torch.nn.functional.max_pool2d(x, 2)
    return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], 1) @ w["proj.weight"].T + w["proj.bias"]


def folded_forward_audio(w, feats):
    x = ((feats[:, 0] - w["mean"]) / w["std"]).transpose(1, 2)
    convs = sorted({int(k.split(".")[1]) for k in w if k.startswith("features.")})
    for n, i in enumerate(convs):
        k = w[f"features.{i}.0.weight"]
        x = torch.relu(torch.nn.functional.conv1d(x, k, w[f"features.{i}.0.bias"], padding=k.shape[-1] // 2))
        if n < len(convs) - 1:
            x = torch.nn.functional.max_pool1d(x, 2)
    x = torch.cat([x.mean(2), x.amax(2)], 1)
    x = torch.relu(x @ w["proj.0.weight"].T + w["proj.0.bias"])
    return x @ w["proj.2.weight"].T + w["proj.2.bias"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=os.path.join(HERE, "..", "models", "xmodal-mini"))
    p.add_argument("--out", required=True)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.model, "clip", "config.json"), encoding="utf-8") as f:
        clip = json.load(f)
    tw = initialisers(os.path.join(args.model, "clip", "onnx", "text_model.onnx"))
    vw = initialisers(os.path.join(args.model, "clip", "onnx", "vision_model.onnx"))
    aw = initialisers(os.path.join(args.model, "clap", "onnx", "audio_model.onnx"))
    txt = text_tower(tw).eval()
    img, image_widths = image_tower(vw)
    aud, audio_widths = audio_tower(aw)
    img.eval()
    aud.eval()
    torch.manual_seed(0)
    size = clip["vision_config"]["image_size"]
    with torch.no_grad():
        x = torch.randn(4, 3, size, size)
        f = torch.randn(3, 1, 201, aw["mean"].shape[0]) * 20 - 50
        err_img = float((img(x) - folded_forward_image(vw, x)).abs().max())
        err_aud = float((aud(f) - folded_forward_audio(aw, f)).abs().max())
    print(f"rebuilt towers vs the exported graphs' arithmetic: image max |diff| {err_img:.2e}, audio {err_aud:.2e}")
    assert err_img < 1e-3 and err_aud < 1e-3
    scale = float(clip["logit_scale"])
    torch.save({"image": img.state_dict(), "text": txt.state_dict(), "logit_scale": scale, "image_size": size, "image_widths": image_widths,
                "vocab_size": txt.embed.num_embeddings, "bn_frozen": True, "source": os.path.abspath(args.model)}, os.path.join(args.out, "image.pt"))
    torch.save({"audio": aud.state_dict(), "audio_scale": scale, "widths": audio_widths, "bn_frozen": True, "source": os.path.abspath(args.model)},
               os.path.join(args.out, "audio.pt"))
    print(f"wrote {args.out}/image.pt (image widths {image_widths}, vocab {txt.embed.num_embeddings}) and audio.pt (widths {audio_widths}); logit scale {scale}")


if __name__ == "__main__":
    main()
