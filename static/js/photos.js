// Unit photos live on RentEngine's hosts, which don't always answer: a photo that fails to load
// becomes a "Photo unavailable" box instead of a broken image (the link to it stays).
(function () {
  "use strict";

  function replace(img) {
    if (!img.closest(".photos") || img.dataset.missing) return;
    img.dataset.missing = "yes";
    var box = document.createElement("span");
    box.className = "photo-missing";
    box.textContent = "Photo unavailable";
    box.title = img.getAttribute("src") || "";
    img.replaceWith(box);
  }

  // Failures from now on (error events don't bubble: listen while they go down)...
  document.addEventListener("error", function (event) {
    if (event.target && event.target.tagName === "IMG") replace(event.target);
  }, true);
  // ...and the ones that happened before this script ran.
  document.querySelectorAll(".photos img").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) replace(img);
  });
})();
