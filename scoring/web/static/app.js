/* scoring serve: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";

  function sizeText(n) {
    return n >= 1048576 ? (Math.round(n / 104857.6) / 10) + " MB" : Math.round(n / 1024) + " KB";
  }

  // the upload form: refuse an oversized selection at once (the server refuses it too, with 413),
  // and say that the computation is running
  document.querySelectorAll("form.upload").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var error = document.getElementById("upload-error");
    function check() {
      var max = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
      var total = 0;
      for (var i = 0; i < input.files.length; i++) total += input.files[i].size;
      if (max && total > max) {
        error.textContent = "上传的文件超过了 " + form.getAttribute("data-max-text") + " 的上限（所选文件共 " +
          sizeText(total) + "）。请只上传本支部填好的数据采集模板；如工作簿中插入了照片或扫描件，请删除后再上传。";
        error.hidden = false;
        return false;
      }
      error.hidden = true;
      return true;
    }
    var names = document.getElementById("file-names");
    input.addEventListener("change", function () {
      var list = [], total = 0;
      for (var i = 0; i < input.files.length; i++) { list.push(input.files[i].name); total += input.files[i].size; }
      if (names && list.length) {
        names.textContent = list.join("、") + "（" + sizeText(total) + "）";
        input.parentNode.classList.add("chosen");
      }
      check();
    });
    form.addEventListener("submit", function (event) {
      if (!check()) { event.preventDefault(); return; }
      busy(form);
    });
  });

  document.querySelectorAll("form[action^='/pick/']").forEach(function (form) {
    form.addEventListener("submit", function () { busy(form); });
  });

  function busy(form) {
    var button = form.querySelector("button[type=submit]");
    var wait = document.getElementById("upload-wait");
    if (wait) wait.hidden = false;
    if (button) window.setTimeout(function () { button.disabled = true; button.textContent = "正在计算……"; }, 0);
  }

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // filter rows of the tables named by data-filter by the text typed
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var tables = document.querySelectorAll(input.getAttribute("data-filter"));
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      tables.forEach(function (table) {
        var shown = 0;
        table.querySelectorAll("tbody tr").forEach(function (tr) {
          var hit = !q || tr.textContent.toLowerCase().indexOf(q) >= 0;
          tr.hidden = !hit;
          if (hit) shown++;
        });
        var section = table.closest("section.township");
        if (section) section.hidden = shown === 0;
      });
    });
  });
})();
