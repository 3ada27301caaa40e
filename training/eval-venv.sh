#!/bin/sh
# A venv for training/reference_audio_eval.py: Debian's python3-torch and numpy (system site packages) plus
# onnxruntime and tokenizers from PyPI, in .cache/eval-venv (made once). Prints its python.
set -e
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.cache/eval-venv"
/usr/bin/python3 -c 'import torch, numpy' || { echo "needs Debian python3-torch and python3-numpy" >&2; exit 1; }
if ! "$venv/bin/python" -c 'import onnxruntime, tokenizers' 2>/dev/null; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv" >&2
  "$venv/bin/pip" install --disable-pip-version-check --quiet onnxruntime==1.32.0 tokenizers==0.23.3 >&2
fi
echo "$venv/bin/python"
