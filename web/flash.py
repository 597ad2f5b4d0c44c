"""A message shown once, on the page a redirect leads to (kept in the session meanwhile)."""

from __future__ import annotations

from fastapi import Request

from web import i18n

#: The session key of the message.
FLASH = "flash"


def flash(request: Request, zh: str, en: str) -> None:
    """Leave a message for the next page this browser shows."""
    request.session[FLASH] = {"zh": zh, "en": en}


def take_flash(request: Request) -> str:
    """The message left for this page by the request that redirected here, once."""
    message = request.session.pop(FLASH, None)
    if not isinstance(message, dict):
        return ""
    return i18n.pick(str(message.get("zh", "")), str(message.get("en", "")))
