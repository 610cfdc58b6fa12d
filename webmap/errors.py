"""The project's exceptions.

Every error a user can cause is one of these; the CLI turns it into one line on stderr and an exit
code, the web into a 4xx JSON body. Messages name the field (and the row, for imports).
"""

from __future__ import annotations

from pathlib import Path


class WebmapError(Exception):
    """Base of every error webmap reports to a user."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(WebmapError):
    """A setting (environment variable or option) is unusable; names the variable."""

    def __init__(self, variable: str, message: str):
        self.variable = variable
        super().__init__(f"{variable}: {message}")


class IncompleteInstall(WebmapError):
    """A data file the installed package shipped (gazetteer, boundary layer, template) is gone."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path} is missing: this webmap installation is incomplete (reinstall webmap)")


class UnreadableFile(WebmapError):
    """An input file cannot be read as one: missing, not a regular file, or past a size cap."""

    def __init__(self, path: Path | str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class UnwritableFile(WebmapError):
    """A file cannot be written where the user asked: it is a link, a device, the database, exists, ..."""

    def __init__(self, path: Path | str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class InvalidRecord(WebmapError):
    """One field of one incident is invalid: ``row N: field: problem``."""

    def __init__(self, field: str, message: str, row: int | None = None):
        self.field = field
        self.problem = message
        self.row = row
        super().__init__(self._format())

    def _format(self) -> str:
        prefix = f"row {self.row}: " if self.row is not None else ""
        return f"{prefix}{self.field}: {self.problem}"

    @property
    def details(self) -> dict:
        """More facts about the error for a JSON answer (none here; see :class:`UnplacedRecord`)."""
        return {}

    def at_row(self, row: int) -> InvalidRecord:
        """The same error, located at ``row`` of an input file."""
        return InvalidRecord(self.field, self.problem, row=row)


class DuplicateRecord(InvalidRecord):
    """An incident would take the ``source`` + ``source_id`` of another stored incident."""

    def __init__(self, source: str | None, source_id: str, holder: int):
        self.holder = holder
        super().__init__("source_id", f"{source_id!r} of source {source!r} is already incident {holder}")


class UnplacedRecord(InvalidRecord):
    """A record without coordinates that the gazetteer could not place surely enough (the field is
    ``location``): ``name``, ``district`` and ``governorate`` are what it was placed by,
    ``candidates`` the gazetteer's best answers (JSON-ready dicts, best first, possibly none)."""

    def __init__(
        self,
        message: str,
        candidates: list[dict] | None = None,
        row: int | None = None,
        *,
        name: str = "",
        district: str = "",
        governorate: str = "",
    ):
        self.candidates = list(candidates or [])
        self.name, self.district, self.governorate = name, district, governorate
        super().__init__("location", message, row)

    @property
    def details(self) -> dict:
        return {"candidates": self.candidates}

    def at_row(self, row: int) -> UnplacedRecord:
        return UnplacedRecord(
            self.problem, self.candidates, row, name=self.name, district=self.district, governorate=self.governorate
        )


class ImportFailed(WebmapError):
    """An import was refused whole; ``errors`` lists every bad row found (up to a limit)."""

    def __init__(self, errors: list[InvalidRecord], total_bad: int | None = None, header: str = ""):
        self.errors = errors
        self.total_bad = total_bad if total_bad is not None else len(errors)
        lines = [header or f"import refused, nothing written: {self.total_bad} bad row(s)"]
        lines += [str(e) for e in errors]
        if self.total_bad > len(errors):
            lines.append(f"... and {self.total_bad - len(errors)} more")
        super().__init__("\n".join(lines))


class BadRows:
    """The bad rows of one input file: every one counted, the first :attr:`limit` kept to list.

    Readers go on past a bad row so one refusal names them all; :meth:`failure` is that refusal.
    """

    limit = 20

    def __init__(self) -> None:
        self.errors: list[InvalidRecord] = []
        self.count = 0

    def add(self, error: InvalidRecord) -> None:
        self.count += 1
        if len(self.errors) < self.limit:
            self.errors.append(error)

    def failure(self, header: str) -> ImportFailed:
        """The :class:`ImportFailed` listing the kept rows under ``header``."""
        return ImportFailed(self.errors, self.count, header=header)


class InvalidFilter(WebmapError):
    """A filter parameter (query string or CLI option) is invalid; names the parameter."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class NotFound(WebmapError):
    """A requested thing (incident id, place) does not exist."""

    exit_code = 1


class StoreBusy(WebmapError):
    """The database's write lock stayed taken (an import, another edit) past the writer's wait:
    nothing was written; ``retry_after`` seconds is a fair time to try again."""

    exit_code = 1

    def __init__(self, message: str, retry_after: int):
        self.retry_after = retry_after
        super().__init__(message)


class TooManyAttempts(WebmapError):
    """Too many wrong tokens from one address or for the account: refused for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int):
        self.retry_after = retry_after
        super().__init__(message)


class NotAuthenticated(WebmapError):
    """Who is asking is not known: a wrong name or password, an unknown, expired or revoked token (HTTP 401)."""


class Forbidden(WebmapError):
    """The user is known but may not do ``action`` (HTTP 403): their role lacks it, the account is
    disabled, or a rule of the review (the two-person rule, an analyst's own drafts) refuses it."""

    def __init__(self, action: str, message: str):
        self.action = action
        super().__init__(message)


class Conflict(WebmapError):
    """The incident is not in a state the write needs (HTTP 409): an edit of a deleted incident, a
    restore of one that is not deleted, a merge into itself."""


class GeodataError(WebmapError):
    """A boundary layer is unusable: invalid geometry, missing columns, bad nesting."""


class GazetteerError(WebmapError):
    """A gazetteer file or query is unusable."""
