"""Held-out numbers: retrieval recall, zero-shot accuracy. Embeddings in, numbers out."""

import numpy as np
import torch


def l2(x):
    return torch.nn.functional.normalize(x.float(), dim=-1)


def retrieval(queries, candidates, match):
    """queries [q,D], candidates [c,D], match [q,c] bool -> recall@1/5/10 and median rank of the first match."""
    sims = l2(queries) @ l2(candidates).T
    best_pos = sims.masked_fill(~match, -1e9).amax(1, keepdim=True)
    ranks = (sims > best_pos).sum(1) + 1  # 1-based rank of the best-scored match
    r = ranks.float()
    return {"queries": int(len(r)), "candidates": int(candidates.shape[0]), "recall@1": float((r <= 1).float().mean()), "recall@5": float((r <= 5).float().mean()),
            "recall@10": float((r <= 10).float().mean()), "median_rank": float(r.median())}


def zero_shot(items, label_embeds, labels):
    """items [n,D], label_embeds [k,D] (one per label), labels [n] index -> accuracy."""
    pred = (l2(items) @ l2(label_embeds).T).argmax(1)
    return {"items": int(len(labels)), "labels": int(label_embeds.shape[0]), "accuracy": float((pred == torch.as_tensor(labels)).float().mean())}


@torch.no_grad()
def embed_in_batches(fn, n, batch=512):
    out = [fn(slice(i, min(n, i + batch))) for i in range(0, n, batch)]
    return torch.cat(out) if out else torch.zeros(0)


def fmt(d):
    return " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in d.items())


def first_rank_summary(ranks):
    ranks = np.asarray(ranks)
    return {"recall@1": float((ranks <= 1).mean()), "recall@10": float((ranks <= 10).mean())}
