// Ask the server to load a pair's views itself, and show what each view did under that load
// (templates/lab/load_run.html, lab/loadrun.py). The demo's own values (delay, say) come from
// the run form above, so both forms run the views with the same parameters.
"use strict";

(() => {
  const form = document.getElementById("load-run-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const button = $("load-run-button");
  const status = $("load-run-status");

  const ms = (value) => (value === null ? "–" : `${value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en")} ms`);
  const cell = (text, className = "") => {
    const node = document.createElement("td");
    if (className) node.className = className;
    node.textContent = text;
    return node;
  };

  function formData() {
    const data = new FormData(form);
    const runForm = $("run-form");
    for (const name of form.dataset.params.split(" ").filter(Boolean)) {
      const input = runForm && runForm.elements.namedItem(name);
      if (input) data.set(name, input.value);
    }
    return data;
  }

  function show(body) {
    const rows = $("load-run-body");
    rows.replaceChildren();
    for (const view of body.views) {
      const row = document.createElement("tr");
      Object.assign(row.dataset, {
        view: view.name,
        sent: String(view.sent),
        ok: String(view.ok),
        errors: String(view.error_count),
        unfinished: String(view.unfinished),
        throughput: String(view.throughput),
        p50: String(view.p50_ms ?? ""),
        p90: String(view.p90_ms ?? ""),
        p99: String(view.p99_ms ?? ""),
        threadsBefore: String(view.threads_before),
        peakThreads: String(view.peak_threads),
        worstLag: String(view.worst_lag_ms ?? ""),
      });
      const name = document.createElement("td");
      const role = document.createElement("span");
      role.className = `role role-${view.label.replace(/\s+/g, "-")}`;
      role.textContent = view.label;
      const code = document.createElement("code");
      code.textContent = ` ${view.name}`;
      name.append(role, code);
      // Requests still in flight at the time limit are cut off, not failed: only errors are marked.
      const reasons = Object.entries(view.errors).map(([reason, count]) => `${reason} ×${count}`);
      if (view.unfinished) reasons.push(`${view.unfinished} cut off at ${body.seconds} s`);
      row.append(
        name,
        cell(reasons.length ? `${view.ok} of ${view.sent} (${reasons.join(", ")})` : `${view.ok} of ${view.sent}`, view.error_count ? "bad" : ""),
        cell(view.throughput.toLocaleString("en"), "wall"),
        cell(ms(view.p50_ms)),
        cell(ms(view.p90_ms)),
        cell(ms(view.p99_ms)),
        cell(`${view.peak_threads} (${view.threads_before})`, "threads"),
        cell(view.worst_lag_ms === null ? "not watched" : ms(view.worst_lag_ms), view.worst_lag_ms >= 50 ? "bad" : ""),
      );
      rows.append(row);
    }
    $("load-run-results").hidden = false;
    $("load-run-sentence").textContent = body.sentence;
    $("load-run-verdict").textContent = body.verdict;
    $("load-run-summary").dataset.call = body.call;
    $("load-run-summary").hidden = false;
    const values = Object.entries(body.values).map(([name, value]) => `${name}=${value}`);
    status.textContent = `done: ${body.profile} profile, C=${body.concurrency}, up to ${body.requests} requests or ${body.seconds} s per view${values.length ? `, ${values.join(", ")}` : ""}, from ${body.origin}`;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    const data = formData();
    button.disabled = true;
    button.textContent = "Loading…";
    status.textContent = `the server is loading each view in turn, up to ${data.get("seconds")} s each…`;
    try {
      const response = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
      const type = response.headers.get("content-type") || "";
      const body = type.includes("json") ? await response.json() : null;
      if (!response.ok) {
        status.textContent = `The server refused (${response.status}): ${body && body.error ? body.error : response.statusText}`;
        return;
      }
      show(body);
    } catch (failure) {
      status.textContent = `The load run failed: ${failure}`;
    } finally {
      button.disabled = false;
      button.textContent = button.dataset.label;
    }
  });
})();
