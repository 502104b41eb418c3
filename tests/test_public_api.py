"""The public face: exactly the documented names, and an ``import sse_nb`` that stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import sse_nb
import sse_nb.protocol

PUBLIC = [
    "AsyncEventSource",
    "Event",
    "EventServer",
    "EventSource",
    "ReadyState",
    "ReconnectPolicy",
]

PROTOCOL_PUBLIC = [
    "DEFAULT_DELAY",
    "GAP_EVENT",
    "MAX_EVENT_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_LINE_LENGTH",
    "MAX_RETRY",
    "TRANSITIONS",
    "ConnectDecision",
    "Event",
    "EventParser",
    "EventTooLongError",
    "Gap",
    "IllegalTransition",
    "LineTooLongError",
    "ReadyState",
    "ReconnectPolicy",
    "check_id",
    "check_retry",
    "check_transition",
    "connect_decision",
    "encode_comment",
    "encode_event",
    "encode_gap",
    "gap_signal",
    "id_problem",
    "read_gap",
]

#: Packages that ``import sse_nb`` must not pull in: the server, the client and the widgets
#: load them on first use, so a plain import stays fast and works without a kernel.
HEAVY = ["tornado", "httpx", "httpcore", "anyio", "ipywidgets", "IPython", "anywidget", "traitlets"]


def test_all_lists_exactly_the_public_names() -> None:
    assert sorted(sse_nb.__all__) == sorted(PUBLIC)


def test_every_public_name_resolves() -> None:
    for name in PUBLIC:
        assert getattr(sse_nb, name).__name__ == name


def test_protocol_all_lists_exactly_its_public_names() -> None:
    assert sorted(sse_nb.protocol.__all__) == sorted(PROTOCOL_PUBLIC)
    for name in PROTOCOL_PUBLIC:
        assert hasattr(sse_nb.protocol, name), name


def test_protocol_and_top_level_share_their_types() -> None:
    assert sse_nb.Event is sse_nb.protocol.Event
    assert sse_nb.ReadyState is sse_nb.protocol.ReadyState
    assert sse_nb.ReconnectPolicy is sse_nb.protocol.ReconnectPolicy


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        sse_nb.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_sse_nb_loads_no_heavy_dependency() -> None:
    code = (
        "import json, sys\n"
        "import sse_nb, sse_nb.protocol\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []


#: The modules the API reference documents (docs/api/), each by the names in its ``__all__``.
API_MODULES = ["sse_nb", "sse_nb.protocol", "sse_nb.widgets", "sse_nb.errors", "sse_nb.lab"]


def _bound_in_source(path: str) -> set[str]:
    """Names a module's source binds at its top level, ``if TYPE_CHECKING:`` blocks included."""
    import ast

    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    bound: set[str] = set()
    nodes = list(tree.body)
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.If):
            nodes.extend(node.body + node.orelse)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound.add(node.target.id)
    return bound


def test_every_public_name_is_visible_to_the_api_reference() -> None:
    """The API reference reads the source: a name that only ``__getattr__`` binds is invisible."""
    import importlib

    for name in API_MODULES:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        hidden = set(module.__all__) - _bound_in_source(module.__file__)
        assert not hidden, f"{name}: import {sorted(hidden)} under TYPE_CHECKING too"


def test_every_public_class_and_function_has_its_own_docstring() -> None:
    """As the API reference requires: the names, and the public methods of classes."""
    import importlib
    import inspect

    missing = []
    for name in API_MODULES:
        module = importlib.import_module(name)
        for public in module.__all__:
            obj = getattr(module, public)
            if inspect.isclass(obj):
                if not vars(obj).get("__doc__"):
                    missing.append(f"{name}.{public}")
                for member, value in vars(obj).items():
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    public_method = not member.startswith("_") and inspect.isfunction(value)
                    if public_method and not value.__doc__:
                        missing.append(f"{name}.{public}.{member}")
            elif inspect.isfunction(obj) and not obj.__doc__:
                missing.append(f"{name}.{public}")
    assert not missing, f"no docstring: {missing}"


#: Where users find classes: the API reference's modules, and the two drivers' packages, whose
#: classes users import too (``sse_nb.server.SQLiteLog``, ``RedisEventLog``, ``Ticker``, ...).
EXPORTING = [*API_MODULES, "sse_nb.server", "sse_nb.client"]


def _public_members(cls: type) -> list[tuple[str, object]]:
    """The public properties and methods of ``cls``, from each sse_nb class in its MRO."""
    import functools
    import inspect

    found = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("sse_nb"):
            continue  # Tornado's, traitlets', the standard library's: theirs to document
        for name, value in vars(klass).items():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            member = isinstance(value, (property, functools.cached_property))
            if not name.startswith("_") and (member or inspect.isfunction(value)):
                found.append((f"{klass.__module__}.{klass.__qualname__}.{name}", value))
    return found


def test_every_public_property_and_method_of_an_exported_class_has_a_docstring() -> None:
    """Its own: an override of a documented method says what it does here (help() shows it)."""
    import importlib
    import inspect

    missing = set()
    for name in EXPORTING:
        module = importlib.import_module(name)
        for public in module.__all__:
            obj = getattr(module, public)
            if inspect.isclass(obj):
                for where, member in _public_members(obj):
                    if not (member.__doc__ or "").strip():
                        missing.add(where)
    assert not missing, f"no docstring: {sorted(missing)}"
