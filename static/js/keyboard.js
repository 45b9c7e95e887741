// Leasing Desk keyboard map (PRODUCT 4.4), for agents working a queue: j/k move, x select,
// o or Enter open, / search, g then u/p/s/l/t go to a screen, ? shows the map. Keys never fire while
// typing in a field or with Ctrl/Cmd/Alt held, so browser shortcuts keep working.
(function () {
  "use strict";

  var SCREENS = { u: ["/units/", "Units"], p: ["/prospects/", "Prospects"], s: ["/showings/", "Showings"],
                  l: ["/lockboxes/", "Lockboxes"], t: ["/team/", "Team"] };
  var MAP = [
    ["j / k", "Next / previous row"],
    ["x", "Select the row (tick its box where the list has one)"],
    ["o or Enter", "Open the row"],
    ["a", "Assign the row's prospect (or the prospect on this page)"],
    ["/", "Search"],
    ["g then u", "Go to units"], ["g then p", "Go to prospects"], ["g then s", "Go to showings"],
    ["g then l", "Go to lockboxes"], ["g then t", "Go to the team"],
    ["?", "Show or hide this map"],
    ["Esc", "Close a panel or this map"],
  ];
  var GO_WINDOW_MS = 1500;
  var goPressedAt = 0;

  function typing(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  // The rows of whatever list the page shows: table rows, agenda items or feed items.
  function rows() {
    var found = document.querySelectorAll("#rows > tr[data-id], #rows .agenda-item, #rows .tl-item");
    if (!found.length) found = document.querySelectorAll("table.list tbody tr[id]");
    return Array.prototype.filter.call(found, function (row) { return row.offsetParent !== null; });
  }

  function current(list) {
    for (var i = 0; i < list.length; i++) if (list[i].classList.contains("cursor")) return i;
    return -1;
  }

  function move(delta) {
    var list = rows();
    if (!list.length) return;
    var at = current(list);
    var next = at < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, at + delta));
    if (at >= 0) list[at].classList.remove("cursor");
    list[next].classList.add("cursor");
    list[next].scrollIntoView({ block: "nearest" });
  }

  function cursorRow() {
    var list = rows();
    var at = current(list);
    return at < 0 ? null : list[at];
  }

  function select() {
    var row = cursorRow();
    if (!row) { move(1); row = cursorRow(); }
    if (!row) return;
    // A list with checkboxes (bulk assignment) owns selection: click its box so its code runs.
    var box = row.querySelector("input[type=checkbox]");
    if (box) { box.click(); return; }
    var on = row.classList.toggle("selected");
    row.setAttribute("aria-selected", on ? "true" : "false");
  }

  function open() {
    var row = cursorRow();
    var link = row && row.querySelector("a[href]:not(.quick)");
    if (link) window.location.assign(link.href);
  }

  // The row's "Assign…" (static/js/assign_one.js opens its dialog), else the page's own.
  function assign(event) {
    var row = cursorRow();
    var link = (row && row.querySelector("[data-assign-one]")) || document.querySelector("[data-assign-one][data-page-action]");
    if (!link) return;
    event.preventDefault();
    link.click();
  }

  function search() {
    var field = document.getElementById("f-q") || document.getElementById("global-q");
    if (!field) return;
    var sheet = field.closest("details");
    if (sheet) sheet.open = true;
    field.focus();
    field.select();
  }

  function keyMap() {
    var dialog = document.getElementById("keyboard-map");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "keyboard-map";
      dialog.className = "keyboard-map";
      dialog.setAttribute("aria-labelledby", "keyboard-map-title");
      var html = '<h2 id="keyboard-map-title">Keyboard shortcuts</h2><table><tbody>';
      MAP.forEach(function (pair) { html += "<tr><th scope=\"row\"><kbd>" + pair[0] + "</kbd></th><td>" + pair[1] + "</td></tr>"; });
      html += '</tbody></table><form method="dialog"><button type="submit">Close</button></form>';
      dialog.innerHTML = html;  // our own constant strings only
      document.body.appendChild(dialog);
    }
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var dialog = document.getElementById("keyboard-map");
    if (dialog && dialog.open && event.key !== "?") return;
    var key = event.key;
    if (goPressedAt && Date.now() - goPressedAt < GO_WINDOW_MS) {
      goPressedAt = 0;
      if (SCREENS[key]) { event.preventDefault(); window.location.assign(SCREENS[key][0]); }
      return;
    }
    goPressedAt = 0;
    switch (key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x": select(); break;
      case "o": open(); break;
      case "a": assign(event); break;
      case "Enter":
        // A focused link or button keeps its own Enter.
        if (!cursorRow() || /^(A|BUTTON|SUMMARY)$/.test(event.target.tagName)) return;
        open();
        break;
      case "/": search(); break;
      case "g": goPressedAt = Date.now(); break;
      case "?": keyMap(); break;
      default: return;
    }
    event.preventDefault();
  });

  // A small "?" in the top bar, so the map can be found without knowing it exists.
  var bar = document.querySelector(".topbar-right");
  if (bar) {
    var hint = document.createElement("button");
    hint.type = "button";
    hint.className = "link keyboard-hint";
    hint.title = "Keyboard shortcuts (?)";
    hint.setAttribute("aria-label", "Keyboard shortcuts");
    hint.textContent = "?";
    hint.addEventListener("click", keyMap);
    bar.insertBefore(hint, bar.firstChild);
  }
})();
