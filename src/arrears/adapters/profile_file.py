"""Compliance profiles by name or path: profiles/<name>.yaml with its `extends:` chain resolved."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import arrears
from arrears.adapters.yamlfile import load_document
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


def _profile_path(ref: str, near: str | None) -> Path:
    if ref.endswith(PROFILE_SUFFIXES) or "/" in ref:
        return Path(ref)
    if near is not None:
        sibling = Path(near) / f"{ref}.yaml"
        if sibling.exists():
            return sibling
    return profiles_dir() / f"{ref}.yaml"


def _read_profile(ref: str, near: str | None) -> tuple[object, Callable[[InputError], InputError], str]:
    path = _profile_path(ref, near)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in profiles_dir().glob("*.yaml"))) or "none"
        raise InputError(f"unknown compliance profile {ref!r} (known: {known})", field="profile")
    doc = load_document(path)
    return doc.data, doc.locate, str(path.parent)


def load_profile(ref: str = DEFAULT_PROFILE) -> ComplianceProfile:
    """A profile by name (profiles/<name>.yaml) or by path, with its `extends:` chain resolved."""
    return build_profile(ref, _read_profile)
