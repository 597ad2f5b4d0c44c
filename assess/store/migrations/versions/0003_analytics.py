"""Analytics: per-link IT adoption, consistency flags, answer digests and national-indicator
values on every score; region targets; demonstration-enterprise decisions; an index on the
enterprises' last edit.

Scores stored before this revision get their adoption columns and flag counts from their stored
card here. Their digests and indicator values need the questionnaires: ``assess db upgrade``
fills them right after migrating (``assess.analytics.derived``).

Revision ID: 0003
Revises: 0002
Created: 2026-11-30 07:10:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_LINKS = ("rd", "production", "management", "marketing")


def upgrade() -> None:
    # SQLite keeps a row's columns in table order and spills a long row's tail into overflow
    # pages: the new columns go before the card (tens of kilobytes of JSON), so that reading
    # them never walks through it. That takes rebuilding the table on SQLite; PostgreSQL keeps
    # long values out of line anyway and simply adds the columns.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "score_record", schema=None, recreate="always" if sqlite else "auto"
    ) as batch_op:
        for column in (
            sa.Column("it_needed", sa.Integer(), nullable=False, server_default="3"),
            *(sa.Column(f"applied_{k}", sa.SmallInteger(), nullable=True) for k in _LINKS),
            sa.Column("flags", sa.Integer(), nullable=False, server_default="0"),
            sa.Column("digest", sa.String(length=64), nullable=False, server_default=""),
            sa.Column("indicators", sa.JSON(), nullable=True),
        ):
            batch_op.add_column(column, insert_before="card" if sqlite else None)
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("targets", sa.JSON(), nullable=True))
    # The analytics' data stamp reads the latest enterprise edit on every request.
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprise_updated_at"), ["updated_at"], unique=False)
    op.create_table(
        "demonstration_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("by_user", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_user"], ["app_user.id"], name=op.f("fk_demonstration_decision_by_user_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_demonstration_decision_cluster_id_cluster"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_demonstration_decision_enterprise_id_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demonstration_decision")),
    )
    with op.batch_alter_table("demonstration_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_demonstration_decision_cluster_id"), ["cluster_id"], unique=False
        )
    _backfill_from_cards()


def _backfill_from_cards() -> None:
    """Per-link adoption, the rule's link count and the flag count, read from each stored card."""
    conn = op.get_bind()
    table = sa.table(
        "score_record",
        sa.column("id", sa.Integer),
        sa.column("card", sa.JSON),
        sa.column("it_needed", sa.Integer),
        sa.column("flags", sa.Integer),
        *(sa.column(f"applied_{k}", sa.SmallInteger) for k in _LINKS),
    )
    rows = conn.execute(sa.select(table.c.id, table.c.card)).all()
    for id_, card in rows:
        c: dict[str, Any] = json.loads(card) if isinstance(card, str) else card
        applied = set(c.get("it_links") or [])
        applicable = c.get("applicable_links")
        values: dict[str, Any] = {
            "it_needed": int(c.get("adoption_min_links") or 3),
            "flags": len(c.get("flags") or []),
        }
        for k in _LINKS:
            if applicable is not None and k not in applicable:
                values[f"applied_{k}"] = None
            else:
                values[f"applied_{k}"] = 1 if k in applied else 0
        conn.execute(sa.update(table).where(table.c.id == id_).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("demonstration_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demonstration_decision_cluster_id"))
    op.drop_table("demonstration_decision")
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_updated_at"))
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("targets")
    with op.batch_alter_table("score_record", schema=None) as batch_op:
        batch_op.drop_column("indicators")
        batch_op.drop_column("digest")
        batch_op.drop_column("flags")
        for link in reversed(_LINKS):
            batch_op.drop_column(f"applied_{link}")
        batch_op.drop_column("it_needed")
