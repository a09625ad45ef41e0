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

from benchmarks.common import Entry, entry, median, ratio, run_fresh


def run(quick: bool) -> list[Entry]:
    n = 10_000
    repeats = 1 if quick else 3
    ours, base = [], []
    for i in range(repeats):  # alternate, so machine noise hits both
        ours.append(run_fresh(["map_ours", "--n", str(n)] + (["--sequence"] if i == 0 else [])))
        base.append(run_fresh(["map_default", "--n", str(n)]))

    def med(rs, k):
        return median([r[k] for r in rs])

    o_first, b_first = (
        med(ours, "first") + med(ours, "import"),
        med(base, "first") + med(base, "import"),
    )
    o_warm, b_warm = med(ours, "warm"), med(base, "warm")
    o_trust, b_trust = med(ours, "trust"), med(base, "trust")
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
        entry(
            f"map {n:,} pts: first UMAP map in a fresh process (import + compile + map)",
            o_first,
            "s",
            b_first,
            ratio(b_first, o_first),
            ("ratio", ">=", 5),
            note="baseline umap.UMAP() defaults; ratio = baseline / ours",
        ),
        entry(
            f"map {n:,} pts: warm UMAP map",
            o_warm,
            "s",
            b_warm,
            ratio(b_warm, o_warm),
            ("ratio", ">=", 2),
        ),
        entry(
            f"map {n:,} pts: trustworthiness k=10 (2k sample), ours - default",
            o_trust - b_trust,
            "trust",
            b_trust,
            None,
            ("value", ">=", -0.01),
            note=f"ours {o_trust:.4f}, default {b_trust:.4f}",
        ),
        entry(
            f"map {n:,} pts: PCA (numpy SVD) vs scikit-learn PCA(2)",
            med(ours, "pca") * 1e3,
            "ms",
            med(base, "pca") * 1e3,
            ratio(med(base, "pca"), med(ours, "pca")),
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
