
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("findings-data").textContent);
  var tables = document.querySelectorAll("table.findings");
  for (var i = 0; i < tables.length; i++) setUp(tables[i]);

  function setUp(table) {
    var rows = data.rules[Number(table.getAttribute("data-index"))].rows;
    var section = table.closest("section");
    var pager = section.querySelector(".pager");
    var filter = pager.querySelector(".filter");
    var prev = pager.querySelector(".prev");
    var next = pager.querySelector(".next");
    var label = pager.querySelector(".pager-label");
    var shown = rows, page = 0, haystacks = null;

    function cell(tr, text, code) {
      var td = document.createElement("td");
      if (code) {
        var c = document.createElement("code");
        c.textContent = text;
        td.appendChild(c);
      } else {
        td.textContent = text === null ? "" : text;
      }
      tr.appendChild(td);
    }

    function row(f) {
      var tr = document.createElement("tr");
      if (f[4] !== null) tr.className = "waived";
      cell(tr, f[0], true);
      for (var c = 1; c < 5; c++) cell(tr, f[c], false);
      return tr;
    }

    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / data.page));
      page = Math.min(page, pages - 1);
      var start = page * data.page;
      var end = Math.min(shown.length, start + data.page);
      var body = document.createElement("tbody");
      for (var r = start; r < end; r++) body.appendChild(row(shown[r]));
      table.replaceChild(body, table.tBodies[0]);
      var of = shown === rows ? "" : " (filtered from " + rows.length + ")";
      label.textContent = shown.length === 0
        ? "no rows match" + of
        : "rows " + (start + 1) + "\u2013" + end + " of " + shown.length + of;
      prev.disabled = page === 0;
      next.disabled = end >= shown.length;
    }

    filter.addEventListener("input", function () {
      var query = filter.value.trim().toLowerCase();
      if (haystacks === null) {
        haystacks = rows.map(function (f) { return f.join("\n").toLowerCase(); });
      }
      shown = query === "" ? rows : rows.filter(function (f, n) {
        return haystacks[n].indexOf(query) !== -1;
      });
      page = 0;
      draw();
    });
    prev.addEventListener("click", function () { page -= 1; draw(); });
    next.addEventListener("click", function () { page += 1; draw(); });
    pager.hidden = false;
    draw();
  }
})();
