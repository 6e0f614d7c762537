"""Which queue a kiosk runs by [queue] role, and the entrance kiosk's hardware: plain Python, no window."""

from __future__ import annotations

import subprocess
import sys

import pytest
from gpiozero.pins.mock import MockFactory

from kiosk.clock import SystemClock
from kiosk.config import validate
from kiosk.queue import Queue
from kiosk.runtime import Kiosk, host_url, public_host_url

TOKEN = "t" * 32


def config(**queue):
    return validate({"kiosk": {"id": "roles-test", "window": "2"}, "queue": queue})


@pytest.fixture
def kiosk_of(tmp_path):
    made: list[Kiosk] = []

    def make(cfg) -> Kiosk:
        kiosk = Kiosk(cfg, tmp_path / f"k{len(made)}", pin_factory=MockFactory(), clock=SystemClock())
        made.append(kiosk)
        return kiosk

    yield make
    for kiosk in made:
        kiosk.close()


def test_a_local_kiosk_keeps_its_own_queue(kiosk_of):
    kiosk = kiosk_of(config())
    assert type(kiosk.queue) is Queue and not kiosk.queue.office
    assert kiosk.queue.window == "2"
    assert host_url(kiosk.config) == public_host_url(kiosk.config) == ""


def test_a_window_kiosk_asks_the_host_with_its_token(kiosk_of):
    from kiosk.office.client import RemoteQueue

    kiosk = kiosk_of(config(role="window", host="http://192.168.1.10:8480/", host_token=TOKEN))
    assert isinstance(kiosk.queue, RemoteQueue)
    assert kiosk.queue.window == "2"
    assert kiosk.queue.client.base == "http://192.168.1.10:8480/office/v1"
    assert kiosk.queue.client.session.headers["Authorization"] == f"Bearer {TOKEN}"
    assert kiosk.recorder.link == kiosk.queue.rating_link  # a rating names the host's ticket
    assert public_host_url(kiosk.config) == "http://192.168.1.10:8480/"  # the ticket's QR code


@pytest.mark.parametrize(
    ("listen", "url"),
    [
        ("0.0.0.0:8480", "http://127.0.0.1:8480/"),
        ("127.0.0.1:9000", "http://127.0.0.1:9000/"),
        ("[::]:8480", "http://127.0.0.1:8480/"),
        ("192.168.1.10:8480", "http://192.168.1.10:8480/"),
    ],
)
def test_the_host_devices_own_screens_go_through_its_host_on_loopback(kiosk_of, listen, url):
    from kiosk.office.client import RemoteQueue

    kiosk = kiosk_of(config(role="host", listen=listen, host_token=TOKEN, entrance=True))
    assert isinstance(kiosk.queue, RemoteQueue)
    assert kiosk.queue.client.base == url.rstrip("/") + "/office/v1"


def test_the_host_devices_qr_code_names_an_address_a_phone_can_reach():
    public = public_host_url(config(role="host", listen="0.0.0.0:8480", host_token=TOKEN))
    assert public.startswith("http://") and public.endswith(":8480/")
    fixed = public_host_url(config(role="host", listen="192.168.1.10:8480", host_token=TOKEN))
    assert fixed == "http://192.168.1.10:8480/"


def test_the_entrance_kiosk_has_no_rating_buttons_and_no_next_button(kiosk_of):
    cfg = config(role="window", host="http://192.168.1.10:8480/", host_token=TOKEN, entrance=True)
    kiosk = kiosk_of(cfg)
    assert kiosk.buttons.buttons == {} and kiosk.buttons.leds == {}
    assert kiosk.buttons.next_button is None
    window = kiosk_of(config(role="window", host="http://192.168.1.10:8480/", host_token=TOKEN))
    assert len(window.buttons.buttons) == 5


def test_a_local_kiosk_imports_no_network_code(tmp_path):
    """Only the path that builds a RemoteQueue loads the host's client (and requests with it)."""
    code = (
        "import sys\n"
        "from gpiozero.pins.mock import MockFactory\n"
        "from kiosk.config import validate\n"
        "from kiosk.runtime import Kiosk\n"
        "k = Kiosk(validate({'kiosk': {'id': 'lazy'}}), sys.argv[1], pin_factory=MockFactory())\n"
        "k.close()\n"
        "print(sorted(m for m in ('kiosk.office.client', 'requests', 'urllib3') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data")], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
