"""a spot's windows: how many qualifying windows it chains and the window length, so a long stretch is
shown as a stretch (đoạn)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('blackspot') as b:
        b.add_column(sa.Column('n_windows', sa.Integer(), nullable=True))
        b.add_column(sa.Column('window_m', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('blackspot') as b:
        b.drop_column('window_m')
        b.drop_column('n_windows')
