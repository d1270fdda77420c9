"""crash cause (nguyên nhân) and the post-2025 unit a crash's commune now belongs to

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('crash') as b:
        b.add_column(sa.Column('cause', sa.Text(), nullable=True))
        b.add_column(sa.Column('commune_now', sa.String(length=200), nullable=True))
    op.create_index('ix_crash_source_id', 'crash', ['source_id'])


def downgrade() -> None:
    op.drop_index('ix_crash_source_id', 'crash')
    with op.batch_alter_table('crash') as b:
        b.drop_column('commune_now')
        b.drop_column('cause')
