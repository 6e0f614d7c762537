"""A ticket's QR code holds the ticket itself; a queue host's link only when one is supplied."""

from __future__ import annotations

import segno

from kiosk.printer import PAPER_DOTS, TicketPrint, _qr_image, parse_spec, print_ticket
from kiosk.ticket_qr import TicketFacts, TicketQR, modules, ticket_text
from server_sync.wire.tz import OFFICE_TZ


def facts(clock, **kw) -> TicketFacts:
    base = dict(
        number="A004",
        issued_at=clock.now().astimezone(OFFICE_TZ),
        service="候選人登記",
        service_en="Candidate registration",
        office="嘉義市選舉委員會",
        office_en="Chiayi City Election Commission",
        window="1",
    )
    return TicketFacts(**{**base, **kw})


def test_the_text_names_number_date_service_and_office(clock):
    f = facts(clock)
    text = ticket_text(f)
    assert text.splitlines()[0] == "A004"
    assert f.issued_at.strftime("%Y-%m-%d %H:%M") in text
    assert "候選人登記 Candidate registration" in text
    assert "嘉義市選舉委員會 1 號窗口" in text and "Window 1" in text
    assert "http" not in text  # no host is configured: no made-up link
    assert "優先號" in ticket_text(facts(clock, priority=True))


def test_a_link_comes_only_from_the_hook(clock):
    f = facts(clock)
    assert TicketQR().text(f) == ticket_text(f)
    qr = TicketQR(link=lambda t: f"https://queue.office.example/t/tok-{t.number}")
    assert qr.text(f).splitlines()[-1] == "https://queue.office.example/t/tok-A004"


def test_the_code_decodes_as_utf8_bytes(clock):
    text = ticket_text(facts(clock))
    grid = modules(text)
    assert len(grid) == len(grid[0]) and len(grid) >= 21  # square, at least version 1
    code = segno.make(text, encoding="utf-8", error="m")
    assert code.mode == "byte"  # not Kanji mode, which phones read as Shift JIS
    assert grid == [[bool(v) for v in row] for row in code.matrix]


def test_the_printed_ticket_carries_the_code(tmp_path, clock):
    f = facts(clock)
    args = (f.number, f.service, f.service_en, f.window, f.issued_at, f.office, f.office_en, 2, "約 5–10 分鐘", "About")
    plain, with_qr = tmp_path / "plain.bin", tmp_path / "qr.bin"
    print_ticket(parse_spec(f"file:{plain}"), TicketPrint(*args))
    print_ticket(parse_spec(f"file:{with_qr}"), TicketPrint(*args, qr_text=ticket_text(f)))
    rasters = plain.read_bytes().count(b"\x1dv0")
    assert with_qr.read_bytes().count(b"\x1dv0") == rasters + 1  # one more raster image: the code
    assert b"A004" in with_qr.read_bytes()


def test_the_printed_code_is_the_code_module_for_module(clock):
    text = ticket_text(facts(clock))
    grid = modules(text)
    image = _qr_image(text)
    assert image.width == PAPER_DOTS
    side = image.height
    scale = side // (len(grid) + 8)
    left = (PAPER_DOTS - side) // 2 + 4 * scale
    for y, row in enumerate(grid):
        for x, dark in enumerate(row):
            pixel = image.getpixel((left + x * scale + scale // 2, (y + 4) * scale + scale // 2))
            assert (pixel == 0) == dark, (x, y)
