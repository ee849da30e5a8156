"""Survey pages: structure a browser test relies on, accessibility hooks, escaping, languages, negotiation.

The pages are parsed with the standard library's html.parser into a small tree, so the assertions are about
elements and attributes, not about how the HTML happens to be laid out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_events import SurveyKind
from helpdesk_feedback.scores import SCALES
from helpdesk_feedback.survey_pages import (
    CATALOG,
    COMMENT_MAX_LENGTH,
    ERRORS,
    LANGUAGES,
    PROBLEMS,
    SurveyForm,
    page_language,
    placeholders,
    render_problem,
    render_survey,
    render_thanks,
)

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
RADIOS = {SurveyKind.CSAT: 5, SurveyKind.NPS: 11, SurveyKind.CES: 7}
UNTIL = datetime(2024, 5, 8, 14, 30, tzinfo=UTC)


# ---- a tiny DOM ----------------------------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [child if isinstance(child, str) else child.text() for child in self.children]
        return re.sub(r"[ \t\n\r\f]+", " ", "".join(parts)).strip(" ")

    def raw_text(self) -> str:
        return "".join(child if isinstance(child, str) else child.raw_text() for child in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            element
            for element in self.iter()
            if (tag is None or element.tag == tag)
            and all(
                element.attrs.get(name.rstrip("_").replace("_", "-")) == value
                for name, value in attrs.items()
            )
        ]

    def by_id(self, element_id: str) -> Element:
        found = self.find_all(id=element_id)
        assert len(found) == 1, f"expected one element with id {element_id!r}, found {len(found)}"
        return found[0]

    def has(self, name: str) -> bool:
        return name in self.attrs

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), parent=self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        assert self.current.parent is not None
        self.current = self.current.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


@dataclass
class Page:
    html: str
    root: Element
    doctype: str | None

    def __getattr__(self, name: str):
        return getattr(self.root, name)


def parse(html: str) -> Page:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.current is builder.root, f"<{builder.current.tag}> is never closed"
    return Page(html, builder.root, builder.doctype)


def textarea_value(element: Element) -> str:
    # Browsers drop one newline right after <textarea>; html.parser keeps it.
    value = element.raw_text()
    return value.removeprefix("\n")


# ---- building pages ------------------------------------------------------------------------------------


def form(**overrides: object) -> SurveyForm:
    fields: dict[str, object] = {
        "kind": SurveyKind.CSAT,
        "ticket_id": "T-1042",
        "subject": "Cannot log in",
        "action_url": "/v1/surveys/answer?token=abc.def",
        "language": "en",
    }
    fields.update(overrides)
    return SurveyForm(**fields)  # type: ignore[arg-type]


def survey(**overrides: object) -> Page:
    return parse(render_survey(form(**overrides)))


def thanks(**overrides: object) -> Page:
    fields: dict[str, object] = {
        "kind": SurveyKind.CSAT,
        "score": 4,
        "language": "en",
        "change_url": "/v1/surveys/change?token=abc.def",
        "change_until": UNTIL,
    }
    fields.update(overrides)
    return parse(render_thanks(**fields))  # type: ignore[arg-type]


def all_pages() -> list[tuple[str, Page]]:
    pages = [
        (f"survey-{kind}-{language}", survey(kind=kind, language=language))
        for kind in SurveyKind
        for language in LANGUAGES
    ]
    pages += [(f"thanks-{language}", thanks(language=language)) for language in LANGUAGES]
    pages += [
        (f"problem-{problem}-{language}", parse(render_problem(problem, language=language)))
        for problem in PROBLEMS
        for language in LANGUAGES
    ]
    pages.append(("survey-error", survey(error="score_required", chosen=None)))
    pages.append(("survey-one-click-change", survey(one_click=True, changing=True, chosen=2)))
    return pages


PAGES = all_pages()


# ---- every page ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "page"), PAGES, ids=[name for name, _ in PAGES])
def test_every_page_is_a_self_contained_html_document(name: str, page: Page) -> None:
    assert page.html.startswith("<!doctype html>")
    assert page.doctype is not None and page.doctype.lower() == "doctype html"
    (html,) = page.find_all("html")
    assert html.attrs["lang"] in LANGUAGES
    assert page.find_all("meta", charset="utf-8")
    assert page.find_all("meta", name="viewport", content="width=device-width, initial-scale=1")
    (title,) = page.find_all("title")
    assert title.text()
    # No JavaScript and nothing fetched from elsewhere: no scripts, handlers, stylesheets, images or fonts.
    assert not page.find_all("script") and not page.find_all("link") and not page.find_all("img")
    for element in page.iter():
        assert not [attr for attr in element.attrs if attr.startswith("on")], element.tag
    (style,) = page.find_all("style")
    assert "url(" not in style.text() and "@import" not in style.text()


@pytest.mark.parametrize(("name", "page"), PAGES, ids=[name for name, _ in PAGES])
def test_ids_are_unique_and_aria_references_resolve(name: str, page: Page) -> None:
    ids = [element.attrs["id"] for element in page.iter() if element.has("id")]
    assert len(ids) == len(set(ids))
    for element in page.iter():
        for attr in ("aria-describedby", "aria-labelledby"):
            for ref in (element.attrs.get(attr) or "").split():
                assert ref in ids, f"{element.tag} {attr} names missing id {ref!r}"
        if element.tag == "label" and element.has("for"):
            assert element.attrs["for"] in ids


def test_the_page_language_is_in_the_lang_attribute() -> None:
    for language in LANGUAGES:
        assert survey(language=language).find_all("html")[0].attrs["lang"] == language
        assert thanks(language=language).find_all("html")[0].attrs["lang"] == language
        assert (
            parse(render_problem("expired", language=language)).find_all("html")[0].attrs["lang"] == language
        )


def test_radios_stay_focusable_rather_than_hidden_from_everyone() -> None:
    style = survey().find_all("style")[0].text().replace(" ", "")
    assert "display:none" not in style and "visibility:hidden" not in style
    assert ":focus-visible" in style and "outline:3px" in style
    assert "min-height:2.75rem" in style  # 44 px tap targets


# ---- the survey form -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(SurveyKind))
def test_one_labelled_radio_per_score_of_the_kind(kind: SurveyKind, language: str) -> None:
    page = survey(kind=kind, language=language)
    radios = page.find_all("input", type="radio")
    low, high = SCALES[kind]
    assert len(radios) == RADIOS[kind]
    assert [radio.attrs["value"] for radio in radios] == [str(score) for score in range(low, high + 1)]
    (fieldset,) = page.find_all("fieldset")
    for radio in radios:
        assert radio.attrs["name"] == "score"
        assert fieldset in radio.ancestors()
        labels = page.find_all("label", for_=radio.attrs["id"])
        assert len(labels) == 1, radio.attrs
        assert labels[0].text().startswith(radio.attrs["value"])
    assert not [radio for radio in radios if radio.has("checked")]  # nothing chosen unless asked


def test_the_form_posts_to_the_action_url_with_one_submit_button() -> None:
    page = survey(action_url='/v1/surveys/answer?token=a"b&lang=fr')
    (survey_form,) = page.find_all("form")
    assert survey_form.attrs["id"] == "survey"
    assert survey_form.attrs["method"] == "post"
    assert survey_form.attrs["action"] == '/v1/surveys/answer?token=a"b&lang=fr'
    buttons = page.find_all("button")
    assert len(buttons) == 1 and buttons[0].attrs["id"] == "submit" and buttons[0].attrs["type"] == "submit"
    assert survey_form in buttons[0].ancestors()
    assert buttons[0].text() == "Send my answer"


@pytest.mark.parametrize(
    ("kind", "question", "anchors"),
    [
        (SurveyKind.CSAT, "How satisfied", ["1 = Very dissatisfied", "5 = Very satisfied"]),
        (SurveyKind.NPS, "How likely", ["0 = Not at all likely", "10 = Extremely likely"]),
        (SurveyKind.CES, "How easy", ["1 = Very easy", "7 = Very difficult"]),
    ],
)
def test_the_legend_asks_the_question_and_the_anchors_describe_the_scale(
    kind: SurveyKind, question: str, anchors: list[str]
) -> None:
    page = survey(kind=kind)
    (fieldset,) = page.find_all("fieldset")
    (legend,) = fieldset.find_all("legend")
    assert legend.text().startswith(question)
    hint = page.by_id("scale-anchors")
    assert [span.text() for span in hint.find_all("span")] == anchors
    assert "scale-anchors" in fieldset.attrs["aria-describedby"].split()
    assert fieldset in hint.ancestors()


def test_ces_reads_high_as_more_effort() -> None:
    page = survey(kind=SurveyKind.CES)
    labels = {label.attrs["for"]: label.text() for label in page.find_all("label") if label.has("for")}
    assert labels["score-1"] == "1 Very easy"
    assert labels["score-7"] == "7 Very difficult"


@pytest.mark.parametrize(("kind", "chosen"), [(SurveyKind.CSAT, 4), (SurveyKind.NPS, 0), (SurveyKind.CES, 7)])
def test_the_chosen_score_is_checked(kind: SurveyKind, chosen: int) -> None:
    page = survey(kind=kind, chosen=chosen)
    checked = [radio.attrs["value"] for radio in page.find_all("input", type="radio") if radio.has("checked")]
    assert checked == [str(chosen)]


def test_a_chosen_score_off_the_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="CSAT"):
        form(chosen=9)
    with pytest.raises(ValueError):
        form(kind=SurveyKind.NPS, chosen=11)


def test_the_comment_textarea_is_labelled_bounded_and_prefilled() -> None:
    page = survey(comment="\nFirst line kept\nsecond")
    (textarea,) = page.find_all("textarea")
    assert textarea.attrs["name"] == "comment" and textarea.attrs["id"] == "comment"
    assert textarea.attrs["maxlength"] == str(COMMENT_MAX_LENGTH) == "2000"
    assert len(page.find_all("label", for_="comment")) == 1
    assert textarea_value(textarea) == "\nFirst line kept\nsecond"
    assert textarea_value(survey().find_all("textarea")[0]) == ""


def test_customer_text_is_escaped() -> None:
    subject = '<script>alert("subject")</script>'
    comment = "</textarea><script>alert('comment')</script>"
    page = survey(subject=subject, comment=comment)
    assert "<script" not in page.html
    assert not page.find_all("script")
    assert subject in page.find_all("p", class_="context")[0].text()
    assert textarea_value(page.find_all("textarea")[0]) == comment


def test_a_missing_or_blank_subject_leaves_it_out() -> None:
    for subject in (None, "   "):
        context = survey(subject=subject).find_all("p", class_="context")[0].text()
        assert context == "About your request (ticket T-1042)"


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", ""])
def test_urls_that_could_run_script_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        form(action_url=url)
    with pytest.raises(ValueError):
        render_thanks(kind=SurveyKind.CSAT, score=5, language="en", change_url=url, change_until=None)


def test_no_error_means_no_alert_and_nothing_invalid() -> None:
    page = survey()
    assert not page.find_all(role="alert")
    assert not [element for element in page.iter() if element.has("aria-invalid")]
    assert not page.find_all("title")[0].text().startswith("Error")


@pytest.mark.parametrize("error", ["score_required", "score_out_of_range"])
def test_a_score_error_is_announced_and_marks_the_scale_invalid(error: str) -> None:
    page = survey(error=error)
    (survey_form,) = page.find_all("form")
    alerts = page.find_all(role="alert")
    assert len(alerts) == 1
    assert (
        survey_form.children and next(c for c in survey_form.children if isinstance(c, Element)) is alerts[0]
    )
    assert alerts[0].text() == CATALOG["en"][f"error.{error}"]
    (fieldset,) = page.find_all("fieldset")
    assert fieldset.attrs["aria-invalid"] == "true"
    assert alerts[0].attrs["id"] in fieldset.attrs["aria-describedby"].split()
    assert all(radio.attrs.get("aria-invalid") == "true" for radio in page.find_all("input", type="radio"))
    assert not page.find_all("textarea")[0].has("aria-invalid")
    assert page.find_all("title")[0].text().startswith("Error: ")


def test_a_comment_error_marks_the_comment_invalid_and_keeps_the_text() -> None:
    long_comment = "x" * (COMMENT_MAX_LENGTH + 1)
    page = survey(error="comment_too_long", chosen=3, comment=long_comment)
    (alert,) = page.find_all(role="alert")
    assert alert.text() == "Your comment is too long. Please shorten it to 2000 characters or fewer."
    (textarea,) = page.find_all("textarea")
    assert textarea.attrs["aria-invalid"] == "true"
    assert "form-error" in textarea.attrs["aria-describedby"].split()
    assert textarea_value(textarea) == long_comment
    assert not page.find_all("fieldset")[0].has("aria-invalid")
    assert [radio.attrs["value"] for radio in page.find_all("input") if radio.has("checked")] == ["3"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("error", ERRORS)
def test_every_error_has_a_message_in_every_language(error: str, language: str) -> None:
    (alert,) = survey(error=error, language=language).find_all(role="alert")
    assert alert.text() and "{" not in alert.text()


def test_an_unknown_error_key_is_refused() -> None:
    with pytest.raises(ValueError, match="error"):
        form(error="Score is required")


def test_changing_an_answer_says_so_and_shows_the_current_answer() -> None:
    page = survey(changing=True, chosen=4, comment="Quick and friendly")
    assert page.by_id("heading").text() == "Change your answer"
    assert page.find_all("title")[0].text().startswith("Change your answer")
    assert page.by_id("current-answer").text().startswith("Your current answer: 4 out of 5 (Satisfied).")
    assert page.by_id("submit").text() == "Update my answer"
    assert textarea_value(page.by_id("comment")) == "Quick and friendly"


def test_after_a_refused_change_the_resent_score_is_not_called_the_current_answer() -> None:
    page = survey(changing=True, chosen=2, error="comment_too_long", comment="x" * 2001)
    assert page.by_id("heading").text() == "Change your answer"
    assert not page.find_all(id="current-answer")
    assert [r.attrs["value"] for r in page.find_all("input", type="radio") if r.has("checked")] == ["2"]


def test_a_one_click_link_asks_to_confirm_the_chosen_score() -> None:
    page = survey(kind=SurveyKind.NPS, one_click=True, chosen=9)
    assert page.by_id("heading").text() == "Please confirm your rating"
    assert page.by_id("confirm").text().startswith("You chose 9 out of 10.")
    assert page.by_id("submit").text() == "Confirm my rating"
    assert [r.attrs["value"] for r in page.find_all("input", type="radio") if r.has("checked")] == ["9"]
    assert not page.find_all(id="current-answer")


def test_a_one_click_link_on_an_answered_survey_says_it_replaces_the_answer() -> None:
    page = survey(one_click=True, changing=True, chosen=2)
    assert page.by_id("heading").text() == "Change your answer"
    assert page.by_id("confirm").text().endswith("This replaces your earlier answer.")


def test_a_one_click_page_needs_a_score() -> None:
    with pytest.raises(ValueError, match="one-click"):
        form(one_click=True)


# ---- languages -----------------------------------------------------------------------------------------


def test_every_catalog_has_the_same_keys_and_placeholders() -> None:
    english = CATALOG["en"]
    assert set(CATALOG) == set(LANGUAGES)
    for language, strings in CATALOG.items():
        assert set(strings) == set(english), language
        for key, text in strings.items():
            assert text.strip(), (language, key)
            assert placeholders(text) == placeholders(english[key]), (language, key)


def test_every_kind_has_its_question_and_scale_ends_in_the_catalog() -> None:
    for kind, (low, high) in SCALES.items():
        assert f"question.{kind.value}" in CATALOG["en"]
        assert {f"point.{kind.value}.{low}", f"point.{kind.value}.{high}"} <= set(CATALOG["en"])


def _visible_texts(page: Page) -> list[str]:
    ids = ("heading", "question", "scale-anchors", "submit")
    return [page.by_id(element_id).text() for element_id in ids] + [page.find_all("title")[0].text()]


@pytest.mark.parametrize("kind", list(SurveyKind))
def test_each_language_renders_its_own_texts(kind: SurveyKind) -> None:
    texts = {language: _visible_texts(survey(kind=kind, language=language)) for language in LANGUAGES}
    for one, other in [("en", "fr"), ("en", "de"), ("fr", "de")]:
        for mine, theirs in zip(texts[one], texts[other], strict=True):
            assert mine != theirs, (one, other, mine)
    assert survey(language="fr").by_id("submit").text() == "Envoyer ma réponse"
    assert survey(language="de").by_id("submit").text() == "Antwort senden"


@pytest.mark.parametrize(
    ("preferred", "header", "expected"),
    [
        ("fr", None, "fr"),
        ("fr-CA", "de", "fr"),
        ("DE_at", None, "de"),
        ("pt-BR", "de-CH,de;q=0.9,en;q=0.8", "de"),
        (None, "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"),
        (None, "de;q=0.5, fr;q=0.8", "fr"),
        (None, "es, it;q=0.9, de;q=0.1", "de"),
        (None, "en;q=0.1, fr;q=0.1", "en"),  # a tie keeps the header's order
        (None, "fr;q=0, de;q=0.2", "de"),  # q=0 means "not French"
        (None, "fr;q=0", "en"),
        (None, "es, *;q=0.1", "en"),
        (None, "en;q=0, *", "fr"),  # any language but English
        (None, "fr;q=banana, de;q=0.5", "de"),  # a malformed q-value drops its entry, not the header
        (None, "fr;q=1.5, de", "de"),
        (None, "<script>, de", "de"),
        (None, "", "en"),
        (None, None, "en"),
        ("", "es", "en"),
        ("zz", "zz-ZZ", "en"),
    ],
)
def test_page_language(preferred: str | None, header: str | None, expected: str) -> None:
    assert page_language(preferred, header) == expected


@given(st.one_of(st.none(), st.text(max_size=40)), st.one_of(st.none(), st.text(max_size=200)))
def test_page_language_always_answers_one_of_ours(preferred: str | None, header: str | None) -> None:
    assert page_language(preferred, header) in LANGUAGES


def test_an_unknown_page_language_is_refused() -> None:
    with pytest.raises(ValueError, match="page_language"):
        form(language="fr-CA")
    with pytest.raises(ValueError):
        render_problem("expired", language="es")


# ---- thanks ---------------------------------------------------------------------------------------------


def test_thanks_shows_the_answer_and_the_change_link_with_its_deadline() -> None:
    page = thanks(kind=SurveyKind.CES, score=2)
    assert page.by_id("thanks").tag == "h1"
    assert page.by_id("recorded").text() == "We have recorded your answer: 2 out of 7 (Easy)."
    link = page.by_id("change")
    assert link.tag == "a" and link.attrs["href"] == "/v1/surveys/change?token=abc.def"
    assert link.text() == "Change your answer"
    (moment,) = page.find_all("time")
    assert moment.attrs["datetime"] == "2024-05-08T14:30:00Z"
    assert page.by_id("change-window").text() == (
        "Changed your mind? You can change your answer until 8 May 2024 at 14:30 UTC."
    )


def test_thanks_shows_the_deadline_in_utc_and_in_the_page_language() -> None:
    paris = timezone(timedelta(hours=2))
    until = datetime(2024, 6, 1, 11, 5, tzinfo=paris)
    fr = thanks(language="fr", change_until=until)
    assert fr.find_all("time")[0].attrs["datetime"] == "2024-06-01T09:05:00Z"
    assert fr.find_all("time")[0].text() == "1er juin 2024 à 9\u00a0h\u00a005 UTC"
    de = thanks(language="de", change_until=until)
    assert de.find_all("time")[0].text() == "1. Juni 2024, 9:05 Uhr UTC"


def test_thanks_without_a_deadline_still_offers_the_change() -> None:
    page = thanks(change_until=None)
    assert page.by_id("change")
    assert not page.find_all("time")


def test_thanks_without_a_change_url_offers_no_change() -> None:
    page = thanks(change_url=None)
    assert not page.find_all("a")
    assert not page.find_all(id="change-window")
    assert "change" not in page.by_id("recorded").text().lower()


def test_thanks_refuses_a_naive_deadline_and_a_score_off_the_scale() -> None:
    with pytest.raises(ValueError, match="timezone"):
        thanks(change_until=datetime(2024, 5, 8, 14, 30))
    with pytest.raises(ValueError):
        thanks(kind=SurveyKind.CSAT, score=0)


@pytest.mark.parametrize("language", LANGUAGES)
def test_thanks_in_every_language(language: str) -> None:
    page = thanks(kind=SurveyKind.NPS, score=10, language=language)
    assert page.by_id("thanks").text() == CATALOG[language]["thanks.heading"]
    assert CATALOG[language]["point.nps.10"] in page.by_id("recorded").text()


# ---- problems -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("problem", PROBLEMS)
def test_every_problem_page_in_every_language(problem: str, language: str) -> None:
    page = parse(render_problem(problem, language=language))
    heading = page.by_id("problem")
    assert heading.tag == "h1"
    assert heading.text() == CATALOG[language][f"problem.{problem}.heading"]
    assert page.find_all("title")[0].text().startswith(heading.text())
    body = " ".join(p.text() for p in page.find_all("p"))
    assert CATALOG[language][f"problem.{problem}.action"] in body
    assert not page.find_all("form")


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_problem_says_something_different(language: str) -> None:
    headings = {parse(render_problem(p, language=language)).by_id("problem").text() for p in PROBLEMS}
    assert len(headings) == len(PROBLEMS)


def test_problem_pages_tell_the_customer_what_to_do_without_technical_detail() -> None:
    for problem in PROBLEMS:
        text = parse(render_problem(problem, language="en")).find_all("main")[0].text().lower()
        assert "reply" in text
        for jargon in ("token", "signature", "hmac", "404", "410", "error"):
            assert jargon not in text, (problem, jargon)


def test_an_unknown_problem_is_refused() -> None:
    with pytest.raises(ValueError, match="problem"):
        render_problem("gone", language="en")
