// The search page: text with field syntax, facets that filter (disjunctively: a field's other values stay
// selectable), year and energy histograms that filter by click or drag, highlighted results, and pages by cursor.
//
// The address is the state: q, every filter, sort, the facet panels opened to all their values (`open`), the page
// number and the cursors that lead to it live in the URL, so reload, back/forward and a shared link show the same page. A new search, filter or sort pushes a history
// entry; so does every page turn, so Back returns to the previous page of results. The API pages by opaque
// cursors (no offsets), so the URL keeps the cursors of the pages walked (`cursor`, one per page after the first,
// the last MAX_TRAIL of them): Previous can go back that far, First page always.
"use strict";

import { el, number, plural } from "./dom.js";
import { FACET_NAMES, HISTOGRAMS, TERMS_FACETS, describeFilter, filterName, renderFacets } from "./facets.js";
import { renderHits } from "./hits.js";

const PAGE_SIZE = 20;
const MAX_TRAIL = 20;

const state = { q: "", filters: [], sort: "", page: 1, trail: [], expanded: new Set(), facets: null };
let pending = null;
const $ = (id) => document.getElementById(id);

// -- the address bar ---------------------------------------------------------------------------------------------
function readLocation() {
  const params = new URLSearchParams(window.location.search);
  state.q = params.get("q") || "";
  state.filters = params.getAll("filter");
  state.sort = params.get("sort") || "";
  state.expanded = new Set(params.getAll("open"));
  state.trail = params.getAll("cursor").filter(Boolean).slice(-MAX_TRAIL);
  const page = Number.parseInt(params.get("page") || "1", 10);
  state.page = Number.isInteger(page) && page > 1 && state.trail.length ? page : 1;
  if (state.page === 1) state.trail = [];
  $("q").value = state.q;
  $("sort").value = state.sort;
}

function locationFor() {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  state.filters.forEach((f) => params.append("filter", f));
  if (state.sort) params.set("sort", state.sort);
  state.expanded.forEach((name) => params.append("open", name));
  if (state.page > 1) {
    params.set("page", String(state.page));
    state.trail.forEach((c) => params.append("cursor", c));
  }
  const query = params.toString();
  return window.location.pathname + (query ? "?" + query : "");
}

function writeLocation(replace) {
  const url = locationFor();
  if (url === window.location.pathname + window.location.search) return;
  (replace ? history.replaceState : history.pushState).call(history, null, "", url);
}

/** The cursor of page `page` if the trail still has it (page 1 needs none), else undefined. */
function cursorOf(page) {
  if (page === 1) return null;
  const at = state.trail.length - 1 - (state.page - page);
  return at >= 0 ? state.trail[at] : undefined;
}

// -- changing the search -----------------------------------------------------------------------------------------
function restart() {
  state.page = 1;
  state.trail = [];
  writeLocation(false);
  search({ moved: false });
}

function toggleFilter(filter) {
  const at = state.filters.indexOf(filter);
  if (at >= 0) state.filters.splice(at, 1);
  else state.filters.push(filter);
  restart();
}

/** Replace every filter of `field` with `filter` (none when null): a histogram's range, a panel's "clear". */
function setFieldFilter(field, filter) {
  state.filters = state.filters.filter((f) => filterName(f) !== field);
  if (filter) state.filters.push(filter);
  restart();
}

function turnTo(page, cursor) {
  if (page === 1) state.trail = [];
  else if (page === state.page + 1) state.trail = [...state.trail, cursor].slice(-MAX_TRAIL);
  else state.trail = state.trail.slice(0, state.trail.length - (state.page - page));
  state.page = page;
  writeLocation(false);
  search({ moved: true });
}

const facetActions = {
  toggle: toggleFilter,
  setRange: setFieldFilter,
  expand: (name) => {
    state.expanded.has(name) ? state.expanded.delete(name) : state.expanded.add(name);
    writeLocation(true); // which panels show all their values: kept for reload and sharing, not a step back
    if (state.facets) renderFacets($("facets"), state.facets, state.filters, state.expanded, facetActions);
  },
};

// -- searching ---------------------------------------------------------------------------------------------------
function apiUrl() {
  const params = new URLSearchParams({ q: state.q, size: String(PAGE_SIZE), disjunctive: "true" });
  [...TERMS_FACETS, ...HISTOGRAMS].forEach((f) => params.append("facet", f));
  state.filters.forEach((f) => params.append("filter", f));
  if (state.sort) params.set("sort", state.sort);
  if (state.q) params.set("highlight", "true");
  const cursor = cursorOf(state.page);
  if (cursor) params.set("cursor", cursor);
  return "/api/search?" + params.toString();
}

async function search({ moved }) {
  if (pending) pending.abort();
  const controller = new AbortController();
  pending = controller;
  document.body.setAttribute("aria-busy", "true");
  let body;
  let response;
  try {
    response = await fetch(apiUrl(), { signal: controller.signal });
    body = await response.json();
  } catch (failure) {
    if (failure.name === "AbortError") return;
    showServiceError(`The search service did not answer: ${failure.message}`);
    return;
  } finally {
    if (pending === controller) document.body.removeAttribute("aria-busy");
  }
  if (pending !== controller) return;
  $("error").hidden = true;
  if (!response.ok) {
    if (response.status === 400 && body.parameter === "cursor") {
      notice("That page of results is no longer available (the catalogue changed since); here is the first page.");
      state.page = 1;
      state.trail = [];
      writeLocation(true);
      search({ moved: false });
      return;
    }
    if (response.status === 400) showQueryError(body);
    else showServiceError(`The search failed (${response.status}): ${body.error || body.detail || response.statusText}`);
    return;
  }
  clearQueryError();
  render(body, moved);
}

function render(body, moved) {
  const first = (state.page - 1) * PAGE_SIZE + 1;
  renderHits($("hits"), body.hits, first);
  if (!body.total) {
    const way = state.filters.length ? "remove a filter (its chip, or \u201cclear\u201d in its panel)" : "use fewer or other words";
    $("hits").append(el("li", { class: "none" }, `No dataset matches this search: ${way}.`));
  }
  const summary = $("summary");
  const last = first + body.hits.length - 1;
  summary.textContent = plural(body.total, "dataset") +
    (body.hits.length ? ` · ${number(first)}–${number(last)}` : "") +
    (state.page > 1 ? ` · page ${number(state.page)}` : "");
  summary.dataset.total = String(body.total);
  summary.dataset.page = String(state.page);
  state.facets = body.facets || {};
  renderFacets($("facets"), state.facets, state.filters, state.expanded, facetActions);
  renderChips();
  renderPager(body.next_cursor);
  if (moved) {
    summary.focus({ preventScroll: true });
    $("results").scrollIntoView({ block: "start" });
  }
}

function renderPager(nextCursor) {
  const pager = $("pager");
  const buttons = [];
  const previous = cursorOf(state.page - 1);
  if (state.page > 2) {
    buttons.push(el("button", { type: "button", class: "page first", onclick: () => turnTo(1, null) }, "« First page"));
  }
  if (state.page > 1 && previous !== undefined) {
    buttons.push(el("button", {
      type: "button", class: "page previous", rel: "prev", onclick: () => turnTo(state.page - 1, previous),
    }, "‹ Previous"));
  }
  if (state.page > 1 || nextCursor) buttons.push(el("span", { class: "page-number" }, `Page ${number(state.page)}`));
  if (nextCursor) {
    buttons.push(el("button", {
      type: "button", class: "page next", rel: "next", onclick: () => turnTo(state.page + 1, nextCursor),
    }, "Next ›"));
  }
  pager.replaceChildren(...buttons);
  pager.hidden = buttons.length === 0;
}

function renderChips() {
  const chips = $("chips");
  chips.replaceChildren();
  for (const filter of state.filters) {
    chips.append(el("li", {}, el("button", {
      type: "button", class: "chip", "data-filter": filter, "aria-label": `Remove filter ${describeFilter(filter)}`,
      onclick: () => toggleFilter(filter),
    }, describeFilter(filter), el("span", { "aria-hidden": "true" }, " ×"))));
  }
  if (state.filters.length > 1) {
    chips.append(el("li", {}, el("button", {
      type: "button", class: "link", onclick: () => {
        state.filters = [];
        restart();
      },
    }, "clear all")));
  }
}

// -- messages ----------------------------------------------------------------------------------------------------
function notice(text) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
}

function showServiceError(text) {
  const error = $("error");
  error.textContent = text;
  error.hidden = false;
}

/** A 400 from the API, beside the box: what is wrong, where (the text with the character marked), and the hint. */
function showQueryError(body) {
  const box = $("query-error");
  const parts = [el("strong", {}, body.error || "The search could not be read.")];
  const characters = Array.from(body.parameter === "q" ? state.q : "");
  const position = Number.isInteger(body.position) ? body.position : null;
  if (body.parameter === "q" && position !== null) {
    const at = Math.min(position, characters.length);
    const end = at === characters.length;
    parts.push(" ", end ? "(at the end of the text)" : `(at character ${at + 1})`);
    parts.push(el("code", { class: "where" },
      characters.slice(0, at).join(""),
      el("span", { class: end ? "at end" : "at", title: end ? "the end of the text" : `character ${at + 1}` },
        end ? "\u00a0" : characters[at]),
      characters.slice(at + 1).join("")));
  } else if (body.parameter && body.parameter !== "q") {
    const name = FACET_NAMES[body.parameter] || body.parameter;
    parts.push(" ", `(in the ${name}${position !== null ? `, at character ${position + 1}` : ""})`);
  }
  if (body.hint) parts.push(el("span", { class: "hint" }, "Hint: ", body.hint));
  parts.push(el("button", {
    type: "button", class: "link", onclick: () => {
      $("syntax").open = true;
      $("syntax").querySelector("summary").focus();
    },
  }, "Search syntax"));
  box.replaceChildren(...parts);
  box.hidden = false;
  box.dataset.parameter = body.parameter || "";
  box.dataset.position = position === null ? "" : String(position);
  $("q").setAttribute("aria-invalid", body.parameter === "q" ? "true" : "false");
  const summary = $("summary");
  summary.textContent = "No results: the search could not be read.";
  delete summary.dataset.total;
  $("hits").replaceChildren();
  $("pager").hidden = true;
  state.facets = null;
  $("facets").replaceChildren(); // the counts of the last search that could be read would mislead here
  renderChips();
}

function clearQueryError() {
  $("query-error").hidden = true;
  $("q").removeAttribute("aria-invalid");
}

// -- suggestions -------------------------------------------------------------------------------------------------
let suggestTimer = null;
function suggest() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const text = $("q").value;
    const match = text.match(/(^|\s)(experiment:)?"?([^\s":]{1,40})$/i);
    const list = $("suggestions");
    if (!match) { list.replaceChildren(); return; }
    const before = text.slice(0, text.length - match[0].length) + match[1];
    try {
      const response = await fetch("/api/suggest?" + new URLSearchParams({ prefix: match[3], field: "experiment", size: "8" }));
      if (!response.ok) return;
      const body = await response.json();
      list.replaceChildren(...body.suggestions.map((s) => {
        const value = /\s/.test(s.label) ? `"${s.label}"` : s.label;
        return el("option", { value: `${before}experiment:${value}` }, `${s.label} (${plural(s.count, "dataset")})`);
      }));
    } catch (_ignored) { /* suggestions are a convenience: a failed one changes nothing */ }
  }, 150);
}

// -- wiring ------------------------------------------------------------------------------------------------------
$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  state.q = $("q").value.trim();
  $("syntax").open = false;
  $("notice").hidden = true;
  restart();
});
$("q").addEventListener("input", suggest);
$("sort").addEventListener("change", (event) => {
  state.sort = event.target.value;
  restart();
});
// the syntax help's examples go into the box
$("syntax").addEventListener("click", (event) => {
  const example = event.target.closest("button.example");
  if (!example) return;
  const input = $("q");
  const text = example.textContent;
  input.value = input.value.trim() ? `${input.value.trim()} ${text}` : text;
  $("syntax").open = false;
  input.focus();
});
document.addEventListener("keydown", (event) => {
  const syntax = $("syntax");
  if (event.key === "Escape" && syntax.open) {
    syntax.open = false;
    syntax.querySelector("summary").focus();
  }
});
window.addEventListener("popstate", () => {
  readLocation();
  search({ moved: false });
});
readLocation();
search({ moved: false });
