"""fnnet's benchmark suite: fnnet against hand-written JAX, Keras 3, Flax NNX and Equinox.

Run it with ``python benchmarks/run.py`` (see ``benchmarks/README.md``).
"""
