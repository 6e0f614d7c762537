"""Each unit's part of the year's self-evaluation: a narrative per item, attachments, and its
submission to the 行政室 before the deadline.

The plan (柒、三) asks units to hand in their self-evaluation within the last month of the year:
the deadline here is 1 December 00:00 office time (Asia/Taipei), whatever the server's zone. A
submitted evaluation is locked: narratives and attachments are refused with a message saying
so, until a manager reopens it. After the deadline only a manager may still edit or submit
(the submission is then marked late). Callers write each change to the audit log.

Attachments are checked by their first bytes as well as their name (a renamed .exe is refused)
and capped in size and number, since they live in the database and its backups.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from datetime import date as date_cls

from server_sync.wire.tz import OFFICE_TZ

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 20  # per unit and year
MAX_NARRATIVE_CHARS = 8000
DRAFT, SUBMITTED = "draft", "submitted"

_ODF = {
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}
_OOXML = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
MIME = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", **_ODF, **_OOXML}
ALLOWED = ", ".join(MIME)


class EvaluationError(ValueError):
    """A change refused, with the message to show."""


class Locked(EvaluationError):
    pass


@dataclass
class Attachment:
    id: int
    item: str
    filename: str
    mime: str
    size: int
    sha256: str
    uploaded_at: str
    uploaded_by: str


@dataclass
class Submission:
    year: int
    unit: str
    status: str = DRAFT
    narratives: dict[str, str] = field(default_factory=dict)
    updated_at: str = ""
    updated_by: str = ""
    submitted_at: str = ""
    submitted_by: str = ""
    late: bool = False
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def submitted(self) -> bool:
        return self.status == SUBMITTED

    @property
    def submitted_local(self) -> str:
        """When it was submitted, in office time."""
        if not self.submitted_at:
            return ""
        return datetime.fromisoformat(self.submitted_at).astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M (臺北時間)")

    @property
    def status_label(self) -> str:
        if self.submitted:
            return "已送出 submitted" + (" (逾期 late)" if self.late else "")
        return "草稿 draft" if self.updated_at else "尚未填寫 not started"


def create_tables(db) -> None:
    """Part of the m502 migration (db.py)."""
    db.execute("""CREATE TABLE eval_submissions (
                    year INTEGER NOT NULL,
                    unit TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted')),
                    narratives TEXT NOT NULL,          -- JSON {item code: text}
                    updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
                    submitted_at TEXT, submitted_by TEXT,
                    late INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (year, unit)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE eval_attachments (
                    id INTEGER PRIMARY KEY,
                    year INTEGER NOT NULL,
                    unit TEXT NOT NULL,
                    item TEXT NOT NULL,
                    filename TEXT NOT NULL,
                    mime TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    data BLOB NOT NULL,
                    uploaded_at TEXT NOT NULL,
                    uploaded_by TEXT NOT NULL)""")
    db.execute("CREATE INDEX eval_attachments_unit ON eval_attachments(year, unit)")


def deadline(year: int) -> datetime:
    """1 December of ``year``, 00:00 office time: one month before the year ends."""
    return datetime.combine(date_cls(year, 12, 1), time(0), OFFICE_TZ)


def deadline_text(year: int) -> str:
    return f"{year}-11-30 24:00 (臺北時間 Asia/Taipei)"


def _iso(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds")


def get(conn: sqlite3.Connection, year: int, unit: str) -> Submission:
    row = conn.execute(
        "SELECT status, narratives, updated_at, updated_by, submitted_at, submitted_by, late FROM eval_submissions"
        " WHERE year = ? AND unit = ?",
        [year, unit],
    ).fetchone()
    sub = Submission(year, unit)
    if row:
        sub.status, sub.narratives = row[0], json.loads(row[1])
        sub.updated_at, sub.updated_by = row[2], row[3]
        sub.submitted_at, sub.submitted_by, sub.late = row[4] or "", row[5] or "", bool(row[6])
    sub.attachments = [
        Attachment(*r)
        for r in conn.execute(
            "SELECT id, item, filename, mime, size, sha256, uploaded_at, uploaded_by FROM eval_attachments"
            " WHERE year = ? AND unit = ? ORDER BY id",
            [year, unit],
        )
    ]
    return sub


def units_started(conn: sqlite3.Connection, year: int) -> list[str]:
    return [u for (u,) in conn.execute("SELECT unit FROM eval_submissions WHERE year = ? ORDER BY unit", [year])]


def _may_change(sub: Submission, now: datetime, manager: bool) -> None:
    if sub.submitted:
        raise Locked(
            f"{sub.unit} {sub.year} 年自評已於 {sub.submitted_local} 由 {sub.submitted_by} 送出並鎖定,"
            "如需修改請管理者退回 / submitted and locked: a manager must reopen it before any change"
        )
    if now >= deadline(sub.year) and not manager:
        raise EvaluationError(
            f"已過送出期限 {deadline_text(sub.year)},請洽行政室(管理者)/ past the deadline: only a manager may "
            "still change or submit it"
        )


def _check_unit(unit: str) -> str:
    unit = unit.strip()
    if not unit or len(unit) > 64:
        raise EvaluationError("請選擇單位 / choose a unit (1-64 characters)")
    return unit


def _write(conn: sqlite3.Connection, sub: Submission) -> None:
    conn.execute(
        "INSERT INTO eval_submissions VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (year, unit) DO UPDATE SET"
        " status = excluded.status, narratives = excluded.narratives, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by, submitted_at = excluded.submitted_at,"
        " submitted_by = excluded.submitted_by, late = excluded.late",
        [
            sub.year,
            sub.unit,
            sub.status,
            json.dumps(sub.narratives, ensure_ascii=False),
            sub.updated_at,
            sub.updated_by,
            sub.submitted_at or None,
            sub.submitted_by or None,
            int(sub.late),
        ],
    )


def save_narratives(
    conn: sqlite3.Connection,
    year: int,
    unit: str,
    texts: dict[str, str],
    item_codes: list[str],
    by: str,
    now: datetime,
    *,
    manager: bool,
) -> list[str]:
    """Store the unit's narratives (item code → text); the codes whose text changed."""
    sub = get(conn, year, _check_unit(unit))
    _may_change(sub, now, manager)
    changed = []
    for code, text in texts.items():
        if code not in item_codes:
            raise EvaluationError(f"沒有此評核項目 / no item {code!r} in {year}")
        text = text.replace("\r\n", "\n").strip()
        if len(text) > MAX_NARRATIVE_CHARS:
            raise EvaluationError(
                f"{code}: 說明至多 {MAX_NARRATIVE_CHARS} 字 / at most {MAX_NARRATIVE_CHARS} characters"
            )
        if sub.narratives.get(code, "") != text:
            sub.narratives[code] = text
            changed.append(code)
    sub.updated_at, sub.updated_by = _iso(now), by
    _write(conn, sub)
    return changed


def file_type(filename: str, data: bytes) -> str:
    """The MIME type of an allowed attachment, or EvaluationError: the name's extension and the
    first bytes must agree."""
    name = filename.lower()
    ext = name[name.rfind(".") :] if "." in name else ""
    if ext not in MIME:
        raise EvaluationError(f"不接受此檔案類型 / file type not accepted: {ext or '(none)'}; allowed: {ALLOWED}")
    ok = False
    if ext == ".pdf":
        ok = data.startswith(b"%PDF-")
    elif ext == ".png":
        ok = data.startswith(b"\x89PNG\r\n\x1a\n")
    elif ext in (".jpg", ".jpeg"):
        ok = data.startswith(b"\xff\xd8\xff")
    elif data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if ext in _ODF:
                    ok = z.read("mimetype").decode("ascii", "replace").strip() == _ODF[ext]
                else:
                    ok = "[Content_Types].xml" in z.namelist()
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
            ok = False
    if not ok:
        raise EvaluationError(f"檔案內容與副檔名 {ext} 不符 / the file's content is not a {ext} file")
    return MIME[ext]


def clean_filename(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')
    return base.strip()[:120] or "attachment"


def add_attachment(
    conn: sqlite3.Connection,
    year: int,
    unit: str,
    item: str,
    filename: str,
    data: bytes,
    by: str,
    now: datetime,
    *,
    item_codes: list[str],
    manager: bool,
) -> Attachment:
    sub = get(conn, year, _check_unit(unit))
    _may_change(sub, now, manager)
    if item not in item_codes:
        raise EvaluationError(f"沒有此評核項目 / no item {item!r} in {year}")
    if not data:
        raise EvaluationError("檔案是空的 / the file is empty")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise EvaluationError(
            f"附件至多 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB / an attachment may be at most "
            f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB"
        )
    if len(sub.attachments) >= MAX_ATTACHMENTS:
        raise EvaluationError(f"附件至多 {MAX_ATTACHMENTS} 個 / at most {MAX_ATTACHMENTS} attachments per unit")
    filename = clean_filename(filename)
    mime = file_type(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    at = _iso(now)
    if not sub.updated_at:  # the first change makes the draft
        sub.updated_at, sub.updated_by = at, by
        _write(conn, sub)
    cur = conn.execute(
        "INSERT INTO eval_attachments (year, unit, item, filename, mime, size, sha256, data, uploaded_at,"
        " uploaded_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [year, sub.unit, item, filename, mime, len(data), digest, data, at, by],
    )
    assert cur.lastrowid is not None
    return Attachment(cur.lastrowid, item, filename, mime, len(data), digest, at, by)


def attachment_data(conn: sqlite3.Connection, attachment_id: int) -> tuple[Attachment, int, str, bytes] | None:
    """The attachment, its year and unit, and its bytes."""
    row = conn.execute(
        "SELECT id, item, filename, mime, size, sha256, uploaded_at, uploaded_by, year, unit, data"
        " FROM eval_attachments WHERE id = ?",
        [attachment_id],
    ).fetchone()
    if row is None:
        return None
    return Attachment(*row[:8]), row[8], row[9], row[10]


def remove_attachment(
    conn: sqlite3.Connection, attachment_id: int, by: str, now: datetime, *, manager: bool
) -> Attachment:
    found = attachment_data(conn, attachment_id)
    if found is None:
        raise EvaluationError(f"沒有此附件 / no attachment {attachment_id}")
    att, year, unit, _ = found
    _may_change(get(conn, year, unit), now, manager)
    conn.execute("DELETE FROM eval_attachments WHERE id = ?", [attachment_id])
    return att


def submit(conn: sqlite3.Connection, year: int, unit: str, by: str, now: datetime, *, manager: bool) -> Submission:
    sub = get(conn, year, _check_unit(unit))
    _may_change(sub, now, manager)
    if not any(t.strip() for t in sub.narratives.values()) and not sub.attachments:
        raise EvaluationError("尚未填寫任何說明或附件 / nothing written or attached yet")
    sub.status, sub.submitted_at, sub.submitted_by = SUBMITTED, _iso(now), by
    sub.late = now >= deadline(year)
    if not sub.updated_at:
        sub.updated_at, sub.updated_by = sub.submitted_at, by
    _write(conn, sub)
    return sub


def reopen(conn: sqlite3.Connection, year: int, unit: str, by: str, now: datetime) -> Submission:
    """A manager hands a submitted evaluation back to its unit as a draft."""
    sub = get(conn, year, unit)
    if not sub.submitted:
        raise EvaluationError(f"{unit} {year} 年自評尚未送出 / not submitted, nothing to reopen")
    sub.status, sub.submitted_at, sub.submitted_by, sub.late = DRAFT, "", "", False
    sub.updated_at, sub.updated_by = _iso(now), by
    _write(conn, sub)
    return sub
