"""Template filters for the lab pages."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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
