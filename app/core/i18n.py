"""Fixed texts for e-mails and public pages, in Swedish and English.

Employees read these on a phone, so the texts are short and plain (klarspråk). Swedish is the
default: an unknown language falls back to it rather than failing a send.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_LANGUAGE = "sv"


class Text(str):
    """A message in Swedish that carries its English too: str(text) is the Swedish one.

    For API errors, which answer in the caller's language (see `in_language`)."""

    en: str

    def __new__(cls, sv: str, en: str) -> Text:
        text = super().__new__(cls, sv)
        text.en = en
        return text


def in_language(text: object, language: str) -> str:
    """`text` in the language: a Text's English when asked for "en", else the text itself."""
    if isinstance(text, Text) and language == "en":
        return text.en
    return str(text)


_TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "greeting": "Hej {name}!",
        "greeting_neutral": "Hej!",
        "intro_lesson": "Här kommer en ny kort lektion. Det tar bara ett par minuter.",
        "intro_review": "I dag repeterar vi något från en tidigare lektion.",
        "review_only_heading": "Dags att repetera",
        "key_point": "Det viktigaste",
        "what_you_do": "Så gör du",
        "read_more": "Läs mer",
        "sources": "Källor",
        "question_heading": "Testa dig själv",
        "review_heading": "Minns du?",
        "review_from": "En repetition från lektionen ”{title}”.",
        "read_original": "Läs lektionen igen",
        "choose_answer": "Tryck på det svar du tror är rätt. Du bekräftar svaret på nästa sida.",
        "choose_answer_text": "Öppna länken under det svar du tror är rätt.",
        "view_in_browser": "Läs lektionen i webbläsaren",
        "help_label": "Stöd och hjälp",
        "why_you_get_this": "Du får det här mejlet eftersom du är med i kursen ”{course}”.",
        "unsubscribe_intro": "Vill du inte få fler mejl i kursen?",
        "unsubscribe_link": "Avsluta utskicken",
        "subject_review": "Minns du? {title}",
        "confirm_heading": "Bekräfta ditt svar",
        "confirm_hint": "Ditt svar sparas först när du trycker på knappen. "
        "Du kan byta svar innan dess.",
        "submit_answer": "Skicka svar",
        "result_right": "Rätt svar!",
        "result_wrong": "Inte riktigt",
        "your_answer": "Ditt svar: {answer}",
        "right_answer": "Rätt svar: {answer}",
        "explanation": "Därför",
        "new_attempt": "Det här var ett nytt försök. I statistiken räknas bara ditt första svar.",
        "read_lesson": "Läs lektionen",
        "unsubscribe_heading": "Avsluta utskick",
        "unsubscribe_question": "Vill du sluta få mejl från kursen ”{course}”?",
        "unsubscribe_button": "Ja, avsluta",
        "unsubscribe_done_heading": "Klart!",
        "unsubscribe_done": "Du får inga fler mejl från kursen ”{course}”.",
        "unsubscribe_unavailable": "Det går inte att avsluta utskicken med den här länken.",
        "test_banner_heading": "TESTUTSKICK",
        "test_banner": "Det här är ett testutskick till dig som förbereder kursen. Länkarna "
        "leder till en testsida och inget du gör sparas.",
        "test_page_title": "Testutskick",
        "test_page_text": "Det här är ett testutskick: länkarna fungerar inte som för en "
        "anställd. Inget svar och ingen avanmälan sparas. I en anställds eget mejl leder samma "
        "länk till lektionen, frågan eller avanmälan.",
        "not_found_title": "Länken fungerar inte",
        "not_found_text": "Länken är fel eller gäller inte längre. "
        "Nästa lektion kommer som vanligt i din e-post.",
        "choose_title": "Välj ett svar",
        "choose_text": "Välj ett av svaren innan du skickar. Gå tillbaka och försök igen.",
    },
    "en": {
        "greeting": "Hi {name}!",
        "greeting_neutral": "Hi!",
        "intro_lesson": "Here is a new short lesson. It only takes a couple of minutes.",
        "intro_review": "Today we go over something from an earlier lesson.",
        "review_only_heading": "Time for a quick review",
        "key_point": "Key point",
        "what_you_do": "What you do",
        "read_more": "Read more",
        "sources": "Sources",
        "question_heading": "Test yourself",
        "review_heading": "Do you remember?",
        "review_from": "A repetition from the lesson “{title}”.",
        "read_original": "Read the lesson again",
        "choose_answer": "Tap the answer you think is right. You confirm it on the next page.",
        "choose_answer_text": "Open the link under the answer you think is right.",
        "view_in_browser": "Read this lesson in your browser",
        "help_label": "Support and help",
        "why_you_get_this": "You get this e-mail because you take part in the course “{course}”.",
        "unsubscribe_intro": "Don't want more e-mails from this course?",
        "unsubscribe_link": "Unsubscribe",
        "subject_review": "Do you remember? {title}",
        "confirm_heading": "Confirm your answer",
        "confirm_hint": "Your answer is saved only when you press the button. "
        "You can change your choice before that.",
        "submit_answer": "Send answer",
        "result_right": "That's right!",
        "result_wrong": "Not quite",
        "your_answer": "Your answer: {answer}",
        "right_answer": "Right answer: {answer}",
        "explanation": "Why",
        "new_attempt": "This was a new attempt. Only your first answer counts in the statistics.",
        "read_lesson": "Read the lesson",
        "unsubscribe_heading": "Unsubscribe",
        "unsubscribe_question": "Do you want to stop getting e-mails from the course “{course}”?",
        "unsubscribe_button": "Yes, unsubscribe",
        "unsubscribe_done_heading": "Done!",
        "unsubscribe_done": "You will get no more e-mails from the course “{course}”.",
        "unsubscribe_unavailable": "This link can't be used to unsubscribe.",
        "test_banner_heading": "TEST E-MAIL",
        "test_banner": "This is a test e-mail for you who prepare the course. The links lead "
        "to a test page and nothing you do is saved.",
        "test_page_title": "Test e-mail",
        "test_page_text": "This is a test e-mail: its links do not work as they do for an "
        "employee. No answer and no unsubscribe is saved. In an employee's own e-mail the same "
        "link opens the lesson, the question or the unsubscribe page.",
        "not_found_title": "This link doesn't work",
        "not_found_text": "The link is wrong or no longer valid. "
        "Your next lesson will arrive by e-mail as usual.",
        "choose_title": "Choose an answer",
        "choose_text": "Choose one of the answers before you send. Go back and try again.",
    },
}

_WEEKDAYS = {
    "sv": ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}

_MONTHS = {
    "sv": [
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}

SUPPORTED_LANGUAGES = frozenset(_TEXTS)


def normalize_language(language: str) -> str:
    """A supported language code; anything else becomes Swedish."""
    code = (language or "").strip().lower()
    return code if code in _TEXTS else DEFAULT_LANGUAGE


def preferred_languages(accept_language: str | None) -> list[str]:
    """The primary language tags of an Accept-Language header, most wanted first ("sv-SE,
    en;q=0.8" gives ["sv", "en"]); [] for none. Tags with q=0 and "*" are left out."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = tag.strip().split("-")[0].lower()
        if code and code != "*" and quality > 0:
            ranked.append((-quality, position, code))
    return [code for _, _, code in sorted(ranked)]


def request_language(accept_language: str | None) -> str:
    """The first supported language the caller asks for; Swedish when none (or no header)."""
    wanted = [c for c in preferred_languages(accept_language) if c in SUPPORTED_LANGUAGES]
    return wanted[0] if wanted else DEFAULT_LANGUAGE


def t(language: str, key: str, **params: object) -> str:
    """The fixed text `key` in `language`, with {placeholders} filled from params."""
    text = _TEXTS[normalize_language(language)][key]
    return text.format(**params) if params else text


def month_names(language: str = "sv") -> list[str]:
    """January to December in the language, lower case as Swedish writes them."""
    return list(_MONTHS[normalize_language(language)])


SWEDISH_ZONE = "Europe/Stockholm"


def zone_words(zone: str) -> str:
    """How a shown time names its zone for Swedish readers: "svensk tid", or the zone."""
    return "svensk tid" if zone == SWEDISH_ZONE else f"({zone})"


def local_time(moment: datetime, zone: str) -> str:
    """A time people read, in a named zone: "2026-09-01 08:30 (Europe/Stockholm)".

    One clock for what people read (command line, dev inbox); logs stay UTC."""
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


def format_date(d: date, language: str) -> str:
    """A date as people write it: "måndag 5 januari 2026" / "Monday 5 January 2026"."""
    code = normalize_language(language)
    weekday = _WEEKDAYS[code][d.weekday()]
    month = _MONTHS[code][d.month - 1]
    return f"{weekday} {d.day} {month} {d.year}"
