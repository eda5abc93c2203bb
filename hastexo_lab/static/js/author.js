/* Studio's view of a lab (author_view): its summary, and a check of its
 * template at the lab's clouds. It never starts a lab. */
function HastexoLabAuthor(runtime, element) {
  "use strict";
  var root = element.jquery ? element[0] : element;
  var gettext = window.HastexoLabI18N ? window.HastexoLabI18N.gettext
    : (typeof window.gettext === "function") ? window.gettext : function (s) { return s; };
  var button = root.querySelector(".hastexo-lab-author-check");
  var list = root.querySelector(".hastexo-lab-template-check");

  function show(ok, text) {
    var item = document.createElement("li");
    item.setAttribute("data-ok", ok ? "true" : "false");
    item.textContent = text;
    list.appendChild(item);
  }

  button.addEventListener("click", function () {
    list.textContent = "";
    button.disabled = true;
    fetch(runtime.handlerUrl(root, "check_template"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest",
                "X-CSRFToken": (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || ""},
      body: "{}"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (reply) {
      reply.results.forEach(function (result) {
        show(result.ok, (result.provider ? result.provider + ": " : "") + result.message);
      });
    }, function () {
      show(false, gettext("The check could not be run. Please try again."));
    }).then(function () { button.disabled = false; });
  });
}
