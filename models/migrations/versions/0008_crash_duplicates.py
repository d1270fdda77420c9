"""duplicates across sources: a merged crash points to the crash it was merged into, and a person's decision on a
pair of crashes (merged, or not a duplicate) is kept so the pair is not offered again

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('crash') as b:
        b.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
    op.create_table('crash_pair_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('crash_a', sa.Integer(), nullable=False),
        sa.Column('crash_b', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['crash_a'], ['crash.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['crash_b'], ['crash.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('crash_a', 'crash_b', name='uq_crash_pair_decision'))


def downgrade() -> None:
    op.drop_table('crash_pair_decision')
    with op.batch_alter_table('crash') as b:
        b.drop_column('merged_into')
