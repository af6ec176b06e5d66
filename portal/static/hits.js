// The result list: title, sources, experiments, year and files per hit, and the text the search matched, marked.
//
// With `highlight=true` the API returns the title and description fragments that matched, HTML-escaped with only
// <mark> tags added. They are not parsed as HTML here: the text is split at exactly those tags, the five entities
// Python's html.escape writes are decoded, and the pieces become text nodes and <mark> elements. Any other markup a
// record's text holds therefore shows as the literal text it is.
"use strict";

import { el, plural } from "./dom.js";

const RECORD_BASE = "https://w3id.org/dmlake/record/";
const SNIPPET_CHARS = 280;
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#x27;": "'", "&#39;": "'" };

export function recordPage(id) {
  return "/records/" + (id.startsWith(RECORD_BASE) ? id.slice(RECORD_BASE.length) : id);
}

function unescaped(text) {
  return text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);
}

/** The nodes of one highlighted fragment: text, and <mark> around what matched. */
export function markedNodes(fragment) {
  const nodes = [];
  let inside = false;
  for (const part of String(fragment).split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") inside = true;
    else if (part === "</mark>") inside = false;
    else if (part) {
      const text = unescaped(part);
      nodes.push(inside ? el("mark", {}, text) : document.createTextNode(text));
    }
  }
  return nodes;
}

function plainSnippet(description) {
  const text = description.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  return text.length > SNIPPET_CHARS ? text.slice(0, SNIPPET_CHARS - 3) + "…" : text;
}

function hitItem(hit) {
  const members = Array.isArray(hit.records) ? hit.records : [];
  const sources = [...new Set([hit.source, ...members.map((m) => m.source)].filter(Boolean))];
  const marked = hit.highlight || {};
  const title = Array.isArray(marked.title) && marked.title.length
    ? markedNodes(marked.title[0])
    : [hit.title || hit.id];
  const meta = el("p", { class: "meta" },
    ...sources.map((s) => el("span", { class: "badge source" }, s)),
    (hit.experiments || []).length ? " " + hit.experiments.join(", ") : "",
    hit.year ? ` · ${hit.year}` : "",
    hit.resource_type ? ` · ${hit.resource_type}` : "",
    hit.file_count ? ` · ${plural(hit.file_count, "file")}` : "");
  const item = el("li", { class: "hit", "data-id": hit.id },
    el("h3", {}, el("a", { href: recordPage(hit.id) }, ...title)), meta);
  if (Array.isArray(marked.description) && marked.description.length) {
    const snippet = el("p", { class: "snippet highlighted" });
    marked.description.forEach((fragment, i) => {
      if (i) snippet.append(" ");
      snippet.append(...markedNodes(fragment));
    });
    item.append(snippet);
  } else if (hit.description) {
    item.append(el("p", { class: "snippet" }, plainSnippet(hit.description)));
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
  return item;
}

export function renderHits(list, hits, firstNumber) {
  list.start = firstNumber;
  list.replaceChildren(...hits.map(hitItem));
}
