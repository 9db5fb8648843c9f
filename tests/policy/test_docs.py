"""docs/policies.md keeps up with the registry and the model."""

from __future__ import annotations

from arrears.domain.features import FEATURES
from arrears.domain.policy import CHANNELS, TONES
from tests.policy.conftest import ROOT


def test_the_policy_docs_list_every_feature_channel_and_tone() -> None:
    text = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    for name in FEATURES:
        assert f"| `{name}` |" in text, name
    assert " ".join(CHANNELS) in text.replace("\n", " ")
    assert " ".join(TONES) in text
