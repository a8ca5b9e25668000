"""Member numbers and voucher codes refuse every mistyped or misscanned code."""

from hypothesis import given, settings
from hypothesis import strategies as st

from points_service.codes import (
    classify_code,
    is_valid_member_number,
    is_valid_voucher_code,
    new_member_number,
    new_voucher_code,
)


def test_new_member_numbers_are_valid_and_distinct():
    numbers = {new_member_number() for _ in range(500)}
    assert len(numbers) == 500
    assert all(is_valid_member_number(n) and len(n) == 12 for n in numbers)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=11), st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_in_a_member_number_is_refused(position, shift):
    number = new_member_number()
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert not is_valid_member_number(wrong)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10))
def test_any_swap_of_adjacent_digits_is_refused(position):
    number = new_member_number()
    if number[position] == number[position + 1]:
        return
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert not is_valid_member_number(swapped)


def test_voucher_codes_are_valid_and_a_changed_character_is_refused():
    code = new_voucher_code()
    assert is_valid_voucher_code(code)
    assert is_valid_voucher_code(code.lower())
    changed = code[:5] + ("A" if code[5] != "A" else "B") + code[6:]
    assert not is_valid_voucher_code(changed)


def test_a_scan_is_classified_as_member_voucher_or_unknown():
    member, voucher = new_member_number(), new_voucher_code()
    assert classify_code(f" {member}\n") == ("member", member)
    assert classify_code(voucher) == ("voucher", voucher)
    assert classify_code("12345")[0] is None
    assert classify_code("")[0] is None
