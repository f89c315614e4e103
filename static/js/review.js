// Flashcard review: Space/Enter shows the answer, 1-4 rate it (Again, Hard, Good, Easy).
// The card is swapped by htmx after each rating, so elements are looked up on every key.
(function () {
  function reveal() {
    var card = document.querySelector("[data-review]");
    if (!card) return false;
    var back = card.querySelector("[data-back]");
    var ratings = card.querySelector("[data-ratings]");
    var button = card.querySelector("[data-reveal]");
    if (!back || !back.hidden) return false;
    back.hidden = false;
    if (ratings) ratings.hidden = false;
    if (button) button.hidden = true;
    return true;
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-reveal]")) reveal();
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if (event.key === " " || event.key === "Enter") {
      if (reveal()) event.preventDefault();
      return;
    }
    if (["1", "2", "3", "4"].indexOf(event.key) >= 0) {
      var ratings = document.querySelector("[data-review] [data-ratings]");
      if (!ratings || ratings.hidden) return;
      var button = ratings.querySelector('[data-key="' + event.key + '"]');
      if (button) { event.preventDefault(); button.click(); }
    }
  });
})();
