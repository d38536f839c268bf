/* Quick exit: replace this page with a neutral site, so Back does not return to it.
   Works on the button and on the Esc key, even while typing in a field.
   Without JavaScript the button is still a plain link to the neutral site. */
(function () {
  "use strict";
  var leaving = false;
  function leave(url) {
    if (leaving) { return; }
    leaving = true;
    try {
      document.title = "";
      document.body.innerHTML = "";  // nothing left on screen while the neutral site loads
    } catch (e) { /* keep going */ }
    window.location.replace(url);  // replace, not assign: this page leaves the history
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-quick-exit]");
    if (!link || event.button !== 0) { return; }
    event.preventDefault();
    leave(link.href);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") { return; }
    if (event.isComposing) { return; }  // Esc also cancels an input method's composition
    var link = document.querySelector("[data-quick-exit]");
    if (link) {
      event.preventDefault();
      leave(link.href);
    }
  });
})();
