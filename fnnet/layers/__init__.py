"""Layers with Keras's names, arguments and defaults; each returns a :class:`fnnet.Layer`."""

from fnnet.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from fnnet.layers.core import Activation, Dense, Dropout, Flatten, Identity, Reshape
from fnnet.layers.embedding import Embedding, Masking
from fnnet.layers.normalization import BatchNormalization, LayerNormalization
from fnnet.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from fnnet.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from fnnet.layers.wrappers import Bidirectional, TimeDistributed

__all__ = [
    "Activation",
    "AdditiveAttention",
    "Attention",
    "BatchNormalization",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "GRUCell",
    "Identity",
    "LSTM",
    "LSTMCell",
    "LayerNormalization",
    "Masking",
    "MultiHeadAttention",
    "RNN",
    "Reshape",
    "SimpleRNN",
    "SimpleRNNCell",
    "TimeDistributed",
]
