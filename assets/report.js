// yilab HTML report: "compare" two cards to see a word diff of their outputs.
// Outputs are data, never markup: everything is built with text nodes.
(function () {
  "use strict";
  var MAX_CELLS = 4000000; // word pairs the LCS table may hold before falling back
  var data = JSON.parse(document.getElementById("yr-data").textContent);
  var runs = data.runs;
  var words = data.words;  // the report's language: yilab writes them, this script only shows them
  // words and whitespace, a CJK character being a word (yilab.render.textdiff's pattern)
  var SPLIT = new RegExp(data.split, "gu");
  var picked = [];
  var drawer = build("div", "yr-drawer");
  drawer.id = "yr-diff";
  drawer.hidden = true;
  document.body.appendChild(drawer);

  function build(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function tokenize(text) {
    return text.match(SPLIT) || [];
  }

  function push(ops, tag, tokens) {
    if (!tokens.length) return;
    var text = tokens.join("");
    var last = ops[ops.length - 1];
    if (last && last[0] === tag) last[1] += text;
    else ops.push([tag, text]);
  }

  // Word diff: common prefix and suffix, then a longest-common-subsequence table.
  function wordDiff(a, b) {
    var ta = tokenize(a), tb = tokenize(b), start = 0, endA = ta.length, endB = tb.length;
    while (start < endA && start < endB && ta[start] === tb[start]) start++;
    while (endA > start && endB > start && ta[endA - 1] === tb[endB - 1]) { endA--; endB--; }
    var ops = [], x = ta.slice(start, endA), y = tb.slice(start, endB);
    var n = x.length, m = y.length, i, j;
    push(ops, "equal", ta.slice(0, start));
    if (n * m > MAX_CELLS) {
      push(ops, "delete", x);
      push(ops, "insert", y);
    } else {
      var w = m + 1, t = new Uint32Array((n + 1) * w);
      for (i = n - 1; i >= 0; i--)
        for (j = m - 1; j >= 0; j--)
          t[i * w + j] = x[i] === y[j] ? t[(i + 1) * w + j + 1] + 1
                                       : Math.max(t[(i + 1) * w + j], t[i * w + j + 1]);
      for (i = 0, j = 0; i < n && j < m;) {
        if (x[i] === y[j]) { push(ops, "equal", [x[i]]); i++; j++; }
        else if (t[(i + 1) * w + j] >= t[i * w + j + 1]) { push(ops, "delete", [x[i]]); i++; }
        else { push(ops, "insert", [y[j]]); j++; }
      }
      push(ops, "delete", x.slice(i));
      push(ops, "insert", y.slice(j));
    }
    push(ops, "equal", ta.slice(endA));
    return ops;
  }

  function summary(ops) {
    var counts = { equal: 0, delete: 0, insert: 0 };
    ops.forEach(function (op) {
      counts[op[0]] += tokenize(op[1]).filter(function (t) { return !/^\s+$/.test(t); }).length;
    });
    if (!counts.delete && !counts.insert) return words.identical;
    return words.diff_counts.replace("{same}", counts.equal)
      .replace("{removed}", counts.delete).replace("{added}", counts.insert);
  }

  function column(label, ops, keep, mark, cls) {
    var col = build("div", "yl-diff-col");
    col.appendChild(build("div", "yl-diff-head", label));
    var pre = build("pre", "yl-out");
    ops.forEach(function (op) {
      if (op[0] === "equal") pre.appendChild(document.createTextNode(op[1]));
      else if (op[0] === keep) pre.appendChild(build(mark, cls, op[1]));
    });
    col.appendChild(pre);
    return col;
  }

  function showDiff() {
    var a = runs[picked[0].dataset.run], b = runs[picked[1].dataset.run];
    var ops = wordDiff(a.output, b.output);
    drawer.textContent = "";
    var head = build("div", "yr-drawer-head");
    head.appendChild(build("b", "", a.label + "  " + words.vs + "  " + b.label));
    head.appendChild(build("span", "yl-diff-summary", summary(ops)));
    var close = build("button", "yr-close", words.close);
    close.type = "button";
    close.addEventListener("click", clear);
    head.appendChild(close);
    var cols = build("div", "yl-diff");
    cols.appendChild(column(a.label, ops, "delete", "del", "yl-del"));
    cols.appendChild(column(b.label, ops, "insert", "ins", "yl-ins"));
    drawer.appendChild(head);
    drawer.appendChild(cols);
    drawer.hidden = false;
    document.body.classList.add("yr-drawer-open");
  }

  function clear() {
    picked.forEach(function (card) { card.classList.remove("yr-picked"); });
    picked = [];
    hideDrawer();
  }

  function hideDrawer() {
    drawer.hidden = true;
    document.body.classList.remove("yr-drawer-open");
  }

  function toggle(card) {
    var at = picked.indexOf(card);
    if (at >= 0) picked.splice(at, 1);
    else picked.push(card);
    if (picked.length > 2) picked.shift().classList.remove("yr-picked");
    card.classList.toggle("yr-picked", picked.indexOf(card) >= 0);
    if (picked.length === 2) showDiff();
    else hideDrawer();
  }

  // A card's "probs" toggle and the "shade by" switch (the app's cards.js does the same;
  // the report's CSP allows no inline handlers, so they are wired here).
  document.addEventListener("click", function (event) {
    var probs = event.target.closest("[data-act=probs]");
    if (probs) {
      var shown = probs.closest(".yl-card").classList.toggle("yl-show-probs");
      probs.classList.toggle("yl-on", shown);
    }
    var shade = event.target.closest("[data-shade]");
    if (shade) document.body.classList.toggle("yl-shade-entropy", shade.dataset.shade === "entropy");
  });

  document.querySelectorAll(".yl-card[data-run]").forEach(function (card) {
    if (!runs[card.dataset.run]) return;
    var button = build("button", "yr-pick", words.compare);
    button.type = "button";
    button.title = words.compare_title;
    button.addEventListener("click", function () { toggle(card); });
    var bar = build("div", "yl-actions yr-actions");
    bar.appendChild(button);
    card.appendChild(bar);
  });
})();
