#!/usr/bin/env bash
# Do what Binder does, then run the notebooks: build a fresh environment from
# binder/requirements.txt alone and execute every notebook headless (no browser). Each notebook
# ends by asserting its claim ("lost: 0, duplicated: 0"), so any failure exits non-zero.
# A quick manual check with no test dependencies; CI's proof is tests/test_binder.py, which
# also runs notebooks 01 and 04 with Run All in JupyterLab from that environment.
#   binder/check.sh [ENV_DIR]      (default: a new temporary directory)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
env_dir="${1:-$(mktemp -d)/env}"
"${PYTHON:-python3}" -m venv "$env_dir"
(cd "$repo" && "$env_dir/bin/python" -m pip install -q -r binder/requirements.txt)
work="$(mktemp -d)"  # notebooks run outside the checkout, against the installed package
cd "$work"
for nb in "$repo"/notebooks/*.ipynb; do
    echo "== $(basename "$nb")"
    timeout 300 "$env_dir/bin/jupyter" execute --timeout=60 "$nb"
done
echo "every notebook ran and proved its claim"
