// Filter findings and exhibits. Reads data-* attributes and toggles `hidden`; never builds HTML.
(function () {
  "use strict";
  var q = document.getElementById("f-text");
  var kind = document.getElementById("f-kind");
  var dtype = document.getElementById("f-type");
  var entity = document.getElementById("f-entity");
  var phase = document.getElementById("f-phase");
  var out = document.getElementById("f-count");
  if (!q || !kind || !dtype || !entity || !phase || !out) { return; }
  function keep(el) {
    var d = el.dataset;
    return (!kind.value || d.kind === kind.value) &&
      (!dtype.value || d.type === dtype.value) &&
      (!entity.value || d.entity === entity.value) &&
      (!phase.value || d.phase === phase.value);
  }
  function apply() {
    var text = q.value.trim().toLowerCase();
    var shown = 0;
    var rows = document.querySelectorAll("tr.finding-row");
    var matched = {};
    var blocks = document.querySelectorAll("article.finding");
    for (var i = 0; i < blocks.length; i++) {
      var b = blocks[i];
      var own = (b.dataset.search || "").indexOf(text) !== -1;
      var exhibits = b.querySelectorAll(".exhibit");
      var anyExhibit = false;
      for (var j = 0; j < exhibits.length; j++) {
        var hit = !text || own || (exhibits[j].dataset.search || "").indexOf(text) !== -1;
        exhibits[j].hidden = !hit;
        anyExhibit = anyExhibit || (hit && !!text && !own);
      }
      var ok = keep(b) && (!text || own || anyExhibit);
      b.hidden = !ok;
      matched[b.id] = ok;
      if (ok) { shown += 1; }
    }
    for (var k = 0; k < rows.length; k++) {
      rows[k].hidden = !matched[rows[k].dataset.finding];
    }
    out.textContent = shown + " of " + blocks.length + " findings shown";
  }
  [q, kind, dtype, entity, phase].forEach(function (el) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);
  });
  apply();
})();
