"""All error classes of the project. Each carries a message fit for the user
(Vietnamese first, English after a slash)."""

from __future__ import annotations


class BlackspotError(Exception):
    """Base of every error the tool raises on purpose."""


class InputFileError(BlackspotError):
    """A file that cannot be read: empty, too large, wrong encoding, no layer."""


class ColumnMappingError(InputFileError):
    """The columns of a table cannot be matched to the fields needed."""

    def __init__(self, message: str, *, missing: list[str] | None = None, columns: list[str] | None = None):
        super().__init__(message)
        self.missing = missing or []
        self.columns = columns or []


class CRSError(BlackspotError):
    """An unknown or unsuitable coordinate reference system."""


class ChainageError(BlackspotError):
    """A chainage (lý trình) that cannot be parsed or lies off its road."""


class RuleSetError(BlackspotError):
    """A rule set file that is missing or malformed."""


class StoreError(BlackspotError):
    """A failure of the store (database)."""


class NotFoundError(StoreError):
    """The item asked for does not exist (or was deleted)."""


class ConflictError(StoreError):
    """Optimistic locking: someone else saved the item first."""


class TransitionError(StoreError):
    """A status change that the workflow does not allow."""


class ImportRejected(StoreError):
    """An import the user chose not to carry out (invalid rows, nothing to do)."""


class AuthError(BlackspotError):
    """Wrong user name or password, an inactive account, or an expired session."""


class PermissionDenied(StoreError):
    """The user's role or commune does not allow this write."""


class BackupError(StoreError):
    """A backup file that cannot be restored: missing, damaged, truncated,
    foreign, or from a newer version of the tool. The store is left as it was."""


class FieldEntryError(BlackspotError):
    """A field entry (the phone page) refused before anything is written: no
    place, no description, a photo that is not an image or too large."""


class AreaError(BlackspotError):
    """An area to filter by that is not a valid polygon or multipolygon in
    WGS 84 (lon/lat): unreadable text, a line or point, edges crossing."""


class ValueOutOfRange(BlackspotError, ValueError):
    """A value typed or given out of its range (a cost that is negative,
    not a number or beyond any budget); nothing is written."""
