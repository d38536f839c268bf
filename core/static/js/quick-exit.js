/* Quick exit: replace this page with a neutral site, so Back does not return to it.
   Works on the button and on the Esc key. Without JavaScript the button is a plain link. */
(function () {
  "use strict";
  function leave(url) {
    try { document.body.innerHTML = ""; document.title = ""; } catch (e) { /* keep going */ }
    window.location.replace(url);
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-quick-exit]");
    if (!link) { return; }
    event.preventDefault();
    leave(link.href);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") { return; }
    var link = document.querySelector("[data-quick-exit]");
    if (link) { leave(link.href); }
  });
})();
