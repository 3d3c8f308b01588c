"""The English Unique Pupil Number: its shape and check letter (DfE's algorithm).

13 characters: a check letter, the LA (3 digits), the school (4), the year (2), a serial
(2 digits and a last character that is a digit, or a letter in a temporary UPN). The LA code
is not checked against a list: published lists miss the authorities created since 2019.
"""

_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"  # no I, O or S


def check_letter(body: str) -> str:
    """The check letter of the 12 characters after it."""
    total = sum(weight * _ALPHABET.index(char) for weight, char in enumerate(body, 2))
    return _ALPHABET[total % 23]


def is_upn(value: str) -> bool:
    """Whether `value` is a well-formed UPN with the right check letter (upper case)."""
    if len(value) != 13 or not value[1:12].isdigit() or not value.isascii():
        return False
    if value[12] not in _ALPHABET:
        return False
    return value[0] == check_letter(value[1:])
