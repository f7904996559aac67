// Run a demo's views from its page, chart the timings and say, honestly, what they show
// (templates/lab/pair.html).
//
// Each view is first warmed with one unmeasured request, so no view pays the server's cold
// start for the others. Then come measured rounds, the views' order reversed every other
// round (A B, B A, A B, B A), so neither runs always first or always after the other: four,
// and four more when the first four point to a winner (static/lab/verdict.js decides).
// A demo whose views share state (the cache) has it reset before every batch, so each twin
// starts from the same state. Each batch fires `concurrency` requests at once.
//
// Every number shown is measured here, in the browser, from real requests: latency from
// start to the last byte read, when each piece of the body arrived, the time a request
// waited for a free connection (Resource Timing), and each batch's wall time. The verdict
// compares each pair of views on the demo's own measure (wall time, time to first byte or
// loop lag; none for the lost task) by labVerdict.decide, which says "within noise" unless
// the rounds leave no doubt. Meanwhile /lab/loop-lag/ is polled for the server's mode and its
// event-loop lag, and /lab/threads/ for the most threads the server had during each batch.
//
// "Leave early" fires one batch at each view, aborts it part of the way through and then shows
// what the server still does for that view: upstream calls still open, threads still busy.
"use strict";

(() => {
  const configNode = document.getElementById("lab-config");
  const form = document.getElementById("run-form");
  if (!configNode || !form) return;
  const config = JSON.parse(configNode.textContent);

  const $ = (id) => document.getElementById(id);
  const button = $("run-button");
  const live = $("live");
  const SVG = "http://www.w3.org/2000/svg";
  const LAG_POLL_MS = 200;
  // After a view that lagged the loop, wait until the lag report's worst-in-the-last-second
  // no longer holds that lag, so it is not blamed on the next view.
  const SETTLE_MS = 1100;
  const SETTLE_ABOVE_MS = 20;
  const REQUEST_TIMEOUT_MS = 60000;
  // Measured rounds per view, and how many a claimed winner needs (static/lab/verdict.js).
  const { FIRST_ROUNDS, CONFIRM_ROUNDS, decide, median, ms } = labVerdict;
  // How long to wait, after a run, for a lost task's error and for a queued task to finish.
  const UNHANDLED_WAIT_MS = 5000;
  const TASK_WAIT_MS = 10000;
  const AFTER_POLL_MS = 300;
  // Reads recorded per request: a drip or an event stream has a few; a big body has many.
  const MAX_READS = 500;
  const COLORS = {
    sync: "#d9822b",
    async: "#0f9d8a",
    "sync threaded": "#7b61c9",
    "the wrong way": "#d6336c",
    "the right way": "#2b8a3e",
  };
  const FALLBACK_COLORS = ["#3b5bdb", "#e8590c", "#0c8599", "#9c36b5"];

  const colorOf = (view, index) => COLORS[view.label] || FALLBACK_COLORS[index % FALLBACK_COLORS.length];
  const sleep = (delay) => new Promise((resolve) => setTimeout(resolve, delay));

  function cookie(name) {
    const prefix = `${name}=`;
    const found = document.cookie.split(";").map((part) => part.trim()).find((part) => part.startsWith(prefix));
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }

  function element(tag, attributes = {}, text = null) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== null) node.textContent = text;
    return node;
  }

  function html(tag, attributes = {}, text = null) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== null) node.textContent = text;
    return node;
  }

  // The form

  function readForm() {
    const data = new FormData(form);
    const concurrency = Number(data.get(config.concurrencyField));
    const values = {};
    for (const [name, value] of data.entries()) {
      if (name !== config.concurrencyField) values[name] = value;
    }
    return { concurrency, values };
  }

  // Django's CSRF check wants the token from the cookie back in a header.
  const csrfHeaders = () => ({ "X-CSRFToken": cookie(config.csrfCookieName) || config.csrfToken });

  function requestFor(view, values) {
    const fields = new URLSearchParams({ ...config.sample, ...values });
    const init = { cache: "no-store", credentials: "same-origin", method: config.method };
    if (config.method === "GET") {
      const query = fields.toString();
      return { url: new URL(view.url + (query ? `?${query}` : ""), location.href).href, init };
    }
    init.headers = csrfHeaders();
    init.body = fields;
    return { url: new URL(view.url, location.href).href, init };
  }

  async function getJson(url) {
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    return response.json();
  }

  // Requests

  // How many pieces a body's text holds: events in an event stream, lines in plain text.
  const separatorOf = (type) => (type.includes("event-stream") ? "\n\n" : type.startsWith("text/plain") ? "\n" : null);

  async function timedFetch(url, init) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const start = performance.now();
    try {
      const response = await fetch(url, { ...init, signal: controller.signal });
      const headersAt = performance.now() - start;
      // The server's own time, from the Server-Timing header (lab/middleware.py).
      const timing = /\bapp;dur=([\d.]+)/.exec(response.headers.get("server-timing") || "");
      const serverMs = timing ? Number(timing[1]) : null;
      const type = response.headers.get("content-type") || "";
      // Read the body piece by piece, noting when each arrived: a streamed answer shows here
      // whether its pieces came one by one or all at the end.
      const reads = [];
      const parts = [];
      const decoder = new TextDecoder();
      const separator = separatorOf(type);
      let pending = "";
      let firstByte = null;
      const reader = response.body ? response.body.getReader() : null;
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!value || !value.length) continue;
        const at = performance.now() - start;
        if (firstByte === null) firstByte = at;
        parts.push(value);
        // Count only the pieces this read completed: one may span two reads.
        let units = 0;
        if (separator) {
          pending += decoder.decode(value, { stream: true });
          units = pending.split(separator).length - 1;
          if (units) pending = pending.slice(pending.lastIndexOf(separator) + separator.length);
        }
        if (reads.length < MAX_READS) reads.push({ at, bytes: value.length, units });
      }
      let error = null;
      let body = null;
      if (type.includes("json")) {
        const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
        parts.reduce((offset, part) => (bytes.set(part, offset), offset + part.length), 0);
        try {
          body = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          body = null;
        }
        if (body && typeof body.error === "string") error = body.error;
      }
      if (!response.ok && !error) error = `answered ${response.status}`;
      // fetch() follows redirects (to a login page, say): time the whole trip, but say so.
      const redirectedTo = response.redirected ? new URL(response.url).pathname + new URL(response.url).search : null;
      return {
        start,
        end: performance.now(),
        status: response.status,
        ok: response.ok,
        serverMs,
        error,
        redirectedTo,
        headersAt,
        firstByte: firstByte === null ? performance.now() - start : firstByte,
        reads,
        body,
      };
    } catch (failure) {
      return { start, end: performance.now(), status: 0, ok: false, serverMs: null, error: String(failure), reads: [], firstByte: null };
    } finally {
      clearTimeout(timer);
    }
  }

  // How long each request waited in the browser for a connection, from Resource Timing.
  // The batch's requests are identical, so matching them by the order they ended is enough.
  function addWaits(url, batchStart, requests) {
    const entries = performance
      .getEntriesByType("resource")
      .filter((entry) => entry.name === url && entry.startTime >= batchStart - 1)
      .sort((a, b) => a.responseEnd - b.responseEnd);
    const byEnd = [...requests].sort((a, b) => a.end - b.end);
    byEnd.forEach((request, index) => {
      const entry = entries[index];
      request.waited = entry && entry.requestStart > 0 ? Math.max(0, entry.requestStart - entry.startTime) : 0;
    });
  }

  // The event loop's lag and the server's threads

  const lag = { polling: false, worst: null, server: null };

  async function pollLagOnce() {
    try {
      const body = await getJson(config.loopLagUrl);
      lag.server = body.server;
      $("live-server").textContent = body.server;
      for (const item of live.querySelectorAll(".lag")) item.hidden = !body.watching;
      $("live-no-loop").hidden = body.watching;
      if (!body.watching) return;
      const { current_ms: current, max_1s_ms: worst } = body.lag;
      $("live-lag").textContent = ms(current);
      $("live-lag-max").textContent = ms(worst);
      $("live-lag-max").classList.toggle("lag-high", worst >= 50);
      if (lag.worst !== null) lag.worst = Math.max(lag.worst, worst);
    } catch {
      $("live-lag").textContent = "unavailable";
    }
  }

  // The server samples its threads every few milliseconds and keeps the peak since a reset:
  // a sync view's thread may live for less than one poll.
  async function readThreads(reset = false) {
    try {
      const body = await getJson(config.threadsUrl + (reset ? "?reset=1" : ""));
      $("live-threads").textContent = String(body.threads);
      return body;
    } catch {
      return null;
    }
  }

  async function pollLag() {
    while (lag.polling) {
      await Promise.all([pollLagOnce(), readThreads()]);
      await sleep(LAG_POLL_MS);
    }
  }

  // Running

  let running = false;
  const results = [];

  // Put the views' shared state back where it started (the cache pair: forget the answer).
  async function resetState(values) {
    if (!config.resetUrl) return;
    await fetch(config.resetUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: csrfHeaders(),
      body: new URLSearchParams({ ...config.sample, ...values }),
    });
  }

  async function runBatch(view, concurrency, values, label) {
    const { url, init } = requestFor(view, values);
    await resetState(values);
    performance.clearResourceTimings();
    const before = await readThreads(true);
    lag.worst = 0;
    let answered = 0;
    const status = () => {
      $("live-status").textContent = `${label}: ${view.name}, ${answered} of ${concurrency} answered`;
    };
    status();
    const batchStart = performance.now();
    const requests = await Promise.all(
      Array.from({ length: concurrency }, () =>
        timedFetch(url, init).then((request) => {
          answered += 1;
          status();
          return request;
        }),
      ),
    );
    const [, after] = await Promise.all([pollLagOnce(), readThreads()]); // what the last request may have caused
    addWaits(url, batchStart, requests);
    const wall = Math.max(...requests.map((request) => request.end)) - batchStart;
    return {
      batchStart,
      requests,
      wall,
      worstLag: lag.server === "ASGI" ? lag.worst : null,
      threadsBefore: before ? before.threads : null,
      peakThreads: after ? after.peak : null,
    };
  }

  // The views in the order of each round: as listed, then reversed, and so on.
  function roundOrder(round) {
    const order = config.views.map((view, index) => index);
    return round % 2 ? order.reverse() : order;
  }

  async function settleAfter(batch) {
    if (batch && batch.worstLag >= SETTLE_ABOVE_MS) {
      $("live-status").textContent = "letting the server settle…";
      await sleep(SETTLE_MS);
    }
  }

  async function run() {
    const { concurrency, values } = readForm();
    running = true;
    button.disabled = true;
    if (leaveButton) leaveButton.disabled = true;
    button.textContent = "Running…";
    results.length = 0;
    live.hidden = false;
    for (const id of ["chart", "results"]) $(id).hidden = false;
    for (const id of ["timeline", "aftermath"]) if ($(id)) $(id).hidden = true;
    $("results-body").replaceChildren();
    $("results-note").textContent = "";
    $("verdict").replaceChildren();
    $("chart-svg").replaceChildren();
    history.replaceState(null, "", `?${new URLSearchParams(new FormData(form))}#run`);
    lag.polling = true;
    const polling = pollLag();
    // Errors the loop reported before this run are not this run's.
    const seenUnhandled = await lastUnhandledId();
    try {
      let previous = null;
      for (const view of config.views) {
        await settleAfter(previous);
        $("live-status").textContent = `warming up ${view.name}`;
        await resetState(values);
        const { url, init } = requestFor(view, values);
        lag.worst = 0;
        await timedFetch(url, init);
        await pollLagOnce();
        previous = { worstLag: lag.server === "ASGI" ? lag.worst : null };
      }
      const rows = config.views.map((view, index) => ({ view, index, batches: [] }));
      let rounds = FIRST_ROUNDS;
      for (let round = 0; round < rounds; round += 1) {
        for (const index of roundOrder(round)) {
          await settleAfter(previous);
          const batch = await runBatch(config.views[index], concurrency, values, `round ${round + 1} of ${rounds}`);
          batch.round = round;
          rows[index].batches.push(batch);
          previous = batch;
        }
        results.splice(0, results.length, ...rows.map(summarise));
        draw();
        // A winner in sight after the first batch must hold over a second one.
        if (round + 1 === rounds && rounds < CONFIRM_ROUNDS && comparisons().some(({ call }) => call === "more")) {
          rounds = CONFIRM_ROUNDS;
        }
      }
      $("live-status").textContent = `done: ${rounds} rounds of ${concurrency} requests at each of ${config.views.length} views, after one to warm each up`;
    } finally {
      lag.polling = false;
      await polling;
      running = false;
      button.disabled = false;
      if (leaveButton) leaveButton.disabled = false;
      button.textContent = button.dataset.label;
    }
    await showAftermath(seenUnhandled);
  }

  // What the rounds of one view add up to.
  function summarise({ view, index, batches }) {
    const requests = batches.flatMap((batch) => batch.requests);
    const walls = batches.map((batch) => batch.wall);
    const wall = median(walls);
    // Chart the round whose wall time is the median one (the lower of the two middle ones).
    const sorted = [...batches].sort((a, b) => a.wall - b.wall);
    const shown = sorted[Math.floor((sorted.length - 1) / 2)];
    const failed = requests.filter((request) => !request.ok);
    const firstBytes = requests.map((request) => request.firstByte).filter((value) => value !== null);
    const peaks = batches.map((batch) => batch.peakThreads).filter((value) => value !== null);
    const idle = batches.map((batch) => batch.threadsBefore).filter((value) => value !== null);
    const lags = batches.map((batch) => batch.worstLag).filter((value) => value !== null);
    return {
      view,
      index,
      batches,
      shown,
      requests,
      failed,
      wall,
      wallMin: Math.min(...walls),
      wallMax: Math.max(...walls),
      firstByte: firstBytes.length ? median(firstBytes) : null,
      peakThreads: peaks.length ? Math.max(...peaks) : null,
      idleThreads: idle.length ? Math.min(...idle) : null,
      worstLag: lags.length ? Math.max(...lags) : null,
    };
  }

  // What went wrong in a view's requests, each distinct status and error once.
  function failures(result) {
    const seen = new Map();
    for (const request of result.failed) {
      const text = `${request.status || "no answer"}${request.error ? ` ${request.error}` : ""}`;
      seen.set(text, (seen.get(text) || 0) + 1);
    }
    return [...seen.entries()].map(([text, count]) => (count > 1 ? `${text} (×${count})` : text)).join("; ");
  }

  // The verdict

  // Each round's sample of the demo's measure (config.measure, from the registry): the batch's
  // wall time, its requests' median time to first byte, or the worst loop lag during it.
  const SAMPLES = {
    wall: (batch) => batch.wall,
    first_byte: (batch) => median(batch.requests.map((request) => request.firstByte ?? request.end - request.start)),
    loop_lag: (batch) => batch.worstLag,
  };

  // Compare `other` with `base` on the demo's measure, or refuse to when either failed.
  function compare(base, other) {
    const failedOne = [base, other].filter((result) => result.failed.length);
    if (failedOne.length) {
      // A failed batch often answers fast: its time says nothing about the view's speed.
      const text = failedOne
        .map((result) => `${result.view.label} (${result.view.name}) failed: ${failures(result)}.`)
        .join(" ");
      const facts = { base: base.view.name, view: other.view.name, call: "failed" };
      return { call: "failed", facts, text: `${text} No time comparison: a failed request's time says nothing about speed.` };
    }
    if (config.measure === "none") {
      const facts = { base: base.view.name, view: other.view.name, call: "none" };
      const text =
        `No timing verdict: both views answer at once, and the lesson is what was lost, not speed. "After the run" ` +
        `below shows the errors the event loop reported with nobody to tell, and what the queued task kept.`;
      return { call: "none", facts, text };
    }
    // Under WSGI no loop is watched: the blocking pair falls back to wall time, and says so.
    const lagless = config.measure === "loop_lag" && [base, other].some((result) => result.worstLag === null);
    const measure = lagless ? "wall" : config.measure;
    const sides = [base, other].map((result) => ({ name: result.view.name, samples: result.batches.map(SAMPLES[measure]) }));
    const verdict = decide(...sides, measure);
    if (lagless) verdict.text = `No event loop to watch on this server, so by wall time: ${verdict.text}`;
    return verdict;
  }

  // Every pair of views, so a third view (the thread pool) is compared with both twins.
  function comparisons() {
    return results.flatMap((base, index) => results.slice(index + 1).map((other) => compare(base, other)));
  }

  // When a streamed answer's pieces arrived: the median request's first and last read.
  function arrivals(result) {
    const reads = result.shown.requests.filter((request) => request.reads.length);
    if (!reads.length) return `${result.view.name}: no piece read`;
    const first = median(reads.map((request) => request.reads[0].at));
    const last = median(reads.map((request) => request.reads[request.reads.length - 1].at));
    const count = median(reads.map((request) => request.reads.length));
    return `${result.view.name} from ${ms(first)} to ${ms(last)} (${count} read${count === 1 ? "" : "s"})`;
  }

  function drawVerdict() {
    const holder = $("verdict");
    holder.replaceChildren();
    if (results.length < 2) return;
    for (const { facts, text } of comparisons()) {
      const line = html("p", { class: "comparison" }, text);
      for (const [name, value] of Object.entries(facts)) line.dataset[name.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = value;
      holder.append(line);
    }
    if (config.measure === "first_byte") {
      holder.append(html("p", { class: "arrivals" }, `Pieces arrived, in each view's middle round: ${results.map(arrivals).join("; ")}.`));
    }
  }

  // Drawing

  function niceCeiling(value) {
    if (value <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    const step = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((factor) => factor * power >= value);
    return step * power;
  }

  function drawAxis(svg, { x, scaleMax, top, axisY, left, plot, ticks }) {
    for (let tick = 0; tick <= ticks; tick += 1) {
      const value = (scaleMax / ticks) * tick;
      svg.append(element("line", { x1: x(value), x2: x(value), y1: top, y2: axisY, stroke: "#e6e9ef" }));
      svg.append(
        element("text", { x: x(value), y: axisY + 16, "text-anchor": "middle", "font-size": 11, fill: "#5b6475" }, ms(value)),
      );
    }
    svg.append(element("line", { x1: left, x2: left + plot, y1: axisY, y2: axisY, stroke: "#9aa3b2" }));
  }

  // One unit of the drawing is one CSS pixel, so its text is as large on a phone as on a
  // laptop. A narrow chart puts each view's name above its bars instead of beside them.
  const NARROW_CHART = 560;

  function layout(holder, maxValue, wideRight = 90) {
    const width = holder.clientWidth || 900;
    const narrow = width < NARROW_CHART;
    const left = narrow ? 16 : Math.min(210, width * 0.28);
    const right = narrow ? 90 : wideRight;
    const plot = width - left - right;
    const scaleMax = niceCeiling(maxValue * 1.02);
    return { width, left, plot, scaleMax, narrow, ticks: narrow ? 2 : 5, top: 8, x: (value) => left + (value / scaleMax) * plot };
  }

  function drawLabel(group, result, y, color) {
    group.append(element("text", { x: 0, y: y + 13, "font-size": 13, "font-weight": 700, fill: color }, result.view.label));
    group.append(
      element("text", { x: 0, y: y + 29, "font-size": 12, fill: "#1d2330", "font-family": "monospace" }, result.view.name),
    );
  }

  function drawChart() {
    const holder = $("chart-svg");
    const axes = layout(holder, Math.max(...results.map((result) => Math.max(result.wallMax, result.shown.wall))));
    const { width, x, top } = axes;
    // Where a group's bars start: beside its name, or below it and its round on a narrow chart.
    const barsTop = axes.narrow ? 54 : 20;
    const rows = Math.max(...results.map((result) => result.shown.requests.length));
    const barHeight = rows > 12 ? 7 : rows > 6 ? 10 : 14;
    const gap = 3;

    let y = top;
    const groups = [];
    for (const result of results) {
      groups.push({ result, y });
      y += barsTop + result.shown.requests.length * (barHeight + gap) + 40 + 10;
    }
    const axisY = y;
    const svg = element("svg", {
      viewBox: `0 0 ${width} ${axisY + 28}`,
      role: "img",
      "aria-label": results.map((result) => `${result.view.name}: median wall time ${ms(result.wall)}`).join("; "),
    });
    drawAxis(svg, { ...axes, axisY });

    for (const { result, y: groupY } of groups) {
      const color = colorOf(result.view, result.index);
      const group = element("g", { class: "twin", "data-view": result.view.name });
      drawLabel(group, result, groupY, color);
      const batch = result.shown;
      group.append(
        element("text", { x: 0, y: groupY + 44, "font-size": 11, fill: "#5b6475" }, `round ${batch.round + 1} of ${result.batches.length}, a middle one`),
      );
      batch.requests.forEach((request, row) => {
        const barY = groupY + barsTop + row * (barHeight + gap);
        const begin = request.start - batch.batchStart;
        const latency = request.end - request.start;
        const waitedEnd = begin + Math.min(request.waited || 0, latency);
        const end = begin + latency;
        const title = element(
          "title",
          {},
          `request ${row + 1}: ${ms(latency)}` +
            (request.waited ? `, of which ${ms(request.waited)} waiting for a connection` : "") +
            (request.ok ? "" : `; failed: ${request.error}`),
        );
        if (waitedEnd > begin) {
          group.append(
            element("rect", { x: x(begin), y: barY, width: Math.max(x(waitedEnd) - x(begin), 0.5), height: barHeight, fill: color, opacity: 0.28 }),
          );
        }
        const bar = element("rect", {
          class: "request",
          x: x(waitedEnd),
          y: barY,
          width: Math.max(x(end) - x(waitedEnd), 1.5),
          height: barHeight,
          rx: 2,
          fill: request.ok ? color : "#fff",
          stroke: request.ok ? "none" : "#d6336c",
          "stroke-width": 1.5,
          "data-ms": latency.toFixed(1),
        });
        bar.append(title);
        group.append(bar);
        if (barHeight >= 10) {
          group.append(
            element("text", { x: x(end) + 4, y: barY + barHeight - 2, "font-size": 10, fill: "#5b6475" }, ms(latency)),
          );
        }
      });
      const wallY = groupY + barsTop + batch.requests.length * (barHeight + gap) + 8;
      group.append(element("line", { x1: x(0), x2: x(batch.wall), y1: wallY, y2: wallY, stroke: color, "stroke-width": 4, "stroke-linecap": "round" }));
      group.append(
        element(
          "text",
          { class: "wall", x: x(batch.wall) + 6, y: wallY + 4, "font-size": 12, "font-weight": 700, fill: "#1d2330", "data-ms": batch.wall.toFixed(1) },
          `wall ${ms(batch.wall)}`,
        ),
      );
      // Every round's wall time, a dot each, on a line spanning their range: the spread.
      const spreadY = wallY + 16;
      group.append(element("line", { x1: x(result.wallMin), x2: x(result.wallMax), y1: spreadY, y2: spreadY, stroke: color, "stroke-width": 1 }));
      for (const round of result.batches) {
        const dot = element("circle", { class: "round", cx: x(round.wall), cy: spreadY, r: 3.5, fill: color, "data-ms": round.wall.toFixed(1) });
        dot.append(element("title", {}, `round ${round.round + 1}: wall ${ms(round.wall)}`));
        group.append(dot);
      }
      group.append(
        element("text", { x: x(result.wallMax) + 6, y: spreadY + 4, "font-size": 11, fill: "#5b6475" }, `${result.batches.length} rounds`),
      );
      svg.append(group);
    }
    holder.replaceChildren(svg);
  }

  // When each piece of a streamed answer arrived, one line per request of the median round.
  function drawTimeline() {
    const figure = $("timeline");
    if (!figure || !config.timeline) return;
    figure.hidden = false;
    const holder = $("timeline-svg");
    const latest = Math.max(...results.flatMap((result) => result.shown.requests.map((request) => request.end - request.start)));
    // Room on the right for "first byte … of …"; a narrow chart writes it above each lane.
    const axes = layout(holder, latest, 190);
    const { width, x, top, narrow } = axes;
    const rowHeight = narrow ? 34 : 18;
    const lanesTop = narrow ? 58 : 40;
    let y = top;
    const groups = [];
    for (const result of results) {
      groups.push({ result, y });
      y += lanesTop - 6 + result.shown.requests.length * rowHeight + 10;
    }
    const axisY = y;
    const svg = element("svg", { viewBox: `0 0 ${width} ${axisY + 28}`, role: "img" });
    drawAxis(svg, { ...axes, axisY });
    svg.setAttribute(
      "aria-label",
      results.map((result) => `${result.view.name}: first byte after ${ms(result.firstByte)} of ${ms(median(result.requests.map((r) => r.end - r.start)))}`).join("; "),
    );
    for (const { result, y: groupY } of groups) {
      const color = colorOf(result.view, result.index);
      const requests = result.shown.requests;
      const totals = requests.map((request) => request.end - request.start);
      const group = element("g", {
        class: "timeline",
        "data-view": result.view.name,
        "data-first-byte": median(requests.map((request) => request.firstByte ?? request.end - request.start)).toFixed(1),
        "data-total": median(totals).toFixed(1),
      });
      drawLabel(group, result, groupY, color);
      requests.forEach((request, row) => {
        const lineY = groupY + lanesTop + row * rowHeight;
        const total = request.end - request.start;
        const lane = element("g", {
          class: "request-timeline",
          "data-first-byte": (request.firstByte ?? total).toFixed(1),
          "data-total": total.toFixed(1),
          "data-arrivals": request.reads.map((read) => read.at.toFixed(1)).join(" "),
        });
        lane.append(element("line", { x1: x(0), x2: x(total), y1: lineY, y2: lineY, stroke: color, "stroke-width": 1, opacity: 0.5 }));
        if (request.firstByte !== null) {
          const first = element("rect", { class: "first-byte", x: x(request.firstByte) - 1.5, y: lineY - 7, width: 3, height: 14, fill: "#1d2330" });
          first.append(element("title", {}, `first byte after ${ms(request.firstByte)}`));
          lane.append(first);
        }
        for (const read of request.reads) {
          const tick = element("circle", { class: "arrival", cx: x(read.at), cy: lineY, r: 4, fill: color });
          tick.append(element("title", {}, `${read.units || "part of a"} piece${read.units > 1 ? "s" : ""} (${read.bytes} bytes) after ${ms(read.at)}`));
          lane.append(tick);
          if (read.units > 1) {
            lane.append(element("text", { x: x(read.at) + 6, y: narrow ? lineY + 15 : lineY - 5, "font-size": 10, fill: "#5b6475" }, `×${read.units}`));
          }
        }
        const where = narrow ? { x: x(0), y: lineY - 10 } : { x: x(total) + 8, y: lineY + 4 };
        lane.append(element("text", { ...where, "font-size": 10, fill: "#5b6475" }, `first byte ${ms(request.firstByte ?? total)} of ${ms(total)}`));
        group.append(lane);
      });
      svg.append(group);
    }
    holder.replaceChildren(svg);
  }

  function drawTable() {
    const body = $("results-body");
    body.replaceChildren();
    for (const result of results) {
      const { requests, failed } = result;
      const latencies = requests.map((request) => request.end - request.start);
      const serverTimes = requests.map((request) => request.serverMs).filter((value) => value !== null);
      const row = document.createElement("tr");
      Object.assign(row.dataset, {
        view: result.view.name,
        // The charted round's statuses: every round's are in the note when any failed.
        statuses: result.shown.requests.map((request) => request.status).join(" "),
        rounds: String(result.batches.length),
        wallMedian: result.wall.toFixed(1),
        wallMin: result.wallMin.toFixed(1),
        wallMax: result.wallMax.toFixed(1),
        failed: String(failed.length),
      });
      if (result.firstByte !== null) row.dataset.firstByte = result.firstByte.toFixed(1);
      if (result.peakThreads !== null) row.dataset.peakThreads = String(result.peakThreads);
      if (result.idleThreads !== null) row.dataset.threadsBefore = String(result.idleThreads);
      const cells = [
        ["", null],
        [
          failed.length
            ? `${requests.length - failed.length} ok, ${failed.length} failed`
            : `${requests.length} × ${requests[0].status}${requests.some((request) => request.redirectedTo) ? " after a redirect" : ""}`,
          failed.length ? "bad" : "",
        ],
        [ms(Math.min(...latencies)), ""],
        [ms(median(latencies)), ""],
        [ms(Math.max(...latencies)), ""],
        [`${ms(result.wall)} (${ms(result.wallMin)} to ${ms(result.wallMax)})`, "wall"],
        [result.firstByte === null ? "–" : ms(result.firstByte), "first-byte"],
        [serverTimes.length ? `${ms(median(serverTimes))} median` : "–", ""],
        [result.peakThreads === null ? "–" : `${result.peakThreads} (${result.idleThreads} before)`, "threads"],
        [result.worstLag === null ? "not watched" : ms(result.worstLag), result.worstLag >= 50 ? "bad" : ""],
      ];
      for (const [text, className] of cells) {
        const cell = document.createElement("td");
        if (className) cell.className = className;
        if (text) cell.textContent = text;
        row.append(cell);
      }
      const name = row.firstChild;
      const role = document.createElement("span");
      role.className = `role role-${result.view.label.replace(/\s+/g, "-")}`;
      role.textContent = result.view.label;
      const code = document.createElement("code");
      code.textContent = ` ${result.view.name}`;
      name.append(role, code);
      const wall = row.querySelector("td.wall");
      wall.dataset.ms = result.wall.toFixed(1);
      // The range on its own line when the column is narrow.
      wall.replaceChildren(`${ms(result.wall)} `, html("span", { class: "range" }, `(${ms(result.wallMin)} to ${ms(result.wallMax)})`));
      body.append(row);
    }
    const notes = [`Each view: ${results[0].batches.length} rounds after a warm-up, the order alternating; the wall time is the rounds' median, their range in brackets.`];
    if (config.resetUrl) notes.push("The views share state, so it was reset before every batch: each started from the same state.");
    for (const result of results) {
      const redirects = [...new Set(result.requests.map((request) => request.redirectedTo).filter(Boolean))];
      if (redirects.length) notes.push(`${result.view.name} redirected to ${redirects.join(", ")}; the times include that page.`);
    }
    $("results-note").textContent = notes.join(" ");
  }

  function draw() {
    drawChart();
    drawTimeline();
    drawTable();
    drawVerdict();
  }

  // After the run: what the server still had to say

  async function lastUnhandledId() {
    try {
      const body = await getJson(config.unhandledUrl);
      return Math.max(0, ...body.errors.map((error) => error.id));
    } catch {
      return 0;
    }
  }

  // The errors the event loop reported after `seen`; a demo that loses them waits for them.
  async function newUnhandled(seen) {
    const deadline = performance.now() + (config.watchUnhandled ? UNHANDLED_WAIT_MS : 0);
    for (;;) {
      let body = null;
      try {
        body = await getJson(config.unhandledUrl);
      } catch {
        return { watching: false, errors: [] };
      }
      const errors = body.errors.filter((error) => error.id > seen);
      if (errors.length || !body.watching || performance.now() >= deadline) return { watching: body.watching, errors };
      await sleep(AFTER_POLL_MS);
    }
  }

  // A queued task's status, read again until it has finished or the wait is over.
  async function taskStatus(url) {
    const deadline = performance.now() + TASK_WAIT_MS;
    for (;;) {
      let result = null;
      try {
        result = (await getJson(url)).result;
      } catch {
        return null;
      }
      if (["SUCCESSFUL", "FAILED"].includes(result.status) || performance.now() >= deadline) return result;
      await sleep(AFTER_POLL_MS);
    }
  }

  async function showAftermath(seen) {
    const holder = $("aftermath");
    if (!holder || !results.length) return;
    const taskUrls = results.map((result) => {
      const last = [...result.requests].reverse().find((request) => request.body && request.body.result);
      const url = last && last.body.result.status_url;
      return typeof url === "string" ? url : null;
    });
    const unhandled = await newUnhandled(seen);
    if (!taskUrls.some(Boolean) && !unhandled.errors.length && !config.watchUnhandled) return;
    const list = $("aftermath-list");
    list.replaceChildren();
    holder.hidden = false;
    const entries = results.map((result, index) => {
      const entry = html("div", { class: "after", "data-view": result.view.name });
      entry.append(html("span", { class: `role role-${result.view.label.replace(/\s+/g, "-")}` }, result.view.label), html("code", {}, ` ${result.view.name}`));
      list.append(entry);
      return { entry, url: taskUrls[index] };
    });
    // The loop's errors belong to no one view: they go beside the views that queued nothing.
    const loopViews = entries.filter(({ url }) => !url);
    const loopEntries = config.watchUnhandled || unhandled.errors.length ? (loopViews.length ? loopViews : entries.slice(0, 1)) : [];
    for (const { entry } of loopEntries) {
      const line = html("p", { class: "unhandled" });
      if (!unhandled.watching) {
        line.textContent = "The server keeps no event loop's errors here (under WSGI each request's loop ends with it).";
      } else if (!unhandled.errors.length) {
        line.textContent = "The server's event loop reported no unhandled error after the run.";
      } else {
        const counts = new Map();
        for (const error of unhandled.errors) {
          const text = error.exception ? `${error.message}: ${error.exception}` : error.message;
          counts.set(text, (counts.get(text) || 0) + 1);
        }
        line.append(html("span", {}, "The server's event loop reported, with nobody to tell: "));
        const items = html("ul", { class: "unhandled-errors" });
        for (const [text, count] of counts) items.append(html("li", {}, count > 1 ? `${text} (×${count})` : text));
        line.append(items);
      }
      entry.append(line);
    }
    await Promise.all(
      entries
        .filter(({ url }) => url)
        .map(async ({ entry, url }) => {
          const line = html("p", { class: "task-status" }, `reading ${url}…`);
          entry.append(line);
          const result = await taskStatus(url);
          if (!result) {
            line.textContent = `${url} could not be read.`;
            return;
          }
          line.dataset.status = result.status;
          const errors = (result.errors || []).join("; ");
          line.textContent =
            `The last task it queued (${url}): ${result.status}` +
            (errors ? `: ${errors}` : "") +
            (["SUCCESSFUL", "FAILED"].includes(result.status) ? "" : ` after ${TASK_WAIT_MS / 1000} s; is a worker running (python manage.py db_worker)?`);
        }),
    );
  }

  // Leaving early: abort a batch mid-way, then watch what the server still does for it

  // Under ASGI Django cancels an async view whose client has gone; a sync view's thread cannot
  // be cancelled and runs on. /upstream/stats (the built-in upstream's open drips and waits)
  // and /lab/threads/ show the difference after the requests are aborted.
  const LEAVE_MIN_MS = 150;
  const LEAVE_WATCH_MS = 2000;
  const LEAVE_POLL_MS = 100;
  // The snapshots shown: right after leaving and 1 s later; every poll is in data-samples.
  const LEAVE_LATER_MS = 1000;
  // Before the next view, wait this long at most for the last one's leftover work to end, so
  // its threads and upstream calls are not counted against the next.
  const LEAVE_SETTLE_MS = 30000;

  // How long the views should take: the stream's chunks or events, else one upstream delay.
  function expectedMs(values) {
    const number = (name) => Number(values[name] ?? config.sample[name] ?? 0);
    if (number("interval")) return Math.max(number("chunks"), number("events"), 1) * number("interval");
    return number("delay");
  }

  // At the form's small defaults every request has answered before the client leaves, and
  // there is nothing to see. Leave early then raises the interval (a stream) or the delay to
  // LEAVE_SHOWS_MS for its own batch, and says so; the form keeps its values.
  const LEAVE_SHOWS_MS = 2000;

  function leaveValues(values) {
    if (expectedMs(values) >= LEAVE_SHOWS_MS) return { values, raised: null };
    const name = "interval" in values ? "interval" : "delay";
    if (!(name in values)) return { values, raised: null };
    return { values: { ...values, [name]: String(LEAVE_SHOWS_MS) }, raised: { name, from: values[name] } };
  }

  async function readUpstream() {
    if (!config.upstreamStatsUrl) return null;
    try {
      const body = await getJson(config.upstreamStatsUrl);
      return body.open_drips + body.open_waits;
    } catch {
      return null;
    }
  }

  async function snapshot(at = 0) {
    const [open, threads] = await Promise.all([readUpstream(), readThreads()]);
    return { at, open, threads: threads ? threads.threads : null };
  }

  // Wait until the server has no more upstream calls open, nor threads, than `baseline`.
  async function settleTo(baseline, name) {
    const deadline = performance.now() + LEAVE_SETTLE_MS;
    for (;;) {
      const now = await snapshot();
      const calm = (now.open === null || baseline.open === null || now.open <= baseline.open) && (now.threads === null || baseline.threads === null || now.threads <= baseline.threads);
      if (calm || performance.now() >= deadline) return;
      $("live-status").textContent = `waiting for what ${name} left behind to end`;
      await sleep(AFTER_POLL_MS);
    }
  }

  async function leaveView(view, concurrency, values, leaveAfter, warmValues = values) {
    const { url, init } = requestFor(view, values);
    // A cold view (the first sync upstream call builds its client) might not have reached the
    // upstream by the time the client leaves: warm it up as Run does, at the form's values.
    $("live-status").textContent = `warming up ${view.name}`;
    await resetState(values);
    const warm = requestFor(view, warmValues);
    await timedFetch(warm.url, warm.init);
    await resetState(values);
    const before = await snapshot();
    await readThreads(true);
    const controller = new AbortController();
    let answered = 0;
    $("live-status").textContent = `${view.name}: ${concurrency} requests, leaving after ${ms(leaveAfter)}`;
    const requests = Array.from({ length: concurrency }, () =>
      fetch(url, { ...init, signal: controller.signal })
        .then((response) => response.arrayBuffer())
        .then(() => {
          answered += 1;
        })
        .catch(() => {}),
    );
    await sleep(leaveAfter);
    const during = await snapshot();
    const answeredBefore = answered;
    controller.abort();
    await Promise.all(requests);
    const leftAt = performance.now();
    $("live-status").textContent = `${view.name}: left; watching the server for ${LEAVE_WATCH_MS / 1000} s`;
    const samples = [];
    for (;;) {
      const sample = await snapshot(performance.now() - leftAt);
      samples.push(sample);
      if (sample.at >= LEAVE_WATCH_MS) break;
      await sleep(LEAVE_POLL_MS);
    }
    return { view, before, during, answered: answeredBefore, samples };
  }

  function describe(sample, before, still = " still") {
    const calls = sample.open === null ? "upstream calls not counted" : `${sample.open} upstream call${sample.open === 1 ? "" : "s"}${still} open`;
    const busy = sample.threads === null || before.threads === null ? "threads unknown" : `${Math.max(0, sample.threads - before.threads)} threads busy`;
    return `${calls}, ${busy}`;
  }

  function showLeft(result, leaveAfter, concurrency) {
    const { view, before, during, samples } = result;
    const right = samples[0];
    const later = samples.find((sample) => sample.at >= LEAVE_LATER_MS) || samples[samples.length - 1];
    const last = samples[samples.length - 1];
    const entry = html("div", { class: "after", "data-view": view.name });
    const count = (value) => (value === null ? "" : String(value));
    const busy = (sample) => (sample.threads === null || before.threads === null ? "" : String(Math.max(0, sample.threads - before.threads)));
    Object.assign(entry.dataset, {
      leftAfterMs: String(leaveAfter),
      answered: String(result.answered),
      openBefore: count(before.open),
      openDuring: count(during.open),
      openAfter: count(right.open),
      openLater: count(later.open),
      threadsBefore: count(before.threads),
      threadsDuring: busy(during),
      threadsAfter: busy(right),
      threadsLater: busy(later),
      // Every poll after leaving: "ms:open:threads busy", "-" where unknown.
      samples: samples.map((sample) => `${sample.at.toFixed(0)}:${sample.open ?? "-"}:${busy(sample) || "-"}`).join(" "),
    });
    entry.append(html("span", { class: `role role-${view.label.replace(/\s+/g, "-")}` }, view.label), html("code", {}, ` ${view.name}`));
    entry.append(
      html("p", { class: "during" }, `${concurrency} requests, left after ${ms(leaveAfter)} (${result.answered} answered by then); just before: ${describe(during, before, "")}`),
      html("p", { class: "right-after" }, `after the client left: ${describe(right, before)} right away (${ms(right.at)})`),
      html("p", { class: "later" }, `${ms(later.at)} later: ${describe(later, before)}`),
    );
    if (last !== later) entry.append(html("p", { class: "last" }, `${ms(last.at)} later: ${describe(last, before)}`));
    $("left-early-list").append(entry);
  }

  async function leaveEarly() {
    const { concurrency, values: formValues } = readForm();
    const { values, raised } = leaveValues(formValues);
    const leaveAfter = Math.max(LEAVE_MIN_MS, Math.round(expectedMs(values) / 3));
    running = true;
    button.disabled = true;
    leaveButton.disabled = true;
    leaveButton.textContent = "Leaving…";
    live.hidden = false;
    const holder = $("left-early");
    holder.hidden = false;
    $("left-early-list").replaceChildren();
    holder.querySelector(".server-note")?.remove();
    const raisedNote = $("left-early-raised");
    raisedNote.hidden = !raised;
    raisedNote.textContent = raised
      ? `This batch ran with ${raised.name} ${ms(LEAVE_SHOWS_MS)}, not the form's ${ms(Number(raised.from))}: at the ` +
        `form's value every request would have answered before the client left. The form is unchanged.`
      : "";
    try {
      await pollLagOnce();
      const baseline = await snapshot();
      for (const [index, view] of config.views.entries()) {
        await settleTo(baseline, index ? config.views[index - 1].name : "earlier requests");
        showLeft(await leaveView(view, concurrency, values, leaveAfter, formValues), leaveAfter, concurrency);
      }
      if (lag.server === "WSGI" && config.upstreamStatsUrl) {
        // The built-in upstream counts the waits of ASGI requests only (slow_upstream.py).
        holder.append(html("p", { class: "note server-note" }, "Under WSGI the built-in upstream counts open drips only, not requests waiting out a delay."));
      }
      $("live-status").textContent = `done: left ${config.views.length} views after ${ms(leaveAfter)} each`;
    } finally {
      running = false;
      button.disabled = false;
      leaveButton.disabled = false;
      leaveButton.textContent = leaveButton.dataset.label;
    }
  }

  const leaveButton = config.leaveEarly ? $("leave-button") : null;
  if (leaveButton) {
    leaveButton.hidden = false;
    leaveButton.addEventListener("click", () => {
      if (!running && form.reportValidity()) leaveEarly();
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!running) run();
  });
  window.addEventListener("resize", () => {
    if (results.length && !running) {
      drawChart();
      drawTimeline();
    }
  });
  // Show the server's mode, lag and threads before the first run, too.
  live.hidden = false;
  $("live-status").textContent = "ready";
  pollLagOnce();
  readThreads();
})();
