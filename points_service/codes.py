"""Member numbers and voucher codes: random, unguessable, self-checking.

A member number is 12 digits: 11 random digits and a Damm check digit. The Damm
algorithm detects every single-digit error and every swap of adjacent digits, the two
mistakes people and scanners make. Voucher codes (and certificates' verification codes) are 16 random characters of
Crockford's base32 alphabet (no I, L, O, U) with a check character, about 80 bits of
randomness. Comparisons of secrets use ``hmac.compare_digest``.

Whatever a person types or a file holds passes ``normalise_typed`` first: Chinese input
methods type full-width digits, letters, hyphens and spaces (``１２３``, ``Ａ``, ``－``,
U+3000), which mean the same as their ASCII forms.
"""

import hmac
import re
import secrets
import unicodedata

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

MEMBER_NUMBER_LENGTH = 12
_MEMBER_RE = re.compile(r"^[0-9]{12}$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VOUCHER_PREFIX = "V"
CERTIFICATE_PREFIX = "C"
_VOUCHER_BODY = 16


def damm_digit(digits):
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return str(interim)


def new_member_number():
    body = "".join(secrets.choice("0123456789") for _ in range(MEMBER_NUMBER_LENGTH - 1))
    if body[0] == "0":
        body = str(secrets.randbelow(9) + 1) + body[1:]
    return body + damm_digit(body)


def normalise_typed(text):
    """A number or code as typed, in the plain form it stands for: NFKC, then trimmed.

    NFKC folds full-width digits, letters, punctuation and the ideographic space into
    ASCII. Only for numbers and codes (member numbers, voucher and check-in codes,
    mobiles, dates and times): free text such as names and reasons is kept as written.
    ``None`` stays ``None``, so this can filter optional form fields.
    """
    if text is None:
        return None
    return unicodedata.normalize("NFKC", str(text)).strip()


def normalise_code(text):
    """Strip what scanners and people add: full-width forms, spaces, dashes of any kind, case."""
    typed = normalise_typed(text or "")
    return "".join(char for char in typed if not (char.isspace() or unicodedata.category(char) == "Pd")).upper()


def is_valid_member_number(text):
    code = normalise_code(text)
    return bool(_MEMBER_RE.match(code)) and damm_digit(code) == "0"


def _crockford_check(body):
    value = 0
    for char in body:
        value = (value * 32 + _CROCKFORD.index(char)) % 37
    return "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"[value]


def _new_checked_code(prefix):
    body = "".join(secrets.choice(_CROCKFORD) for _ in range(_VOUCHER_BODY))
    return prefix + body + _crockford_check(body)


def _is_checked_code(text, prefix):
    code = normalise_code(text)
    if len(code) != 1 + _VOUCHER_BODY + 1 or not code.startswith(prefix):
        return False
    body = code[1:-1]
    if any(char not in _CROCKFORD for char in body):
        return False
    return hmac.compare_digest(_crockford_check(body), code[-1])


def new_voucher_code():
    return _new_checked_code(VOUCHER_PREFIX)


def is_valid_voucher_code(text):
    return _is_checked_code(text, VOUCHER_PREFIX)


def new_certificate_code():
    """A service certificate's verification code: like a voucher code, prefix C."""
    return _new_checked_code(CERTIFICATE_PREFIX)


def is_valid_certificate_code(text):
    return _is_checked_code(text, CERTIFICATE_PREFIX)


def classify_code(text):
    """``("member", code)``, ``("voucher", code)`` or ``(None, code)`` for a scan."""
    code = normalise_code(text)
    if code.startswith(VOUCHER_PREFIX):
        return ("voucher", code) if is_valid_voucher_code(code) else (None, code)
    if is_valid_member_number(code):
        return "member", code
    return None, code


def same_secret(left, right):
    return hmac.compare_digest(str(left).encode(), str(right).encode())
