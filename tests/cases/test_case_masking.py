"""Names as kiosks may show them (Taipei City's masking SOP; docs/cases.md)."""

import pytest

from server_sync.collector.masking import mask_name

TABLE = [
    ("王小明", "王○○"),
    ("王明", "王○"),
    ("王", "王"),
    ("歐陽小明", "歐○○○"),
    ("歐陽明", "歐○○"),
    ("司馬光", "司○○"),
    ("諸葛亮", "諸○○"),
    ("上官婉兒", "上○○○"),
    ("張簡志明", "張○○○"),
    ("范姜美玲", "范○○○"),
    ("王 小明", "王○○"),
    ("瓦歷斯‧諾幹", "瓦○○‧○○"),
    ("John Smith", "J○○○ ○○○○○"),
    ("john smith", "J○○○ ○○○○○"),
    ("Mary-Jane O'Neil", "M○○○-○○○○ ○'○○○○"),
    ("Ｊｏｈｎ", "J○○○"),
    ("  Anna  ", "A○○○"),
    ("", ""),
    ("   ", ""),
    (None, ""),
]


@pytest.mark.parametrize("name,masked", TABLE)
def test_masking_table(name, masked):
    assert mask_name(name) == masked


def test_only_the_first_character_survives():
    for name, masked in TABLE:
        if name and name.strip():
            assert sum(ch != "○" and ch not in " -'‧" for ch in masked) == 1, masked
