"""Request size limits, unguessable codes checked in constant time."""

import hmac

import pytest

from points_service import codes
from points_service.accounts import tokens


@pytest.fixture
def app_config():
    return {"MAX_CONTENT_LENGTH": 4096}


def test_a_request_body_over_the_limit_is_413_in_the_one_error_shape(client, build):
    headers = build.bearer(build.staff("admin", build.tree()["city"]))
    response = client.post("/api/v1/tokens", data="x" * 5000, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"


def test_an_upload_over_the_limit_is_413(client, build):
    import io

    headers = build.bearer(build.organizer())
    response = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(b"a," * 4000), "big.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_member_numbers_and_voucher_codes_are_random_and_self_checking():
    numbers = {codes.new_member_number() for _ in range(2000)}
    assert len(numbers) == 2000 and all(codes.is_valid_member_number(number) for number in numbers)
    vouchers = {codes.new_voucher_code() for _ in range(2000)}
    assert len(vouchers) == 2000 and all(codes.is_valid_voucher_code(code) for code in vouchers)
    assert len(next(iter(vouchers))) == 18  # 16 random base32 characters: 80 bits


def test_codes_and_tokens_are_compared_in_constant_time(build, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(left, right):
        calls.append(1)
        return real(left, right)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    codes.is_valid_voucher_code(codes.new_voucher_code())
    assert codes.same_secret("abc", "abc")
    plaintext = build.token(build.staff("admin", build.tree()["city"]))
    assert tokens.authenticate_token(plaintext) is not None
    assert len(calls) >= 3
