"""Inputs and results a person can check on paper, shared by CPU and GPU tests."""

import numpy as np

# Hand-written: some entries of A @ B + b go negative before the ReLU.
A = np.array([[1, 2, 0, -1, 3],
              [0, -2, 1, 4, -1]], dtype=np.float64)
B = np.array([[1, 0, 2, -1],
              [0, 1, -1, 2],
              [3, -2, 0, 1],
              [1, 1, -1, 0],
              [-1, 2, 1, 1]], dtype=np.float64)
BIAS = np.array([1, -5], dtype=np.float64)
PRODUCT = np.array([[-3, 7, 4, 6],
                    [8, -2, -3, -4]], dtype=np.float64)
BIASED = np.array([[-2, 8, 5, 7],
                   [3, -7, -8, -9]], dtype=np.float64)
RELU = np.array([[0, 8, 5, 7],
                 [3, 0, 0, 0]], dtype=np.float64)

# FFT convolution, batch of 2 signals of length 4: an impulse and a constant.
SIGNALS = np.array([[1, 0, 0, 0],
                    [1, 1, 1, 1]], dtype=np.complex128)
FILTER = np.array([[1, 2, 3, 4],
                   [2, 7, 7, 7]], dtype=np.complex128)
# The impulse returns ifft(filter row 0); the constant keeps only the DC term: 4 * 2 / 4 = 2.
CONVOLVED = np.array([[2.5, -0.5 - 0.5j, -0.5, -0.5 + 0.5j],
                      [2, 2, 2, 2]], dtype=np.complex128)
