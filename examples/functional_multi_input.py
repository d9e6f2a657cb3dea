"""A two-input, two-output functional model: "Deep Learning with Python", chapter 7.

The book's support-ticket triage, with ``keras`` replaced by ``fnnet``: a ticket comes in as
its title (word indices) and three numeric features, and the model predicts

- ``priority``: low, normal or urgent (one of three; softmax, sparse categorical cross-entropy);
- ``department``: which of four teams must act (any number of them; sigmoid, binary
  cross-entropy, a multi-label output).

The title goes through ``Embedding`` and ``GlobalAveragePooling1D``, the numeric features
through ``Dense``; ``Concatenate`` joins the two and each output head reads the result. It is a
functional ``Model(inputs=[title, features], outputs=[priority, department])`` compiled with a
loss dict, a metric dict and ``loss_weights`` keyed by output name (the total loss is
``0.5 * priority_loss + 1.0 * department_loss``), so ``History`` reports each
output's loss and metrics (``priority_loss``, ``department_binary_accuracy``...).

Data: **generated**, not real tickets (there is no public dataset of this shape). Titles of 4 to
12 words from a 1,000-word vocabulary; words 10-49 are planted keywords, ten per department
(e.g. "invoice" words for billing), and a ticket goes to each department whose keywords its
title holds. Features: the customer's tier (0-2), hours since opened (0-72) and the number of
earlier messages (0-9), scaled to about [0, 1]. Priority is a noisy function of the features
(tier and waiting time) plus two planted "urgent" words (5 and 6). Both tasks are learnable,
and neither from one input alone.

Run::

    python examples/functional_multi_input.py              # 10 epochs
    python examples/functional_multi_input.py --epochs 1 --samples 2000
"""

from __future__ import annotations

import argparse

import numpy as np

import fnnet
from fnnet import layers, models
from fnnet.utils import pad_sequences, set_random_seed

VOCABULARY_SIZE = 1000
MAX_TITLE_LENGTH = 12
NUM_FEATURES = 3
PRIORITIES = ("low", "normal", "urgent")
DEPARTMENTS = ("billing", "technical", "shipping", "accounts")
KEYWORDS_PER_DEPARTMENT = 10
FIRST_KEYWORD = 10  # words 10-49: ten keywords for each department
URGENT_WORDS = (5, 6)


def generate_tickets(n: int, seed: int):
    """``(titles, features), (priority, department)`` for ``n`` generated tickets.

    ``titles`` int32 ``(n, 12)`` padded with 0; ``features`` float32 ``(n, 3)``; ``priority``
    int32 ``(n,)`` in 0-2; ``department`` float32 ``(n, 4)`` of 0/1, each row with 1 or 2 ones.
    """
    rng = np.random.default_rng(seed)
    titles, department = [], np.zeros((n, len(DEPARTMENTS)), np.float32)
    urgent_word = np.zeros(n, bool)
    for i in range(n):
        length = int(rng.integers(4, MAX_TITLE_LENGTH + 1))
        words = list(rng.integers(FIRST_KEYWORD + 4 * KEYWORDS_PER_DEPARTMENT, VOCABULARY_SIZE,
                                  length))
        teams = rng.choice(len(DEPARTMENTS), size=int(rng.integers(1, 3)), replace=False)
        for team in teams:
            department[i, team] = 1.0
            keyword = FIRST_KEYWORD + team * KEYWORDS_PER_DEPARTMENT + rng.integers(
                KEYWORDS_PER_DEPARTMENT)
            words[int(rng.integers(length))] = int(keyword)
        if rng.random() < 0.15:
            words[int(rng.integers(length))] = int(rng.choice(URGENT_WORDS))
            urgent_word[i] = True
        titles.append(words)
    tier = rng.integers(0, 3, n)
    hours = rng.uniform(0, 72, n)
    messages = rng.integers(0, 10, n)
    features = np.stack([tier / 2, hours / 72, messages / 9], axis=1).astype(np.float32)
    score = tier + hours / 24 + rng.normal(0, 0.3, n)  # from 0 to about 5
    priority = np.digitize(score, [1.5, 3.0]).astype(np.int32)
    priority[urgent_word] = 2
    titles = pad_sequences(titles, maxlen=MAX_TITLE_LENGTH, padding="post").astype(np.int32)
    return (titles, features), (priority, department)


def build_model() -> models.Model:
    title = fnnet.Input(shape=(MAX_TITLE_LENGTH,), dtype="int32", name="title")
    numbers = fnnet.Input(shape=(NUM_FEATURES,), name="features")
    words = layers.Embedding(VOCABULARY_SIZE, 16, mask_zero=True)(title)
    words = layers.GlobalAveragePooling1D()(words)
    numeric = layers.Dense(16, activation="relu")(numbers)
    features = layers.Concatenate()([words, numeric])
    features = layers.Dense(64, activation="relu")(features)
    priority = layers.Dense(len(PRIORITIES), activation="softmax", name="priority")(features)
    department = layers.Dense(len(DEPARTMENTS), activation="sigmoid",
                              name="department")(features)
    return models.Model(inputs=[title, numbers], outputs=[priority, department])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=10000, help="generated training tickets")
    parser.add_argument("--seed", type=int, default=0, help="fnnet.utils.set_random_seed")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_random_seed(args.seed)
    (titles, features), (priority, department) = generate_tickets(args.samples, args.seed)
    (test_titles, test_features), (test_priority, test_department) = generate_tickets(
        max(args.samples // 5, 200), args.seed + 1)
    print(f"data: generated tickets (not real ones), {len(titles)} train and "
          f"{len(test_titles)} test; priorities {np.bincount(priority, minlength=3).tolist()} "
          f"(low, normal, urgent), {department.sum(1).mean():.2f} departments per ticket")

    model = build_model()
    model.compile(
        # Adam rather than the book's rmsprop: the department head sits on a plateau (it predicts
        # "no department" for every ticket) for several epochs under rmsprop before its keyword
        # embeddings grow; Adam leaves it within about two.
        optimizer="adam",
        loss={"priority": "sparse_categorical_crossentropy", "department": "binary_crossentropy"},
        # The priority is the easier task; weighting it less leaves more of the gradient to the
        # department head.
        loss_weights={"priority": 0.5, "department": 1.0},
        metrics={"priority": ["accuracy"], "department": ["binary_accuracy"]},
    )
    model.summary()
    history = model.fit([titles, features], [priority, department], epochs=args.epochs,
                        batch_size=args.batch_size, validation_split=0.2, verbose=2)
    for key, values in history.history.items():
        print(f"{key:>32}: " + " ".join(f"{v:.4f}" for v in values))

    test = model.evaluate([test_titles, test_features], [test_priority, test_department],
                          verbose=0, return_dict=True)
    print("test: " + ", ".join(f"{k} {v:.4f}" for k, v in test.items()))
    predicted_priority, predicted_department = model.predict(
        [test_titles[:3], test_features[:3]], verbose=0)
    for i in range(3):
        teams = [d for d, p in zip(DEPARTMENTS, predicted_department[i], strict=True) if p > 0.5]
        print(f"ticket {i}: priority {PRIORITIES[int(np.argmax(predicted_priority[i]))]} "
              f"(true {PRIORITIES[test_priority[i]]}), departments {teams} (true "
              f"{[d for d, t in zip(DEPARTMENTS, test_department[i], strict=True) if t]})")
    return {"history": history.history, "test": {k: float(v) for k, v in test.items()},
            "priority_chance": float(np.bincount(test_priority).max() / len(test_priority))}


if __name__ == "__main__":
    main()
