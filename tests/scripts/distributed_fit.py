"""Run by tests/test_distribution.py: fnnet on 2 devices (virtual, or 2 processes), printing
JSON results to compare with one device.

Usage: distributed_fit.py single|dataparallel|modelparallel|functional
       distributed_fit.py process <rank> <port>
"""

import json
import os
import sys

mode = sys.argv[1]
if mode in ("dataparallel", "modelparallel", "functional"):
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import jax  # noqa: E402

if mode == "process":
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{sys.argv[3]}",
                               num_processes=2, process_id=int(sys.argv[2]),
                               initialization_timeout=60)

import numpy as np  # noqa: E402

import fnnet  # noqa: E402
from fnnet import distribution, layers, models  # noqa: E402


def build():
    fnnet.utils.set_random_seed(0)
    return models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                              layers.BatchNormalization(), layers.Dropout(0.1),
                              layers.Dense(3, activation="softmax")])


rng = np.random.default_rng(0)
x = rng.random((64, 8), dtype=np.float32)
y = x[:, :3].argmax(1).astype(np.int32)
out = {}
dist = None
if mode == "dataparallel":
    dist = distribution.DataParallel()
elif mode == "modelparallel":
    mesh = distribution.DeviceMesh((1, 2), ("batch", "model"))
    layout = distribution.LayoutMap(mesh)
    layout["^dense/kernel"] = (None, "model")  # the hidden layer: 16 units over 2 devices
    layout["^dense/bias"] = ("model",)
    dist = distribution.ModelParallel(layout_map=layout, batch_dim_name="batch")
elif mode == "process":
    dist = distribution.DataParallel()

model = build()
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              distribution=dist)
if mode == "functional":
    dist = distribution.DataParallel()
    ts = dist.place_train_state(model.train_state)
    step = jax.jit(fnnet.make_train_step(model, "sparse_categorical_crossentropy",
                                         metrics=["accuracy"]))
    for i in range(0, 64, 16):
        ts, logs = step(ts, *dist.place_batch((x[i:i + 16], y[i:i + 16])))
    out["loss"] = float(logs["loss"])
    model.train_state = ts
    out["weights"] = [w.tolist() for w in model.get_weights()]
    out["sharding"] = list(ts.params[0]["kernel"].sharding.spec)
    print(json.dumps(out))
    sys.exit(0)
if mode == "process":  # each process feeds its own rows; the global array is their concatenation
    rank = int(sys.argv[2])
    local = slice(rank * 32, (rank + 1) * 32)
    history = model.fit(x[local], y[local], epochs=3, batch_size=16, shuffle=False, verbose=0)
else:
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
out["history"] = history.history
out["weights"] = [w.tolist() for w in model.get_weights()]
if dist is not None:
    out["kernel_spec"] = list(model.train_state.params[0]["kernel"].sharding.spec)
    out["batchnorm_mean"] = model.get_weights()[4].tolist()
out["process_count"] = jax.process_count()
if mode == "process":
    path = sys.argv[4]
    model.save(path)
    again = models.load_model(path, compile=False)
    out["loaded_equal"] = all(np.array_equal(a, b) for a, b in
                              zip(again.get_weights(), model.get_weights(), strict=True))
print(json.dumps(out))
