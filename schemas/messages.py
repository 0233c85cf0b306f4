"""Error messages that carry the rule they name.

Every refusal names the field and the rule it broke: the text reads ``"<what> (rule:
<rule>)"`` for people, and the rule travels beside it as data (``RuleMessage.rule``) for
code, so nothing has to read it back out of the words.
"""

from __future__ import annotations

import marshmallow as ma

__all__ = ["RuleMessage", "ruled", "rule_of"]


class RuleMessage(str):
    """A message (a ``str``, as marshmallow expects) with the ``rule`` it names.

    ``format`` keeps the rule, so a template given to a marshmallow validator or field
    (``"must be 1 to {max} characters"``) still carries it once filled in.
    """

    rule: str

    def __new__(cls, text: str, rule: str) -> RuleMessage:
        self = super().__new__(cls, text)
        self.rule = rule
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # copy, deepcopy and pickle keep the rule
        return str(self), self.rule

    def format(self, *args, **kwargs) -> RuleMessage:
        return RuleMessage(str.format(self, *args, **kwargs), self.rule)


def ruled(what: str, rule: str) -> RuleMessage:
    """``"<what> (rule: <rule>)"``, carrying ``rule``."""
    return RuleMessage(f"{what} (rule: {rule})", rule)


# marshmallow's own messages, which name no rule in their words.
_MARSHMALLOW_RULES = {
    ma.fields.Field.default_error_messages["required"]: "required",
    ma.Schema._default_error_messages["unknown"]: "unknown-field",
}


def rule_of(message: str) -> str:
    """The rule a field's error message names: its own, or for marshmallow's messages
    ``required`` (a missing field), ``unknown-field``, else ``type``."""
    rule = getattr(message, "rule", None)
    return rule if rule is not None else _MARSHMALLOW_RULES.get(message, "type")
