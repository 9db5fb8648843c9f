"""Compliance profiles by name or path: profiles/<name>.yaml with its `extends:` chain resolved.

Each file's shape is read by adapters/profile_shapes.py, its meaning (an overlay may only tighten its
base) by the domain; every error names the file, the line and the field.
"""

from __future__ import annotations

import os
from pathlib import Path

import arrears
from arrears.adapters.profile_shapes import profile_head, profile_spec
from arrears.adapters.yamlfile import LocatedDocument, load_document
from arrears.domain.compliance import ComplianceProfile, build_profile
from arrears.domain.errors import InputError

DEFAULT_PROFILE = "cn"
PROFILE_SUFFIXES = (".yaml", ".yml", ".json")


def profiles_dir() -> Path:
    """Where named profiles live: $ARREARS_PROFILES_DIR, ./profiles, or the profiles/ shipped with the source."""
    env = os.environ.get("ARREARS_PROFILES_DIR")
    if env:
        return Path(env)
    here = Path.cwd() / "profiles"
    if (here / f"{DEFAULT_PROFILE}.yaml").exists():
        return here
    return Path(arrears.__file__).resolve().parents[2] / "profiles"


def _profile_path(ref: str, near: Path | None) -> Path:
    if ref.endswith(PROFILE_SUFFIXES) or "/" in ref:
        return Path(ref)
    if near is not None:
        sibling = near / f"{ref}.yaml"
        if sibling.exists():
            return sibling
    return profiles_dir() / f"{ref}.yaml"


def _read_profile(ref: str, near: Path | None) -> LocatedDocument:
    path = _profile_path(ref, near)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in profiles_dir().glob("*.yaml"))) or "none"
        raise InputError(f"unknown compliance profile {ref!r} (known: {known})", field="profile")
    return load_document(path)


def _load(ref: str, near: Path | None, chain: tuple[str, ...]) -> ComplianceProfile:
    doc = _read_profile(ref, near)
    try:
        head = profile_head(doc.data)
        base = _base(head.extends, ref, Path(doc.path).parent, chain) if head.extends else None
        return build_profile(profile_spec(head, base), base)
    except InputError as err:
        if err.file is not None:  # an error in the base's own file
            raise
        raise doc.locate(err) from None


def _base(name: str, ref: str, here: Path, chain: tuple[str, ...]) -> ComplianceProfile:
    if name in chain or name == ref:
        raise InputError(
            f"profiles extend each other in a cycle: {' → '.join((*chain, ref, name))}", field="extends"
        )
    try:
        return _load(name, here, (*chain, ref))
    except InputError as err:
        if err.file is None:  # the base could not be found: the error is on this file's `extends:`
            raise InputError(err.message, field="extends") from None
        raise


def load_profile(ref: str = DEFAULT_PROFILE) -> ComplianceProfile:
    """A profile by name (profiles/<name>.yaml) or by path, with its `extends:` chain resolved."""
    return _load(ref, None, ())
