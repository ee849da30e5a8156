"""The survey web pages a customer sees: the form, the thank-you page and the problem pages. Pure.

The routes decide *what* to show (which survey, which error, whether the answer may still change); this
module only turns that decision into HTML, so the same page comes out of a test and of the service.

The pages are server-rendered HTML with inline CSS and no JavaScript: a survey link opens in whatever the
customer's mail client hands it to, text browsers and screen readers included, and a page that needs no
external resource cannot leak the token in its URL to a font or script host. The scale is native radio
inputs (styled as buttons, but never ``display: none``, so they stay keyboard-usable).

Wording lives in ``CATALOG``, one dict per language with the same keys; the structure lives once, in the
Jinja2 templates under ``templates/pages/``. Templates are autoescaped, since the ticket subject and the
comment are typed by customers; catalog strings are escaped too and filled with ``Markup.format``, which
escapes every value it is given.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from helpdesk_events import SurveyKind
from helpdesk_feedback.scores import SCALES, validate_score
from helpdesk_feedback.surveys import COMMENT_MAX_LENGTH  # the textarea's maxlength says what answers refuse

LANGUAGES = ("en", "fr", "de")
DEFAULT_LANGUAGE = "en"

ERRORS = ("score_required", "score_out_of_range", "comment_too_long")
"""Why a POST was refused; each has a translated message (``error.<key>``)."""
SCORE_ERRORS = frozenset({"score_required", "score_out_of_range"})
PROBLEMS = ("invalid", "expired", "closed", "unknown")
"""Why no form can be shown: a tampered link, an expired link, an answer past its change window, no survey."""

_MAX_ACCEPT_LANGUAGE = 4096
"""Only this much of an Accept-Language header is read: a real one is a few dozen characters."""
_LANGUAGE_RANGE = re.compile(r"\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
_Q_VALUE = re.compile(r"0(?:\.\d{0,3})?|1(?:\.0{0,3})?")
_SAFE_URL_SCHEMES = frozenset({"", "http", "https"})

# ---- the wording ---------------------------------------------------------------------------------------
# Keys are the same in every language (a unit test checks it, placeholders included). Values are plain
# text: they are escaped when rendered, so "<" in a translation is shown, never parsed.

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "survey_name": "Customer survey",
        "title.error_prefix": "Error: ",
        "heading.survey": "Tell us how we did",
        "heading.change": "Change your answer",
        "heading.one_click": "Please confirm your rating",
        "ticket.with_subject": "About your request “{subject}” (ticket {ticket_id})",
        "ticket.without_subject": "About your request (ticket {ticket_id})",
        "question.csat": "How satisfied are you with the support you received?",
        "question.nps": "How likely are you to recommend us to a friend or colleague?",
        "question.ces": "How easy was it to get your issue resolved?",
        "point.csat.1": "Very dissatisfied",
        "point.csat.2": "Dissatisfied",
        "point.csat.3": "Neutral",
        "point.csat.4": "Satisfied",
        "point.csat.5": "Very satisfied",
        "point.nps.0": "Not at all likely",
        "point.nps.10": "Extremely likely",
        "point.ces.1": "Very easy",
        "point.ces.2": "Easy",
        "point.ces.3": "Fairly easy",
        "point.ces.4": "Neither easy nor difficult",
        "point.ces.5": "Fairly difficult",
        "point.ces.6": "Difficult",
        "point.ces.7": "Very difficult",
        "anchor": "{score} = {text}",
        "score_of": "{score} out of {high}",
        "answer_with_word": "{score_of} ({word})",
        "survey.current_answer": "Your current answer: {answer}. Choose a new score below and send it to "
        "replace it.",
        "survey.one_click": "You chose {answer}. Please confirm it with the button below; you can pick "
        "another score or add a comment first.",
        "survey.one_click_replaces": "This replaces your earlier answer.",
        "comment.label": "Anything you would like to add?",
        "comment.optional": "(optional)",
        "comment.hint": "Up to {max} characters.",
        "submit.survey": "Send my answer",
        "submit.change": "Update my answer",
        "submit.one_click": "Confirm my rating",
        "error.score_required": "Please choose a score before sending your answer.",
        "error.score_out_of_range": "That score is not on this survey’s scale. Please choose one of the "
        "scores shown.",
        "error.comment_too_long": "Your comment is too long. Please shorten it to {max} characters or fewer.",
        "thanks.title": "Thank you",
        "thanks.heading": "Thank you for your feedback!",
        "thanks.recorded": "We have recorded your answer: {answer}.",
        "thanks.change_until": "Changed your mind? You can change your answer until {when}.",
        "thanks.change_anytime": "Changed your mind? You can still change your answer.",
        "thanks.close": "You can close this page now.",
        "moment": "{day} {month} {year} at {time} UTC",
        "time": "{hour}:{minute}",
        "day.first": "1",
        "month.1": "January",
        "month.2": "February",
        "month.3": "March",
        "month.4": "April",
        "month.5": "May",
        "month.6": "June",
        "month.7": "July",
        "month.8": "August",
        "month.9": "September",
        "month.10": "October",
        "month.11": "November",
        "month.12": "December",
        "problem.invalid.heading": "This link does not work",
        "problem.invalid.body": "The survey link seems incomplete or damaged; perhaps part of it was lost "
        "when it was copied from the email.",
        "problem.invalid.action": "Please open the link again directly from the email we sent you. If it "
        "still does not work, simply reply to that email and we will help.",
        "problem.expired.heading": "This survey link has expired",
        "problem.expired.body": "Survey links are only valid for a limited time, and this one is no longer "
        "active.",
        "problem.expired.action": "If you would still like to tell us about your experience, simply reply "
        "to the email we sent you: we read every reply.",
        "problem.closed.heading": "Your answer can no longer be changed",
        "problem.closed.body": "We already have your answer about this request, and the time for changing "
        "it is over. Thank you for taking part.",
        "problem.closed.action": "If there is anything else you would like to tell us, reply to the survey "
        "email or contact our support team.",
        "problem.unknown.heading": "We could not find this survey",
        "problem.unknown.body": "This survey is not available: it may have been withdrawn, or the link may "
        "be incorrect.",
        "problem.unknown.action": "If you need help, or would like to share your feedback, reply to the "
        "email about your request or contact our support team.",
    },
    "fr": {
        "survey_name": "Enquête de satisfaction",
        "title.error_prefix": "Erreur\u00a0: ",
        "heading.survey": "Donnez-nous votre avis",
        "heading.change": "Modifier votre réponse",
        "heading.one_click": "Merci de confirmer votre note",
        "ticket.with_subject": "À propos de votre demande «\u00a0{subject}\u00a0» (ticket {ticket_id})",
        "ticket.without_subject": "À propos de votre demande (ticket {ticket_id})",
        "question.csat": "Dans quelle mesure êtes-vous satisfait de l’assistance reçue\u00a0?",
        "question.nps": "Quelle est la probabilité que vous nous recommandiez à un ami ou à un "
        "collègue\u00a0?",
        "question.ces": "Dans quelle mesure a-t-il été facile de faire résoudre votre problème\u00a0?",
        "point.csat.1": "Très insatisfait",
        "point.csat.2": "Insatisfait",
        "point.csat.3": "Neutre",
        "point.csat.4": "Satisfait",
        "point.csat.5": "Très satisfait",
        "point.nps.0": "Pas du tout probable",
        "point.nps.10": "Extrêmement probable",
        "point.ces.1": "Très facile",
        "point.ces.2": "Facile",
        "point.ces.3": "Plutôt facile",
        "point.ces.4": "Ni facile ni difficile",
        "point.ces.5": "Plutôt difficile",
        "point.ces.6": "Difficile",
        "point.ces.7": "Très difficile",
        "anchor": "{score} = {text}",
        "score_of": "{score} sur {high}",
        "answer_with_word": "{score_of} ({word})",
        "survey.current_answer": "Votre réponse actuelle\u00a0: {answer}. Choisissez une nouvelle note "
        "ci-dessous et envoyez-la pour la remplacer.",
        "survey.one_click": "Vous avez choisi {answer}. Merci de confirmer avec le bouton ci-dessous\u00a0; "
        "vous pouvez d’abord choisir une autre note ou ajouter un commentaire.",
        "survey.one_click_replaces": "Elle remplacera votre réponse précédente.",
        "comment.label": "Souhaitez-vous ajouter quelque chose\u00a0?",
        "comment.optional": "(facultatif)",
        "comment.hint": "{max} caractères au maximum.",
        "submit.survey": "Envoyer ma réponse",
        "submit.change": "Mettre à jour ma réponse",
        "submit.one_click": "Confirmer ma note",
        "error.score_required": "Veuillez choisir une note avant d’envoyer votre réponse.",
        "error.score_out_of_range": "Cette note ne fait pas partie de l’échelle de cette enquête. Veuillez "
        "choisir l’une des notes proposées.",
        "error.comment_too_long": "Votre commentaire est trop long. Veuillez le raccourcir à {max} "
        "caractères au maximum.",
        "thanks.title": "Merci",
        "thanks.heading": "Merci pour votre avis\u00a0!",
        "thanks.recorded": "Nous avons bien enregistré votre réponse\u00a0: {answer}.",
        "thanks.change_until": "Vous avez changé d’avis\u00a0? Vous pouvez modifier votre réponse "
        "jusqu’au {when}.",
        "thanks.change_anytime": "Vous avez changé d’avis\u00a0? Vous pouvez encore modifier votre réponse.",
        "thanks.close": "Vous pouvez maintenant fermer cette page.",
        "moment": "{day} {month} {year} à {time} UTC",
        "time": "{hour}\u00a0h\u00a0{minute}",
        "day.first": "1er",
        "month.1": "janvier",
        "month.2": "février",
        "month.3": "mars",
        "month.4": "avril",
        "month.5": "mai",
        "month.6": "juin",
        "month.7": "juillet",
        "month.8": "août",
        "month.9": "septembre",
        "month.10": "octobre",
        "month.11": "novembre",
        "month.12": "décembre",
        "problem.invalid.heading": "Ce lien ne fonctionne pas",
        "problem.invalid.body": "Le lien de l’enquête semble incomplet ou abîmé\u00a0: une partie s’est "
        "peut-être perdue lors de la copie depuis l’e-mail.",
        "problem.invalid.action": "Veuillez rouvrir le lien directement depuis l’e-mail que nous vous avons "
        "envoyé. S’il ne fonctionne toujours pas, répondez simplement à cet e-mail et nous vous aiderons.",
        "problem.expired.heading": "Ce lien d’enquête a expiré",
        "problem.expired.body": "Les liens d’enquête ne sont valables que pendant une durée limitée, et "
        "celui-ci n’est plus actif.",
        "problem.expired.action": "Si vous souhaitez tout de même nous parler de votre expérience, répondez "
        "simplement à l’e-mail que nous vous avons envoyé\u00a0: nous lisons toutes les réponses.",
        "problem.closed.heading": "Votre réponse ne peut plus être modifiée",
        "problem.closed.body": "Nous avons déjà votre réponse concernant cette demande, et le délai pour la "
        "modifier est écoulé. Merci de votre participation.",
        "problem.closed.action": "Si vous souhaitez nous dire autre chose, répondez à l’e-mail de l’enquête "
        "ou contactez notre équipe d’assistance.",
        "problem.unknown.heading": "Nous n’avons pas trouvé cette enquête",
        "problem.unknown.body": "Cette enquête n’est pas disponible\u00a0: elle a peut-être été retirée, ou "
        "le lien est incorrect.",
        "problem.unknown.action": "Si vous avez besoin d’aide ou souhaitez nous donner votre avis, répondez "
        "à l’e-mail concernant votre demande ou contactez notre équipe d’assistance.",
    },
    "de": {
        "survey_name": "Kundenumfrage",
        "title.error_prefix": "Fehler: ",
        "heading.survey": "Ihre Meinung ist uns wichtig",
        "heading.change": "Antwort ändern",
        "heading.one_click": "Bitte bestätigen Sie Ihre Bewertung",
        "ticket.with_subject": "Zu Ihrer Anfrage „{subject}“ (Ticket {ticket_id})",
        "ticket.without_subject": "Zu Ihrer Anfrage (Ticket {ticket_id})",
        "question.csat": "Wie zufrieden sind Sie mit der Unterstützung, die Sie erhalten haben?",
        "question.nps": "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen weiterempfehlen?",
        "question.ces": "Wie einfach war es für Sie, Ihr Anliegen lösen zu lassen?",
        "point.csat.1": "Sehr unzufrieden",
        "point.csat.2": "Unzufrieden",
        "point.csat.3": "Neutral",
        "point.csat.4": "Zufrieden",
        "point.csat.5": "Sehr zufrieden",
        "point.nps.0": "Überhaupt nicht wahrscheinlich",
        "point.nps.10": "Äußerst wahrscheinlich",
        "point.ces.1": "Sehr einfach",
        "point.ces.2": "Einfach",
        "point.ces.3": "Eher einfach",
        "point.ces.4": "Weder einfach noch schwierig",
        "point.ces.5": "Eher schwierig",
        "point.ces.6": "Schwierig",
        "point.ces.7": "Sehr schwierig",
        "anchor": "{score} = {text}",
        "score_of": "{score} von {high}",
        "answer_with_word": "{score_of} ({word})",
        "survey.current_answer": "Ihre aktuelle Antwort: {answer}. Wählen Sie unten eine neue Bewertung und "
        "senden Sie sie ab, um sie zu ersetzen.",
        "survey.one_click": "Sie haben {answer} gewählt. Bitte bestätigen Sie dies mit der Schaltfläche "
        "unten; vorher können Sie auch eine andere Bewertung wählen oder einen Kommentar hinzufügen.",
        "survey.one_click_replaces": "Diese ersetzt Ihre bisherige Antwort.",
        "comment.label": "Möchten Sie uns noch etwas mitteilen?",
        "comment.optional": "(optional)",
        "comment.hint": "Höchstens {max} Zeichen.",
        "submit.survey": "Antwort senden",
        "submit.change": "Antwort aktualisieren",
        "submit.one_click": "Bewertung bestätigen",
        "error.score_required": "Bitte wählen Sie eine Bewertung, bevor Sie Ihre Antwort senden.",
        "error.score_out_of_range": "Diese Bewertung gehört nicht zur Skala dieser Umfrage. Bitte wählen "
        "Sie eine der angezeigten Bewertungen.",
        "error.comment_too_long": "Ihr Kommentar ist zu lang. Bitte kürzen Sie ihn auf höchstens {max} "
        "Zeichen.",
        "thanks.title": "Vielen Dank",
        "thanks.heading": "Vielen Dank für Ihr Feedback!",
        "thanks.recorded": "Wir haben Ihre Antwort gespeichert: {answer}.",
        "thanks.change_until": "Haben Sie es sich anders überlegt? Sie können Ihre Antwort bis zum {when} "
        "ändern.",
        "thanks.change_anytime": "Haben Sie es sich anders überlegt? Sie können Ihre Antwort noch ändern.",
        "thanks.close": "Sie können diese Seite jetzt schließen.",
        "moment": "{day}. {month} {year}, {time} Uhr UTC",
        "time": "{hour}:{minute}",
        "day.first": "1",
        "month.1": "Januar",
        "month.2": "Februar",
        "month.3": "März",
        "month.4": "April",
        "month.5": "Mai",
        "month.6": "Juni",
        "month.7": "Juli",
        "month.8": "August",
        "month.9": "September",
        "month.10": "Oktober",
        "month.11": "November",
        "month.12": "Dezember",
        "problem.invalid.heading": "Dieser Link funktioniert nicht",
        "problem.invalid.body": "Der Link zur Umfrage scheint unvollständig oder beschädigt zu sein; "
        "vielleicht ist beim Kopieren aus der E-Mail ein Teil verloren gegangen.",
        "problem.invalid.action": "Bitte öffnen Sie den Link noch einmal direkt aus der E-Mail, die wir "
        "Ihnen geschickt haben. Funktioniert er weiterhin nicht, antworten Sie einfach auf diese E-Mail, "
        "und wir helfen Ihnen gern.",
        "problem.expired.heading": "Dieser Umfragelink ist abgelaufen",
        "problem.expired.body": "Umfragelinks sind nur für begrenzte Zeit gültig, und dieser ist nicht mehr "
        "aktiv.",
        "problem.expired.action": "Wenn Sie uns trotzdem von Ihren Erfahrungen berichten möchten, antworten "
        "Sie einfach auf die E-Mail, die wir Ihnen geschickt haben: Wir lesen jede Antwort.",
        "problem.closed.heading": "Ihre Antwort kann nicht mehr geändert werden",
        "problem.closed.body": "Wir haben Ihre Antwort zu dieser Anfrage bereits erhalten, und die Frist für "
        "Änderungen ist abgelaufen. Vielen Dank für Ihre Teilnahme.",
        "problem.closed.action": "Wenn Sie uns noch etwas mitteilen möchten, antworten Sie auf die "
        "Umfrage-E-Mail oder wenden Sie sich an unser Support-Team.",
        "problem.unknown.heading": "Wir konnten diese Umfrage nicht finden",
        "problem.unknown.body": "Diese Umfrage ist nicht verfügbar: Möglicherweise wurde sie zurückgezogen, "
        "oder der Link ist nicht korrekt.",
        "problem.unknown.action": "Wenn Sie Hilfe benötigen oder uns Feedback geben möchten, antworten Sie "
        "auf die E-Mail zu Ihrer Anfrage oder wenden Sie sich an unser Support-Team.",
    },
}


# ---- choosing the language -----------------------------------------------------------------------------


def _supported(tag: str) -> str | None:
    """Our language for a BCP 47 tag ('fr-CA' -> 'fr'), by its primary subtag; None when we lack it."""
    primary = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def _accepted(accept_language: str) -> list[tuple[str, float]]:
    """The header's language ranges with their q-values, most wanted first (ties keep header order).

    Malformed entries are skipped rather than failing the page: browsers, proxies and bots send odd headers,
    and the worst a bad entry should cost is falling back to the next one.
    """
    ranges: list[tuple[str, float]] = []
    for entry in accept_language[:_MAX_ACCEPT_LANGUAGE].split(","):
        tag, *parameters = (part.strip() for part in entry.split(";"))
        tag = tag.lower()
        if not _LANGUAGE_RANGE.fullmatch(tag):
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _Q_VALUE.fullmatch(value) else -1.0
        if quality >= 0:
            ranges.append((tag, quality))
    return sorted(ranges, key=lambda item: -item[1])  # sorted() is stable: equal q-values keep header order


def page_language(preferred: str | None, accept_language: str | None) -> str:
    """'en' | 'fr' | 'de': the survey's language (BCP 47 like 'fr-CA') if we have it, else the best of the
    Accept-Language header (q-values honoured), else 'en'.

    ``q=0`` means "not this one" (RFC 9110), so such a range never matches; ``*`` stands for any language
    the header does not name, so it picks the first of ours not named.
    """
    if preferred and (language := _supported(preferred)):
        return language
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranges = _accepted(accept_language)
    named = {_supported(tag) for tag, _ in ranges if tag != "*"}
    for tag, quality in ranges:
        if quality == 0:
            break  # sorted: every range from here on is refused
        if tag == "*":
            spare = [language for language in LANGUAGES if language not in named]
            if spare:
                return spare[0]
        elif language := _supported(tag):
            return language
    return DEFAULT_LANGUAGE


# ---- the pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyForm:
    """What the survey form shows; the routes build it from the token, the survey and a refused POST.

    ``chosen`` is pre-selected: the one-click link's score, or the current answer's when changing. With
    ``changing`` alone (and no ``error``) the page shows ``chosen`` as the current answer; with ``one_click`` it asks to confirm
    ``chosen`` (and, when also ``changing``, says it replaces the earlier answer). Values are checked here, so
    a bug upstream fails loudly instead of showing a customer a form that cannot be answered.
    """

    kind: SurveyKind
    ticket_id: str
    subject: str | None
    action_url: str
    language: str
    chosen: int | None = None
    comment: str | None = None
    changing: bool = False
    error: str | None = None
    one_click: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SurveyKind(self.kind))
        _check_language(self.language)
        _check_url("action_url", self.action_url)
        if self.chosen is not None:
            validate_score(self.kind, self.chosen)
        if self.error is not None and self.error not in ERRORS:
            raise ValueError(f"unknown survey form error {self.error!r}; expected one of {ERRORS}")
        if self.one_click and self.chosen is None:
            raise ValueError("a one-click survey page needs the chosen score to confirm")


def render_survey(form: SurveyForm) -> str:
    """The survey form: one radio per score, an optional comment and one submit button."""
    t = _translator(form.language)
    kind = form.kind
    low, high = SCALES[kind]
    if form.one_click:
        heading, submit = t("heading.one_click"), t("submit.one_click")
    elif form.changing:
        heading, submit = t("heading.change"), t("submit.change")
    else:
        heading, submit = t("heading.survey"), t("submit.survey")
    if form.changing and form.one_click:
        heading = t("heading.change")
    score_invalid = form.error in SCORE_ERRORS
    comment_invalid = form.error == "comment_too_long"
    context = {
        "title": _title(t, heading, error=form.error is not None),
        "heading": heading,
        "context_line": (
            t("ticket.with_subject", subject=form.subject.strip(), ticket_id=form.ticket_id)
            if form.subject and form.subject.strip()
            else t("ticket.without_subject", ticket_id=form.ticket_id)
        ),
        "current_answer": (
            _answer_text(t, kind, form.chosen)
            # After a refused POST, chosen is what was just sent, not what is stored: say nothing then.
            if form.changing and not form.one_click and form.error is None and form.chosen is not None
            else None
        ),
        "confirm_answer": (
            _answer_text(t, kind, form.chosen) if form.one_click and form.chosen is not None else None
        ),
        "replaces": form.one_click and form.changing,
        "action_url": form.action_url,
        "error_message": t(f"error.{form.error}", max=COMMENT_MAX_LENGTH) if form.error else None,
        "score_invalid": score_invalid,
        "comment_invalid": comment_invalid,
        "scale_describedby": " ".join(["scale-anchors", *(["form-error"] if score_invalid else [])]),
        "comment_describedby": " ".join(["comment-hint", *(["form-error"] if comment_invalid else [])]),
        "question": t(f"question.{kind.value}"),
        "anchors": [t("anchor", score=score, text=_point(t, kind, score)) for score in (low, high)],
        "options": [
            {"value": score, "word": _point(t, kind, score), "checked": score == form.chosen}
            for score in range(low, high + 1)
        ],
        "kind": kind.value,
        "comment": form.comment or "",
        "comment_max": COMMENT_MAX_LENGTH,
        "submit": submit,
    }
    return _render("survey", form.language, t, context)


def render_thanks(
    *,
    kind: SurveyKind,
    score: int,
    language: str,
    change_url: str | None,
    change_until: datetime | None,
) -> str:
    """The thank-you page, with a "Change your answer" link while changing is allowed.

    The caller decides whether it still is (this module knows no clock): pass ``change_url=None`` once the
    window is over. ``change_until`` (timezone-aware) is shown in UTC, since the customer's zone is unknown.
    """
    kind = SurveyKind(kind)
    validate_score(kind, score)
    _check_language(language)
    if change_url is not None:
        _check_url("change_url", change_url)
    if change_until is not None and (change_until.tzinfo is None or change_until.utcoffset() is None):
        raise ValueError(f"change_until must be timezone-aware, got {change_until!r}")
    t = _translator(language)
    context = {
        "title": _title(t, t("thanks.title")),
        "answer": _answer_text(t, kind, score),
        "change_url": change_url,
        "change_until": _moment(t, change_until) if change_until is not None else None,
    }
    return _render("thanks", language, t, context)


def render_problem(problem: str, *, language: str) -> str:
    """A friendly page for a survey link that cannot show the form, saying what the customer can do."""
    if problem not in PROBLEMS:
        raise ValueError(f"unknown survey problem {problem!r}; expected one of {PROBLEMS}")
    _check_language(language)
    t = _translator(language)
    heading = t(f"problem.{problem}.heading")
    context = {
        "title": _title(t, heading),
        "heading": heading,
        "body": t(f"problem.{problem}.body"),
        "action": t(f"problem.{problem}.action"),
        "problem": problem,
    }
    return _render("problem", language, t, context)


# ---- helpers -------------------------------------------------------------------------------------------


class _Translator:
    """``t(key, **values)``: a catalog string as escaped Markup, its placeholders filled with escaped values."""

    def __init__(self, language: str) -> None:
        self._strings = CATALOG[language]

    def __call__(self, key: str, /, **values: Any) -> Markup:
        return escape(self._strings[key]).format(**values)

    def has(self, key: str) -> bool:
        return key in self._strings


def _translator(language: str) -> _Translator:
    return _Translator(language)


def placeholders(text: str) -> frozenset[str]:
    """The ``{name}`` placeholders of a catalog string (translations must keep the same ones)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(
            f"unknown page language {language!r}; expected one of {LANGUAGES} (see page_language)"
        )


def _check_url(name: str, url: str) -> None:
    # Our own routes build these, but they land in an action or href: never let a javascript: URL through.
    if not isinstance(url, str) or not url or urlsplit(url).scheme.lower() not in _SAFE_URL_SCHEMES:
        raise ValueError(f"{name} must be a relative path or an http(s) URL, got {url!r}")


def _point(t: _Translator, kind: SurveyKind, score: int) -> Markup | None:
    """The words for one point of a scale ("Satisfied"), or None: NPS names only its two ends."""
    key = f"point.{kind.value}.{score}"
    return t(key) if t.has(key) else None


def _answer_text(t: _Translator, kind: SurveyKind, score: int) -> Markup:
    """An answer as a customer reads it: "4 out of 5 (Satisfied)", "8 out of 10"."""
    score_of = t("score_of", score=score, high=SCALES[kind][1])
    word = _point(t, kind, score)
    return t("answer_with_word", score_of=score_of, word=word) if word else score_of


def _title(t: _Translator, heading: Markup, *, error: bool = False) -> Markup:
    # An error prefix in the title is the first thing a screen reader says after the POST reloads the page.
    prefix = t("title.error_prefix") if error else Markup("")
    return prefix + heading + Markup(" – ") + t("survey_name")


def _moment(t: _Translator, moment: datetime) -> Markup:
    """A deadline in words, in UTC, wrapped in <time> so the machine-readable instant stays exact."""
    utc = moment.astimezone(UTC)
    text = t(
        "moment",
        day=t("day.first") if utc.day == 1 else utc.day,
        month=t(f"month.{utc.month}"),
        year=utc.year,
        time=t("time", hour=utc.hour, minute=f"{utc.minute:02d}"),
    )
    return Markup('<time datetime="{}">{}</time>').format(utc.isoformat().replace("+00:00", "Z"), text)


@cache
def _environment() -> Environment:
    # Built on first use rather than at import: the loader reads the package's files.
    return Environment(
        loader=PackageLoader("helpdesk_feedback", "templates"),
        autoescape=True,  # every template here is HTML, and subjects and comments are typed by customers
        undefined=StrictUndefined,  # a misspelt variable fails the tests, not silently a customer's page
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(page: str, language: str, t: _Translator, context: dict[str, Any]) -> str:
    template = _environment().get_template(f"pages/{page}.html.j2")
    return template.render(language=language, t=t, **context)
