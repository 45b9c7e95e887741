"""What an operator reads on a page: its text, without tags or repeated whitespace."""

from __future__ import annotations

import html
import re

from django.test import Client

_TAGS = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", re.DOTALL | re.IGNORECASE)


def text_of(markup: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", markup)).split())


def page_text(client: Client, path: str, *, fragment_id: str | None = None) -> str:
    """GET the page (200 expected) and return its visible text, or only the element with this id's."""
    response = client.get(path)
    assert response.status_code == 200, f"GET {path}: {response.status_code}"
    markup = response.content.decode()
    if fragment_id is not None:
        markup = element(markup, fragment_id)
    return text_of(markup)


def element(markup: str, element_id: str) -> str:
    """The markup of the element with this id, up to its closing tag (same-name nesting counted)."""
    start = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"', markup)
    assert start, f'no element with id="{element_id}"'
    tag = start.group(1)
    depth, at = 0, start.start()
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", markup[at:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return markup[at : at + match.end()]
    return markup[at:]
