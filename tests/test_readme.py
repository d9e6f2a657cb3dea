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
