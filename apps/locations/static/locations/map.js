/* Charging stations on a Leaflet map: circle markers coloured by EVSE status.
   Tiles are optional (settings.MAP_TILES_URL); without them, or when they fail to load,
   the markers still show on the plain background. */
(function () {
  "use strict";
  var element = document.getElementById("location-map");
  var points = JSON.parse(document.getElementById("location-points").textContent);
  var colours = { available: "#2e7d32", busy: "#1565c0", down: "#c62828", unknown: "#9e9e9e" };

  var map = L.map(element, { preferCanvas: true, worldCopyJump: true });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, {
      maxZoom: 19,
      attribution: element.dataset.attribution || "",
    }).addTo(map);
  }

  function popup(point) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = point.url;
    link.textContent = point.name;
    box.appendChild(link);
    var key = document.createElement("div");
    key.textContent = point.key + (point.own ? " (ours)" : "");
    box.appendChild(key);
    Object.keys(point.counts).forEach(function (status) {
      var line = document.createElement("div");
      line.textContent = point.counts[status] + " " + status.toLowerCase();
      box.appendChild(line);
    });
    return box;
  }

  var bounds = [];
  points.forEach(function (point) {
    L.circleMarker([point.lat, point.lon], {
      radius: point.own ? 8 : 6,
      color: point.own ? "#000" : "#fff",
      weight: point.own ? 2 : 1,
      fillColor: colours[point.state] || colours.unknown,
      fillOpacity: 0.9,
    })
      .bindTooltip(point.name)
      .bindPopup(popup(point))
      .addTo(map);
    bounds.push([point.lat, point.lon]);
  });

  if (bounds.length) {
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 14 });
  } else {
    map.setView([39.0, 35.0], 5);
  }

  // Leaflet only follows window resizes; opening or closing the admin's nav sidebar
  // resizes the map too, and without this the markers' canvas stops short of the edge.
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      map.invalidateSize();
    }).observe(element);
  }
})();
