"""First and warm UMAP maps of 10k shared-space points: ``fusion.projection`` vs umap-learn.

Both run in fresh processes (imports and numba compilation included; numba's on-disk
cache as earlier runs left it) on the same 10,000 clustered 16-dim points
(``benchmarks._fresh.clustered_points``): ours is ``project(X, "umap", seed=0)``, the
baseline ``umap.UMAP()`` with its defaults. "First" is the first call in the process,
"warm" a second call in the same process. Speed-ups are baseline / ours.
Trustworthiness (scikit-learn, k = 10) is computed on the same fixed 2,000-point sample
of both maps; the target is ours >= the default's - 0.01.

Also: PCA (ours, numpy SVD, vs scikit-learn's ``PCA(2)``), the 10-frame epoch sequence
(``project_sequence``) vs 10 independent warm maps, trustworthiness at 2,000 points (the
size of a run's snapshots, which Explore shows) against umap-learn's defaults, and how far
points move from one aligned frame to the next (what the live map will stand on): two
frames 5 % of noise apart must move a median under 10 % of the map's extent.
"""

from __future__ import annotations

from benchmarks.common import Entry, entry, interleaved, median, paired_entry, ratio, run_fresh


def run(quick: bool) -> list[Entry]:
    n = 10_000
    first_round = iter([True])
    got = interleaved(  # fresh processes in rotated order, so machine noise hits both
        {
            "ours": lambda: run_fresh(
                ["map_ours", "--n", str(n)] + (["--sequence"] if next(first_round, False) else [])
            ),
            "base": lambda: run_fresh(["map_default", "--n", str(n)]),
        }
    )
    ours, base = got["ours"], got["base"]

    def per(rs, *keys):
        return [sum(r[k] for k in keys) for r in rs]

    first = (per(ours, "first", "import"), per(base, "first", "import"))
    warm = (per(ours, "warm"), per(base, "warm"))
    o_trust, b_trust = median(per(ours, "trust")), median(per(base, "trust"))
    pca = ([1e3 * x for x in per(ours, "pca")], [1e3 * x for x in per(base, "pca")])
    seq = ours[0]
    small = run_fresh(["map_trust", "--n", "2000"])
    stable = {k: run_fresh(["map_stability", "--n", str(k)]) for k in (2000, n)}
    moves = [
        entry(
            f"map {k:,} pts: median point movement between aligned frames 5 % noise apart",
            100 * r["noise"],
            "% extent",
            None,
            None,
            ("value", "<=", 10),
            note=f"10-frame drift sequence: median {100 * r['drift_median']:.1f} %, "
            f"max {100 * r['drift_max']:.1f} % per frame",
        )
        for k, r in stable.items()
    ]
    return [
        entry(
            "map 2,000 pts: trustworthiness k=10, ours - default",
            small["ours"] - small["default"],
            "trust",
            small["default"],
            None,
            ("value", ">=", -0.003),
            note=f"ours {small['ours']:.4f}, default {small['default']:.4f}",
        ),
        *moves,
        paired_entry(
            f"map {n:,} pts: first UMAP map in a fresh process (import + compile + map)",
            *first,
            "s",
            "base/ours",
            ("ratio", ">=", 5),
            note="baseline umap.UMAP() defaults; ratio = baseline / ours",
        ),
        paired_entry(f"map {n:,} pts: warm UMAP map", *warm, "s", "base/ours", ("ratio", ">=", 2)),
        entry(
            f"map {n:,} pts: trustworthiness k=10 (2k sample), ours - default",
            o_trust - b_trust,
            "trust",
            b_trust,
            None,
            ("value", ">=", -0.01),
            note=f"ours {o_trust:.4f}, default {b_trust:.4f}",
        ),
        paired_entry(
            f"map {n:,} pts: PCA (numpy SVD) vs scikit-learn PCA(2)", *pca, "ms", "base/ours"
        ),
        entry(
            f"map {n:,} pts: 10-frame epoch sequence (project_sequence) vs 10 separate maps",
            seq["sequence"],
            "s",
            seq["independent"],
            ratio(seq["independent"], seq["sequence"]),
            note="one run",
        ),
    ]
