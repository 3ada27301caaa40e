"""Compare the torch log-mel features with transformers.js's ClapFeatureExtractor on real clips (short, exact, long).

    /usr/bin/python3 training/data/check_audio_features.py [dataDir]
Writes dataDir/clap-reference.json (the JS mel filters and window that training then uses).
"""

import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from xmodal.audio_features import load_filters, log_mel, repeatpad  # noqa: E402
from xmodal.clap_config import NB_MAX_SAMPLES, PREPROCESSOR_CONFIG  # noqa: E402

data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".data")
rows = [json.loads(l) for l in open(os.path.join(data_dir, "audio-train.jsonl"))]
pcm = np.memmap(os.path.join(data_dir, "audio-train.i16"), dtype="<i2", mode="r")
picks = [0, 1, 500, len(rows) - 1, len(rows) // 2, len(rows) - 7]
clips = [np.asarray(pcm[rows[i]["offset"] : rows[i]["offset"] + rows[i]["length"]], dtype=np.float32) / 32768.0 for i in picks]
clips.append(clips[0][: NB_MAX_SAMPLES])  # exactly one window
cfg = os.path.join(data_dir, "clap-preprocessor.json")
json.dump(PREPROCESSOR_CONFIG, open(cfg, "w"))
np.concatenate(clips).astype(np.float32).tofile(os.path.join(data_dir, "clap-check.f32"))
json.dump([len(c) for c in clips], open(os.path.join(data_dir, "clap-check.json"), "w"))
ref_path = os.path.join(data_dir, "clap-reference.json")
subprocess.run(["node", os.path.join(HERE, "clap-reference.mjs"), cfg, os.path.join(data_dir, "clap-check.f32"), os.path.join(data_dir, "clap-check.json"), ref_path], check=True)
mel, window = load_filters(ref_path)
ref = json.load(open(ref_path))["features"]
worst = 0.0
for c, r in zip(clips, ref):
    assert len(c) <= NB_MAX_SAMPLES, "pick clips within one window (longer ones are cropped at random)"
    ours = log_mel(torch.tensor(repeatpad(c))[None], mel, window)[0].numpy()
    theirs = np.array(r["data"], dtype=np.float32).reshape(r["dims"])[0, 0]
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    diff = np.abs(ours - theirs)
    keep = theirs > -60  # above the floor, where float32 vs float64 rounding cannot matter
    worst = max(worst, float(diff[keep].max()))
    print(f"len {len(c):6d}  shape {ours.shape}  max |diff| {diff.max():.4f} dB (>-60 dB: {diff[keep].max():.5f})  range {theirs.min():.1f}..{theirs.max():.1f}")
assert worst < 0.01, worst
print("torch features match transformers.js ClapFeatureExtractor")
