"""Fusion Playground's library: paired multimodal data, fusion models, losses, training,
metrics, projections, figures and runs on disk. It never imports streamlit; use it from a
notebook, a script or ``python -m fusion``.

    from fusion import generators, experiment
    data = generators.generate("shared_latent", n=2000, seed=0)
    result = experiment.run_experiment(data, experiment.default_config("joint", "info_nce"))
    result.metrics["recall_at_1_mean"]
"""

__version__ = "0.1.0"
