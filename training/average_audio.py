"""Average audio-tower checkpoints of one run, weight by weight (BatchNorm statistics too), into one checkpoint.

    /usr/bin/python3 training/average_audio.py OUT.pt RUN/audio-6000.pt RUN/audio-7500.pt ... [--weights 1,3,...]

Averaging the checkpoints of the last stretch of a schedule (Vaswani et al. 2017; "model soups") smooths out
where the last steps happened to land and generalises better to unseen voices and soundfonts than any single one.
"""

import argparse

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("paths", nargs="+")
    p.add_argument("--weights", help="comma-separated weight of each checkpoint (default: all alike)")
    args = p.parse_args()
    out, paths = args.out, args.paths
    weights = [float(w) for w in args.weights.split(",")] if args.weights else [1.0] * len(paths)
    assert len(weights) == len(paths) and all(w > 0 for w in weights), "one positive weight per checkpoint"
    share = [w / sum(weights) for w in weights]
    ckpts = [torch.load(p, map_location="cpu") for p in paths]
    widths = {tuple(c["widths"]) for c in ckpts}
    assert len(widths) == 1, f"checkpoints of different towers: {widths}"
    mean = {}
    for name, first in ckpts[0]["audio"].items():
        total = sum(c["audio"][name].double() * w for c, w in zip(ckpts, share))
        mean[name] = total.round().to(first.dtype) if not first.is_floating_point() else total.to(first.dtype)
    scale = sum(c["audio_scale"] * w for c, w in zip(ckpts, share))
    # towers rebuilt from an export keep their BatchNorm statistics frozen; a fine-tune from the mean must too
    frozen = {bool(c.get("bn_frozen")) for c in ckpts}
    assert len(frozen) == 1, "checkpoints with and without frozen BatchNorm statistics"
    torch.save({"audio": mean, "widths": ckpts[0]["widths"], "steps": [c.get("steps") for c in ckpts], "averaged": paths, "weights": share, "audio_scale": scale, "bn_frozen": frozen.pop()}, out)
    print(f"{out}: mean of {len(paths)} checkpoints (steps {', '.join(str(c.get('steps')) for c in ckpts)}; weights {', '.join(f'{w:.2f}' for w in share)})")


if __name__ == "__main__":
    main()
