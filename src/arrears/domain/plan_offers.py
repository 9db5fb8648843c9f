"""Self-serve repayment plans: the offers a borrower may accept in the portal today, each a plan the plan rules
allow for the account (eligibility as for staff: one open plan, something owed, a settlement only from the
rules' days past due), with what it would do (the new instalments, the discount).

Accepted online, an offer is proposed as the role `portal`: within the portal's limit (by default an
extension of up to 14 days or up to 3 instalments, no discount) it starts at once; anything more waits in the
supervisors' approval queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arrears.domain.errors import InputError
from arrears.domain.ledger import LedgerPosition
from arrears.domain.plans import PlanRules, PlanTerms, RoleLimit, rewrite

PORTAL_ROLE = "portal"
PORTAL_LIMIT = RoleLimit(max_concession=0, max_count=3, max_days=14)


@dataclass(frozen=True, slots=True)
class SelfServeRules:
    """Which offers the portal makes (before eligibility): extension days, instalment counts, discounts."""

    extension_days: tuple[int, ...] = (7, 14, 30)
    instalment_counts: tuple[int, ...] = (3, 6)
    settlement_discounts: tuple[Decimal, ...] = (Decimal(10),)
    limit: RoleLimit = PORTAL_LIMIT


@dataclass(frozen=True, slots=True)
class Offer:
    """One plan a borrower may choose: its terms and what it does."""

    id: str  # "extension-14", "reinstalment-3", "settlement-10"
    terms: PlanTerms
    instalments: tuple[tuple[date, int], ...]  # the new instalments the borrower would pay: (due, amount)
    concession: int  # the discount
    needs_approval: bool


def offer_terms(offer_id: str, today: date) -> PlanTerms:
    """The terms an offer id stands for, starting today (InputError for an id that is no offer)."""
    kind, _, number = offer_id.partition("-")
    if kind not in ("extension", "reinstalment", "settlement") or not number.isdigit() or len(number) > 3:
        raise InputError("not an offer", field="offer")
    if kind == "extension":
        return PlanTerms("extension", today, days=int(number))
    if kind == "reinstalment":
        return PlanTerms("reinstalment", today, count=int(number))
    return PlanTerms("settlement", today, discount_pct=Decimal(number))


def offer_ids(rules: SelfServeRules) -> list[str]:
    return (
        [f"extension-{d}" for d in rules.extension_days]
        + [f"reinstalment-{n}" for n in rules.instalment_counts]
        + [f"settlement-{int(p)}" for p in rules.settlement_discounts]
    )


def offers(
    position: LedgerPosition, plan_rules: PlanRules, open_plans: int, rules: SelfServeRules | None = None
) -> list[Offer]:
    """The offers this account may accept on the position's day (none when it may have no plan)."""
    rules = rules or SelfServeRules()
    portal_rules = portal_plan_rules(plan_rules, rules)
    out = []
    for offer_id in offer_ids(rules):
        terms = offer_terms(offer_id, position.as_of)
        try:
            plan_rules.check_eligible(terms, position, open_plans)
        except InputError:
            continue
        change = rewrite(terms, position)
        assert change.instalments is not None  # no waiver is offered
        new = tuple((i.due, i.scheduled) for i in change.instalments if i.seq in change.plan_seqs)
        within = portal_rules.within_limit(PORTAL_ROLE, terms, change.concession)
        out.append(Offer(offer_id, terms, new, change.concession, not within))
    return out


def portal_plan_rules(plan_rules: PlanRules, rules: SelfServeRules | None = None) -> PlanRules:
    """The plan rules with the portal's own limit (the role `portal`) beside the staff's."""
    limit = (rules or SelfServeRules()).limit
    return PlanRules(
        limits={**plan_rules.limits, PORTAL_ROLE: limit},
        settlement_min_dpd=plan_rules.settlement_min_dpd,
        max_active_plans=plan_rules.max_active_plans,
        break_tolerance_days=plan_rules.break_tolerance_days,
        on_break=plan_rules.on_break,
    )
