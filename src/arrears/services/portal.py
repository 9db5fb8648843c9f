"""The borrower's portal: issue and revoke links, open one, pass the step-up, and what a borrower may do
there (promise to pay, "my auto-debit failed", dispute or complaint, opt out of a channel), each through the
service staff use for the same act and each in the audit log under the actor `portal:<borrower>`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from arrears.domain.compliance.facts import parse_hours
from arrears.domain.disputes import SlaPolicy, category
from arrears.domain.errors import InputError, NotFound
from arrears.domain.money import format_minor
from arrears.domain.outbox import ContactMade
from arrears.domain.plans import PlanRules
from arrears.domain.portal import (
    DEFAULT_TTL,
    MAX_STEP_UP_TRIES,
    STEP_UP_FOR,
    PortalLink,
    id_suffix_matches,
    token_hash,
)
from arrears.domain.records import AccountEvent
from arrears.services import audit, borrower_facts, disputes, plans, promises
from arrears.services.accounts import AccountView, show_account
from arrears.services.unit_of_work import UnitOfWork

# The portal's public address (links in messages and the CLI, the provider's notify and return URLs).
BASE_URL_ENV = "ARREARS_PORTAL_BASE_URL"
# How far ahead a borrower may promise, and how long "my auto-debit failed" holds the ladder.
MAX_PROMISE_DAYS = 14
AUTODEBIT_HOLD_DAYS = 3
MESSAGE_DAYS = 90
OPT_OUT_CHANNELS = ("sms", "email", "voice", "push", "agent")
# The hours a borrower may choose from (the profiles' own windows still apply: 08:00-21:00 at the widest).
PREFERRED_HOURS = tuple(f"{h:02d}:00" for h in range(8, 22))
CHANNEL = "portal"  # the contact attempts that record what a borrower did here


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token: str
    expires_at: datetime

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/p/{self.token}"


def actor_of(link: PortalLink) -> str:
    return f"portal:{link.borrower_id}"


def issue_link(
    uow: UnitOfWork, loan_id: str, now: datetime, *, ttl: timedelta = DEFAULT_TTL, by: str
) -> IssuedLink:
    """A new link to the loan's page (NotFound for an unknown loan); the store keeps its SHA-256 only."""
    record = uow.loans.record(loan_id)
    token = secrets.token_urlsafe(16)  # 128 random bits, 22 characters
    link = PortalLink(token_hash(token), loan_id, record.borrower_id, now, now + ttl, by)
    uow.portal_links.add(link)
    audit.append(uow, by, "portal.link", f"loan:{loan_id}", {"expires_at": link.expires_at.isoformat()})
    return IssuedLink(token, link.expires_at)


def message_link(
    template: str, loan_id: str, borrower_id: str, now: datetime, *, ttl: timedelta = DEFAULT_TTL
) -> tuple[str, PortalLink]:
    """A message's pay_link when the lender's template has `{token}`: the link's address and the new
    portal link to the loan, for the caller to store with the message's other writes (dispatch: one
    insert per batch; not audited one by one: the message's contact attempt is)."""
    token = secrets.token_urlsafe(16)
    link = PortalLink(token_hash(token), loan_id, borrower_id, now, now + ttl, "dispatch")
    return template.format(loan_id=loan_id, token=token), link


def revoke_links(uow: UnitOfWork, loan_id: str, now: datetime, *, by: str) -> int:
    """Revoke every live link of the loan; how many."""
    uow.loans.record(loan_id)
    count = uow.portal_links.revoke(loan_id=loan_id, at=now)
    audit.append(uow, by, "portal.revoke", f"loan:{loan_id}", {"links": count})
    return count


def open_link(uow: UnitOfWork, token: str, now: datetime) -> PortalLink | None:
    """The link of a token if it is usable now (audited as portal.open), else None: a forged, expired,
    revoked or locked link all look the same to the caller."""
    if not token or len(token) > 64:
        return None
    link = uow.portal_links.get(token_hash(token))
    if link is None or not link.usable(now):
        return None
    audit.append(uow, actor_of(link), "portal.open", f"loan:{link.loan_id}", {})
    return link


def step_up(uow: UnitOfWork, link: PortalLink, answer: str, now: datetime) -> str | None:
    """Check the last 4 characters of the ID number: the step-up cookie on success, None otherwise (the link
    locks after MAX_STEP_UP_TRIES wrong answers). Neither the answer nor the ID number is logged."""
    borrower = uow.borrowers.get(link.borrower_id)
    if borrower is not None and id_suffix_matches(borrower.id_number, answer):
        cookie = secrets.token_urlsafe(24)
        uow.portal_links.step_up(link.token_hash, token_hash(cookie), now + STEP_UP_FOR)
        audit.append(uow, actor_of(link), "portal.step_up", f"loan:{link.loan_id}", {"passed": True})
        return cookie
    tries = uow.portal_links.record_failure(link.token_hash)
    audit.append(
        uow,
        actor_of(link),
        "portal.step_up",
        f"loan:{link.loan_id}",
        {"passed": False, "tries": tries, "locked": tries >= MAX_STEP_UP_TRIES},
    )
    return None


def balance(uow: UnitOfWork, link: PortalLink, as_of: date) -> AccountView:
    """The loan's position as `arrears account show` computes it (personal data masked)."""
    return show_account(uow, link.loan_id, as_of)


def messages(uow: UnitOfWork, link: PortalLink, now: datetime) -> list[Any]:
    """The contacts made with the borrower in the last 90 days, newest first."""
    history = uow.activity.contact_history(
        [link.borrower_id], now - timedelta(days=MESSAGE_DAYS), now + timedelta(seconds=1)
    )
    return [c for c in reversed(history.get(link.borrower_id, [])) if c.channel != CHANNEL]


def promise(uow: UnitOfWork, link: PortalLink, amount: int, due_on: date, today: date) -> dict[str, Any]:
    """A promise to pay by a date within MAX_PROMISE_DAYS (the promise service does the rest)."""
    if due_on < today or due_on > today + timedelta(days=MAX_PROMISE_DAYS):
        raise InputError(f"the date must be within {MAX_PROMISE_DAYS} days from today", field="due_on")
    if amount <= 0:
        raise InputError("the amount must be positive", field="amount")
    outstanding = show_account(uow, link.loan_id, today).position.outstanding.total
    if amount > outstanding:
        raise InputError("the amount is more than what is owed", field="amount")
    return promises.make_promise(uow, link.loan_id, amount, due_on, today, actor_of(link))


def autodebit_failed(uow: UnitOfWork, link: PortalLink, today: date) -> dict[str, Any]:
    """The borrower says the auto-debit failed: the autodebit_failed event the policies read, and a short
    hardship hold on the loan (the ladder waits AUTODEBIT_HOLD_DAYS days; compliance enforces it)."""
    until = today + timedelta(days=AUTODEBIT_HOLD_DAYS)
    uow.events.add(
        AccountEvent(
            f"portal:autodebit:{link.loan_id}:{today.isoformat()}",
            link.loan_id,
            "autodebit_failed",
            today,
            detail={"source": "portal"},
        )
    )
    borrower_facts.set_flag(
        uow,
        link.borrower_id,
        "hardship",
        by=actor_of(link),
        reason="borrower reported a failed auto-debit in the portal",
        source="portal",
        debt=link.loan_id,
        until=until,
    )
    cancelled = promises.cancel_unsent(uow, link.loan_id, "auto-debit failure reported in the portal")
    audit.append(
        uow, actor_of(link), "portal.autodebit_failed", f"loan:{link.loan_id}", {"until": str(until)}
    )
    return {"until": until.isoformat(), "cancelled_actions": cancelled}


def dispute(
    uow: UnitOfWork, link: PortalLink, category_name: str, description: str, today: date, sla: SlaPolicy
) -> dict[str, Any]:
    """A dispute (collection pauses) or complaint opened by the borrower through the dispute service."""
    found = category(category_name)
    return disputes.open_dispute(
        uow, link.loan_id, found.kind, found.name, description, today, sla, actor_of(link), channel="portal"
    )


def plan_offers(uow: UnitOfWork, link: PortalLink, today: date, rules: PlanRules) -> list[dict[str, Any]]:
    """The plans the borrower may choose today, as the page shows them."""
    return [
        {
            "id": o.id,
            "kind": o.terms.kind,
            "days": o.terms.days,
            "count": o.terms.count,
            "discount_pct": str(o.terms.discount_pct),
            "instalments": [(due, format_minor(amount, currency)) for due, amount in o.instalments],
            "concession": format_minor(o.concession, currency),
            "needs_approval": o.needs_approval,
        }
        for currency in [uow.loans.record(link.loan_id).loan.currency]
        for o in plans.self_serve_offers(uow, link.loan_id, today, rules)
    ]


def accept_plan(
    uow: UnitOfWork, link: PortalLink, offer_id: str, today: date, rules: PlanRules
) -> dict[str, Any]:
    """The borrower accepts an offer (the plan service: active within the portal's limit, else to approval)."""
    return plans.accept_offer(uow, link.loan_id, offer_id, today, rules, actor_of(link))


def opt_out(uow: UnitOfWork, link: PortalLink, channel: str) -> bool:
    """Opt out of a channel (a borrower fact the compliance rules read); False when already opted out."""
    if channel not in OPT_OUT_CHANNELS:
        raise InputError(f"unknown channel {channel!r}", field="channel")
    change = borrower_facts.set_flag(
        uow,
        link.borrower_id,
        "opt_out",
        by=actor_of(link),
        reason="opted out in the portal",
        source="portal",
        channel=channel,
    )
    return change.changed


def preferred_hours(uow: UnitOfWork, link: PortalLink, start: str, end: str) -> str:
    """The hours the borrower prefers to be contacted ("09:00-12:00", local time): a compliance fact the hours
    rules narrow their window to; it replaces the one set before."""
    value = f"{start}-{end}"
    parse_hours(value)
    by, reason = actor_of(link), "preferred contact hours chosen in the portal"
    if uow.flags.open_ids(link.borrower_id, "preferred_hours", "", "", None):
        borrower_facts.clear_flag(
            uow, link.borrower_id, "preferred_hours", by=by, reason=reason, source="portal"
        )
    borrower_facts.set_flag(
        uow, link.borrower_id, "preferred_hours", by=by, reason=reason, source="portal", value=value
    )
    return value


def record_outcome(uow: UnitOfWork, loan_id: str, borrower_id: str, action: str, now: datetime) -> None:
    """What the borrower did in the portal as a contact outcome (channel `portal`, outcome the action), which
    the KPIs count (self-serve rate, cured through the portal) and the compliance caps do not."""
    uow.outbox.add_contacts(
        [
            ContactMade(
                loan_id=loan_id,
                borrower_id=borrower_id,
                channel=CHANNEL,
                target="",
                at=now,
                outcome=action,
                message_type=f"portal_{action}",
                outbox_id=None,  # type: ignore[arg-type]  # the borrower's own act, no outbox row
                provider_id=None,
            )
        ]
    )


def link_of(uow: UnitOfWork, token: str, cookie: str, now: datetime) -> PortalLink:
    """The link of a token whose step-up this browser passed; NotFound otherwise (the generic page)."""
    link = uow.portal_links.get(token_hash(token)) if token and len(token) <= 64 else None
    if link is None or not link.usable(now) or not link.stepped_up(cookie, now):
        raise NotFound("no such link")
    return link


__all__ = [
    "AUTODEBIT_HOLD_DAYS",
    "BASE_URL_ENV",
    "CHANNEL",
    "MAX_PROMISE_DAYS",
    "OPT_OUT_CHANNELS",
    "PREFERRED_HOURS",
    "IssuedLink",
    "accept_plan",
    "autodebit_failed",
    "balance",
    "dispute",
    "issue_link",
    "link_of",
    "message_link",
    "messages",
    "open_link",
    "opt_out",
    "plan_offers",
    "preferred_hours",
    "promise",
    "record_outcome",
    "revoke_links",
    "step_up",
]
