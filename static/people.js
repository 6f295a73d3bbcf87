// Person pickers: as a name is typed, suggest the people the viewer may pick, from the server, a few at a
// time. Without this script the box still takes a username, an email or a name.
(function () {
  "use strict";
  var timers = new WeakMap();

  function listFor(input) {
    var id = input.id + "-people";
    var list = document.getElementById(id);
    if (!list) {
      list = document.createElement("datalist");
      list.id = id;
      input.insertAdjacentElement("afterend", list);
      input.setAttribute("list", id);
    }
    return list;
  }

  function suggest(input) {
    var text = input.value.trim();
    if (text.length < 2) return;
    var url = input.getAttribute("data-person-lookup") + "?q=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) {
        var list = listFor(input);
        list.replaceChildren.apply(list, data.results.map(function (person) {
          var option = document.createElement("option");
          option.value = person.value;
          option.label = person.label;
          option.textContent = person.label;
          return option;
        }));
      })
      .catch(function () { /* suggestions are a convenience: typing still works */ });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-person-lookup")) return;
    clearTimeout(timers.get(input));
    timers.set(input, setTimeout(function () { suggest(input); }, 200));
  });
})();
