"""Language (manual: "Change the language"): which catalogue a page is rendered in.

Flask-Babel carries the gettext catalogues and formats dates and numbers per locale;
this module only chooses the locale: the signed-in user's own language when one is
kept with the user, else the best match for the browser's Accept-Language, else English.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale

# The languages with a complete catalogue, by their code, named in their own language
# (the codes are those a user may keep: doorctl.core.system.users.LANGUAGES).
LANGUAGES = {"en": "English", "de": "Deutsch", "sv": "Svenska"}
DEFAULT = "en"


def select_locale() -> str:
    """The user's language if they chose one, else the browser's best, else English.

    Only a user already loaded counts: loading one here (HTTP Basic is checked as it
    loads) could itself need a message, and so the locale, again. Every page that
    needs a login has loaded its user before it renders.
    """
    if not has_request_context():  # e.g. an event stream's rows, rendered as they come
        return DEFAULT
    chosen = getattr(g.get("_login_user"), "language", None)
    if chosen in LANGUAGES:
        return chosen
    return browser_language(request.accept_languages) or DEFAULT


def browser_language(accepted) -> str | None:
    """The browser's most preferred language we have, by its primary subtag.

    Werkzeug's best_match prefers any exact match over a regional one, so
    "sv-SE, de;q=0.5" would give German; a person who asks for Swedish first wants it.
    """
    for tag, _quality in accepted:
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return None


def marked(message: str) -> str:
    """N_("...") in a template: a string for the catalogue, translated where it is shown
    (e.g. words kept in a table at an imported template's top level)."""
    return message


def init_app(app: Flask) -> None:
    """Install the catalogues (doorctl/translations), `_` and `ngettext` in templates,
    and get_locale() for <html lang> and locale-aware formatting."""
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["N_"] = marked
