"""Export a trained run as models/xmodal-mini: a bundle of an HF CLIP folder (text + image) and an HF CLAP folder
(the same text graph + audio), each with ONNX files transformers.js loads by name.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 training/export.py --run training/.data/run --out models/xmodal-mini

BatchNorm is folded into the convolutions; the token table is stored as uint8 rows with a per-row scale and zero
point (Gather -> Cast -> Sub -> Mul), a quarter of its fp32 size, in both the fp32 and the quantised graphs.
Writes RUN/export-check.json (inputs and torch outputs) for data/verify-export.mjs.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from xmodal.clap_config import FRAMES, MELS, PREPROCESSOR_CONFIG  # noqa: E402
from xmodal.data import IMAGE_MEAN, IMAGE_STD, MAX_TOKENS, ImageSet, Texts, normalise, to_tensor  # noqa: E402
from xmodal.models import AUDIO_WIDTHS, EMBED_DIM, AudioTower, ImageTower, TextTower  # noqa: E402

OPSET = 14


def fold_bn(seq):
    """Sequential(conv, bn, relu) -> Sequential(conv_with_bias, relu), numerically the same in eval mode."""
    conv, bn, act = seq[0], seq[1], seq[2]
    w = conv.weight.detach()
    s = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused = type(conv)(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding, bias=True)
    fused.weight.data = w * s.view(-1, *([1] * (w.ndim - 1)))
    fused.bias.data = bn.bias.detach() - bn.running_mean * s
    return nn.Sequential(fused, act)


def fold_all(features):
    return nn.Sequential(*[fold_bn(m) if isinstance(m, nn.Sequential) else m for m in features])


class TextExport(nn.Module):
    def __init__(self, tower):
        super().__init__()
        w = tower.embed.weight.detach()
        lo, hi = w.min(1).values, w.max(1).values
        scale = ((hi - lo) / 255.0).clamp(min=1e-8)
        zero = torch.round(-lo / scale)
        self.register_buffer("q", torch.clamp(torch.round(w / scale[:, None]) + zero[:, None], 0, 255).to(torch.uint8))
        self.register_buffer("scale", scale)
        self.register_buffer("zero", zero)
        self.tower = tower

    def forward(self, input_ids, attention_mask):
        t = self.tower
        e = (self.q[input_ids].float() - self.zero[input_ids].unsqueeze(-1)) * self.scale[input_ids].unsqueeze(-1)
        m = attention_mask.float().unsqueeze(-1)
        x = (e * m).sum(1) / m.sum(1).clamp(min=1.0)
        h = t.inp(x)
        for b in t.blocks:
            h = h + b(h)
        return t.out(h)


class VisionExport(nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.features = fold_all(tower.features)
        self.proj = tower.proj

    def forward(self, pixel_values):
        f = self.features(pixel_values)
        return self.proj(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1))


class AudioExport(nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.register_buffer("mean", tower.mean)
        self.register_buffer("std", tower.std)
        self.features = fold_all(tower.features)
        self.proj = tower.proj

    def forward(self, input_features):
        x = (input_features[:, 0] - self.mean) / self.std
        f = self.features(x.transpose(1, 2))
        return self.proj(torch.cat([f.mean(dim=2), f.amax(dim=2)], dim=1))


def export(module, args, path, inputs, outputs, dynamic):
    torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)


def configs(vocab_size, image_size, logit_scale, text_hidden):
    text_config = {"vocab_size": vocab_size, "max_position_embeddings": MAX_TOKENS, "hidden_size": text_hidden, "projection_dim": EMBED_DIM,
                   "bos_token_id": 2, "eos_token_id": 3, "pad_token_id": 0}
    info = {"xmodal": {"family": "xmodal-mini", "text": "mean of uint8 subword embeddings + residual MLP", "image": "5-conv CNN", "audio": "1-D CNN over CLAP log-mel"}}
    clip = {"model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": EMBED_DIM, "logit_scale_init_value": math.log(10.0), "logit_scale": round(logit_scale, 4),
            "text_config": {"model_type": "clip_text_model", **text_config},
            "vision_config": {"model_type": "clip_vision_model", "image_size": image_size, "num_channels": 3, "projection_dim": EMBED_DIM, "hidden_size": 256, "patch_size": image_size},
            **info}
    clap = {"model_type": "clap", "architectures": ["ClapModel"], "projection_dim": EMBED_DIM, "logit_scale_init_value": math.log(10.0), "logit_scale": round(logit_scale, 4),
            "text_config": {"model_type": "clap_text_model", **text_config},
            "audio_config": {"model_type": "clap_audio_model", "num_mel_bins": MELS, "spec_size": FRAMES, "projection_dim": EMBED_DIM, "enable_fusion": False},
            **info}
    pre_clip = {"image_processor_type": "CLIPImageProcessor", "feature_extractor_type": "CLIPFeatureExtractor", "do_resize": True, "size": {"shortest_edge": image_size}, "resample": 3,
                "do_center_crop": True, "crop_size": {"height": image_size, "width": image_size}, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                "image_mean": IMAGE_MEAN, "image_std": IMAGE_STD, "do_convert_rgb": True}
    return clip, clap, pre_clip


def dump(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(HERE, ".data"))
    p.add_argument("--run", default=os.path.join(HERE, ".data", "run"))
    p.add_argument("--out", default=os.path.join(HERE, "..", "models", "xmodal-mini"))
    p.add_argument("--text", help="checkpoint whose text tower to export (default RUN/image.pt)")
    p.add_argument("--image", help="checkpoint whose image tower to export (default RUN/image.pt)")
    p.add_argument("--audio", help="checkpoint whose audio tower to export (default RUN/audio.pt)")
    p.add_argument("--no-quantize", action="store_true")
    args = p.parse_args()
    torch.manual_seed(0)
    s1 = torch.load(args.image or os.path.join(args.run, "image.pt"), map_location="cpu")
    s2 = torch.load(args.audio or os.path.join(args.run, "audio.pt"), map_location="cpu")
    st = torch.load(args.text or os.path.join(args.run, "image.pt"), map_location="cpu")
    txt = TextTower(st["vocab_size"])
    txt.load_state_dict(st["text"])
    img = ImageTower(tuple(s1.get("image_widths", (32, 64, 128, 192, 256))))
    img.load_state_dict(s1["image"])
    aud = AudioTower(tuple(s2.get("widths", AUDIO_WIDTHS)))
    aud.load_state_dict(s2["audio"])
    for m in (txt, img, aud):
        m.eval()
    t_exp, v_exp, a_exp = TextExport(txt).eval(), VisionExport(img).eval(), AudioExport(aud).eval()

    out = os.path.abspath(args.out)
    for part in ("clip", "clap"):
        shutil.rmtree(os.path.join(out, part), ignore_errors=True)
        os.makedirs(os.path.join(out, part, "onnx"))
    S = s1["image_size"]
    ids = torch.tensor([[2, 100, 200, 3, 0], [2, 300, 3, 0, 0]])
    mask = (ids != 0).long()
    export(t_exp, (ids, mask), os.path.join(out, "clip", "onnx", "text_model.onnx"), ["input_ids", "attention_mask"], ["text_embeds"],
           {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}})
    export(v_exp, (torch.randn(2, 3, S, S),), os.path.join(out, "clip", "onnx", "vision_model.onnx"), ["pixel_values"], ["image_embeds"], {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
    shutil.copy(os.path.join(out, "clip", "onnx", "text_model.onnx"), os.path.join(out, "clap", "onnx", "text_model.onnx"))
    export(a_exp, (torch.randn(2, 1, FRAMES, MELS),), os.path.join(out, "clap", "onnx", "audio_model.onnx"), ["input_features"], ["audio_embeds"], {"input_features": {0: "batch"}, "audio_embeds": {0: "batch"}})

    clip, clap, pre_clip = configs(s1["vocab_size"], S, s1["logit_scale"], txt.inp.out_features)
    dump(clip, os.path.join(out, "clip", "config.json"))
    dump(clap, os.path.join(out, "clap", "config.json"))
    dump(pre_clip, os.path.join(out, "clip", "preprocessor_config.json"))
    dump(PREPROCESSOR_CONFIG, os.path.join(out, "clap", "preprocessor_config.json"))
    for part in ("clip", "clap"):
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(args.data, "tokenizer", f), os.path.join(out, part, f))
    dump({"name": "xmodal-mini", "space": "shared", "parts": ["clip", "clap"]}, os.path.join(out, "xmodal.json"))
    if not args.no_quantize:
        onnx_files = [os.path.join(out, part, "onnx", f) for part, f in (("clip", "text_model.onnx"), ("clip", "vision_model.onnx"), ("clap", "text_model.onnx"), ("clap", "audio_model.onnx"))]
        subprocess.run([sys.executable, os.path.join(HERE, "quantize.py"), *onnx_files, "--flavours", "quantized"], check=True)

    # Reference inputs and torch outputs for the JS-side check (data/verify-export.mjs).
    texts = Texts(args.data)
    probe = ["dog", "cane", "red heart", "cuore rosso", "piano", "drum kit", "acoustic grand piano", "face with tears of joy", "faccina con lacrime di gioia"]
    held = ImageSet(args.data, "heldout", texts)
    pix = normalise(to_tensor(held.pixels[:4]))
    feats = torch.randn(3, 1, FRAMES, MELS) * 20 - 50
    with torch.no_grad():
        ids_list = [[texts.tokens[texts.sid[s]][: int(texts.mask[texts.sid[s]].sum())].tolist()] for s in probe if s in texts.sid]
        t_ref = [t_exp(*texts.batch([texts.sid[s]])).squeeze(0).tolist() for s in probe]
        t_float = [txt(*texts.batch([texts.sid[s]])).squeeze(0) for s in probe]
        table_cos = min(float(torch.nn.functional.cosine_similarity(torch.tensor(a), b, dim=0)) for a, b in zip(t_ref, t_float))
        print(f"uint8 token table vs fp32: min cos {table_cos:.6f}")
        check = {"texts": probe, "text_embeds": t_ref, "token_ids": ids_list,
                 "pixel_values": pix.flatten().tolist(), "pixel_dims": list(pix.shape), "image_embeds": img(pix).tolist(),
                 "input_features": feats.flatten().tolist(), "feature_dims": list(feats.shape), "audio_embeds": aud(feats).tolist()}
    with open(os.path.join(args.run, "export-check.json"), "w") as f:
        json.dump(check, f)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    print(f"exported to {out}: {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
