// The record page without reloads: the plot section is redrawn in place (the server renders the same section for a
// reader without JavaScript at ?file=N), the first table is drawn when the page opens, and citations copy.
"use strict";

const plotBody = document.querySelector("#plot .plot-body");

async function drawPlot(params) {
  const form = plotBody.querySelector("form.plot-form");
  const url = form.dataset.fragment + "?" + params.toString();
  plotBody.setAttribute("aria-busy", "true");
  const note = document.createElement("p");
  note.className = "muted loading";
  note.textContent = "Reading the table…";
  plotBody.append(note);
  try {
    const response = await fetch(url);
    // the server answers a fragment of its own template; its strings are escaped there (Jinja autoescape)
    plotBody.innerHTML = await response.text();
  } catch (failure) {
    note.textContent = `The plot could not be loaded: ${failure.message}`;
    note.setAttribute("role", "alert");
  }
  plotBody.removeAttribute("aria-busy");
  bindPlotForm();
}

function bindPlotForm() {
  const form = plotBody.querySelector("form.plot-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    drawPlot(new URLSearchParams(new FormData(form)));
  });
  const fileChoice = form.querySelector("select[name=file]");
  fileChoice.addEventListener("change", () => drawPlot(new URLSearchParams({ file: fileChoice.value })));
}

if (plotBody) {
  bindPlotForm();
  document.querySelectorAll("a.plot-link").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      document.getElementById("plot").scrollIntoView({ behavior: "smooth" });
      drawPlot(new URLSearchParams({ file: link.dataset.file }));
    });
  });
  if (plotBody.dataset.auto === "yes") {
    const first = plotBody.querySelector("select[name=file]");
    if (first) drawPlot(new URLSearchParams({ file: first.value }));
  }
}

document.querySelectorAll("button.copy").forEach((button) => {
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (_refused) {
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
});
