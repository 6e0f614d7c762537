"""Masking applicants' names before anything leaves the collector.

The rule follows Taipei City's masking SOP as the service plan quotes it: keep
only the first character of the surname and replace every other character with
a full-width circle ``○`` (U+25CB).

- 王小明 → 王○○, 王明 → 王○, 王 → 王 (a lone surname reveals nothing more).
- Compound surnames (歐陽, 司馬, 諸葛, 上官, 張簡, 范姜 …) also keep only their
  first character: 歐陽小明 → 歐○○○. The list below is not needed for the rule;
  it documents (and the tests check) that the second surname character is masked.
- Separators inside a name stay, so a transliterated indigenous name keeps its
  shape: 瓦歷斯‧諾幹 → 瓦○○‧○○.
- Names written in Latin letters keep only their first letter, upper-cased; every
  other letter or digit becomes ``○`` and spaces, hyphens, apostrophes and dots
  stay: "John Smith" → "J○○○ ○○○○○", "mary-jane o'neil" → "M○○○-○○○○ ○'○○○○".
  This shows the name's length, exactly as the SOP's 王○○ shows a Chinese name's.
- Empty (or only spaces) → empty.

Full-width Latin letters are folded first (NFKC), so "Ｊｏｈｎ" masks like "John".
"""

from __future__ import annotations

import unicodedata

MASK = "○"
COMPOUND_SURNAMES = (
    "歐陽",
    "司馬",
    "諸葛",
    "上官",
    "張簡",
    "范姜",
    "司徒",
    "東方",
    "皇甫",
    "夏侯",
    "公孫",
    "慕容",
    "長孫",
    "令狐",
    "宇文",
    "尉遲",
    "端木",
    "西門",
    "南宮",
    "澹臺",
    "軒轅",
    "呼延",
    "申屠",
    "獨孤",
    "左丘",
    "單于",
    "張廖",
    "簡張",
    "周黃",
    "江謝",
)
# Kept as they are: they carry no letters of the name.
SEPARATORS = frozenset(" -'’.．·‧・")


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH"))


def mask_name(name: str | None) -> str:
    """The applicant's name as kiosks may show it."""
    if not name:
        return ""
    text = " ".join(unicodedata.normalize("NFKC", name).split())
    if not text:
        return ""
    if any(_is_cjk(ch) for ch in text):
        # Chinese names are written without spaces; "王 小明" is still 王小明.
        text = text.replace(" ", "")
        return text[0] + "".join(ch if ch in SEPARATORS else MASK for ch in text[1:])
    first = next((i for i, ch in enumerate(text) if ch.isalnum()), None)
    if first is None:  # nothing but punctuation: show nothing of it
        return MASK * len(text)
    out = []
    for i, ch in enumerate(text):
        if i == first:
            out.append(ch.upper())
        elif i < first or ch in SEPARATORS:
            out.append(ch if ch in SEPARATORS else MASK)
        else:
            out.append(MASK)
    return "".join(out)
