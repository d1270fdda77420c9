"""Check of 100 000 structure footprints against the safety corridors of
10 000 road segments (real national road lines of Viet Nam, cut into
segments; footprints: 12 × 8 m rectangles placed 0–60 m off random roads).

Baseline in the same run: a naive per-feature loop (for each footprint, its
candidate roads from the same spatial index, then scalar shapely distances),
on a 5 000-footprint sample, scaled to 100 000; its answers are compared with
the vectorised check on that sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from common import measure
import settings
from geo.io import read_table
from geo.chainage import RoadNetwork
from geo.corridor import check_features, load_corridor_rules, road_widths
from services.importing import roads_from_table


def make_inputs(n_segments: int = 10_000, n_feats: int = 100_000, seed: int = 7):
    roads = roads_from_table(read_table(settings.SHARED_DATA_DIR / "vietnam" / "national_roads.geojson"))
    net = RoadNetwork.from_wgs84(roads["code"].to_numpy(), roads["geometry"].to_numpy())
    lines = [l for l in net.lines if l.geom_type == "LineString"]
    total = sum(l.length for l in lines)
    seg_len = total / n_segments
    segs = []
    for l in lines:
        k = max(1, int(round(l.length / seg_len)))
        cuts = np.linspace(0, l.length, k + 1)
        segs += [shapely.ops.substring(l, a, b) for a, b in zip(cuts[:-1], cuts[1:])]
    segs = np.array(segs[:n_segments], dtype=object)
    rng = np.random.default_rng(seed)
    classes = rng.choice(["I", "II", "III", "IV", "V", "VI"], len(segs))
    seg_net = RoadNetwork(
        codes=np.array([f"S{i}" for i in range(len(segs))], dtype=object),
        lines=segs,
        km_start=np.zeros(len(segs)),
        crs=net.crs,
        ids=np.arange(len(segs)),
    )
    widths = road_widths(pd.DataFrame({"road_class": classes}), load_corridor_rules())
    ri = rng.integers(0, len(segs), n_feats)
    along = rng.random(n_feats) * shapely.length(segs[ri])
    p0 = shapely.line_interpolate_point(segs[ri], along)
    p1 = shapely.line_interpolate_point(segs[ri], np.minimum(along + 1, shapely.length(segs[ri])))
    tx, ty = shapely.get_x(p1) - shapely.get_x(p0), shapely.get_y(p1) - shapely.get_y(p0)
    norm = np.hypot(tx, ty) + 1e-12
    nx, ny = -ty / norm, tx / norm
    off = rng.uniform(0, 60, n_feats) * rng.choice([-1, 1], n_feats)
    cx, cy = shapely.get_x(p0) + nx * off, shapely.get_y(p0) + ny * off
    base = np.array([[-6, -4], [6, -4], [6, 4], [-6, 4], [-6, -4]], dtype=float)
    ang = rng.uniform(0, np.pi, n_feats)
    c, s = np.cos(ang), np.sin(ang)
    xs = cx[:, None] + base[None, :, 0] * c[:, None] - base[None, :, 1] * s[:, None]
    ys = cy[:, None] + base[None, :, 0] * s[:, None] + base[None, :, 1] * c[:, None]
    feats = shapely.polygons(np.stack([xs, ys], axis=-1))
    return seg_net, widths, feats


def naive(net, widths, feats):
    """One feature at a time: candidates from the index, then scalar distances."""
    tree = shapely.STRtree(net.lines)
    outer = widths["outer_m"].to_numpy()
    land = widths["land_half_m"].to_numpy()
    maxw = float(outer.max())
    out = []
    for f in feats:
        best, best_depth = -1, -np.inf
        for j in tree.query(f, predicate="dwithin", distance=maxw):
            d = f.distance(net.lines[j])
            if d <= outer[j] + 1e-9 and outer[j] - d > best_depth:
                best, best_depth = j, outer[j] - d
        if best < 0:
            out.append((-1, "outside"))
        else:  # the same outputs as the vectorised check: zone, chainage, side
            line = net.lines[best]
            d = f.distance(line)
            on_line, on_feat = shapely.ops.nearest_points(line, f)
            along = line.project(on_line)
            a = line.interpolate(max(along - 1, 0))
            b = line.interpolate(min(along + 1, line.length))
            cross = (b.x - a.x) * (on_feat.y - a.y) - (b.y - a.y) * (on_feat.x - a.x)
            _side = "left" if cross >= 0 else "right"
            out.append((best, "road_land" if d <= land[best] + 1e-9 else "corridor"))
    return out


def main() -> dict:
    net, widths, feats = make_inputs()
    fast_s, fast_mb, res = measure(check_features, net, widths, feats, repeat=3)
    sample = feats[:5000]
    slow_s, slow_mb, slow = measure(naive, net, widths, sample, repeat=1)
    fast_sample = check_features(net, widths, sample)
    same = all(
        (ri if z != "outside" else -1, z) == (a, b)
        for ri, z, (a, b) in zip(fast_sample["road_idx"], fast_sample["zone"], slow)
    )
    naive_100k = slow_s * len(feats) / len(sample)
    brute = feats[:200]  # no index at all: every footprint against every road segment
    brute_s, _, _ = measure(lambda: [shapely.distance(f, net.lines) for f in brute], memory=False)
    brute_100k = brute_s * len(feats) / len(brute)
    return {
        "segments": len(net.lines),
        "footprints": len(feats),
        "inside": int((res["zone"] != "outside").sum()),
        "vectorised_s": round(fast_s, 3),
        "vectorised_peak_mb": round(fast_mb, 1),
        "naive_5k_s": round(slow_s, 3),
        "naive_100k_extrapolated_s": round(naive_100k, 1),
        "speedup": round(naive_100k / fast_s, 1),
        "same_answers_on_sample": same,
        "brute_force_200_s": round(brute_s, 3),
        "brute_force_100k_extrapolated_s": round(brute_100k, 1),
        "speedup_vs_brute_force": round(brute_100k / fast_s, 0),
    }


if __name__ == "__main__":
    print(main())
