"""Shared pieces of the policy tests: a small valid policy written as literal YAML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from arrears.adapters.policy_file import load_policy
from arrears.domain.policy import Policy, decide
from tests.compliance.conftest import cli  # noqa: F401 — one way to run the installed command, shared

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {name: ROOT / "policies" / f"{name}.yaml" for name in ("jd-baitiao-11day", "segmented")}

# Line numbers matter: the loading tests expect errors on these lines.
SMALL = """\
name: small
version: 3
segments:
  - name: paused
    when: identity_dispute
    pause: true
  - name: risky
    when: "broken_promises_90d >= 2 or ews_level == 'high'"
    ladder: firm
  - name: rest
    ladder: soft
early_warning:
  points:
    - {when: "max_dpd_12m > 30", points: 40}
    - {when: "broken_promises_90d >= 1", points: 25, label: broke a promise}
  levels: {medium: 30, high: 60}
ladders:
  soft:
    - {id: pre_due, offset: -3, channel: push, template: push/pre_due, tone: gentle}
    - {id: reminder, offset: 1, channel: sms, template: sms/reminder, tone: regular}
    - {id: strong, offset: 7, channel: sms, template: sms/strong, tone: firm, catch_up: true}
    - {id: call, offset: 10, channel: agent_call, template: agent/call_script, tone: regular, when: "overdue_total >= 50", catch_up: true}
  firm:
    - {id: reminder, offset: 1, channel: sms, template: sms/reminder, tone: firm}
    - {id: letter, offset: 11, channel: lawyer_letter, template: letter/lawyer_letter, tone: legal, requires: [legal_review]}
jumps:
  - id: agency
    when: "dpd >= 31"
    segments: [risky]
    step: {channel: agency, template: agency/placement, tone: firm}
experiments:
  - name: soft-test
    segment: rest
    arms:
      - {name: champion, weight: 50, ladder: soft}
      - {name: challenger, weight: 50, ladder: firm}
"""


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[[str], Path]:
    """Write policy text to a file and return its path."""

    def write(text: str, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def small(write_policy: Callable[[str], Path]) -> Policy:
    return load_policy(write_policy(SMALL))


def load_text(text: str, directory: Path) -> Policy:
    """Load policy text written to `directory` (for module-scoped fixtures, where write_policy is not)."""
    path = directory / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def decisions_as_rows(
    policy: Policy, rows: list[dict], histories: list[list[str]]
) -> tuple[list[tuple], list[tuple]]:
    """decide() for accounts acc-0, acc-1, ... as the SQL queries' rows, sorted: (assignments, actions)."""
    assigned, acted = [], []
    for i, (row, history) in enumerate(zip(rows, histories, strict=True)):
        t = decide(policy, f"acc-{i}", row, history)
        assigned.append((t.account_id, t.ews_score, t.ews_level, t.segment, t.experiment, t.arm, t.ladder))
        for a in t.actions:
            s = a.step
            assignment = (t.account_id, t.segment, t.experiment, t.arm, a.ladder)
            step = (a.kind, s.id, a.position, s.channel, s.template, s.tone, ",".join(s.requires), s.catch_up)
            acted.append((*assignment, *step))
    return sorted(assigned), sorted(acted)
