"""The reference network in scikit-learn, on the rows train_mlp trained on.

Reads the CSV the benchmark exported with COPY (id, label, 10 features),
trains MLPClassifier(hidden_layer_sizes=(128,), batch_size=32, max_iter=10,
solver="adam") on the rows with id <= TRAIN_ROWS, and scores the others.
Prints `key value` lines: train_seconds and the held-out auc.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 test/bench/mlp_sklearn.py rows.csv 1000000
"""
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier


def main():
    path, train_rows = sys.argv[1], int(sys.argv[2])
    data = np.loadtxt(path, delimiter=",", dtype=np.float64)
    train = data[:, 0] <= train_rows
    x, y = data[:, 2:], data[:, 1]
    net = MLPClassifier(hidden_layer_sizes=(128,), batch_size=32, max_iter=10,
                        solver="adam", random_state=42)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # ten epochs are what the comparison asks for, converged or not
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(x[train], y[train])
    seconds = time.perf_counter() - started
    scores = net.predict_proba(x[~train])[:, 1]
    print(f"train_rows {int(train.sum())}")
    print(f"train_seconds {seconds:.3f}")
    print(f"auc {roc_auc_score(y[~train], scores):.4f}")


if __name__ == "__main__":
    main()
