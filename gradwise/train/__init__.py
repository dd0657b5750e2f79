"""``gradwise.train``: the fit loop (full-batch, stochastic, mini-batch), metrics, callbacks, checkpoints,
and the strategy object that says how many processes train together."""

from gradwise.train.batches import MODES, make_loader
from gradwise.train.callbacks import (
    Callback,
    CallbackError,
    CSVLogger,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    TensorBoardLogger,
    TerminateOnNaN,
)
from gradwise.train.checkpoint import LoadedCheckpoint, read_checkpoint
from gradwise.train.errors import TrainingError, TrainingInterrupted
from gradwise.train.history import History
from gradwise.train.loop import Trainer, fit
from gradwise.train.metrics import (
    Accuracy,
    ConfusionMatrix,
    MeanAbsoluteError,
    MeanSquaredError,
    Metric,
    MetricError,
    R2Score,
    TopKAccuracy,
    accuracy,
    confusion_matrix,
    get_metric,
    mae,
    mse,
    r2_score,
    top_k_accuracy,
)
from gradwise.train.progress import ProgressBar
from gradwise.train.strategy import SingleProcess, Strategy
