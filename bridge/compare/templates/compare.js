(function () {
  function mark(task, on) {
    document.querySelectorAll('[data-task="' + task + '"]').forEach(function (el) {
      el.classList.toggle("hl", on);
    });
  }
  document.querySelectorAll("[data-task]").forEach(function (el) {
    var task = el.getAttribute("data-task");
    el.addEventListener("mouseenter", function () { mark(task, true); });
    el.addEventListener("mouseleave", function () { mark(task, false); });
  });
})();
