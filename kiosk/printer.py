"""Ticket printing on an ESC/POS thermal printer, through python-escpos.

``[queue] printer``: empty for none, ``file:PATH`` (python-escpos ``File``: the
demo and the tests write the printer's byte stream to a file), or
``usb:VID:PID`` (hex ids, e.g. ``usb:0416:5011``; python-escpos ``Usb``).

Thermal printers sold here rarely carry a Traditional Chinese font, and
python-escpos encodes text through single-byte code pages only, so zh-TW lines
are drawn with the kiosk's CJK font (Pillow) and sent as a raster image; the
number, English name, window and time go as plain text, which every printer
prints and a test can read back from the file. The ticket's QR code
(kiosk/ticket_qr.py) goes as an image too: printers' own QR commands differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.ticket_qr import modules

log = logging.getLogger(__name__)

PAPER_DOTS = 384  # printable width of a 58 mm printer at 203 dpi; 80 mm printers centre it
QR_DOTS = 6  # dots per QR module: 0.75 mm at 203 dpi, large enough for a phone camera


class PrinterSpecError(ValueError):
    pass


@dataclass(frozen=True)
class PrinterSpec:
    kind: str  # "file" or "usb"
    path: str = ""
    vendor: int = 0
    product: int = 0


def parse_spec(text: str) -> PrinterSpec | None:
    """``[queue] printer`` → PrinterSpec, None for no printer; raises PrinterSpecError naming the problem."""
    text = (text or "").strip()
    if not text:
        return None
    kind, _, rest = text.partition(":")
    if kind == "file" and rest:
        return PrinterSpec("file", path=rest)
    if kind == "usb":
        vid, _, pid = rest.partition(":")
        try:
            return PrinterSpec("usb", vendor=int(vid, 16), product=int(pid, 16))
        except ValueError:
            pass
    raise PrinterSpecError(f'expected "", "file:PATH" or "usb:VID:PID" (hex, e.g. usb:0416:5011), got {text!r}')


def open_printer(spec: PrinterSpec):
    """A python-escpos printer for ``spec``."""
    from escpos import printer

    if spec.kind == "file":
        Path(spec.path).parent.mkdir(parents=True, exist_ok=True)
        return printer.File(spec.path)
    return printer.Usb(spec.vendor, spec.product)


def _zh_image(lines: list[tuple[str, int]], font_path: str | None):
    """zh-TW lines (text, pixel size) drawn black on white, PAPER_DOTS wide, centred."""
    from PIL import Image, ImageDraw, ImageFont

    fonts = []
    for _text, size in lines:
        try:
            fonts.append(ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default(size))
        except OSError:
            fonts.append(ImageFont.load_default(size))
    height = sum(int(size * 1.35) for _, size in lines) + 8
    image = Image.new("1", (PAPER_DOTS, height), 1)
    draw = ImageDraw.Draw(image)
    y = 4
    for (text, size), font in zip(lines, fonts):
        width = draw.textlength(text, font=font)
        draw.text(((PAPER_DOTS - width) / 2, y), text, font=font, fill=0)
        y += int(size * 1.35)
    return image


@dataclass(frozen=True)
class TicketPrint:
    number: str
    service: str
    service_en: str
    window: str
    issued_at: datetime  # local time
    office: str
    office_en: str
    ahead: int
    band_zh: str
    band_en: str
    priority: bool = False
    qr_text: str = ""  # kiosk.ticket_qr.ticket_text; empty prints no code


def _qr_image(text: str):
    """The QR code for ``text``, black on white with its quiet zone, PAPER_DOTS wide, centred."""
    from PIL import Image

    grid = modules(text)
    size = len(grid)
    scale = max(1, min(QR_DOTS, (PAPER_DOTS - 8 * QR_DOTS) // size))
    side = (size + 8) * scale  # 4 modules of quiet zone each side
    image = Image.new("1", (PAPER_DOTS, side), 1)
    left = (PAPER_DOTS - side) // 2 + 4 * scale
    for y, row in enumerate(grid):
        for x, dark in enumerate(row):
            if dark:
                image.paste(0, (left + x * scale, (y + 4) * scale, left + (x + 1) * scale, (y + 5) * scale))
    return image


def print_ticket(spec: PrinterSpec, ticket: TicketPrint, *, font_path: str | None = None) -> None:
    """Print one ticket and cut; raises whatever the printer raised (the caller logs and tells the visitor)."""
    p = open_printer(spec)
    try:
        p.set(align="center")
        p.image(_zh_image([(ticket.office, 26)], font_path), center=False)
        p.textln(ticket.office_en)
        p.textln("-" * 32)
        p.set(align="center", bold=True, double_height=True, double_width=True)
        p.textln(ticket.number)
        p.set(align="center", normal_textsize=True)
        zh = [(ticket.service, 30), (f"請至 {ticket.window} 號窗口", 26)]
        if ticket.priority:
            zh.append(("優先號", 24))
        zh.append((f"前面 {ticket.ahead} 人 · 預估 {ticket.band_zh}", 22))
        p.image(_zh_image(zh, font_path), center=False)
        p.textln(ticket.service_en)
        p.textln(f"Window {ticket.window}")
        # ASCII only: a dash outside the code page makes python-escpos switch code pages mid-line.
        p.textln(f"{ticket.ahead} ahead, {ticket.band_en}".replace("\u2013", "-"))
        p.textln(ticket.issued_at.strftime("%Y-%m-%d %H:%M"))
        if ticket.qr_text:
            p.image(_qr_image(ticket.qr_text), center=False)
        p.cut()
    finally:
        p.close()
