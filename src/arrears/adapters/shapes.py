"""The shape of input files (keys, types, words) checked with pydantic, and its errors in this project's words.

A shape says which keys a file may have and what type each value is; what the values mean (an overlay
may only tighten, a schedule must add up) stays in the domain. Every error is an InputError naming the
field path (`rules[2].max`); the document's line map (adapters/yamlfile.py) adds the file and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from arrears.domain.errors import InputError
from arrears.domain.features import did_you_mean


class Shape(BaseModel):
    """Strict (a quoted "7" is not a number) and closed (an unknown key is an error)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LenientShape(Shape):
    """A shape whose files write `key: null` (or `key:`) for a key left out: the default, or "is required"."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    def given(self) -> dict[str, Any]:
        """The values the file gives (a default is not one): the domain's own defaults fill the rest."""
        return {name: getattr(self, name) for name in self.model_fields_set}


S = TypeVar("S", bound=BaseModel)


def read_shape(shape: type[S], raw: object, keys: Iterable[str], not_a_mapping: str) -> S:
    """A parsed file checked against `shape`; the first problem as an InputError at its field path."""
    if not isinstance(raw, dict):
        raise InputError(not_a_mapping)
    try:
        return shape.model_validate(raw)
    except ValidationError as err:
        raise shape_error(err, keys) from None


def keys_of(*shapes: type[BaseModel]) -> list[str]:
    """Every key the shapes know, for "did you mean" hints on an unknown one."""
    return sorted({name for shape in shapes for name in shape.model_fields})


def checked_by(parse: Callable[[Any, str], object]) -> Any:
    """A domain parser `(value, field) -> typed value` as a field's validator.

    Its InputError becomes a shape error at this field; the parser's own field (`[2]` of a list, say)
    is appended to the path.
    """

    def run(value: Any) -> object:
        try:
            return parse(value, "")
        except InputError as err:
            raise PydanticCustomError(
                "domain", "{message}", {"message": err.message, "suffix": err.field or ""}
            ) from None

    return PlainValidator(run)


def word_list(value: object, field: str) -> list[object]:
    """The list a field holds; InputError naming the field when it holds something else."""
    if not isinstance(value, list):
        raise InputError(f"must be a list, got {value!r}", field=field)
    return value


def words_in(allowed: Iterable[str] | None = None) -> Callable[[object, str], frozenset[str]]:
    """A parser for a list of words; with `allowed`, every unknown word is named at once."""
    known = None if allowed is None else frozenset(allowed)

    def parse(value: object, field: str) -> frozenset[str]:
        items = frozenset(str(v) for v in word_list(value, field))
        bad = sorted(items - known) if known is not None else []
        if known is not None and bad:
            raise InputError(
                f"unknown value(s) {', '.join(bad)} (known: {', '.join(sorted(known))})", field=field
            )
        return items

    return parse


def word_in(allowed: Iterable[str], what: str) -> Callable[[object, str], str]:
    """A parser for one word out of `allowed`: "unknown <what> 'x' (known: ...)" otherwise."""
    known = tuple(allowed)

    def parse(value: object, field: str) -> str:
        text = str(value)
        if text not in known:
            listed = ", ".join(known if isinstance(allowed, list | tuple) else sorted(known))
            raise InputError(f"unknown {what} {text!r} (known: {listed})", field=field)
        return text

    return parse


def text(value: object, field: str) -> str:
    """A string; a bare number in the file (a phone number, an id) is read as its digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"must be a string, got {value!r}", field=field)


_MESSAGES = {
    "missing": "is required",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "greater_than": "must be more than {gt}",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "literal_error": "must be {expected}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must not be empty",
}
# Plain type names a union adds to the location of its member's error (`when: str | bool` → when.str)
_UNION_MEMBERS = {"str", "int", "bool", "float", "list", "dict", "none"}


def _is_union_member(part: int | str) -> bool:
    return isinstance(part, str) and (
        part in _UNION_MEMBERS or part.endswith("Shape") or "[" in part or part.startswith("function-")
    )


def field_path(loc: Iterable[int | str], prefix: str = "") -> str:
    """("rules", 2, "max") → "rules[2].max", under `prefix` when given."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shape_error(err: ValidationError, keys: Iterable[str] = (), prefix: str = "") -> InputError:
    """The first problem pydantic found, in the words of this project, at its field path."""
    first = err.errors()[0]
    kind = first["type"]
    loc = tuple(first["loc"])
    # a union adds the member's type to the location: not a field (but an unknown key is the user's word)
    kept = [p for p in loc[:-1] if not _is_union_member(p)]
    last = loc[-1:] if kind == "extra_forbidden" else [p for p in loc[-1:] if not _is_union_member(p)]
    ctx = first.get("ctx") or {}
    field = field_path((*kept, *last), prefix) + str(ctx.get("suffix", ""))
    if kind == "extra_forbidden":
        key = str(loc[-1])
        hint = did_you_mean(key, [k for k in keys if k != key])
        return InputError(f"unknown key {key!r}{hint}", field=field)
    if kind == "domain":
        return InputError(first["msg"], field=field)
    if kind == "missing":
        return InputError("is required", field=field)
    message = _MESSAGES[kind].format(**ctx) if kind in _MESSAGES else first["msg"]
    return InputError(f"{message}, got {first['input']!r}", field=field)
