"""`{% load phones %}`: `{{ p.phone|phone }}` is "(919) 251-8064", `{{ p.phone|tel }}` its tel: link."""

from __future__ import annotations

from django import template

from dashboard.display.phones import phone_national, phone_tel

register = template.Library()
register.filter("phone", phone_national)
register.filter("tel", phone_tel)
