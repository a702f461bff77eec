"""Optimizers and learning-rate schedules with torch.optim's names, defaults and update rules.

    optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
    loss.backward(); optimizer.step(); optimizer.zero_grad()
"""

from . import lr_scheduler
from .lr_scheduler import CosineAnnealingLR, LambdaLR, LRScheduler, StepLR
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = [
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "lr_scheduler", "LRScheduler", "StepLR",
    "CosineAnnealingLR", "LambdaLR",
]
