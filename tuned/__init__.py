"""
The tuned profile (tuned/settings.py, tuned/asgi.py): measured fixes for Django's async overheads.

Opt-in, and not part of the lesson: docs/tuned.md says what each piece buys, what it costs
and what it changes about Django's guarantees.
"""
