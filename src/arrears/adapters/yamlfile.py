"""YAML / JSON documents with line numbers, so errors can name the line of a bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from arrears.domain.errors import InputError


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates and times as text: the domain parses them and names the field when
    one is wrong (PyYAML would raise a bare ValueError for 2026-13-01)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class LocatedDocument:
    """A parsed document plus the line (1-based) where each field path starts."""

    def __init__(self, path: str, data: Any, lines: dict[str, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, field: str | None) -> int | None:
        """The line of `field` or of its nearest parent that has one ("a.b[2].c" -> "a.b[2]" -> "a.b" ...)."""
        while field:
            if field in self.lines:
                return self.lines[field]
            cut = max(field.rfind("."), field.rfind("["))
            field = field[:cut] if cut > 0 else ""
        return None

    def locate(self, err: InputError) -> InputError:
        """The same error, with this document's file and the field's line filled in."""
        return InputError(
            err.message, file=self.path, line=err.line or self.line_of(err.field), field=err.field
        )


def _walk(node: yaml.Node, path: str, lines: dict[str, int], file: str = "") -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key, _ in node.value:
            if key.value in seen:  # PyYAML would silently keep the last one
                where = f"{path}.{key.value}" if path else str(key.value)
                raise InputError("key given twice", file=file, line=key.start_mark.line + 1, field=where)
            seen.add(key.value)
        for key, value in node.value:
            name = f"{path}.{key.value}" if path else str(key.value)
            lines[name] = key.start_mark.line + 1
            _walk(value, name, lines, file)
            lines[name] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, f"{path}[{i}]", lines, file)


def load_document(path: str | Path) -> LocatedDocument:
    """Read a YAML or JSON file; a syntax error becomes an InputError with the file and line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=name) from None
    if name.endswith(".json"):
        try:
            return LocatedDocument(name, json.loads(text), {})
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=name, line=exc.lineno) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InputError(f"invalid YAML: {exc.problem}", file=name, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=name) from None
    lines: dict[str, int] = {}
    if node is not None:
        _walk(node, "", lines, name)
    return LocatedDocument(name, data, lines)
