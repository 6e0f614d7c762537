"""The telephone-courtesy score sheet (電話禮貌評分表): its items and points, validation, scoring.

The default sheet is built from the office's 電話禮貌基準 (the plan's telephone-courtesy
standard) on the split a Chiayi City agencies' sheet uses: the switchboard (總機) 45 points,
speed 25 + courtesy 20; a business unit (業務單位) 55 points, speed 15 + courtesy 25 + answer
content 15. Every test is scored 0-100: the points earned over the points of the items that
applied (a call with no transfer is not marked down on the transfer item), so both kinds
share the bands of scores.py.

A manager may change the sheet (courtesy/store.py keeps every version); each test keeps the
version it was scored on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# How a tester marks an item: full points, half, none, or "did not arise in this call".
MARKS = {"yes": 1.0, "half": 0.5, "no": 0.0, "na": None}
MARK_LABELS = {"yes": "符合 yes", "half": "部分 partly", "no": "不符合 no", "na": "不適用 n/a"}
# An item marked by the call's speed, not by the tester: within SPEED_RINGS rings or SPEED_SECONDS s.
AUTO_SPEED = "speed"
SPEED_RINGS = 4
SPEED_SECONDS = 10.0
KINDS = ("switchboard", "unit")
_ID = re.compile(r"[a-z0-9_]{1,40}")


class SheetError(ValueError):
    """A sheet or a test that cannot be used; the message is zh-TW and English."""


def _item(id_: str, section: str, name: str, points: float, auto: str = "") -> dict[str, Any]:
    return {"id": id_, "section": section, "name": name, "points": points, "auto": auto}


SPEED_NAME = "鈴響 4 聲或 10 秒內接聽 answered within 4 rings or 10 s"
DEFAULT_SHEET: dict[str, Any] = {
    "switchboard": {
        "label": "總機 switchboard",
        "total": 45,
        "items": [
            _item("answer_speed", "接聽速度 speed", SPEED_NAME, 25, AUTO_SPEED),
            _item("tone", "禮貌 courtesy", "語調謙和、熱誠 a modest, warm tone", 4),
            _item("names_office", "禮貌 courtesy", "清晰報明單位：嘉義市選舉委員會 names the office clearly", 4),
            _item("greeting", "禮貌 courtesy", "問候語「您好」「早安」 greets the caller", 3),
            _item("screens", "禮貌 courtesy", "確認洽辦單位或對象 finds out whom the caller needs", 2),
            _item(
                "transfer",
                "禮貌 courtesy",
                "轉接時告知分機號碼／單位並說「幫您轉接，請稍候」 on a transfer: the extension and 幫您轉接，請稍候",
                3,
            ),
            _item(
                "busy", "禮貌 courtesy", "忙線時請代理人接聽或留電回撥 when busy: another colleague or a call-back", 2
            ),
            _item("waited", "禮貌 courtesy", "重回線上說「讓您久等了」 says 讓您久等了 on returning", 1),
            _item("close", "禮貌 courtesy", "結束時道再見等禮貌語 a courteous close", 1),
        ],
    },
    "unit": {
        "label": "業務單位 business unit",
        "total": 55,
        "items": [
            _item("answer_speed", "接聽速度 speed", SPEED_NAME, 15, AUTO_SPEED),
            _item("tone", "禮貌 courtesy", "語調謙和、熱誠 a modest, warm tone", 5),
            _item(
                "names_unit",
                "禮貌 courtesy",
                "報明單位名稱（如第一組）或自己姓名 names the unit (e.g. 第一組) or themselves",
                5,
            ),
            _item(
                "greeting",
                "禮貌 courtesy",
                "多說「您好」「請稍候」「讓您久等了」 greets; 請稍候, 讓您久等了 when keeping the caller waiting",
                4,
            ),
            _item("asks_name", "禮貌 courtesy", "問對方「請教貴姓？」 asks the caller's name", 3),
            _item(
                "transfer",
                "禮貌 courtesy",
                "轉接時告知分機號碼及承辦人姓名，說「幫您轉接，請稍候」 on a transfer: the extension, the officer and 幫您轉接，請稍候",
                3,
            ),
            _item(
                "busy",
                "禮貌 courtesy",
                "承辦人忙線或不在時請同仁代接或回電 when busy: another colleague or a call-back",
                3,
            ),
            _item("close", "禮貌 courtesy", "結束時道再見等禮貌語 a courteous close", 2),
            _item(
                "explains",
                "答復內容 answer content",
                "解說詳盡、具體明確，程序及法規說明清楚 explains fully: concrete, clear, procedures and rules",
                10,
            ),
            _item(
                "no_brushoff",
                "答復內容 answer content",
                "不答非所問、不一問三不知、不敷衍 never off the point, never 一問三不知, no brush-off",
                5,
            ),
        ],
    },
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def validate(sheet: Any) -> dict[str, Any]:
    """The sheet, checked and normalised; SheetError names the first problem.

    Both kinds are needed; each item has a unique id, a section and a name that are not empty
    and points above 0; the items' points add up to the kind's declared total."""
    if not isinstance(sheet, dict) or set(sheet) != set(KINDS):
        raise SheetError("評分表須含總機與業務單位兩種 the sheet needs exactly the kinds: switchboard, unit")
    out: dict[str, Any] = {}
    for kind in KINDS:
        part = sheet[kind]
        if not isinstance(part, dict) or not isinstance(part.get("items"), list) or not part["items"]:
            raise SheetError(f"{kind}: 須有評分項目 needs a list of items")
        label = str(part.get("label") or "").strip()
        total = _number(part.get("total"))
        if not label:
            raise SheetError(f"{kind}: 名稱不可空白 the label must not be empty")
        if total is None or not 0 < total <= 1000:
            raise SheetError(f"{kind}: 總分須為 1–1000 的數字 total must be a number from 1 to 1000")
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, item in enumerate(part["items"], 1):
            if not isinstance(item, dict):
                raise SheetError(f"{kind} 第 {i} 項格式錯誤 item {i} must be an object")
            iid = str(item.get("id") or "").strip()
            name = str(item.get("name") or "").strip()
            section = str(item.get("section") or "").strip()
            points = _number(item.get("points"))
            auto = str(item.get("auto") or "")
            if not _ID.fullmatch(iid):
                raise SheetError(f"{kind} 第 {i} 項代碼錯誤 item {i}: id must be 1-40 of a-z, 0-9, _")
            if iid in seen:
                raise SheetError(f"{kind} 代碼重複 item id {iid!r} is used twice")
            if not name or not section:
                raise SheetError(f"{kind} 第 {i} 項名稱或類別空白 item {i}: name and section must not be empty")
            if points is None or not 0 < points <= total:
                raise SheetError(
                    f"{kind} 「{name}」配分須大於 0 且不超過總分 points must be above 0, at most the total"
                )
            if auto not in ("", AUTO_SPEED):
                raise SheetError(f"{kind} 「{name}」auto 只能是空白或 speed auto must be empty or 'speed'")
            seen.add(iid)
            items.append({"id": iid, "section": section, "name": name, "points": points, "auto": auto})
        got = sum(float(it["points"]) for it in items)
        if abs(got - total) > 1e-9:
            raise SheetError(
                f"{kind}: 各項配分合計 {got:g} 不等於總分 {total:g} the items' points add up to {got:g}, not {total:g}"
            )
        out[kind] = {"label": label, "total": total, "items": items}
    return out


def answered_in_time(rings: int | None, seconds: float | None) -> bool:
    """The standard's speed: picked up within 4 rings or 10 seconds."""
    return (rings is not None and rings <= SPEED_RINGS) or (seconds is not None and seconds <= SPEED_SECONDS)


@dataclass(frozen=True)
class Score:
    earned: float
    possible: float
    score: float  # 0-100

    @property
    def rounded(self) -> float:
        return round(self.score, 1)


def score(sheet: dict[str, Any], kind: str, marks: dict[str, str], rings: int | None, seconds: float | None) -> Score:
    """A call's score on ``sheet``: every item not marked by speed needs a mark of MARKS."""
    if kind not in KINDS:
        raise SheetError("受測對象須為總機或業務單位 kind must be switchboard or unit")
    if rings is None and seconds is None:
        raise SheetError("請填寫鈴響聲數或接聽秒數 give the rings or the seconds to answer")
    earned = possible = 0.0
    for item in sheet[kind]["items"]:
        if item["auto"] == AUTO_SPEED:
            share: float | None = 1.0 if answered_in_time(rings, seconds) else 0.0
        else:
            mark = marks.get(item["id"])
            if mark not in MARKS:
                raise SheetError(f"請評「{item['name']}」 mark every item")
            share = MARKS[mark]
        if share is None:
            continue
        earned += share * item["points"]
        possible += item["points"]
    # Speed always applies, so possible > 0 on any valid sheet with a speed item; guard the rest.
    if possible <= 0:
        raise SheetError("所有項目皆不適用，無法計分 every item is n/a: nothing to score")
    return Score(earned, possible, 100.0 * earned / possible)
