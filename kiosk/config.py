"""The kiosk's configuration: one TOML file, validated in full at start-up.

Every setting is declared once in ``SETTINGS`` with its type, default and one line
of documentation; the README's reference table is checked against it by a test.
A bad file stops start-up with a ``ConfigError`` naming the file, the key and
what was expected, so office IT staff can fix it without reading code.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from kiosk.pinhash import MIN_DIGITS, SET_COMMAND, hash_problem
from server_sync.client.cleartext import refusal


class ConfigError(Exception):
    """The configuration file is missing, malformed or has a bad value."""

    def __init__(self, path: Path | None, key: str | None, problem: str):
        self.path = path
        self.key = key
        self.problem = problem
        where = str(path) if path else "(built-in defaults)"
        if key and "[" in key:  # an item of a list: "buttons.levels[2].pin" reads better than a table header
            where += f": {key}"
        elif key:
            where += f": [{key.rsplit('.', 1)[0]}] {key.rsplit('.', 1)[-1]}" if "." in key else f": {key}"
        super().__init__(f"設定檔錯誤 Config error in {where}: {problem}")


@dataclass(frozen=True)
class Setting:
    key: str  # "section.name"
    kind: type | tuple[type, ...]
    default: Any
    doc: str


# Levels left to right: the leftmost button is the most satisfied (level 1).
DEFAULT_LEVELS = [
    {"label": "非常滿意", "label_en": "Very satisfied", "pin": 5, "led": 18},
    {"label": "滿意", "label_en": "Satisfied", "pin": 6, "led": 23},
    {"label": "普通", "label_en": "Neutral", "pin": 13, "led": 24},
    {"label": "不滿意", "label_en": "Dissatisfied", "pin": 19, "led": 25},
    {"label": "非常不滿意", "label_en": "Very dissatisfied", "pin": 26, "led": 12},
]

# The office's own standards (service-quality plan and telephone-courtesy standard).
DEFAULT_REASONS = [
    {"code": "wait", "label": "等候時間過長", "label_en": "Waited too long"},
    {"code": "attitude", "label": "服務態度", "label_en": "Staff attitude"},
    {"code": "unclear", "label": "說明不清楚", "label_en": "Unclear explanation"},
    {"code": "procedure", "label": "流程繁瑣", "label_en": "Complicated procedure"},
    {"code": "facilities", "label": "環境設施", "label_en": "Facilities"},
    {"code": "other", "label": "其他", "label_en": "Other"},
]

SETTINGS: list[Setting] = [
    Setting(
        "kiosk.id",
        str,
        "",
        "This kiosk's identity stored with every event; empty means one made on first start (host name + random suffix), kept in the data dir and renewed on another board.",
    ),
    Setting("kiosk.office", str, "嘉義市選舉委員會", "Office name shown on the home screen (zh-TW)."),
    Setting(
        "kiosk.office_en", str, "Chiayi City Election Commission", "Office name shown on the home screen (English)."
    ),
    Setting("kiosk.unit", str, "第一組", "The unit this window belongs to (第一組 … 行政室); used in reports."),
    Setting("kiosk.window", str, "1", "The window number shown on screen and stored with every event."),
    Setting("kiosk.language", str, "zh-TW", "Language the screens start in and return to when idle: zh-TW or en."),
    Setting("kiosk.idle_timeout", (int, float), 60, "Seconds without a touch before any screen returns home."),
    Setting("kiosk.thanks_seconds", (int, float), 4, "Seconds the thank-you screen stays up."),
    Setting(
        "kiosk.reasons_timeout", (int, float), 20, "Seconds the follow-up reasons screen waits before returning home."
    ),
    Setting(
        "buttons.repeat_window",
        (int, float),
        5.0,
        "Seconds after a press in which another press is stored but flagged misuse and not counted.",
    ),
    Setting(
        "buttons.bounce_time",
        (int, float),
        0.05,
        "Seconds of contact bounce ignored after a press (passed to gpiozero).",
    ),
    Setting(
        "buttons.pull_up",
        bool,
        True,
        "True when buttons connect the pin to ground (internal pull-up); False when they connect to 3.3 V.",
    ),
    Setting("buttons.led_seconds", (int, float), 1.0, "Seconds a button's LED lights to confirm a stored press."),
    Setting(
        "buttons.touch_faces",
        bool,
        False,
        "True: tapping a face on the home screen records that rating like its physical button (same repeat-press rule); false: the faces only point to the buttons.",
    ),
    Setting(
        "buttons.next_pin", (int, type(None)), 17, "GPIO (BCM) pin reserved for the staff 'next' button; 0 disables it."
    ),
    Setting(
        "buttons.levels",
        list,
        DEFAULT_LEVELS,
        "3 to 5 rating buttons, left (most satisfied) to right: label, label_en, pin, optional led.",
    ),
    Setting(
        "reasons.ask_from_level",
        (int, type(None)),
        0,
        "Ask for a follow-up reason from this level on (1 = leftmost); 0 means the middle level, so 普通 or worse.",
    ),
    Setting("reasons.items", list, DEFAULT_REASONS, "Up to six follow-up reasons: code, label, label_en."),
    Setting(
        "display.fullscreen",
        (bool, str),
        "auto",
        "true, false, or auto (fullscreen without decorations on a Pi, windowed in demo).",
    ),
    Setting("display.width", int, 800, "Window width in pixels when not fullscreen."),
    Setting("display.height", int, 480, "Window height in pixels when not fullscreen."),
    Setting("display.rotation", int, 0, "Touchscreen rotation in degrees: 0, 90, 180 or 270."),
    Setting(
        "display.on_hours",
        str,
        "",
        'Local hours the screen stays lit, e.g. "07:30-18:00"; outside them it is dark until touched. Empty means always on.',
    ),
    Setting(
        "display.on_days",
        list,
        [1, 2, 3, 4, 5],
        "Weekdays (1 = Monday … 7 = Sunday) display.on_hours applies to; other days stay dark until touched.",
    ),
    Setting(
        "display.font",
        str,
        "",
        "Path to a CJK font file; empty means find Noto Sans CJK TC (Debian package fonts-noto-cjk).",
    ),
    Setting("sync.url", str, "", "The collector's base URL, e.g. https://collector.example/ ; empty disables sync."),
    Setting(
        "sync.token",
        str,
        "",
        "This kiosk's token from `kiosk-collector add-kiosk`; better set through KIOSK_SYNC_TOKEN.",
    ),
    Setting("sync.interval", (int, float), 30, "Seconds between sync rounds when all is well."),
    Setting(
        "sync.allow_insecure_http",
        bool,
        False,
        "Allow an http:// sync.url to a host other than this machine (the token then crosses the network in clear); only for a demo or a test network. http:// to 127.0.0.1, ::1 or localhost is always allowed.",
    ),
    Setting(
        "queue.enabled",
        bool,
        True,
        "Take tickets and call numbers at this window (服務導引 still shows the directory when false).",
    ),
    Setting(
        "queue.directory",
        str,
        "",
        "Service directory file (.csv or .json, docs/queue.md) used until the collector sends one; empty means the bundled demo directory.",
    ),
    Setting(
        "queue.no_show_after_calls",
        int,
        3,
        "Calls of a number after which a recall marks it no-show and calls the next.",
    ),
    Setting(
        "queue.printer",
        str,
        "",
        "Ticket printer: empty for none, file:PATH (demo, tests) or usb:VID:PID (ESC/POS, hex ids).",
    ),
    Setting(
        "queue.staff_pin_hash",
        str,
        "",
        "Hash of the staff screen's PIN (6 to 12 digits; next, recall, no-show), written by `kiosk set-staff-pin`; empty hides the screen.",
    ),
    Setting("queue.speak", bool, False, "Also speak each called number through espeak-ng, where installed."),
    Setting(
        "queue.role",
        str,
        "local",
        "local: this window's own queue; host: this device holds the office's queue for every window (`kiosk host`); window: tickets and calls go through the host at queue.host.",
    ),
    Setting("queue.host", str, "", "The office's queue host (role window), e.g. http://192.168.1.10:8480/."),
    Setting(
        "queue.host_token",
        str,
        "",
        "This device's token at the queue host, from `kiosk host-add-device` (or the KIOSK_HOST_TOKEN environment variable).",
    ),
    Setting(
        "queue.listen",
        str,
        "0.0.0.0:8480",
        "Where the queue host listens (role host): address:port on the office LAN; the wall display is /display.",
    ),
    Setting(
        "queue.entrance",
        bool,
        False,
        "The entrance ticket kiosk: the home screen is the directory and 取號 for every service in the office, no rating buttons.",
    ),
    Setting(
        "audio.prompts",
        bool,
        False,
        "Offer visitors a 🔊 button that reads the home screen, the thank-you, their ticket number and a case result aloud.",
    ),
    Setting(
        "audio.language",
        str,
        "cmn",
        "Language of spoken calls and prompts: cmn (華語), nan (台語: recorded clips, else the 華語 voice) or hak (客語).",
    ),
    Setting(
        "audio.clips",
        str,
        "",
        "Folder of the office's own recordings, one WAV per clip name in <folder>/<language>/ (docs/queue.md); empty: espeak-ng, else the chime.",
    ),
    Setting(
        "lookup.lock_after",
        int,
        5,
        "Wrong verification codes in a row after which a case number is locked on this kiosk (docs/cases.md).",
    ),
    Setting("lookup.lock_minutes", (int, float), 15, "Minutes a locked case number stays locked on this kiosk."),
    Setting(
        "lookup.rate_burst", int, 10, "Failed lookups this kiosk allows at once before it slows down (token bucket)."
    ),
    Setting(
        "lookup.rate_per_minute",
        (int, float),
        2,
        "Failed lookups per minute this kiosk allows after the burst is spent.",
    ),
]

# Who holds the queue (docs/queue.md "One queue for the office").
QUEUE_ROLES = ("local", "host", "window")
# Spoken languages (kiosk.voice): 華語, 台語, 客語, as ISO 639-3 codes.
AUDIO_LANGUAGES = ("cmn", "nan", "hak")

SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}
SECTIONS = sorted({s.key.split(".")[0] for s in SETTINGS})


@dataclass(frozen=True)
class Level:
    number: int  # 1 = leftmost, most satisfied
    label: str
    label_en: str
    pin: int | str
    led: int | str | None


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    label_en: str


@dataclass
class Config:
    """Validated settings. ``values`` maps "section.key" to its value."""

    path: Path | None
    values: dict[str, Any] = field(default_factory=dict)
    levels: list[Level] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def ask_from_level(self) -> int:
        configured = self.values["reasons.ask_from_level"]
        if configured:
            return configured
        return len(self.levels) // 2 + 1

    @property
    def kiosk_id(self) -> str:
        return self.values["kiosk.id"]


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        int: "a whole number",
        float: "a number",
        str: "text in quotes",
        bool: "true or false",
        list: "a list",
        type(None): "nothing",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds if k is not type(None))


def _check_type(path, key, value, kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # TOML booleans are ints in Python; never accept one for the other.
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(path, key, f"expected {_type_name(kind)}, got {value!r}")
    if not isinstance(value, kinds):
        raise ConfigError(path, key, f"expected {_type_name(kind)}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(path, key, f"expected a finite number, got {value!r}")


def _pin(path, key, value, *, optional):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(path, key, f'expected a GPIO pin number (BCM) or name like "GPIO5", got {value!r}')
    if isinstance(value, int) and not 0 <= value <= 27:
        raise ConfigError(path, key, f"expected a GPIO (BCM) pin number from 0 to 27, got {value}")
    return value


def _pin_key(pin):
    """The same GPIO however it is spelled: 5, "GPIO5", "BCM5" and "gpio5" are one pin."""
    if isinstance(pin, str):
        name = pin.strip().upper()
        for prefix in ("GPIO", "BCM"):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                return int(name[len(prefix) :])
        return int(name) if name.isdigit() else name
    return pin


def _label_table(path, key, item, fields):
    if not isinstance(item, dict):
        raise ConfigError(path, key, f"expected a table with {', '.join(fields)}, got {item!r}")
    for name in fields:
        if not isinstance(item.get(name), str) or not item[name].strip():
            raise ConfigError(path, f"{key}.{name}", "expected non-empty text")


def validate(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Check every section and key of a parsed TOML document; return a Config."""
    values: dict[str, Any] = {}
    for section, body in raw.items():
        if section not in SECTIONS:
            raise ConfigError(path, section, f"unknown section [{section}]; known: {', '.join(SECTIONS)}")
        if not isinstance(body, dict):
            raise ConfigError(path, section, f"expected a [{section}] table")
        for name in body:
            if f"{section}.{name}" == "queue.staff_pin":  # plain PINs were accepted before; say what replaces them
                raise ConfigError(
                    path,
                    "queue.staff_pin",
                    "a PIN in plain text is no longer accepted 不再接受明文密碼: run "
                    f"`{SET_COMMAND} --config {path or 'FILE'}` to replace it with staff_pin_hash "
                    f"({MIN_DIGITS} or more digits)",
                )
            if f"{section}.{name}" not in SETTINGS_BY_KEY:
                known = ", ".join(s.key.split(".")[1] for s in SETTINGS if s.key.startswith(section + "."))
                raise ConfigError(path, f"{section}.{name}", f"unknown setting; [{section}] knows: {known}")
    for setting in SETTINGS:
        section, name = setting.key.split(".")
        value = raw.get(section, {}).get(name, setting.default)
        _check_type(path, setting.key, value, setting.kind)
        values[setting.key] = value

    for key in (
        "kiosk.idle_timeout",
        "kiosk.thanks_seconds",
        "kiosk.reasons_timeout",
        "buttons.led_seconds",
        "sync.interval",
    ):
        if values[key] <= 0:
            raise ConfigError(path, key, f"expected a number of seconds above 0, got {values[key]}")
    for key in ("lookup.lock_after", "lookup.lock_minutes", "lookup.rate_burst", "lookup.rate_per_minute"):
        if values[key] <= 0:  # case-status lookup (kiosk/lookup.py)
            raise ConfigError(path, key, f"expected a number above 0, got {values[key]}")
    for key in ("buttons.repeat_window", "buttons.bounce_time"):
        if values[key] < 0:
            raise ConfigError(path, key, f"expected 0 or more seconds, got {values[key]}")
    if values["queue.role"] not in QUEUE_ROLES:
        raise ConfigError(path, "queue.role", f"expected one of {', '.join(QUEUE_ROLES)}, got {values['queue.role']!r}")
    values["queue.host_token"] = os.environ.get("KIOSK_HOST_TOKEN") or values["queue.host_token"]
    if values["queue.role"] == "window":
        if not values["queue.host"].startswith(("http://", "https://")):
            raise ConfigError(
                path, "queue.host", f"role window needs the host's http:// address, got {values['queue.host']!r}"
            )
        if not values["queue.host_token"]:
            raise ConfigError(path, "queue.host_token", "role window needs this device's token (kiosk host-add-device)")
    listen_host, _, listen_port = values["queue.listen"].rpartition(":")
    if not listen_host or not listen_port.isdigit() or not 0 <= int(listen_port) < 65536:  # 0: any free port
        raise ConfigError(path, "queue.listen", f"expected address:port, got {values['queue.listen']!r}")
    if values["audio.language"] not in AUDIO_LANGUAGES:
        raise ConfigError(
            path, "audio.language", f"expected one of {', '.join(AUDIO_LANGUAGES)}, got {values['audio.language']!r}"
        )
    if values["kiosk.language"] not in ("zh-TW", "en"):
        raise ConfigError(path, "kiosk.language", f'expected "zh-TW" or "en", got {values["kiosk.language"]!r}')
    if values["display.rotation"] not in (0, 90, 180, 270):
        raise ConfigError(path, "display.rotation", f"expected 0, 90, 180 or 270, got {values['display.rotation']}")
    if values["display.fullscreen"] not in (True, False, "auto"):
        raise ConfigError(
            path, "display.fullscreen", f'expected true, false or "auto", got {values["display.fullscreen"]!r}'
        )
    for key in ("display.width", "display.height"):
        if not 200 <= values[key] <= 8000:
            raise ConfigError(path, key, f"expected pixels from 200 to 8000, got {values[key]}")
    from kiosk.screen_power import parse_hours

    try:
        parse_hours(values["display.on_hours"])
    except ValueError as exc:
        raise ConfigError(path, "display.on_hours", str(exc)) from None
    days = values["display.on_days"]
    if not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days) or len(set(days)) != len(
        days
    ):
        raise ConfigError(
            path, "display.on_days", f"expected distinct weekdays from 1 (Monday) to 7 (Sunday), got {days!r}"
        )
    if values["sync.url"] and not values["sync.url"].startswith(("http://", "https://")):
        raise ConfigError(path, "sync.url", f"expected an http:// or https:// address, got {values['sync.url']!r}")
    cleartext = refusal(values["sync.url"], allow_insecure_http=values["sync.allow_insecure_http"])
    if cleartext:
        raise ConfigError(path, "sync.url", " / ".join(cleartext))
    values["sync.token"] = os.environ.get("KIOSK_SYNC_TOKEN") or values["sync.token"]
    if not 1 <= values["queue.no_show_after_calls"] <= 10:
        raise ConfigError(
            path, "queue.no_show_after_calls", f"expected 1 to 10 calls, got {values['queue.no_show_after_calls']}"
        )
    problem = values["queue.staff_pin_hash"] and hash_problem(values["queue.staff_pin_hash"])
    if problem:
        raise ConfigError(path, "queue.staff_pin_hash", problem)
    from kiosk.printer import PrinterSpecError, parse_spec

    try:
        parse_spec(values["queue.printer"])
    except PrinterSpecError as exc:
        raise ConfigError(path, "queue.printer", str(exc)) from None

    raw_levels = values["buttons.levels"]
    if not 3 <= len(raw_levels) <= 5:
        raise ConfigError(path, "buttons.levels", f"expected 3 to 5 rating buttons, got {len(raw_levels)}")
    levels: list[Level] = []
    pins_seen: dict[int | str, str] = {}  # _pin_key(pin) → where it is used
    for i, item in enumerate(raw_levels, start=1):
        key = f"buttons.levels[{i}]"
        _label_table(path, key, item, ("label", "label_en"))
        unknown = set(item) - {"label", "label_en", "pin", "led"}
        if unknown:
            raise ConfigError(
                path, key, f"unknown field(s) {', '.join(sorted(unknown))}; expected label, label_en, pin, led"
            )
        if "pin" not in item:
            raise ConfigError(path, f"{key}.pin", "missing: every rating button needs a GPIO pin")
        pin = _pin(path, f"{key}.pin", item["pin"], optional=False)
        led = _pin(path, f"{key}.led", item.get("led"), optional=True)
        for what, p in (("pin", pin), ("led", led)):
            if p is None:
                continue
            if _pin_key(p) in pins_seen:
                raise ConfigError(path, f"{key}.{what}", f"GPIO {p} is already used by {pins_seen[_pin_key(p)]}")
            pins_seen[_pin_key(p)] = f"{key}.{what}"
        levels.append(Level(i, item["label"], item["label_en"], pin, led))
    next_pin = values["buttons.next_pin"]
    if next_pin:
        _pin(path, "buttons.next_pin", next_pin, optional=False)
        if _pin_key(next_pin) in pins_seen:
            raise ConfigError(
                path, "buttons.next_pin", f"GPIO {next_pin} is already used by {pins_seen[_pin_key(next_pin)]}"
            )
    else:
        values["buttons.next_pin"] = None

    raw_reasons = values["reasons.items"]
    if len(raw_reasons) > 6:
        raise ConfigError(path, "reasons.items", f"expected at most six reasons, got {len(raw_reasons)}")
    reasons, codes = [], set()
    for i, item in enumerate(raw_reasons, start=1):
        key = f"reasons.items[{i}]"
        _label_table(path, key, item, ("code", "label", "label_en"))
        if item["code"] in codes:
            raise ConfigError(path, f"{key}.code", f"reason code {item['code']!r} is used twice")
        codes.add(item["code"])
        reasons.append(Reason(item["code"], item["label"], item["label_en"]))
    ask = values["reasons.ask_from_level"]
    if ask and not 1 <= ask <= len(levels):
        raise ConfigError(path, "reasons.ask_from_level", f"expected 0 or a level from 1 to {len(levels)}, got {ask}")

    return Config(path=path, values=values, levels=levels, reasons=reasons)


def load(path: str | os.PathLike | None) -> Config:
    """Read and validate the TOML file at ``path``; None means built-in defaults."""
    if path is None:
        return validate({}, None)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found 找不到設定檔") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read it: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from None
    return validate(raw, path)


def asset_path(name: str) -> Path:
    """A file shipped in the package ``kiosk.assets`` (the repository's assets/ folder):
    ``chime.wav``, ``services.zh-TW.csv`` or ``kiosk.example.toml``."""
    # pip unpacks wheels, so the package's files are real files Kivy and SoundLoader can open.
    return Path(str(resources.files("kiosk.assets").joinpath(name)))


def default_data_dir(*, demo: bool) -> Path:
    """Where the SQLite file lives when --data-dir is not given."""
    if demo or (os.geteuid() != 0 and not Path("/var/lib/counter-kiosk").is_dir()):
        return Path(platformdirs.user_data_dir("counter-kiosk", appauthor=False))
    return Path("/var/lib/counter-kiosk")
