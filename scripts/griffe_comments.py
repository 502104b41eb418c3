"""A griffe extension: ``#:`` comments above an attribute become its docstring.

The package documents constants, NamedTuple fields and enum members with ``#:`` comment lines
above them (the Sphinx convention); griffe reads only string literals below an assignment, so
without this the API reference would show those names bare.
"""

from __future__ import annotations

import ast
from typing import Any

import griffe

#: The marker that opens a documentation comment line.
MARKER = "#:"


class CommentDocstrings(griffe.Extension):
    """Give an attribute without a docstring the ``#:`` lines right above it."""

    def on_attribute_instance(
        self, *, node: ast.AST | griffe.ObjectNode, attr: griffe.Attribute, **kwargs: Any
    ) -> None:
        if attr.docstring is not None or attr.lineno is None:
            return
        filepath = attr.filepath
        if isinstance(filepath, list) or filepath not in attr.lines_collection:
            return
        lines = attr.lines_collection[filepath]
        comment: list[str] = []
        index = attr.lineno - 2  # the line above the assignment (lineno counts from 1)
        while index >= 0 and lines[index].lstrip().startswith(MARKER):
            comment.append(lines[index].lstrip()[len(MARKER) :].strip())
            index -= 1
        if comment:
            attr.docstring = griffe.Docstring(
                " ".join(reversed(comment)), lineno=index + 2, parent=attr
            )
