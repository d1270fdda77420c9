"""cases and works detail, attachments, user accounts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('encroachment_case') as b:
        b.add_column(sa.Column('road_code', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('zone', sa.String(length=16), nullable=True))
        b.add_column(sa.Column('distance_m', sa.Float(), nullable=True))
        b.add_column(sa.Column('detected_on', sa.Date(), nullable=True))
        b.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
    with op.batch_alter_table('remediation_work') as b:
        b.add_column(sa.Column('road_code', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('name', sa.String(length=300), nullable=True))
        b.add_column(sa.Column('commune', sa.String(length=200), nullable=True))
        b.add_column(sa.Column('notes', sa.Text(), nullable=True))
    op.create_table('attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_type', sa.String(length=32), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('filename', sa.String(length=300), nullable=True),
        sa.Column('path', sa.String(length=500), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_attachment_item', 'attachment', ['item_type', 'item_id'])
    op.create_table('app_user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('full_name', sa.String(length=200), nullable=True),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('commune', sa.String(length=200), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username', name='uq_app_user_username'))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_remediation_work_blackspot ON remediation_work (blackspot_id)")


def downgrade() -> None:
    op.drop_table('app_user')
    op.drop_index('ix_attachment_item', 'attachment')
    op.drop_table('attachment')
    with op.batch_alter_table('remediation_work') as b:
        for c in ('notes', 'commune', 'name', 'road_code'):
            b.drop_column(c)
    with op.batch_alter_table('encroachment_case') as b:
        for c in ('closed_on', 'detected_on', 'distance_m', 'zone', 'road_code'):
            b.drop_column(c)
