document.querySelectorAll("th").forEach(function(th, col){
  th.addEventListener("click", function(){
    var tbody = th.closest("table").tBodies[0];
    var asc = !th.classList.contains("asc");
    th.parentNode.querySelectorAll("th").forEach(function(h){h.classList.remove("asc","desc");});
    th.classList.add(asc ? "asc" : "desc");
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function(a, b){
      var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
      var nx = parseFloat(x), ny = parseFloat(y), r;
      if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = String(x).localeCompare(y); }
      return asc ? r : -r;
    });
    rows.forEach(function(r){ tbody.appendChild(r); });
  });
});
