"""Template filters and tags for the lab pages."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from lab import loadrun

register = template.Library()


@register.filter
def inline_code(text: str) -> SafeString:
    """Escape `text` and show its `backticked` parts as code, as the registry writes them."""
    parts = re.split(r"`([^`]+)`", str(text))
    # split() puts the backticked parts at the odd indexes.
    html = "".join(
        f"<code>{escape(part)}</code>" if index % 2 else escape(part) for index, part in enumerate(parts)
    )
    return mark_safe(html)


@register.inclusion_tag("lab/load_run.html", takes_context=True)
def load_run_panel(context) -> dict:
    """Show a pair's load run form (lab/loadrun.py), where its views allow one."""
    demo = context["demo"]
    return {
        "demo": demo,
        "allowed": loadrun.allows(demo),
        "enabled": loadrun.enabled(),
        "server": context.get("server"),
        "profile": context.get("profile"),
        "csrf_token": context.get("csrf_token"),
        "fields": [loadrun.CONCURRENCY, loadrun.REQUESTS, loadrun.SECONDS],
        "params": [param.name for param in demo.params],
        "warm_up": loadrun.WARM_UP,
    }
