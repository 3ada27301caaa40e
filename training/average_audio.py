"""Average audio-tower checkpoints of one run, weight by weight (BatchNorm statistics too), into one checkpoint.

    /usr/bin/python3 training/average_audio.py OUT.pt RUN/audio-6000.pt RUN/audio-7500.pt ...

Averaging the checkpoints of the last stretch of a schedule (Vaswani et al. 2017; "model soups") smooths out
where the last steps happened to land and generalises better to unseen voices and soundfonts than any single one.
"""

import sys

import torch


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    ckpts = [torch.load(p, map_location="cpu") for p in paths]
    widths = {tuple(c["widths"]) for c in ckpts}
    assert len(widths) == 1, f"checkpoints of different towers: {widths}"
    mean = {}
    for name, first in ckpts[0]["audio"].items():
        total = sum(c["audio"][name].double() for c in ckpts) / len(ckpts)
        mean[name] = total.round().to(first.dtype) if not first.is_floating_point() else total.to(first.dtype)
    scale = sum(c["audio_scale"] for c in ckpts) / len(ckpts)
    torch.save({"audio": mean, "widths": ckpts[0]["widths"], "steps": [c.get("steps") for c in ckpts], "averaged": paths, "audio_scale": scale}, out)
    print(f"{out}: mean of {len(paths)} checkpoints (steps {', '.join(str(c.get('steps')) for c in ckpts)})")


if __name__ == "__main__":
    main()
