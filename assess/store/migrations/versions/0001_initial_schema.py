"""Initial schema: region, enterprises, users and scope, assessments, answers, scores, history.

Revision ID: 0001
Revises:
Created: 2026-11-24 22:16:27.608623
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certification_body",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification_body")),
        sa.UniqueConstraint("name", name=op.f("uq_certification_body_name")),
    )
    op.create_table(
        "region",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region")),
    )
    op.create_table(
        "sign_in_failure",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_failure")),
    )
    op.create_table(
        "cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("default_sector", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_cluster_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster")),
        sa.UniqueConstraint("region_id", "code", name=op.f("uq_cluster_region_id_code")),
    )
    op.create_table(
        "park",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_park_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_park")),
        sa.UniqueConstraint("region_id", "code", name=op.f("uq_park_region_id_code")),
    )
    op.create_table(
        "enterprise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("park_id", sa.Integer(), nullable=True),
        sa.Column("staff_band", sa.String(length=10), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("contact_email", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name=op.f("fk_enterprise_cluster_id_cluster")
        ),
        sa.ForeignKeyConstraint(["park_id"], ["park.id"], name=op.f("fk_enterprise_park_id_park")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprise_uscc")),
    )
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprise_cluster_id"), ["cluster_id"], unique=False)

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("cert_body_id", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(role = 'certifier') = (cert_body_id IS NOT NULL)", name=op.f("ck_app_user_body_scope")
        ),
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)",
            name=op.f("ck_app_user_enterprise_scope"),
        ),
        sa.ForeignKeyConstraint(
            ["cert_body_id"],
            ["certification_body.id"],
            name=op.f("fk_app_user_cert_body_id_certification_body"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_app_user_enterprise_id_enterprise")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_user_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("questionnaire", sa.String(length=40), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pledged_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_assessment_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["pledged_by"], ["app_user.id"], name=op.f("fk_assessment_pledged_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
        sa.UniqueConstraint("enterprise_id", "year", name=op.f("uq_assessment_enterprise_id_year")),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assessment_status"), ["status"], unique=False)

    op.create_table(
        "user_cluster",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name=op.f("fk_user_cluster_cluster_id_cluster")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_user_cluster_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("user_id", "cluster_id", name=op.f("pk_user_cluster")),
    )
    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=120), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessment.id"], name=op.f("fk_answer_assessment_id_assessment")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["app_user.id"], name=op.f("fk_answer_updated_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer")),
        sa.UniqueConstraint(
            "assessment_id", "question", name=op.f("uq_answer_assessment_id_question")
        ),
    )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_answer_assessment_id"), ["assessment_id"], unique=False
        )

    op.create_table(
        "score_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("overall", sa.Float(), nullable=False),
        sa.Column("link_rd", sa.Float(), nullable=True),
        sa.Column("link_production", sa.Float(), nullable=True),
        sa.Column("link_management", sa.Float(), nullable=True),
        sa.Column("link_marketing", sa.Float(), nullable=True),
        sa.Column("aspect_infrastructure", sa.Float(), nullable=True),
        sa.Column("aspect_single_app", sa.Float(), nullable=True),
        sa.Column("aspect_integration", sa.Float(), nullable=True),
        sa.Column("aspect_collaboration", sa.Float(), nullable=True),
        sa.Column("aspect_competitiveness", sa.Float(), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("it_adopter", sa.Boolean(), nullable=False),
        sa.Column("it_links", sa.Integer(), nullable=False),
        sa.Column("missing_required", sa.Integer(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_score_record_assessment_id_assessment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_record")),
        sa.UniqueConstraint(
            "assessment_id", "kind", name=op.f("uq_score_record_assessment_id_kind")
        ),
    )
    with op.batch_alter_table("score_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_score_record_assessment_id"), ["assessment_id"], unique=False
        )

    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("by_user", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_status_change_assessment_id_assessment"),
        ),
        sa.ForeignKeyConstraint(
            ["by_user"], ["app_user.id"], name=op.f("fk_status_change_by_user_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_change")),
    )
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_change_assessment_id"), ["assessment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_change_assessment_id"))

    op.drop_table("status_change")
    with op.batch_alter_table("score_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_record_assessment_id"))

    op.drop_table("score_record")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_assessment_id"))

    op.drop_table("answer")
    op.drop_table("user_cluster")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_status"))
        batch_op.drop_index(batch_op.f("ix_assessment_enterprise_id"))

    op.drop_table("assessment")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_enterprise_id"))

    op.drop_table("app_user")
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_cluster_id"))

    op.drop_table("enterprise")
    op.drop_table("park")
    op.drop_table("cluster")
    op.drop_table("sign_in_failure")
    op.drop_table("region")
    op.drop_table("certification_body")
