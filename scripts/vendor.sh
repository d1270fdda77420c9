#!/usr/bin/env bash
# Copy Leaflet and the plugins folium uses from node_modules into static/vendor,
# so maps work on an offline intranet (no CDN).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/leaflet ] || [ ! -d node_modules/leaflet-draw ]; then
  npm ci --no-audit --no-fund --ignore-scripts
fi
V=static/vendor
rm -rf "$V" && mkdir -p "$V"
cp -r node_modules/leaflet/dist "$V/leaflet"
mkdir -p "$V/jquery" && cp node_modules/jquery/dist/jquery.min.js "$V/jquery/"
mkdir -p "$V/bootstrap/css" "$V/bootstrap/js"
cp node_modules/bootstrap/dist/css/bootstrap.min.css "$V/bootstrap/css/"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$V/bootstrap/js/"
mkdir -p "$V/fontawesome"
cp -r node_modules/@fortawesome/fontawesome-free/css node_modules/@fortawesome/fontawesome-free/webfonts "$V/fontawesome/"
cp -r node_modules/leaflet.awesome-markers/dist "$V/awesome-markers"
cp -r node_modules/leaflet.markercluster/dist "$V/markercluster"
mkdir -p "$V/leaflet-heat" && cp node_modules/leaflet.heat/dist/leaflet-heat.js "$V/leaflet-heat/"
cp -r node_modules/leaflet-draw/dist "$V/leaflet-draw"
echo "vendored map assets into $V"
