"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

On PostgreSQL the PostGIS extension is created first and every geometry column
gets a GiST spatial index.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from models.types import Geometry

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


GEOMETRY_TABLES = ("admin_unit", "road", "crash", "blackspot", "encroachment_case")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('admin_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Enum('province', 'district', 'commune', name='adminlevel', native_enum=False, length=32), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry('MULTIPOLYGON'), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['admin_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('admin_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_unit_code'), ['code'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=True),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_item', ['table_name', 'row_id'], unique=False)

    op.create_table('import_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('n_rows', sa.Integer(), nullable=False),
    sa.Column('n_imported', sa.Integer(), nullable=False),
    sa.Column('n_skipped', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'undone', name='batchstatus', native_enum=False, length=32), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('is_simulated', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('issuer', sa.String(length=300), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=True),
    sa.Column('period_to', sa.Date(), nullable=True),
    sa.Column('signer', sa.String(length=200), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=True),
    sa.Column('targets', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('road',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('road_class', sa.String(length=16), nullable=True),
    sa.Column('is_urban', sa.Boolean(), nullable=False),
    sa.Column('carriageway_width_m', sa.Float(), nullable=True),
    sa.Column('road_land_half_width_m', sa.Float(), nullable=True),
    sa.Column('km_start_m', sa.Float(), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('geom', Geometry('GEOMETRY'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('road', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_road_code'), ['code'], unique=False)

    op.create_table('agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('short_name', sa.String(length=64), nullable=True),
    sa.Column('level', sa.Enum('province', 'district', 'commune', name='adminlevel', native_enum=False, length=32), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('admin_unit_id', sa.Integer(), nullable=True),
    sa.Column('is_standing_body', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['admin_unit_id'], ['admin_unit.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['agency.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('blackspot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('black_spot', 'potential', 'cluster', name='spotkind', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('candidate', 'confirmed', 'remediation_planned', 'under_works', 'fixed', 'monitoring', 'removed', name='blackspotstatus', native_enum=False, length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('road_id', sa.Integer(), nullable=True),
    sa.Column('road_code', sa.String(length=64), nullable=True),
    sa.Column('from_m', sa.Float(), nullable=True),
    sa.Column('to_m', sa.Float(), nullable=True),
    sa.Column('commune', sa.String(length=200), nullable=True),
    sa.Column('geom', Geometry('GEOMETRY'), nullable=True),
    sa.Column('ruleset', sa.String(length=32), nullable=True),
    sa.Column('tests', sa.String(length=64), nullable=True),
    sa.Column('test_labels', sa.Text(), nullable=True),
    sa.Column('window_start', sa.Date(), nullable=True),
    sa.Column('window_end', sa.Date(), nullable=True),
    sa.Column('n_crashes', sa.Integer(), nullable=False),
    sa.Column('deaths', sa.Integer(), nullable=False),
    sa.Column('injured', sa.Integer(), nullable=False),
    sa.Column('epdo', sa.Float(), nullable=False),
    sa.Column('crash_ids', sa.JSON(), nullable=True),
    sa.Column('window_crash_ids', sa.JSON(), nullable=True),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('manual_reason', sa.Text(), nullable=True),
    sa.Column('still_qualifies', sa.Boolean(), nullable=False),
    sa.Column('first_detected_at', sa.DateTime(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['road_id'], ['road.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('crash',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('geom', Geometry('POINT'), nullable=True),
    sa.Column('road_id', sa.Integer(), nullable=True),
    sa.Column('road_code', sa.String(length=64), nullable=True),
    sa.Column('chainage_m', sa.Float(), nullable=True),
    sa.Column('located_by', sa.String(length=16), nullable=True),
    sa.Column('commune', sa.String(length=200), nullable=True),
    sa.Column('deaths', sa.Integer(), nullable=False),
    sa.Column('injured', sa.Integer(), nullable=False),
    sa.Column('injury_pct', sa.Float(), nullable=True),
    sa.Column('damage_vnd', sa.Float(), nullable=True),
    sa.Column('vehicle_types', sa.String(length=200), nullable=True),
    sa.Column('alcohol', sa.Boolean(), nullable=False),
    sa.Column('not_infrastructure', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('severity', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('is_simulated', sa.Boolean(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['road_id'], ['road.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedup_key', name='uq_crash_dedup_key')
    )
    with op.batch_alter_table('crash', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crash_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crash_commune'), ['commune'], unique=False)
        batch_op.create_index(batch_op.f('ix_crash_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_crash_road_chainage', ['road_id', 'chainage_m'], unique=False)

    op.create_table('plan_section',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('encroachment_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('detected', 'recorded', 'deadline_set', 'cleared', 'enforced', 'cancelled', name='casestatus', native_enum=False, length=32), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('geom', Geometry('GEOMETRY'), nullable=True),
    sa.Column('road_id', sa.Integer(), nullable=True),
    sa.Column('chainage_m', sa.Float(), nullable=True),
    sa.Column('side', sa.String(length=8), nullable=True),
    sa.Column('distance_inside_m', sa.Float(), nullable=True),
    sa.Column('commune', sa.String(length=200), nullable=True),
    sa.Column('record_no', sa.String(length=64), nullable=True),
    sa.Column('record_date', sa.Date(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['road_id'], ['road.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('plan_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_type', sa.Enum('blackspot', 'case', 'work', name='itemtype', native_enum=False, length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=True),
    sa.Column('lead_agency_id', sa.Integer(), nullable=True),
    sa.Column('cooperating_agency_ids', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['lead_agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['section_id'], ['plan_section.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_type', 'item_id', name='uq_plan_link_item')
    )
    op.create_table('remediation_work',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blackspot_id', sa.Integer(), nullable=True),
    sa.Column('road_id', sa.Integer(), nullable=True),
    sa.Column('from_m', sa.Float(), nullable=True),
    sa.Column('to_m', sa.Float(), nullable=True),
    sa.Column('work_type', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('cost_vnd', sa.Float(), nullable=True),
    sa.Column('funding_source', sa.String(length=200), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('proposed', 'approved', 'in_progress', 'done', name='workstatus', native_enum=False, length=32), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=True),
    sa.Column('planned_end', sa.Date(), nullable=True),
    sa.Column('actual_start', sa.Date(), nullable=True),
    sa.Column('actual_end', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['blackspot_id'], ['blackspot.id'], ),
    sa.ForeignKeyConstraint(['road_id'], ['road.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    if postgres:
        for table in GEOMETRY_TABLES:
            op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING GIST (geom)")


def downgrade() -> None:
    op.drop_table('remediation_work')
    op.drop_table('plan_link')
    op.drop_table('encroachment_case')
    op.drop_table('plan_section')
    with op.batch_alter_table('crash', schema=None) as batch_op:
        batch_op.drop_index('ix_crash_road_chainage')
        batch_op.drop_index(batch_op.f('ix_crash_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_crash_commune'))
        batch_op.drop_index(batch_op.f('ix_crash_batch_id'))

    op.drop_table('crash')
    op.drop_table('blackspot')
    op.drop_table('agency')
    with op.batch_alter_table('road', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_road_code'))

    op.drop_table('road')
    op.drop_table('plan')
    op.drop_table('import_batch')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_item')

    op.drop_table('audit_log')
    with op.batch_alter_table('admin_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_unit_code'))

    op.drop_table('admin_unit')
