"""Text a user typed (a message, a system prompt, a title) must be well-formed Unicode.

JSON can carry an unpaired UTF-16 surrogate (``"\\ud800"``); Python decodes it into a `str` that no
UTF-8 encoder accepts, so DynamoDB (and Bedrock) would refuse it only after the model had run.
Such input is refused with a 400 before any model call or write (RFC 8259 section 8.2 leaves
unpaired surrogates' behaviour unpredictable; Unicode calls them ill-formed, chapter 3 D91).
"""

from __future__ import annotations

from chatbot_common.errors import InvalidInput


def require_well_formed(value: str, what: str) -> str:
    """Return `value` unchanged, or raise InvalidInput naming `what` and the offending position.

    Cost: one UTF-8 encode of the string (strict UTF-8 fails on surrogates and nothing else).
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} contains an unpaired UTF-16 surrogate (U+{ord(value[exc.start]):04X}) "
            f"at character {exc.start}; send well-formed Unicode text"
        ) from None
    return value
