// Marks the page as scripted before it is drawn, as GOV.UK Frontend expects. A file, not an inline
// script: the Content Security Policy allows scripts from this site only.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
