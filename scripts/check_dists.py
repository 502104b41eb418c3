"""Check what the sdist and the wheel carry, against the files git tracks.

    python scripts/check_dists.py DIST_DIR

The sdist is the repository a user can test and read: it must carry every tracked file of the
package, the tests, the notebooks and the docs. The wheel must carry the package alone (every
tracked file under ``sse_nb/``, so the JavaScript views and ``py.typed`` too), the ``sse-nb``
entry point, and the version ``sse_nb.__version__`` states. Exits 1 with one line per problem.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Folders whose every tracked file the sdist must carry.
SDIST_FOLDERS = ("sse_nb", "tests", "notebooks", "docs")
#: Single files the sdist must carry besides.
SDIST_FILES = ("README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", "mkdocs.yml")
#: The console script the wheel must declare.
ENTRY_POINT = "sse-nb = sse_nb.cli:main"


def tracked(folder: str) -> set[str]:
    """The files git tracks under ``folder``, as paths from the repository root."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--", folder],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return {name for name in out.split("\0") if name}


def package_version() -> str:
    """``sse_nb.__version__`` read from the source, without importing the package."""
    tree = ast.parse((ROOT / "sse_nb" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    raise SystemExit("sse_nb/__init__.py states no __version__")


def check_sdist(path: Path, version: str) -> list[str]:
    prefix = f"sse_nb-{version}/"
    with tarfile.open(path) as archive:
        names = {m.name.removeprefix(prefix) for m in archive.getmembers() if m.isfile()}
    wanted = set(SDIST_FILES).union(*(tracked(folder) for folder in SDIST_FOLDERS))
    return [f"sdist {path.name} lacks {name}" for name in sorted(wanted - names)]


def check_wheel(path: Path, version: str) -> list[str]:
    dist_info = f"sse_nb-{version}.dist-info/"
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(dist_info + "entry_points.txt").decode()
        metadata = archive.read(dist_info + "METADATA").decode()
    problems = [
        f"wheel {path.name} carries {name}, which is not the package"
        for name in sorted(names)
        if not name.startswith(("sse_nb/", dist_info))
    ]
    package = {name for name in tracked("sse_nb") if not name.endswith(".pyc")}
    problems += [f"wheel {path.name} lacks {name}" for name in sorted(package - names)]
    if ENTRY_POINT not in entry_points.splitlines():
        problems.append(f"wheel {path.name} does not declare the entry point {ENTRY_POINT!r}")
    if f"Version: {version}" not in metadata.splitlines():
        problems.append(f"wheel {path.name} metadata does not state version {version}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    dist_dir, version = Path(argv[0]), package_version()
    sdists = sorted(dist_dir.glob(f"sse_nb-{version}.tar.gz"))
    wheels = sorted(dist_dir.glob(f"sse_nb-{version}-py3-none-any.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        print(f"expected one sdist and one wheel of version {version} in {dist_dir}")
        return 1
    problems = check_sdist(sdists[0], version) + check_wheel(wheels[0], version)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"sdist and wheel of sse_nb {version} carry what they should")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
