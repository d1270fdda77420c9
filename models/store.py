"""The store: every read and write of the domain goes through here (the
repository). Pages and services never write SQL.

Writes are transactions: an import batch is all-or-nothing, a status change
checks the version the user saw (optimistic locking), every ORM change is
written in the audit log with its user, and every write is checked against
the acting user's role (``Store.with_principal``). The parts live in one
module each (``models/_store_*.py``); this class puts them together.
"""

from __future__ import annotations

from models._store_accounts import AccountsMixin
from models._store_base import StoreBase
from models._store_crashes import CRASH_FRAME_COLUMNS, CrashesMixin, ImportSummary, UndoSummary, encode_crash_rows
from models._store_duplicates import DuplicatesMixin
from models._store_items import ItemsMixin
from models._store_network import NetworkMixin
from models._store_plans import PlansMixin
from models._store_spots import SpotsMixin

__all__ = ["CRASH_FRAME_COLUMNS", "ImportSummary", "Store", "UndoSummary", "encode_crash_rows"]


class Store(AccountsMixin, PlansMixin, ItemsMixin, SpotsMixin, DuplicatesMixin, CrashesMixin, NetworkMixin, StoreBase):
    """Access to one database (SQLite file or PostGIS)."""
