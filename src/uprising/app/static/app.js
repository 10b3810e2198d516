// uprising explorer: the page. Talks to the server's JSON API (/api/...) only; draws with plotly.js
// (served by the same server from the installed plotly package) and a canvas. No other host is contacted.
"use strict";

const $ = (id) => document.getElementById(id);
const COLOURS = {quiet: "#7570b3", active: "#d95f02", violent: "#7f0000", jailed: "#1b9e77",
                 killed: "#000000", injured: "#e7298a"};
const LABELS = {quiet: "quiet", active: "active", violent: "violent", jailed: "jailed",
                killed: "killed (cumulative)", injured: "injured (cumulative)"};
const ARM_COLOURS = ["#000000", "#d95f02", "#1b9e77", "#7570b3"];
const KIND_COLOURS = [[244, 244, 244], [157, 180, 214], [242, 142, 43], [89, 161, 79], [31, 45, 90], [179, 0, 27]];
const KIND_NAMES = ["empty", "quiet", "active", "jailed", "police", "violent"];
const PLOT_CONFIG = {displaylogo: false, responsive: true, showLink: false, showSendToCloud: false,
                     toImageButtonOptions: {format: "png", scale: 2}};
// Times on every axis and in every hover: ISO 8601 with a 24-hour clock (never a locale's 12-hour format).
const DATE_AXIS = {type: "date", tickformat: "%Y-%m-%d<br>%H:%M", hoverformat: "%Y-%m-%d %H:%M"};
// Event marks: one colour per kind of event, in the order kinds first appear (any kind the scenario declares).
const EVENT_COLOURS = ["#4c72b0", "#c44e52", "#8172b2", "#55a868", "#937860", "#da8bc3", "#8c8c8c", "#ccb974",
                       "#64b5cd", "#dd8452"];
const INTERVAL = "5-95% of the runs";
const POLL_MS = 400;
const CHECK_MS = 30000;   // how often the page asks whether the jobs it shows are still kept
const CLIENT_HEADER = "X-Uprising-Client";

// This tab's client id: random, kept for the tab's life (sessionStorage survives a reload). The server keeps a
// client's jobs until the client drops them or they are old, whatever other tabs and users run.
function clientId() {
  const key = "uprising-client";
  let id = null;
  try { id = window.sessionStorage.getItem(key); } catch (err) { id = null; }
  if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    try { window.sessionStorage.setItem(key, id); } catch (err) { /* private mode: this page's life only */ }
  }
  return id;
}

const state = {
  client: clientId(), // this tab's client id, sent with every request
  scenario: null,     // the scenario's description from /api/scenarios/{id}
  busy: null,         // the job this page is waiting for
  runJob: null,       // the last finished run job
  compareJob: null,   // the last finished comparison
  latticeJob: null,   // the last finished lattice animation
  map: null,
  lattice: null,
};
window.uprisingState = state;

class ApiFailure extends Error {}

async function api(path, options = {}) {
  let res;
  try {
    res = await fetch(path, {...options, headers: {...(options.headers || {}), [CLIENT_HEADER]: state.client}});
  } catch (err) {
    throw new ApiFailure("the server cannot be reached: " + err.message);
  }
  const type = res.headers.get("content-type") || "";
  const body = type.includes("application/json") ? await res.json() : null;
  if (!res.ok) {
    throw new ApiFailure(body && body.error ? body.error : `HTTP ${res.status} ${res.statusText}`);
  }
  return body;
}

function post(path, body) {
  return api(path, {method: "POST", headers: {"Content-Type": "application/json"},
                    body: body === undefined ? undefined : JSON.stringify(body)});
}

function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = "message" + (kind === "error" ? "" : " " + kind);
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
  $("message").textContent = "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) node.append(child);
  return node;
}

function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "-";
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString("en-GB");
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

// ---------------------------------------------------------------------------- scenarios and levers
async function loadScenarios() {
  const data = await api("/api/scenarios");
  const select = $("scenario");
  select.replaceChildren();
  for (const s of data.scenarios) {
    select.append(el("option", {value: s.id, text: `${s.name} (${s.cities} cities, ${s.steps} steps)`}));
  }
  if (!data.scenarios.length) {
    showMessage("no country scenario in the scenarios folder");
    return;
  }
  const preferred = data.scenarios.find((s) => s.id === "kazakhstan-2022");
  select.value = preferred ? preferred.id : data.scenarios[0].id;
  if (data.skipped.length) {
    showMessage("scenario files that cannot be used (skipped): " +
                data.skipped.map((s) => `${s.file}: ${s.error}`).join("; "), "info");
  }
  await chooseScenario(select.value);
}

function leverInput(spec, prefix) {
  const id = `${prefix}-${spec.key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  let input;
  if (spec.type === "bool") {
    input = el("input", {type: "checkbox", id});
    input.checked = Boolean(spec.default);
  } else if (spec.type === "choice") {
    input = el("select", {id});
    for (const [value, label] of spec.choices) input.append(el("option", {value, text: label}));
    input.value = spec.default;
  } else if (spec.type === "time") {
    // a text field in ISO 8601 (YYYY-MM-DDTHH:MM, 24-hour clock): a datetime-local field shows the browser's
    // locale (US: MM/DD/YYYY and a cut-off AM/PM, so noon and midnight both read 12:00)
    input = el("input", {type: "text", id, class: "mono", placeholder: "YYYY-MM-DDTHH:MM", spellcheck: "false",
                         pattern: "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}", inputmode: "numeric"});
    input.value = spec.default;
  } else {
    input = el("input", {type: "number", id, min: spec.min, max: spec.max, step: spec.step ?? "any"});
    input.value = spec.default;
  }
  input.dataset.key = spec.key;
  input.dataset.type = spec.type;
  input.dataset.default = spec.type === "bool" ? String(Boolean(spec.default)) : String(spec.default);
  input.title = spec.help || "";
  const row = el("div", {class: "lever"}, el("label", {for: id, text: spec.label, title: spec.help || ""}), input);
  input.addEventListener("input", () => markChanged(input, row));
  input.addEventListener("change", () => markChanged(input, row));
  return row;
}

function markChanged(input, row) {
  const now = input.type === "checkbox" ? String(input.checked) : input.value;
  row.classList.toggle("changed", now !== input.dataset.default);
}

function leverValue(input) {
  return input.type === "checkbox" ? input.checked : input.value;
}

function applyDependencies(form, specs) {
  // a lever that acts only while another has a value is greyed out otherwise (its value is still sent)
  const byKey = new Map([...form.querySelectorAll("[data-key]")].map((i) => [i.dataset.key, i]));
  for (const spec of specs) {
    if (!spec.when) continue;
    const input = byKey.get(spec.key);
    const other = byKey.get(spec.when.key);
    if (input && other) input.disabled = leverValue(other) !== spec.when.is;
  }
}

function buildForm(form, specs, prefix) {
  form.replaceChildren();
  form.onchange = () => applyDependencies(form, specs);
  const groups = new Map();
  for (const spec of specs) {
    if (!groups.has(spec.group)) {
      const fs = el("fieldset", {}, el("legend", {text: spec.group}));
      groups.set(spec.group, fs);
      form.append(fs);
    }
    groups.get(spec.group).append(leverInput(spec, prefix));
  }
  applyDependencies(form, specs);
}

function readForm(form) {
  const out = {};
  for (const input of form.querySelectorAll("[data-key]")) {
    const type = input.dataset.type;
    let value;
    if (type === "bool") value = input.checked;
    else if (type === "number") {
      const text = input.value.trim();
      value = text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
    } else value = input.value;
    out[input.dataset.key] = value;
  }
  return out;
}

async function chooseScenario(id) {
  clearMessage();
  const s = await api(`/api/scenarios/${encodeURIComponent(id)}`);
  state.scenario = s;
  for (const job of [state.runJob, state.compareJob, state.latticeJob]) dropJob(job);
  state.runJob = state.compareJob = state.latticeJob = state.map = null;
  $("scenario-description").textContent = `${s.description} (${s.clock.start} to ${s.clock.end}, ` +
    `${s.clock.ticks} steps of ${s.clock.tick_hours} h; ${s.timezone || "local time"})`;
  buildForm($("levers"), s.levers, "lever");
  buildForm($("run-settings"), s.run, "run");
  for (const select of [$("timeline-city"), $("lattice-city"), $("compare-city")]) {
    select.replaceChildren();
    if (select.id === "timeline-city") select.append(el("option", {value: "", text: "(choose a city)"}));
    if (select.id === "compare-city") select.append(el("option", {value: "", text: "all cities"}));
    for (const c of s.cities) select.append(el("option", {value: c.name, text: c.name}));
  }
  $("lattice-city").value = s.cities[0].name;
  const arms = $("compare-arms");
  arms.replaceChildren(el("legend", {text: "Variants (1 to 3)"}));
  const options = [{name: "levers", description: "the current levers"}, ...s.variants];
  options.forEach((v, i) => {
    const box = el("input", {type: "checkbox", value: v.name, id: `arm-${i}`});
    if (i === 0 || (i === 1 && s.variants.length)) box.checked = true;
    arms.append(el("label", {for: `arm-${i}`}, box, ` ${v.name}: ${v.description}`));
  });
  for (const id of ["chart-national", "chart-city", "chart-map", "chart-compare", "chart-compare-deaths",
                    "chart-compare-detained", "chart-diff"]) {
    if (window.Plotly) Plotly.purge($(id));
    delete $(id).dataset.job;
  }
  $("summary").textContent = "Set the levers and press Run.";
  $("compare-table").replaceChildren();
  $("compare-note").hidden = true;
  $("downloads").replaceChildren();
  clearLattice();
}

// ---------------------------------------------------------------------------- jobs
function setBusy(job) {
  state.busy = job;
  for (const id of ["run", "compare-run", "lattice-run", "scenario"]) $(id).disabled = Boolean(job);
  $("cancel").disabled = !job;
}

function showProgress(job) {
  const share = job.total ? job.done / job.total : 0;
  $("progress-bar").style.width = `${Math.round(100 * share)}%`;
  const text = $("progress-text");
  if (job.state === "queued" && job.queue_position) {
    text.textContent = `${job.kind} ${job.id} queued: number ${job.queue_position} in the queue ` +
      `(it starts when a worker is free; ${job.elapsed.toFixed(1)} s)`;
    text.dataset.queue = String(job.queue_position);
  } else {
    // phase: the server says when a first run is compiling the kernels (it detects it: no kernel loaded yet)
    const phase = job.state === "running" && job.phase ? `${job.phase}, ` : "";
    text.textContent = `${job.kind} ${job.id}: ${job.state}, ${phase}${job.done} / ${job.total} steps` +
      ` (${job.elapsed.toFixed(1)} s)`;
    text.dataset.phase = job.phase || "";
    delete text.dataset.queue;
  }
}

// The page drops a job it no longer shows (replaced by a newer one, cancelled or failed), so that the server
// keeps only what each page shows; a job another client started is never touched.
function dropJob(job) {
  if (!job) return;
  api(`/api/jobs/${job.id}`, {method: "DELETE"}).catch(() => {});
}

// Replace the job shown in one slot (runJob, compareJob, latticeJob), dropping the one it replaces.
function keepShown(slot, job) {
  const previous = state[slot];
  state[slot] = job;
  if (previous && previous.id !== job.id) dropJob(previous);
}

// Ask the server whether the jobs this page shows are still kept; say so, once, for each one that is gone.
async function checkJobs() {
  const shown = [["runJob", "run"], ["compareJob", "comparison"], ["latticeJob", "lattice"]]
    .filter(([slot]) => state[slot]);
  if (!shown.length) return [];
  const data = await api("/api/jobs");
  const kept = new Set(data.jobs.map((j) => j.id));
  const reasons = new Map(data.gone.map((g) => [g.id, g.reason]));
  const lost = [];
  for (const [slot, label] of shown) {
    const job = state[slot];
    if (kept.has(job.id)) continue;
    const why = reasons.get(job.id) || "the server no longer has it (it may have restarted)";
    lost.push(`${label} ${job.id} is gone from the server: ${why}. Its charts stay on this page, but its ` +
              "views and downloads are no longer available; run it again");
    state[slot] = null;
  }
  if (lost.length) {
    showMessage(lost.join(". "), "info");
    renderDownloads();
  }
  return lost;
}
window.uprisingCheckJobs = checkJobs;

async function startJob(body, onDone) {
  clearMessage();
  let job;
  try {
    job = await post("/api/jobs", {scenario: state.scenario.id, ...body});
  } catch (err) {
    showMessage(err.message);
    return;
  }
  setBusy(job);
  showProgress(job);
  try {
    while (job.state === "queued" || job.state === "running") {
      await new Promise((r) => setTimeout(r, POLL_MS));
      job = await api(`/api/jobs/${job.id}`);
      showProgress(job);
    }
    if (job.state === "done") await onDone(job);
    else if (job.state === "cancelled") {
      showMessage(`${job.kind} ${job.id} was cancelled`, "info");
      dropJob(job);
    } else {
      showMessage(job.error || `${job.kind} ${job.id} failed`);
      dropJob(job);
    }
  } catch (err) {
    showMessage(err.message);
  } finally {
    setBusy(null);
  }
}

async function cancelJob() {
  if (!state.busy) return;
  try {
    await post(`/api/jobs/${state.busy.id}/cancel`);
  } catch (err) {
    showMessage(err.message);
  }
}

function runBody() {
  return {levers: readForm($("levers")), run: readForm($("run-settings"))};
}

// ---------------------------------------------------------------------------- timelines
function bandTraces(x, band, colour, name, xa, ya, group, dash) {
  return [
    {x: x.concat([...x].reverse()), y: band.high.concat([...band.low].reverse()), type: "scatter",
     mode: "lines", fill: "toself", fillcolor: colour + "33", line: {width: 0}, hoverinfo: "skip",
     showlegend: false, legendgroup: group, xaxis: xa, yaxis: ya, name: name + " 5-95%"},
    {x, y: band.median, type: "scatter", mode: "lines", line: {color: colour, width: 1.8, dash: dash || "solid"},
     name, legendgroup: group, xaxis: xa, yaxis: ya},
  ];
}

// Marks for a scenario's events on a chart: a dotted line at each event's start and its label (kind: id) above
// the plot; the hover on a label gives its span and cities. xref: the x axis ("x", "x2", ...); times: the chart's
// times; pixels: the axis' width on screen. Labels closer than a line of text are pushed right, in time order,
// so that events close in time stay readable.
function eventMarks(events, xref, times, pixels, maxChars = 40) {
  const t0 = Date.parse(times[0]);
  const span = Math.max(1, Date.parse(times[times.length - 1]) - t0);
  const kinds = [];
  const shapes = [];
  const annotations = [];
  let last = -Infinity;  // where the previous label was put (pixels from the axis' left end)
  for (const e of events || []) {
    if (!kinds.includes(e.kind)) kinds.push(e.kind);
    const colour = EVENT_COLOURS[kinds.indexOf(e.kind) % EVENT_COLOURS.length];
    const start = e.start.replace("T", " ");
    shapes.push({type: "line", xref, yref: "paper", x0: start, x1: start, y0: 0, y1: 1,
                 line: {color: colour, width: 1, dash: "dot"}, layer: "below"});
    const at = pixels * (Date.parse(e.start) - t0) / span;
    const put = Math.max(at, last + 11);
    last = put;
    const when = e.end ? `${start} to ${e.end.replace("T", " ")}` : start;
    const text = e.label.length > maxChars ? e.label.slice(0, maxChars - 1) + "\u2026" : e.label;
    annotations.push({x: start, xref, y: 1, yref: "paper", yanchor: "bottom", xanchor: "center", text,
                      textangle: -90, showarrow: false, font: {size: 9, color: colour}, xshift: put - at,
                      hovertext: `${e.label} (${when}; ${e.cities.join(", ")})`});
  }
  return {shapes, annotations};
}

function drawTimeline(div, data, title) {
  // three panels on one time axis: quiet; active, violent and jailed; killed and injured (cumulative)
  const panels = [["y", ["quiet"]], ["y2", ["active", "violent", "jailed"]], ["y3", ["killed", "injured"]]];
  const traces = [];
  for (const [ya, names] of panels) {
    for (const name of names) traces.push(...bandTraces(data.times, data.series[name], COLOURS[name], LABELS[name], "x", ya, name));
  }
  const layout = {
    title: {text: title, y: 0.985, yanchor: "top"}, height: 700, margin: {l: 70, r: 20, t: 170, b: 40},
    legend: {orientation: "h", y: -0.08},
    xaxis: {anchor: "y3", ...DATE_AXIS},
    yaxis: {domain: [0.72, 1], title: {text: "quiet"}, rangemode: "tozero"},
    yaxis2: {domain: [0.38, 0.68], title: {text: "people at once"}, rangemode: "tozero"},
    yaxis3: {domain: [0, 0.34], title: {text: "cumulative"}, rangemode: "tozero"},
    ...eventMarks(data.events, "x", data.times, Math.max(200, div.clientWidth - 90)),
  };
  return Plotly.react(div, traces, layout, PLOT_CONFIG).then(() => { div.dataset.job = data.job; });
}

async function showRun(job) {
  keepShown("runJob", job);
  const nat = await api(`/api/jobs/${job.id}/timeline`);
  const sc = state.scenario;
  await drawTimeline($("chart-national"), nat,
    `${sc.name}: all cities (${nat.runs} runs at scale ${nat.scale}, median and ${nat.interval}; people)`);
  const s = nat.summary;
  const figure = (key, label) => [`${label} `, el("b", {text: fmt(s[key])}),
    ` (${fmt(s.intervals[key][0])} to ${fmt(s.intervals[key][1])})`];
  $("summary").innerHTML = "";
  $("summary").append(
    `Run ${job.id}: ${s.runs} runs at scale ${s.scale} agents per resident ` +
    `(${s.residents_per_agent.toLocaleString("en-GB")} residents per agent, ` +
    `${s.agents.toLocaleString("en-GB")} agents). Medians, with ${s.interval} in brackets: `,
    ...figure("peak_unrest", "peak unrest"), ", ", ...figure("deaths", "deaths"), ", ",
    ...figure("detained", "detained"), ", ", ...figure("injured", "injured"), " (people).");
  const city = $("timeline-city").value || sc.cities[0].name;
  $("timeline-city").value = city;
  await showCity(city);
  await loadMap(job);
  renderDownloads();
  showMessage(`run ${job.id} done in ${job.elapsed.toFixed(1)} s`, "info");
}

async function showCity(city) {
  if (!state.runJob || !city) return;
  const data = await api(`/api/jobs/${state.runJob.id}/timeline?city=${encodeURIComponent(city)}`);
  await drawTimeline($("chart-city"), data,
    `${city} (${data.runs} runs at scale ${data.scale}, median and ${data.interval}; people)`);
  $("chart-city").dataset.city = city;
}

// ---------------------------------------------------------------------------- map
async function loadMap(job) {
  const data = await api(`/api/jobs/${job.id}/map`);
  state.map = data;
  const slider = $("map-slider");
  slider.max = String(data.times.length - 1);
  let k = 0;  // open at the time of the national peak
  let best = -1;
  for (let t = 0; t < data.times.length; t++) {
    const total = data.unrest_per_1000.reduce((acc, row, i) => acc + row[t] * data.cities[i].population, 0);
    if (total > best) { best = total; k = t; }
  }
  slider.value = String(k);
  await drawMap();
}

function mapColours(k) {
  return state.map.unrest_per_1000.map((row) => row[k]);
}

async function drawMap() {
  const data = state.map;
  if (!data) return;
  const k = Number($("map-slider").value);
  const traces = [];
  for (const ring of state.scenario.outline || []) {
    traces.push({x: ring.map((p) => p[0]), y: ring.map((p) => p[1]), type: "scatter", mode: "lines",
                 line: {color: "#8a96a3", width: 1.2}, hoverinfo: "skip", showlegend: false, name: "outline"});
  }
  const biggest = Math.max(...data.cities.map((c) => c.population));
  traces.push({
    x: data.cities.map((c) => c.lon), y: data.cities.map((c) => c.lat), text: data.cities.map((c) => c.name),
    type: "scatter", mode: "markers+text", textposition: "top right", name: "cities", showlegend: false,
    customdata: data.cities.map((c, i) => [c.population, data.unrest_per_1000_low[i][k],
                                           data.unrest_per_1000_high[i][k]]),
    hovertemplate: "%{text}<br>%{marker.color:.2f} per 1,000 residents (median; " + data.interval +
      ": %{customdata[1]:.2f} to %{customdata[2]:.2f})<br>population %{customdata[0]:,}<extra></extra>",
    // one fixed, sequential scale (the PNG map's too): light for calm, dark for disturbed, the same range for
    // every run and every time of the slider; a city above the top is drawn in the darkest colour
    marker: {size: data.cities.map((c) => 10 + 34 * Math.sqrt(c.population / biggest)), color: mapColours(k),
             cmin: data.range[0], cmax: data.range[1], colorscale: data.colour_scale,
             line: {color: "#333", width: 1},
             colorbar: {title: {text: data.legend.replace(" per ", "<br>per ") + "<br>(median of the runs)"},
                        ticksuffix: "", tickvals: [0, 20, 40, 60, 80, 100].map((v) => v * data.range[1] / 100),
                        ticktext: [0, 20, 40, 60, 80, 100].map((v, i, a) =>
                          `${v * data.range[1] / 100}${i === a.length - 1 ? " or more" : ""}`)}},
  });
  const lat = data.cities.reduce((a, c) => a + c.lat, 0) / data.cities.length;
  const layout = {
    height: 500, margin: {l: 50, r: 20, t: 40, b: 40},
    title: {text: `Unrest by city at ${data.times[k].replace("T", " ")} ` +
                  `(median of ${data.runs} runs at scale ${data.scale})`},
    xaxis: {title: {text: "longitude (degrees east)"}, scaleanchor: "y", scaleratio: Math.cos(lat * Math.PI / 180),
            showgrid: true, zeroline: false},
    yaxis: {title: {text: "latitude (degrees north)"}, showgrid: true, zeroline: false},
  };
  $("map-time").textContent = data.times[k].replace("T", " ");
  await Plotly.react($("chart-map"), traces, layout, PLOT_CONFIG);
  $("chart-map").dataset.job = data.job;
  $("chart-map").dataset.step = String(k);
}

// ---------------------------------------------------------------------------- lattice
function clearLattice() {
  if (state.lattice && state.lattice.timer) clearInterval(state.lattice.timer);
  state.lattice = null;
  const canvas = $("lattice-canvas");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  $("lattice-play").disabled = true;
  $("lattice-play").textContent = "Play";
  $("lattice-slider").max = "0";
  $("lattice-time").textContent = "";
}

async function showLattice(job) {
  clearLattice();
  keepShown("latticeJob", job);
  renderDownloads();
  const meta = await api(`/api/jobs/${job.id}/lattice`);
  const res = await fetch(`/api/jobs/${job.id}/lattice.bin`, {headers: {[CLIENT_HEADER]: state.client}});
  if (!res.ok) throw new ApiFailure(`lattice frames: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const cells = meta.width * meta.height;
  if (bytes.length !== cells * meta.frames) throw new ApiFailure("lattice frames: unexpected size");
  const off = document.createElement("canvas");
  off.width = meta.width;
  off.height = meta.height;
  state.lattice = {meta, bytes, cells, off, image: off.getContext("2d").createImageData(meta.width, meta.height),
                   frame: 0, timer: null, drawn: 0};
  $("lattice-slider").max = String(meta.frames - 1);
  $("lattice-slider").value = "0";
  $("lattice-play").disabled = false;
  drawFrame(0);
  playLattice(true);
}

function drawFrame(i) {
  const L = state.lattice;
  if (!L) return;
  L.frame = i;
  const px = L.image.data;
  const frame = L.bytes.subarray(i * L.cells, (i + 1) * L.cells);
  for (let c = 0; c < L.cells; c++) {
    const rgb = KIND_COLOURS[frame[c]] || [255, 0, 255];
    px[4 * c] = rgb[0]; px[4 * c + 1] = rgb[1]; px[4 * c + 2] = rgb[2]; px[4 * c + 3] = 255;
  }
  L.off.getContext("2d").putImageData(L.image, 0, 0);
  const canvas = $("lattice-canvas");
  const longest = Math.max(L.meta.width, L.meta.height);
  const zoom = longest >= 560 ? 560 / longest : Math.floor(560 / longest);  // whole pixels per cell when it fits
  canvas.width = Math.round(L.meta.width * zoom);
  canvas.height = Math.round(L.meta.height * zoom);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(L.off, 0, 0, canvas.width, canvas.height);
  L.drawn += 1;
  canvas.dataset.frame = String(i);
  canvas.dataset.drawn = String(L.drawn);
  $("lattice-slider").value = String(i);
  $("lattice-time").textContent = `${L.meta.city}, ${L.meta.times[i].replace("T", " ")} (step ${L.meta.steps[i]}), ` +
    `unrest ${fmt(L.meta.unrest_per_1000[i])} per 1,000 residents (replicate 0 only, at scale ` +
    `${state.latticeJob ? state.latticeJob.scale : "?"})`;
}

function playLattice(on) {
  const L = state.lattice;
  if (!L) return;
  if (L.timer) { clearInterval(L.timer); L.timer = null; }
  if (on) {
    L.timer = setInterval(() => {
      const next = L.frame + 1;
      if (next >= L.meta.frames) { playLattice(false); return; }
      drawFrame(next);
    }, 120);
  }
  $("lattice-play").textContent = on ? "Pause" : "Play";
}

function legend() {
  const box = $("lattice-legend");
  box.replaceChildren();
  KIND_NAMES.forEach((name, i) => {
    const span = el("span", {text: name});
    span.style.setProperty("--swatch", `rgb(${KIND_COLOURS[i].join(",")})`);
    box.append(span);
  });
}

// ---------------------------------------------------------------------------- compare
// Per-variant panels of one measure, side by side on a shared y range, each with the variant's events marked.
async function drawArms(div, data, measure, title, job) {
  const n = data.arms.length;
  const gap = 0.03;
  const width = (1 - gap * (n - 1)) / n;
  const traces = [];
  const layout = {height: 480, margin: {l: 70, r: 20, t: 190, b: 50}, showlegend: false,
                  title: {text: title, y: 0.985, yanchor: "top"}, annotations: [], shapes: []};
  let top = 0;
  data.arms.forEach((arm, i) => {
    const axis = i === 0 ? "" : String(i + 1);
    traces.push(...bandTraces(data.times, arm[measure], ARM_COLOURS[i % ARM_COLOURS.length], arm.name, "x" + axis,
                              "y" + axis, arm.name, i === 0 ? "dash" : "solid"));
    top = Math.max(top, ...arm[measure].high);
    layout["xaxis" + axis] = {domain: [i * (width + gap), i * (width + gap) + width], anchor: "y" + axis,
                              ...DATE_AXIS, tickformat: "%m-%d<br>%H:%M"};
    layout["yaxis" + axis] = {anchor: "x" + axis, rangemode: "tozero", showticklabels: i === 0,
                              title: i === 0 ? {text: "people"} : undefined};
    const marks = eventMarks(arm.events, "x" + axis, data.times, Math.max(100, ($(div).clientWidth - 90) * width),
                             30);
    layout.shapes.push(...marks.shapes);
    layout.annotations.push(...marks.annotations);
    layout.annotations.push({text: `<b>${arm.name}</b>`, xref: "x" + axis + " domain", yref: "paper",
                             x: 0.5, y: -0.16, showarrow: false, xanchor: "center", yanchor: "top"});
  });
  data.arms.forEach((arm, i) => { layout["yaxis" + (i === 0 ? "" : String(i + 1))].range = [0, top * 1.05 || 1]; });
  await Plotly.react($(div), traces, layout, PLOT_CONFIG);
  $(div).dataset.job = job.id;
  $(div).dataset.city = data.city || "";
}

async function drawComparePanels(job, city) {
  const query = city ? `?city=${encodeURIComponent(city)}` : "";
  const data = await api(`/api/jobs/${job.id}/compare${query}`);
  const where = data.city || "all cities";
  const runs = `${data.replicates} runs each at scale ${data.scale}, median and ${data.interval}`;
  await drawArms("chart-compare", data, "unrest", `Unrest, active + violent, ${where} (people; ${runs})`, job);
  await drawArms("chart-compare-deaths", data, "deaths", `Deaths, cumulative, ${where} (people; ${runs})`, job);
  await drawArms("chart-compare-detained", data, "detained",
                 `Detentions (arrests and sweeps), cumulative, ${where} (people; ${runs})`, job);
  return data;
}

async function showCompare(job) {
  keepShown("compareJob", job);
  $("compare-city").value = "";
  const data = await drawComparePanels(job, "");
  const n = data.arms.length;
  const few = data.replicates < data.advised_replicates;
  const note = $("compare-note");
  note.hidden = !few;
  note.textContent = few ? `${data.replicates} runs per variant: too few runs to mark any difference significant ` +
    `(at least ${data.advised_replicates} are advised); with so few runs the 95% bootstrap intervals below are ` +
    "too narrow to trust." : "";

  const keys = ["deaths_total", "deaths_security", "detained_total", "peak_unrest", "unrest_person_days"];
  const diff = [];
  data.arms.slice(1).forEach((arm, j) => {
    const rows = data.rows.filter((r) => r.variant === arm.name && keys.includes(r.outcome));
    const pct = (v, r) => 100 * v / (Math.abs(r.baseline_mean) || 1);
    diff.push({
      type: "scatter", mode: "markers", name: arm.name, marker: {color: ARM_COLOURS[(j + 1) % ARM_COLOURS.length], size: 9},
      y: rows.map((r) => `${arm.name}: ${r.label}`), x: rows.map((r) => pct(r.difference, r)),
      error_x: {type: "data", symmetric: false, array: rows.map((r) => pct(r.difference_ci_high - r.difference, r)),
                arrayminus: rows.map((r) => pct(r.difference - r.difference_ci_low, r))},
      text: rows.map((r) => `${fmt(r.difference)} ${r.unit} (95% CI ${fmt(r.difference_ci_low)} to ${fmt(r.difference_ci_high)})`),
      hovertemplate: "%{y}<br>%{x:.1f}% of the baseline<br>%{text}<extra></extra>",
    });
  });
  await Plotly.react($("chart-diff"), diff, {
    height: 120 + 34 * keys.length * (n - 1), margin: {l: 260, r: 20, t: 40, b: 50},
    title: {text: `Variant minus baseline, % of the baseline mean (95% bootstrap CI of the mean, paired by seed; ` +
                  `${data.replicates} runs at scale ${data.scale})`},
    xaxis: {zeroline: true, zerolinecolor: "#888"}, yaxis: {autorange: "reversed"}, showlegend: false,
  }, PLOT_CONFIG);
  $("chart-diff").dataset.job = job.id;

  const table = el("table");
  // a posterior comparison committed beside the scenario (uprising compare --posterior): its effects, next to these
  const post = data.posterior;
  const postRow = (r) => post && post.rows.find((p) => p.variant === r.variant && p.outcome === r.outcome);
  const heads = ["variant", "outcome", "baseline (95% CI)", "variant (95% CI)", "difference (95% CI, seeds)",
                 "significant"];
  if (post) heads.push("over the posterior (95% CI, parameters and seeds)", "P(sign)");
  table.append(el("tr", {}, ...heads.map((h) => el("th", {text: h}))));
  for (const r of data.rows) {
    // marked only as the server says: "yes" needs the advised number of runs ("too few runs" below it)
    const sig = r.significant === "yes";
    const cells = [
      el("td", {text: r.variant}), el("td", {text: r.label}),
      el("td", {text: `${fmt(r.baseline_mean)} (${fmt(r.baseline_ci_low)} to ${fmt(r.baseline_ci_high)})`}),
      el("td", {text: `${fmt(r.variant_mean)} (${fmt(r.variant_ci_low)} to ${fmt(r.variant_ci_high)})`}),
      el("td", {class: sig ? "sig" : null,
                text: `${fmt(r.difference)} (${fmt(r.difference_ci_low)} to ${fmt(r.difference_ci_high)})`}),
      el("td", {text: r.significant})];
    if (post) {
      const p = postRow(r);
      cells.push(el("td", {class: "posterior", text: p ? `${fmt(p.posterior_mean)} (${fmt(p.posterior_ci_low)} to ` +
                                                   `${fmt(p.posterior_ci_high)})` : "-"}),
                 el("td", {class: "posterior", text: p ? p.p_sign.toFixed(2) : "-"}));
    }
    table.append(el("tr", {}, ...cells));
  }
  $("compare-table").replaceChildren(table);
  if (post) {
    const line = el("p", {class: "note", id: "compare-posterior-note",
      text: `Over the posterior: ${post.draws} parameter sets drawn from the scenario's posterior, one paired run ` +
            `each${post.scale ? ` at scale ${post.scale}` : ""} (${post.file}); its interval holds the parameters' ` +
            "uncertainty as well as the seeds', the difference column the seeds' only. P(sign): the share of draws " +
            "whose effect has the sign of the mean."});
    $("compare-table").append(line);
  }
  renderDownloads();
  showMessage(`comparison ${job.id} done in ${job.elapsed.toFixed(1)} s`, "info");
}

// ---------------------------------------------------------------------------- downloads
function renderDownloads() {
  const box = $("downloads");
  box.replaceChildren();
  const figures = {run: ["cities", "record", "map"], compare: ["compare"], lattice: []};
  for (const [title, job] of [["Last run", state.runJob], ["Last comparison", state.compareJob],
                              ["Last lattice", state.latticeJob]]) {
    if (!job) continue;
    const list = el("ul");
    for (const [label, path] of Object.entries(job.files || {})) {
      list.append(el("li", {}, el("a", {href: `/api/download?path=${encodeURIComponent(path)}`, download: "",
                                       class: "download", dataset: {path}, text: label}), ` (${path})`));
    }
    for (const f of figures[job.kind]) {
      list.append(el("li", {}, el("a", {href: `/api/jobs/${job.id}/figure/${f}.png`, download: "", class: "download",
                                       text: `figure: ${f} (PNG)`})));
    }
    const what = job.kind === "lattice" ? `${job.city}, replicate 0` : `${job.replicates} runs`;
    box.append(el("h3", {text: `${title}: ${job.id} (${what} at scale ${job.scale})`}), list);
  }
}

// ---------------------------------------------------------------------------- wiring
function showTab(name) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const body of document.querySelectorAll(".tab-body")) body.hidden = body.id !== `tab-${name}`;
  for (const div of document.querySelectorAll(`#tab-${name} .chart`)) {
    if (div.data && window.Plotly) Plotly.Plots.resize(div);
  }
}

function wire() {
  for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("scenario").addEventListener("change", (e) => chooseScenario(e.target.value).catch((err) => showMessage(err.message)));
  $("run").addEventListener("click", () => startJob({kind: "run", ...runBody()}, showRun));
  $("cancel").addEventListener("click", cancelJob);
  $("reset").addEventListener("click", () => {
    buildForm($("levers"), state.scenario.levers, "lever");
    buildForm($("run-settings"), state.scenario.run, "run");
  });
  $("timeline-city").addEventListener("change", (e) => showCity(e.target.value).catch((err) => showMessage(err.message)));
  $("compare-city").addEventListener("change", (e) => {
    if (state.compareJob) drawComparePanels(state.compareJob, e.target.value).catch((err) => showMessage(err.message));
  });
  $("map-slider").addEventListener("input", () => drawMap().catch((err) => showMessage(err.message)));
  $("lattice-run").addEventListener("click", () =>
    startJob({kind: "lattice", city: $("lattice-city").value, ...runBody()}, showLattice));
  $("lattice-play").addEventListener("click", () => {
    const L = state.lattice;
    if (!L) return;
    if (!L.timer && L.frame >= L.meta.frames - 1) drawFrame(0);
    playLattice(!L.timer);
  });
  $("lattice-slider").addEventListener("input", (e) => { playLattice(false); drawFrame(Number(e.target.value)); });
  $("compare-run").addEventListener("click", () => {
    const arms = [...document.querySelectorAll("#compare-arms input:checked")].map((b) => b.value);
    startJob({kind: "compare", arms, ...runBody()}, showCompare);
  });
  legend();
}

window.addEventListener("DOMContentLoaded", () => {
  wire();
  if (!window.Plotly) showMessage("plotly.js did not load from /vendor/plotly.min.js");
  loadScenarios().catch((err) => showMessage(err.message));
  const check = () => checkJobs().catch((err) => showMessage(err.message));
  setInterval(check, CHECK_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) check(); });
});
