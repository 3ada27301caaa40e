"""transformers.js's ClapFeatureExtractor (rand_trunc + repeatpad, slaney mel, power dB) in torch, batched.

The mel filters and window are the ones the JS extractor builds (dumped by data/clap-reference.mjs), and
data/check_audio_features.py compares the output with the JS features on real clips.
"""

import json

import numpy as np
import torch

from .clap_config import FFT, HOP, NB_MAX_SAMPLES


def load_filters(path):
    with open(path) as f:
        ref = json.load(f)
    mel = torch.tensor(np.array(ref["mel_filters"], dtype=np.float32))  # [mels, bins]
    window = torch.tensor(np.array(ref["window"], dtype=np.float32))
    return mel, window


def repeatpad(x, max_len=NB_MAX_SAMPLES):
    """One waveform (1-D numpy float) -> max_len samples, exactly as the JS extractor pads (no cropping here)."""
    n = len(x)
    if n >= max_len:
        return x[:max_len]
    out = np.zeros(max_len, dtype=np.float32)
    out[:n] = x
    i = n
    while i < max_len - n:  # JS: for (i = len; i < -diff; i += len) padded.set(waveform, i)
        out[i : i + n] = x
        i += n
    return out


def log_mel(waves, mel, window):
    """waves [B, NB_MAX_SAMPLES] float32 -> [B, frames, mels] dB, the layout of input_features[:, 0]."""
    pad = FFT // 2
    x = torch.nn.functional.pad(waves.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    frames = x.unfold(-1, FFT, HOP) * window  # [B, T, FFT]
    spec = torch.fft.rfft(frames, n=FFT)
    power = spec.real**2 + spec.imag**2  # [B, T, bins]
    m = torch.clamp(power @ mel.T, min=1e-10)
    return 10.0 * torch.log10(m)
