/*
 * Crash points on one canvas (this project's own code, served by the app; no outside request).
 *
 * A province's crashes reach the page as one packed payload instead of one Leaflet marker each:
 * longitude and latitude quantised to 24 bits over the points' bounding box (0.1 m across the whole
 * country), stored plane by plane (high bytes, middle bytes, low bytes), deflated and base64-encoded;
 * the points come ordered by severity, least severe first, so a severe crash is drawn on top.
 *
 * The layer draws the points in view on a canvas after each move or zoom; points falling on a pixel
 * already drawn in the same colour are not drawn again. A click within a few pixels of a point rings it and fires
 * the layer's "click" with a tooltip "[CR-<row>@<digest>]": streamlit-folium returns that text to
 * Python (last_object_clicked_tooltip), which maps the row back to the crash it packed.
 *
 * L.crashPoints(data, options)
 *   data: {n, bbox: [west, south, east, north], groups: [[colour index, count], ...],
 *          points: base64 of the deflated planes, digest}
 *   options: {colours: [css colour, ...], outline: css colour, ring: css colour (around the crash clicked),
 *             items: a regular expression an item's tooltip starts with (a click there is the item's)}
 */
(function () {
  "use strict";

  var Q = 16777215; // 2^24 - 1

  function base64Bytes(text) {
    var bin = atob(text), n = bin.length, out = new Uint8Array(n);
    for (var i = 0; i < n; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
  }

  function sprite(colour, outline, r) {
    var s = 2 * r + 2, c = document.createElement("canvas");
    c.width = s; c.height = s;
    var ctx = c.getContext("2d");
    ctx.beginPath();
    ctx.arc(r + 1, r + 1, r, 0, 2 * Math.PI);
    ctx.fillStyle = colour;
    ctx.globalAlpha = 0.9;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1;
    ctx.strokeStyle = outline;
    ctx.stroke();
    return c;
  }

  // a hover text wraps (up to 80 characters of a description) instead of running past a phone's screen
  var style = document.createElement("style");
  style.textContent = ".crash-tip{white-space:normal;width:max-content;max-width:240px}";
  document.head.appendChild(style);

  L.CrashPoints = L.Layer.extend({
    options: { pane: "overlayPane", colours: ["#607d8b"], outline: "#222", cell: 16, items: "(?!)" },

    initialize: function (data, options) {
      L.setOptions(this, options);
      this._data = data;
      this._ready = null;
      this._chosen = -1;
    },

    onAdd: function (map) {
      var c = (this._canvas = L.DomUtil.create("canvas", "leaflet-crash-points leaflet-zoom-hide"));
      c.style.pointerEvents = "none"; // clicks reach the map (and the items drawn above)
      c.style.position = "absolute";
      map.getPane(this.options.pane).appendChild(c);
      map.on("moveend zoomend resize viewreset", this._draw, this);
      map.on("click", this._click, this);
      map.on("mousemove", this._hover, this);
      var self = this;
      // a click on an item drawn above (a spot, a case, a work: a layer whose tooltip starts with an item tag,
      // options.items) is that item's, not a crash's; Leaflet fires the item's click before the map's, so the
      // item marks the browser's event on the way. Boundaries, roads and corridors are not items.
      var items = new RegExp("^\\s*(?:<div>)?" + this.options.items);
      this._mark = function (ev) {
        var l = ev.sourceTarget || ev.target, t = l && l.getTooltip && l.getTooltip();
        var c = t && t.getContent && t.getContent();
        if (ev.originalEvent && typeof c === "string" && items.test(c)) { ev.originalEvent._crashPointsItem = true; }
      };
      this._markAdded = function (ev) { if (ev.layer !== self) { ev.layer.on("click", self._mark); } };
      map.eachLayer(function (l) { if (l !== self) { l.on("click", self._mark); } });
      map.on("layeradd", this._markAdded);
      if (!this._ready) { this._ready = this._decode(); }
      this._ready.then(function () { if (self._map) { self._draw(); } });
    },

    onRemove: function (map) {
      L.DomUtil.remove(this._canvas);
      map.off("moveend zoomend resize viewreset", this._draw, this);
      map.off("click", this._click, this);
      map.off("mousemove", this._hover, this);
      map.off("layeradd", this._markAdded);
      var mark = this._mark;
      map.eachLayer(function (l) { l.off("click", mark); });
      map.getContainer().style.cursor = "";
      if (this._tip) { map.removeLayer(this._tip); }
      this._index = null;
    },

    _decode: function () {
      var d = this._data, self = this, n = d.n;
      if (!n) { self._mx = new Float64Array(0); return Promise.resolve(); }
      return inflate(base64Bytes(d.points)).then(function (b) {
        var west = d.bbox[0], south = d.bbox[1];
        var sx = (d.bbox[2] - west) / Q, sy = (d.bbox[3] - south) / Q;
        var mx = new Float64Array(n), my = new Float64Array(n), k = new Uint8Array(n);
        var lon = new Float64Array(n), lat = new Float64Array(n);
        var i = 0, g, j;
        for (g = 0; g < d.groups.length; g++) {
          for (j = 0; j < d.groups[g][1]; j++, i++) { k[i] = d.groups[g][0]; }
        }
        for (i = 0; i < n; i++) {
          var qx = (b[i] << 16) | (b[n + i] << 8) | b[2 * n + i];
          var qy = (b[3 * n + i] << 16) | (b[4 * n + i] << 8) | b[5 * n + i];
          lon[i] = west + qx * sx;
          lat[i] = south + qy * sy;
          var s = Math.sin((lat[i] * Math.PI) / 180);
          mx[i] = (lon[i] + 180) / 360; // Web Mercator, as Leaflet's EPSG:3857 at zoom 0, per 1 pixel
          my[i] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
        }
        self._mx = mx; self._my = my; self._k = k; self._lon = lon; self._lat = lat;
      });
    },

    _radius: function (zoom) { return zoom >= 15 ? 5 : zoom >= 11 ? 4 : 3; },

    _draw: function () {
      var map = this._map;
      if (!map || !this._mx) { return; }
      var size = map.getSize(), w = size.x, h = size.y, c = this._canvas;
      var topLeft = map.containerPointToLayerPoint([0, 0]);
      L.DomUtil.setPosition(c, topLeft);
      var ratio = window.devicePixelRatio || 1;
      c.width = Math.round(w * ratio); c.height = Math.round(h * ratio);
      c.style.width = w + "px"; c.style.height = h + "px";
      var ctx = c.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      var zoom = map.getZoom(), scale = 256 * Math.pow(2, zoom), origin = map.getPixelOrigin();
      var ox = origin.x + topLeft.x, oy = origin.y + topLeft.y;
      var r = this._radius(zoom), cols = this.options.colours, sprites = [];
      for (var s = 0; s < cols.length; s++) { sprites.push(sprite(cols[s], this.options.outline, r)); }
      var cell = this.options.cell, nx = Math.ceil(w / cell) + 1, ny = Math.ceil(h / cell) + 1;
      var head = new Int32Array(nx * ny).fill(-1), next = new Int32Array(this._mx.length);
      var drawn = new Uint8Array(w * h), mx = this._mx, my = this._my, k = this._k, n = mx.length, shown = 0;
      for (var i = 0; i < n; i++) {
        var x = mx[i] * scale - ox, y = my[i] * scale - oy;
        if (x < -r || y < -r || x > w + r || y > h + r) { continue; }
        shown++;
        var cx = Math.floor(x / cell), cy = Math.floor(y / cell);
        if (cx >= 0 && cy >= 0 && cx < nx && cy < ny) {
          next[i] = head[cy * nx + cx];
          head[cy * nx + cx] = i;
        }
        var px = x | 0, py = y | 0, at = py * w + px, inside = px >= 0 && py >= 0 && px < w && py < h;
        if (inside && drawn[at] === k[i] + 1) { continue; } // this pixel already shows this colour
        if (inside) { drawn[at] = k[i] + 1; }
        ctx.drawImage(sprites[k[i]] || sprites[sprites.length - 1], px - r - 1, py - r - 1);
      }
      if (this._chosen >= 0) { // the crash last clicked, ringed (drawn here: a new map would lose the user's place)
        var sx = mx[this._chosen] * scale - ox, sy = my[this._chosen] * scale - oy;
        ctx.beginPath();
        ctx.arc(sx, sy, r + 5, 0, 2 * Math.PI);
        ctx.lineWidth = 3;
        ctx.strokeStyle = this.options.ring;
        ctx.stroke();
      }
      c.setAttribute("data-in-view", String(shown)); // how many crashes are in view (tests, and a reader)
      this._index = { head: head, next: next, nx: nx, ny: ny, cell: cell, ox: ox, oy: oy, scale: scale, r: r };
    },

    // the point nearest a container point, within the dot's radius and 3 pixels; -1 if none
    _nearest: function (p) {
      var ix = this._index;
      if (!ix) { return -1; }
      var reach = ix.r + 3, best = -1, bestD = reach * reach + 1e-9;
      var c0 = Math.floor((p.x - reach) / ix.cell), c1 = Math.floor((p.x + reach) / ix.cell);
      var r0 = Math.floor((p.y - reach) / ix.cell), r1 = Math.floor((p.y + reach) / ix.cell);
      for (var cy = Math.max(r0, 0); cy <= Math.min(r1, ix.ny - 1); cy++) {
        for (var cx = Math.max(c0, 0); cx <= Math.min(c1, ix.nx - 1); cx++) {
          for (var i = ix.head[cy * ix.nx + cx]; i >= 0; i = ix.next[i]) {
            var dx = this._mx[i] * ix.scale - ix.ox - p.x, dy = this._my[i] * ix.scale - ix.oy - p.y;
            var d = dx * dx + dy * dy;
            // the nearest; among points as near, the one drawn last (on top, the most severe)
            if (d < bestD || (d === bestD && i > best)) { bestD = d; best = i; }
          }
        }
      }
      return best;
    },

    _click: function (e) {
      if (e.originalEvent && e.originalEvent._crashPointsItem) { return; }
      var i = this._nearest(e.containerPoint);
      if (i < 0) { return; }
      this._chosen = i;
      this._draw();
      var tag = "[CR-" + i + "@" + this._data.digest + "]";
      // what streamlit-folium reads from a clicked layer: its tooltip's text
      var target = { _tooltip: { _content: tag }, getTooltip: function () { return { getContent: function () { return tag; } }; } };
      this.fire("click", { latlng: L.latLng(this._lat[i], this._lon[i]), sourceTarget: target, originalEvent: e.originalEvent });
    },

    _hover: function (e) {
      var self = this;
      if (this._pending) { return; }
      this._pending = true;
      L.Util.requestAnimFrame(function () {
        self._pending = false;
        if (!self._map) { return; }
        var i = self._nearest(e.containerPoint), tips = self._data.tips;
        self._map.getContainer().style.cursor = i >= 0 ? "pointer" : "";
        if (!tips) { return; }
        if (i < 0) {
          if (self._tip) { self._map.removeLayer(self._tip); self._tip = null; }
          return;
        }
        var box = document.createElement("div");
        box.textContent = tips[i]; // data, shown as text: never parsed as markup
        if (!self._tip) { self._tip = L.tooltip({ direction: "top", offset: [0, -6], className: "crash-tip" }); }
        self._tip.setLatLng([self._lat[i], self._lon[i]]).setContent(box);
        if (!self._map.hasLayer(self._tip)) { self._tip.addTo(self._map); }
      });
    }
  });

  L.crashPoints = function (data, options) { return new L.CrashPoints(data, options); };
})();
