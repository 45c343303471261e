"""Helpers shared by test modules."""
import numpy as np


def image_gradient(executor, heads, x):
    """The image gradient a loop uses: ``x`` in, forward, backward with the head gradients; float64 out."""
    executor.arg_dict["data"][:] = x
    executor.forward(is_train=True)
    executor.backward(heads)
    return executor.grad_dict["data"].asnumpy().astype(np.float64)
