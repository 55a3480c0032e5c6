import base64

from app.core.tokens import message_id, sign_delivery, verify_delivery

SECRET = b"k" * 32


def test_token_round_trip_and_tampering() -> None:
    for delivery_id in (1, 255, 256, 123_456_789):
        token = sign_delivery(SECRET, delivery_id)
        assert verify_delivery(SECRET, token) == delivery_id
        assert verify_delivery(b"x" * 32, token) is None
        id_part, mac = token.split(".")
        assert verify_delivery(SECRET, f"{id_part}.{mac[::-1]}") is None
        assert verify_delivery(SECRET, token + "A") is None
    other = sign_delivery(SECRET, 2).split(".")[1]
    assert verify_delivery(SECRET, f"{sign_delivery(SECRET, 1).split('.')[0]}.{other}") is None


def test_malformed_tokens_are_rejected_without_errors() -> None:
    for junk in ("", ".", "a.b.c", "!!.??", "A" * 100, "AAAAAAAAAAAAAAAAAAAA.AAAA", "AA.", ".AA"):
        assert verify_delivery(SECRET, junk) is None


def test_message_id_is_stable_per_delivery() -> None:
    assert message_id(SECRET, 7, "kommun.se") == message_id(SECRET, 7, "kommun.se")
    assert message_id(SECRET, 7, "kommun.se") != message_id(SECRET, 8, "kommun.se")
    assert message_id(SECRET, 7, "kommun.se").endswith("@kommun.se>")


def test_only_the_canonical_token_of_a_delivery_is_taken() -> None:
    """A delivery has one token: the same id or MAC written another way is refused (the public
    pages put the request's own token into their links, so it must be the e-mail's)."""
    token = sign_delivery(SECRET, 300)
    id_part, mac_part = token.split(".")
    padded_id = base64.urlsafe_b64encode(b"\x00" + (300).to_bytes(2, "big")).decode().rstrip("=")
    assert verify_delivery(SECRET, f"{padded_id}.{mac_part}") is None  # a leading zero byte
    assert verify_delivery(SECRET, f"{id_part}.{mac_part}==") is None  # base64 padding
    assert verify_delivery(SECRET, f"{id_part}.{mac_part}") == 300
    loose_id = id_part[:-1] + chr(ord(id_part[-1]) + 1)  # 2 bytes = 3 characters, 2 spare bits
    assert base64.urlsafe_b64decode(loose_id + "=") == (300).to_bytes(2, "big")
    assert verify_delivery(SECRET, f"{loose_id}.{mac_part}") is None
