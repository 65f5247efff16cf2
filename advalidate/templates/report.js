(function () {
  var form = document.getElementById("filters"), cards = document.querySelectorAll("article.finding");
  function apply() {
    var b = form.elements.backend.value, k = form.elements.kind.value, shown = 0;
    var m = form.elements.mode ? form.elements.mode.value : "";
    cards.forEach(function (c) {
      c.hidden = (b !== "" && c.dataset.backend !== b) || (k !== "" && c.dataset.kind !== k) ||
        (m !== "" && c.dataset.mode !== m);
      if (!c.hidden) shown++;
    });
    document.getElementById("shown").textContent = shown + " of " + cards.length + " shown";
  }
  if (form) {
    var query = new URLSearchParams(location.hash.slice(1));
    ["backend", "kind", "mode"].forEach(function (n) {
      if (query.has(n) && form.elements[n]) form.elements[n].value = query.get(n);
    });
    form.addEventListener("change", apply);
    form.hidden = false;
    apply();
  }
  // copy buttons: a finding's bug-report script to the clipboard (the Clipboard API, else a selection and
  // execCommand, which also works where the page is not a secure context); no network
  function copied(button, ok) {
    button.textContent = ok ? "Copied" : "Select and copy by hand";
    setTimeout(function () { button.textContent = "Copy script"; }, 2000);
  }
  function bySelection(pre) {
    var range = document.createRange(), sel = window.getSelection();
    range.selectNodeContents(pre);
    sel.removeAllRanges();
    sel.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    return ok;
  }
  document.querySelectorAll("button.copy").forEach(function (button) {
    var pre = document.getElementById(button.dataset.target);
    if (!pre) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = pre.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button, true); },
                                                 function () { copied(button, bySelection(pre)); });
      } else {
        copied(button, bySelection(pre));
      }
    });
  });
  document.documentElement.dataset.js = "ready";
})();
