// The minimal search page: text, facet filters, cursor paging and a record view, all through /api.
"use strict";
const FACETS = ["source", "experiment", "messenger", "collision_type", "resource_category", "year"];
const state = { q: "", filters: new Set(), cursor: null };

function apiUrl() {
  const params = new URLSearchParams({ q: state.q, size: "20" });
  FACETS.forEach((f) => params.append("facet", f));
  state.filters.forEach((f) => params.append("filter", f));
  if (state.cursor) params.set("cursor", state.cursor);
  return "/api/search?" + params.toString();
}

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

async function run(append) {
  const response = await fetch(apiUrl());
  const body = await response.json();
  if (!response.ok) {
    document.getElementById("summary").textContent = `Query error: ${body.error}${body.hint ? " — " + body.hint : ""}`;
    return;
  }
  document.getElementById("summary").textContent = `${body.total.toLocaleString()} records`;
  const hits = document.getElementById("hits");
  if (!append) hits.replaceChildren();
  for (const hit of body.hits) {
    const item = document.createElement("li");
    const link = text("a", hit.title || hit.id);
    link.href = "#";
    link.dataset.id = hit.id;
    link.addEventListener("click", (event) => { event.preventDefault(); showRecord(hit.id); });
    item.append(link);
    const meta = [hit.source, (hit.experiments || []).join(", "), hit.year].filter(Boolean).join(" · ");
    item.append(text("div", meta, "meta"));
    hits.append(item);
  }
  const more = document.getElementById("more");
  more.hidden = !body.next_cursor;
  state.cursor = body.next_cursor;
  if (!append) renderFacets(body.facets);
}

function renderFacets(facets) {
  const aside = document.getElementById("facets");
  aside.replaceChildren();
  for (const [name, values] of Object.entries(facets)) {
    if (!values.length) continue;
    aside.append(text("h3", name.replace("_", " ")));
    for (const { value, count } of values.slice(0, 12)) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      const filter = name === "year" ? `year=${value}..${value}` : `${name}=${value}`;
      box.checked = state.filters.has(filter);
      box.addEventListener("change", () => {
        box.checked ? state.filters.add(filter) : state.filters.delete(filter);
        state.cursor = null;
        run(false);
      });
      label.append(box, ` ${value} (${count.toLocaleString()})`);
      aside.append(label);
    }
  }
}

async function showRecord(id) {
  const short = id.replace("https://w3id.org/dmlake/record/", "");
  const response = await fetch("/api/records/" + short);
  const record = await response.json();
  const article = document.getElementById("record");
  article.replaceChildren(text("h2", record.title || id));
  if (record.description) article.append(text("p", record.description));
  const formats = document.createElement("p");
  for (const format of ["json", "jsonld", "turtle", "datacite-xml", "schemaorg"]) {
    const link = text("a", format);
    link.href = `/api/records/${short}?format=${format}`;
    formats.append(link, " ");
  }
  article.append(formats, text("pre", JSON.stringify(record, null, 2)));
  article.hidden = false;
  article.scrollIntoView();
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  state.q = document.getElementById("q").value;
  state.cursor = null;
  run(false);
});
document.getElementById("more").addEventListener("click", () => run(true));
run(false);
