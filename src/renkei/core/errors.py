"""Errors a user can act on, written once in English and shown in the user's language.

A service raises ``SomeError("organisation {name} already exists", name=...)``: the message
template is the msgid of the Japanese catalogues, and the fields are filled in after
translation, so ``str(error)`` is English and ``error.translate(_)`` is the user's language.
"""

from __future__ import annotations

from renkei.core.i18n import Translate


class UserError(ValueError):
    """Bad input or a request that cannot be done; the message says what and why."""

    def __init__(self, template: str, **fields: object) -> None:
        self.template = template
        self.fields = fields
        super().__init__(template.format(**fields) if fields else template)

    def translate(self, translate: Translate) -> str:
        text = translate(self.template)
        return text.format(**self.fields) if self.fields else text
