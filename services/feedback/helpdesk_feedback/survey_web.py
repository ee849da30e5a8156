"""The survey pages over HTTP: `GET /s/{token}` shows the form, `POST /s/{token}` takes the answer,
`GET /s/{token}/thanks` thanks the customer.

A GET never records anything: a mail security scanner that opens every link of the email, one-click
rating links included, sees the form and nothing more. Only the form's POST, which a person sends by
pressing the button, casts or changes a rating; then the browser is sent on to the thank-you page
(POST-redirect-GET, so reloading it sends nothing twice).

Links that cannot show the form get a page that says why, with the status that says it to machines:
400 for a malformed or forged link, 404 for a survey that does not exist, 410 for an expired link,
409 for a survey whose answer can no longer be changed. The token is in the URL, so pages are never
cached, never indexed and never send it on as a Referer.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from helpdesk_feedback import tokens
from helpdesk_feedback.scores import validate_score
from helpdesk_feedback.survey_desk import SurveyDesk
from helpdesk_feedback.survey_links import SURVEY_PATH
from helpdesk_feedback.survey_pages import (
    ERRORS,
    SurveyForm,
    page_language,
    render_problem,
    render_survey,
    render_thanks,
)
from helpdesk_feedback.surveys import AnswerRefused, TicketSurvey

log = logging.getLogger(__name__)

router = APIRouter(prefix=SURVEY_PATH, tags=["survey pages"], include_in_schema=False)

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
PROBLEM_STATUS = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "unknown": status.HTTP_404_NOT_FOUND,
    "closed": status.HTTP_409_CONFLICT,
    "expired": status.HTTP_410_GONE,
}

AcceptLanguage = Annotated[str | None, Header()]


def _page(html: str, status_code: int = status.HTTP_200_OK) -> HTMLResponse:
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def _problem(problem: str, language: str) -> HTMLResponse:
    return _page(render_problem(problem, language=language), PROBLEM_STATUS[problem])


class _Opened:
    """What a survey link leads to: the claim, the ticket's survey, the page language; or a problem page."""

    def __init__(self, claim: tokens.SurveyClaim, ticket: TicketSurvey, language: str) -> None:
        self.claim, self.ticket, self.language = claim, ticket, language
        assert ticket.survey is not None
        self.survey = ticket.survey


async def _open(request: Request, token: str, accept_language: str | None) -> _Opened | HTMLResponse:
    desk: SurveyDesk = request.app.state.desk
    fallback = page_language(None, accept_language)
    try:
        claim = tokens.verify(request.app.state.token_secrets, token, now=desk.clock())
    except tokens.TokenExpired:
        return _problem("expired", fallback)
    except tokens.TokenError as error:
        log.info("survey link refused: %s", error)
        return _problem("invalid", fallback)
    ticket = await desk.survey_of(claim.ticket_id)
    if ticket is None or ticket.survey is None or ticket.survey.survey_id != claim.survey_id:
        return _problem("unknown", fallback)
    return _Opened(claim, ticket, page_language(ticket.language, accept_language))


def _form(opened: _Opened, token: str, **overrides: object) -> SurveyForm:
    latest = opened.survey.latest
    one_click = opened.claim.score
    one_click_ok = one_click is not None and _scale_has(opened, one_click)
    fields: dict[str, object] = {
        "kind": opened.survey.kind,
        "ticket_id": opened.ticket.ticket_id,
        "subject": opened.ticket.subject,
        "action_url": f"{SURVEY_PATH}/{token}",
        "language": opened.language,
        "chosen": one_click if one_click_ok else (latest.score if latest is not None else None),
        "comment": latest.comment if latest is not None else None,
        "changing": latest is not None,
        "one_click": bool(one_click_ok),
    }
    fields.update(overrides)
    return SurveyForm(**fields)  # type: ignore[arg-type]


@router.get("/{token}", response_class=HTMLResponse)
async def survey_page(request: Request, token: str, accept_language: AcceptLanguage = None) -> Response:
    opened = await _open(request, token, accept_language)
    if isinstance(opened, Response):
        return opened
    desk: SurveyDesk = request.app.state.desk
    closed = opened.survey.closed_reason(desk.clock(), desk.change_window)
    if closed is not None:
        return _problem(closed, opened.language)
    return _page(render_survey(_form(opened, token)))


@router.post("/{token}", response_class=HTMLResponse)
async def answer_survey(
    request: Request,
    token: str,
    score: Annotated[str | None, Form()] = None,
    comment: Annotated[str | None, Form()] = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    opened = await _open(request, token, accept_language)
    if isinstance(opened, Response):
        return opened
    desk: SurveyDesk = request.app.state.desk

    def refused(error: str) -> HTMLResponse:
        # The form again, with what the customer typed and why it was refused.
        chosen = _int_or_none(score)
        form = _form(opened, token, error=error, comment=comment, one_click=False,
                     chosen=chosen if chosen is not None and _scale_has(opened, chosen) else None)  # fmt: skip
        return _page(render_survey(form), status.HTTP_422_UNPROCESSABLE_CONTENT)

    if score is None or not score.strip():
        return refused("score_required")
    value = _int_or_none(score)
    if value is None:
        return refused("score_out_of_range")
    try:
        await desk.take_answer(opened.ticket.ticket_id, opened.survey.survey_id, value, comment)
    except AnswerRefused as error:
        if error.reason in ERRORS:
            return refused(error.reason)
        return _problem(error.reason if error.reason in PROBLEM_STATUS else "unknown", opened.language)
    return RedirectResponse(f"{SURVEY_PATH}/{token}/thanks", status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


@router.get("/{token}/thanks", response_class=HTMLResponse)
async def thanks_page(request: Request, token: str, accept_language: AcceptLanguage = None) -> Response:
    opened = await _open(request, token, accept_language)
    if isinstance(opened, Response):
        return opened
    latest = opened.survey.latest
    if latest is None:  # nothing answered yet: the form, not a thank-you for nothing
        return RedirectResponse(f"{SURVEY_PATH}/{token}", status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
    desk: SurveyDesk = request.app.state.desk
    open_until = opened.survey.open_until(desk.change_window)
    still_open = opened.survey.closed_reason(desk.clock(), desk.change_window) is None
    html = render_thanks(
        kind=opened.survey.kind, score=latest.score, language=opened.language,
        change_url=f"{SURVEY_PATH}/{token}" if still_open else None,
        change_until=open_until if still_open else None,
    )  # fmt: skip
    return _page(html)


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _scale_has(opened: _Opened, score: int) -> bool:
    try:
        validate_score(opened.survey.kind, score)
    except ValueError:
        return False
    return True
