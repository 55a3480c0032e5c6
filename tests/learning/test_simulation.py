"""The simulation the issue asks for: spacing beats no reviews, and no one gets too many e-mails."""

import pytest

from app.simulate import run_arm
from tests.conftest import REPO


@pytest.mark.slow
def test_spacing_beats_no_reviews_within_the_slots() -> None:
    common = {
        "course": "radikalisering",
        "learners": 30,
        "weeks": 10,
        "weekdays": ["tue", "thu"],
        "at": "08:00",
        "seed": 3,
        "lessons_dir": REPO / "lessons",
    }
    spaced = run_arm("spacing", max_reviews=1, **common)  # type: ignore[arg-type]
    plain = run_arm("no reviews", max_reviews=0, **common)  # type: ignore[arg-type]
    assert plain.emails == 30 * 12  # one e-mail per lesson, then nothing
    assert plain.reviews_per_lesson == 0
    assert spaced.reviews_per_lesson > 0.5
    assert spaced.expected_recall > plain.expected_recall + 0.2
    for arm in (spaced, plain):
        assert arm.max_per_week <= arm.slots_per_week == 2
