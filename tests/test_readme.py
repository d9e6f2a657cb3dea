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
