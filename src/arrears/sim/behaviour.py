"""How synthetic borrowers react, day by day, to what the collections process did to them.

Each day the simulation hands the model every account that owes something (an instalment due today or an
amount overdue) with the contacts it received that day (channel, tone, whether a person answered), how many
contacts the borrower had in the last 7 days, and its persona. The model answers with reactions — pay in
full or in part, promise, dispute, complain — which the simulation records through the production services.
Ignoring is the absence of a reaction.

Deterministic: the random numbers of a day come from a numpy Generator seeded with (seed, day), drawn as
one row of uniforms per loan of the whole portfolio, so an account's draws do not depend on which other
accounts are in arrears — two policies simulated with one seed face the same borrowers' luck (common random
numbers make the comparison sharper). Parameters and the reasoning behind them: behaviour_params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrears.adapters.yamlfile import load_document
from arrears.domain.errors import InputError

DEFAULT_PARAMS = "behaviour_params.yaml"
TONES = ("gentle", "regular", "firm", "legal")
PERSONAS = ("good", "forgetful", "hardship", "strategic", "fraud", "deceased")
DRAWS = 8  # uniforms per loan per day (one per decision, so decisions never share a number)
PRE_DUE_TYPES = frozenset({"pre_due", "due_today"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Share(_Strict):
    min: float = Field(ge=0, le=1)
    max: float = Field(ge=0, le=1)


class DayRange(_Strict):
    min: int = Field(ge=1)
    max: int = Field(ge=1)


class PersonaBehaviour(_Strict):
    p_pay_on_due: float = Field(ge=0, le=1)
    pre_due_lift: float = Field(ge=0, le=1)
    base_daily_pay: float = Field(ge=0, le=1)
    p_partial: float = Field(ge=0, le=1)
    partial_share: Share
    p_promise_on_rpc: float = Field(ge=0, le=1)
    p_keep_promise: float = Field(ge=0, le=1)
    promise_in_days: DayRange
    p_dispute_on_contact: float = Field(ge=0, le=1)
    tone_response: dict[str, float]
    tone_complaint: dict[str, float]


class BehaviourParams(_Strict):
    max_daily_probability: float = Field(gt=0, le=1)
    dpd_half_life: float = Field(gt=0)
    free_contacts_7d: int = Field(ge=0)
    fatigue_per_contact: float = Field(ge=0)
    overcontact_complaint: float = Field(ge=0)
    channel_lift: dict[str, float]
    complaint_per_contact: dict[str, float]
    complaint_category: str
    personas: dict[str, PersonaBehaviour]
    p_robocall_answered: float = Field(ge=0, le=1)
    p_agent_connected: float = Field(ge=0, le=1)


def load_behaviour(path: str | Path | None = None) -> BehaviourParams:
    """Read and check behaviour parameters; None reads the built-in behaviour_params.yaml."""
    if path is None:
        return _default()
    return _load(Path(path))


@cache
def _default() -> BehaviourParams:
    with resources.as_file(resources.files("arrears.sim") / DEFAULT_PARAMS) as built_in:
        return _load(built_in)


def _load(path: Path) -> BehaviourParams:
    doc = load_document(path)
    try:
        params = BehaviourParams.model_validate(doc.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise doc.locate(InputError(first["msg"], field=where)) from None
    missing = [p for p in PERSONAS if p not in params.personas]
    if missing:
        raise doc.locate(InputError(f"personas missing: {', '.join(missing)}", field="personas"))
    return params


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact an account received today, as dispatch recorded it."""

    channel: str  # the policy's channel (sms, robocall, agent_call, lawyer_letter ...)
    tone: str  # gentle | regular | firm | legal
    message_type: str = ""  # reminder, pre_due, lawyer_letter ...
    right_party: bool = False  # a person answered (robocall answered, agent call connected)


@dataclass(frozen=True, slots=True)
class AccountDay:
    """What the model knows about one account on one day (read from the store by the simulation)."""

    loan_id: str
    borrower_id: str
    persona: str
    dpd: int
    overdue: int  # everything overdue, late fee included (minor units)
    due_today: int = 0  # the unpaid amount of an instalment falling due today
    contacts: tuple[Contact, ...] = ()
    contacts_7d: int = 0  # the borrower's contacts over the last 7 days, today's included
    pre_due_recent: bool = False  # a pre-due / due-today reminder in the last 3 days
    promise_pending: bool = False


@dataclass(frozen=True, slots=True)
class Reaction:
    """What a borrower does: pay (amount), promise (amount, due_on), dispute or complain (category)."""

    kind: str  # pay | promise | dispute | complaint
    loan_id: str
    borrower_id: str
    amount: int = 0
    due_on: date | None = None
    category: str = ""
    channel: str = ""  # the contact that set it off (complaints are counted per channel)


@dataclass
class BehaviourModel:
    """The borrowers' side of a simulation: the parameters, the seed and what borrowers intend to do."""

    params: BehaviourParams
    seed: int
    loan_index: dict[str, int]  # every loan of the portfolio → its row of uniforms
    intentions: dict[str, tuple[date, int]] = field(default_factory=dict)  # kept promises to come
    disputed: set[str] = field(default_factory=set)

    def uniforms(self, day: date) -> np.ndarray:
        """(loans, DRAWS) uniforms of one day, the same whatever the policy."""
        rng = np.random.default_rng([self.seed, day.toordinal()])
        return rng.random((len(self.loan_index), DRAWS))

    def react(self, day: date, accounts: list[AccountDay]) -> list[Reaction]:
        """The reactions of one day, in the order of `accounts`."""
        u = self.uniforms(day)
        out: list[Reaction] = []
        for account in accounts:
            out.extend(self._account(day, account, u[self.loan_index[account.loan_id]]))
        return out

    def _account(self, day: date, a: AccountDay, u: np.ndarray) -> list[Reaction]:
        p = self.params
        b = p.personas.get(a.persona) or p.personas["good"]
        cap = p.max_daily_probability
        out: list[Reaction] = []
        owed = a.overdue + a.due_today
        paid = False
        intended = self.intentions.get(a.loan_id)
        if intended is not None and intended[0] <= day:
            del self.intentions[a.loan_id]
            if owed > 0:
                out.append(Reaction("pay", a.loan_id, a.borrower_id, amount=min(intended[1], owed)))
                paid = True
        if not paid and a.dpd == 0 and a.due_today > 0:
            chance = b.p_pay_on_due
            if a.pre_due_recent:
                chance += (1 - chance) * b.pre_due_lift
            if u[0] < min(cap, chance):
                out.append(Reaction("pay", a.loan_id, a.borrower_id, amount=a.due_today))
                paid = True
        elif not paid and a.dpd > 0 and a.overdue > 0:
            lift = sum(
                p.channel_lift.get(c.channel, 1.0) * b.tone_response.get(c.tone, 1.0) for c in a.contacts
            )
            over = max(0, a.contacts_7d - p.free_contacts_7d)
            chance = b.base_daily_pay / (1 + a.dpd / p.dpd_half_life) * (1 + lift)
            chance /= 1 + p.fatigue_per_contact * over
            if u[0] < min(cap, chance):
                amount = a.overdue
                if u[1] < b.p_partial:
                    share = b.partial_share.min + u[2] * (b.partial_share.max - b.partial_share.min)
                    amount = max(1, int(a.overdue * share))
                out.append(Reaction("pay", a.loan_id, a.borrower_id, amount=amount))
                paid = True
        if (
            not paid
            and a.dpd > 0
            and not a.promise_pending
            and a.loan_id not in self.intentions
            and any(c.right_party for c in a.contacts)
            and u[3] < b.p_promise_on_rpc
        ):
            days = b.promise_in_days.min + int(u[5] * (b.promise_in_days.max - b.promise_in_days.min + 1))
            due_on = day + timedelta(days=days)
            out.append(Reaction("promise", a.loan_id, a.borrower_id, amount=a.overdue, due_on=due_on))
            if u[4] < b.p_keep_promise:
                self.intentions[a.loan_id] = (due_on, a.overdue)
        if a.contacts and a.loan_id not in self.disputed:
            chance = 1 - (1 - b.p_dispute_on_contact) ** len(a.contacts)
            if u[6] < min(cap, chance):
                self.disputed.add(a.loan_id)
                kind = "identity_theft" if a.persona == "fraud" else "wrong_amount"
                out.append(Reaction("dispute", a.loan_id, a.borrower_id, category=kind))
        if a.contacts:
            complaint = self.complaint_chance(a, b)
            if u[7] < min(cap, complaint[0]):
                out.append(
                    Reaction(
                        "complaint",
                        a.loan_id,
                        a.borrower_id,
                        category=p.complaint_category,
                        channel=complaint[1],
                    )
                )
        return out

    def complaint_chance(self, a: AccountDay, b: PersonaBehaviour) -> tuple[float, str]:
        """The chance that today's contacts make the borrower complain, and the channel most to blame."""
        p = self.params
        over = 1 + p.overcontact_complaint * max(0, a.contacts_7d - p.free_contacts_7d)
        stay = 1.0
        worst, blamed = -1.0, ""
        for c in a.contacts:
            chance = p.complaint_per_contact.get(c.channel, 0.0) * b.tone_complaint.get(c.tone, 1.0) * over
            stay *= 1 - min(1.0, chance)
            if chance > worst:
                worst, blamed = chance, c.channel
        return 1 - stay, blamed


def right_party(channel: str, u: float, params: BehaviourParams) -> bool:
    """Whether a call on `channel` reached the borrower, given a uniform draw."""
    if channel == "robocall":
        return u < params.p_robocall_answered
    if channel == "agent_call":
        return u < params.p_agent_connected
    return False
