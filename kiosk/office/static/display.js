// The wall display: follows the host's event stream, shows every window's number, the last calls
// and the lines; sounds the chime and the spoken call for each call, one after another.
"use strict";
const PREFIX = "/office/v1";
const LOST_AFTER_MS = 12000; // the host pings every 5 s: two missed pings and a bit is a lost host
let lastMessage = Date.now();
let lastState = null;
let highlight = {};
const sounds = [];
let playing = false;

function text(el, value) { el.textContent = value; return el; }
function make(tag, cls, value) { const e = document.createElement(tag); if (cls) e.className = cls; if (value !== undefined) text(e, value); return e; }

function render(state) {
  lastState = state;
  text(document.getElementById("office"), state.office || "叫號顯示");
  text(document.getElementById("office-en"), state.office_en || "Now serving");
  const box = document.getElementById("windows");
  box.replaceChildren(...state.windows.map((w) => {
    const card = make("div", "window");
    card.dataset.window = w.window;
    if (highlight[w.window] && Date.now() - highlight[w.window] < 8000) card.classList.add("called");
    const label = make("div", "label", `${w.window} 號櫃台`);
    label.append(make("span", "en", `Counter ${w.window}`));
    card.append(label, make("div", "number", w.ticket ? w.ticket.number : "—"),
      make("div", "service", w.ticket ? `${w.ticket.service_name} ${w.ticket.service_name_en}` : ""));
    return card;
  }));
  const calls = document.getElementById("calls");
  calls.replaceChildren(...state.calls.slice().reverse().map((c) => {
    const li = make("li");
    li.append(make("span", "num", c.number), make("span", "to", `→ ${c.window} 號櫃台 Counter ${c.window}`));
    return li;
  }));
  // Lines with people waiting first, then the open ones, then the closed (each in the directory's
  // order): if the column is too short, what is left out is a line nobody is waiting in.
  const rank = (s) => (s.waiting ? 0 : s.open ? 1 : 2);
  const lines = state.services.filter((s) => s.open || s.waiting).sort((a, b) => rank(a) - rank(b));
  const body = document.querySelector("#services tbody");
  body.replaceChildren(...lines.map((s) => {
    const tr = make("tr");
    const name = make("td", null, s.name);
    name.append(make("span", "en", s.name_en));
    tr.append(name, make("td", "n", s.open ? `${s.waiting} 人` : "未開放 Closed"));
    return tr;
  }));
  fitLines();
}

// No line is cut in half at the bottom of the column: those that do not fit are left out, from the
// last, and a note says how many.
function fitLines() {
  document.body.dataset.linesLeftOut = "0";
  const box = document.getElementById("lines");
  const more = document.getElementById("more");
  const rows = [...document.querySelectorAll("#services tbody tr")];
  rows.forEach((r) => { r.hidden = false; });
  more.hidden = true;
  const limit = box.getBoundingClientRect().bottom + 1;
  if (rows.every((r) => r.getBoundingClientRect().bottom <= limit)) return;
  more.hidden = false;
  let left = 0;
  for (let i = rows.length - 1; i >= 0 && (left === 0 || more.getBoundingClientRect().bottom > limit); i--) {
    rows[i].hidden = true;
    left += 1;
    text(more, `另有 ${left} 項服務未列出  ${left} more not shown`);
  }
  document.body.dataset.linesLeftOut = String(left);
}

function playNext() {
  if (playing || !sounds.length) return;
  playing = true;
  const audio = new Audio(sounds.shift());
  const done = () => { playing = false; playNext(); };
  audio.onended = done;
  audio.onerror = done;
  audio.play().catch(done); // autoplay refused (start Chromium with --autoplay-policy=no-user-gesture-required)
}

function onCall(call) {
  highlight[call.window] = Date.now();
  const flash = document.getElementById("flash");
  text(flash, `${call.recall ? "再次叫號 " : ""}${call.number} → ${call.window} 號櫃台  Counter ${call.window}`);
  flash.classList.add("show");
  setTimeout(() => flash.classList.remove("show"), 6000);
  document.body.dataset.lastCall = `${call.number}@${call.window}`;
  sounds.push(`${PREFIX}/chime.wav`, call.audio);
  playNext();
  if (lastState) render(lastState);
}

function setLost(lost) {
  document.getElementById("lost").hidden = !lost;
  document.body.classList.toggle("lost", lost);
  document.body.dataset.connection = lost ? "lost" : "live";
}

function connect() {
  const source = new EventSource(`${PREFIX}/stream`);
  const seen = () => { lastMessage = Date.now(); setLost(false); };
  source.addEventListener("state", (e) => { seen(); render(JSON.parse(e.data)); });
  source.addEventListener("call", (e) => { seen(); onCall(JSON.parse(e.data)); });
  source.addEventListener("ping", seen);
  source.onerror = () => setLost(true); // EventSource retries by itself; the host restarting is seen here
}

function tick() {
  if (Date.now() - lastMessage > LOST_AFTER_MS) setLost(true);
  const now = new Date();
  text(document.getElementById("clock"), now.toLocaleTimeString("zh-TW", { hour12: false, timeZone: "Asia/Taipei" }));
}
tick();
setInterval(tick, 1000);
document.body.dataset.connection = "connecting";
connect();
window.addEventListener("resize", fitLines); // a TV switched to another resolution
