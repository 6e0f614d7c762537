"""The plan's paperwork through a real collector process (issue 14, items 1, 2, 3, 7): targets set by a
manager, judged on the dashboard and published without a login; the self-evaluation written, attached,
submitted, locked, reopened and audited; every ODF file the collector writes opened by LibreOffice
(one `soffice --convert-to pdf` over all of them) with its Chinese text intact."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import paperwork_helpers as ph
import pytest
import requests
from adminhelp import add_admins, cli, login
from collector_helpers import start_server, stop_server
from pypdf import PdfReader

from server_sync.collector import db as dbmod
from server_sync.wire.tz import OFFICE_TZ

pytestmark = pytest.mark.slow
NOW = datetime.now(UTC)
YEAR = NOW.astimezone(OFFICE_TZ).year - 1  # a year that is over: what was measured
NEXT = NOW.astimezone(OFFICE_TZ).year + 1  # a year whose deadline is ahead, whatever today is
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("paperwork") / "collector.db"
    conn = dbmod.open_db(path)
    ph.seed(conn, YEAR)
    conn.close()
    add_admins(path)
    s = start_server(path)
    yield s
    stop_server(s)


def _banner(html: str) -> list[str]:
    return re.findall(r'class="(?:err|msg)" role="\w+">([^<]*)', html)


def test_targets_set_judged_on_the_dashboard_and_published(server):
    url, m = server.url, login(server.url, "mgr")
    assert "尚未訂定" in requests.get(f"{url}/public/targets/{YEAR}", timeout=10).text
    r = m.post(f"{url}/admin/targets", data={"csrf": m.csrf, "year": YEAR, "defaults": "1"}, timeout=30)
    assert "已採用預設目標" in r.text
    r = m.post(
        f"{url}/admin/targets",
        data={"csrf": m.csrf, "year": YEAR, "unit": ph.UNIT_A, "t_csat": "80", "t_wait_mean": "5"},
        timeout=30,
    )
    assert "已儲存" in r.text
    # A viewer cannot set them.
    v = login(url, "viewer")
    assert (
        v.post(f"{url}/admin/targets", data={"csrf": v.csrf, "year": YEAR, "t_csat": "1"}, timeout=30).status_code
        == 403
    )
    # The dashboard judges 第一組 on the interval: CSAT 90 % (79.9-95.3) against ≥ 80 straddles; mean wait
    # 6.0 (5.3-6.7) against ≤ 5 is not met; the Happy Index 83.3 (77.8-88.9) against ≥ 75 is met.
    page = m.get(f"{url}/admin", params={"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31", "unit": ph.UNIT_A}, timeout=30)
    card = page.text[page.text.index('id="targets"') :]
    card = card[: card.index("</table>")]
    rows = {re.sub(r"<[^>]+>", "", r).split("≥")[0].split("≤")[0].strip(): r for r in card.split("<tr>")[2:]}
    assert "尚無法判定" in next(v for k, v in rows.items() if k.startswith("滿意度"))
    assert "未達成" in next(v for k, v in rows.items() if k.startswith("平均等候"))
    assert "達成 met" in next(v for k, v in rows.items() if k.startswith("快樂指數"))
    # Published without a login, as a page and an ODS.
    pub = requests.get(f"{url}/public/targets/{YEAR}", timeout=10)
    assert pub.status_code == 200 and "第一組" in pub.text and "≥ 80%" in pub.text and "≥ 85%" in pub.text
    ods = requests.get(f"{url}/public/targets/{YEAR}.ods", timeout=10)
    assert ods.headers["content-type"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert "≤ 5 分 min" in zipfile.ZipFile(io.BytesIO(ods.content)).read("content.xml").decode()
    audit = m.get(f"{url}/admin/export/audit.csv", timeout=30).content.decode("utf-8-sig")
    assert "targets_defaults" in audit and "targets_set" in audit


def test_a_unit_writes_attaches_submits_and_is_locked(server):
    url, v, m = server.url, login(server.url, "viewer"), None
    page = dict(year=NEXT, unit=ph.UNIT_B)
    r = v.post(
        f"{url}/admin/self-evaluation/narratives", data={"csrf": v.csrf, **page, "n_3-1": "當日回電並記錄"}, timeout=30
    )
    assert _banner(r.text)[0].startswith("已儲存")
    r = v.post(
        f"{url}/admin/self-evaluation/attachments",
        data={"csrf": v.csrf, **page, "item": "3-1"},
        files={"file": ("處理紀錄.png", PNG, "image/png")},
        timeout=30,
    )
    assert "已附加" in _banner(r.text)[0]
    r = v.post(
        f"{url}/admin/self-evaluation/attachments",
        data={"csrf": v.csrf, **page, "item": "3-1"},
        files={"file": ("report.pdf", b"MZ not a pdf", "application/pdf")},
        timeout=30,
    )
    assert "不符" in _banner(r.text)[0]
    too_big = v.post(
        f"{url}/admin/self-evaluation/attachments",
        data={"csrf": v.csrf, **page, "item": "3-1"},
        files={"file": ("big.pdf", b"%PDF-" + b"0" * (6 * 1024 * 1024), "application/pdf")},
        timeout=60,
    )
    assert too_big.status_code == 413
    att = re.search(r'href="/admin/self-evaluation/attachments/(\d+)">處理紀錄.png', r.text).group(1)
    assert v.get(f"{url}/admin/self-evaluation/attachments/{att}", timeout=10).content == PNG
    r = v.post(f"{url}/admin/self-evaluation/submit", data={"csrf": v.csrf, **page}, timeout=30)
    assert "已送出並鎖定" in _banner(r.text)[0]
    # Locked: the edit is refused with the reason, and the text is unchanged.
    r = v.post(f"{url}/admin/self-evaluation/narratives", data={"csrf": v.csrf, **page, "n_3-1": "改"}, timeout=30)
    assert "送出並鎖定" in _banner(r.text)[0] and "當日回電並記錄" in r.text
    assert v.post(f"{url}/admin/self-evaluation/reopen", data={"csrf": v.csrf, **page}, timeout=30).status_code == 403
    m = login(url, "mgr")
    r = m.post(f"{url}/admin/self-evaluation/reopen", data={"csrf": m.csrf, **page}, timeout=30)
    assert "已退回" in _banner(r.text)[0]
    audit = m.get(f"{url}/admin/export/audit.csv", timeout=30).content.decode("utf-8-sig")
    for action in (
        "self_evaluation_narratives",
        "self_evaluation_attach",
        "self_evaluation_submit",
        "self_evaluation_reopen",
    ):
        assert action in audit
    # A manager defines next year's items; a bad table is refused with why.
    r = m.post(
        f"{url}/admin/self-evaluation/items",
        data={"csrf": m.csrf, "year": NEXT + 1, "code_0": "A", "title_0": "場所", "points_0": "150", "evidence_0": ""},
        timeout=30,
    )
    assert "配分" in _banner(r.text)[0]


def _soffice() -> str:
    exe = shutil.which("soffice")
    if exe is None:
        pytest.skip("LibreOffice (libreoffice-calc, libreoffice-writer) is not installed")
    return exe


def test_every_odf_file_opens_in_libreoffice_with_chinese_intact(server, tmp_path):
    soffice = _soffice()
    m = login(server.url, "mgr")
    files: dict[str, bytes] = {}
    q = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
    files["tables.ods"] = m.get(f"{server.url}/admin/export/all.ods", params=q, timeout=60).content
    files["se-office.odt"] = m.get(f"{server.url}/admin/self-evaluation.odt", params={"year": YEAR}, timeout=60).content
    files["se-unit.ods"] = m.get(
        f"{server.url}/admin/self-evaluation.ods", params={"year": YEAR, "unit": ph.UNIT_A}, timeout=60
    ).content
    # Targets of a year of its own: the targets test starts from a year without any.
    published = YEAR - 3
    r = m.post(f"{server.url}/admin/targets", data={"csrf": m.csrf, "year": published, "defaults": "1"}, timeout=30)
    assert "已採用預設目標" in r.text
    files["targets.ods"] = requests.get(f"{server.url}/public/targets/{published}.ods", timeout=10).content
    out = cli(server.db_path, "report", "--format", "ods", "-o", str(tmp_path / "report.ods"))
    assert out.returncode == 0, out.stderr
    out = cli(server.db_path, "open-data", "--month", f"{YEAR}-03", "--out-dir", str(tmp_path / "od"))
    assert out.returncode == 0, out.stderr
    out = cli(
        server.db_path, "self-evaluation", "--year", str(YEAR), "--unit", ph.UNIT_A, "-o", str(tmp_path / "se-cli.odt")
    )
    assert out.returncode == 0 and "彙整" in out.stderr, out.stderr  # the progress bar
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "opendata.ods").write_bytes((tmp_path / "od" / f"opendata-{YEAR}-03.ods").read_bytes())
    names = [*files, "report.ods", "opendata.ods", "se-cli.odt"]
    # One LibreOffice start for every file (each start costs seconds), its profile in tmp_path.
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            *(str(tmp_path / n) for n in names),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    expect = {
        "tables.ods": "各等級分布",
        "se-office.odt": "評核項目",
        "se-unit.ods": "第一組",
        "targets.ods": "全機關",
        "report.ods": "第一組",
        "opendata.ods": "回覆數不足",
        "se-cli.odt": "電話禮貌",
    }
    for name in names:
        pdf = tmp_path / "pdf" / (Path(name).stem + ".pdf")
        text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
        assert expect[name] in text, (name, text[:300])
