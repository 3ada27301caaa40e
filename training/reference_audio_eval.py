"""Audio zero-shot accuracy of an `xmodal eval` manifest the way training/evaluate.py sees audio, on the ONNX towers.

    python training/reference_audio_eval.py MANIFEST.jsonl [--model models/xmodal-mini] [--filters clap-reference.json]

Each audio line's file (16-bit WAV) goes through the training pipeline's own code: read_wav (channels averaged)
and resample (to 16 kHz) from data/render_audio.py, then cached_features' path (the first 2 s, repeatpad, the torch
log-mel of xmodal/audio_features.py), then the audio tower; each label's text through the text tower; zero_shot
from xmodal/metrics.py. The ONNX towers reproduce the torch ones (data/verify-export.mjs), so this is evaluate.py's
number for these files without the training checkpoints (training/data/render_eval_sets.py writes such manifests).
Needs torch, numpy, onnxruntime and tokenizers. Prints one JSON line: {"items", "labels", "accuracy"}.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime
import torch
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "data"))
from render_audio import read_wav, resample  # noqa: E402
from xmodal.audio_features import load_filters, log_mel, repeatpad  # noqa: E402
from xmodal.clap_config import NB_MAX_SAMPLES, SAMPLING_RATE  # noqa: E402
from xmodal.metrics import zero_shot  # noqa: E402


def text_embeds(model_dir, texts):
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    enc = [tok.encode(t) for t in texts]
    width = max(len(e.ids) for e in enc)
    ids = np.zeros((len(enc), width), dtype=np.int64)
    mask = np.zeros((len(enc), width), dtype=np.int64)
    for i, e in enumerate(enc):
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = 1
    session = onnxruntime.InferenceSession(os.path.join(model_dir, "onnx", "text_model.onnx"))
    out = session.run(["text_embeds"], {"input_ids": ids, "attention_mask": mask})[0]
    return torch.from_numpy(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("manifest")
    p.add_argument("--model", default=os.path.join(HERE, "..", "models", "xmodal-mini"))
    p.add_argument("--filters", default=os.path.join(HERE, ".data", "clap-reference.json"), help="the JS extractor's mel filters and window (data/clap-reference.mjs)")
    args = p.parse_args()
    clap = os.path.join(args.model, "clap")
    mel, window = load_filters(args.filters)
    with open(args.manifest) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    clips = [r for r in lines if r["modality"] == "audio"]
    labels = sorted({r["label"] for r in lines if r["modality"] == "text"})
    assert all(sum(r["modality"] == "text" and r["label"] == label for r in lines) == 1 for label in labels), "one text per label"
    feats = []
    for c in clips:
        x, sr = read_wav(os.path.join(os.path.dirname(args.manifest), c["path"]))
        x = resample(x, sr, SAMPLING_RATE)
        feats.append(log_mel(torch.from_numpy(repeatpad(x[:NB_MAX_SAMPLES]))[None], mel, window)[0])
    session = onnxruntime.InferenceSession(os.path.join(clap, "onnx", "audio_model.onnx"))
    audio = []
    for s in range(0, len(feats), 64):
        batch = torch.stack(feats[s : s + 64]).unsqueeze(1).numpy().astype(np.float32)
        audio.append(torch.from_numpy(session.run(["audio_embeds"], {"input_features": batch})[0]))
    A = torch.cat(audio)
    T = text_embeds(clap, [next(r["text"] for r in lines if r["modality"] == "text" and r["label"] == label) for label in labels])
    print(json.dumps(zero_shot(A, T, [labels.index(c["label"]) for c in clips])))


if __name__ == "__main__":
    main()
