"""The three towers of xmodal-mini. Each maps its input to an unnormalised D-dim embedding; the runtime L2-normalises."""

import torch
from torch import nn

EMBED_DIM = 256
AUDIO_WIDTHS = (128, 192, 256, 256)  # checkpoints that do not say their widths have these


class TextTower(nn.Module):
    """Masked mean of subword embeddings -> residual MLP blocks -> projection. Padding never changes the result."""

    def __init__(self, vocab_size, token_dim=128, hidden=384, blocks=2, dim=EMBED_DIM):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, token_dim)
        nn.init.normal_(self.embed.weight, std=0.5)
        self.inp = nn.Linear(token_dim, hidden)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden)) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, dim))

    def forward(self, input_ids, attention_mask):
        m = attention_mask.to(torch.float32).unsqueeze(-1)
        e = self.embed(input_ids) * m
        x = e.sum(1) / m.sum(1).clamp(min=1.0)
        h = self.inp(x)
        for b in self.blocks:
            h = h + b(h)
        return self.out(h)


def conv_bn(cin, cout, k=3, stride=1, dims=2):
    conv = nn.Conv2d if dims == 2 else nn.Conv1d
    bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return nn.Sequential(conv(cin, cout, k, stride=stride, padding=k // 2, bias=False), bn(cout), nn.ReLU(inplace=True))


class ImageTower(nn.Module):
    """5-conv CNN with BatchNorm (folded at export) on normalised S x S RGB."""

    def __init__(self, widths=(32, 64, 128, 192, 256), dim=EMBED_DIM):
        super().__init__()
        layers, cin = [], 3
        for i, w in enumerate(widths):
            layers.append(conv_bn(cin, w))
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = w
        self.features = nn.Sequential(*layers)
        self.proj = nn.Linear(2 * cin, dim)

    def forward(self, pixel_values):
        f = self.features(pixel_values)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.proj(pooled)


class AudioTower(nn.Module):
    """1-D convolutions over time with the mel bins as channels, on input_features [b, 1, T, mels]."""

    def __init__(self, widths=AUDIO_WIDTHS, mels=64, dim=EMBED_DIM, mean=None, std=None):
        super().__init__()
        self.register_buffer("mean", torch.zeros(mels) if mean is None else torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.ones(mels) if std is None else torch.as_tensor(std, dtype=torch.float32))
        layers, cin = [], mels
        for i, w in enumerate(widths):
            layers.append(conv_bn(cin, w, k=5 if i == 0 else 3, dims=1))
            if i < len(widths) - 1:
                layers.append(nn.MaxPool1d(2))
            cin = w
        self.features = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(2 * cin, 2 * cin), nn.ReLU(inplace=True), nn.Linear(2 * cin, dim))

    def forward(self, input_features):
        x = (input_features[:, 0] - self.mean) / self.std  # [b, T, mels]
        f = self.features(x.transpose(1, 2))  # [b, C, T']
        pooled = torch.cat([f.mean(dim=2), f.amax(dim=2)], dim=1)
        return self.proj(pooled)


def train_mode(module, bn_frozen=False):
    """module.train(), but BatchNorms rebuilt from a folded export (from_onnx.py) keep their statistics."""
    module.train()
    if bn_frozen:
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
    return module


def multi_positive_nce(a, b, pos, scale):
    """Symmetric InfoNCE where pos[i, j] marks every (a_i, b_j) that match (same label, shared tag...)."""
    a = nn.functional.normalize(a, dim=-1)
    b = nn.functional.normalize(b, dim=-1)
    logits = scale * a @ b.T
    neg_inf = torch.finfo(logits.dtype).min
    l_ab = torch.logsumexp(logits.masked_fill(~pos, neg_inf), 1) - torch.logsumexp(logits, 1)
    l_ba = torch.logsumexp(logits.T.masked_fill(~pos.T, neg_inf), 1) - torch.logsumexp(logits.T, 1)
    return -(l_ab.mean() + l_ba.mean()) / 2
