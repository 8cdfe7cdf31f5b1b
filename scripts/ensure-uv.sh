#!/bin/sh
# Print the path of a working uv, installing it from PyPI if it is missing.
# Needs only python3 (3.11+). Tries, in order: uv on PATH, ~/.local/bin/uv, a private venv.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
if [ -x "$HOME/.local/bin/uv" ]; then echo "$HOME/.local/bin/uv"; exit 0; fi
tool="$here/.tools/uv"
if [ -x "$tool/bin/uv" ]; then echo "$tool/bin/uv"; exit 0; fi
echo "installing uv (not found on PATH)..." >&2
if python3 -m pip install --user --quiet uv >&2 2>/dev/null && [ -x "$HOME/.local/bin/uv" ]; then
  echo "$HOME/.local/bin/uv"; exit 0
fi
python3 -m venv "$tool" >&2
"$tool/bin/python" -m pip install --quiet uv >&2
echo "$tool/bin/uv"
