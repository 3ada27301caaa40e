"""Fill the model card template with measured numbers:
    model_card.py EVAL.json OUT.md [AUDIO_RUN_TEXT] [NAME=EARLIER_EVAL.json ...] [--this NAME]

Each NAME=EARLIER_EVAL.json (an earlier version's evaluate.py output on the same held-out data, e.g. v1=...) adds
a column before this version's, which is headed "NAME (this)" (default "this")."""

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = [
    ("text→image R@10, English names", "t2i_en", "recall@10", "≥ 0.7"),
    ("text→image R@10, Italian names", "t2i_it", "recall@10", "≥ 0.6"),
    ("text→image R@1, English", "t2i_en", "recall@1", ""),
    ("text→image R@10, German / French / Spanish", ("t2i_de", "t2i_fr", "t2i_es"), "recall@10", ""),
    ("text→image R@10, Japanese / Chinese / Russian", ("t2i_ja", "t2i_zh", "t2i_ru"), "recall@10", ""),
    ("image→text R@10, English", "i2t_en", "recall@10", ""),
    ("9 emoji categories zero-shot (English names)", "category_9", "accuracy", "≥ 0.6"),
    ("9 emoji categories zero-shot (Italian names)", "category_9_it", "accuracy", ""),
    ("GM family (16) zero-shot, TimGM6mb", "gm_family_16_timgm6mb", "accuracy", "≥ 0.5"),
    ("GM instrument (128) zero-shot, TimGM6mb", "gm_program_128_timgm6mb", "accuracy", ""),
    ("GM drum (47) zero-shot, TimGM6mb", "drum_47_timgm6mb", "accuracy", ""),
    ("spoken word → text R@1, English, held-out voices, all 1,127 words", "speech_en_a2t", "recall@1", ""),
    ("spoken word → text R@1, English, held-out voices, 300 words", "speech_en_a2t_300", "recall@1", "≥ 0.6 (among ≥ 300 words)"),
    ("spoken word → text R@1, Italian, held-out voices", "speech_it_a2t", "recall@1", ""),
    ("spoken emoji name → OpenMoji image R@10 (English)", "speech_en_a2i", "recall@10", "> 5× chance"),
    ("spoken word → text R@1, held-out engine (festival), Vorbis + trimmed, all 1,127 words", "speech2-heldout-vorbis_a2t", "recall@1", ""),
    ("spoken word → text R@1, held-out engine (festival), Vorbis + trimmed, 300 words", "speech2-heldout-vorbis_a2t_300", "recall@1", "≥ 0.6 (among ≥ 300 words)"),
    ("spoken everyday word (emoji keyword, WordNet alias) → text R@1, held-out engine (festival), Vorbis + trimmed, 600 words", "vocab-heldout-vorbis_a2t", "recall@1", ""),
    ("held-out Open Clip Art drawings: title → drawing R@10", "t2i_openclipart", "recall@10", "≥ 0.5 (among ≥ 500)"),
    ("held-out sound effects: label → sound R@10", "sfx-heldout_t2a", "recall@10", "reported"),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("eval")
    p.add_argument("out")
    p.add_argument("audio_run", nargs="?", default="")
    p.add_argument("earlier", nargs="*", help="NAME=EARLIER_EVAL.json")
    p.add_argument("--this", help="this version's name")
    args = p.parse_args()
    res = json.load(open(args.eval))["results"]
    earlier = [(a.split("=", 1)[0], json.load(open(a.split("=", 1)[1]))["results"]) for a in args.earlier]
    this = f"{args.this} (this)" if args.this else "this"
    heads = [name for name, _ in earlier] + [this if earlier else "value"]
    lines = ["| measure | " + " | ".join(heads) + " | issue target |", "|---" * (len(heads) + 2) + "|"]
    for name, key, metric, target in ROWS:
        keys = key if isinstance(key, tuple) else (key,)
        if not all(k in res for k in keys):
            continue
        value = " / ".join(f"{res[k][metric]:.3f}" for k in keys)
        if key == "speech_en_a2i":
            value += f" (chance {res[key]['chance@10']:.4f})"
        old = [" / ".join(f"{before[k][metric]:.3f}" if k in before else "–" for k in keys) for _, before in earlier]
        lines.append("| " + " | ".join([name, *old, value, target]) + " |")
    card = open(os.path.join(HERE, "model-card.md"), encoding="utf-8").read().replace("{{RESULTS}}", "\n".join(lines)).replace("{{AUDIO_RUN}}", args.audio_run)
    open(args.out, "w", encoding="utf-8").write(card)


if __name__ == "__main__":
    main()
