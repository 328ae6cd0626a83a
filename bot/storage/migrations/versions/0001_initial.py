"""Patients, appointments and pre-call requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the patient-records tables."""
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sa.String(128), nullable=False),
        sa.Column("given_name", sa.String(200), nullable=False),
        sa.Column("family_name", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("treatment_end_date", sa.Date(), nullable=True),
        sa.Column("nurse_name", sa.String(200), nullable=True),
        sa.Column("nurse_phone", sa.String(40), nullable=True),
        sa.Column("hospital_name", sa.String(200), nullable=True),
        sa.Column("hospital_advice_line", sa.String(40), nullable=True),
        _ts("created"),
        _ts("updated"),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
        sa.UniqueConstraint("portal_id", name="uq_patients_portal_id"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        _ts("start"),
        _ts("end", nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("clinician", sa.String(200), nullable=True),
        sa.Column("location", sa.String(300), nullable=True),
        sa.Column("video_link", sa.String(500), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("created"),
        _ts("updated"),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_appointments_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("external_id", name="uq_appointments_external_id"),
        sa.CheckConstraint(
            "kind IN ('face_to_face', 'telephone', 'video')", name="ck_appointments_kind"
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'attended')", name="ck_appointments_status"
        ),
    )
    op.create_index("ix_appointments_patient_id_start", "appointments", ["patient_id", "start"])
    op.create_table(
        "patient_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        _ts("created"),
        _ts("removed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_patient_questions"),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_patient_questions_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_patient_questions_appointment_id_appointments",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "kind IN ('question', 'symptom', 'side_effect')", name="ck_patient_questions_kind"
        ),
    )
    op.create_index("ix_patient_questions_patient_id", "patient_questions", ["patient_id"])
    op.create_table(
        "face_to_face_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("created"),
        _ts("done_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_face_to_face_requests"),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_face_to_face_requests_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_face_to_face_requests_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("status IN ('pending', 'done')", name="ck_face_to_face_requests_status"),
    )
    op.create_index("ix_face_to_face_requests_patient_id", "face_to_face_requests", ["patient_id"])
    # At most one pending request per appointment ("never record the same request twice").
    op.create_index(
        "uq_face_to_face_requests_pending",
        "face_to_face_requests",
        ["appointment_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "number_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("new_phone", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("created"),
        _ts("done_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_number_corrections"),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name="fk_number_corrections_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("status IN ('pending', 'done')", name="ck_number_corrections_status"),
    )
    op.create_index("ix_number_corrections_patient_id", "number_corrections", ["patient_id"])


def downgrade() -> None:
    """Drop the patient-records tables."""
    op.drop_table("number_corrections")
    op.drop_table("face_to_face_requests")
    op.drop_table("patient_questions")
    op.drop_table("appointments")
    op.drop_table("patients")
