// The gallery page: reads its DAG, run, task and map index from its query string, lists the run's images
// through the app's JSON API (relative URLs: the page works under any base path and inside the UI's
// iframe), and renders them with textContent only (nothing from a record is parsed as HTML).
"use strict";

(() => {
  const query = new URLSearchParams(window.location.search);
  const scope = {
    dagId: query.get("dag_id") || "",
    runId: query.get("run_id") || "",
    taskId: query.get("task_id") || "",
    // On a task that is not mapped the UI leaves "{MAP_INDEX}" unreplaced: every map index is shown.
    mapIndex: /^-?\d+$/.test(query.get("map_index") || "") ? query.get("map_index") : "",
  };
  const state = { offset: 0, limit: 100, status: "", images: [], timer: 0 };
  const $ = (id) => document.getElementById(id);
  const RUNNING = new Set(["queued", "running"]);
  const SYMBOLS = { rejected: "\u2298", failed: "\u26A0", refused: "\u2715" };
  const LABELS = { rejected: "Refused by the safety system", failed: "Request failed", refused: "Not served" };

  function listUrl() {
    const run = `api/dags/${encodeURIComponent(scope.dagId)}/dagRuns/${encodeURIComponent(scope.runId)}/images`;
    const params = new URLSearchParams({ offset: String(state.offset), limit: String(state.limit) });
    if (scope.taskId) params.set("task_id", scope.taskId);
    if (scope.taskId && scope.mapIndex) params.set("map_index", scope.mapIndex);
    if (state.status) params.set("status", state.status);
    return `${run}?${params}`;
  }

  async function getJson(url) {
    const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!answer.ok) {
      let detail = answer.statusText;
      try { detail = (await answer.json()).detail || detail; } catch (_) { /* not JSON */ }
      const reasons = { 401: "Sign in to Airflow to see these images.", 403: "You may not see this DAG's images." };
      throw new Error(reasons[answer.status] || `${answer.status}: ${typeof detail === "string" ? detail : "error"}`);
    }
    return answer.json();
  }

  function money(value) {
    if (typeof value !== "number") return null;
    return value === 0 ? "$0" : `$${value.toFixed(value < 0.01 ? 4 : 3)}`;
  }

  function showMessage(text) {
    $("message").textContent = text;
    $("message").hidden = !text;
  }

  function renderScope(page) {
    const parts = [page.dag_id, page.run_id];
    if (page.task_id) parts.push(page.map_index === null || page.map_index < 0
      ? page.task_id : `${page.task_id} [${page.map_index}]`);
    $("scope").textContent = `${parts.join("  \u203A  ")}  \u00B7  run ${page.run_state}`;
  }

  function renderSummary(summary) {
    const chips = [`${summary.landed} landed`];
    if (summary.rejected) chips.push(`${summary.rejected} rejected`);
    if (summary.failed) chips.push(`${summary.failed} failed`);
    if (summary.refused) chips.push(`${summary.refused} not served`);
    chips.push(`${money(summary.cost_usd)}${summary.unpriced ? ` + ${summary.unpriced} unpriced` : ""}`);
    chips.push(`${summary.task_instances} task instance${summary.task_instances === 1 ? "" : "s"}`);
    $("summary").replaceChildren(...chips.map((text) => Object.assign(document.createElement("span"), { textContent: text })));
  }

  function renderPager(page) {
    const last = Math.min(page.offset + page.images.length, page.total_entries);
    $("range").textContent = page.total_entries ? `${page.offset + 1}\u2013${last} of ${page.total_entries}` : "none";
    $("prev").disabled = page.offset === 0;
    $("next").disabled = last >= page.total_entries;
  }

  function where(image) {
    const parts = [image.task_id];
    if (image.map_index >= 0) parts[0] += ` [${image.map_index}]`;
    if (image.item !== null) parts.push(`item ${image.item}`);
    parts.push(`#${image.index}`);
    return parts.join(" \u00B7 ");
  }

  function picture(node, image, position) {
    if (image.status !== "landed" || !image.thumbnail_url) {
      // A record the gallery refuses to serve (its S3 location is not its task instance's) shows why instead.
      const kind = image.refused ? "refused" : image.status;
      node.classList.add("missing", kind);
      const symbol = Object.assign(document.createElement("span"), { className: "symbol", textContent: SYMBOLS[kind] || "?" });
      const label = Object.assign(document.createElement("span"), {
        className: "label", textContent: LABELS[kind] || "No image",
      });
      node.replaceChildren(symbol, label);
      return;
    }
    const link = Object.assign(document.createElement("a"), { href: image.image_url, title: "Open the full image" });
    const img = Object.assign(document.createElement("img"), {
      src: image.thumbnail_url, loading: "lazy", decoding: "async",
      alt: image.revised_prompt || `Image ${where(image)}`,
    });
    if (image.width && image.height) { img.width = image.width; img.height = image.height; }
    img.addEventListener("error", () => {
      node.classList.add("missing", "broken");
      node.replaceChildren(Object.assign(document.createElement("span"), { className: "label", textContent: "Image unavailable" }));
    });
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return; // new tab: let it be
      event.preventDefault();
      openViewer(position);
    });
    link.append(img);
    node.replaceChildren(link);
  }

  function card(image, position) {
    const node = $("card").content.firstElementChild.cloneNode(true);
    node.dataset.status = image.status;
    picture(node.querySelector(".picture"), image, position);
    const badge = node.querySelector(".badge");
    badge.textContent = image.status;
    badge.classList.add(image.status);
    node.querySelector(".where").textContent = where(image);
    if (image.refused) {
      node.dataset.refused = "true";
      const refused = Object.assign(document.createElement("span"), { className: "badge refused", textContent: "not served" });
      badge.after(refused);
    }
    node.querySelector(".facts").textContent = [image.model, image.size && image.size.replace("x", "\u00D7"), money(image.cost_usd)]
      .filter(Boolean).join("  \u00B7  ");
    if (image.status !== "landed" || image.refused) {
      const problem = node.querySelector(".problem");
      problem.hidden = false;
      problem.textContent = image.refused ? `Not served: ${image.refused}` : image.message || "No message";
      if (image.code && !image.refused) problem.append(" ", Object.assign(document.createElement("code"), { textContent: image.code }));
      problem.title = "Click to expand";
      problem.addEventListener("click", () => problem.classList.toggle("open"));
    }
    if (image.revised_prompt) {
      const revised = node.querySelector(".revised");
      revised.hidden = false;
      revised.title = "Revised prompt (click to expand)";
      revised.textContent = image.revised_prompt;
      revised.addEventListener("click", () => revised.classList.toggle("open"));
    }
    if (image.prompt_url) {
      const button = node.querySelector(".show-prompt");
      const text = node.querySelector(".prompt");
      button.hidden = false;
      button.addEventListener("click", async () => {
        if (!text.hidden) { text.hidden = true; button.textContent = "Show prompt"; return; }
        button.disabled = true;
        try {
          const answer = await getJson(image.prompt_url);
          text.textContent = answer.prompt === null ? "(not recorded)" : answer.prompt
            + (answer.prompt_truncated_from ? ` \u2026 (${answer.prompt_truncated_from} characters in all)` : "");
        } catch (error) {
          text.textContent = `(${error.message})`;
        }
        text.hidden = false;
        button.disabled = false;
        button.textContent = "Hide prompt";
      });
    }
    if (image.s3_uri) {
      const uri = node.querySelector(".uri");
      uri.hidden = false;
      uri.querySelector("code").textContent = image.s3_uri;
      uri.querySelector(".copy").addEventListener("click", (event) => copy(image.s3_uri, event.currentTarget));
    }
    return node;
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (_) { // no clipboard in this frame: select the text instead
      const range = document.createRange();
      range.selectNodeContents(button.previousElementSibling);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Selected";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  }

  function openViewer(position) {
    const image = state.images[position];
    if (!image || !image.image_url) return;
    state.viewing = position;
    // Made on opening: an <img> without a source would be an image that never loads.
    const full = Object.assign(document.createElement("img"), {
      id: "viewer-image", src: image.image_url, alt: image.revised_prompt || where(image),
    });
    $("viewer-body").replaceChildren(full);
    $("viewer-open").href = image.image_url;
    $("viewer-title").textContent = [where(image), image.size].filter(Boolean).join("  \u00B7  ");
    if (!$("viewer").open) $("viewer").showModal();
  }

  function step(delta) {
    for (let at = state.viewing + delta; at >= 0 && at < state.images.length; at += delta) {
      if (state.images[at].image_url) { openViewer(at); return; }
    }
  }

  async function load() {
    clearTimeout(state.timer);
    $("grid").setAttribute("aria-busy", "true");
    let page;
    try {
      page = await getJson(listUrl());
    } catch (error) {
      $("grid").replaceChildren();
      showMessage(error.message);
      $("grid").setAttribute("aria-busy", "false");
      return;
    }
    state.images = page.images;
    renderScope(page);
    renderSummary(page.summary);
    renderPager(page);
    $("grid").replaceChildren(...page.images.map(card));
    const running = RUNNING.has(page.run_state);
    showMessage(page.total_entries ? "" : running
      ? "No images yet: the run is still going, this page refreshes itself."
      : state.status ? `No ${state.status} images in this ${page.task_id ? "task" : "run"}.`
        : "No images: no task of this run returned image records.");
    $("grid").setAttribute("aria-busy", "false");
    if (running) state.timer = setTimeout(load, 5000);
  }

  function start() {
    // In the UI's iframe the tab already says "Images": the page drops its own heading.
    if (window.self !== window.top) document.body.classList.add("framed");
    if (!scope.dagId || !scope.runId) { showMessage("Open this page from a DAG run's Images tab."); return; }
    document.querySelectorAll(".filters button").forEach((button) => button.addEventListener("click", () => {
      document.querySelectorAll(".filters button").forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
      state.status = button.dataset.status;
      state.offset = 0;
      load();
    }));
    $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); load(); });
    $("next").addEventListener("click", () => { state.offset += state.limit; load(); });
    $("limit").addEventListener("change", (event) => { state.limit = Number(event.target.value); state.offset = 0; load(); });
    $("viewer").addEventListener("click", (event) => { if (event.target === $("viewer")) $("viewer").close(); });
    $("viewer").addEventListener("close", () => $("viewer-body").replaceChildren());
    document.addEventListener("keydown", (event) => {
      if (!$("viewer").open) return;
      if (event.key === "ArrowRight") step(1);
      if (event.key === "ArrowLeft") step(-1);
    });
    load();
  }

  start();
})();
