#!/usr/bin/env bash
# The release as a user gets it: the documentation site built strictly, the sdist and the wheel
# built and checked, then the wheel installed alone into a fresh virtual environment, where
# `sse-nb demo` and a notebook must run. .ci/run calls this after the tests; it expects the
# .venv that scripts/test.sh makes.
#   bash scripts/release_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export NO_MKDOCS_2_WARNING=1  # Material's banner about its successor, printed on every build

# Each step prints the seconds elapsed when it starts, so a slow step shows in the CI log.
step() {
    echo "== $1 (at ${SECONDS}s)"
}

# Run a command with its output kept aside, shown only if it fails.
quietly() {
    "$@" >"$work/step.log" 2>&1 || {
        cat "$work/step.log"
        return 1
    }
}

step "documentation site (mkdocs build --strict)"
# The docs and release extras' requirements, added to the environment without rebuilding the
# editable package (scripts/test.sh installed it).
mapfile -t extras < <(.venv/bin/python -c '
import tomllib

with open("pyproject.toml", "rb") as f:
    extras = tomllib.load(f)["project"]["optional-dependencies"]
print("\n".join(extras["docs"] + extras["release"]))
')
quietly .venv/bin/python -m pip install -q "${extras[@]}"
.venv/bin/mkdocs build --strict --quiet --site-dir "$work/site"

step "sdist and wheel"
quietly .venv/bin/python -m build --outdir "$work/dist" .
.venv/bin/twine check --strict "$work"/dist/*
.venv/bin/python scripts/check_dists.py "$work/dist"

step "the wheel alone, in a fresh virtual environment"
"${PYTHON:-python3}" -m venv "$work/venv"
# --no-compile: bytecode is compiled for what the demo and the notebook import, not for all.
quietly "$work/venv/bin/python" -m pip install -q --no-compile "$work"/dist/*.whl nbclient
version="$(.venv/bin/python -c 'import sse_nb; print(sse_nb.__version__)')"
# From an empty directory, so that nothing of the checkout can be imported.
mkdir "$work/run"
cd "$work/run"
export JUPYTER_RUNTIME_DIR="$work/jupyter-runtime" IPYTHONDIR="$work/ipython"
[ "$("$work/venv/bin/sse-nb" --version)" = "sse-nb $version" ]
step "sse-nb demo from the wheel"
timeout 120 "$work/venv/bin/sse-nb" demo
step "a notebook from the wheel"
"$work/venv/bin/python" - "$repo/notebooks/01-manual-close.ipynb" "$work/venv" <<'EOF'
"""Run one notebook in the fresh environment's kernel; it must import the installed wheel."""
import sys

import nbformat
from nbclient import NotebookClient

path, venv = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import sse_nb\nprint(sse_nb.__file__)"))
NotebookClient(nb, timeout=120, kernel_name="python3").execute()
where = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
if not where.startswith(venv):
    sys.exit(f"the notebook imported sse_nb from {where}, not from the installed wheel")
print(f"{path.rsplit('/', 1)[-1]} ran from the installed wheel ({where})")
EOF
echo "release check passed: sse_nb $version (${SECONDS}s)"
