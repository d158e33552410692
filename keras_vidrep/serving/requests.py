"""Requests to, and responses from, TensorFlow Serving.

REST (``POST /v1/models/NAME:predict``) takes a JSON body in the row form
(``{"instances": [{"frames": ...}, ...]}``) or the columnar form
(``{"inputs": {"frames": ...}}``) and answers with ``{"predictions": ...}`` or
``{"outputs": ...}``. gRPC takes a ``PredictRequest`` (package
``tensorflow-serving-api``). These helpers build both from numpy frames and
turn the answers back into numpy arrays.
"""

import numpy as np

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_frame_values

INPUT_NAME = "frames"
# The signatures our SavedModels have (keras_vidrep.serving.saved_model).
SIGNATURES = ("serving_default", "encode", "caption")


def _signature(name):
    if name not in SIGNATURES:
        raise InputError(f"Unknown signature {name!r}: our SavedModels have "
                         f"{', '.join(SIGNATURES)} (caption: captioners only)."
                         f" Received: signature_name={name!r}")
    return name


def _frames(frames):
    """Frames as float32, refused as a model would refuse them: a server
    given 0-255 values answers with nonsense (or, for our newer SavedModels,
    an error after the round trip)."""
    # Nested lists are taken as float arrays, as `predict` takes them.
    frames = np.asarray(frames, np.float32 if isinstance(frames, (list, tuple))
                        else None)
    if frames.dtype == object or frames.dtype.kind in "US":
        raise InputError("Expected numeric frames. Received: frames of dtype "
                         f"{frames.dtype}")
    if frames.dtype.kind == "f":
        frames = frames.astype(np.float32)
    check_frame_values(frames)
    if frames.ndim != 5:
        raise InputError("Expected frames of shape (batch, time, height, width, "
                         f"channels). Received: frames of shape {frames.shape}")
    return frames


def _array(values, name):
    """A float32 array of an output's values; a null (or NaN) among them
    is an error, not a NaN in the result."""
    try:
        array = np.asarray(values, np.float32)
    except (TypeError, ValueError) as error:
        raise InputError(f"The TF Serving answer's {name!r} is not an array "
                         f"of numbers ({error}).") from error
    if np.isnan(array).any():
        raise InputError(f"The TF Serving answer's {name!r} holds null or NaN "
                         "values.")
    return array


def rest_request(frames, form="instances", signature_name="serving_default"):
    """A REST predict body (a dict, ready for ``json.dumps``)."""
    frames = _frames(frames)
    if form == "instances":
        body = {"instances": [{INPUT_NAME: clip.tolist()} for clip in frames]}
    elif form == "inputs":
        body = {"inputs": {INPUT_NAME: frames.tolist()}}
    else:
        raise InputError("`form` must be 'instances' or 'inputs'. "
                         f"Received: form={form!r}")
    body["signature_name"] = _signature(signature_name)
    return body


def parse_rest_response(response):
    """``{output name: array}`` from a REST predict answer (either form).

    Raises:
        ValueError: the server answered with an error (its text is shown),
            or the answer holds no predictions.
    """
    if not isinstance(response, dict):
        raise InputError("Expected a TF Serving predict answer (a JSON object)."
                         f" Received: {type(response).__name__}")
    if "error" in response:
        raise InputError(f"TF Serving answered with an error: "
                         f"{response['error']}")
    for key in ("predictions", "outputs"):
        if key in response and response[key] is None:
            raise InputError(f"The TF Serving answer's {key!r} is null.")
    if "predictions" in response:
        rows = response["predictions"]
        if rows and isinstance(rows[0], dict):
            names = set(rows[0])
            if not names or any(set(row) != names for row in rows):
                raise InputError("Expected the same named outputs in every "
                                 "prediction. Received: "
                                 f"{[sorted(row) for row in rows]}")
            return {k: _array([row[k] for row in rows], k) for k in rows[0]}
        return {"output": _array(rows, "predictions")}
    if "outputs" in response:
        outputs = response["outputs"]
        if isinstance(outputs, dict):
            if not outputs:
                raise InputError("The TF Serving answer's 'outputs' is empty.")
            return {k: _array(v, k) for k, v in outputs.items()}
        return {"output": _array(outputs, "outputs")}
    raise InputError("Expected a TF Serving predict answer with 'predictions' "
                     f"or 'outputs'. Received keys: {sorted(response)}")


def grpc_request(frames, model_name, signature_name="serving_default",
                 version=None):
    """A ``tensorflow_serving.apis.predict_pb2.PredictRequest``."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = _signature(signature_name)
    if version is not None:
        request.model_spec.version.value = int(version)
    request.inputs[INPUT_NAME].CopyFrom(tf.make_tensor_proto(_frames(frames)))
    return request


def parse_grpc_response(response):
    """``{output name: array}`` from a ``PredictResponse``."""
    import tensorflow as tf

    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
