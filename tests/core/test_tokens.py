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
