"""Language: every string the pages show is in the catalogue, and German and Swedish
translate all of it.

The catalogue is doorctl/translations/messages.pot, made by scripts/translations from
the code and the templates; de and sv are its .po files, compiled into the committed
.mo files the appliance reads. These tests fail, saying to run scripts/translations,
when a string was added without updating the catalogues, when a language lacks a
translation, or when a template shows English text outside _().
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import Environment
from support import REPO

from doorctl.blueprints.language import LANGUAGES
from doorctl.core.system.users import LANGUAGES as USER_LANGUAGES

TRANSLATIONS = REPO / "doorctl" / "translations"
TEMPLATES = REPO / "doorctl" / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}
TRANSLATED = [code for code in LANGUAGES if code != "en"]
RUN = "run scripts/translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")

# Templates whose pages other work converts to _() (their own branches wrap them); the
# check of untranslated text passes over them until then. Shrink this list as each
# page is converted: what is left must stay empty.
NOT_YET_CONVERTED = set()
# Words a page may show untranslated: the product's name, protocols and units.
SAME_IN_EVERY_LANGUAGE = {"doorctl", "HTTP", "HTTPS", "MQTT", "REST", "API", "front-entry"}
# Attributes whose text a person reads or hears.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "hx-confirm", "data-label"}


def catalogue(path: Path):
    with path.open("rb") as file:
        return read_po(file)


def extracted() -> dict[str, tuple[str, ...]]:
    """Every msgid in the code and templates now, with the files that use it."""
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(filename)
    return {msgid: tuple(files) for msgid, files in found.items()}


@pytest.fixture(scope="module")
def template() -> dict[str, tuple[str, ...]]:
    return extracted()


def test_every_string_in_the_code_is_in_the_catalogue(template):
    pot = {
        m.id[0] if isinstance(m.id, tuple) else m.id
        for m in catalogue(TRANSLATIONS / "messages.pot")
    }
    missing = {msgid: files for msgid, files in template.items() if msgid not in pot}
    assert missing == {}, f"strings not in messages.pot: {RUN}"
    stale = pot - set(template) - {""}
    assert stale == set(), f"messages.pot holds strings no longer used: {RUN}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated(language, template):
    po = catalogue(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    by_id = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in po if m.id}
    untranslated = [msgid for msgid in template if msgid not in by_id or not _done(by_id[msgid])]
    assert untranslated == [], (
        f"{language} lacks a translation (empty or fuzzy): {RUN}, then translate"
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders(language):
    po = catalogue(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    wrong = []
    for message in po:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # Every form has the singular's placeholders, and none the plural lacks (a
        # singular may leave out the count, as "the command" does for "once").
        least, most = (set(PLACEHOLDER.findall(i)) for i in (ids[0], ids[-1]))
        wrong += [s for s in strings if s and not least <= set(PLACEHOLDER.findall(s)) <= most]
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_the_po(language):
    """The committed .mo (what pip installs) says what the .po says."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as file:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(file) if m.id}
    po = catalogue(folder / "messages.po")
    source = {_key(m.id): _key(m.string) for m in po if m.id and _done(m)}
    assert compiled == source, f"messages.mo is older than messages.po: {RUN}"


def test_the_languages_users_may_keep_are_the_catalogues():
    assert tuple(LANGUAGES) == USER_LANGUAGES
    assert sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir()) == sorted(TRANSLATED)


def _key(value):
    """A message's id or string, a plural's as a tuple (the .mo reader gives lists)."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _done(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings) and not message.fuzzy


# --- text in templates outside _() ---------------------------------------------------


class ReadText(HTMLParser):
    """The text and the read attributes of a template's HTML, expressions left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        self.texts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.texts.append(data)


def template_data(source: str) -> str:
    """The template's literal HTML: each {{ expression }} becomes \\0, each {% tag %}
    and comment nothing."""
    out, depth = [], None
    for _line, kind, value in Environment().lex(source):
        if kind in ("variable_begin", "block_begin", "comment_begin", "linestatement_begin"):
            depth = kind
            out.append("\0" if kind == "variable_begin" else "")
        elif kind.endswith("_end"):
            depth = None
        elif kind == "data" and depth is None:
            out.append(value)
    return "".join(out)


def english_words(html: str) -> list[str]:
    """Words a person would read that are not in _() (nor allowed as they are); an
    example value such as door.local or 192.0.2.1 is not a word."""
    reader = ReadText()
    reader.feed(html)
    words = []
    for text in reader.texts:
        for token in text.replace("\0", " ").split():
            word = token.strip(".,:;!?()[]\"'·")
            if (
                re.fullmatch(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", word)
                and word not in SAME_IN_EVERY_LANGUAGE
            ):
                words.append(word)
    return words


def templates() -> list[str]:
    return sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("name", [t for t in templates() if t not in NOT_YET_CONVERTED])
def test_templates_show_no_text_outside_gettext(name):
    words = english_words(template_data((TEMPLATES / name).read_text()))
    assert words == [], f"{name}: wrap the text in {{{{ _('...') }}}}"


def test_the_check_finds_text_and_attributes_outside_gettext():
    page = template_data(
        '<p title="Open the door">{{ _("Door") }}</p>{% if x %}<b>Locked</b>{% endif %}'
        "<span aria-label=\"{{ _('Menu') }}\">doorctl</span>{# a comment #}"
    )
    assert english_words(page) == ["Open", "the", "door", "Locked"]


def test_templates_not_yet_converted_exist():
    assert set(templates()) >= NOT_YET_CONVERTED, "remove converted or gone pages from the list"


def test_every_menu_title_is_translated():
    """A menu entry's title is declared in its blueprint: lazy, so that each page's menu
    comes in its reader's language (a plain string stays English in every language)."""
    from flask_babel.speaklater import LazyString

    from doorctl.app import SECTIONS

    plain = [
        t
        for m in SECTIONS
        for _s, t, _e in getattr(m, "MENU_ITEMS", ())
        if not isinstance(t, LazyString)
    ]
    assert plain == []
