"""unique attempt numbers per e-mail and question, one review log per answer

Two confirms racing in at once could both store attempt 1 (and both count in the review logs).
Before the unique indexes go on, such answers are numbered again by arrival (answered_at, id)
within their e-mail and question, and the review logs of answers that are no longer attempt 1
stop counting. A schedule already moved twice stays as it is: its next answer moves it on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:30:00
"""

from collections.abc import Sequence
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

answers = sa.table(
    "answers",
    sa.column("id", sa.Integer),
    sa.column("delivery_id", sa.Integer),
    sa.column("lesson_id", sa.Integer),
    sa.column("attempt", sa.Integer),
    sa.column("answered_at", sa.DateTime),
)
review_logs = sa.table(
    "review_logs",
    sa.column("id", sa.Integer),
    sa.column("answer_id", sa.Integer),
    sa.column("counted", sa.Boolean),
)


def _renumber_doubled_attempts(connection: sa.Connection) -> None:
    doubled = (
        sa.select(answers.c.delivery_id, answers.c.lesson_id)
        .group_by(answers.c.delivery_id, answers.c.lesson_id, answers.c.attempt)
        .having(sa.func.count() > 1)
        .distinct()
    )
    groups = [tuple(row) for row in connection.execute(doubled)]
    for start in range(0, len(groups), 500):
        batch = groups[start : start + 500]
        rows = connection.execute(
            sa.select(answers.c.id, answers.c.delivery_id, answers.c.lesson_id)
            .where(sa.tuple_(answers.c.delivery_id, answers.c.lesson_id).in_(batch))
            .order_by(
                answers.c.delivery_id, answers.c.lesson_id, answers.c.answered_at, answers.c.id
            )
        ).all()
        renumbered = [
            {"answer": row.id, "number": number}
            for _key, group in groupby(rows, key=lambda r: (r.delivery_id, r.lesson_id))
            for number, row in enumerate(group, start=1)
        ]
        connection.execute(
            answers.update()
            .where(answers.c.id == sa.bindparam("answer"))
            .values(attempt=sa.bindparam("number")),
            renumbered,
        )


def upgrade() -> None:
    connection = op.get_bind()
    _renumber_doubled_attempts(connection)
    later = sa.select(answers.c.id).where(answers.c.attempt > 1)
    connection.execute(
        review_logs.update()
        .where(review_logs.c.counted.is_(True), review_logs.c.answer_id.in_(later))
        .values(counted=False)
    )
    first_logs = sa.select(sa.func.min(review_logs.c.id)).group_by(review_logs.c.answer_id)
    connection.execute(review_logs.delete().where(review_logs.c.id.not_in(first_logs)))
    op.create_index(
        "uq_answers_delivery_id_lesson_id_attempt",
        "answers",
        ["delivery_id", "lesson_id", "attempt"],
        unique=True,
    )
    op.create_index("uq_review_logs_answer_id", "review_logs", ["answer_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_review_logs_answer_id", table_name="review_logs")
    op.drop_index("uq_answers_delivery_id_lesson_id_attempt", table_name="answers")
