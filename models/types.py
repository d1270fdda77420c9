"""A geometry column type for both back-ends: PostGIS ``geometry(TYPE, 4326)``
on PostgreSQL, WKB bytes in a BLOB on SQLite. Values are shapely geometries."""

from __future__ import annotations

import shapely
from sqlalchemy import LargeBinary, func
from sqlalchemy.types import TypeDecorator, UserDefinedType


class _PostGISGeometry(UserDefinedType):
    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = 4326):
        self.geometry_type = geometry_type
        self.srid = srid

    def get_col_spec(self, **kw) -> str:
        return f"geometry({self.geometry_type},{self.srid})"

    def bind_expression(self, bindvalue):
        return func.ST_GeomFromEWKB(bindvalue)

    def column_expression(self, col):
        return func.ST_AsBinary(col, type_=col.type)


class Geometry(TypeDecorator):
    """Shapely geometry in WGS 84 (EPSG:4326)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = 4326):
        super().__init__()
        self.geometry_type = geometry_type.upper()
        self.srid = srid

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostGISGeometry(self.geometry_type, self.srid))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = shapely.from_wkb(bytes(value))
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(value, self.srid), include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return shapely.from_wkb(bytes(value))
