// The facet panels: the year and energy histograms, then each field's values with counts. Facets are asked for
// disjunctively (`disjunctive=true`): a field's own filters do not narrow its counts, so after choosing CMS the
// experiment panel still lists ALICE, LHCb, … with the datasets each would add, and the histograms keep their bars.
"use strict";

import { el, number } from "./dom.js";
import { histogram } from "./histogram.js";

export const TERMS_FACETS = [
  "source", "experiment", "messenger", "resource_category", "collision_type", "technique", "target",
  "data_level", "file_format", "license", "availability",
];
export const HISTOGRAMS = ["year_histogram", "energy_histogram"];
export const FACET_NAMES = {
  source: "Source", experiment: "Experiment", messenger: "Messenger", resource_category: "Resource category",
  collision_type: "Collision", technique: "Technique", target: "Target", data_level: "Data level",
  file_format: "File format", license: "Licence", availability: "Availability", year: "Year", energy: "Energy",
  date: "Date", sqrt_s: "√s",
};
const SHOWN_VALUES = 8;
const GEV = { eV: 1e-9, keV: 1e-6, MeV: 1e-3, GeV: 1, TeV: 1e3, PeV: 1e6, EeV: 1e9 };

export function filterName(filter) {
  return filter.split("=", 1)[0];
}

function filterValue(filter) {
  return filter.slice(filter.indexOf("=") + 1);
}

/** `low..high` (either side may be empty) or one value, as [low, high] with `read` applied (null: open). */
function range(value, read) {
  const [low, high] = value.includes("..") ? value.split("..", 2) : [value, value];
  return [low.trim() ? read(low) : null, high.trim() ? read(high) : null];
}

function gev(text) {
  const match = text.replace(/[\s,]/g, "").match(/^([0-9.eE+-]+)([kMGTPE]?eV)?$/);
  return match ? Number(match[1]) * (GEV[match[2] || "GeV"]) : NaN;
}

/** A decade's bound as the filter writes it: "1 TeV" → "1TeV", "1,000 EeV" → "1000EeV". */
function compact(label) {
  return label.replace(/[\s,]/g, "");
}

function decadeEnds(bucket) {
  const [low, high] = bucket.value.split("–");
  return [low, high];
}

export function describeFilter(filter) {
  const name = filterName(filter);
  const value = filterValue(filter);
  const bounds = value.match(/^(.*)\.\.(.*)$/);
  let shown = value;
  if (bounds) {
    const [, low, high] = bounds;
    shown = low === high ? low : low && high ? `${low}–${high}` : low ? `from ${low}` : `up to ${high}`;
  }
  return `${FACET_NAMES[name] || name}: ${shown}`;
}

function yearHistogram(buckets, filters, actions) {
  const chosen = filters.filter((f) => filterName(f) === "year").map((f) => range(filterValue(f), Number));
  return histogram({
    name: "year_histogram",
    title: "Year",
    buckets,
    filtered: chosen.length > 0,
    label: (bucket) => bucket.value,
    axisLabel: (bucket) => bucket.value,
    isSelected: (bucket) => {
      const year = Number(bucket.value);
      return chosen.some(([low, high]) => (low === null || low <= year) && (high === null || year <= high));
    },
    onRange: (first, last) => actions.setRange("year", `year=${first.value}..${last.value}`),
    onClear: () => actions.setRange("year", null),
  });
}

function energyHistogram(buckets, filters, actions) {
  const chosen = filters.filter((f) => filterName(f) === "energy").map((f) => range(filterValue(f), gev));
  return histogram({
    name: "energy_histogram",
    title: "Energy",
    buckets,
    filtered: chosen.length > 0,
    label: (bucket) => bucket.value,
    axisLabel: (bucket, end) => decadeEnds(bucket)[end === "low" ? 0 : 1],
    // a decade is chosen when the filter's range cuts into it (touching its edge is not enough), or holds the point
    isSelected: (bucket) => chosen.some(([low, high]) => {
      const from = low === null ? -Infinity : low;
      const to = high === null ? Infinity : high;
      return from === to ? bucket.low <= from && from <= bucket.high : from < bucket.high && to > bucket.low;
    }),
    onRange: (first, last) => {
      const filter = `energy=${compact(decadeEnds(first)[0])}..${compact(decadeEnds(last)[1])}`;
      actions.setRange("energy", filter);
    },
    onClear: () => actions.setRange("energy", null),
  });
}

function termsFacet(name, values, filters, expanded, actions) {
  const active = filters.filter((f) => filterName(f) === name).map(filterValue);
  const listed = [...values];
  for (const value of active) {
    if (!listed.some((v) => v.value === value)) listed.unshift({ value, count: null });
  }
  if (!listed.length) return null;
  const open = expanded.has(name);
  const shown = open ? listed : listed.filter((v, i) => i < SHOWN_VALUES || active.includes(v.value));
  const list = el("ul", { class: "facet-values" }, ...shown.map(({ value, count }) => {
    const pressed = active.includes(value);
    return el("li", {}, el("button", {
      type: "button", class: "facet-value", "aria-pressed": pressed ? "true" : "false",
      "data-facet": name, "data-value": value, onclick: () => actions.toggle(`${name}=${value}`),
    }, el("span", { class: "value" }, value), el("span", { class: "count" }, count === null ? "–" : number(count))));
  }));
  const heading = el("h3", {}, FACET_NAMES[name] || name);
  if (active.length) {
    heading.append(" ", el("button", {
      type: "button", class: "link clear", "aria-label": `Clear the ${(FACET_NAMES[name] || name).toLowerCase()} filter`,
      onclick: () => actions.setRange(name, null),
    }, "clear"));
  }
  const section = el("section", { class: "facet", "data-facet": name }, heading, list);
  if (listed.length > SHOWN_VALUES) {
    section.append(el("button", {
      type: "button", class: "link more-values", "aria-expanded": open ? "true" : "false",
      onclick: () => actions.expand(name),
    }, open ? "fewer" : `all ${listed.length}`));
  }
  return section;
}

/**
 * Fill `aside` with the facets of an API answer. `actions`: toggle(filter), setRange(field, filter | null) (replaces
 * every filter of the field), expand(field).
 */
export function renderFacets(aside, facets, filters, expanded, actions) {
  const panels = [el("h2", { class: "visually-hidden" }, "Filter by")];
  const years = facets.year_histogram || [];
  if (years.length) panels.push(yearHistogram(years, filters, actions));
  const energies = facets.energy_histogram || [];
  if (energies.length) panels.push(energyHistogram(energies, filters, actions));
  for (const name of TERMS_FACETS) {
    const panel = termsFacet(name, facets[name] || [], filters, expanded, actions);
    if (panel) panels.push(panel);
  }
  aside.replaceChildren(...panels);
}
