// The visitor's ticket page: follows the host's event stream and reads /t/<token>.json again on every
// change; a slow poll backs it up where a proxy holds the stream back.
"use strict";
const BANDS = { lt5: ["5 分鐘內", "under 5 min"], "5-10": ["5–10 分鐘", "5–10 min"], "10-20": ["10–20 分鐘", "10–20 min"],
  "20-30": ["20–30 分鐘", "20–30 min"], "30+": ["30 分鐘以上", "30+ min"], closed: ["未開放", "not open"] };
const STATUS = { waiting: ["等候中", "Waiting"], served: ["已完成服務", "Served"], no_show: ["已過號，請洽櫃台", "Missed — please ask at the counter"] };
function set(id, value) { document.getElementById(id).textContent = value; }
function band(key) { const b = BANDS[key]; return b ? `${b[0]} (${b[1]})` : key || "—"; }

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const response = await fetch(`${location.pathname}.json`, { cache: "no-store" });
    const data = await response.json();
    if (!response.ok) { problem.hidden = false; problem.textContent = `${data.detail.zh} ${data.detail.en}`; return; }
    problem.hidden = true;
    set("number", data.number);
    set("service", `${data.service_name} ${data.service_name_en}`);
    const status = document.getElementById("status");
    status.className = data.status;
    if (data.status === "called") status.textContent = `請到 ${data.window} 號櫃台 Please go to counter ${data.window}`;
    else { const s = STATUS[data.status] || [data.status, ""]; status.textContent = `${s[0]} ${s[1]}`; }
    set("serving", data.now_serving.length ? data.now_serving.join("、") : "—");
    set("ahead", data.ahead === null ? "—" : `${data.ahead} 人 (${data.ahead} ${data.ahead === 1 ? "person" : "people"})`);
    set("band", data.band ? band(data.band) : "—");
    document.body.dataset.revision = data.revision;
  } catch (err) {
    problem.hidden = false;
    problem.textContent = "暫時連不上叫號主機，稍後自動重試。 Cannot reach the queue host; retrying.";
  }
}
refresh();
const source = new EventSource("/office/v1/stream");
source.addEventListener("state", refresh);
setInterval(refresh, 30000);
