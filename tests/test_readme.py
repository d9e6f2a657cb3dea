"""The README's functional tour runs as written."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    block = lines[lines.index("```bash") + 1: lines.index("```bash") + 3]
    assert block == ["pip install -e '.[examples]' && python examples/mnist_mlp.py",
                     "pip install -e '.[test]' && python -m pytest"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert block[1] in ci


def test_functional_tour_runs():
    snippets = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (tour,) = [s for s in snippets if "make_train_step" in s]
    scope: dict = {}
    exec(compile(tour, "README.md", "exec"), scope)
    logs = scope["logs"]
    assert set(logs) == {"loss", "accuracy"}
    assert float(logs["accuracy"]) > 0.5  # 100 steps on a toy target


def test_oldest_pins_equal_the_lower_bounds():
    """.ci/run-oldest tests the minimums, so each pin must be the bound pyproject.toml states."""
    tomllib = __import__("pytest").importorskip("tomllib")
    project = tomllib.loads((README.parent / "pyproject.toml").read_text())["project"]
    bounds = {}
    for req in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        name, low = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", req).groups()
        bounds[name.lower()] = low
    pins = {}
    for line in (README.parent / ".ci" / "oldest.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower()] = version
    # A pin may spell out a bound's trailing zeros: jax>=0.8 is jax==0.8.0.
    norm = lambda v: v.split(".") + ["0"] * (3 - len(v.split(".")))  # noqa: E731
    assert {k: norm(v) for k, v in pins.items()} == {k: norm(v) for k, v in bounds.items()}


def _snippet(marker):
    snippets = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (found,) = [s for s in snippets if marker in s]
    return found


def test_the_readme_epoch_loop_matches_fit_exactly():
    import jax
    import numpy as np

    import fnnet
    from fnnet import layers, models

    def build():
        fnnet.utils.set_random_seed(1)
        model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                                   layers.Dense(3, activation="softmax")])
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    rng = np.random.default_rng(0)
    x = rng.random((300, 8), dtype=np.float32)
    y = x[:, :3].argmax(1).astype(np.int32)
    expected = build().fit(x, y, epochs=5, batch_size=128, verbose=0).history
    scope = {"fnnet": fnnet, "jax": jax, "model": build(), "x": x, "y": y}
    exec(compile(_snippet("fnnet.loop.epoch"), "README.md", "exec"), scope)
    assert scope["history"] == expected


def test_the_readme_objective_snippet_runs():
    import jax
    import jax.numpy as jnp
    import optax

    import fnnet
    from fnnet import layers

    model = fnnet.serial(layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax"))
    ts = fnnet.TrainState.create(model, "sgd", rng=0, input_shape=(None, 4))
    scope = {"jax": jax, "jnp": jnp, "optax": optax, "model": model, "ts": ts,
             "x": jnp.ones((5, 4)), "labels": jnp.zeros(5, jnp.int32)}
    exec(compile(_snippet("def objective"), "README.md", "exec"), scope)
    assert int(scope["ts"].step) == 1
