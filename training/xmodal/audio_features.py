"""transformers.js's ClapFeatureExtractor (rand_trunc + repeatpad, slaney mel, power dB) in torch, batched.

The mel filters and window are the ones the JS extractor builds (dumped by data/clap-reference.mjs), and
data/check_audio_features.py compares the output with the JS features on real clips.
"""

import json
import math
import os

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


def cached_features(path, source, waves, count, mel, window, batch=256):
    """log_mel of every clip (repeatpadded, the first NB_MAX_SAMPLES kept) as float16 [count, frames, mels] in PATH.

    Built once (about a minute), then memory-mapped: training reads features, not waveforms. Rebuilt when the
    SOURCE file of the clips is newer or the clip count changed. waves(i) -> the float32 waveform of clip i.
    """
    from .clap_config import FRAMES, MELS

    fresh = os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(source)
    if fresh and np.load(path, mmap_mode="r").shape[0] != count:
        fresh = False
    if not fresh:
        out = np.lib.format.open_memmap(path + ".part", mode="w+", dtype=np.float16, shape=(count, FRAMES, MELS))
        for s in range(0, count, batch):
            w = np.stack([repeatpad(waves(i)[:NB_MAX_SAMPLES]) for i in range(s, min(count, s + batch))])
            out[s : s + len(w)] = log_mel(torch.from_numpy(w), mel, window).numpy().astype(np.float16)
        out.flush()
        del out
        os.replace(path + ".part", path)
    return np.load(path, mmap_mode="r")


class FeatureAugment:
    """Augmentation on log-mel features [b, frames, mels] (dB), batched, so training never recomputes an STFT.

    - time: the clip's own frames (before repeat padding) stretched by a rate, optionally cut short (instruments),
      then tiled to the full length the way repeatpad tiles a waveform;
    - vocal-tract-length / timbre: the mel axis warped by a factor near 1 (a new voice or soundfont);
    - level: gain in dB, a spectral tilt, a smooth random equaliser, background noise added in the power domain;
    - SpecAugment time and frequency masks.
    """

    def __init__(self, gen, noise_db):
        self.gen = gen
        self.noise_db = noise_db  # [mels] dB of unit-variance white noise through the same extractor

    def uniform(self, n, lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=self.gen)

    def smooth_eq(self, b, m):
        """[b, 1, m] dB: a random smooth equaliser curve (four cosines, up to +-12 dB), as another bank's samples or
        another microphone would colour the same note."""
        k = torch.arange(1, 5, dtype=torch.float32)
        amp = self.uniform(b * 4, -3, 3).view(b, 4, 1)
        phase = self.uniform(b * 4, 0, 2 * math.pi).view(b, 4, 1)
        x = torch.linspace(0, math.pi, m)[None, None, :]
        return (amp * torch.cos(k[None, :, None] * x + phase)).sum(1, keepdim=True)

    def __call__(self, f, own_frames, cut_short):
        b, t, m = f.shape
        rate = self.uniform(b, 0.8, 1.25)
        keep = torch.where(cut_short & (torch.rand(b, generator=self.gen) < 0.5), self.uniform(b, 0.4, 1.0), torch.ones(b))
        own = (own_frames.float() * keep).clamp(min=8)
        span = (own / rate).clamp(min=8)  # frames the stretched clip lasts
        pos = torch.arange(t, dtype=torch.float32)[None, :] % span[:, None]
        src = (pos * rate[:, None]).clamp(max=(own - 1)[:, None])
        f = interpolate_along(f, src, dim=1)
        # instruments: a wider warp (about +-4 semitones: the family does not depend on pitch); voices: formants
        warp = torch.where(cut_short, self.uniform(b, 0.8, 1.25), self.uniform(b, 0.88, 1.12))
        mel_src = (torch.arange(m, dtype=torch.float32)[None, :] * warp[:, None]).clamp(max=m - 1)
        f = interpolate_along(f, mel_src, dim=2)
        tilt = self.uniform(b, -6, 6)[:, None, None] * torch.linspace(-0.5, 0.5, m)[None, None, :]
        f = f + self.uniform(b, -12, 6)[:, None, None] + tilt + self.smooth_eq(b, m)
        noisy = torch.rand(b, generator=self.gen) < 0.3
        if noisy.any():
            level = self.uniform(int(noisy.sum()), -80, -46)[:, None, None] + self.noise_db[None, None, :]
            f[noisy] = 10 * torch.log10(10 ** (f[noisy] / 10) + 10 ** (level / 10))
        f = f.clamp(min=-100)
        floor = f.amin(dim=(1, 2), keepdim=True)
        for i in range(b):  # masks: a few per batch row, cheap next to the convolutions
            if torch.rand(1, generator=self.gen).item() < 0.5:
                w = int(torch.randint(1, 20, (1,), generator=self.gen))
                s = int(torch.randint(0, t - w, (1,), generator=self.gen))
                f[i, s : s + w] = floor[i]
            if torch.rand(1, generator=self.gen).item() < 0.5:
                w = int(torch.randint(1, 8, (1,), generator=self.gen))
                s = int(torch.randint(0, m - w, (1,), generator=self.gen))
                f[i, :, s : s + w] = floor[i]
        return f


def interpolate_along(f, src, dim):
    """f [b, t, m]; src [b, n] fractional source positions along dim 1 or 2 -> linear interpolation."""
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=f.shape[dim] - 1)
    frac = (src - lo.float()).unsqueeze(3 - dim)
    if dim == 1:
        idx = lambda i: i[:, :, None].expand(-1, -1, f.shape[2])
    else:
        idx = lambda i: i[:, None, :].expand(-1, f.shape[1], -1)
    return torch.gather(f, dim, idx(lo)) * (1 - frac) + torch.gather(f, dim, idx(hi)) * frac
