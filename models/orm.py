"""The persistent domain: tables of the store (SQLAlchemy 2 declarative).

Every editable row carries ``version`` for optimistic locking: SQLAlchemy adds
``WHERE version = :old`` to each UPDATE and raises when another user saved
first. Geometries are WGS 84; crash points also keep ``lon``/``lat`` columns so
that large loads need no geometry parsing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from models.enums import AdminLevel, BatchStatus, BlackspotStatus, CaseStatus, ItemType, SpotKind, WorkStatus
from models.types import Geometry


def _enum(cls):
    return Enum(
        cls, values_callable=lambda e: [m.value for m in e], native_enum=False, length=32, validate_strings=True
    )


class Base(DeclarativeBase):
    pass


class Versioned:
    """Mixin: optimistic-locking version and edit stamps."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=func.now(), onupdate=func.now())
    updated_by: Mapped[str | None] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


class AdminUnit(Versioned, Base):
    __tablename__ = "admin_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[AdminLevel] = mapped_column(_enum(AdminLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    geom = mapped_column(Geometry("MULTIPOLYGON"), nullable=True)


class Road(Versioned, Base):
    __tablename__ = "road"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    road_class: Mapped[str | None] = mapped_column(String(16))
    is_urban: Mapped[bool] = mapped_column(Boolean, default=False)
    carriageway_width_m: Mapped[float | None] = mapped_column(Float)
    road_land_half_width_m: Mapped[float | None] = mapped_column(Float)
    km_start_m: Mapped[float] = mapped_column(Float, default=0.0)
    length_m: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(200))
    geom = mapped_column(Geometry("GEOMETRY"), nullable=False)


class ImportBatch(Base):
    __tablename__ = "import_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=func.now())
    created_by: Mapped[str | None] = mapped_column(String(64))
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    n_imported: Mapped[int] = mapped_column(Integer, default=0)
    n_skipped: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus), default=BatchStatus.ACTIVE)
    source: Mapped[str | None] = mapped_column(String(200))
    is_simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class Crash(Versioned, Base):
    __tablename__ = "crash"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_crash_dedup_key"),
        Index("ix_crash_road_chainage", "road_id", "chainage_m"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("POINT"), nullable=True)
    road_id: Mapped[int | None] = mapped_column(ForeignKey("road.id"))
    road_code: Mapped[str | None] = mapped_column(String(64))
    chainage_m: Mapped[float | None] = mapped_column(Float)
    located_by: Mapped[str | None] = mapped_column(String(16))
    commune: Mapped[str | None] = mapped_column(String(200), index=True)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    injured: Mapped[int] = mapped_column(Integer, default=0)
    injury_pct: Mapped[float | None] = mapped_column(Float)
    damage_vnd: Mapped[float | None] = mapped_column(Float)
    vehicle_types: Mapped[str | None] = mapped_column(String(200))
    alcohol: Mapped[bool] = mapped_column(Boolean, default=False)
    not_infrastructure: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    commune_now: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(200))
    is_simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), index=True)
    #: a crash merged by a person into another report of the same crash (it is then ``deleted``)
    merged_into: Mapped[int | None] = mapped_column(Integer)


class CrashPairDecision(Base):
    """A person's decision on a candidate pair of duplicates (two sources'
    reports): ``merged`` or ``distinct`` (not a duplicate), so the pair is not
    offered again. ``crash_a`` is the smaller id."""

    __tablename__ = "crash_pair_decision"
    __table_args__ = (UniqueConstraint("crash_a", "crash_b", name="uq_crash_pair_decision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    crash_a: Mapped[int] = mapped_column(ForeignKey("crash.id", ondelete="CASCADE"))
    crash_b: Mapped[int] = mapped_column(ForeignKey("crash.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, default=func.now())
    decided_by: Mapped[str | None] = mapped_column(String(64))


class Agency(Versioned, Base):
    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[AdminLevel | None] = mapped_column(_enum(AdminLevel))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    admin_unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    is_standing_body: Mapped[bool] = mapped_column(Boolean, default=False)


class Plan(Versioned, Base):
    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[date | None] = mapped_column(Date)
    issuer: Mapped[str | None] = mapped_column(String(300))
    place: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    signer: Mapped[str | None] = mapped_column(String(200))
    recipients: Mapped[list | None] = mapped_column(JSON)
    targets: Mapped[list | None] = mapped_column(JSON)
    sections: Mapped[list["PlanSection"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanSection.position"
    )


class PlanSection(Versioned, Base):
    __tablename__ = "plan_section"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[Plan] = relationship(back_populates="sections")


class Blackspot(Versioned, Base):
    __tablename__ = "blackspot"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SpotKind] = mapped_column(_enum(SpotKind))
    status: Mapped[BlackspotStatus] = mapped_column(_enum(BlackspotStatus), default=BlackspotStatus.CANDIDATE)
    name: Mapped[str | None] = mapped_column(String(300))
    road_id: Mapped[int | None] = mapped_column(ForeignKey("road.id"))
    road_code: Mapped[str | None] = mapped_column(String(64))
    from_m: Mapped[float | None] = mapped_column(Float)
    to_m: Mapped[float | None] = mapped_column(Float)
    commune: Mapped[str | None] = mapped_column(String(200))
    geom = mapped_column(Geometry("GEOMETRY"), nullable=True)
    ruleset: Mapped[str | None] = mapped_column(String(32))
    tests: Mapped[str | None] = mapped_column(String(64))
    test_labels: Mapped[str | None] = mapped_column(Text)
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    n_crashes: Mapped[int] = mapped_column(Integer, default=0)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    injured: Mapped[int] = mapped_column(Integer, default=0)
    epdo: Mapped[float] = mapped_column(Float, default=0.0)
    n_windows: Mapped[int | None] = mapped_column(Integer)  # qualifying windows the spot chains
    window_m: Mapped[float | None] = mapped_column(Float)  # the window (segment) length it was screened with
    crash_ids: Mapped[list | None] = mapped_column(JSON)
    window_crash_ids: Mapped[list | None] = mapped_column(JSON)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    manual_reason: Mapped[str | None] = mapped_column(Text)
    still_qualifies: Mapped[bool] = mapped_column(Boolean, default=True)
    first_detected_at: Mapped[datetime] = mapped_column(DateTime, default=func.now())
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    notes: Mapped[str | None] = mapped_column(Text)


class EncroachmentCase(Versioned, Base):
    __tablename__ = "encroachment_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.DETECTED)
    kind: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("GEOMETRY"), nullable=True)
    road_id: Mapped[int | None] = mapped_column(ForeignKey("road.id"))
    chainage_m: Mapped[float | None] = mapped_column(Float)
    side: Mapped[str | None] = mapped_column(String(8))
    distance_inside_m: Mapped[float | None] = mapped_column(Float)
    commune: Mapped[str | None] = mapped_column(String(200))
    record_no: Mapped[str | None] = mapped_column(String(64))
    record_date: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"))
    road_code: Mapped[str | None] = mapped_column(String(64))
    zone: Mapped[str | None] = mapped_column(String(16))
    distance_m: Mapped[float | None] = mapped_column(Float)
    detected_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)


class RemediationWork(Versioned, Base):
    __tablename__ = "remediation_work"
    id: Mapped[int] = mapped_column(primary_key=True)
    blackspot_id: Mapped[int | None] = mapped_column(ForeignKey("blackspot.id"))
    road_id: Mapped[int | None] = mapped_column(ForeignKey("road.id"))
    from_m: Mapped[float | None] = mapped_column(Float)
    to_m: Mapped[float | None] = mapped_column(Float)
    work_type: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    cost_vnd: Mapped[float | None] = mapped_column(Float)
    funding_source: Mapped[str | None] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    status: Mapped[WorkStatus] = mapped_column(_enum(WorkStatus), default=WorkStatus.PROPOSED)
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    actual_start: Mapped[date | None] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    road_code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(300))
    commune: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)


class PlanLink(Versioned, Base):
    """Links an item (black spot, case, work) to a plan section and agencies."""

    __tablename__ = "plan_link"
    __table_args__ = (UniqueConstraint("item_type", "item_id", name="uq_plan_link_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[ItemType] = mapped_column(_enum(ItemType))
    item_id: Mapped[int] = mapped_column(Integer)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("plan_section.id"))
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    cooperating_agency_ids: Mapped[list | None] = mapped_column(JSON)


class Attachment(Base):
    """A note or a photo attached to any item (black spot, case, work)."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_item", "item_type", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # note | photo
    text: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(300))
    path: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime, default=func.now())
    user: Mapped[str | None] = mapped_column(String(64))


class AttachmentBlob(Base):
    """A photo's bytes, in the store: every server and every backup has them."""

    __tablename__ = "attachment_blob"
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class User(Versioned, Base):
    """An account: password kept as an argon2/bcrypt hash, one role, and for
    commune editors the commune they may edit."""

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("username", name="uq_app_user_username"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    commune: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=func.now())


class AuditLog(Base):
    """Every change: who, when, which row, old → new values."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_item", "table_name", "row_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=func.now())
    user: Mapped[str | None] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict | None] = mapped_column(JSON)
    os_user: Mapped[str | None] = mapped_column(String(64))


class AppSetting(Versioned, Base):
    """A setting of the installation kept in the store, so every server
    process and every backup has it (e.g. ``organisation``)."""

    __tablename__ = "app_setting"
    __table_args__ = (UniqueConstraint("key", name="uq_app_setting_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict | None] = mapped_column(JSON)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the store only
    its SHA-256. Ends at sign-out, after ``expires_at`` or when idle longer
    than the session time-out."""

    __tablename__ = "web_session"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_web_session_token"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)


class ServiceToken(Base):
    """A token an admin creates for a script (e.g. the nightly import); it
    acts as ``username``. Only its SHA-256 is stored."""

    __tablename__ = "service_token"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_service_token_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
