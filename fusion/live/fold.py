"""Folding the live events into what the server keeps for a page (:class:`fusion.jobs.Progress`):
a whole-run loss curve at one even resolution, and one frame per evaluation or peek.

Torch-free and numpy-free: the server imports it.
"""

from __future__ import annotations

from typing import Any


def add_steps(
    curve: list[dict[str, float]], new: list[dict[str, float]], stride: int, cap: int
) -> tuple[list[dict[str, float]], int]:
    """Fold training steps ``new`` into a whole-run loss ``curve`` of at most ``cap`` points.

    The curve keeps the first step, every ``stride``-th step and the newest one (replaced
    by the next); when it is full, ``stride`` doubles and the steps off it are let go, so
    a long run keeps its whole history at one even resolution instead of its newest steps
    beside a straight line from the start. Returns (curve, stride).
    """
    for info in new:
        if len(curve) > 1 and int(curve[-1]["step"]) % stride:  # the newest: kept until the next
            curve.pop()
        curve.append(info)
        if len(curve) > cap:
            stride *= 2
            last = len(curve) - 1
            curve = [s for i, s in enumerate(curve) if i in (0, last) or s["step"] % stride == 0]
    return curve, stride


def add_frame(frames: list[dict[str, Any]], frame: dict[str, Any]) -> None:
    """Add a ``frame`` event to the frames a page keeps: a new frame is appended; an
    ``update`` (the same frame with its UMAP, made after it) replaces its frame, so the
    list stays one frame per evaluation or peek, in order."""
    if not frame.get("update"):
        frames.append(frame)
        return
    key = (frame["epoch"], bool(frame.get("partial")))
    for i in range(len(frames) - 1, -1, -1):
        if (frames[i]["epoch"], bool(frames[i].get("partial"))) == key:
            frames[i] = frame
            return
    if not frames or frames[-1]["epoch"] <= frame["epoch"]:  # its frame was thinned away
        frames.append(frame)


def thin_frames(frames: list[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """At most about ``cap`` frame events for a page to keep: every other peek dropped
    first (oldest half), then every other frame; the first (the scale a collapse shrinks
    from) and the newest always stay."""
    if len(frames) <= cap:
        return frames
    half = len(frames) // 2
    old = [f for i, f in enumerate(frames[:half]) if not f.get("partial") or i % 2 == 0]
    out = old + frames[half:]
    return out if len(out) <= cap else [out[0], *out[-1:0:-2][::-1]]
