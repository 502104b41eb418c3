"""MkDocs hooks for the documentation site: includes, repository links, and the API check.

- A line ``--8<-- "PATH"`` in a page is replaced by that repository file (PATH from the
  repository root), with its links rebased: the home page is README.md, the changelog page is
  CHANGELOG.md, so neither is written twice.
- A relative link to a file of the repository outside ``docs/`` (a notebook, a test, a script)
  becomes a link to that file in the repository on the forge; a link to nothing stays as
  written, so MkDocs reports it and ``mkdocs build --strict`` fails. A link to a file that a page
  includes (README.md, CHANGELOG.md) goes to that page.
- After the build, every name in the ``__all__`` of each module in ``API_MODULES`` must have a
  docstring (public methods and properties of its classes too) and an entry in its API page;
  each miss is a warning, which ``--strict`` turns into a failed build.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

import griffe
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.sse_nb")

#: The modules whose ``__all__`` the API reference documents, and the page of each.
API_MODULES = {
    "sse_nb": "api/sse_nb.md",
    "sse_nb.protocol": "api/protocol.md",
    "sse_nb.widgets": "api/widgets.md",
    "sse_nb.errors": "api/errors.md",
    "sse_nb.lab": "api/lab.md",
}

#: The griffe extension that reads ``#:`` comments, as the mkdocstrings configuration loads it.
GRIFFE_EXTENSION = "scripts/griffe_comments.py"

#: The branch that repository links point at.
BRANCH = "main"

INCLUDE = re.compile(r'^--8<-- "(?P<path>[^"]+)"[ \t]*$', re.M)
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
# An inline link or image: `[text](target)` or `[text](target "title")`.
LINK = re.compile(
    r"(?P<text>!?\[[^\]\n]*\])(?P<head>\()(?P<target><[^>]*>|[^)\s]+)(?P<tail>(?:\s+\"[^\"]*\")?\))"
)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


#: The repository files that pages include, each with the page that shows it (set by on_files).
_included_by: dict[Path, Path] = {}


def _repo_root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _docs_dir(config: MkDocsConfig) -> Path:
    return Path(config.docs_dir).resolve()


# -- includes and links -------------------------------------------------------------------------


def _rebase(target: str, source_dir: Path, page_dir: Path, config: MkDocsConfig) -> str | None:
    """``target`` as written in a file in ``source_dir``, rewritten for the page in ``page_dir``.

    ``None``: a file of the repository outside docs/ while no repository address is configured
    (``SSE_NB_REPO_URL``); the caller keeps the link's text and drops the link.
    """
    bare = target[1:-1] if target.startswith("<") else target
    if not bare or bare.startswith(("#", "/")) or SCHEME.match(bare):
        return target
    path, sep, fragment = bare.partition("#")
    resolved = (source_dir / path).resolve()
    docs_dir, root = _docs_dir(config), _repo_root(config)
    resolved = _included_by.get(resolved, resolved)
    if resolved.is_relative_to(docs_dir):
        rebased = posixpath.relpath(resolved.as_posix(), page_dir.as_posix())
        if path.endswith("/"):
            rebased += "/"
        return rebased + sep + fragment
    if resolved.is_relative_to(root) and resolved.exists():
        if not config.repo_url:
            return None
        kind = "tree" if resolved.is_dir() else "blob"
        relative = resolved.relative_to(root).as_posix()
        return f"{config.repo_url.rstrip('/')}/{kind}/{BRANCH}/{relative}{sep}{fragment}"
    return target  # a link to nothing: MkDocs reports it


def _rewrite_links(markdown: str, source_dir: Path, page_dir: Path, config: MkDocsConfig) -> str:
    """Rebase every inline link outside fenced code blocks."""

    def fix(match: re.Match[str]) -> str:
        target = _rebase(match["target"], source_dir, page_dir, config)
        if target is None and not match["text"].startswith("!"):
            return match["text"][1:-1]
        return match["text"] + match["head"] + (target or match["target"]) + match["tail"]

    parts, last = [], 0
    for fence in FENCE.finditer(markdown):
        parts.append(LINK.sub(fix, markdown[last : fence.start()]))
        parts.append(fence.group(0))
        last = fence.end()
    parts.append(LINK.sub(fix, markdown[last:]))
    return "".join(parts)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    docs_dir, root = _docs_dir(config), _repo_root(config)
    _included_by.clear()
    page: File
    for page in files.documentation_pages():
        for match in INCLUDE.finditer(page.content_string):
            _included_by[(root / match["path"]).resolve()] = docs_dir / page.src_uri
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    docs_dir, root = _docs_dir(config), _repo_root(config)
    page_dir = (docs_dir / page.file.src_uri).parent

    def include(match: re.Match[str]) -> str:
        included = (root / match["path"]).resolve()
        if not included.is_file() or not included.is_relative_to(root):
            log.warning("%s includes %s, which does not exist", page.file.src_uri, match["path"])
            return ""
        text = included.read_text(encoding="utf-8")
        return _rewrite_links(text, included.parent, page_dir, config)

    parts, last = [], 0
    for fence in FENCE.finditer(markdown):
        outside = markdown[last : fence.start()]
        parts.append(_rewrite_links(outside, page_dir, page_dir, config))
        parts.append(fence.group(0))
        last = fence.end()
    parts.append(_rewrite_links(markdown[last:], page_dir, page_dir, config))
    return INCLUDE.sub(include, "".join(parts))


# -- the API reference check --------------------------------------------------------------------


def _undocumented(module: griffe.Module, name: str) -> list[str]:
    """What keeps ``name`` (or one of its public callables) out of the API reference."""
    if name not in module.members:
        return [
            f"{module.path}.{name} is bound only at run time: import it under TYPE_CHECKING "
            "too, so that the API reference, which reads the source, sees it"
        ]
    obj = module[name]
    target = obj.final_target if obj.is_alias else obj
    missing = [] if target.docstring else [f"{module.path}.{name} has no docstring"]
    if target.is_class:
        for member_name, member in target.members.items():
            if member_name.startswith("_"):
                continue
            member_target = member.final_target if member.is_alias else member
            if member_target.is_function and not member_target.docstring:
                missing.append(f"{module.path}.{name}.{member_name} has no docstring")
    return missing


def on_post_build(config: MkDocsConfig) -> None:
    root, site_dir = _repo_root(config), Path(config.site_dir)
    extensions = griffe.load_extensions(str(root / GRIFFE_EXTENSION))
    package = griffe.load(
        "sse_nb", search_paths=[str(root)], extensions=extensions, resolve_aliases=True
    )
    for module_path, page in API_MODULES.items():
        module = package if module_path == "sse_nb" else package[module_path.split(".", 1)[1]]
        assert isinstance(module, griffe.Module), module_path
        names = [str(name) for name in module.exports or []]
        if not names:
            log.warning("%s has no __all__: its API page would be empty", module_path)
        html_path = site_dir / page.removesuffix(".md") / "index.html"
        html = html_path.read_text(encoding="utf-8") if html_path.is_file() else ""
        for name in names:
            for problem in _undocumented(module, name):
                log.warning("%s (the API reference needs it)", problem)
            if f'id="{module_path}.{name}"' not in html:
                log.warning("%s.%s is missing from the API page %s", module_path, name, page)
