"""The facts a compliance decision reads: who the debtor is, what was tried before, what is asked now."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from arrears.domain.compliance.channels import attempt_kind


@dataclass(frozen=True, slots=True)
class Debtor:
    """The person contacted about a debt, with the flags that hold or limit contact.

    `timezones` lists the candidate IANA zones (from the phone's area code, the address ...); empty means
    unknown, and the profile's `unknown_timezones` apply. `opted_out` holds concrete channels.
    """

    id: str = "debtor"
    timezones: tuple[str, ...] = ()
    cease: bool = False
    opted_out: frozenset[str] = frozenset()
    disputed: bool = False
    identity_theft: bool = False
    hardship: bool = False
    hardship_until: date | None = None  # last day of an approved hardship plan's hold (inclusive)
    unreachable: bool = False
    validation_notice_sent_at: datetime | None = None
    bureau_notice_sent_at: datetime | None = None
    work_numbers: frozenset[str] = frozenset()
    employer_prohibits_contact: bool = False
    time_barred: bool = False
    represented_by_attorney: bool = False
    deceased: bool = False
    bankruptcy: bool = False
    litigation: bool = False  # a lawsuit filed on the debt: the ladder's contacts are held
    address_returned: bool = False  # letters to the postal address came back undelivered
    preferred_hours: tuple[time, time] | None = None  # the debtor's own window (from, to), local time


@dataclass(frozen=True, slots=True)
class ContactEvent:
    """One past attempt in the contact history, with what became of it."""

    channel: str
    at: datetime
    outcome: str = "unknown"
    target: str = ""
    target_kind: str = "debtor"
    message_type: str | None = None
    debt: str | None = None


@dataclass(frozen=True, slots=True)
class LawFirm:
    """The firm named on a lawyer's letter; `engaged` means a signed engagement is on file."""

    name: str
    engaged: bool = False


@dataclass(frozen=True, slots=True)
class Approval:
    """The legal-review approval record of a legal document."""

    ref: str
    approved_by: str
    approved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A contact (or a credit-bureau report) someone wants to make at instant `at`."""

    channel: str
    at: datetime
    target: str = ""
    target_kind: str = "debtor"
    message_type: str | None = None
    debt: str | None = None
    law_firm: LawFirm | None = None
    approval: Approval | None = None
    kind: str = field(default="")

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", attempt_kind(self.channel))

    def moved_to(self, at: datetime) -> Attempt:
        """The same attempt made at another instant."""
        return replace(self, at=at)

    def as_event(self, outcome: str) -> ContactEvent:
        """The history entry this attempt leaves once made, with its outcome."""
        return ContactEvent(
            channel=self.channel,
            at=self.at,
            outcome=outcome,
            target=self.target,
            target_kind=self.target_kind,
            message_type=self.message_type,
            debt=self.debt,
        )
