"""ODF files (CNS 15251, the format Taiwan's government asks of systems that export editable documents).

Spreadsheets (.ods) from tables, text documents (.odt) from a list of blocks, both written by odfpy.
Every cell goes through ``cells.cell`` first, as in the CSV and XLSX exports, and text is always a
string cell (``office:value-type="string"``) with no ``table:formula``: ODF keeps formulas in their
own attribute, so text that reads ``=HYPERLINK(...)`` stays text. The default style names Noto Sans
CJK TC as the Asian font and zh-TW as the Asian language, so LibreOffice lays Chinese out with a
CJK face rather than whatever fallback it finds.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from odf.opendocument import OpenDocument, OpenDocumentSpreadsheet, OpenDocumentText
from odf.style import (
    FontFace,
    ParagraphProperties,
    Style,
    TableCellProperties,
    TableColumnProperties,
    TextProperties,
)
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import H, P

from server_sync.collector import cells

CJK_FONT = "Noto Sans CJK TC"
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
ODT_MIME = "application/vnd.oasis.opendocument.text"


class TableLike(Protocol):
    """What a sheet is made from (admin.exports.Table has these)."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Sheet:
    name: str
    title: str
    headers: list[str]
    rows: list[list[Any]]


# -- text-document blocks -----------------------------------------------------------------------
@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str
    muted: bool = False


@dataclass
class Grid:
    """A table in a text document: a header row, then rows."""

    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    widths: list[float] | None = None  # relative column widths; equal when None


Block = Heading | Para | Grid


def _fonts(doc: OpenDocument) -> None:
    doc.fontfacedecls.addElement(FontFace(name=CJK_FONT, fontfamily=f"'{CJK_FONT}'", fontfamilygeneric="swiss"))
    default = Style(name="Standard", family="paragraph")
    default.addElement(
        TextProperties(
            fontname=CJK_FONT,
            fontnameasian=CJK_FONT,
            fontnamecomplex=CJK_FONT,
            language="zh",
            country="TW",
            languageasian="zh",
            countryasian="TW",
        )
    )
    doc.styles.addElement(default)


def _cell_value(value: Any) -> TableCell:
    value = cells.cell(value)
    if isinstance(value, bool):
        value = "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        cell = TableCell(valuetype="float", value=value)
        cell.addElement(P(text=str(value)))
        return cell
    cell = TableCell(valuetype="string", stringvalue=value)
    for line in str(value).split("\n") or [""]:
        cell.addElement(P(text=line))
    return cell


def _row(values: Iterable[Any], style: Style | None = None) -> TableRow:
    tr = TableRow()
    for v in values:
        c = _cell_value(v)
        if style is not None:
            c.setAttribute("stylename", style)
        tr.addElement(c)
    return tr


def _sheet_name(name: str, used: set[str]) -> str:
    # ODF sheet names may not hold these; LibreOffice refuses a file with duplicates.
    clean = "".join("_" if ch in "[]*?:/\\'" else ch for ch in name)[:31] or "sheet"
    candidate, i = clean, 2
    while candidate in used:
        candidate = f"{clean[:28]}-{i}"
        i += 1
    used.add(candidate)
    return candidate


def _save(doc: OpenDocument) -> bytes:
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def to_ods(tables: Sequence[TableLike], notes: Sequence[str] | None = None) -> bytes:
    """One sheet per table: its title, its header row (bold), its rows; notes on a last sheet."""
    doc = OpenDocumentSpreadsheet()
    _fonts(doc)
    bold = Style(name="head", family="table-cell")
    bold.addElement(TextProperties(fontweight="bold", fontweightasian="bold"))
    bold.addElement(TableCellProperties(backgroundcolor="#eef2f7", wrapoption="wrap"))
    doc.automaticstyles.addElement(bold)
    title_style = Style(name="title", family="table-cell")
    title_style.addElement(TextProperties(fontweight="bold", fontsize="13pt", fontweightasian="bold"))
    doc.automaticstyles.addElement(title_style)
    widths: dict[str, Style] = {}
    used: set[str] = set()
    for t in tables:
        sheet = Table(name=_sheet_name(t.name, used))
        for i, h in enumerate(t.headers):
            chars = max([len(str(h)) * 0.9] + [len(str(r[i])) * 1.6 for r in t.rows[:200] if i < len(r)])
            width = f"{min(60, max(8, round(chars))) * 0.22:.2f}cm"
            style = widths.get(width)
            if style is None:
                style = widths[width] = Style(name=f"col{len(widths)}", family="table-column")
                style.addElement(TableColumnProperties(columnwidth=width))
                doc.automaticstyles.addElement(style)
            sheet.addElement(TableColumn(stylename=style))
        if t.title:  # open data starts with the header row: no title there
            sheet.addElement(_row([t.title], title_style))
        sheet.addElement(_row(t.headers, bold))
        for r in t.rows:
            sheet.addElement(_row(r))
        doc.spreadsheet.addElement(sheet)
    if notes:
        sheet = Table(name=_sheet_name("notes", used))
        for line in notes:
            sheet.addElement(_row([line]))
        doc.spreadsheet.addElement(sheet)
    return _save(doc)


def to_odt(title: str, blocks: Sequence[Block]) -> bytes:
    """A text document: the title, then headings, paragraphs and bordered tables in order."""
    doc = OpenDocumentText()
    _fonts(doc)
    styles: dict[str, Style] = {}

    def add(name: str, family: str, *props) -> Style:
        st = Style(name=name, family=family)
        for p in props:
            st.addElement(p)
        doc.automaticstyles.addElement(st)
        styles[name] = st
        return st

    add("Title", "paragraph", TextProperties(fontsize="16pt", fontweight="bold", fontweightasian="bold"))
    for level, size in ((1, "13pt"), (2, "11pt"), (3, "10pt")):
        add(
            f"H{level}",
            "paragraph",
            ParagraphProperties(margintop="0.3cm", marginbottom="0.1cm", keepwithnext="always"),
            TextProperties(fontsize=size, fontweight="bold", fontweightasian="bold", fontsizeasian=size),
        )
    add("Body", "paragraph", TextProperties(fontsize="10pt", fontsizeasian="10pt"))
    add("Muted", "paragraph", TextProperties(fontsize="8.5pt", fontsizeasian="8.5pt", color="#555555"))
    add("Cell", "paragraph", TextProperties(fontsize="9pt", fontsizeasian="9pt"))
    add("HeadCell", "paragraph", TextProperties(fontsize="9pt", fontsizeasian="9pt", fontweight="bold"))
    box = add("Box", "table-cell", TableCellProperties(border="0.5pt solid #999999", padding="0.06cm"))
    head_box = add(
        "HeadBox",
        "table-cell",
        TableCellProperties(border="0.5pt solid #999999", padding="0.06cm", backgroundcolor="#eef2f7"),
    )

    body = doc.text
    body.addElement(P(stylename=styles["Title"], text=title))
    for n, block in enumerate(blocks):
        if isinstance(block, Heading):
            level = min(3, max(1, block.level))
            body.addElement(H(outlinelevel=level, stylename=styles[f"H{level}"], text=block.text))
        elif isinstance(block, Para):
            for line in block.text.split("\n"):
                body.addElement(P(stylename=styles["Muted" if block.muted else "Body"], text=line))
        else:
            table = Table(name=f"Table{n + 1}")
            weights = block.widths or [1.0] * max(1, len(block.headers))
            for i, w in enumerate(weights):
                # 17 cm: an A4 page's text width; LibreOffice keeps each column's share of it.
                col = add(
                    f"T{n + 1}C{i}", "table-column", TableColumnProperties(columnwidth=f"{17 * w / sum(weights):.2f}cm")
                )
                table.addElement(TableColumn(stylename=col))
            for values, cell_style, para_style in [(block.headers, head_box, styles["HeadCell"])] + [
                (r, box, styles["Cell"]) for r in block.rows
            ]:
                tr = TableRow()
                for v in values:
                    text = str(cells.cell(v))
                    tc = TableCell(stylename=cell_style, valuetype="string")
                    for line in text.split("\n"):
                        tc.addElement(P(stylename=para_style, text=line))
                    tr.addElement(tc)
                table.addElement(tr)
            body.addElement(table)
    return _save(doc)
