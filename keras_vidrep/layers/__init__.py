"""Recurrent building blocks: peephole LSTM and convolutional LSTM."""

from keras_vidrep.layers.conv_lstm import ConvLSTM
from keras_vidrep.layers.conv_lstm import ConvLSTMCell
from keras_vidrep.layers.peephole_lstm import PeepholeLSTM
from keras_vidrep.layers.peephole_lstm import PeepholeLSTMCell

__all__ = ["ConvLSTM", "ConvLSTMCell", "PeepholeLSTM", "PeepholeLSTMCell"]
