"""Training by zoo name: ``keras_vidrep.train`` and ``keras-vidrep train``.

A name means one model in the API and on the command line: the zoo's
architecture of that name (its preset's configuration, e.g. 128 units for
``predictor_fc``), and an ``initial_weights`` that names a zoo model means
its pretrained weights. This module resolves those names and hands the
trainer (``keras_vidrep.training.train``, which knows no zoo and builds
``build_model(name, **model_overrides)``) the architecture and the trained
model.
"""

from keras_vidrep.training.trainer import train as _train


def architecture(name, overrides=None):
    """The model arguments a run of ``name`` builds: ``overrides`` over the
    zoo preset's configuration of ``name`` (none for a name that is not a
    preset)."""
    from keras_vidrep.presets import preset_table

    return {**preset_table().get(name, {}).get("config", {}),
            **(overrides or {})}


def initial_model(source):
    """What the trainer starts from: a zoo name becomes that zoo model,
    loaded (its name is what the run records); a path stays a path."""
    from keras_vidrep.zoo import loading

    if isinstance(source, str) and source in loading.list_models():
        return loading.load(source, compile=False)
    return source


def train(name, *, model_overrides=None, zoo_architecture=True,
          initial_weights=None, **kwargs):
    """Trains the zoo's model ``name``: ``keras_vidrep.training.train`` with
    names resolved.

    Args:
        name: a model name (``keras_vidrep.models.VARIANTS``).
        model_overrides: ``VideoSeq2Seq`` arguments over the zoo preset's
            architecture of ``name``.
        zoo_architecture: ``False`` builds over the builder's defaults
            instead (``build_model(name)``, the lab report's sizes).
        initial_weights: a zoo name (its pretrained weights), a
            ``.weights.h5`` or ``.keras`` file, or a model.
        **kwargs: the trainer's other arguments (``steps``, ``batch_size``,
            ``out``, ...; see ``keras_vidrep.training.train``).

    Returns:
        The trained ``keras.Model``; everything is also in its run folder.
    """
    from keras_vidrep.training.processes import join
    from keras_vidrep.training.processes import processes_of

    overrides = (architecture(name, model_overrides) if zoo_architecture
                 else dict(model_overrides or {}))
    if initial_weights is not None:
        # The processes of a data-parallel run join before a loaded model
        # starts JAX (the trainer joins them too, once).
        join(processes_of(kwargs.get("coordinator"),
                          kwargs.get("num_processes"),
                          kwargs.get("process_id")),
             kwargs.get("peer_timeout", 300))
    return _train(name, model_overrides=overrides,
                  initial_weights=(None if initial_weights is None
                                   else initial_model(initial_weights)),
                  **kwargs)
