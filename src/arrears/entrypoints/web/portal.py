"""The borrower's portal under /p/{token}: the balance, then (after the step-up: the last 4 characters of the
ID number) the ledger, the messages sent, and the forms to promise, report a failed auto-debit, dispute or
complain and opt out of a channel. A forged, expired, revoked or locked link gets one generic page.
See docs/portal.md."""

from __future__ import annotations

import os
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from arrears.adapters.payment_provider import ProviderClient, ProviderConfig, ProviderUnavailable, paid_notice
from arrears.domain.checkout import pay_now_minimum
from arrears.domain.compliance.clock import zone
from arrears.domain.disputes import CATEGORIES
from arrears.domain.errors import ArrearsError, InputError, NotFound
from arrears.domain.money import format_minor, parse_minor
from arrears.domain.portal import MAX_STEP_UP_TRIES, PortalLink, token_hash
from arrears.entrypoints.api.limits import RateLimited, TokenBuckets
from arrears.entrypoints.web.desk import config_of
from arrears.entrypoints.web.i18n import translations
from arrears.entrypoints.web.rendering import SECURITY_HEADERS, _env
from arrears.entrypoints.web.session import Uow, now_of, secure
from arrears.services import checkout, portal
from arrears.services.plans import plans_of

router = APIRouter()
COOKIE = "arrears_portal"
LANG_COOKIE = "arrears_portal_lang"
PORTAL_LANGUAGES = ("zh-CN", "zh-TW", "en")
# Per client address, per app in this process: 20 requests at once, then one a second.
RATE, BURST = 1.0, 20


def portal_language(request: Request, borrower_language: str | None = None) -> str:
    """?lang=, else the cookie, else the borrower's language on file, else the browser's, else zh-CN."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), borrower_language):
        if chosen in PORTAL_LANGUAGES:
            return str(chosen)
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag in ("zh-tw", "zh-hk", "zh-hant"):
            return "zh-TW"
        if tag.startswith("zh"):
            return "zh-CN"
    return "zh-CN"


def render(request: Request, template: str, lang: str, *, status_code: int = 200, **context: Any) -> Response:
    html = _env.get_template(f"portal/{template}").render(
        _=translations(lang, "portal").gettext,
        lang=lang,
        languages=PORTAL_LANGUAGES,
        path=request.url.path,
        **context,
    )
    headers = dict(SECURITY_HEADERS)
    if context.get("pay_now"):  # the pay form's redirect goes on to the provider's hosted checkout
        origin = _provider_origin(request)
        policy = headers["Content-Security-Policy"]
        headers["Content-Security-Policy"] = policy.replace(
            "form-action 'self'", f"form-action 'self' {origin}"
        )
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    if request.query_params.get("lang") in PORTAL_LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", httponly=True, secure=secure(request))
    return response


def _limited(request: Request) -> None:
    buckets: TokenBuckets | None = getattr(request.app.state, "portal_buckets", None)
    if buckets is None:
        buckets = request.app.state.portal_buckets = TokenBuckets(RATE, BURST)
    buckets.take(request.client.host if request.client else "-")


def invalid(request: Request, status_code: int = 404) -> Response:
    """The one page every unusable link gets: it says the link does not work and nothing else."""
    return render(request, "invalid.html", portal_language(request), status_code=status_code)


def _today(request: Request) -> date:
    return now_of(request).astimezone(zone("Asia/Shanghai")).date()


def _csrf(cookie: str) -> str:
    return token_hash("csrf:" + cookie)[:32]


def _page(request: Request, uow: Any, link: PortalLink, cookie: str, **extra: Any) -> Response:
    now = now_of(request)
    borrower = uow.borrowers.get(link.borrower_id)
    lang = portal_language(request, borrower.language if borrower else None)
    view = portal.balance(uow, link, _today(request))
    stepped = link.stepped_up(cookie, now)
    context: dict[str, Any] = {
        "token": request.path_params["token"],
        "p": view.position.to_dict(),
        "stepped_up": stepped,
        "tries_left": MAX_STEP_UP_TRIES - link.failed_tries,
    }
    order = checkout.order_status(uow, link, request.query_params.get("order", ""))
    if order is not None:
        context["order"] = {"status": order.status, "amount": format_minor(order.amount, order.currency)}
    if stepped:
        outstanding = view.position.outstanding.total
        currency = view.position.currency
        context |= {
            "pay_now": _provider(request) is not None and outstanding > 0,
            "pay_minimum": format_minor(pay_now_minimum(outstanding), currency),
            "pay_full": format_minor(outstanding, currency),
            "offers": portal.plan_offers(uow, link, _today(request), config_of(request).plans),
            "plans": [
                p for p in plans_of(uow, [link.loan_id]) if p["status"] in ("active", "awaiting_approval")
            ],
            "csrf": _csrf(cookie),
            "contacts": portal.messages(uow, link, now),
            "categories": sorted(CATEGORIES.values(), key=lambda c: (c.kind, c.name)),
            "channels": portal.OPT_OUT_CHANNELS,
            "hours": portal.PREFERRED_HOURS,
            "max_promise_days": portal.MAX_PROMISE_DAYS,
            "today": _today(request),
        }
    return render(request, "page.html", lang, **context, **extra)


@router.get("/p/{token}")
def open_page(request: Request, token: str, uow: Uow) -> Response:
    try:
        _limited(request)
    except RateLimited:
        return invalid(request, 429)
    link = portal.open_link(uow, token, now_of(request))
    if link is None:
        return invalid(request)
    uow.commit()
    return _page(request, uow, link, request.cookies.get(COOKIE, ""))


@router.post("/p/{token}/step-up")
def step_up(
    request: Request, token: str, uow: Uow, answer: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    try:
        _limited(request)
    except RateLimited:
        return invalid(request, 429)
    now = now_of(request)
    link = portal.open_link(uow, token, now)
    if link is None:
        return invalid(request)
    cookie = portal.step_up(uow, link, answer, now)
    uow.commit()
    if cookie is None:
        link = uow.portal_links.get(link.token_hash)
        if link is None or not link.usable(now):
            return invalid(request, 403)
        return _page(request, uow, link, "", step_up_error=True)
    response = RedirectResponse(f"/p/{token}", status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(portal.STEP_UP_FOR.total_seconds()),
        path=f"/p/{token}",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


def _guarded(request: Request, uow: Any, token: str, csrf: str) -> tuple[Any, str] | Response:
    """A borrower's form post let through: within the rate limit, on a stepped-up link, with the page's CSRF
    token; (the link, the session cookie), or the generic page refusing it."""
    try:
        _limited(request)
    except RateLimited:
        return invalid(request, 429)
    cookie = request.cookies.get(COOKIE, "")
    try:
        link = portal.link_of(uow, token, cookie, now_of(request))
    except NotFound:
        return invalid(request, 403)
    if not csrf or csrf != _csrf(cookie):
        return invalid(request, 403)
    return link, cookie


def _act(request: Request, uow: Any, token: str, csrf: str, act: Any, done: str) -> Response:
    """Run one borrower action on a stepped-up link (the generic page otherwise), commit, show the page."""
    guarded = _guarded(request, uow, token, csrf)
    if isinstance(guarded, Response):
        return guarded
    link, cookie = guarded
    try:
        result = act(link)
        outcome = "complaint" if isinstance(result, dict) and result.get("kind") == "complaint" else done
        portal.record_outcome(uow, link.loan_id, link.borrower_id, outcome, now_of(request))
        uow.commit()
    except ArrearsError as err:
        uow.rollback()
        return _page(request, uow, link, cookie, form_error=error_text(request, err), status_code=400)
    return _page(request, uow, link, cookie, done=done, result=result)


@router.post("/p/{token}/promise")
def promise(
    request: Request,
    token: str,
    uow: Uow,
    amount: Annotated[str, Form(max_length=32)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    def act(link: PortalLink) -> Any:
        currency = uow.loans.record(link.loan_id).loan.currency
        try:
            due = date.fromisoformat(due_on)
        except ValueError:
            raise InputError("not a date (YYYY-MM-DD)", field="due_on") from None
        return portal.promise(uow, link, parse_minor(amount, currency), due, _today(request))

    return _act(request, uow, token, csrf, act, "promise")


@router.post("/p/{token}/autodebit")
def autodebit(request: Request, token: str, uow: Uow, csrf: Annotated[str, Form()] = "") -> Response:
    return _act(
        request,
        uow,
        token,
        csrf,
        lambda link: portal.autodebit_failed(uow, link, _today(request)),
        "autodebit",
    )


@router.post("/p/{token}/dispute")
def dispute(
    request: Request,
    token: str,
    uow: Uow,
    category: Annotated[str, Form(max_length=32)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    def act(link: PortalLink) -> Any:
        return portal.dispute(uow, link, category, description, _today(request), config_of(request).sla)

    return _act(request, uow, token, csrf, act, "dispute")


@router.post("/p/{token}/plan")
def plan(
    request: Request,
    token: str,
    uow: Uow,
    offer: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    def act(link: PortalLink) -> Any:
        return portal.accept_plan(uow, link, offer, _today(request), config_of(request).plans)

    return _act(request, uow, token, csrf, act, "plan")


@router.post("/p/{token}/hours")
def hours(
    request: Request,
    token: str,
    uow: Uow,
    start: Annotated[str, Form(max_length=5)] = "",
    end: Annotated[str, Form(max_length=5)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request, uow, token, csrf, lambda link: portal.preferred_hours(uow, link, start, end), "hours"
    )


@router.post("/p/{token}/opt-out")
def opt_out(
    request: Request,
    token: str,
    uow: Uow,
    channel: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return _act(request, uow, token, csrf, lambda link: portal.opt_out(uow, link, channel), "opt_out")


def _provider(request: Request) -> ProviderClient | None:
    """The payment provider the app was given (tests), else the one the environment configures (ARREARS_PAY_*),
    else None: pay now is not offered."""
    state = request.app.state
    if not hasattr(state, "payment_provider"):
        config = ProviderConfig.from_env()
        state.payment_provider = ProviderClient(config) if config is not None else None
    provider: ProviderClient | None = state.payment_provider
    return provider


def _provider_origin(request: Request) -> str:
    provider = _provider(request)
    if provider is None:
        return ""
    parts = urlsplit(provider.config.url)
    return f"{parts.scheme}://{parts.netloc}"


def _public_base(request: Request) -> str:
    return (os.environ.get(portal.BASE_URL_ENV, "").strip() or str(request.base_url)).rstrip("/")


@router.post("/p/{token}/pay")
def pay_now(
    request: Request,
    token: str,
    uow: Uow,
    amount: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Pay now: an order at the provider for the amount, then the borrower goes to its hosted checkout."""
    guarded = _guarded(request, uow, token, csrf)
    if isinstance(guarded, Response):
        return guarded
    link, cookie = guarded
    provider = _provider(request)
    lang = portal_language(request)
    if provider is None:
        return _page(
            request, uow, link, cookie, form_error=_gettext(lang, "Paying online is not available now.")
        )
    base = _public_base(request)
    try:
        currency = uow.loans.record(link.loan_id).loan.currency
        url = checkout.start_checkout(
            uow,
            link,
            parse_minor(amount, currency),
            _today(request),
            now_of(request),
            provider,
            notify_url=f"{base}/payments/notify",
            return_url=f"{base}/p/{token}?order={{order}}",
        )
        portal.record_outcome(uow, link.loan_id, link.borrower_id, "pay_started", now_of(request))
        uow.commit()
    except ProviderUnavailable:
        uow.rollback()
        message = _gettext(lang, "The payment service did not answer. Please try again later.")
        return _page(request, uow, link, cookie, form_error=message, status_code=502)
    except ArrearsError as err:
        uow.rollback()
        return _page(request, uow, link, cookie, form_error=error_text(request, err), status_code=400)
    return RedirectResponse(url, status_code=303)


# The form fields a service error may name, as the borrower reads them (portal.po).
FIELD_LABELS = {
    "amount": "Amount",
    "due_on": "Date",
    "category": "What is it about",
    "description": "Tell us more",
    "channel": "Stop contacting me by",
    "offer": "Repayment plans",
    "value": "Contact me only between",
}


def error_text(request: Request, err: ArrearsError) -> str:
    """A service's error in the borrower's language: its message from portal.po, else (a message with values in
    it) the field to check; never a traceback or an internal name."""
    lang = portal_language(request)
    message = err.message if isinstance(err, InputError) else str(err)
    translated = _gettext(lang, message)
    if translated != message or lang == "en":
        return translated
    field = err.field if isinstance(err, InputError) else None
    label = _gettext(lang, FIELD_LABELS.get(field or "", "Your entry"))
    return f"{_gettext(lang, 'Please check this entry:')} {label}"


def _gettext(lang: str, text: str) -> str:
    return str(translations(lang, "portal").gettext(text))


@router.post("/payments/notify", include_in_schema=False)
async def provider_notification(request: Request) -> Response:
    """The payment provider's asynchronous notification (form parameters signed with RSA-SHA256, see
    adapters/payment_provider.py): `success` once booked (or already booked), `fail` (400) and an audit entry
    when the signature, the order, the amount or the currency is wrong."""
    params = {k: str(v)[:4096] for k, v in (await request.form()).items()}
    return await run_in_threadpool(_notification, request, params)


def _notification(request: Request, params: dict[str, str]) -> Response:
    from arrears.services.unit_of_work import UnitOfWork

    provider = _provider(request)
    if provider is None:
        return PlainTextResponse("fail", status_code=503)
    with UnitOfWork(request.app.state.store_url) as uow:
        try:
            if not provider.verify(params):
                raise checkout.NoticeRejected("bad signature", field="sign")
            notice = paid_notice(params)
            if notice is not None:
                checkout.book_notice(uow, notice, config_of(request))
            uow.commit()
        except ArrearsError as err:
            uow.rollback()
            checkout.reject_notice(uow, getattr(err, "message", str(err)), params)
            uow.commit()
            return PlainTextResponse("fail", status_code=400)
    return PlainTextResponse("success")
