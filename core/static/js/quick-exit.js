/* Quick exit, after GOV.UK's "Exit this page" (govuk-frontend, components/exit-this-page).

   Loaded in <head> without defer, so that it runs before the page is drawn. It:
   - marks <html class="js">, so the pages can say what Quick exit does with JavaScript on
     (app.css: .js-only, .no-js-only);
   - leaves on the button, on Esc (even while typing) and on Shift pressed three times in a row
     (each press within 5 seconds of the last, announced to screen readers as GOV.UK does);
   - when leaving: first asks the site to forget what the page keeps for this browser (each
     <form data-quick-exit-forget> of the page, sent with navigator.sendBeacon, which does not wait
     for an answer and still arrives after the page is gone: the report form deletes its draft),
     then blanks the page at once and replaces it with the neutral site (replace, not assign: this
     page leaves the history);
   - afterwards, for as long as this tab is open: any page of this site that was open before Quick
     exit and is reached again with Back or Forward is blanked and replaced by the neutral site
     too, before it is drawn. A page opened afresh afterwards (address typed again) is not.
     Each page load is numbered in this tab (sessionStorage) and the number rides on its history
     entry (history.state), which is how a page from before the exit is known.
   What it cannot do: remove pages from the browser's history list. Only a private window does that.
   Without JavaScript the button is a plain link to the neutral site, and the pages say so. */
(function () {
  "use strict";
  var EXIT_KEY = "redumbrella-quick-exit";
  var COUNT_KEY = "redumbrella-page-count";
  var root = document.documentElement;
  var storage = null;
  var leaving = false;

  root.classList.add("js");
  try { storage = window.sessionStorage; } catch (e) { storage = null; }

  function read(key) {
    try { return storage ? storage.getItem(key) : null; } catch (e) { return null; }
  }
  function write(key, value) {
    try { if (storage) { storage.setItem(key, value); } } catch (e) { /* storage full or refused */ }
  }
  function exitRecord() {
    try { return JSON.parse(read(EXIT_KEY) || "null"); } catch (e) { return null; }
  }
  function navigationType() {
    try {
      var entry = window.performance.getEntriesByType("navigation")[0];
      return entry ? entry.type : "";
    } catch (e) { return ""; }
  }

  // Number this page load in this tab, once per history entry.
  function pageNumber() {
    var state = window.history.state;
    if (state && typeof state === "object" && state.quickExitPage) { return state.quickExitPage; }
    return 0;
  }
  function numberThisPage() {
    if (pageNumber()) { return; }
    var number = Number(read(COUNT_KEY) || 0) + 1;
    write(COUNT_KEY, String(number));
    var state = window.history.state;
    var next = (state && typeof state === "object") ? Object.assign({}, state) : {};
    next.quickExitPage = number;
    try { window.history.replaceState(next, ""); } catch (e) { /* keep going */ }
  }

  function blank() {
    root.style.visibility = "hidden";
    document.title = "";
  }

  // Was this page open before Quick exit was used in this tab? Then leave again, at once.
  function leftAlready() {
    var exit = exitRecord();
    if (!exit || !exit.url) { return false; }
    var number = pageNumber();
    if (number ? number > exit.page : navigationType() !== "back_forward") { return false; }
    blank();
    window.location.replace(exit.url);
    return true;
  }

  function exitLink() { return document.querySelector("[data-quick-exit]"); }

  // POST each of the page's "forget" forms (with their CSRF token) without waiting for an answer.
  // Never in the way of leaving: any failure is ignored.
  function forget() {
    try {
      if (!navigator.sendBeacon) { return; }
      var forms = document.querySelectorAll("form[data-quick-exit-forget]");
      for (var i = 0; i < forms.length; i += 1) {
        try { navigator.sendBeacon(forms[i].action, new FormData(forms[i])); } catch (e) { /* keep going */ }
      }
    } catch (e) { /* keep going */ }
  }

  function leave(url) {
    if (leaving) { return; }
    leaving = true;
    forget();  // before the page is emptied: the forms go with it
    write(EXIT_KEY, JSON.stringify({ url: url, page: Number(read(COUNT_KEY) || 0) }));
    var link = exitLink();
    var words = link && link.getAttribute("data-leaving");
    try {
      document.title = "";
      document.body.innerHTML = "";  // nothing left on screen while the neutral site loads
      if (words) {
        var notice = document.createElement("p");
        notice.setAttribute("role", "alert");
        notice.className = "quick-exit-leaving";
        document.body.appendChild(notice);
        notice.textContent = words;  // set after adding: screen readers announce it more reliably
      }
    } catch (e) { /* keep going */ }
    window.location.replace(url);  // replace, not assign: this page leaves the history
  }

  if (leftAlready()) { return; }
  numberThisPage();

  // A page kept in the back/forward cache is shown again without loading: check it again too.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      leaving = false;
      leftAlready();
    }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-quick-exit]");
    if (!link || event.button !== 0) { return; }
    event.preventDefault();
    leave(link.href);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") { return; }
    if (event.isComposing) { return; }  // Esc also cancels an input method's composition
    var link = exitLink();
    if (link) {
      event.preventDefault();
      leave(link.href);
    }
  });

  // Shift three times: counted on keyup, and only Shift pressed on its own (Shift+A ends with a
  // Shift keyup after a keyup that had shiftKey set, which does not count).
  var presses = 0;
  var lastKeyWasModified = false;
  var timer = null;
  var status = null;

  function announce(attribute) {
    var link = exitLink();
    if (!link) { return; }
    if (!status) {
      status = document.createElement("span");
      status.setAttribute("role", "status");
      status.className = "visually-hidden";
      link.parentNode.appendChild(status);
    }
    status.textContent = attribute ? (link.getAttribute(attribute) || "") : "";
  }
  function reset(say) {
    if (timer) { window.clearTimeout(timer); timer = null; }
    presses = 0;
    announce(say ? "data-timed-out" : null);
  }

  document.addEventListener("keyup", function (event) {
    if (event.key === "Shift" && !lastKeyWasModified) {
      presses += 1;
      if (timer) { window.clearTimeout(timer); }
      if (presses >= 3) {
        reset(false);
        var link = exitLink();
        if (link) { leave(link.href); }
      } else {
        announce(presses === 1 ? "data-press-twice" : "data-press-once");
        timer = window.setTimeout(function () { reset(true); }, 5000);
      }
    } else if (timer) {
      reset(true);
    }
    lastKeyWasModified = event.shiftKey;
  }, true);
})();
