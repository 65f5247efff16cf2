(function () {
  var form = document.getElementById("filters"), cards = document.querySelectorAll("article.finding");
  function apply() {
    var b = form.elements.backend.value, k = form.elements.kind.value, shown = 0;
    cards.forEach(function (c) {
      c.hidden = (b !== "" && c.dataset.backend !== b) || (k !== "" && c.dataset.kind !== k);
      if (!c.hidden) shown++;
    });
    document.getElementById("shown").textContent = shown + " of " + cards.length + " shown";
  }
  if (form) {
    var query = new URLSearchParams(location.hash.slice(1));
    ["backend", "kind"].forEach(function (n) { if (query.has(n)) form.elements[n].value = query.get(n); });
    form.addEventListener("change", apply);
    form.hidden = false;
    apply();
  }
  document.documentElement.dataset.js = "ready";
})();
