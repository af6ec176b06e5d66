// A facet drawn as a small bar chart (CSS bars, no chart library): datasets per year, or per decade of energy.
//
// A click on a bar filters to it; pressing on one bar and releasing on another (dragging across, with a mouse, pen
// or finger) filters to the range between; the keyboard reaches every bar (Enter or Space chooses it, Shift with it
// extends the chosen range). Choosing the one bar already chosen, or "clear", removes the filter.
"use strict";

import { el, plural } from "./dom.js";

const MIN_VISIBLE = 3; // % of the chart's height: a bar of a few datasets beside thousands stays visible

/**
 * @param {object} spec
 *   name, title: the facet's API name and heading; buckets: the API's [{value, count, ...}];
 *   isSelected(bucket) → bool; filtered: whether this facet's filter is on; label(bucket): text of a bar;
 *   onRange(first, last): the buckets chosen (inclusive); onClear(): remove the filter.
 */
export function histogram(spec) {
  const { name, title, buckets } = spec;
  const highest = Math.max(1, ...buckets.map((b) => b.count));
  const chosen = buckets.map((b) => spec.isSelected(b));
  const readout = el("p", { class: "readout", "aria-live": "polite" }, summary(buckets, chosen, spec));
  let anchor = null;
  let current = null;
  let shifted = false;

  const bars = buckets.map((bucket, index) => {
    const height = bucket.count ? Math.max(MIN_VISIBLE, (100 * bucket.count) / highest) : 0;
    const fill = el("span", { class: "fill" });
    fill.style.height = `${height}%`;
    const text = `${spec.label(bucket)}: ${plural(bucket.count, "dataset")}`;
    return el("button", {
      type: "button", class: "bar", "data-index": index, "data-value": bucket.value,
      "aria-pressed": chosen[index] ? "true" : "false", "aria-label": text, title: text,
      onfocus: () => { readout.textContent = text; },
      onmouseenter: () => { if (anchor === null) readout.textContent = text; },
      onkeydown: (event) => { shifted = event.shiftKey; },
      onclick: (event) => {
        if (event.detail !== 0) return; // a pointer's click was handled on pointerup
        const first = chosen.indexOf(true);
        const extend = event.shiftKey || shifted; // a key's click may not carry the modifier
        shifted = false;
        if (extend && first >= 0) choose(Math.min(first, index), Math.max(chosen.lastIndexOf(true), index));
        else choose(index, index);
      },
    }, fill);
  });

  function choose(first, last) {
    const only = first === last && chosen[first] && chosen.filter(Boolean).length === 1;
    if (only) spec.onClear();
    else spec.onRange(buckets[first], buckets[last]);
  }

  function preview(first, last) {
    bars.forEach((bar, i) => bar.classList.toggle("brushing", i >= first && i <= last));
    readout.textContent = first === last
      ? `${spec.label(buckets[first])}: ${plural(buckets[first].count, "dataset")}`
      : `${spec.label(buckets[first])} to ${spec.label(buckets[last])}: release to filter`;
  }

  function barAt(event) {
    const target = document.elementFromPoint(event.clientX, event.clientY);
    const bar = target && target.closest(`section[data-facet="${name}"] .bar`);
    return bar ? Number(bar.dataset.index) : null;
  }

  const chart = el("div", {
    class: "bars", role: "group",
    "aria-label": `${title}: choose a bar, or drag across bars for a range`,
    onpointerdown: (event) => {
      const index = barAt(event);
      if (index === null || event.button !== 0) return;
      event.preventDefault(); // no text selection while dragging
      anchor = current = index;
      preview(anchor, current);
      const move = (moved) => {
        const over = barAt(moved);
        if (over !== null && over !== current) {
          current = over;
          preview(Math.min(anchor, current), Math.max(anchor, current));
        }
      };
      const up = () => {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", up);
        document.removeEventListener("pointercancel", cancel);
        const [first, last] = [Math.min(anchor, current), Math.max(anchor, current)];
        anchor = current = null;
        choose(first, last);
      };
      const cancel = () => {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", up);
        document.removeEventListener("pointercancel", cancel);
        anchor = current = null;
        bars.forEach((bar) => bar.classList.remove("brushing"));
      };
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", up);
      document.addEventListener("pointercancel", cancel);
    },
  }, ...bars);

  const heading = el("h3", {}, title);
  if (spec.filtered) {
    heading.append(" ", el("button", {
      type: "button", class: "link clear", "aria-label": `Clear the ${title.toLowerCase()} filter`,
      onclick: () => spec.onClear(),
    }, "clear"));
  }
  const axis = el("div", { class: "axis", "aria-hidden": "true" },
    el("span", {}, spec.axisLabel(buckets[0], "low")), el("span", {}, spec.axisLabel(buckets[buckets.length - 1], "high")));
  return el("section", { class: "facet histogram", "data-facet": name }, heading, chart, axis, readout);
}

function summary(buckets, chosen, spec) {
  const first = chosen.indexOf(true);
  if (first < 0) return "Click a bar, or drag across bars, to filter.";
  const last = chosen.lastIndexOf(true);
  const range = first === last ? spec.label(buckets[first]) : `${spec.label(buckets[first])} to ${spec.label(buckets[last])}`;
  return `Chosen: ${range}`;
}
