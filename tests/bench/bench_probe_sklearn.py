#!/usr/bin/python3
"""Linear probe: Pretext against scikit-learn on the same features, in one go.

    /usr/bin/python3 tests/bench/bench_probe_sklearn.py [--build build] [--c 1.0]

Features: bench-eval's fixed random projection (784 -> 128, N(0, 1/784),
GRand seed 1) + ReLU of the Fashion-MNIST pixels in [0, 1]; 60,000 train,
10,000 test. bench-eval writes them out, then scikit-learn fits
StandardScaler + LogisticRegression(solver='lbfgs', C) on exactly those
numbers. Both sides use 2 threads and their default iteration cap (100).
"""
import argparse
import json
import os
import subprocess
import tempfile
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--c", type=float, default=1.0)
ap.add_argument("--max-iter", type=int, default=100,
                help="Pretext's L-BFGS iteration cap (scikit-learn keeps its default 100)")
args = ap.parse_args()

with tempfile.TemporaryDirectory() as tmp:
    out = subprocess.run(
        [os.path.join(args.build, "tests/bench/bench-eval"), "probe", "--c",
         str(args.c), "--max-iter", str(args.max_iter), "--threads", "2", "--dump", tmp],
        check=True, capture_output=True, text=True).stdout
    ours = json.loads(out.strip().splitlines()[-1])
    xtr = np.fromfile(os.path.join(tmp, "train_x.f32"), dtype=np.float32).reshape(-1, 128)
    ytr = np.fromfile(os.path.join(tmp, "train_y.i32"), dtype=np.int32)
    xte = np.fromfile(os.path.join(tmp, "test_x.f32"), dtype=np.float32).reshape(-1, 128)
    yte = np.fromfile(os.path.join(tmp, "test_y.i32"), dtype=np.int32)

t0 = time.perf_counter()
c0 = time.process_time()
scaler = StandardScaler().fit(xtr)
clf = LogisticRegression(C=args.c, solver="lbfgs", max_iter=100)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    clf.fit(scaler.transform(xtr), ytr)
sk_seconds = time.perf_counter() - t0
sk_cpu = time.process_time() - c0
sk_acc = float((clf.predict(scaler.transform(xte)) == yte).mean())
xs = scaler.transform(xtr)
z = xs @ clf.coef_.T + clf.intercept_
z -= z.max(axis=1, keepdims=True)
logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
sk_obj = float(-logp[np.arange(len(ytr)), ytr].mean()
               + (clf.coef_ ** 2).sum() / (2.0 * args.c * len(ytr)))
converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)

result = {
    "features": "fashion-mnist random projection 784->128 + ReLU (bench-eval, GRand seed 1)",
    "C": args.c,
    "pretext_fit_seconds": ours["fit_seconds"],
    "pretext_fit_cpu_seconds": ours["fit_cpu_seconds"],
    "pretext_fit_accuracy": ours["fit_accuracy"],
    "pretext_fit_iters": ours["fit_iters"],
    "pretext_fit_objective": ours["fit_objective"],
    "sklearn_fit_seconds": round(sk_seconds, 3),
    "sklearn_fit_cpu_seconds": round(sk_cpu, 3),
    "sklearn_fit_accuracy": sk_acc,
    "sklearn_iters": int(clf.n_iter_[0]),
    "sklearn_objective": sk_obj,
    "sklearn_converged": converged,
    "speedup_wall": round(sk_seconds / ours["fit_seconds"], 2),
    "speedup_cpu": round(sk_cpu / ours["fit_cpu_seconds"], 2),
    "accuracy_gap_points": round(100.0 * (ours["fit_accuracy"] - sk_acc), 3),
    "pretext_probe_with_C_search_seconds": ours["search_seconds"],
    "pretext_probe_with_C_search_C": ours["search_C"],
    "pretext_probe_with_C_search_accuracy": ours["search_accuracy"],
}
print(json.dumps(result, indent=1))
