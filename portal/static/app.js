// The search page: text with field syntax, facets that filter, removable filter chips, cursor paging and experiment
// suggestions, all through /api. The address bar holds q, filter and sort, so a search can be bookmarked and
// reloaded; every string from the API is inserted as text (textContent), never as HTML.
"use strict";

const FACETS = [
  "source", "experiment", "messenger", "resource_category", "collision_type", "technique", "target",
  "data_level", "file_format", "license", "availability", "year",
];
const FACET_NAMES = {
  source: "Source", experiment: "Experiment", messenger: "Messenger", resource_category: "Resource category",
  collision_type: "Collision", technique: "Technique", target: "Target", data_level: "Data level",
  file_format: "File format", license: "Licence", availability: "Availability", year: "Year",
};
const SHOWN_VALUES = 8;
const PAGE_SIZE = 20;
const RECORD_BASE = "https://w3id.org/dmlake/record/";

const state = { q: "", filters: [], sort: "", cursor: null, expanded: new Set() };
let pending = null;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function recordPage(id) {
  return "/records/" + (id.startsWith(RECORD_BASE) ? id.slice(RECORD_BASE.length) : id);
}

function filterFor(facet, value) {
  return facet === "year" ? `year=${value}..${value}` : `${facet}=${value}`;
}

function describeFilter(filter) {
  const [name, ...rest] = filter.split("=");
  const value = rest.join("=");
  const range = value.match(/^(.*)\.\.(.*)$/);
  const shown = range && range[1] === range[2] ? range[1] : value.replace("..", "–");
  return `${FACET_NAMES[name] || name}: ${shown}`;
}

// -- the address bar ---------------------------------------------------------------------------------------------
function readLocation() {
  const params = new URLSearchParams(window.location.search);
  state.q = params.get("q") || "";
  state.filters = params.getAll("filter");
  state.sort = params.get("sort") || "";
  state.cursor = null;
  document.getElementById("q").value = state.q;
  document.getElementById("sort").value = state.sort;
}

function writeLocation(replace) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  state.filters.forEach((f) => params.append("filter", f));
  if (state.sort) params.set("sort", state.sort);
  const url = window.location.pathname + (params.toString() ? "?" + params.toString() : "");
  if (url === window.location.pathname + window.location.search) return;
  (replace ? history.replaceState : history.pushState).call(history, null, "", url);
}

// -- searching ---------------------------------------------------------------------------------------------------
function apiUrl(cursor) {
  const params = new URLSearchParams({ q: state.q, size: String(PAGE_SIZE) });
  FACETS.forEach((f) => params.append("facet", f));
  state.filters.forEach((f) => params.append("filter", f));
  if (state.sort) params.set("sort", state.sort);
  if (cursor) params.set("cursor", cursor);
  return "/api/search?" + params.toString();
}

async function search(append) {
  const error = document.getElementById("error");
  const summary = document.getElementById("summary");
  if (pending) pending.abort();
  pending = new AbortController();
  document.body.setAttribute("aria-busy", "true");
  let body;
  let response;
  try {
    response = await fetch(apiUrl(append ? state.cursor : null), { signal: pending.signal });
    body = await response.json();
  } catch (failure) {
    if (failure.name === "AbortError") return;
    error.textContent = `The search service did not answer: ${failure.message}`;
    error.hidden = false;
    document.body.removeAttribute("aria-busy");
    return;
  }
  document.body.removeAttribute("aria-busy");
  if (!response.ok) {
    const where = Number.isInteger(body.position) ? ` (at character ${body.position + 1} of the ${body.parameter})` : "";
    error.textContent = `${body.error || response.statusText}${where}${body.hint ? ". " + body.hint : ""}`;
    error.hidden = false;
    summary.textContent = "No results: the query could not be read.";
    document.getElementById("hits").replaceChildren();
    document.getElementById("more").hidden = true;
    renderChips();
    return;
  }
  error.hidden = true;
  const shownBefore = append ? document.getElementById("hits").children.length : 0;
  renderHits(body.hits, append);
  const shown = shownBefore + body.hits.length;
  summary.textContent = `${body.total.toLocaleString("en")} dataset${body.total === 1 ? "" : "s"}` +
    (body.total ? `, showing ${shown.toLocaleString("en")}` : "");
  summary.dataset.total = String(body.total);
  state.cursor = body.next_cursor;
  document.getElementById("more").hidden = !body.next_cursor;
  if (!append) {
    renderFacets(body.facets || {});
    renderChips();
  }
}

function renderHits(hits, append) {
  const list = document.getElementById("hits");
  if (!append) list.replaceChildren();
  for (const hit of hits) {
    const members = Array.isArray(hit.records) ? hit.records : [];
    const sources = [...new Set([hit.source, ...members.map((m) => m.source)].filter(Boolean))];
    const meta = el("p", { class: "meta" },
      ...sources.map((s) => el("span", { class: "badge source" }, s)),
      (hit.experiments || []).length ? " " + hit.experiments.join(", ") : "",
      hit.year ? ` · ${hit.year}` : "",
      hit.resource_type ? ` · ${hit.resource_type}` : "",
      hit.file_count ? ` · ${hit.file_count} file${hit.file_count === 1 ? "" : "s"}` : "");
    const item = el("li", { class: "hit", "data-id": hit.id },
      el("h3", {}, el("a", { href: recordPage(hit.id) }, hit.title || hit.id)), meta);
    if (hit.description) {
      const text = hit.description.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
      item.append(el("p", { class: "snippet" }, text.length > 280 ? text.slice(0, 277) + "…" : text));
    }
    const others = members.filter((m) => m.id !== hit.id);
    if (others.length) {
      const also = el("p", { class: "also" }, "Also from: ");
      others.forEach((m, i) => {
        if (i) also.append(", ");
        also.append(el("a", { href: recordPage(m.id) }, m.source + (m.version ? ` ${m.version}` : "")));
      });
      item.append(also);
    }
    list.append(item);
  }
}

function toggleFilter(filter) {
  const at = state.filters.indexOf(filter);
  if (at >= 0) state.filters.splice(at, 1);
  else state.filters.push(filter);
  state.cursor = null;
  writeLocation(false);
  search(false);
}

function renderFacets(facets) {
  const aside = document.getElementById("facets");
  aside.replaceChildren(el("h2", { class: "visually-hidden" }, "Filter by"));
  for (const name of FACETS) {
    const values = facets[name];
    if (!Array.isArray(values) || !values.length) continue;
    const ordered = name === "year" ? [...values].sort((a, b) => Number(b.value) - Number(a.value)) : values;
    const expanded = state.expanded.has(name);
    const list = el("ul", { class: "facet-values" });
    ordered.slice(0, expanded ? ordered.length : SHOWN_VALUES).forEach(({ value, count }) => {
      const filter = filterFor(name, value);
      const active = state.filters.includes(filter);
      list.append(el("li", {},
        el("button", {
          type: "button", class: "facet-value", "aria-pressed": active ? "true" : "false",
          "data-facet": name, "data-value": value, onclick: () => toggleFilter(filter),
        }, el("span", { class: "value" }, value), el("span", { class: "count" }, count.toLocaleString("en")))));
    });
    const section = el("section", { class: "facet", "data-facet": name },
      el("h3", {}, FACET_NAMES[name] || name), list);
    if (ordered.length > SHOWN_VALUES) {
      section.append(el("button", {
        type: "button", class: "link", "aria-expanded": expanded ? "true" : "false",
        onclick: () => {
          expanded ? state.expanded.delete(name) : state.expanded.add(name);
          renderFacets(facets);
        },
      }, expanded ? "fewer" : `all ${ordered.length}`));
    }
    aside.append(section);
  }
}

function renderChips() {
  const chips = document.getElementById("chips");
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
        writeLocation(false);
        search(false);
      },
    }, "clear all")));
  }
}

// -- suggestions -------------------------------------------------------------------------------------------------
let suggestTimer = null;
function suggest() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const input = document.getElementById("q");
    const text = input.value;
    const match = text.match(/(^|\s)(experiment:)?"?([^\s":]{1,40})$/i);
    const list = document.getElementById("suggestions");
    if (!match) { list.replaceChildren(); return; }
    const before = text.slice(0, text.length - match[0].length) + match[1];
    try {
      const response = await fetch("/api/suggest?" + new URLSearchParams({ prefix: match[3], field: "experiment", size: "8" }));
      if (!response.ok) return;
      const body = await response.json();
      list.replaceChildren(...body.suggestions.map((s) => {
        const value = /\s/.test(s.label) ? `"${s.label}"` : s.label;
        return el("option", { value: `${before}experiment:${value}` }, `${s.label} (${s.count} datasets)`);
      }));
    } catch (_ignored) { /* suggestions are a convenience: a failed one changes nothing */ }
  }, 150);
}

// -- wiring ------------------------------------------------------------------------------------------------------
document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  state.q = document.getElementById("q").value.trim();
  state.cursor = null;
  document.getElementById("syntax").open = false;
  writeLocation(false);
  search(false);
});
document.getElementById("q").addEventListener("input", suggest);
document.getElementById("sort").addEventListener("change", (event) => {
  state.sort = event.target.value;
  writeLocation(false);
  search(false);
});
document.getElementById("more").addEventListener("click", () => search(true));
document.addEventListener("keydown", (event) => {
  const syntax = document.getElementById("syntax");
  if (event.key === "Escape" && syntax.open) {
    syntax.open = false;
    syntax.querySelector("summary").focus();
  }
});
window.addEventListener("popstate", () => {
  readLocation();
  search(false);
});
readLocation();
search(false);
