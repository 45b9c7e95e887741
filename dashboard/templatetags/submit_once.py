"""`{% submit_key %}`: the hidden one-time key of a form that starts work (see dashboard/submit_once.py).
A new key each time the form is rendered; static/js/submit_once.js disables the form's button once
it is submitted."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard.submit_once import FIELD, key_new

register = template.Library()


@register.simple_tag
def submit_key() -> SafeString:
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, key_new())


@register.simple_tag
def submit_key_vals() -> SafeString:
    """For a lone htmx button (no form): `hx-vals='{% submit_key_vals %}'`."""
    return format_html('{{"{}": "{}"}}', FIELD, key_new())
