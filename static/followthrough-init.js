// Starts GOV.UK Frontend's components and the page's own behaviours (no inline handlers: the Content
// Security Policy forbids them).
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();

for (const link of document.querySelectorAll("[data-ft-print]")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    window.print();
  });
}
