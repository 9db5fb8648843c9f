"""An agent's call and what came of it: the outcome codes a case records (domain/cases.OUTCOME_CODES) read
as the contact outcomes the compliance rules count (domain/compliance/channels.VOICE_OUTCOMES).

A right-party conversation about the debt is a `conversation` (US Reg F's 7-day quiet period counts these,
China's cap of 3 connected calls a day counts them as connected); someone else answering is `connected`;
nobody answering is `no_answer`.
"""

from __future__ import annotations

from datetime import date, timedelta

from arrears.domain.cases import OUTCOME_CODES

CALL_CHANNEL = "agent_call"
CALL_MESSAGE_TYPE = "collection_call"
CONTACT_OUTCOME: dict[str, str] = {
    "right_party_contact": "conversation",
    "promise_to_pay": "conversation",
    "refused": "conversation",
    "hardship": "conversation",
    "dispute": "conversation",
    "complaint": "conversation",
    "deceased": "connected",
    "bankruptcy": "connected",
    "wrong_number": "connected",
    "third_party": "connected",
    "no_answer": "no_answer",
}
assert set(CONTACT_OUTCOME) == set(OUTCOME_CODES)  # every case outcome has its contact outcome


def next_action_on(outcome: str, today: date, promised_on: date | None = None) -> date:
    """When the case comes back to the queue after a call: the day after a promise falls due, otherwise
    the next day (one call a day per case from the desk; the caps still apply on top)."""
    if outcome == "promise_to_pay" and promised_on is not None:
        return max(promised_on, today) + timedelta(days=1)
    return today + timedelta(days=1)
