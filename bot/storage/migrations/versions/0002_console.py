"""The staff console: accounts, callback requests and the audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the staff, callback_requests and audit_log tables."""
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        _ts("created"),
        _ts("disabled_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
        sa.UniqueConstraint("username", name="uq_staff_username"),
        sa.CheckConstraint("role IN ('nurse', 'admin')", name="ck_staff_role"),
    )
    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("time_window", sa.String(20), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("created"),
        _ts("done_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callback_requests"),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_callback_requests_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("status IN ('pending', 'done')", name="ck_callback_requests_status"),
        sa.CheckConstraint(
            "time_window IN ('morning', 'afternoon')", name="ck_callback_requests_time_window"
        ),
    )
    op.create_index("ix_callback_requests_patient_id", "callback_requests", ["patient_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_audit_log_staff_id_staff", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_audit_log_patient_id_patients",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_audit_log_patient_id", "audit_log", ["patient_id"])
    op.create_index("ix_audit_log_reference", "audit_log", ["reference"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    """Drop the console's tables."""
    op.drop_table("audit_log")
    op.drop_table("callback_requests")
    op.drop_table("staff")
