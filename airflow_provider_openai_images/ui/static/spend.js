// The Spend view: reads /api/spend (relative URLs: the page works under any base path and inside the UI's
// iframe) and renders the table with textContent only. Each row links to its runs' galleries.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const element = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };

  function money(value) {
    return value === 0 ? "$0" : `$${value.toFixed(4)}`;
  }

  // The run's gallery, in this frame: the UI sandboxes it without allow-top-navigation or allow-popups,
  // so a link to the UI's own run page could not open.
  function galleryUrl(dagId, runId) {
    return `gallery?${new URLSearchParams({ dag_id: dagId, run_id: runId })}`;
  }

  function runLink(dagId, runId, text) {
    return element("a", { href: galleryUrl(dagId, runId), textContent: text, title: `Images of ${runId}` });
  }

  function runsCell(row) {
    if (row.run_ids.length === 1) return [runLink(row.dag_id, row.run_ids[0], "1 run")];
    const list = element("ul", {}, row.run_ids.map((runId) => element("li", {}, [runLink(row.dag_id, runId, runId)])));
    return [element("details", {}, [element("summary", { textContent: `${row.runs} runs` }), list])];
  }

  function cell(text, className = "", note = "") {
    const td = element("td", { className, textContent: text });
    if (note) td.append(element("span", { className: "note", textContent: note }));
    return td;
  }

  function counted(value, className) {
    return cell(String(value), `number ${value ? className : "zero"}`);
  }

  function figures(item) {
    const unpriced = item.unpriced ? `+ ${item.unpriced} unpriced` : "";
    let billed = cell("\u2014", "number zero");
    if (item.possibly_billed) {
      const unknown = item.possibly_billed_unpriced ? `, ${item.possibly_billed_unpriced} of unknown cost` : "";
      billed = cell(`\u2264 ${money(item.possibly_billed_cost_usd)}`, "number billed",
        `${item.possibly_billed} request${item.possibly_billed === 1 ? "" : "s"}${unknown}`);
    }
    const saved = item.batch_images
      ? cell(money(item.saved_usd), "number saved",
        item.saved_share === null ? "" : `${(item.saved_share * 100).toFixed(1)}% of the synchronous price`)
      : cell("\u2014", "number zero");
    return [
      counted(item.images_landed, "landed"),
      counted(item.images_rejected, "rejected"),
      counted(item.images_failed, "failed"),
      cell(money(item.cost_usd), "number", unpriced),
      billed,
      saved,
    ];
  }

  function renderTotals(table) {
    const totals = table.totals;
    const chips = [
      `${table.since} \u2013 ${table.until}`,
      `${totals.runs} run${totals.runs === 1 ? "" : "s"}`,
      `${totals.images_landed} landed`,
      `${totals.images_rejected} rejected`,
      `${totals.images_failed} failed`,
      `${money(totals.cost_usd)} spent${totals.unpriced ? ` + ${totals.unpriced} unpriced` : ""}`,
    ];
    if (totals.possibly_billed) chips.push(`\u2264 ${money(totals.possibly_billed_cost_usd)} possibly billed`);
    if (totals.saved_share !== null && totals.batch_images) {
      chips.push(`${money(totals.saved_usd)} saved (${(totals.saved_share * 100).toFixed(1)}%)`);
    }
    $("totals").replaceChildren(...chips.map((text) => element("span", { textContent: text })));
  }

  function render(table) {
    renderTotals(table);
    $("rows").replaceChildren(...table.rows.map((row) => element("tr", {}, [
      cell(row.day),
      cell(row.dag_id, "dag"),
      element("td", {}, runsCell(row)),
      ...figures(row),
    ])));
    $("foot").replaceChildren(element("tr", {}, [
      cell("Total"), cell(""), cell(`${table.totals.runs}`), ...figures(table.totals),
    ]));
    const message = table.rows.length ? "" : "No image records in these days, in the DAGs you may read.";
    $("message").textContent = message;
    $("message").hidden = !message;
  }

  async function load() {
    const days = $("days").value;
    $("csv").href = `api/spend.csv?days=${encodeURIComponent(days)}`;
    $("spend").setAttribute("aria-busy", "true");
    try {
      const answer = await fetch(`api/spend?days=${encodeURIComponent(days)}`,
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!answer.ok) {
        throw new Error(answer.status === 401 ? "Sign in to Airflow to see the spend." : `${answer.status}: ${answer.statusText}`);
      }
      render(await answer.json());
    } catch (error) {
      $("message").textContent = error.message;
      $("message").hidden = false;
    } finally {
      $("spend").setAttribute("aria-busy", "false");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (window.self !== window.top) document.body.classList.add("framed");
    $("days").addEventListener("change", load);
    load();
  });
})();
