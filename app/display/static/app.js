// convlens viewer: shows the MJPEG stream, polls /api/status, sends keys and buttons.
"use strict";

const params = new URLSearchParams(window.location.search);
const token = params.get("token") || "";
const statusFields = ["view", "kernel", "operation", "stride", "padding", "activation",
  "pooling", "pool_size", "fps", "runtime", "source", "frozen"];
let keyMap = {};

function showMessage(text) {
  document.getElementById("message").textContent = text;
}

async function post(path, payload) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers["X-Convlens-Token"] = token;
  try {
    const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(payload) });
    if (response.status === 403) {
      showMessage("Controls need the token printed when convlens started: open this page with ?token=…");
    } else if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      showMessage(body.error || `request failed (${response.status})`);
    } else {
      showMessage("");
    }
  } catch (err) {
    showMessage("convlens is not reachable");
  }
}

function keyName(event) {
  if (event.key === "Tab" && event.shiftKey) return "Shift+Tab";
  return event.key;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  const name = keyName(event);
  if (!(name in keyMap)) return;
  event.preventDefault();
  post("/api/key", { key: name });
});

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

async function loadLegend() {
  const response = await fetch("/api/legend");
  const data = await response.json();
  keyMap = data.keys;
  const body = document.querySelector("#legend tbody");
  body.replaceChildren();
  for (const [key, description] of data.legend) {
    const row = document.createElement("tr");
    cell(row, key);
    cell(row, description);
    body.appendChild(row);
  }
  const buttons = document.getElementById("buttons");
  buttons.replaceChildren();
  for (const [action, description] of Object.entries(data.actions)) {
    const button = document.createElement("button");
    button.textContent = description;
    button.dataset.action = action;
    button.addEventListener("click", () => post("/api/action", { action }));
    buttons.appendChild(button);
  }
}

function format(value) {
  if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(2);
  if (value === null || value === undefined) return "–";
  return String(value);
}

function renderStatus(status) {
  const body = document.querySelector("#status tbody");
  body.replaceChildren();
  for (const field of statusFields) {
    if (!(field in status)) continue;
    const row = document.createElement("tr");
    row.dataset.field = field;
    cell(row, field);
    cell(row, format(status[field]));
    body.appendChild(row);
  }
  document.getElementById("digit").textContent =
    status.prediction === null || status.prediction === undefined ? "–" : String(status.prediction);
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  for (const p of status.probabilities || []) {
    const li = document.createElement("li");
    const bar = document.createElement("span");
    bar.style.width = `${Math.round(Number(p) * 150)}px`;
    li.appendChild(bar);
    li.append(` ${(Number(p) * 100).toFixed(0)}%`);
    bars.appendChild(li);
  }
  if (status.message) showMessage(status.message);
}

async function pollStatus() {
  const badge = document.getElementById("connection");
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    const status = await response.json();
    renderStatus(status);
    badge.textContent = status.control ? "live" : "live (view only)";
    badge.className = "badge ok";
  } catch (err) {
    badge.textContent = "disconnected";
    badge.className = "badge err";
  }
  setTimeout(pollStatus, 500);
}

function startStream() {
  const img = document.getElementById("stream");
  img.addEventListener("error", () => {
    // The stream ends when convlens restarts: reconnect.
    setTimeout(() => { img.src = `/stream.mjpg?t=${Date.now()}`; }, 1000);
  });
  img.src = "/stream.mjpg";
}

loadLegend().catch(() => showMessage("could not load the key legend"));
pollStatus();
startStream();
