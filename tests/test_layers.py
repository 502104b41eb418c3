"""Imports point downward only, read from the source (AST) of every module that exists.

::

    magics, cli        front doors           rank 5
    lab                the bench, no sockets rank 4
    widgets            views, no sockets     rank 3
    server | client    I/O drivers (peers)   rank 2
    _runtime | errors | _display   shared plumbing   rank 1
    protocol           sans-IO core          rank 0, standard library only

A module may import its own unit and units of a lower rank, never a higher rank; the server and
the client, peers of one rank, do not import each other. ``sse_nb/__init__.py`` and
``__main__.py`` are the package's face and may name anything; they import lazily.
Imports under ``if TYPE_CHECKING:`` count too: a type-only edge upward is still upward.

Nor does a module use another module's underscore names (``from .app import _helper``,
``handler_module._helper``): that couples two modules through a name one of them promised to
keep to itself. Private *modules* (``_runtime``, ``widgets._batch``) may be imported; their public
names are theirs to share.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sse_nb"

RANK = {
    "protocol": 0,
    "_runtime": 1,
    "errors": 1,
    "_display": 1,  # names the widgets only by module name, at display time (importlib)
    "server": 2,
    "client": 2,
    "widgets": 3,
    "lab": 4,
    "magics": 5,
    "cli": 5,
}
FACE = {"sse_nb", "sse_nb.__main__"}
#: The two I/O drivers are peers that must not import each other; other units of one rank may.
DRIVERS = {"server", "client"}

#: Modules that open or drive network connections (``urllib.parse`` only parses: allowed);
#: a widget only observes.
NETWORKING = {
    "socket",
    "ssl",
    "selectors",
    "http.client",
    "http.server",
    "urllib.request",
    "asyncio.streams",
    "httpx",
    "httpcore",
    "h11",
    "tornado",
    "anyio",
    "aiohttp",
    "requests",
    "urllib3",
    "websockets",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


ALL = modules()


def imports_of(name: str) -> set[str]:
    path = ALL[name]
    return imports(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")


def imports(name: str, source: str, is_package: bool = False) -> set[str]:
    """Absolute names of every module ``name`` imports, anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                if not is_package:
                    base.pop()
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # ``from .. import errors`` imports the module sse_nb.errors, not the face.
            names = {f"{origin}.{alias.name}" for alias in node.names}
            modules_named = names & ALL.keys()
            found.update(modules_named)
            if modules_named != names:
                found.add(origin)
    return found


def unit(name: str) -> str | None:
    """The layer unit of an ``sse_nb`` module (``sse_nb.server.app`` -> ``server``)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def test_the_package_is_found() -> None:
    assert "sse_nb.protocol.parser" in ALL


@pytest.mark.parametrize("name", sorted(n for n in ALL if unit(n) == "protocol"))
def test_protocol_imports_only_the_standard_library(name: str) -> None:
    for imported in imports_of(name):
        top = imported.split(".")[0]
        if top == "sse_nb":
            assert imported.startswith("sse_nb.protocol"), f"{name} imports {imported}"
        else:
            assert top in sys.stdlib_module_names or top == "__future__", (
                f"{name} imports {imported}, not in the standard library"
            )


@pytest.mark.parametrize("name", sorted(n for n in ALL if unit(n) in ("widgets", "lab")))
def test_views_and_lab_tools_open_no_sockets(name: str) -> None:
    for imported in imports_of(name):
        hits = [m for m in NETWORKING if imported == m or imported.startswith(m + ".")]
        assert not hits, f"{name} imports {imported}"


def layer_violations(name: str, imported: set[str]) -> list[str]:
    own = unit(name)
    if own is None:
        return [f"{name} belongs to no layer: add it to RANK in this test"]
    found = []
    for module in sorted(imported):
        if module.split(".")[0] != "sse_nb":
            continue
        other = unit(module)
        if other is None:
            found.append(f"{name} imports the package face {module}")
        elif other != own and (RANK[other] > RANK[own] or (other in DRIVERS and own in DRIVERS)):
            found.append(f"{name} ({own}, rank {RANK[own]}) imports {module} ({other})")
    return found


@pytest.mark.parametrize("name", sorted(n for n in ALL if n not in FACE))
def test_nothing_imports_upward_or_sideways(name: str) -> None:
    assert layer_violations(name, imports_of(name)) == []


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("def f():\n    from ..widgets import status\n", True),  # lazy and upward
        ("if TYPE_CHECKING:\n    from ..client import sync\n", True),  # a peer
        ("import sse_nb.magics\n", True),
        ("from ..server.log import MemoryLog\n", False),
        ("from .. import _runtime, errors\nfrom ..protocol import Event\n", False),
        ("from . import log\nimport tornado.web\n", False),
    ],
)
def test_the_checker_catches_upward_lazy_and_peer_imports(source: str, bad: bool) -> None:
    name = "sse_nb.server.probe"  # a made-up module of the server layer
    assert bool(layer_violations(name, imports(name, source))) is bad


def private_uses(name: str, source: str, is_package: bool = False) -> list[str]:
    """Underscore names ``name`` takes from other sse_nb modules."""
    tree = ast.parse(source)
    found: list[str] = []
    modules: dict[str, str] = {}  # local alias -> sse_nb module it names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            single = ast.Module(body=[node], type_ignores=[])
            origins = imports(name, ast.unparse(single), is_package)
            for alias in node.names:
                full = {o for o in origins if o.endswith("." + alias.name)}
                if full & ALL.keys():
                    modules[alias.asname or alias.name] = full.pop()
                elif (
                    alias.name.startswith("_")
                    and not alias.name.startswith("__")
                    and any(o.startswith("sse_nb") for o in origins)
                ):
                    found.append(f"{name} imports {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sse_nb") and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{name} uses {modules[node.value.id]}.{node.attr}")
    return sorted(set(found))


@pytest.mark.parametrize("name", sorted(ALL))
def test_no_module_uses_another_modules_underscore_names(name: str) -> None:
    path = ALL[name]
    source = path.read_text(encoding="utf-8")
    assert private_uses(name, source, path.name == "__init__.py") == []


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from .handler import _malformed\n", True),
        ("from . import handler as h\nh._malformed('x')\n", True),
        ("from .. import _runtime\n_runtime.get_loop()\n", False),
        ("from .. import _runtime\n_runtime._loop\n", True),
        ("from .opening import is_malformed\n", False),
        ("from typing import _SpecialForm\n", False),  # not ours to police
    ],
)
def test_the_checker_catches_imported_and_reached_private_names(source: str, bad: bool) -> None:
    assert bool(private_uses("sse_nb.server.probe", source)) is bad
