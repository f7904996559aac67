// Run a demo's views from its page and chart the timings (templates/views_demo/pair.html).
//
// Each view in turn gets `concurrency` requests fired at once. Every number shown is measured
// here, in the browser, from real requests: latency from start to the last byte read, the
// time a request waited for a free connection (Resource Timing), and the batch's wall time.
// Meanwhile /lab/loop-lag/ is polled for the server's mode and its event-loop lag.
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
  const COLORS = {
    sync: "#d9822b",
    async: "#0f9d8a",
    "sync threaded": "#7b61c9",
    "the wrong way": "#d6336c",
    "the right way": "#2b8a3e",
  };
  const FALLBACK_COLORS = ["#3b5bdb", "#e8590c", "#0c8599", "#9c36b5"];

  const colorOf = (view, index) => COLORS[view.label] || FALLBACK_COLORS[index % FALLBACK_COLORS.length];
  const ms = (value) =>
    `${value === 0 ? "0" : value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en")} ms`;
  const sleep = (delay) => new Promise((resolve) => setTimeout(resolve, delay));

  function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

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

  function requestFor(view, values) {
    const fields = new URLSearchParams({ ...config.sample, ...values });
    const init = { cache: "no-store", credentials: "same-origin", method: config.method };
    if (config.method === "GET") {
      const query = fields.toString();
      return { url: new URL(view.url + (query ? `?${query}` : ""), location.href).href, init };
    }
    // Django's CSRF check wants the token from the cookie back in a header.
    init.headers = { "X-CSRFToken": cookie(config.csrfCookieName) || config.csrfToken };
    init.body = fields;
    return { url: new URL(view.url, location.href).href, init };
  }

  // Requests

  async function timedFetch(url, init) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const start = performance.now();
    try {
      const response = await fetch(url, { ...init, signal: controller.signal });
      let serverMs = null;
      let error = null;
      if ((response.headers.get("content-type") || "").includes("json")) {
        const body = await response.json().catch(() => null);
        if (body && typeof body.elapsed_ms === "number") serverMs = body.elapsed_ms;
        if (body && typeof body.error === "string") error = body.error;
      } else {
        await response.arrayBuffer(); // a streamed answer counts until its last byte
      }
      if (!response.ok && !error) error = `answered ${response.status}`;
      // fetch() follows redirects (to a login page, say): time the whole trip, but say so.
      const redirectedTo = response.redirected ? new URL(response.url).pathname + new URL(response.url).search : null;
      return { start, end: performance.now(), status: response.status, ok: response.ok, serverMs, error, redirectedTo };
    } catch (failure) {
      return { start, end: performance.now(), status: 0, ok: false, serverMs: null, error: String(failure) };
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

  // The event loop's lag

  const lag = { polling: false, worst: null, server: null };

  async function pollLagOnce() {
    try {
      const response = await fetch(config.loopLagUrl, { cache: "no-store" });
      const body = await response.json();
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

  async function pollLag() {
    while (lag.polling) {
      await pollLagOnce();
      await sleep(LAG_POLL_MS);
    }
  }

  // Running

  let running = false;
  const results = [];

  async function runView(view, concurrency, values, index, total) {
    const { url, init } = requestFor(view, values);
    performance.clearResourceTimings();
    lag.worst = 0;
    let answered = 0;
    const status = () => {
      $("live-status").textContent = `${view.name} (${index + 1} of ${total}): ${answered} of ${concurrency} answered`;
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
    await pollLagOnce(); // the lag the last request may have caused
    addWaits(url, batchStart, requests);
    const wall = Math.max(...requests.map((request) => request.end)) - batchStart;
    return { view, index, batchStart, requests, wall, worstLag: lag.server === "ASGI" ? lag.worst : null };
  }

  async function run() {
    const { concurrency, values } = readForm();
    running = true;
    button.disabled = true;
    button.textContent = "Running…";
    results.length = 0;
    live.hidden = false;
    $("chart").hidden = false;
    $("results").hidden = false;
    $("results-body").replaceChildren();
    $("results-note").textContent = "";
    $("chart-svg").replaceChildren();
    history.replaceState(null, "", `?${new URLSearchParams(new FormData(form))}#run`);
    lag.polling = true;
    const polling = pollLag();
    try {
      for (const [index, view] of config.views.entries()) {
        const previous = results[results.length - 1];
        if (previous && previous.worstLag >= SETTLE_ABOVE_MS) {
          $("live-status").textContent = "letting the server settle…";
          await sleep(SETTLE_MS);
        }
        results.push(await runView(view, concurrency, values, index, config.views.length));
        draw();
      }
      $("live-status").textContent = `done: ${concurrency} requests at each of ${config.views.length} views`;
    } finally {
      lag.polling = false;
      await polling;
      running = false;
      button.disabled = false;
      button.textContent = button.dataset.label;
    }
  }

  // Drawing

  function niceCeiling(value) {
    if (value <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    const step = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((factor) => factor * power >= value);
    return step * power;
  }

  function drawChart() {
    const holder = $("chart-svg");
    const width = Math.max(holder.clientWidth || 900, 480);
    const left = Math.min(210, width * 0.28);
    const right = 90;
    const plot = width - left - right;
    const rows = Math.max(...results.map((result) => result.requests.length));
    const barHeight = rows > 12 ? 7 : rows > 6 ? 10 : 14;
    const gap = 3;
    const top = 8;
    const scaleMax = niceCeiling(Math.max(...results.map((result) => result.wall)) * 1.02);
    const x = (value) => left + (value / scaleMax) * plot;

    let y = top;
    const groups = [];
    for (const result of results) {
      const height = 20 + result.requests.length * (barHeight + gap) + 22;
      groups.push({ result, y });
      y += height + 10;
    }
    const axisY = y;
    const height = axisY + 28;

    const svg = element("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": results.map((result) => `${result.view.name}: wall time ${ms(result.wall)}`).join("; "),
    });

    // Grid and axis
    const ticks = 5;
    for (let tick = 0; tick <= ticks; tick += 1) {
      const value = (scaleMax / ticks) * tick;
      svg.append(element("line", { x1: x(value), x2: x(value), y1: top, y2: axisY, stroke: "#e6e9ef" }));
      svg.append(
        element("text", { x: x(value), y: axisY + 16, "text-anchor": "middle", "font-size": 11, fill: "#5b6475" }, ms(value)),
      );
    }
    svg.append(element("line", { x1: left, x2: left + plot, y1: axisY, y2: axisY, stroke: "#9aa3b2" }));

    for (const { result, y: groupY } of groups) {
      const color = colorOf(result.view, result.index);
      const group = element("g", { class: "twin", "data-view": result.view.name });
      group.append(element("text", { x: 0, y: groupY + 13, "font-size": 13, "font-weight": 700, fill: color }, result.view.label));
      group.append(
        element("text", { x: 0, y: groupY + 29, "font-size": 12, fill: "#1d2330", "font-family": "monospace" }, result.view.name),
      );
      result.requests.forEach((request, row) => {
        const barY = groupY + 20 + row * (barHeight + gap);
        const begin = request.start - result.batchStart;
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
      const wallY = groupY + 20 + result.requests.length * (barHeight + gap) + 8;
      group.append(element("line", { x1: x(0), x2: x(result.wall), y1: wallY, y2: wallY, stroke: color, "stroke-width": 4, "stroke-linecap": "round" }));
      group.append(
        element(
          "text",
          { class: "wall", x: x(result.wall) + 6, y: wallY + 4, "font-size": 12, "font-weight": 700, fill: "#1d2330", "data-ms": result.wall.toFixed(1) },
          `wall ${ms(result.wall)}`,
        ),
      );
      svg.append(group);
    }
    holder.replaceChildren(svg);
  }

  function drawTable() {
    const body = $("results-body");
    body.replaceChildren();
    for (const result of results) {
      const latencies = result.requests.map((request) => request.end - request.start);
      const failed = result.requests.filter((request) => !request.ok);
      const serverTimes = result.requests.map((request) => request.serverMs).filter((value) => value !== null);
      const row = document.createElement("tr");
      row.dataset.view = result.view.name;
      row.dataset.statuses = result.requests.map((request) => request.status).join(" ");
      const cells = [
        ["", null],
        [
          failed.length
            ? `${result.requests.length - failed.length} ok, ${failed.length} failed`
            : `${result.requests.length} × ${result.requests[0].status}${result.requests.some((request) => request.redirectedTo) ? " after a redirect" : ""}`,
          failed.length ? "bad" : "",
        ],
        [ms(Math.min(...latencies)), ""],
        [ms(median(latencies)), ""],
        [ms(Math.max(...latencies)), ""],
        [ms(result.wall), "wall"],
        [serverTimes.length ? `${ms(median(serverTimes))} median` : "–", ""],
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
      row.children[5].dataset.ms = result.wall.toFixed(1);
      body.append(row);
    }
    const notes = [];
    if (results.length > 1) {
      const [first, ...others] = results;
      for (const other of others) {
        const ratio = first.wall / other.wall;
        const comparison = ratio >= 1 ? `${ratio.toFixed(1)}× less than` : `${(1 / ratio).toFixed(1)}× more than`;
        notes.push(`${other.view.name} needed ${ms(other.wall)} for the batch, ${comparison} ${first.view.name}'s ${ms(first.wall)}.`);
      }
    }
    for (const result of results) {
      const errors = [...new Set(result.requests.filter((request) => !request.ok).map((request) => request.error))];
      if (errors.length) notes.push(`${result.view.name} failed: ${errors.join("; ")}`);
      const redirects = [...new Set(result.requests.map((request) => request.redirectedTo).filter(Boolean))];
      if (redirects.length) notes.push(`${result.view.name} redirected to ${redirects.join(", ")}; the times include that page.`);
    }
    $("results-note").textContent = notes.join(" ");
  }

  function draw() {
    drawChart();
    drawTable();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!running) run();
  });
  window.addEventListener("resize", () => {
    if (results.length && !running) drawChart();
  });
  // Show the server's mode and lag before the first run, too.
  live.hidden = false;
  $("live-status").textContent = "ready";
  pollLagOnce();
})();
