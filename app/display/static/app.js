// convlens viewer: shows the MJPEG stream, polls /api/status, sends keys and buttons.
// Every sentence it shows comes from /api/text (translatable on the server side).
"use strict";

const params = new URLSearchParams(window.location.search);
const token = params.get("token") || "";
const statusFields = ["view", "kernel", "operation", "stride", "padding", "activation",
  "pool_mode", "pool_size", "fps", "runtime", "model", "source", "frozen"];
// Held keys repeat; these actions must happen once per press (a held space would
// otherwise fill the SD card with snapshots); /api/legend lists them.
let noRepeatActions = new Set(["snapshot", "quit"]);
// The view the key map was loaded for: a view may have keys of its own (the teach view's
// digit keys save a sample), so the map is loaded again when the view changes.
let legendView = null;
let keyMap = {};
let text = {};
// Setting values and view names as the overlay words them ("zero" -> "ceros").
let values = {};
// The page key for presentation mode: the picture alone, full window (also /?present).
const presentKey = "P";
// The language of the texts on the page; the app's can change with a key (l).
let language = "";
// "connecting", "live", "full" or "reconnecting": what the picture is doing.
let streamState = "connecting";
let viewOnly = false;

function t(key, fields = {}) {
  const message = text[key] || "";
  return message.replace(/\{(\w+)\}/g, (_, name) => String(fields[name] ?? ""));
}

function showMessage(message) {
  document.getElementById("message").textContent = message;
}

async function loadText() {
  const response = await fetch("/api/text", { cache: "no-store" });
  const data = await response.json();
  text = data.text;
  values = data.values || {};
  language = data.lang;
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-text]")) {
    element.textContent = t(element.dataset.text);
  }
  for (const element of document.querySelectorAll("[data-text-alt]")) {
    element.alt = t(element.dataset.textAlt);
  }
  document.title = t("title");
}

async function post(path, payload) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers["X-Convlens-Token"] = token;
  try {
    const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(payload) });
    if (response.status === 403 && token === "") {
      showMessage(t("token_needed"));
    } else if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      showMessage(body.error || `${response.status}`);
    } else {
      showMessage("");
    }
  } catch (err) {
    showMessage(t("unreachable"));
  }
}

function keyName(event) {
  if (event.key === "Tab" && event.shiftKey) return "Shift+Tab";
  return event.key;
}

function setPresent(on) {
  document.body.classList.toggle("present", on);
  const url = new URL(window.location.href);
  if (on) url.searchParams.set("present", ""); else url.searchParams.delete("present");
  window.history.replaceState(null, "", url.toString().replace("present=", "present"));
  if (on && document.fullscreenEnabled && !document.fullscreenElement) {
    document.documentElement.requestFullscreen().catch(() => {});
  } else if (!on && document.fullscreenElement) {
    document.exitFullscreen().catch(() => {});
  }
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  const name = keyName(event);
  if (name === presentKey && !(name in keyMap)) {
    event.preventDefault();
    if (!event.repeat) setPresent(!document.body.classList.contains("present"));
    return;
  }
  if (!(name in keyMap)) return;
  event.preventDefault();
  if (event.repeat && noRepeatActions.has(keyMap[name])) return;
  post("/api/key", { key: name });
});

function cell(row, value) {
  const td = document.createElement("td");
  td.textContent = value;
  row.appendChild(td);
}

async function loadLegend() {
  const response = await fetch("/api/legend", { cache: "no-store" });
  const data = await response.json();
  keyMap = data.keys;
  legendView = data.view;
  if (data.once_per_press) noRepeatActions = new Set(data.once_per_press);
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
  // The loop's own texts (a notice, no camera, the runtime) in the app's language.
  const translated = status.translated || {};
  for (const field of statusFields) {
    if (!(field in status)) continue;
    const row = document.createElement("tr");
    row.dataset.field = field;
    cell(row, t(`field_${field}`) || field);
    const value = status[field];
    if (typeof value === "boolean") cell(row, t(value ? "yes" : "no"));
    else cell(row, translated[field] || values[value] || format(value));
    body.appendChild(row);
  }
  // The number view's number, else the digit.
  const shown = status.number ?? status.prediction;
  document.getElementById("digit").textContent =
    shown === null || shown === undefined ? "–" : String(shown);
  // Why no digit is shown, and whether to hold the digit closer or further away.
  const notes = [status.reason, status.hint].filter(Boolean).map((note) => values[note] || note);
  document.getElementById("reason").textContent = notes.join(" · ");
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
  if (status.message) showMessage(translated.message || status.message);
}

function renderBadge(reachable) {
  const badge = document.getElementById("connection");
  let key = "connecting";
  let kind = "";
  if (!reachable) {
    [key, kind] = ["disconnected", "err"];
  } else if (streamState === "full") {
    [key, kind] = ["full", "warn"];
  } else if (streamState === "live") {
    [key, kind] = [viewOnly ? "live_view_only" : "live", "ok"];
  }
  badge.textContent = t(key);
  badge.className = `badge ${kind}`;
  badge.dataset.state = reachable ? streamState : "disconnected";
}

async function pollStatus() {
  let reachable = true;
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    const status = await response.json();
    viewOnly = !status.control;
    if (status.language && language && status.language !== language) {
      // The app switched language: every text and the key legend follow it.
      await loadText();
      await loadLegend();
    } else if (status.view && status.view !== legendView) {
      await loadLegend();
    }
    renderStatus(status);
  } catch (err) {
    reachable = false;
  }
  renderBadge(reachable);
  setTimeout(pollStatus, 500);
}

function setStreamState(state, maxViewers) {
  streamState = state;
  const full = state === "full";
  document.getElementById("full").hidden = !full;
  document.getElementById("stream").hidden = full;
  document.getElementById("full-text").textContent = full ? t("too_many_viewers", { max: maxViewers }) : "";
  if (state === "reconnecting") showMessage(t("reconnecting"));
  if (state === "live" && document.getElementById("message").textContent === t("reconnecting")) {
    showMessage("");
  }
  renderBadge(true);
}

async function streamFailed() {
  // An <img> never shows why it failed: ask whether every viewer slot is taken.
  let state = "reconnecting";
  let maxViewers = 0;
  try {
    const status = await (await fetch("/api/status", { cache: "no-store" })).json();
    maxViewers = status.max_stream_clients;
    if (status.stream_clients >= status.max_stream_clients) state = "full";
  } catch (err) {
    state = "reconnecting";
  }
  setStreamState(state, maxViewers);
  setTimeout(startStream, state === "full" ? 3000 : 1000);
}

function startStream() {
  const img = document.getElementById("stream");
  img.onload = () => setStreamState("live");
  img.onerror = () => { img.removeAttribute("src"); streamFailed(); };
  img.src = `/stream.mjpg?t=${Date.now()}`;
}

if (params.has("present")) document.body.classList.add("present");

loadText()
  .catch(() => {})
  .then(() => {
    loadLegend().catch(() => showMessage(t("legend_failed")));
    pollStatus();
    startStream();
  });
